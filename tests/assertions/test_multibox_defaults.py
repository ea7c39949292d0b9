"""Multibox's defaults (chosen leave-sequences-out, benchmarks/bench_assertions.py
--multibox-holdout) and its blind spot: boxes that look suppressed (non-maximum suppression)
rarely form overlapping triples, and check says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.assertions import Multibox, check
from assay.tables import as_observations


def _scene(n_frames=60, per_frame=12, seed=0, suppress_at=None):
    """Random people-sized boxes; with ``suppress_at``, greedy non-maximum suppression (per
    frame, by score) at that IoU, as a detector's post-processing does."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_frames):
        x = rng.uniform(0, 400, per_frame)
        y = rng.uniform(0, 100, per_frame)
        w = rng.uniform(30, 50, per_frame)
        score = rng.uniform(0.3, 1.0, per_frame)
        boxes = np.stack([x, y, x + w, y + 2.5 * w], axis=1)
        keep = np.ones(per_frame, bool)
        if suppress_at is not None:
            order = np.argsort(-score)
            keep[:] = False
            kept = []
            for i in order:
                if all(_iou(boxes[i], boxes[j]) <= suppress_at for j in kept):
                    kept.append(i)
            keep[kept] = True
        for b, s in zip(boxes[keep], score[keep], strict=True):
            rows.append({"frame": f, "cls": "person", "x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3], "score": s})
    df = pd.DataFrame(rows)
    df["obs_id"] = np.arange(len(df))
    return as_observations(df, stream="cam", source="model:det", fps=10)


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_defaults():
    m = Multibox()
    assert m.iou == 0.3 and m.class_aware is False
    # three boxes of different classes on one object: the detector's confusion, flagged
    obs = as_observations(pd.DataFrame({
        "frame": 1, "cls": ["car", "van", "truck"], "x1": [0.0, 1.0, 2.0], "y1": 0.0,
        "x2": [50.0, 51.0, 52.0], "y2": 40.0}), stream="cam", source="model", fps=10)
    assert len(check(obs, [Multibox()])) == 1
    assert len(check(obs, [Multibox(class_aware=True)])) == 0


@pytest.mark.parametrize("cap", [0.3, 0.5])
def test_suppressed_boxes_are_named(cap):
    obs = _scene(suppress_at=cap, per_frame=30)
    b = obs[["x1", "y1", "x2", "y2"]].to_numpy()
    ceiling = max(_iou(b[i], b[j]) for _, rows in obs.groupby("frame").indices.items()
                  for i in rows for j in rows if i < j)
    note = Multibox().blind_spot(obs)
    assert note is not None and "non-maximum suppression" in note
    assert f"more than IoU {ceiling:.3f}" in note
    assert check(obs, [Multibox()]).attrs["notes"] == [note]   # check reports it
    # at the default iou=0.3, suppression at 0.3 leaves no triple possible; at 0.5, a few
    assert ("cannot find" in note) == (cap == 0.3)


def test_raw_boxes_and_labels_have_no_blind_spot():
    assert Multibox().blind_spot(_scene(per_frame=30)) is None
    empty = _scene(n_frames=1, per_frame=1)
    assert Multibox().blind_spot(empty) is None


@pytest.mark.shared_data
def test_shared_detectors(shared_data):
    from assay.io import read_kitti_detections, read_mot

    mot = shared_data / "mot15"
    det = read_mot(mot, kind="det")                            # Faster R-CNN, suppressed at 0.3
    note = Multibox().blind_spot(det)
    assert note is not None and "cannot find" in note          # iou=0.3 is above its ceiling
    acf = read_mot(mot / "Venice-2" / "det_acf.txt", kind="det")   # ACF, suppressed at 0.5
    assert "few triples" in Multibox().blind_spot(acf)
    assert Multibox().blind_spot(read_mot(mot, kind="gt")) is None            # people overlap freely
    assert Multibox().blind_spot(read_kitti_detections(shared_data / "kitti" / "pointrcnn")) is None
