"""The paper's API: point and temporal assertions written as plain Python functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import Frame, check, point_assertion, temporal_assertion
from assay.exceptions import InvalidParameterError


def obs3():
    df = pd.DataFrame({"frame": [1, 1, 2, 4, 4, 4], "cls": "car", "x1": np.arange(6.0) * 20,
                       "y1": 0.0, "x2": np.arange(6.0) * 20 + 10, "y2": 10.0,
                       "z": [0.5, 12.0, 0.5, 0.5, 0.5, 0.5], "h": 1.0,
                       "x": 0.0, "y": 0.0, "l": 4.0, "w": 2.0, "yaw": 0.0,
                       "score": [0.9, 0.2, 0.8, 0.7, 0.6, 0.5]})
    return assay.as_observations(df, stream="drive", source="model", fps=2)


def test_point_assertion_per_frame_float():
    seen = []

    @point_assertion
    def car_not_flying(frame, boxes):  # the paper's CarNotFlying
        seen.append((frame, len(boxes)))
        return float(sum(1 for box in boxes if box.z > 10))

    f = check(obs3(), [car_not_flying])
    assert seen == [(Frame("drive", 1, 0.5), 2), (Frame("drive", 2, 1.0), 1), (Frame("drive", 4, 2.0), 3)]
    assert len(f) == 1 and f.iloc[0].scope == "frame" and f.iloc[0].obs_ids == [0, 1]


def test_point_assertion_per_output_array():
    @point_assertion(name="low_score")
    def low(frame, outputs):
        return (outputs.score < 0.3).astype(float)

    f = check(obs3(), [low])
    assert f.iloc[0].scope == "obs" and f.iloc[0].obs_ids == [1] and f.iloc[0].assertion == "low_score"


def test_temporal_assertion_window_includes_empty_frames():
    windows = []

    @temporal_assertion(window=2)
    def count_change(frames, outputs):
        windows.append([(fr.frame, len(o)) for fr, o in zip(frames, outputs, strict=True)])
        return float(abs(len(outputs[-1]) - len(outputs[0])))

    f = check(obs3(), [count_change], stride=1)
    # frame 3 has no observations but is in the window of frame 4
    assert windows == [[(1, 2)], [(1, 2), (2, 1)], [(3, 0), (4, 3)]]
    assert f.set_index("frame_end")["severity"].to_dict() == {2: 1.0, 4: 3.0}
    assert set(f["scope"]) == {"window"}


def test_temporal_window_in_seconds():
    @temporal_assertion(window_seconds=1.0)
    def width(frames, outputs):
        return float(len(frames))

    f = check(obs3(), [width], stride=1)
    # 2 fps: a 1 s window holds 3 frame slots
    assert f.set_index("frame_end")["severity"].to_dict() == {1: 1.0, 2: 2.0, 4: 3.0}


def test_row_assertion_on_tabular_data():
    @point_assertion(unit="row", inputs=["rooms"], columns=["price"])
    def output_positive(features, price):  # the paper's OutputPositive
        return 1.0 if price < 0 else 0.0

    table = pd.DataFrame({"rooms": [3, 4, 5], "price": [10.0, -1.0, 3.0]})
    f = check(table, [output_positive])
    assert f.iloc[0].obs_ids == [1]


def test_bad_return_values():
    @point_assertion
    def negative(frame, outputs):
        return -1.0

    with pytest.raises(InvalidParameterError, match="returned -1.0; expected a finite float >= 0"):
        check(obs3(), [negative])

    @point_assertion
    def wrong_length(frame, outputs):
        return np.zeros(len(outputs) + 1)

    with pytest.raises(InvalidParameterError, match="expected a float, or one float per output"):
        check(obs3(), [wrong_length])


def test_decorator_arguments_are_checked():
    with pytest.raises(InvalidParameterError, match="exactly one of window="):
        temporal_assertion(lambda a, b: 0.0)
    with pytest.raises(InvalidParameterError, match="'unit' parameter"):
        point_assertion(lambda a, b: 0.0, unit="pixel")
