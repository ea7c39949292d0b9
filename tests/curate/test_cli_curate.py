"""``assay curate``: a round with export, the next round after retraining, verdict import."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

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
    # the labeling config goes beside the tasks, under a name the output announces
    config = tmp_path / "out.labelstudio.xml"
    assert ET.fromstring(config.read_text()).tag == "View" and not out.with_suffix(".xml").exists()
    assert f"labeling config to {config}" in "".join(r.output.split("\n"))
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


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    """The built-in MOT15 tracker output with findings, in a workspace file to copy."""
    from assay.cli._demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "base.duckdb"
    _, tracker = load_demo()
    with Workspace(path) as ws:
        ws.add("tracker", tracker)
        assay.check(tracker, [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=0.5)], workspace=ws,
                    name="tracker")
    return path


def copy_of(path, tmp_path, name="w.duckdb"):
    import shutil

    return shutil.copy(path, tmp_path / name)


def recorded(path):
    with Workspace(path, read_only=True) as ws:
        runs = ws.runs()
        return runs["kind"].tolist(), ws.tables()["name"].tolist()


def tree(folder, name=None):
    """Contents of the files under ``folder`` (only ``name`` and its side files when given)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and (name is None or p.relative_to(folder).parts[0].split(".")[0] == name.split(".")[0])}


def failing(*args):
    r = CliRunner().invoke(curate, list(map(str, args)))
    assert r.exit_code != 0 and r.exception is not None
    assert "image_size" not in r.output and "Traceback" not in r.output
    return " ".join(r.output.split())


def test_a_failed_export_records_nothing_and_the_rerun_queues_the_same_frames(demo_workspace, tmp_path):
    w = copy_of(demo_workspace, tmp_path)
    before = recorded(w)
    out = tmp_path / "q.json"
    msg = failing("-w", w, "-b", 8, "--export", "labelstudio", out)
    assert "--export labelstudio needs the image size" in msg and "--image-size WIDTHxHEIGHT" in msg
    msg = failing("-w", w, "-b", 8, "--export", "cvat", out, "--image-size", "TUD-Campus=640x480")
    assert "--image-size gives no size for stream 'TUD-Stadtmitte'" in msg and "Nothing was recorded" in msg
    msg = failing("-w", w, "-b", 8, "--export", "cvat", out, "--image-size", "640x-1")
    assert "Invalid value for --image-size" in msg
    # assertions run now are part of the round: not kept either
    msg = failing("-w", w, "-b", 8, "-a", "builtin:flicker", "--export", "cvat", out, "--image-size", "a=1x1")
    assert "no size for stream" in msg
    msg = failing("-w", w, "-b", 8, "--export", "mot", tmp_path / "no" / "such")
    assert "Invalid value for --export" in msg and "does not exist" in msg
    assert recorded(w) == before and sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]
    r = invoke("-w", w, "-b", 8, "--export", "labelstudio", out, "--image-size", "640x480")
    assert r.exit_code == 0, r.output
    straight = copy_of(demo_workspace, tmp_path, "straight.duckdb")
    assert invoke("-w", straight, "-b", 8).exit_code == 0
    with Workspace(w, read_only=True) as a, Workspace(straight, read_only=True) as b:
        qa, qb = a.read("curate.default.queue"), b.read("curate.default.queue")
        assert qa[["stream", "frame"]].equals(qb[["stream", "frame"]])
        run = a.runs().iloc[-1]
        assert run["params"]["observations"] == "tracker"
        assert run["summary"]["export"] == {"format": "labelstudio",
                                            "files": [str(out), str(tmp_path / "q.labelstudio.xml")]}
    assert [t["data"]["frame"] for t in json.loads(out.read_text())] == qa["frame"].tolist()


@pytest.mark.parametrize("fmt", ["labelstudio", "cvat", "mot"])
def test_export_writes_a_stored_round_again(demo_workspace, tmp_path, fmt):
    w = copy_of(demo_workspace, tmp_path)
    name = {"labelstudio": "a.json", "cvat": "a.xml", "mot": "a"}[fmt]
    size = ["--image-size", "640x480"]
    assert invoke("-w", w, "-b", 6, "--export", fmt, tmp_path / name, *size).exit_code == 0
    assert invoke("-w", w, "-b", 6, "--export", fmt, tmp_path / "b", *size).exit_code == 0
    (tmp_path / "again").mkdir()
    r = invoke("-w", w, "export", "--round", 0, fmt, tmp_path / "again" / name, *size)
    assert r.exit_code == 0 and "round 0: wrote 6" in " ".join(r.output.split())
    assert tree(tmp_path / "again") == tree(tmp_path, name) and len(tree(tmp_path, name)) == {"labelstudio": 2, "cvat": 1, "mot": 3}[fmt]
    # the table the round used is gone: say so, and how to go on
    with Workspace(w) as ws:
        tracker = ws.read("tracker")
        ws.delete("tracker")
        ws.add("other", tracker)
    msg = failing("-w", w, "export", "-r", 0, fmt, tmp_path / "c", *size)
    assert "used the observations table 'tracker', which is no longer in" in msg and "--observations TABLE" in msg
    r = invoke("-w", w, "export", "-r", 0, "-o", "other", fmt, tmp_path / "again" / name, *size)
    assert r.exit_code == 0, r.output
    msg = failing("-w", w, "export", "-r", 9, fmt, tmp_path / "c", *size)
    assert "Invalid value for --round: campaign 'default' has rounds 0 to" in msg


def test_labelstudio_config_never_overwrites_an_unrelated_file(demo_workspace, tmp_path):
    w = copy_of(demo_workspace, tmp_path)
    mine = tmp_path / "q.labelstudio.xml"
    mine.write_text("my notes")
    before = recorded(w)
    msg = failing("-w", w, "-b", 4, "--export", "labelstudio", tmp_path / "q.json", "--image-size", "640x480")
    assert f"writes the tasks' labeling config to {mine}, which exists and was not written by assay" in msg
    assert mine.read_text() == "my notes" and recorded(w) == before and not (tmp_path / "q.json").exists()
    other = tmp_path / "config.xml"
    r = invoke("-w", w, "-b", 4, "--export", "labelstudio", tmp_path / "q.json", "--image-size", "640x480",
               "--labelstudio-config", other)
    assert r.exit_code == 0 and mine.read_text() == "my notes" and other.read_text().startswith("<!--")
    # a config assay wrote is replaced by the next export
    r = invoke("-w", w, "-b", 4, "--export", "labelstudio", tmp_path / "r.json", "--image-size", "640x480")
    r = invoke("-w", w, "-b", 4, "--export", "labelstudio", tmp_path / "r.json", "--image-size", "640x480")
    assert r.exit_code == 0, r.output
    msg = failing("-w", w, "-b", 4, "--export", "cvat", tmp_path / "q.xml", "--labelstudio-config", other)
    assert "only --export labelstudio writes a labeling config" in msg
