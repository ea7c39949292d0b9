"""``assay ingest`` at the size of a user's job: dataset roots, stream names said out loud,
--append, --fps and --image-size asked for at ingest, errors that name the options."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from assay import Workspace
from assay.cli import cli

MOT15 = ["ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Campus", "Venice-2"]


def ingest(*args):
    r = CliRunner().invoke(cli, ["ingest", *map(str, args)], catch_exceptions=False)
    return r.exit_code, " ".join(r.output.split())  # the console wraps long lines


def stored(ws, name):
    with Workspace(ws, read_only=True) as w:
        return w.read(name), w.table_info(name)


@pytest.mark.shared_data
def test_whole_mot15_root_in_one_command(tmp_path, shared_data):
    ws = tmp_path / "w.duckdb"
    code, text = ingest("mot-det", shared_data / "mot15", "-w", ws, "-n", "det")
    assert code == 0, text
    assert "ingested 21,625 rows into det" in text
    for seq in MOT15:
        assert f"stream {seq} (seqinfo.ini):" in text
    assert "stream ETH-Bahnhof (seqinfo.ini): 6,209 rows, 14 fps, image 640x480 (seqinfo.ini)" in text
    assert "note: no image size" not in text
    det, info = stored(ws, "det")
    assert det["stream"].unique().tolist() == MOT15 and det["obs_id"].is_unique
    assert det.attrs["image_sizes"]["Venice-2"] == [1920, 1080] and len(det.attrs["sources"]) == 6
    assert det.attrs["frame_rates"]["PETS09-S2L1"] == 7.0 and "fps" not in det.attrs
    assert det["score"].notna().all()  # Faster R-CNN scores, none -1


@pytest.mark.shared_data
def test_released_layout_and_own_folder_names(tmp_path, shared_data):
    root = tmp_path / "MOT15"
    for split, seq in (("train", "TUD-Campus"), ("train", "KITTI-13"), ("test", "Venice-2")):
        (root / split / seq / "det").mkdir(parents=True)
        shutil.copy(shared_data / "mot15" / seq / "det.txt", root / split / seq / "det" / "det.txt")
        shutil.copy(shared_data / "mot15" / seq / "seqinfo.ini", root / split / seq / "seqinfo.ini")
    ws = tmp_path / "w.duckdb"
    code, text = ingest("mot-det", root, "-w", ws, "-n", "det")
    assert code == 0, text
    assert "stream KITTI-13 (seqinfo.ini)" in text and "stream Venice-2 (seqinfo.ini)" in text
    # a user's own sequence: no seqinfo.ini, so the frame rate is asked for, with the file
    own = tmp_path / "mine" / "myseq" / "det"
    own.mkdir(parents=True)
    shutil.copy(shared_data / "mot15" / "TUD-Campus" / "det.txt", own / "det.txt")
    code, text = ingest("mot-det", tmp_path / "mine", "-w", ws, "-n", "det", "--append")
    assert code == 2 and f"{own / 'det.txt'}: no frame rate" in text and "Pass --fps FPS" in text
    code, text = ingest("mot-det", tmp_path / "mine", "-w", ws, "-n", "det", "--append", "--fps", "25",
                        "--image-size", "640x480")
    assert code == 0, text
    assert "stream myseq (folder): 321 rows, 25 fps, image 640x480 (--image-size)" in text
    assert "appended 321 rows to det" in text and "now 7,053 rows, revision 2" in text
    det, info = stored(ws, "det")
    assert det["stream"].unique().tolist() == ["KITTI-13", "TUD-Campus", "Venice-2", "myseq"]
    assert np.array_equal(det["obs_id"].to_numpy(), np.arange(len(det)))
    assert det.attrs["image_sizes"]["myseq"] == [640, 480] and det.attrs["image_sizes"]["KITTI-13"] == [1242, 375]
    assert det.attrs["sources"]["myseq"] == str(own / "det.txt")


@pytest.mark.shared_data
def test_append_refuses_a_stream_the_table_holds(tmp_path, shared_data):
    ws = tmp_path / "w.duckdb"
    seq = shared_data / "mot15" / "TUD-Campus"
    assert ingest("mot-gt", seq, "-w", ws, "-n", "gt")[0] == 0
    code, text = ingest("mot-gt", seq, "-w", ws, "-n", "gt")
    assert code == 2 and "already has a table 'gt'" in text
    assert "Pass --append to add to it, --replace to overwrite it, or choose another --name" in text
    code, text = ingest("mot-gt", shared_data / "mot15", "-w", ws, "-n", "gt", "--append")
    assert code == 2 and "table 'gt' already holds stream 'TUD-Campus'" in text
    assert "--append adds new streams only" in text
    code, text = ingest("mot-gt", seq, "-w", ws, "-n", "gt", "--append", "--replace")
    assert code == 2 and "--append and --replace are exclusive" in text
    # renamed, it goes in; a table with world coordinates takes rows without them as missing
    assert ingest("mot-gt", seq, "-w", ws, "-n", "gt", "--append", "--stream", "again")[0] == 0
    assert ingest("mot-gt", shared_data / "mot15" / "PETS09-S2L1", "-w", ws, "-n", "world")[0] == 0
    code, text = ingest("mot-gt", seq, "-w", ws, "-n", "world", "--append")
    assert code == 0 and "have no world_x, world_y, world_z; stored as missing" in text
    code, text = ingest("mot-gt", shared_data / "mot15" / "ETH-Bahnhof", "-w", ws, "-n", "gt", "--append")
    assert code == 2 and "have columns world_x, world_y, world_z, which table 'gt' does not" in text
    gt, info = stored(ws, "gt")
    assert gt["stream"].value_counts().to_dict() == {"TUD-Campus": 359, "again": 359}
    assert info["revision"] == 2 and gt.attrs["sources"]["again"].endswith("gt.txt")


def test_options_are_checked_before_anything_is_written(tmp_path):
    ws = tmp_path / "w.duckdb"
    seq = tmp_path / "cam" / "det.txt"
    seq.parent.mkdir()
    seq.write_text("1,-1,1,2,3,4,-1,-1,-1,-1\n2,-1,1,2,3,4,0.8,-1,-1,-1\n")
    code, text = ingest("mot-det", seq, "-w", ws, "-n", "det")
    assert code == 2 and f"{seq}: no frame rate" in text and "--fps" in text
    code, text = ingest("mot-det", seq, "-w", ws, "-n", "det", "--fps", "5", "--image-size", "nope=1x1")
    assert code == 2 and "--image-size" in text and "no stream 'nope'" in text and "cam" in text
    code, text = ingest("mot-det", seq, "-w", ws, "-n", "det", "--fps", "5", "--image-size", "640")
    assert code == 2 and "expected WIDTHxHEIGHT or STREAM=WIDTHxHEIGHT" in text
    code, text = ingest("records", seq, "-w", ws, "-n", "r", "--fps", "5")
    assert code == 2 and "--fps does not apply to records" in text
    assert not ws.exists()
    code, text = ingest("mot-det", seq, "-w", ws, "-n", "det", "--fps", "5")
    assert code == 0 and "stream cam (folder): 2 rows, 5 fps, image size unknown" in text
    assert "pass --image-size WxH or STREAM=WxH" in text
    det, _ = stored(ws, "det")
    assert np.isnan(det["score"].iloc[0]) and det["score"].iloc[1] == 0.8  # -1: no score


@pytest.mark.shared_data
def test_kitti_folder_streams_named_after_files(tmp_path, shared_data):
    ws = tmp_path / "w.duckdb"
    code, text = ingest("kitti-detections", shared_data / "kitti" / "pointrcnn", "-w", ws, "-n", "det",
                        "--image-size", "1242x375", "--image-size", "0000=1224x370")
    assert code == 0, text
    assert "stream 0000 (file name)" in text and "image 1224x370 (--image-size)" in text
    det, _ = stored(ws, "det")
    assert det.attrs["image_sizes"]["0000"] == [1224, 370] and det.attrs["image_sizes"]["0020"] == [1242, 375]
    code, text = ingest("kitti-tracking", shared_data / "kitti" / "label_02", "-w", ws, "-n", "x", "--stream", "s")
    assert code == 2 and "--stream names one stream, but" in text and "holds 10" in text


def test_folder_of_records_with_colliding_ids(tmp_path):
    folder = tmp_path / "recs"
    folder.mkdir()
    (folder / "day1.csv").write_text("id,proxy\n0,0.1\n1,0.2\n")
    (folder / "day2.csv").write_text("id,proxy\n2,0.1\n1,0.7\n")
    ws = tmp_path / "w.duckdb"
    code, text = ingest("records", folder, "-w", ws, "-n", "r")
    assert code == 2
    assert f"{folder / 'day2.csv'}, line 3: record id 1 is also in {folder / 'day1.csv'}" in text
    (folder / "day2.csv").write_text("id,proxy\n2,0.1\n3,0.7\n")
    code, text = ingest("records", folder, "-w", ws, "-n", "r")
    assert code == 0 and "ingested 4 rows into r (records)" in text
    (folder / "day3.csv").write_text("id,proxy\n1,0.5\n")
    code, text = ingest("records", folder / "day3.csv", "-w", ws, "-n", "r", "--append")
    assert code == 2 and "--append: Cannot append to 'r': it already holds record id 1" in text
