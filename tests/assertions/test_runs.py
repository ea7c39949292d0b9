"""Findings persist per run; diffs between runs; fixes; assertions from a file."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import assay
from assay.assertions import Flicker, apply_fixes, check, diff_findings, diff_runs
from assay.cli import cli


def obs_with_flicker(extra=True):
    rows = [(1, 0.0), (2, 1.0), (3, 2.0), (4, 3.0)]
    if extra:
        rows.append((2, 400.0))
    df = pd.DataFrame(rows, columns=["frame", "x1"]).assign(cls="car", y1=0.0, y2=10.0, score=0.8)
    df["x2"] = df["x1"] + 10
    return assay.as_observations(df, stream="cam", source="model:v1", fps=10)


def test_runs_are_stored_and_diffed(tmp_path):
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        old = check(obs_with_flicker(), [Flicker()], workspace=ws, name="v1")
        new = check(obs_with_flicker(extra=False), [Flicker()], workspace=ws, name="v2")
        runs = ws.runs()
        assert list(runs["kind"]) == ["check", "check"]
        assert len(ws.findings(run_id=old.attrs["run_id"])) == 1
        d = diff_runs(ws, old.attrs["run_id"], new.attrs["run_id"])
        assert len(d["resolved"]) == 1 and d["resolved"].iloc[0].obs_ids == [4]
        assert d["new"].empty and d["kept"].empty
    # the same comparison without a workspace
    d2 = diff_findings(old, new)
    assert len(d2["resolved"]) == 1


def test_apply_fixes_removes_flicker_and_keeps_the_input():
    obs = obs_with_flicker()
    f = check(obs, [Flicker()])
    fixed = apply_fixes(obs, f)
    assert len(obs) == 5 and len(fixed) == 4  # input untouched
    assert 4 not in set(fixed["obs_id"])
    assert fixed["fixed_by"].isna().all()
    assert apply_fixes(obs, f, actions=["add"]).shape[0] == 5
    assert apply_fixes(obs, f, assertions=["gap"]).shape[0] == 5


def test_apply_fixes_rejects_unknown_action():
    obs = obs_with_flicker()
    with pytest.raises(ValueError, match="unknown actions"):
        apply_fixes(obs, check(obs, [Flicker()]), actions=["delete"])


def test_cli_check_with_a_python_file(tmp_path):
    mine = tmp_path / "my_assertions.py"
    mine.write_text(
        "from assay.assertions import point_assertion\n"
        "@point_assertion\n"
        "def wide_box(frame, boxes):\n"
        "    return float(((boxes.x2 - boxes.x1) > 9).sum())\n"
    )
    ws = tmp_path / "w.duckdb"
    with assay.Workspace(ws) as w:
        w.add("det", obs_with_flicker(), kind="observations")
    r = CliRunner().invoke(cli, ["check", "-w", str(ws), "-o", "det", "-a", f"builtin:gap,{mine}"])
    assert r.exit_code == 0, r.output
    assert "wide_box" in r.output and "findings over 5 rows" in r.output
    with assay.Workspace(ws, read_only=True) as w:
        stored = w.findings()
        assert set(stored["assertion"]) == {"wide_box"}
        assert w.runs()["params"].iloc[0]["observations"] == "det"
