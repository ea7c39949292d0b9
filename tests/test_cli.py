"""The command line, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from assay.cli import cli


def run(*args, cwd=None):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_demo_runs_offline_and_fast(tmp_path):
    ws = tmp_path / "demo.duckdb"
    proc = subprocess.run([sys.executable, "-m", "assay.cli", "demo", "--workspace", str(ws)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "identity purity" in proc.stdout and "model assertions" in proc.stdout
    assert "selection" in proc.stdout and "aggregation" in proc.stdout
    assert ws.exists()


@pytest.mark.shared_data
def test_ingest_info_check(tmp_path, shared_data):
    ws = tmp_path / "w.duckdb"
    r = run("ingest", "mot-det", shared_data / "mot15" / "TUD-Campus", "--workspace", ws, "--name", "det")
    assert r.exit_code == 0 and "ingested 321 rows" in r.output
    r = run("ingest", "kitti-tracking", shared_data / "kitti" / "label_02", "-w", ws, "-n", "kitti")
    assert r.exit_code == 0, r.output
    r = run("ingest", "records", shared_data / "proxy" / "supg" / "onto.csv", "-w", ws, "-n", "onto")
    assert r.exit_code == 0 and "ingested 11,165 rows" in r.output
    r = run("info", ws)
    assert r.exit_code == 0 and "kitti" in r.output and "onto" in r.output
    r = run("check", "-w", ws, "-o", "det", "-a", "builtin:flicker,builtin:gap", "--set", "flicker.iou=0.5")
    assert r.exit_code == 0 and "findings over 321 rows" in r.output


def test_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "det.txt"
    bad.write_text("1,-1,1,2,3\n")
    r = CliRunner().invoke(cli, ["ingest", "mot-det", str(bad), "--fps", "10", "-w", str(tmp_path / "w.duckdb"), "-n", "x"])
    assert r.exit_code == 2
    assert "expected 9 or 10 fields" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["check", "-w", str(tmp_path / "w.duckdb"), "-o", "nope", "-a", "builtin:flickr"])
    assert r.exit_code == 2 and "unknown built-in assertion 'flickr'" in r.output


@pytest.mark.shared_data
def test_query_select_pays_once(tmp_path, shared_data):
    import json

    ws = tmp_path / "q.duckdb"
    args = ["query", "select", "-r", shared_data / "proxy" / "supg" / "onto.csv", "-p", "proxy_score",
            "-o", "column:label", "--precision", "0.9", "--budget", "500", "-w", ws, "--json"]
    first = json.loads(run(*args).output)
    second = json.loads(run(*args).output)
    assert first["ids"] == second["ids"] and first["guarantee"]["kind"] == "finite-sample"
    assert first["labels_paid_now"] == first["oracle_calls"] <= 500 and second["labels_paid_now"] == 0
    r = CliRunner().invoke(cli, ["query", "select", "-r", str(shared_data / "proxy" / "supg" / "onto.csv"),
                                 "-p", "proxy_score", "-o", "column:label", "-w", str(ws)])
    assert r.exit_code == 2 and "give --recall, --precision, or both" in r.output
    # a recall query whose budget is far too small to leave records out says so, with a figure
    r = run("query", "select", "-r", shared_data / "proxy" / "supg" / "onto.csv", "-p", "proxy_score",
            "-o", "column:label", "--recall", "0.9", "--budget", "300", "-w", ws)
    text = " ".join(r.output.split())  # the console wraps long lines
    assert r.exit_code == 0 and "note:" in text and "raise --budget" in text
    hint = int(text.split("at least about ")[1].split(" oracle")[0].replace(",", ""))
    assert hint > 300


def test_query_select_says_when_the_sample_stopped_to_verify(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    # a proxy that ranks almost perfectly, 10% positives: the default's uniform sample stops
    # early and the labels left check the answer
    rng = np.random.default_rng(0)
    n, top = 10_000, 1000
    score = np.r_[rng.beta(8, 1, top), rng.beta(1, 400, n - top)]
    label = np.r_[rng.random(top) < 0.97, rng.random(n - top) < 0.001].astype(int)
    recs = tmp_path / "recs.csv"
    pd.DataFrame({"id": np.arange(n), "proxy_score": score, "label": label}).to_csv(recs, index=False)
    args = ["query", "select", "-r", recs, "-p", "proxy_score", "-o", "column:label",
            "--recall", "0.9", "--budget", "2000", "-w", tmp_path / "q.duckdb"]
    text = " ".join(run(*args).output.split())
    assert "the random sample stopped early" in text and "negatives" in text
    got = json.loads(run(*args, "--json").output)
    assert got["verified"] > 0 and got["verified_negatives"] <= got["verified"]
    ids = np.asarray(got["ids"])
    assert label[ids].sum() >= 0.9 * label.sum() and label[ids].mean() >= 0.95


@pytest.mark.shared_data
def test_query_aggregate_pays_once_and_reports_errors(tmp_path, shared_data):
    import json

    ws = tmp_path / "q.duckdb"
    recs = shared_data / "proxy" / "supg" / "tacred.csv"
    run("ingest", "records", recs, "-w", ws, "-n", "tacred")
    args = ["query", "aggregate", "-r", "tacred", "-p", "proxy_score", "-o", "column:label",
            "--stat", "mean", "--error", "0.01", "--delta", "0.05", "-w", ws, "--json"]
    first = json.loads(run(*args).output)
    second = json.loads(run(*args).output)
    assert first["estimate"] == second["estimate"] and first["guarantee"]["kind"] == "finite-sample"
    assert first["upper"] - first["lower"] <= 0.02 + 1e-12 and first["stopped"] == "error"
    assert first["labels_paid_now"] == first["oracle_calls"] < 1500 and second["labels_paid_now"] == 0
    r = run("query", "aggregate", "-r", recs, "-p", "proxy_score", "-o", "column:label",
            "--budget", "300", "--range", "0", "1", "-w", ws)
    assert r.exit_code == 0 and "finite-sample" in r.output and "oracle labels used: 300" in r.output
    r = CliRunner().invoke(cli, ["query", "aggregate", "-r", str(recs), "-o", "column:label", "-w", str(ws)])
    assert r.exit_code == 2 and "needs an error target" in r.output and "Traceback" not in r.output


def test_query_output_goes_in_an_existing_folder(tmp_path):
    r = CliRunner().invoke(cli, ["query", "select", "-r", "x.csv", "-p", "p", "-o", "column:label", "--recall",
                                 "0.9", "--output", str(tmp_path / "no" / "ids.txt"), "-w", str(tmp_path / "w.duckdb")])
    assert r.exit_code == 2 and "Invalid value for --output" in r.output
    assert list(tmp_path.iterdir()) == []
