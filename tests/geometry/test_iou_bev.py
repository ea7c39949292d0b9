"""Bird's-eye-view IoU: exact cases, shapely as the reference, conventions, errors."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from assay.exceptions import InvalidParameterError
from assay.geometry import _kernels, iou_2d, iou_bev, iou_bev_paired

SIGN_L = np.array([1.0, -1.0, -1.0, 1.0])
SIGN_W = np.array([1.0, 1.0, -1.0, -1.0])


def polygons(boxes):
    """Shapely rectangles for ``u, v, l, w, yaw`` boxes, built independently of assay."""
    boxes = np.asarray(boxes, float).reshape(-1, 5)
    c, s = np.cos(boxes[:, 4:5]), np.sin(boxes[:, 4:5])
    dl, dw = 0.5 * boxes[:, 2:3] * SIGN_L, 0.5 * boxes[:, 3:4] * SIGN_W
    u = boxes[:, 0:1] + c * dl - s * dw
    v = boxes[:, 1:2] + s * dl + c * dw
    return shapely.polygons(np.stack([u, v], axis=-1))


def shapely_iou_paired(a, b):
    pa, pb = polygons(a), polygons(b)
    inter = shapely.area(shapely.intersection(pa, pb))
    union = shapely.area(pa) + shapely.area(pb) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def random_boxes(rng, n, *, spread=4.0):
    return np.c_[
        rng.uniform(-spread, spread, (n, 2)),
        rng.uniform(0.2, 5.0, (n, 2)),
        rng.uniform(-np.pi, np.pi, n),
    ]


CAR = [0.0, 0.0, 4.0, 2.0, 0.0]


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (CAR, 1.0),
        ([1.0, 0.0, 4.0, 2.0, 0.0], 6 / 10),
        ([0.0, 1.0, 4.0, 2.0, 0.0], 4 / 12),
        ([0.0, 0.0, 4.0, 2.0, np.pi], 1.0),  # heading reversed: same rectangle
        ([0.0, 0.0, 2.0, 4.0, np.pi / 2], 1.0),  # l and w swapped, turned a quarter
        ([0.0, 0.0, 4.0, 2.0, np.pi / 2], 4 / 12),
        ([4.0, 0.0, 4.0, 2.0, 0.0], 0.0),  # touching ends
        ([10.0, 10.0, 4.0, 2.0, 0.3], 0.0),  # far apart
        ([0.0, 0.0, 0.0, 2.0, 0.0], 0.0),  # zero length
        ([0.0, 0.0, 2.0, 1.0, 0.2], 2 / 8),  # inside, turned
    ],
)
def test_exact_cases(b, expected):
    assert iou_bev([CAR], [b])[0, 0] == pytest.approx(expected, abs=1e-12)
    assert iou_bev([b], [CAR])[0, 0] == pytest.approx(expected, abs=1e-12)
    assert iou_bev_paired([CAR], [b])[0] == pytest.approx(expected, abs=1e-12)


def test_square_and_its_45_degree_turn():
    # The intersection is a regular octagon: 4 - 4 corners of (2 - sqrt 2)^2 / 2.
    inter = 4 - 2 * (2 - np.sqrt(2)) ** 2
    got = iou_bev_paired([[0, 0, 2, 2, 0]], [[0, 0, 2, 2, np.pi / 4]])[0]
    assert got == pytest.approx(inter / (8 - inter), abs=1e-14)


def test_zero_area_boxes_give_zero_not_nan():
    flat = [[0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 3.0, 0.0, 0.4]]
    out = iou_bev(flat, flat)
    np.testing.assert_array_equal(out, np.zeros((2, 2)))


def test_agrees_with_shapely_on_random_boxes():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 5000), random_boxes(rng, 5000)
    ours = iou_bev_paired(a, b)
    assert 0.3 < (ours > 0).mean() < 0.9  # a real mix of overlapping and apart pairs
    np.testing.assert_allclose(ours, shapely_iou_paired(a, b), rtol=0, atol=1e-9)


def test_pairwise_matches_paired_and_shapely():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 30, spread=8), random_boxes(rng, 45, spread=8)
    full = iou_bev(a, b)
    i, j = np.meshgrid(np.arange(30), np.arange(45), indexing="ij")
    np.testing.assert_array_equal(full, iou_bev_paired(a[i.ravel()], b[j.ravel()]).reshape(30, 45))
    np.testing.assert_allclose(
        full.ravel(), shapely_iou_paired(a[i.ravel()], b[j.ravel()]), atol=1e-9
    )


@pytest.mark.parametrize(("tile", "chunk"), [(1, 1), (5, 3), (64, 7)])
def test_chunking_does_not_change_results(monkeypatch, tile, chunk):
    rng = np.random.default_rng(2)
    a, b = random_boxes(rng, 20), random_boxes(rng, 17)
    expected = iou_bev(a, b)
    monkeypatch.setattr(_kernels, "TILE_2D", tile)
    monkeypatch.setattr(_kernels, "CHUNK_BEV", chunk)
    # Chunks pad polygons to their own widest one: only the summation order may change.
    np.testing.assert_allclose(iou_bev(a, b), expected, rtol=0, atol=1e-15)


def test_axis_aligned_boxes_match_2d_iou():
    rng = np.random.default_rng(3)
    a, b = random_boxes(rng, 50), random_boxes(rng, 60)
    a[:, 4] = 0.0
    b[:, 4] = np.pi / 2 * rng.integers(0, 4, 60)  # quarter turns keep boxes axis aligned
    b_lw = np.where((b[:, 4:5] / (np.pi / 2)).round() % 2 == 1, b[:, [3, 2]], b[:, [2, 3]])

    def corners(x, lw):
        return np.c_[x[:, :2] - lw / 2, x[:, :2] + lw / 2]

    expected = iou_2d(corners(a, a[:, 2:4]), corners(b, b_lw))
    np.testing.assert_allclose(iou_bev(a, b), expected, atol=1e-12)


def test_kitti_camera_and_ego_frames_agree():
    """The documented conventions: raw KITTI camera (x, z, -rot_y) and the z-up ego frame
    (x = z_cam, y = -x_cam, yaw = -rot_y - pi/2) are the same rectangles, turned."""
    rng = np.random.default_rng(4)
    n = 200
    x_cam, z_cam = rng.uniform(-5, 5, n), rng.uniform(5, 15, n)
    size = np.c_[rng.uniform(1, 5, n), rng.uniform(1, 2, n)]
    rot_y = rng.uniform(-np.pi, np.pi, n)
    camera = np.c_[x_cam, z_cam, size, -rot_y]
    ego = np.c_[z_cam, -x_cam, size, -rot_y - np.pi / 2]
    np.testing.assert_allclose(iou_bev(camera, camera[::-1]), iou_bev(ego, ego[::-1]), atol=1e-12)


@pytest.mark.parametrize(
    ("a", "message"),
    [
        (np.zeros((2, 4)), "The 'a' parameter of iou_bev must be an array of shape (N, 5) with "
         "columns u, v, l, w, yaw. Got shape (2, 4)."),
        ([[0, 0, 1, 1, np.nan]], "The 'a' parameter of iou_bev must hold finite numbers. Got nan "
         "in row 0 (column yaw)."),
        ([[0, 0, -1, 1, 0]], "The 'a' parameter of iou_bev must have non-negative length l and "
         "width w. Got row 0: [0.0, 0.0, -1.0, 1.0, 0.0]."),
    ],
)
def test_bad_boxes_are_named(a, message):
    with pytest.raises(InvalidParameterError) as info:
        iou_bev(a, [CAR])
    assert message in str(info.value)


def test_paired_lengths_must_match():
    with pytest.raises(InvalidParameterError, match="Got 1 and 2; use iou_bev for every pair"):
        iou_bev_paired([CAR], [CAR, CAR])


def test_empty_inputs():
    assert iou_bev(np.empty((0, 5)), [CAR]).shape == (0, 1)
    assert iou_bev([CAR], []).shape == (1, 0)
    assert iou_bev_paired([], []).shape == (0,)


# --- properties -----------------------------------------------------------------------------

# Round numbers and shared headings are where clipping code breaks (collinear edges, corners
# on edges, touching boxes), so they are drawn often.
centre = st.one_of(st.integers(-6, 6).map(float), st.floats(-6, 6))
length = st.one_of(st.just(0.0), st.integers(1, 6).map(float), st.floats(0.05, 8))
heading = st.one_of(
    st.sampled_from([0.0, np.pi / 2, np.pi / 4, -np.pi / 2, np.pi, 0.3]),
    st.floats(-2 * np.pi, 2 * np.pi),
)


@st.composite
def bev_boxes(draw):
    k = draw(st.integers(1, 5))
    uv = draw(arrays(np.float64, (k, 2), elements=centre))
    lw = draw(arrays(np.float64, (k, 2), elements=length))
    yaw = draw(arrays(np.float64, (k,), elements=heading))
    return np.c_[uv, lw, yaw]


@settings(max_examples=300, deadline=None)
@given(bev_boxes(), bev_boxes())
def test_agrees_with_shapely_symmetric_bounded(a, b):
    ab = iou_bev(a, b)
    assert np.all((ab >= 0) & (ab <= 1)) and not np.isnan(ab).any()
    np.testing.assert_allclose(ab, iou_bev(b, a).T, atol=1e-12)
    i, j = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
    reference = shapely_iou_paired(a[i.ravel()], b[j.ravel()]).reshape(ab.shape)
    np.testing.assert_allclose(ab, reference, rtol=0, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(bev_boxes())
def test_self_iou_is_one(a):
    area = a[:, 2] * a[:, 3]
    np.testing.assert_allclose(iou_bev_paired(a, a), np.where(area > 0, 1.0, 0.0), atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(bev_boxes(), bev_boxes(), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), heading)
def test_rigid_motion_invariant(a, b, du, dv, turn):
    """Moving and turning both boxes together does not change their IoU."""

    def move(x):
        c, s = np.cos(turn), np.sin(turn)
        u = c * x[:, 0] - s * x[:, 1] + du
        v = s * x[:, 0] + c * x[:, 1] + dv
        return np.c_[u, v, x[:, 2], x[:, 3], x[:, 4] + turn]

    np.testing.assert_allclose(iou_bev(move(a), move(b)), iou_bev(a, b), atol=1e-9)
