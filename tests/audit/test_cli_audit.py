"""The ``assay audit`` command (invoked directly; ``assay.cli`` registers it) and the demo
step."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from click.testing import CliRunner
from rich.console import Console

from assay.cli._audit import audit, demo_step
from assay.cli._demo import load_demo
from assay.store import Workspace


def test_audit_prints_candidates_and_stores_a_run(tmp_path):
    labels, tracker = load_demo()
    hidden = labels["track"].to_numpy() == 7
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.add("labels", labels[~hidden], kind="observations")
        ws.add("tracker", tracker, kind="observations")
    result = CliRunner().invoke(audit, ["-w", str(path), "-p", "tracker", "-l", "labels", "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "candidate missing labels" in result.output and "fixy" in result.output
    with Workspace(path, read_only=True) as ws:
        runs = ws.runs()
        assert runs["kind"].tolist() == ["audit"] and runs["status"].tolist() == ["ok"]
        stored = ws.findings(runs["run_id"].iloc[0])
        assert len(stored) > 0 and (stored["assertion"] == "missing_label").all()


def test_audit_confidence_and_bad_option(tmp_path):
    labels, tracker = load_demo()
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.add("labels", labels, kind="observations")
        ws.add("tracker", tracker.assign(score=np.linspace(0.5, 1, len(tracker))), kind="observations")
    ok = CliRunner().invoke(audit, ["-w", str(path), "-p", "tracker", "-l", "labels", "-m", "confidence"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(audit, ["-w", str(path), "-p", "tracker", "-l", "labels", "-m", "best"])
    assert bad.exit_code == 2


def test_demo_step_prints_a_table():
    buf = io.StringIO()
    demo_step(Console(file=buf, width=200))
    text = buf.getvalue()
    assert "label audit" in text and "hidden person?" in text
    assert pd.Series(["yes"]).isin(text.split()).any()
