"""associate: hand-made sequences with known tracks, table handling, parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InvalidParameterError, SchemaError
from assay.geometry import iou_2d
from assay.tables import as_observations
from assay.tracking import associate, identity_purity


def observations(rows, *, fps=10.0, stream="cam", source="labels", **extra):
    """Observations from (frame, object, x1, y1, x2, y2[, cls]) tuples; ``object`` is kept
    as the column ``truth``."""
    df = pd.DataFrame(
        [r if len(r) == 7 else (*r, "person") for r in rows],
        columns=["frame", "truth", "x1", "y1", "x2", "y2", "cls"],
    )
    for k, v in extra.items():
        df[k] = v
    return as_observations(df, stream=stream, source=source, fps=fps)


def same_partition(a, b) -> bool:
    """Whether two labelings group the rows the same way, whatever the label values."""
    return identity_purity(a, b) == 1.0 and identity_purity(b, a) == 1.0


def walkers(n_frames=28, *, speed=4.0, dy=4.0):
    """Two people walking towards each other along nearly the same line (boxes 20 px wide,
    ``speed`` px per frame); they cross after 14 frames, where their boxes overlap almost
    completely."""
    rows = []
    for f in range(n_frames):
        rows.append((f, "A", speed * f, 0.0, speed * f + 20, 40.0))
        rows.append((f, "B", 110 - speed * f, dy, 130 - speed * f, 40.0 + dy))
    return rows


def test_two_people_crossing_keep_their_ids():
    obs = observations(walkers())
    at_crossing = obs[obs["frame"] == 14][["x1", "y1", "x2", "y2"]].to_numpy()
    assert iou_2d(at_crossing[:1], at_crossing[1:])[0, 0] > 0.6  # hard: they nearly coincide
    out = associate(obs)
    assert same_partition(out["track"], obs["truth"])
    assert out["track"].nunique() == 2


def test_a_miss_within_max_gap_keeps_the_track_and_a_longer_one_does_not():
    rows = [(f, "A", 2.0 * f, 0.0, 2.0 * f + 20, 40.0) for f in range(20) if not 5 <= f < 12]
    obs = observations(rows, fps=10.0)  # missing for 0.7 s
    assert associate(obs, max_gap=1.0)["track"].nunique() == 1
    out = associate(obs, max_gap=0.5)
    assert out["track"].nunique() == 2
    assert (out["track"][out["frame"] >= 12] != out["track"].iloc[0]).all()


def test_gap_of_exactly_max_gap_seconds_is_bridged():
    obs = observations([(0, "A", 0, 0, 10, 10), (7, "A", 0, 0, 10, 10)], fps=7.0)
    assert associate(obs, max_gap=1.0)["track"].nunique() == 1
    assert associate(obs, max_gap=0.99)["track"].nunique() == 2


def test_constant_velocity_bridges_a_gap_that_the_last_box_alone_cannot():
    # 5 px per frame, 20 px wide boxes, missing for 4 frames: the last box is 25 px behind.
    rows = [(f, "A", 5.0 * f, 0.0, 5.0 * f + 20, 40.0) for f in range(12) if not 3 <= f < 7]
    obs = observations(rows)
    assert associate(obs, motion="constant_velocity")["track"].nunique() == 1
    assert associate(obs, motion="none")["track"].nunique() == 2


def test_growing_box_extrapolated_far_stays_valid():
    # A box shrinking fast, then missing: extrapolation would turn it inside out.
    rows = [(0, "A", 0, 0, 100, 100), (1, "A", 40, 40, 60, 60), (9, "A", 40, 40, 60, 60)]
    out = associate(observations(rows), max_gap=5.0)
    assert out["track"].notna().all()


def test_frame_stride_does_not_matter_only_time():
    rows = [(5 * f, "A", 2.0 * f, 0.0, 2.0 * f + 20, 40.0) for f in range(10)]
    obs = observations(rows, fps=50.0)  # 0.1 s between observations
    assert associate(obs, max_gap=0.15)["track"].nunique() == 1
    assert associate(obs, max_gap=0.05)["track"].nunique() == 10


def test_class_aware_never_links_different_classes():
    rows = [(0, "A", 0, 0, 10, 10, "car"), (1, "A", 0, 0, 10, 10, "truck"),
            (2, "A", 0, 0, 10, 10, "car")]
    obs = observations(rows)
    aware = associate(obs)["track"].tolist()
    assert aware[0] == aware[2] != aware[1]  # the car track waits out the truck frame
    assert associate(obs, class_aware=False)["track"].nunique() == 1


def test_hungarian_matches_more_pairs_than_greedy():
    # Frame 0: tracks T1 = [0, 10], T2 = [-2, 8]. Frame 1: O1 = [0.5, 10.5], O2 = [3, 13].
    # IoU: T1-O1 0.90, T1-O2 0.54, T2-O1 0.60, T2-O2 0.33. Greedy takes T1-O1 and leaves O2
    # without a track; the assignment takes T1-O2 and T2-O1.
    rows = [(0, "T1", 0, 0, 10, 10), (0, "T2", -2, 0, 8, 10),
            (1, "O1", 0.5, 0, 10.5, 10), (1, "O2", 3, 0, 13, 10)]
    out = associate(observations(rows), motion="none")
    t = dict(zip(out["truth"], out["track"], strict=True))
    assert (t["O1"], t["O2"]) == (t["T2"], t["T1"])


def test_iou_threshold_is_inclusive():
    # IoU of [0, 10] and [5, 15] (same height) is exactly 1/3.
    rows = [(0, "A", 0, 0, 10, 10), (1, "A", 5, 0, 15, 10)]
    obs = observations(rows)
    assert associate(obs, iou=1 / 3, motion="none")["track"].nunique() == 1
    assert associate(obs, iou=0.34, motion="none")["track"].nunique() == 2


def test_streams_and_sources_are_linked_separately_with_unique_ids():
    a = observations(walkers(4), stream="cam1")
    b = observations(walkers(4), stream="cam2")
    c = observations(walkers(4), stream="cam1", source="model:x")
    obs = pd.concat([a, b, c], ignore_index=True)
    obs["obs_id"] = np.arange(len(obs))
    out = associate(obs)
    assert out["track"].nunique() == 6
    key = out["stream"] + "/" + out["source"] + "/" + out["truth"]
    assert same_partition(out["track"], key)


def test_unsorted_rows_and_any_index_give_the_same_tracks():
    obs = observations(walkers())
    expected = associate(obs)["track"].to_numpy()
    perm = np.random.default_rng(0).permutation(len(obs))
    shuffled = obs.iloc[perm].copy()
    shuffled.index = [f"r{i}" for i in perm]
    out = associate(shuffled)
    assert list(out.index) == list(shuffled.index)
    assert same_partition(out["track"].to_numpy(), expected[perm])
    assert out["obs_id"].tolist() == shuffled["obs_id"].tolist()


def test_ids_count_from_zero_in_order_of_first_appearance():
    out = associate(observations(walkers(3)))
    assert out["track"].tolist() == [0, 1, 0, 1, 0, 1]


def test_output_is_a_canonical_copy():
    obs = observations(walkers(3))
    before = obs.copy()
    out = associate(obs)
    pd.testing.assert_frame_equal(obs, before)  # input untouched
    assert "track" not in obs.columns
    cols = list(out.columns)
    assert cols[cols.index("obs_id") + 1] == "track"
    assert out["track"].dtype == pd.Int64Dtype()
    assert "truth" in out.columns  # extra columns travel through


def test_empty_table():
    obs = observations(walkers(1)).iloc[:0]
    out = associate(obs)
    assert len(out) == 0 and out["track"].dtype == pd.Int64Dtype()


# --- existing track ids ---------------------------------------------------------------------


def test_full_existing_ids_are_kept():
    obs = observations(walkers(4))
    obs["track"] = pd.array([7, 9] * 4, dtype="Int64")
    pd.testing.assert_series_equal(associate(obs)["track"], obs["track"])
    relinked = associate(obs, keep_existing=False)["track"]
    assert set(relinked) == {0, 1}


def test_missing_ids_get_new_ids_that_do_not_collide():
    obs = observations(walkers(6))
    obs["track"] = pd.array([7, 9] * 3 + [None] * 6, dtype="Int64")  # frames 0-2 labelled
    out = associate(obs)
    assert out["track"].iloc[:6].tolist() == [7, 9] * 3
    new = out["track"].iloc[6:]
    assert new.notna().all() and new.min() >= 10 and new.nunique() == 2
    assert same_partition(new, obs["truth"].iloc[6:])


# --- boxes ------------------------------------------------------------------------------------


def bev_table(rows):
    """(frame, truth, x, y, l, w, yaw) rows as 3-D observations without 2-D boxes."""
    df = pd.DataFrame(rows, columns=["frame", "truth", "x", "y", "l", "w", "yaw"])
    df["z"], df["h"], df["cls"] = 0.0, 1.5, "Car"
    return as_observations(df, stream="drive", source="labels", fps=10)


def test_bird_eye_view_boxes_are_used_when_there_are_no_2d_boxes():
    # Two cars side by side, each driving 1 m per frame along its heading (yaw 0.5).
    heading = np.array([np.cos(0.5), np.sin(0.5)])
    rows = []
    for f in range(6):
        for name, offset in (("A", 0.0), ("B", 2.5)):
            x, y = f * heading + offset * np.array([-heading[1], heading[0]])
            rows.append((f, name, x, y, 4.0, 1.8, 0.5))
    obs = bev_table(rows)
    for box in ("auto", "bev"):
        out = associate(obs, box=box)
        assert same_partition(out["track"], obs["truth"]) and out["track"].nunique() == 2


def test_missing_box_is_an_error_naming_the_row():
    obs = bev_table([(0, "A", 0.0, 0.0, 4.0, 1.8, 0.0)])
    with pytest.raises(SchemaError) as info:
        associate(obs, box="2d")
    assert str(info.value) == (
        "associate(box='2d'): every observation to link needs a box, but the table has no "
        "2d box columns (x1, y1, x2, y2). Drop those rows, fill their boxes, or choose "
        "another box."
    )
    obs2 = observations(walkers(2))
    obs2.loc[2, ["x1", "y1", "x2", "y2"]] = np.nan
    with pytest.raises(SchemaError, match=r"row 2 has no 2d box \(x1, y1, x2, y2\) and the "
                       r"table has no bev box columns"):
        associate(obs2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"iou": 0}, "The 'iou' parameter of associate must be a float in (0, 1]. Got 0."),
        ({"iou": 1.5}, "The 'iou' parameter of associate must be a float in (0, 1]. Got 1.5."),
        ({"max_gap": 0.0}, "The 'max_gap' parameter of associate must be a float in (0, inf). "
         "Got 0.0."),
        ({"box": "3d"}, "The 'box' parameter of associate must be one of {'auto', '2d', "
         "'bev'}. Got '3d'."),
        ({"class_aware": 1}, "The 'class_aware' parameter of associate must be a bool. Got 1."),
        ({"motion": "kalman"}, "The 'motion' parameter of associate must be one of "
         "{'constant_velocity', 'none'}. Got 'kalman'."),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(InvalidParameterError) as info:
        associate(observations(walkers(2)), **kwargs)
    assert str(info.value) == message


def test_not_a_table():
    with pytest.raises(InvalidParameterError, match="The 'observations' parameter of associate "
                       "must be a pandas.DataFrame"):
        associate([[0, 0, 1, 1]])


def test_missing_box_names_the_callers_index():
    obs = observations(walkers(2))
    obs.loc[1, ["x1", "y1", "x2", "y2"]] = np.nan
    obs.index = ["a", "b", "c", "d"]
    with pytest.raises(SchemaError, match=r"row 1 \(index 'b'\) has no 2d box"):
        associate(obs, box="2d")
