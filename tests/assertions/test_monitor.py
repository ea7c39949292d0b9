"""The streaming monitor gives the same findings as the batch runner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import (
    Appear,
    ClassSwitch,
    ConsistencyAssertion,
    Flicker,
    Gap,
    Monitor,
    Multibox,
    TooFast,
    check,
    point_assertion,
    sort_findings,
    temporal_assertion,
)
from assay.exceptions import InvalidParameterError
from assay.io import read_mot


@point_assertion
def crowded(frame, outputs):
    return max(0.0, len(outputs) - 8.0)


@temporal_assertion(window=4)
def count_jump(frames, outputs):
    counts = [len(o) for o in outputs]
    return float(max(counts) - min(counts) >= 4)


def assertions():
    return [
        Flicker(), Gap(), Multibox(iou=0.1), crowded, count_jump,
        ClassSwitch(segment_gap=2.0), Appear(min_duration=0.5, segment_gap=2.0),
        ConsistencyAssertion(identifier="track", max_gap=1.0, min_duration=0.3, segment_gap=3.0),
        TooFast(coords="2d", max_speed=300.0),
    ]


def canon(findings: pd.DataFrame) -> pd.DataFrame:
    return sort_findings(findings.drop(columns=["run_id"])).reset_index(drop=True)


def stream(obs: pd.DataFrame, items, chunk: int = 1) -> pd.DataFrame:
    """Feed ``obs`` to a monitor, ``chunk`` frames at a time (1: frame by frame)."""
    mon = Monitor(items)
    for _, part in obs.groupby(["stream", (obs["frame"] - obs["frame"].min()) // chunk], sort=True):
        mon.update(part)
    mon.close()
    return mon.findings_


MOT15 = ["ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Campus", "Venice-2"]


def mot15_tables(shared_data, seq, frames=None):
    gt = read_mot(shared_data / "mot15" / seq / "gt.txt", kind="gt")
    det = read_mot(shared_data / "mot15" / seq / "det.txt", kind="det")
    det = assay.tracking.associate(det, iou=0.3)
    if frames is not None:
        gt, det = gt[gt.frame <= frames], det[det.frame <= frames]
    return gt, det


@pytest.mark.shared_data
@pytest.mark.parametrize("seq", MOT15)
def test_batch_equals_stream_on_mot15(shared_data, seq):
    """Every MOT15 sequence, ground truth and detections, fed in chunks of 15 frames."""
    total = 0
    for obs in mot15_tables(shared_data, seq):
        batch = check(obs, assertions(), stride=1)
        live = stream(obs, assertions(), chunk=15)
        total += len(batch)
        pd.testing.assert_frame_equal(canon(batch), canon(live))
    assert total > 0


@pytest.mark.shared_data
@pytest.mark.parametrize("seq,frames", [("TUD-Campus", None), ("KITTI-13", 150), ("PETS09-S2L1", 150),
                                        ("ETH-Bahnhof", 120)])
def test_batch_equals_stream_frame_by_frame(shared_data, seq, frames):
    for obs in mot15_tables(shared_data, seq, frames):
        pd.testing.assert_frame_equal(canon(check(obs, assertions(), stride=1)),
                                      canon(stream(obs, assertions())))


def test_memory_stays_bounded():
    # 600 frames of 5 short-lived tracks: the buffer never holds more than a few seconds
    rows = []
    for f in range(600):
        for k in range(5):
            rows.append((f, float(50 * k + (f % 7)), (f // 20) * 5 + k))
    df = pd.DataFrame(rows, columns=["frame", "x1", "track"])
    df = df.assign(cls="car", y1=0.0, x2=df.x1 + 20, y2=20.0)
    obs = assay.as_observations(df, stream="cam", source="m", fps=10)
    mon = Monitor([Flicker(), Appear(min_duration=1.0, segment_gap=1.0)])
    peak = 0
    for _, part in obs.groupby("frame", sort=True):
        mon.update(part)
        peak = max(peak, len(mon._rows()))
    mon.close()
    assert peak < 5 * 60  # about 3 s of tracks at 10 fps, not 600 frames
    pd.testing.assert_frame_equal(canon(mon.findings_),
                                  canon(check(obs, [Flicker(), Appear(min_duration=1.0, segment_gap=1.0)], stride=1)))


def test_empty_frames_and_order():
    mon = Monitor([Flicker()])
    obs = assay.as_observations(pd.DataFrame({"frame": [1], "cls": "car", "x1": 0.0, "y1": 0.0, "x2": 5.0, "y2": 5.0}),
                                stream="s", source="m", fps=1)
    assert mon.update(obs).empty  # not final until frame 2 is seen
    # frame 2 arrives empty: the box in frame 1 had no neighbour, and that is now final
    assert mon.update(obs.iloc[:0], stream="s", frame=2, time=1.0)["obs_ids"].tolist() == [[0]]
    with pytest.raises(InvalidParameterError, match="frame 2 arrived after frame 2"):
        mon.update(obs.iloc[:0], stream="s", frame=2, time=1.0)
    with pytest.raises(InvalidParameterError, match="needs stream=, frame= and time="):
        mon.update(obs.iloc[:0])
    assert mon.close().empty
    assert np.isclose(mon.findings_["severity"].iloc[0], 1.0)


def test_workspace_run(tmp_path):
    obs = assay.as_observations(pd.DataFrame({"frame": [1, 2, 3, 2], "cls": "car", "x1": [0.0, 0, 0, 300], "y1": 0.0,
                                              "x2": [9.0, 9, 9, 309], "y2": 9.0}), stream="s", source="m", fps=1)
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        mon = Monitor([Flicker()], workspace=ws)
        for _, part in obs.groupby("frame"):
            mon.update(part)
        mon.close()
        stored = ws.findings()
        assert stored["obs_ids"].tolist() == [[3]]
        assert ws.runs()["kind"].tolist() == ["monitor"]
