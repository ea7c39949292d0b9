"""frame_counts: one record per frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.approx import frame_counts
from assay.exceptions import InvalidParameterError


def test_counts_frames_seen_by_any_table_sorted():
    a = pd.DataFrame({"stream": ["s2", "s1", "s1", "s1"], "frame": [5, 3, 1, 3]}, index=[9, 8, 7, 6])
    b = pd.DataFrame({"stream": ["s1", "s2"], "frame": [2, 5]})
    rec = frame_counts(a=a, b=b)
    assert rec[["stream", "frame"]].values.tolist() == [["s1", 1], ["s1", 2], ["s1", 3], ["s2", 5]]
    assert rec["a"].tolist() == [1, 0, 2, 1] and rec["b"].tolist() == [0, 1, 0, 1]
    assert rec["id"].tolist() == [0, 1, 2, 3] and rec["a"].dtype == np.int64


def test_listed_frames_include_empty_ones_once():
    a = pd.DataFrame({"stream": pd.array(["s"], dtype="string[pyarrow]"), "frame": [2]})
    frames = pd.DataFrame({"stream": "s", "frame": [3, 1, 2, 2]})
    rec = frame_counts(frames, a=a)
    assert rec["frame"].tolist() == [1, 2, 3] and rec["a"].tolist() == [0, 1, 0]


def test_empty_table_counts_zero():
    empty = pd.DataFrame({"stream": pd.Series([], dtype=object), "frame": pd.Series([], dtype=int)})
    rec = frame_counts(pd.DataFrame({"stream": "s", "frame": [1, 2]}), a=empty)
    assert rec["a"].tolist() == [0, 0]


@pytest.mark.parametrize("call,message", [
    (lambda t: frame_counts(), "needs at least one table"),
    (lambda t: frame_counts(a=t.drop(columns="frame")), "a has no column 'frame'"),
    (lambda t: frame_counts(a=[1, 2]), "a must be a DataFrame, got list"),
    (lambda t: frame_counts(id=t), "'id' is a column of the result"),
    (lambda t: frame_counts(pd.DataFrame({"stream": "s", "frame": [1]}), a=t),
     "a has rows in stream 's', frame 2, which frames does not list"),
])
def test_bad_input_is_named(call, message):
    t = pd.DataFrame({"stream": ["s", "s"], "frame": [1, 2]})
    with pytest.raises(InvalidParameterError, match=message):
        call(t)
