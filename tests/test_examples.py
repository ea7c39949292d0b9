"""The runnable examples run (they are documentation; documentation must work)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


#: What an example needs beyond ../shared/data: a file a system package installs.
NEEDS = {"pedestrians_video.py": Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")}


@pytest.mark.shared_data
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, shared_data):
    need = NEEDS.get(script.name)
    if need is not None and not need.exists():
        reason = f"needs {need} (apt-get install opencv-doc; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"video_mot.py", "kitti_3d.py", "housing_prices.py",
                                          "translation.py", "custom_assertion.py",
                                          "label_audit.py", "active_learning.py",
                                          "approximate_queries.py", "pedestrians_video.py"}
