"""``assay ingest`` for the formats users bring every day (YOLO txt, COCO results) and the
nuScenes / Lyft tables, whose ego poses are stored beside the boxes as NAME_ego_poses."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from assay import Workspace
from assay.cli import cli
from assay.io.nuscenes import WORLD_FRAME

_spec = importlib.util.spec_from_file_location(
    "nuscenes_layout", Path(__file__).resolve().parents[1] / "data" / "nuscenes_layout.py")
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)


def ingest(*args):
    r = CliRunner().invoke(cli, ["ingest", *map(str, args)], catch_exceptions=False)
    return r.exit_code, " ".join(r.output.split())


def test_yolo_labels_folder(tmp_path):
    labels = tmp_path / "ds" / "labels" / "cam1"
    labels.mkdir(parents=True)
    (tmp_path / "ds" / "data.yaml").write_text("names: [person, car]\n")
    for frame in (3, 4):
        Image.new("RGB", (320, 240)).save(labels / f"{frame:06d}.png")
        (labels / f"{frame:06d}.txt").write_text("1 0.5 0.5 0.5 0.5 0.8\n")
    ws = tmp_path / "w.duckdb"
    code, text = ingest("yolo", tmp_path / "ds" / "labels", "-w", ws, "-n", "pred", "--fps", "5")
    assert code == 0, text
    assert "stream cam1 (folder): 2 rows, 5 fps, image 320x240 (images)" in text
    with Workspace(ws, read_only=True) as w:
        pred = w.read("pred")
    assert pred["cls"].tolist() == ["car", "car"] and pred["frame"].tolist() == [3, 4]
    assert pred["x1"].tolist() == [80.0, 80.0] and pred["score"].tolist() == [0.8, 0.8]
    # no images: the error names the flags that give the size
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "1.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    code, text = ingest("yolo", bare, "-w", ws, "-n", "x", "--names", tmp_path / "ds" / "data.yaml")
    assert code == 2 and "(On the command line: --image-size WxH or STREAM=WxH, or --images DIR.)" in text
    code, text = ingest("yolo", bare, "-w", ws, "-n", "x", "--names", tmp_path / "ds" / "data.yaml",
                        "--image-size", "100x50", "--stream", "mine", "--source", "labels")
    assert code == 0, text
    assert "stream mine (--stream): 1 rows, 1 fps, image 100x50 (--image-size)" in text
    code, text = ingest("yolo", bare, "-w", ws, "-n", "y", "--names", tmp_path / "nope.txt")
    assert code == 2 and "--names" in text and "no such file" in text


def test_coco_results_need_their_dataset(tmp_path):
    dataset = tmp_path / "val.json"
    dataset.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]}))
    results = tmp_path / "det.json"
    results.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.6}]))
    ws = tmp_path / "w.duckdb"
    code, text = ingest("coco-results", results, "-w", ws, "-n", "pred")
    assert code == 2 and "coco-results needs --dataset FILE" in text
    code, text = ingest("coco-results", results, "-w", ws, "-n", "pred", "--dataset", dataset,
                        "--source", "model:detr")
    assert code == 0, text
    assert "stream coco (default): 1 rows, 1 fps, image 64x48 (COCO images)" in text
    with Workspace(ws, read_only=True) as w:
        pred = w.read("pred")
    assert pred["score"].tolist() == [0.6] and pred["source"].tolist() == ["model:detr"]
    code, text = ingest("mot-det", results, "-w", ws, "-n", "z", "--dataset", dataset)
    assert code == 2 and "--dataset applies to coco and coco-results only, not to mot-det" in text


def test_nuscenes_stores_ego_poses_beside_the_boxes(tmp_path):
    root = layout.write(tmp_path / "nuscenes")
    ws = tmp_path / "w.duckdb"
    code, text = ingest("nuscenes", root, "-w", ws, "-n", "nus", "--nuscenes-version", "v1.0-mini")
    assert code == 0, text
    assert "stream scene-0001 (scene name): 13 rows, 2 fps" in text
    assert "ingested 16 rows into nus (observations)" in text
    assert "stored 8 ego poses in nus_ego_poses (ego_poses: one per stream and frame)" in text
    assert "image size" not in text
    with Workspace(ws, read_only=True) as w:
        obs, poses = w.read("nus"), w.read("nus_ego_poses")
        assert w.table_info("nus_ego_poses")["kind"] == "ego_poses"
    assert len(obs) == 16 and len(poses) == 8
    assert obs.attrs["frame_3d"] == WORLD_FRAME
    # a submission's boxes, stored with --json output naming both tables
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps(layout.results(root)))
    r = CliRunner().invoke(cli, ["ingest", "nuscenes", str(root), "-w", str(ws), "-n", "pred",
                                 "--results", str(sub), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])  # notes on stderr come first
    assert out["rows_read"] == 16 and out["ego_poses"] == {"table": "pred_ego_poses", "rows_read": 8, "rows": 8}
    # the poses table is checked before anything is read or written
    code, text = ingest("nuscenes", root, "-w", ws, "-n", "nus")
    assert code == 2 and "already has a table 'nus'" in text
    with Workspace(ws) as w:
        w.delete("nus")
    code, text = ingest("nuscenes", root, "-w", ws, "-n", "nus")
    assert code == 2 and "already has a table 'nus_ego_poses'" in text
    code, text = ingest("nuscenes", root, "-w", ws, "-n", "nus2", "--fps", "2")
    assert code == 2 and "--fps does not apply to nuscenes" in text


@pytest.mark.parametrize("flag", ["--names", "--images", "--results", "--nuscenes-version"])
def test_format_specific_flags_are_refused_elsewhere(tmp_path, flag):
    code, text = ingest("kitti-tracking", tmp_path, "-w", tmp_path / "w.duckdb", "-n", "k", flag, "x")
    assert code == 2 and f"{flag} applies to" in text and "not to kitti-tracking" in text
