"""Readers over whole datasets: MOT dataset roots in both layouts, folders of KITTI, records,
Parquet and COCO files; stream names, image sizes and sources recorded; MOT's -1 scores."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

import assay
from assay.exceptions import (
    DataFileNotFoundError,
    DataFormatError,
    InvalidParameterError,
    SchemaError,
)
from assay.io import (
    demo_path,
    find_mot_sequences,
    read_coco,
    read_kitti_detections,
    read_kitti_tracking,
    read_mot,
    read_parquet,
    read_records,
    write_parquet,
)

MOT15 = ["ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Campus", "Venice-2"]
ROW = "1,-1,10,20,5,8,0.9,-1,-1,-1\n"


def seqinfo(name: str | None = "s", fps: float | None = 25, size=(640, 480)) -> str:
    lines = ["[Sequence]"]
    if name:
        lines.append(f"name={name}")
    if fps:
        lines.append(f"frameRate={fps}")
    if size:
        lines += [f"imWidth={size[0]}", f"imHeight={size[1]}"]
    return "\n".join(lines) + "\n"


def released(tmp_path, mot15, train=("TUD-Campus", "KITTI-13"), test=("Venice-2",)):
    """A MOT dataset as released (ROOT/train/SEQ/{det,gt}/, seqinfo.ini) from real files."""
    root = tmp_path / "MOT15"
    for split, seqs in (("train", train), ("test", test)):
        for seq in seqs:
            d = root / split / seq
            (d / "det").mkdir(parents=True)
            shutil.copy(mot15 / seq / "det.txt", d / "det" / "det.txt")
            shutil.copy(mot15 / seq / "seqinfo.ini", d / "seqinfo.ini")
            (d / "img1").mkdir()
            if split == "train":
                (d / "gt").mkdir()
                shutil.copy(mot15 / seq / "gt.txt", d / "gt" / "gt.txt")
    return root


# ------------------------------------------------------------------------- MOT dataset roots


@pytest.mark.shared_data
def test_flat_root_is_six_streams_named_from_seqinfo(shared_data):
    root = shared_data / "mot15"
    seqs = find_mot_sequences(root)
    assert [s.stream for s in seqs] == MOT15
    assert {s.named_from for s in seqs} == {"seqinfo.ini"}
    det = read_mot(root)
    assert det["stream"].unique().tolist() == MOT15
    assert np.array_equal(det["obs_id"].to_numpy(), np.arange(len(det)))
    parts = [read_mot(root / s / "det.txt") for s in MOT15]
    assert len(det) == sum(map(len, parts)) == 21_625
    for part in parts:  # each sequence with its own frame rate
        mine = det[det["stream"] == part["stream"].iloc[0]].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine.drop(columns="obs_id"),
                                      part[mine.columns].drop(columns="obs_id"), check_like=True)
    assert det.attrs["frame_rates"]["ETH-Bahnhof"] == 14.0 and "fps" not in det.attrs
    assert det.attrs["image_sizes"]["KITTI-13"] == [1242, 375] and len(det.attrs["image_sizes"]) == 6
    assert det.attrs["sources"]["Venice-2"] == str((root / "Venice-2" / "det.txt").resolve())


@pytest.mark.shared_data
def test_released_layout_train_and_test(tmp_path, shared_data):
    root = released(tmp_path, shared_data / "mot15")
    det = read_mot(root, kind="det")
    assert det["stream"].unique().tolist() == ["KITTI-13", "TUD-Campus", "Venice-2"]
    gt = read_mot(root, kind="gt")  # the test split has no ground truth
    assert gt["stream"].unique().tolist() == ["KITTI-13", "TUD-Campus"]
    assert gt.attrs["sources"]["TUD-Campus"].endswith("train/TUD-Campus/gt/gt.txt")
    # the split folder itself is a flat root; a sequence folder and its det/ folder read one
    assert read_mot(root / "train")["stream"].unique().tolist() == ["KITTI-13", "TUD-Campus"]
    one = read_mot(root / "train" / "TUD-Campus" / "det")
    assert one["stream"].unique().tolist() == ["TUD-Campus"] and one.attrs["fps"] == 25.0
    assert one.attrs["source_file"].endswith("det.txt")


def test_stream_named_from_folder_then_file_never_from_layout_names(tmp_path):
    (tmp_path / "myseq" / "det").mkdir(parents=True)
    (tmp_path / "myseq" / "det" / "det.txt").write_text(ROW)
    (tmp_path / "train" / "gt").mkdir(parents=True)
    (tmp_path / "train" / "gt" / "cam05.txt").write_text(ROW)
    (tmp_path / "test" / "det").mkdir(parents=True)
    (tmp_path / "test" / "det" / "det.txt").write_text(ROW)
    [s] = find_mot_sequences(tmp_path / "myseq")
    assert (s.stream, s.named_from, s.fps, s.image_size) == ("myseq", "folder", None, None)
    [s] = find_mot_sequences(tmp_path / "train" / "gt" / "cam05.txt")
    assert (s.stream, s.named_from) == ("cam05", "file name")
    [s] = find_mot_sequences(tmp_path / "test" / "det" / "det.txt")
    assert s.stream is None
    with pytest.raises(InvalidParameterError, match="cannot name this sequence's stream"):
        read_mot(tmp_path / "test" / "det" / "det.txt", fps=10)
    assert read_mot(tmp_path / "test" / "det" / "det.txt", fps=10, stream="cam9")["stream"].iloc[0] == "cam9"


def test_many_sequences(tmp_path):
    for seq, info in (("a", seqinfo("A", 10)), ("b", seqinfo("B", 20, None)), ("c", None)):
        (tmp_path / seq).mkdir()
        (tmp_path / seq / "det.txt").write_text(ROW * 2)
        if info:
            (tmp_path / seq / "seqinfo.ini").write_text(info)
    with pytest.raises(SchemaError, match=re.escape(
            f"{tmp_path / 'c' / 'det.txt'}: no fps given and no seqinfo.ini with frameRate next to "
            "the file (1 of 3 sequences have none); pass fps=...")):
        read_mot(tmp_path)
    det = read_mot(tmp_path, fps=5)
    assert det["stream"].unique().tolist() == ["A", "B", "c"] and det.attrs["fps"] == 5.0
    assert det.attrs["image_sizes"] == {"A": [640, 480]}
    with pytest.raises(InvalidParameterError, match=r"names one stream, but .* holds 3 sequences \(A, B, c\)"):
        read_mot(tmp_path, fps=5, stream="x")


def test_two_sequences_of_one_name_are_refused(tmp_path):
    for seq in ("x", "y"):
        (tmp_path / seq).mkdir()
        (tmp_path / seq / "det.txt").write_text(ROW)
        (tmp_path / seq / "seqinfo.ini").write_text(seqinfo("same"))
    with pytest.raises(DataFormatError, match=re.escape(
            f"{tmp_path / 'y' / 'det.txt'}: its sequence is named 'same' (seqinfo.ini), as is the "
            f"sequence of {tmp_path / 'x' / 'det.txt'}")):
        read_mot(tmp_path)


def test_folder_without_sequences(tmp_path):
    (tmp_path / "a" / "img1").mkdir(parents=True)
    with pytest.raises(DataFileNotFoundError, match=re.escape(
            f"{tmp_path}: found no MOTChallenge gt file: looked for gt/gt.txt and gt.txt")):
        read_mot(tmp_path, kind="gt")


# ------------------------------------------------------------------------- -1 means missing


def test_minus_one_score_is_missing(tmp_path):
    p = tmp_path / "seq" / "det.txt"
    p.parent.mkdir()
    p.write_text("1,-1,1,2,3,4,-1,-1,-1,-1\n1,-1,1,2,3,4,-0.5,-1,-1,-1\n2,-1,1,2,3,4,0.7,-1,-1,-1\n")
    score = read_mot(p, fps=10)["score"].to_numpy()
    assert np.isnan(score[0]) and score[1:].tolist() == [-0.5, 0.7]


def test_demo_tracker_read_as_detections_counts_per_frame():
    """The built-in tracker output scores every box -1: read as missing, the README's per-frame
    recipe keeps those boxes (it gave an all-NaN proxy when -1 was a score below 0.5)."""
    from assay.approx import frame_counts

    labels = read_mot(demo_path("TUD-Campus", "gt"), kind="gt", fps=25)
    det = read_mot(demo_path("TUD-Campus", "tracker"), kind="det", fps=25)
    assert det["score"].isna().all() and det["track"].notna().all()
    confident = det[det["score"].isna() | (det["score"] >= 0.5)]
    rec = frame_counts(people=labels, detections=confident)
    rec["proxy"] = rec["detections"] / max(rec["detections"].max(), 1)
    assert rec["proxy"].notna().all() and rec["detections"].sum() == len(det)


# ------------------------------------------------------------------------- KITTI folders


@pytest.mark.shared_data
def test_kitti_folders(shared_data):
    kitti = shared_data / "kitti"
    labels = read_kitti_tracking(kitti / "label_02")
    names = sorted(p.stem for p in (kitti / "label_02").glob("*.txt"))
    assert labels["stream"].unique().tolist() == names
    assert labels.attrs["sources"]["0000"] == str((kitti / "label_02" / "0000.txt").resolve())
    # the folder holding label_02/ (KITTI's training/) reads the same
    assert len(read_kitti_tracking(kitti)) == len(labels)
    det = read_kitti_detections(kitti / "pointrcnn")
    assert det["stream"].unique().tolist() == names
    assert [p.split("/")[-2] for p in det.attrs["sources"]["0000"]] == ["Car", "Cyclist", "Pedestrian"]
    assert set(det.attrs["frame_rates"].values()) == {10.0}
    with pytest.raises(InvalidParameterError, match=r"read_kitti_tracking names one stream, but .* holds 10"):
        read_kitti_tracking(kitti / "label_02", stream="x")


# ------------------------------------------------------------------------- folders of records


def test_records_folder(tmp_path):
    (tmp_path / "b.csv").write_text("id,proxy\n2,0.5\n3,0.1\n")
    (tmp_path / "a.csv").write_text("id,proxy\n0,0.2\n1,0.9\n")
    (tmp_path / "notes.txt").write_text("not records")
    rec = read_records(tmp_path, proxy="proxy")
    assert rec["id"].tolist() == [0, 1, 2, 3] and rec.attrs["source_files"][0].endswith("a.csv")
    (tmp_path / "c.csv").write_text("id,proxy\n7,0.5\n1,0.1\n")
    with pytest.raises(DataFormatError, match=re.escape(
            f"{tmp_path / 'c.csv'}, line 3: record id 1 is also in {tmp_path / 'a.csv'}")):
        read_records(tmp_path)
    (tmp_path / "c.csv").write_text("id,score\n7,0.5\n")
    with pytest.raises(DataFormatError, match=re.escape(
            f"{tmp_path / 'c.csv'}: has other columns than {tmp_path / 'a.csv'} (it also has "
            "['score']; it lacks ['proxy'])")):
        read_records(tmp_path)


def test_parquet_folder(tmp_path):
    def cam(name, frames=(0, 1)):
        return assay.as_observations(pd.DataFrame({"frame": list(frames), "cls": "car"}),
                                     stream=name, source="labels", fps=10)

    write_parquet(cam("cam1"), tmp_path / "1.parquet")
    write_parquet(cam("cam2"), tmp_path / "2.parquet")
    with pytest.raises(DataFormatError, match=re.escape(
            f"{tmp_path / '2.parquet'}: obs_id 0 is also in {tmp_path / '1.parquet'}; obs_id is "
            "unique within a table; pass renumber=True")):
        read_parquet(tmp_path)
    obs = read_parquet(tmp_path, renumber=True)
    assert obs["obs_id"].tolist() == [0, 1, 2, 3]
    assert obs.attrs["sources"] == {"cam1": str(tmp_path / "1.parquet"), "cam2": str(tmp_path / "2.parquet")}
    write_parquet(cam("cam1"), tmp_path / "3.parquet")
    with pytest.raises(DataFormatError, match=re.escape(
            f"{tmp_path / '3.parquet'}: stream 'cam1' is also in {tmp_path / '1.parquet'}")):
        read_parquet(tmp_path, renumber=True)


def test_coco_folder(tmp_path):
    def doc(size):
        return {"images": [{"id": 1, "file_name": "a.jpg", "width": size, "height": 100}],
                "categories": [{"id": 1, "name": "person"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]}

    (tmp_path / "cam1.json").write_text(json.dumps(doc(640)))
    (tmp_path / "cam2.json").write_text(json.dumps(doc(320)))
    obs = read_coco(tmp_path)
    assert obs["stream"].tolist() == ["cam1", "cam2"] and obs["obs_id"].tolist() == [0, 1]
    assert obs.attrs["image_sizes"] == {"cam1": [640, 100], "cam2": [320, 100]}
    with pytest.raises(InvalidParameterError, match="read_coco names one stream"):
        read_coco(tmp_path, stream="x")
    with pytest.raises(DataFormatError, match=re.escape(
            f"{tmp_path / 'cam2.json'}: stream 'same' is also in {tmp_path / 'cam1.json'}")):
        read_coco(tmp_path, stream=lambda im: "same")
