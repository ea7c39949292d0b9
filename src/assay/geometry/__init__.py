"""Vectorized intersection over union: 2-D image boxes and rotated boxes seen from above.

- :func:`iou_2d`, :func:`iou_2d_paired`: axis-aligned image boxes ``x1, y1, x2, y2``.
- :func:`iou_bev`, :func:`iou_bev_paired`: bird's-eye-view IoU of rotated 3-D boxes, given
  as ground-plane centre, length, width and yaw (``u, v, l, w, yaw``).

The plain names return the IoU of every pair (an ``(N, M)`` matrix); the ``_paired`` ones
pair box ``i`` of one input with box ``i`` of the other (an ``(N,)`` vector). They validate
their input; :mod:`assay.geometry.kernels` holds the same computations for input already
checked (and :class:`~assay.geometry.kernels.Boxes`, boxes as columns with their areas).

Examples
--------
>>> from assay.geometry import iou_2d
>>> iou_2d([[0, 0, 4, 4]], [[2, 2, 6, 6], [0, 0, 4, 4]]).round(4)
array([[0.1429, 1.    ]])
"""

from __future__ import annotations

from . import kernels
from .iou import iou_2d, iou_2d_paired, iou_bev, iou_bev_paired

__all__ = ["iou_2d", "iou_2d_paired", "iou_bev", "iou_bev_paired", "kernels"]
