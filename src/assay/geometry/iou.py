"""Intersection over union of 2-D image boxes and of rotated boxes seen from above.

All four functions compute in float64 and validate their input once, here; the kernels in
:mod:`assay.geometry.kernels` trust it.

Precision: 2-D IoU is exact up to a few units in the last place of float64 (relative error
about 1e-15). Bird's-eye-view IoU agrees with shapely's polygon overlay to about 1e-12 on
random and on deliberately degenerate boxes (shared edges, equal headings, touching); the
tests require 1e-9. A box of zero area has IoU 0 with every box, itself included: never
NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..exceptions import InvalidParameterError
from . import kernels

__all__ = ["iou_2d", "iou_2d_paired", "iou_bev", "iou_bev_paired"]

_COLUMNS_2D = ("x1", "y1", "x2", "y2")
_COLUMNS_BEV = ("u", "v", "l", "w", "yaw")


def _as_boxes(value: Any, name: str, caller: str, columns: tuple[str, ...]) -> np.ndarray:
    """``value`` as a C-contiguous float64 (N, k) array of valid boxes, or a clear error."""
    k = len(columns)
    layout = f"an array of shape (N, {k}) with columns {', '.join(columns)}"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller} must be {layout}. Got a value that is not "
            f"numeric: {exc}."
        ) from None
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, k)
    if arr.ndim != 2 or arr.shape[1] != k:
        hint = " (for one box, pass [box])" if arr.shape == (k,) else ""
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller} must be {layout}. Got shape {arr.shape}{hint}."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller} must hold finite numbers. Got "
            f"{float(arr[row, col])!r} in row {row} (column {columns[col]})."
        )
    if columns is _COLUMNS_2D:
        bad = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
        rule = "x2 >= x1 and y2 >= y1 (boxes are x1, y1, x2, y2, not x, y, width, height)"
    else:
        bad = (arr[:, 2] < 0) | (arr[:, 3] < 0)
        rule = "non-negative length l and width w"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller} must have {rule}. Got row {row}: "
            f"{arr[row].tolist()}."
        )
    return np.ascontiguousarray(arr)


def _check_paired(a: np.ndarray, b: np.ndarray, caller: str) -> None:
    if len(a) != len(b):
        raise InvalidParameterError(
            f"The 'a' and 'b' parameters of {caller} must hold the same number of boxes "
            f"(box i of a is paired with box i of b). Got {len(a)} and {len(b)}; use "
            f"{caller.removesuffix('_paired')} for every pair."
        )


def iou_2d(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """IoU of every 2-D box in ``a`` with every 2-D box in ``b``.

    Parameters
    ----------
    a : array_like of shape (N, 4)
        Boxes as ``x1, y1, x2, y2`` (pixels, ``x2 >= x1``, ``y2 >= y1``).
    b : array_like of shape (M, 4)
        Boxes in the same layout.

    Returns
    -------
    numpy.ndarray of shape (N, M), float64
        ``out[i, j]`` is the IoU of ``a[i]`` and ``b[j]``, in [0, 1]. Boxes of zero area
        have IoU 0 with everything.

    Raises
    ------
    InvalidParameterError
        If an input is not (N, 4), holds NaN or infinity, or has a box with ``x2 < x1`` or
        ``y2 < y1``.

    Notes
    -----
    Runs on one core at over 100 million pairs per second (float64, in tiles of 16k pairs
    that stay in cache); see ``benchmarks/bench_geometry.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from assay.geometry import iou_2d
    >>> a = np.array([[0, 0, 10, 10], [0, 0, 0, 5]])
    >>> b = np.array([[5, 0, 15, 10], [0, 0, 10, 10]])
    >>> iou_2d(a, b)
    array([[0.33333333, 1.        ],
           [0.        , 0.        ]])
    """
    a = _as_boxes(a, "a", "iou_2d", _COLUMNS_2D)
    b = _as_boxes(b, "b", "iou_2d", _COLUMNS_2D)
    return kernels.iou_2d_pairwise(a, b)


def iou_2d_paired(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """IoU of each 2-D box in ``a`` with the box at the same position in ``b``.

    Parameters
    ----------
    a, b : array_like of shape (N, 4)
        Boxes as ``x1, y1, x2, y2`` (pixels, ``x2 >= x1``, ``y2 >= y1``).

    Returns
    -------
    numpy.ndarray of shape (N,), float64
        ``out[i]`` is the IoU of ``a[i]`` and ``b[i]``, in [0, 1].

    Raises
    ------
    InvalidParameterError
        On a bad box (see :func:`iou_2d`) or if ``a`` and ``b`` differ in length.

    Examples
    --------
    >>> from assay.geometry import iou_2d_paired
    >>> iou_2d_paired([[0, 0, 2, 2], [0, 0, 1, 1]], [[1, 0, 3, 2], [5, 5, 6, 6]])
    array([0.33333333, 0.        ])
    """
    a = _as_boxes(a, "a", "iou_2d_paired", _COLUMNS_2D)
    b = _as_boxes(b, "b", "iou_2d_paired", _COLUMNS_2D)
    _check_paired(a, b, "iou_2d_paired")
    return kernels.iou_2d_paired(a, b)


def iou_bev(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Bird's-eye-view IoU of every rotated box in ``a`` with every one in ``b``.

    Parameters
    ----------
    a : array_like of shape (N, 5)
        Boxes as ``u, v, l, w, yaw`` (see below).
    b : array_like of shape (M, 5)
        Boxes in the same layout and frame.

    Returns
    -------
    numpy.ndarray of shape (N, M), float64
        ``out[i, j]`` is the area of the intersection of ``a[i]`` and ``b[j]`` seen from
        above over the area of their union, in [0, 1]. Boxes of zero area have IoU 0.

    Raises
    ------
    InvalidParameterError
        If an input is not (N, 5), holds NaN or infinity, or has a negative ``l`` or ``w``.

    Notes
    -----
    Each box is a rectangle on the ground plane given as ``u, v, l, w, yaw``: the centre
    ``(u, v)``, the length ``l`` along the heading, the width ``w`` across it, and the
    heading angle ``yaw`` in radians, measured from the ``u`` axis towards the ``v`` axis, so
    the heading is ``(cos yaw, sin yaw)``. Pass the two ground-plane coordinates of the
    box centre, in a frame that is right-handed when seen from above:

    - assay's canonical 3-D boxes (z-up ego frame, as the readers produce): columns
      ``x, y, l, w, yaw`` as they are;
    - LiDAR frames (x forward, y left, z up): ``x, y, l, w, yaw``;
    - raw KITTI camera coordinates (x right, y down, z forward, ``rot_y`` about y):
      ``x, z, l, w, -rot_y`` (rotation about an axis that points *down* turns the other
      way when seen from above).

    Height plays no part. Units are whatever the centres and sizes are in (metres).

    Pairs whose circumscribed circles are apart are skipped (IoU 0); the others are
    clipped as convex polygons (Sutherland-Hodgman, vectorized over pairs), more than ten
    times as fast as shapely's overlay of the same rectangles
    (``benchmarks/bench_geometry.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from assay.geometry import iou_bev
    >>> car = [0.0, 0.0, 4.0, 2.0, 0.0]
    >>> iou_bev([car], [car, [1.0, 0.0, 4.0, 2.0, 0.0], [0.0, 0.0, 4.0, 2.0, np.pi / 2]])
    array([[1.        , 0.6       , 0.33333333]])
    """
    a = _as_boxes(a, "a", "iou_bev", _COLUMNS_BEV)
    b = _as_boxes(b, "b", "iou_bev", _COLUMNS_BEV)
    return kernels.iou_bev_pairwise(a, b)


def iou_bev_paired(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Bird's-eye-view IoU of each rotated box in ``a`` with the box at the same position in ``b``.

    Parameters
    ----------
    a, b : array_like of shape (N, 5)
        Boxes as ``u, v, l, w, yaw`` in one frame; see :func:`iou_bev` for the
        convention.

    Returns
    -------
    numpy.ndarray of shape (N,), float64
        ``out[i]`` is the bird's-eye-view IoU of ``a[i]`` and ``b[i]``, in [0, 1].

    Raises
    ------
    InvalidParameterError
        On a bad box (see :func:`iou_bev`) or if ``a`` and ``b`` differ in length.

    Examples
    --------
    >>> import numpy as np
    >>> from assay.geometry import iou_bev_paired
    >>> a = [[0.0, 0.0, 2.0, 2.0, 0.0], [0.0, 0.0, 2.0, 2.0, 0.0]]
    >>> b = [[0.0, 0.0, 2.0, 2.0, np.pi / 4], [5.0, 5.0, 2.0, 2.0, 0.0]]
    >>> iou_bev_paired(a, b).round(6)
    array([0.707107, 0.      ])
    """
    a = _as_boxes(a, "a", "iou_bev_paired", _COLUMNS_BEV)
    b = _as_boxes(b, "b", "iou_bev_paired", _COLUMNS_BEV)
    _check_paired(a, b, "iou_bev_paired")
    return kernels.iou_bev_paired(a, b)

