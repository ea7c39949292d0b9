"""Every real file in ../shared/data reads, row counts match, MOT round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay import Workspace
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot, read_records, write_mot

pytestmark = pytest.mark.shared_data


def nonblank_lines(path) -> int:
    with open(path) as f:
        return sum(1 for line in f if line.strip())


def mot_files(shared_data):
    return sorted((shared_data / "mot15").glob("*/*.txt"))


def test_every_mot_file_reads_with_matching_counts(shared_data):
    files = mot_files(shared_data)
    assert len(files) == 16
    for f in files:
        kind = "gt" if f.name == "gt.txt" else "det"
        df = read_mot(f, kind=kind)
        assert len(df) == nonblank_lines(f), f
        assert df["stream"].unique().tolist() == [f.parent.name]
        assert (df["time"] == (df["frame"] - 1) / df.attrs["fps"]).all()
        if kind == "gt":
            assert df["track"].notna().all() and df["score"].isna().all()
        else:
            assert df["track"].isna().all() and df["score"].notna().all()


@pytest.mark.parametrize("name", ["gt.txt", "det.txt"])
def test_mot_round_trip_values(shared_data, tmp_path, name):
    """MOT -> workspace -> MOT gives the same values (and, for these files, the same bytes)."""
    ws = Workspace(tmp_path / "rt.duckdb")
    for f in sorted((shared_data / "mot15").glob(f"*/{name}")):
        kind = name[:-4]
        df = read_mot(f, kind=kind)
        ws.add(f.parent.name, df, kind="observations")
        stored = ws.read(f.parent.name)
        pd.testing.assert_frame_equal(stored, df)
        (tmp_path / f.parent.name).mkdir(exist_ok=True)  # write_mot creates no folder
        out = write_mot(stored, tmp_path / f.parent.name / name)
        a = np.loadtxt(f, delimiter=",", ndmin=2)
        b = np.loadtxt(out, delimiter=",", ndmin=2)
        assert a.shape == b.shape
        assert np.array_equal(a, b), f
        # the real files are written the way pyarrow writes numbers: identical bytes
        assert out.read_bytes() == f.read_bytes(), f
        back = read_mot(out, kind=kind, fps=df.attrs["fps"], stream=df["stream"].iloc[0])
        pd.testing.assert_frame_equal(back.drop(columns="source"), df.drop(columns="source"),
                                      check_like=False)


def test_kitti_labels_counts(shared_data):
    files = sorted((shared_data / "kitti" / "label_02").glob("*.txt"))
    total = dontcare = 0
    for f in files:
        obj = read_kitti_tracking(f)
        dc = read_kitti_tracking(f, dontcare="only")
        n = nonblank_lines(f)
        assert len(obj) + len(dc) == n
        assert obj.attrs["dropped_rows"] == {"DontCare": len(dc)}
        assert (dc["cls"] == "DontCare").all() and (obj["cls"] != "DontCare").all()
        total += len(obj)
        dontcare += len(dc)
    both = read_kitti_tracking(shared_data / "kitti" / "label_02")
    assert len(both) == total and both.attrs["dropped_rows"]["DontCare"] == dontcare
    assert both["obs_id"].is_unique and both["stream"].nunique() == len(files)


def test_kitti_detection_counts_and_scores(shared_data):
    root = shared_data / "kitti" / "pointrcnn"
    files = sorted(root.rglob("*.txt"))
    det = read_kitti_detections(root)
    assert len(det) == sum(nonblank_lines(f) for f in files)
    assert det["score"].between(0, 1).all()
    assert set(det["cls"].unique()) <= {"Car", "Pedestrian", "Cyclist"}
    # the probability is a monotone function of the raw logit
    order = np.argsort(det["score_raw"].to_numpy(), kind="stable")
    assert np.all(np.diff(det["score"].to_numpy()[order]) >= 0)


def test_kitti_ego_frame_agrees_between_labels_and_detections(shared_data):
    """A PointRCNN car and the labelled car it matches land at the same ego location."""
    lab = read_kitti_tracking(shared_data / "kitti" / "label_02" / "0000.txt")
    det = read_kitti_detections(shared_data / "kitti" / "pointrcnn" / "Car" / "0000.txt")
    lab0 = lab[(lab.frame == 0) & (lab.cls == "Van")].iloc[0]
    d = det[det.frame == 0]
    nearest = d.iloc[np.argmin(np.hypot(d.x - lab0.x, d.y - lab0.y))]
    assert np.hypot(nearest.x - lab0.x, nearest.y - lab0.y) < 0.5
    assert abs(nearest.z - lab0.z) < 0.5
    # forward distance is positive for objects in front of the camera
    assert (lab["x"] > 0).mean() > 0.99


def test_supg_records(shared_data):
    for name, n in (("imagenet", 50000), ("onto", 11165), ("tacred", 22631)):
        r = read_records(shared_data / "proxy" / "supg" / f"{name}.csv", proxy="proxy_score")
        assert len(r) == n and r["id"].is_unique
        assert r["proxy_score"].between(0, 1).all()


def test_tables_from_readers_and_the_workspace_accept_assignment(tmp_path):
    """Arrow's zero-copy arrays are read-only; what assay hands out must not be."""
    from assay import Workspace
    from assay.io import demo_path, read_mot, read_records

    gt = read_mot(demo_path("TUD-Campus", "gt"), kind="gt", fps=25)
    gt.loc[gt.index[0], "x1"] = -5.0
    gt.loc[gt.index[0], "frame"] = 7
    csv = tmp_path / "r.csv"
    csv.write_text("id,proxy\n1,0.5\n2,0.25\n")
    recs = read_records(csv)
    recs.loc[0, "proxy"] = 1.0
    with Workspace() as ws:
        ws.add("gt", gt)
        back = ws.read("gt")
        back.loc[0, "x1"] = 3.0
        back.loc[0, "frame"] = 9
        assert back.loc[0, "x1"] == 3.0 and ws.read("gt").loc[0, "x1"] == -5.0
