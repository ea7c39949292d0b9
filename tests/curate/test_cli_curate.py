"""``assay curate``: a round with export, the next round after retraining, verdict import."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import assay
from assay import Workspace
from assay.assertions import Appear, Flicker, Gap, Multibox
from assay.cli._curate import curate, demo_step
from assay.io import read_mot


def invoke(*args):
    return CliRunner().invoke(curate, list(map(str, args)), catch_exceptions=False)


@pytest.fixture
def workspace(tmp_path, shared_data):
    path = tmp_path / "w.duckdb"
    det = read_mot(shared_data / "mot15" / "TUD-Campus" / "det.txt", kind="det")
    det = assay.tracking.associate(det, iou=0.3)
    with Workspace(path) as ws:
        ws.add("preds", det)
        assay.check(det, [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=0.5)], workspace=ws,
                    name="preds")
    return path


@pytest.mark.shared_data
def test_curate_export_and_import(workspace, tmp_path):
    out = tmp_path / "out.json"
    r = invoke("--workspace", workspace, "--strategy", "bal", "--budget", 20, "--export", "labelstudio", out)
    assert r.exit_code == 0, r.output
    tasks = json.loads(out.read_text())
    assert len(tasks) == 20
    # image size came from the seqinfo.ini next to the ingested det.txt
    assert tasks[0]["predictions"][0]["result"][0]["original_width"] == 640
    assert out.with_suffix(".xml").read_text().startswith("<View>")
    assert "round 0: 20 frames queued (bal)" in " ".join(r.output.split())
    # a reviewer rejects every box of the first two frames
    verdicts = [{"stream": t["data"]["stream"], "frame": t["data"]["frame"], "obs_id": int(reg["id"][3:]),
                 "verdict": "rejected"} for t in tasks[:2] for reg in t["predictions"][0]["result"]]
    vfile = tmp_path / "verdicts.json"
    vfile.write_text(json.dumps(verdicts))
    r = invoke("import", vfile, "--workspace", workspace, "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["frames"] == 2 and got["rejected"] == len(verdicts)
    assert sum(p["reviewed"] for p in got["precision"]) == 2
    # the next round (same campaign) continues: BAL again, new frames only, CVAT export
    r = invoke("-w", workspace, "-b", 10, "--export", "cvat", tmp_path / "q.xml", "--image-size", "640x480")
    assert r.exit_code == 0, r.output
    with Workspace(workspace, read_only=True) as ws:
        q = ws.read("curate.default.queue")
    assert len(q) == 30 and not q.duplicated(["stream", "frame"]).any()
    assert sorted(q["round"].unique()) == [0, 1]


@pytest.mark.shared_data
def test_curate_needs_findings_for_bal(tmp_path, shared_data):
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.add("preds", read_mot(shared_data / "mot15" / "TUD-Campus" / "det.txt", kind="det"))
    r = CliRunner().invoke(curate, ["-w", str(path), "--budget", "5"])
    assert r.exit_code != 0 and "needs findings" in r.output
    r = invoke("-w", path, "--budget", 5, "--assertions", "builtin:flicker", "--export", "mot", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m" / "queue.csv").exists()
    r = invoke("-w", path, "-c", "rand", "-s", "random", "-b", 5)
    assert r.exit_code == 0, r.output


def test_registered_in_the_assay_command():
    from assay.cli._main import cli

    if "curate" not in cli.commands:
        pytest.skip("assay curate is not registered in cli/_main.py yet")
    r = CliRunner().invoke(cli, ["curate", "--help"])
    assert r.exit_code == 0 and "import" in r.output


def test_demo_step_prints_a_queue():
    from rich.console import Console

    console = Console(record=True, width=200)
    demo_step(console)
    text = console.export_text()
    assert "BAL queues 12 frames" in text and "assertion precision" in text
