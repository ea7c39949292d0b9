"""The runnable examples run (they are documentation; documentation must work)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.shared_data
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, shared_data):
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"video_mot.py", "kitti_3d.py", "housing_prices.py",
                                          "translation.py", "custom_assertion.py",
                                          "label_audit.py", "active_learning.py",
                                          "approximate_queries.py"}
