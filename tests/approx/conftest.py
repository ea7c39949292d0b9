"""Fixtures shared by the select() and aggregate() tests."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# A query script run in a subprocess: argv = workspace, log of the records asked, and the
# number of asked records after which the process kills itself (0: never). ``{setup}`` builds
# ``recs`` and names the oracle's answer column ``ANSWER``; ``{query}`` assigns ``out``, a
# JSON-able summary of the result, using ``model`` as the oracle and ``ws`` as the workspace.
_SCRIPT = """
import os, sys, json
import numpy as np, pandas as pd
import assay
from assay.approx import aggregate, select
ws_path, log, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
{setup}
def model(rows):
    with open(log, "a") as f:
        f.write("\\n".join(map(str, rows["id"].tolist())) + "\\n")
    done = sum(1 for _ in open(log))
    if limit and done >= limit:
        os._exit(9)  # killed mid-query, after these labels were paid for
    return rows[ANSWER].to_numpy()
model.__qualname__ = "model"
with assay.Workspace(ws_path) as ws:
{query}
print(json.dumps(out))
"""


@pytest.fixture
def killed_and_resumed(tmp_path):
    """Run a query, kill it after ``kill_after`` records were asked, run it again in the same
    workspace, and run it once more in a fresh one.

    Returns ``(resumed, fresh, repeats)``: the JSON results of the resumed and the fresh run,
    and how many records the oracle was asked more than once over the killed and resumed runs.
    """

    def run(setup: str, query: str, kill_after: int) -> tuple[object, object, int]:
        script = tmp_path / "query.py"
        script.write_text(_SCRIPT.format(setup=textwrap.dedent(setup).strip(),
                                         query=textwrap.indent(textwrap.dedent(query).strip(), "    ")))
        log = tmp_path / "asked.log"

        def go(ws: str, log_file, limit: int) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, str(script), str(tmp_path / ws), str(log_file), str(limit)],
                                  capture_output=True, text=True)

        crashed = go("w.duckdb", log, kill_after)
        assert crashed.returncode == 9, crashed.stderr
        assert len(log.read_text().split()) >= kill_after
        resumed = go("w.duckdb", log, 0)
        assert resumed.returncode == 0, resumed.stderr
        asked = log.read_text().split()
        fresh = go("fresh.duckdb", tmp_path / "fresh.log", 0)
        assert fresh.returncode == 0, fresh.stderr
        return json.loads(resumed.stdout), json.loads(fresh.stdout), len(asked) - len(set(asked))

    return run
