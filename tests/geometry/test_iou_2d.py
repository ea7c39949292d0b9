"""2-D IoU: exact cases, agreement with a plain loop, tiling, errors, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from assay.exceptions import AssayError, InvalidParameterError
from assay.geometry import _kernels, iou_2d, iou_2d_paired


def loop_iou(a, b):
    """The textbook definition, one pair at a time."""
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(a):
        for j, (bx1, by1, bx2, by2) in enumerate(b):
            w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            h = max(0.0, min(ay2, by2) - max(ay1, by1))
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - w * h
            out[i, j] = w * h / union if union > 0 else 0.0
    return out


def random_boxes(rng, n, *, span=100.0, size=30.0):
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(0, size, (n, 2))
    return np.c_[xy, xy + wh]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 1 / 3),
        ([0, 0, 10, 10], [2, 2, 7, 7], 0.25),  # containment: 25 / 100
        ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),  # touching edges
        ([0, 0, 10, 10], [11, 11, 20, 20], 0.0),  # apart
        ([0, 0, 10, 10], [5, 5, 15, 15], 25 / 175),
        ([0, 0, 0, 10], [0, 0, 10, 10], 0.0),  # zero width
        ([3, 3, 3, 3], [3, 3, 3, 3], 0.0),  # two identical points: 0, not NaN
        ([0, 0, 10, 0], [0, 0, 10, 0], 0.0),  # two identical lines
    ],
)
def test_exact_cases(a, b, expected):
    got = iou_2d([a], [b])
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(expected, abs=1e-15)
    assert iou_2d_paired([a], [b])[0] == pytest.approx(expected, abs=1e-15)
    assert iou_2d([b], [a])[0, 0] == pytest.approx(expected, abs=1e-15)


def test_matches_loop_on_random_boxes():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 40), random_boxes(rng, 55)
    a[:3, 2] = a[:3, 0]  # some zero-area boxes
    np.testing.assert_allclose(iou_2d(a, b), loop_iou(a, b), rtol=0, atol=1e-14)
    np.testing.assert_allclose(iou_2d_paired(a, b[:40]), np.diag(loop_iou(a, b[:40])), atol=1e-14)


@pytest.mark.parametrize("tile", [1, 7, 64, 1000])
def test_tiling_does_not_change_results(monkeypatch, tile):
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 37), random_boxes(rng, 23)
    expected = iou_2d(a, b)
    monkeypatch.setattr(_kernels, "TILE_2D", tile)
    np.testing.assert_array_equal(iou_2d(a, b), expected)


def test_more_columns_than_one_tile():
    rng = np.random.default_rng(2)
    a, b = random_boxes(rng, 3), random_boxes(rng, _kernels.TILE_2D + 123)
    np.testing.assert_allclose(iou_2d(a, b), loop_iou(a, b), atol=1e-14)


@pytest.mark.parametrize(("n", "m"), [(0, 0), (0, 3), (3, 0)])
def test_empty_inputs(n, m):
    rng = np.random.default_rng(3)
    out = iou_2d(random_boxes(rng, n), random_boxes(rng, m))
    assert out.shape == (n, m) and out.dtype == np.float64
    assert iou_2d([], []).shape == (0, 0)
    assert iou_2d_paired(np.empty((0, 4)), np.empty((0, 4))).shape == (0,)


def test_accepts_lists_ints_and_float32():
    ints = iou_2d([[0, 0, 2, 2]], [[1, 1, 3, 3]])
    f32 = iou_2d(np.array([[0, 0, 2, 2]], np.float32), np.array([[1, 1, 3, 3]], np.float32))
    assert ints.dtype == f32.dtype == np.float64
    assert ints[0, 0] == f32[0, 0] == pytest.approx(1 / 7)


@pytest.mark.parametrize(
    ("a", "message"),
    [
        (np.zeros((2, 5)), "The 'a' parameter of iou_2d must be an array of shape (N, 4) with "
         "columns x1, y1, x2, y2. Got shape (2, 5)."),
        ([0, 0, 1, 1], "Got shape (4,) (for one box, pass [box])."),
        (np.zeros((2, 2, 4)), "Got shape (2, 2, 4)."),
        ([[0, 0, 1, np.nan]], "The 'a' parameter of iou_2d must hold finite numbers. Got nan in "
         "row 0 (column y2)."),
        ([[0, 0, 1, 1], [np.inf, 0, 1, 1]], "Got inf in row 1 (column x1)."),
        ([[0, 0, 1, 1], [5, 0, 1, 1]], "The 'a' parameter of iou_2d must have x2 >= x1 and "
         "y2 >= y1 (boxes are x1, y1, x2, y2, not x, y, width, height). Got row 1: "
         "[5.0, 0.0, 1.0, 1.0]."),
        ([[0, 3, 1, 1]], "Got row 0: [0.0, 3.0, 1.0, 1.0]."),
        ([["a", "b", "c", "d"]], "Got a value that is not numeric"),
    ],
)
def test_bad_boxes_are_named(a, message):
    with pytest.raises(InvalidParameterError) as info:
        iou_2d(a, [[0, 0, 1, 1]])
    assert message in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AssayError)


def test_bad_b_is_named():
    with pytest.raises(InvalidParameterError, match=r"The 'b' parameter of iou_2d_paired"):
        iou_2d_paired([[0, 0, 1, 1]], [[1, 0, 0, 1]])


def test_paired_lengths_must_match():
    with pytest.raises(InvalidParameterError) as info:
        iou_2d_paired(np.zeros((2, 4)), np.zeros((3, 4)))
    assert str(info.value) == (
        "The 'a' and 'b' parameters of iou_2d_paired must hold the same number of boxes "
        "(box i of a is paired with box i of b). Got 2 and 3; use iou_2d for every pair."
    )


# --- properties -----------------------------------------------------------------------------

coord = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
size = st.one_of(st.just(0.0), st.floats(0.01, 200.0))


@st.composite
def boxes(draw):
    k = draw(st.integers(1, 6))
    xy = draw(arrays(np.float64, (k, 2), elements=coord))
    wh = draw(arrays(np.float64, (k, 2), elements=size))
    return np.c_[xy, xy + wh]


@settings(max_examples=200, deadline=None)
@given(boxes(), boxes())
def test_symmetric_and_bounded(a, b):
    ab, ba = iou_2d(a, b), iou_2d(b, a)
    np.testing.assert_array_equal(ab, ba.T)
    assert np.all((ab >= 0) & (ab <= 1))
    assert not np.isnan(ab).any()
    np.testing.assert_allclose(ab, loop_iou(a, b), atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(boxes())
def test_self_iou_is_one_for_boxes_with_area(a):
    diag = iou_2d_paired(a, a)
    area = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    np.testing.assert_array_equal(diag, np.where(area > 0, 1.0, 0.0))


@settings(max_examples=200, deadline=None)
@given(boxes(), boxes(), st.floats(-500, 500), st.floats(-500, 500))
def test_translation_invariant(a, b, dx, dy):
    shift = np.array([dx, dy, dx, dy])
    shifted = iou_2d(a + shift, b + shift)
    # Far from the origin a very thin box loses digits of its width to rounding: compare
    # where both boxes keep at least 1e-3 of width and height.
    big = lambda x: np.minimum(x[:, 2] - x[:, 0], x[:, 3] - x[:, 1]) > 1e-3  # noqa: E731
    ok = big(a)[:, None] & big(b)[None, :]
    np.testing.assert_allclose(shifted[ok], iou_2d(a, b)[ok], atol=1e-9)
