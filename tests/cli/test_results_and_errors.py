"""The command line after a run: runs, findings, diff, labels, gates, JSON; and errors that
speak in flags and file positions, never in Python parameters."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from assay.cli import cli


def run(*args, ok=True):
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    return r


@pytest.fixture
def ws(tmp_path, shared_data):
    """A workspace with TUD-Campus detections and labels, and two check runs."""
    path = tmp_path / "w.duckdb"
    seq = shared_data / "mot15" / "TUD-Campus"
    run("ingest", "mot-det", seq, "-w", path, "-n", "det")
    run("ingest", "mot-gt", seq, "-w", path, "-n", "gt")
    run("check", "-w", path, "-o", "det", "-a", "builtin:flicker")
    run("check", "-w", path, "-o", "det", "-a", "builtin:flicker,builtin:multibox", "--set", "multibox.iou=0.1")
    return path


def run_ids(path, kind=None):
    args = ["runs", "-w", path, "--json"] + (["--kind", kind] if kind else [])
    return [r["run_id"] for r in json.loads(run(*args).output)]


def test_runs_lists_and_explains(ws):
    checks = run_ids(ws, "check")
    assert len(checks) == 2
    detail = json.loads(run("runs", checks[0], "-w", ws, "--json").output)
    (obs,) = detail["inputs"]
    assert obs["table"] == "det" and obs["revision"] == 1 and obs["state"] == "unchanged"
    assert detail["summary"]["findings"] > 0 and "assay" in detail["versions"]
    text = run("runs", checks[0], "-w", ws).output
    assert "table det rev 1" in text and "(unchanged)" in text
    # replacing the table it read is visible afterwards
    run("ingest", "mot-det", ws.parent / "missing-folder", "-w", ws, "-n", "det", ok=False)
    r = run("runs", "no-such-run", "-w", ws, ok=False)
    assert r.exit_code == 2 and "RUN_ID no-such-run is not a run of" in " ".join(r.output.split())


def test_findings_export_in_every_format(ws, tmp_path):
    latest = run_ids(ws, "check")[-1]
    table = run("findings", "-w", ws).output
    assert f"findings of run {latest}" in " ".join(table.split())
    csv = tmp_path / "f.csv"
    run("findings", "-w", ws, "--assertion", "flicker", "--format", "csv", "-o", csv)
    got = pd.read_csv(csv)
    assert set(got["assertion"]) == {"flicker"} and (got["run_id"] == latest).all()
    assert json.loads(got["obs_ids"].iloc[0])  # a list, as JSON text
    pq = tmp_path / "f.parquet"
    run("findings", "-w", ws, "--all-runs", "--format", "parquet", "-o", pq)
    assert pd.read_parquet(pq)["run_id"].nunique() == 2
    records = json.loads(run("findings", "-w", ws, "--format", "json", "--min-severity", "0.9").output)
    assert records and all(r["severity"] >= 0.9 for r in records)
    r = run("findings", "-w", ws, "--format", "parquet", ok=False)
    assert r.exit_code == 2 and "--format parquet needs --output FILE" in r.output


def test_diff_of_two_runs(ws):
    old, new = run_ids(ws, "check")
    got = json.loads(run("diff", old, new, "-w", ws, "--json").output)
    counts = {c["assertion"]: c for c in got["counts"]}
    assert counts["flicker"]["new"] == counts["flicker"]["resolved"] == 0
    assert counts["flicker"]["kept"] > 0 and counts["multibox"]["new"] > 0
    assert "resolved" in run("diff", new, old, "-w", ws).output


def test_check_gates_a_release(ws):
    r = run("check", "-w", ws, "-o", "det", "-a", "builtin:flicker", "--fail-on", "0.5", ok=False)
    assert r.exit_code == 1 and "gate failed" in r.output and "--fail-on" in r.output
    r = run("check", "-w", ws, "-o", "det", "-a", "builtin:flicker", "--max-findings", "10000")
    assert r.exit_code == 0
    r = run("check", "-w", ws, "-o", "det", "-a", "builtin:flicker", "--max-findings", "0", "--json", ok=False)
    assert r.exit_code == 1 and "more than 0" in json.loads(r.output)["gate"]


def test_check_says_why_track_assertions_found_nothing(ws):
    got = json.loads(run("check", "-w", ws, "-o", "det", "-a", "builtin:appear", "--json").output)
    assert got["findings"] == 0
    assert "no row has" in got["notes"][0] and "--associate" in got["notes"][0]
    linked = json.loads(run("check", "-w", ws, "-o", "det", "-a", "builtin:appear", "--associate",
                            "--json").output)
    assert linked["notes"] == [] and linked["findings"] > 0


def test_labels_list_export_clear(tmp_path, shared_data):
    path = tmp_path / "q.duckdb"
    onto = shared_data / "proxy" / "supg" / "onto.csv"
    first = json.loads(run("query", "aggregate", "-r", onto, "-p", "proxy_score", "-o", "column:label",
                           "--error", "0.03", "--range", "0", "1", "-w", path, "--json").output)
    listed = json.loads(run("labels", "list", "-w", path, "--json").output)
    (oracle,) = listed
    assert oracle["oracle"] == f"column:label@file:{onto.resolve()}"
    assert oracle["labels"] == first["oracle_calls"] and oracle["kind"] == "column"
    out = tmp_path / "answers.parquet"
    run("labels", "export", "onto.csv", "-w", path, "-o", out)
    assert len(pd.read_parquet(out)) == first["oracle_calls"]
    r = run("labels", "clear", "onto", "-w", path, ok=False)
    assert r.exit_code == 2 and "--discard-labels" in r.output
    run("labels", "clear", "onto", "-w", path, "--discard-labels")
    again = json.loads(run("query", "aggregate", "-r", onto, "-p", "proxy_score", "-o", "column:label",
                           "--error", "0.03", "--range", "0", "1", "-w", path, "--json").output)
    assert again["labels_paid_now"] == again["oracle_calls"]  # cleared answers are paid again


def test_every_printing_command_speaks_json(ws, tmp_path):
    for args in (["info", ws], ["runs", "-w", ws], ["labels", "list", "-w", ws],
                 ["findings", "-w", ws, "--format", "json"],
                 ["check", "-w", ws, "-o", "det", "-a", "builtin:gap"],
                 ["audit", "-w", ws, "--predictions", "det", "--labels", "gt", "--method", "confidence"]):
        extra = [] if "--format" in args else ["--json"]
        json.loads(run(*args, *extra).output)


def test_quiet_silences_notes(tmp_path, shared_data):
    path = tmp_path / "w.duckdb"
    r = CliRunner().invoke(
        cli, ["--quiet", "ingest", "mot-det", str(shared_data / "mot15" / "TUD-Campus"), "-w", str(path),
              "-n", "det"])
    assert r.exit_code == 0 and r.stderr == ""


def test_a_broken_assertion_file_shows_the_users_line(ws, tmp_path):
    bad = tmp_path / "mine.py"
    bad.write_text("from assay.assertions import point_assertion\n\n"
                   "@point_assertion\ndef crowded(frame, boxes):\n    return len(boxes) / undefined_name\n")
    r = run("check", "-w", ws, "-o", "det", "-a", str(bad), ok=False)
    assert r.exit_code == 2
    assert f"{bad}, line 5" in r.output and "NameError" in r.output
    assert "assertion 'crowded' at stream 'TUD-Campus', frame" in " ".join(r.output.split())
    assert "site-packages" not in r.output and "assay/assertions/runner.py" not in r.output
    syntax = tmp_path / "typo.py"
    syntax.write_text("def f(:\n    pass\n")
    r = run("check", "-w", ws, "-o", "det", "-a", str(syntax), ok=False)
    assert r.exit_code == 2 and f"{syntax}, line 1" in r.output and "SyntaxError" in r.output


# ---------------------------------------------------------------------- the error-message walk

#: Python's way of naming a parameter, which a CLI user never typed.
PYTHON_SPEAK = [
    re.compile(r"\b[a-z_]+=(True|False|None|\.\.\.)"),
    re.compile(r"\b(replace|fps|image_size|images_from|discard_results|name|value|budget|delta)=[\(\[\w'\"]"),
    re.compile(r"'[a-z_]+' parameter of"),
    re.compile(r"__init__"),
    re.compile(r"Traceback \(most recent call last\)"),
]
#: A flag, or a position in a file: what a CLI error must point at.
POINTS_AT = re.compile(r"(--[a-z][a-z-]+|'-[a-z]'|, line \d+|: no such|FORMAT|PATH|RUN_ID|OLD_RUN|NEW_RUN|ORACLE)")


def bad_invocations(tmp, data, ws):
    det = tmp / "det.txt"
    det.write_text("1,-1,1,2,3\n")
    nofps = tmp / "seq"
    nofps.mkdir()
    (nofps / "det.txt").write_text("1,-1,10,20,30,40,0.9,-1,-1,-1\n")
    records = data / "proxy" / "supg" / "onto.csv"
    hostile = tmp / "dots.parquet"
    return [
        ["ingest", "mot-det", det, "--fps", "10", "-w", ws, "-n", "x"],
        ["ingest", "mot-det", nofps, "-w", ws, "-n", "x"],
        ["ingest", "mot-det", data / "mot15" / "TUD-Campus", "-w", ws, "-n", "det"],
        ["ingest", "mot-det", data / "mot15" / "TUD-Campus", "-w", ws, "-n", "bad name!"],
        ["ingest", "parquet", hostile, "-w", ws, "-n", "findings", "--replace"],
        ["check", "-w", ws, "-o", "nope", "-a", "builtin:flickr"],
        ["check", "-w", ws, "-o", "nope", "-a", "builtin:flicker"],
        ["check", "-w", ws, "-o", "det", "-a", "builtin:flicker", "--set", "flicker.iou=3"],
        ["check", "-w", ws, "-o", "det", "-a", "builtin:flicker", "--set", "flicker.bogus=1"],
        ["check", "-w", ws, "-o", "det", "-a", "builtin:flicker", "--set", "flicker"],
        ["check", "-w", tmp / "typo.duckdb", "-o", "det", "-a", "builtin:flicker"],
        ["query", "select", "-r", records, "-p", "proxy_score", "-o", "column:label", "-w", ws],
        ["query", "select", "-r", records, "-p", "proxy_score", "-o", "column:label", "--recall", "1.5", "-w", ws],
        ["query", "select", "-r", records, "-p", "nope", "-o", "column:label", "--recall", "0.9", "-w", ws],
        ["query", "select", "-r", "no-such-table", "-p", "proxy_score", "-o", "column:label", "--recall", "0.9", "-w", ws],
        ["query", "select", "-r", records, "-p", "proxy_score", "-o", "column:label", "--recall", "0.9",
         "--budget", "999999", "-w", ws],
        ["query", "select", "-r", records, "-p", "proxy_score", "-o", "colum:label", "--recall", "0.9", "-w", ws],
        ["query", "aggregate", "-r", records, "-p", "proxy_score", "-o", "column:label", "-w", ws],
        ["query", "aggregate", "-r", records, "-p", "proxy_score", "-o", "column:proxy_score",
         "--error", "0.1", "-w", ws],
        ["query", "aggregate", "-r", records, "-p", "proxy_score", "-o", "column:label", "--budget", "10",
         "--relative", "--range", "0", "1", "-w", ws],
        ["query", "aggregate", "-r", records, "-o", "column:label", "--method", "blazeit", "--error", "0.1",
         "--range", "0", "1", "-w", ws],
        ["query", "aggregate", "-r", records, "-o", "column:label", "-w", ws],
        ["query", "select", "-r", records, "-p", "proxy_score", "-o", "column:label", "--recall", "0.9",
         "--output", tmp / "no" / "ids.txt", "-w", ws],
        ["audit", "-w", ws, "--predictions", "det", "--labels", "nope"],
        ["audit", "-w", ws, "--predictions", "det", "--labels", "det", "--method", "best"],
        ["curate", "-w", ws, "-o", "unchecked", "-c", "fresh", "--strategy", "bal", "--budget", "5"],
        ["curate", "-w", ws, "-o", "nope", "--budget", "5"],
        ["curate", "-w", ws, "-o", "det", "--budget", "5", "--export", "labelstudio", tmp / "no" / "q.json"],
        ["curate", "-w", ws, "-o", "det", "--budget", "5", "--image-size", "12", "--export", "cvat", tmp / "q.xml"],
        ["curate", "export", "-w", ws, "--round", "7", "mot", tmp / "out"],
        ["runs", "nope", "-w", ws],
        ["diff", "a", "b", "-w", ws],
        ["labels", "clear", "nothing", "-w", ws],
        ["findings", "-w", ws, "--format", "parquet"],
        ["migrate", tmp / "missing.duckdb"],
        # assay review refuses what it cannot serve before it starts serving
        ["review", tmp / "missing.duckdb"],
        ["review", ws, "--images", tmp / "no-such-folder"],
        ["review", ws, "--images", tmp, "--image-layout", "bogus"],
        ["review", ws, "--boxes", "nope"],
        ["review", ws, "--query", "aggregate -r nope -o review:people --range 0 9 --budget 5"],
        ["review", ws, "--query", "aggregate -r det -o column:x --range 0 9 --budget 5"],
        ["review", ws, "--query", "aggregate -r det -o 'review:a#b#c' --range 0 9 --budget 5"],
        ["review", ws, "--query", "select -r det -p score -o review:bus --budget 5"],
        ["review", ws, "--query", "count the cars"],
    ]


def test_cli_errors_name_flags_or_file_positions(tmp_path, shared_data):
    ws = tmp_path / "w.duckdb"
    run("ingest", "mot-det", shared_data / "mot15" / "TUD-Campus", "-w", ws, "-n", "det")
    run("check", "-w", ws, "-o", "det", "-a", "builtin:flicker")
    run("ingest", "mot-det", shared_data / "mot15" / "TUD-Campus", "-w", ws, "-n", "unchecked")
    pd.DataFrame({"stream": ["a"], "frame": [1], "time": [0.0], "obs_id": [0], "cls": ["car"],
                  "source": ["m"]}).to_parquet(tmp_path / "dots.parquet")
    wrong = []
    cases = bad_invocations(tmp_path, shared_data, ws)
    for args in cases:
        r = CliRunner().invoke(cli, [str(a) for a in args])
        text = " ".join(r.output.split())
        if r.exit_code != 2 or not (r.exception is None or isinstance(r.exception, SystemExit)):
            wrong.append((args[:2], f"exit {r.exit_code}: {r.exception!r} {text}"))
        elif any(p.search(text) for p in PYTHON_SPEAK):
            wrong.append((args[:2], f"speaks Python: {text}"))
        elif not POINTS_AT.search(text):
            wrong.append((args[:2], f"points at no flag or file position: {text}"))
    assert not wrong, "\n".join(map(str, wrong))
    assert len(cases) >= 30


def test_ingest_reports_success_only_once_the_data_is_in_the_file(tmp_path, shared_data):
    import os
    import resource
    import signal
    import subprocess
    import sys

    run("ingest", "mot-det", shared_data / "mot15" / "TUD-Campus", "-w", tmp_path / "w.duckdb", "-n", "small")
    size = os.path.getsize(tmp_path / "w.duckdb")

    def full_disk():  # files may not grow past their size now: a full disk, as DuckDB sees it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 4096, resource.RLIM_INFINITY))

    proc = subprocess.run([sys.executable, "-m", "assay.cli", "ingest", "mot-det",
                           str(shared_data / "mot15" / "ETH-Bahnhof"), "-w", str(tmp_path / "w.duckdb"),
                           "-n", "big"], preexec_fn=full_disk, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "ingested" not in proc.stdout
    assert "write-ahead log" in proc.stderr and "It is not lost" in proc.stderr
    got = json.loads(run("info", tmp_path / "w.duckdb", "--json").output)  # replayed with room
    assert {t["name"]: t["rows"] for t in got["tables"]} == {"small": 321, "big": 6209}
