"""Built-in assertions on small hand-made cases with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import (
    Appear,
    ClassSwitch,
    ConsistencyAssertion,
    Flicker,
    Flying,
    Gap,
    Multibox,
    NoRepeatedWords,
    OutputRange,
    TooFast,
    check,
)
from assay.exceptions import InvalidParameterError, SchemaError


def boxes(rows, *, fps=10.0, stream="cam"):
    """rows: (frame, x1, cls[, track]) with fixed-size 10x10 boxes at y=0."""
    df = pd.DataFrame(rows, columns=["frame", "x1", "cls", "track"][: len(rows[0])])
    df["y1"] = 0.0
    df["x2"] = df["x1"] + 10.0
    df["y2"] = 10.0
    df["score"] = 0.9
    return assay.as_observations(df, stream=stream, source="model", fps=fps)


def flagged(findings, name):
    return sorted(i for ids in findings.loc[findings.assertion == name, "obs_ids"] for i in ids)


class TestFlicker:
    def test_single_frame_box_is_flagged(self):
        obs = boxes([(1, 0.0, "car"), (2, 1.0, "car"), (3, 2.0, "car"), (2, 500.0, "car")])
        f = check(obs, [Flicker()])
        assert flagged(f, "flicker") == [3]
        ev = json.loads(f["evidence"].iloc[0])
        assert ev["iou_prev"] == 0.0 and ev["iou_next"] == 0.0
        assert json.loads(f["fix"].iloc[0]) == {"action": "remove", "obs_ids": [3]}

    def test_class_aware(self):
        # a car that is a truck in the middle frame: class-aware, nothing overlaps its own class
        obs = boxes([(1, 0.0, "car"), (2, 0.0, "truck"), (3, 0.0, "car")])
        assert flagged(check(obs, [Flicker()]), "flicker") == [0, 1, 2]
        assert flagged(check(obs, [Flicker(class_aware=False)]), "flicker") == []

    def test_stream_ends_use_the_side_that_exists(self):
        # a box in the first frame with a match in the next is fine; a lone box at the end is not
        obs = boxes([(1, 0.0, "car"), (2, 0.0, "car"), (2, 300.0, "car"), (3, 0.0, "car")])
        assert flagged(check(obs, [Flicker()]), "flicker") == [2]

    def test_empty_frame_between_counts_as_empty(self):
        # frames 1, 2 have the car; frame 3 has nothing (but frame 4 exists): frame 4's box flickers
        obs = boxes([(1, 0.0, "car"), (2, 0.0, "car"), (4, 0.0, "car"), (4, 100.0, "car"), (5, 100.0, "car")])
        assert flagged(check(obs, [Flicker()]), "flicker") == [2]

    def test_non_unit_stride(self):
        # every 5th frame: frames 10, 15, 20 are neighbours
        obs = boxes([(10, 0.0, "car"), (15, 1.0, "car"), (20, 2.0, "car"), (15, 400.0, "car")])
        assert flagged(check(obs, [Flicker()]), "flicker") == [3]
        # with stride 1 given explicitly, nothing has a neighbour frame
        assert flagged(check(obs, [Flicker()], stride=1), "flicker") == [0, 1, 2, 3]

    def test_unsorted_input_and_index_do_not_matter(self):
        obs = boxes([(1, 0.0, "car"), (2, 1.0, "car"), (3, 2.0, "car"), (2, 500.0, "car")])
        shuffled = obs.sample(frac=1.0, random_state=3)
        shuffled.index = [f"r{i}" for i in range(len(shuffled))]
        assert flagged(check(shuffled, [Flicker()]), "flicker") == [3]

    def test_rows_of_one_frame_apart_in_the_table(self):
        obs = boxes([(2, 500.0, "car"), (1, 0.0, "car"), (2, 1.0, "car"), (3, 2.0, "car"), (2, 600.0, "car")])
        assert flagged(check(obs, [Flicker()]), "flicker") == [0, 4]

    def test_missing_columns(self):
        obs = assay.as_observations(pd.DataFrame({"frame": [1], "cls": "car"}), stream="s", source="m", fps=1)
        with pytest.raises(SchemaError, match="assertion 'flicker' needs columns 'x1', 'y1', 'x2', 'y2'"):
            check(obs, [Flicker()])

    def test_bad_parameter(self):
        with pytest.raises(InvalidParameterError, match=r"The 'iou' parameter of Flicker must be a float in \(0, 1\]"):
            Flicker(iou=1.5)

    def test_streams_are_separate(self):
        a = boxes([(1, 0.0, "car"), (2, 0.0, "car")], stream="a")
        b = boxes([(2, 0.0, "car")], stream="b")
        b["obs_id"] += 10
        f = check(pd.concat([a, b], ignore_index=True), [Flicker()])
        assert flagged(f, "flicker") == []  # stream b has one frame: no neighbour known


class TestGap:
    def test_missing_middle_box_is_proposed(self):
        obs = boxes([(1, 0.0, "car", 4), (3, 2.0, "car", 4), (1, 200.0, "car", 5), (2, 201.0, "car", 5), (3, 202.0, "car", 5)])
        f = check(obs, [Gap()])
        assert len(f) == 1
        row = f.iloc[0]
        assert (row.frame_start, row.frame_end, row.obs_ids, row.track) == (1, 3, [0, 1], 4)
        fix = json.loads(row.fix)
        assert fix["action"] == "add" and fix["frame"] == 2 and fix["track"] == 4
        assert fix["x1"] == pytest.approx(1.0) and fix["x2"] == pytest.approx(11.0)

    def test_stride_two(self):
        obs = boxes([(0, 0.0, "car"), (4, 0.0, "car"), (2, 300.0, "car")])
        assert len(check(obs, [Gap()])) == 1          # stride 2: frame 2 is the middle
        assert len(check(obs, [Gap()], stride=1)) == 0  # stride 1: frames 0 and 4 are not t, t+2

    def test_apply_fix_fills_the_gap(self):
        obs = boxes([(1, 0.0, "car", 4), (3, 2.0, "car", 4)])
        # with only frames 1 and 3 the stride would be inferred as 2: state it
        fixed = assay.assertions.apply_fixes(obs, check(obs, [Gap()], stride=1))
        assert len(fixed) == 3
        new = fixed[fixed.frame == 2].iloc[0]
        assert new.source == "fix:gap" and new.fixed_by == "gap" and new.track == 4
        assert new.time == pytest.approx(0.2)
        assert len(check(fixed, [Gap()], stride=1)) == 0


class TestMultibox:
    def test_three_stacked_boxes(self):
        obs = boxes([(1, 0.0, "car"), (1, 1.0, "car"), (1, 2.0, "car"), (1, 100.0, "car"), (2, 0.0, "car")])
        f = check(obs, [Multibox()])
        assert len(f) == 1 and f.iloc[0].obs_ids == [0, 1, 2] and f.iloc[0].severity == 1.0

    def test_four_boxes_make_four_triples(self):
        obs = boxes([(1, float(i), "car") for i in range(4)])
        f = check(obs, [Multibox()])
        assert f.iloc[0].severity == 4.0 and f.iloc[0].obs_ids == [0, 1, 2, 3]

    def test_two_boxes_or_a_chain_are_fine(self):
        # a chain a-b-c where a and c do not overlap is not a triple
        obs = boxes([(1, 0.0, "car"), (1, 5.0, "car"), (1, 10.0, "car")])
        assert len(check(obs, [Multibox(iou=0.3)])) == 0

    def test_classes_filter(self):
        obs = boxes([(1, 0.0, "person"), (1, 1.0, "person"), (1, 2.0, "person")])
        assert len(check(obs, [Multibox(classes=["car"])])) == 0
        assert len(check(obs, [Multibox(classes=["person"])])) == 1


class TestConsistency:
    def test_class_switch_majority_and_fix(self):
        obs = boxes([(f, 0.0, c, 1) for f, c in enumerate(["car", "car", "truck", "car", "truck", "car"])])
        f = check(obs, [ClassSwitch()])
        row = f.iloc[0]
        assert row.obs_ids == [2, 4] and row.severity == 2.0 and row.track == 1
        assert json.loads(row.evidence)["majority"] == "car"
        fixed = assay.assertions.apply_fixes(obs, f)
        assert (fixed["cls"] == "car").all()

    def test_class_switch_tie_goes_to_the_class_seen_first(self):
        # a 2-2 tie: the track was a truck first, so the cars are flagged, whatever other
        # rows (here another stream, where cars come first) the table holds
        track = boxes([(f, 0.0, c, 1) for f, c in enumerate(["truck", "car", "car", "truck"])], stream="b")
        other = boxes([(f, 50.0, c, 2) for f, c in enumerate(["car", "van", "car"])], stream="a")
        other["obs_id"] += 10
        both = pd.concat([other, track], ignore_index=True)
        for table in (track, both):
            f = check(table, [ClassSwitch()])
            row = f[f.stream == "b"].iloc[0]
            assert row.obs_ids == [1, 2] and json.loads(row.fix)["values"] == {"cls": "truck"}
            assert list(json.loads(row.evidence)["counts"]) == ["truck", "car"]
        # first seen in the same frame: the alphabetically smallest
        same = boxes([(0, 0.0, "truck", 1), (0, 0.0, "car", 1), (1, 0.0, "truck", 1), (1, 0.0, "car", 1)])
        assert json.loads(check(same, [ClassSwitch()]).iloc[0].evidence)["majority"] == "car"

    def test_appear_short_tracks(self):
        # 10 fps: track 2 lasts 2 frames = 0.2 s; track 1 lasts 10 frames
        rows = [(f, 0.0, "car", 1) for f in range(10)] + [(4, 100.0, "car", 2), (5, 100.0, "car", 2)]
        obs = boxes(rows)
        f = check(obs, [Appear(min_duration=0.5)])
        assert len(f) == 1 and f.iloc[0].obs_ids == [10, 11]
        assert json.loads(f.iloc[0].evidence)["duration"] == pytest.approx(0.2)

    def test_appear_ignores_tracks_cut_by_the_stream(self):
        rows = [(f, 0.0, "car", 1) for f in range(10)] + [(0, 100.0, "car", 2), (9, 200.0, "car", 3)]
        assert len(check(boxes(rows), [Appear(min_duration=0.5)])) == 0
        assert len(check(boxes(rows), [Appear(min_duration=0.5, ignore_truncated=False)])) == 2

    def test_max_gap(self):
        # the entity vanishes for one frame (0.1 s) and comes back: a finding; a 3 s absence is not
        rows = [(0, 0.0, "car", 1), (1, 0.0, "car", 1), (3, 0.0, "car", 1), (40, 0.0, "car", 1)]
        f = check(boxes(rows), [ConsistencyAssertion(identifier="track", max_gap=1.0)])
        assert len(f) == 1 and (f.iloc[0].frame_start, f.iloc[0].frame_end) == (1, 3)
        assert json.loads(f.iloc[0].evidence)["missing_frames"] == 1

    def test_identifier_function_and_non_box_table(self):
        # e.g. a person's name read by OCR must keep one gender attribute
        df = pd.DataFrame({"frame": [0, 1, 2], "cls": "face", "name": ["Ann", "Ann", "Ann"],
                           "gender": ["f", "m", "f"]})
        obs = assay.as_observations(df, stream="tv", source="model", fps=1)
        a = ConsistencyAssertion(identifier=lambda t: t["name"], attributes=["gender"], name="gender")
        f = check(obs, [a])
        assert f.iloc[0].assertion == "gender" and f.iloc[0].obs_ids == [1]

    def test_needs_a_rule(self):
        with pytest.raises(InvalidParameterError, match="needs at least one rule"):
            ConsistencyAssertion(identifier="track")


class TestThreeD:
    def kitti_like(self, z, frames=None, xs=None):
        n = len(z)
        df = pd.DataFrame({
            "frame": frames or list(range(n)), "cls": "Car", "track": 1,
            "x": xs or [10.0] * n, "y": 0.0, "z": z, "l": 4.0, "w": 2.0, "h": 1.5, "yaw": 0.0,
        })
        return assay.as_observations(df, stream="drive", source="model", fps=10)

    def test_flying(self):
        obs = self.kitti_like([0.75, 12.0, 0.75])
        f = check(obs, [Flying(max_height=10.0)])
        assert f.iloc[0].obs_ids == [1] and f.iloc[0].severity == pytest.approx(12.0 - 0.75 - 10.0)

    def test_too_fast_uses_real_timestamps(self):
        # 1 m per frame at 10 Hz = 10 m/s; with a dropped frame the time gap is 0.2 s
        obs = self.kitti_like([0.0] * 4, frames=[0, 1, 3, 4], xs=[0.0, 1.0, 3.0, 63.0])
        f = check(obs, [TooFast(max_speed=20.0)])
        assert len(f) == 1 and f.iloc[0].obs_ids == [2, 3]
        assert json.loads(f.iloc[0].evidence)["speed"] == pytest.approx(600.0)
        assert len(check(obs, [TooFast(max_speed=601.0)])) == 0


class TestRows:
    def test_output_range_on_a_plain_table(self):
        table = pd.DataFrame({"id": [10, 11, 12], "predicted_price": [20.0, -3.5, 7.0]})
        f = check(table, [OutputRange(column="predicted_price", low=0.0)])
        assert f.iloc[0].obs_ids == [11] and f.iloc[0].severity == 3.5

    def test_no_repeated_words(self):
        table = pd.DataFrame({"tokens": [["a", "b"], ["the", "the", "cat", "cat", "cat"]]})
        f = check(table, [NoRepeatedWords()])
        assert f.iloc[0].severity == 3.0 and json.loads(f.iloc[0].evidence)["repeated"] == ["the", "cat", "cat"]

    def test_missing_outputs_are_not_errors(self):
        table = pd.DataFrame({"translation": pd.array(["a a b", None], dtype="string[pyarrow]")})
        assert check(table, [NoRepeatedWords(column="translation")])["obs_ids"].tolist() == [[0]]
        table = pd.DataFrame({"tokens": [["x", "x"], np.nan]})
        assert len(check(table, [NoRepeatedWords()])) == 1

    def test_missing_output_column(self):
        with pytest.raises(SchemaError, match="needs column 'price'"):
            check(pd.DataFrame({"x": [1]}), [OutputRange(column="price", low=0)])


def test_findings_schema_and_order():
    obs = boxes([(1, 0.0, "car"), (2, 500.0, "car"), (3, 0.0, "car"), (1, 900.0, "car")])
    f = check(obs, [Flicker(), Gap()])
    assert list(f.columns) == [*assay.tables.FINDING_COLUMNS, "priority"]
    assert (np.diff(f["priority"].to_numpy()) <= 0).all()
    pd.testing.assert_frame_equal(assay.validate(f, "findings"), f)
    # what each assertion found, in the order of run()
    for a in (Flicker(), Gap()):
        assert list(a.run(obs).columns) == list(assay.tables.FINDING_COLUMNS)


def test_check_rejects_non_assertions():
    with pytest.raises(InvalidParameterError, match="check takes Assertion objects"):
        check(boxes([(1, 0.0, "car")]), [lambda a, b: 0.0])
