"""Vectorized IoU kernels for trusted input: callers pass valid float64 boxes.

:mod:`assay.geometry.iou` validates and calls these; assay's own components (assertions,
tracking, audits, learned features) call them directly on boxes they have already checked.

2-D boxes are ``(N, 4)`` arrays ``x1, y1, x2, y2``, or :class:`Boxes` (the same as columns,
with their areas). Every 2-D IoU, pairwise, paired or gathered by index, is computed by one
function, :func:`iou_2d_into`, so they agree bit for bit. The pairwise kernel works on
cache-sized tiles of the ``N x M`` matrix with a fixed set of scratch buffers, so its speed
does not fall off for large inputs.

Bird's-eye-view boxes are ``(N, 5)`` arrays ``u, v, l, w, yaw`` (see
:func:`assay.geometry.iou_bev` for the convention). The bird's-eye-view kernel moves box ``a``
into the frame of box ``b`` (where ``b`` is the axis-aligned rectangle ``[-l/2, l/2] x
[-w/2, w/2]``), clips it against ``b``'s four sides with Sutherland-Hodgman, vectorized over
pairs, and takes the shoelace area of what is left. Polygons are complex arrays
(``u + 1j * v``) of a fixed number of slots per pair; slots past a polygon's vertex count
repeat its first vertex, so a cyclic shift gives each edge's end point and the padding adds
only zero-length edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = [
    "CHUNK_BEV",
    "TILE_2D",
    "TINY",
    "Boxes",
    "iou_2d_indexed",
    "iou_2d_into",
    "iou_2d_paired",
    "iou_2d_pairwise",
    "iou_bev_paired",
    "iou_bev_pairwise",
]

#: Elements per tile of the 2-D kernels (each scratch buffer is 8 x this in bytes).
TILE_2D = 16384
#: Pairs per chunk of the bird's-eye-view kernel.
CHUNK_BEV = 2048
#: Added to every box's area, so that the union of two boxes of zero area is not 0 (their
#: IoU is 0, not 0/0). Any area above about 1e-291 absorbs it: it changes no other IoU.
TINY = np.finfo(np.float64).tiny

# Corner signs of a rectangle, counter-clockwise: (+l, +w), (-l, +w), (-l, -w), (+l, -w).
_SIGN_L = np.array([1.0, -1.0, -1.0, 1.0])
_SIGN_W = np.array([1.0, 1.0, -1.0, -1.0])


def _area(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, out: np.ndarray | None = None,
          scratch: np.ndarray | None = None) -> np.ndarray:
    """``(x2 - x1) * (y2 - y1) + TINY``: the areas every 2-D IoU divides by."""
    out = np.subtract(x2, x1, out=out)
    out *= np.subtract(y2, y1, out=scratch)
    out += TINY
    return out


@dataclass(frozen=True)
class Boxes:
    """2-D boxes as contiguous columns ``x1, y1, x2, y2``, with their areas (plus :data:`TINY`).

    Gathering single columns is several times faster than gathering rows of an ``(N, 4)``
    array, and areas are computed once per box instead of once per pair.

    Examples
    --------
    >>> import numpy as np
    >>> from assay.geometry.kernels import Boxes, iou_2d_indexed
    >>> b = Boxes.from_array(np.array([[0.0, 0, 4, 4], [2, 2, 6, 6], [0, 0, 4, 4]]))
    >>> iou_2d_indexed(b, np.array([0, 0]), b, np.array([1, 2])).round(4)
    array([0.1429, 1.    ])
    """

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    area: np.ndarray

    @classmethod
    def of(cls, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> Boxes:
        """Boxes from four float64 columns (kept, not copied)."""
        return cls(x1, y1, x2, y2, _area(x1, y1, x2, y2))

    @classmethod
    def from_array(cls, boxes: np.ndarray) -> Boxes:
        """Boxes from an ``(N, 4)`` array ``x1, y1, x2, y2`` (columns copied to be contiguous)."""
        return cls.of(*(np.ascontiguousarray(boxes[:, k], dtype=np.float64) for k in range(4)))

    def __len__(self) -> int:
        return len(self.x1)

    def take(self, idx: np.ndarray | slice) -> Boxes:
        """The boxes at ``idx`` (index array or slice)."""
        return Boxes(*(_at(c, idx) for c in (self.x1, self.y1, self.x2, self.y2, self.area)))

    @cached_property
    def max_width(self) -> float:
        """The largest ``x2 - x1`` (0 for no boxes)."""
        return float((self.x2 - self.x1).max()) if len(self) else 0.0


def _at(values: np.ndarray, idx: np.ndarray | slice) -> np.ndarray:
    """``values[idx]``: ``np.take`` gathers faster than fancy indexing."""
    return values[idx] if isinstance(idx, slice) else np.take(values, idx)


def iou_2d_into(
    out: np.ndarray, h: np.ndarray, t: np.ndarray,
    ax1: np.ndarray, ay1: np.ndarray, ax2: np.ndarray, ay2: np.ndarray, a_area: np.ndarray,
    bx1: np.ndarray, by1: np.ndarray, bx2: np.ndarray, by2: np.ndarray, b_area: np.ndarray,
) -> np.ndarray:
    """The one 2-D IoU computation: IoU of boxes ``a`` with boxes ``b``, written to ``out``.

    Arguments broadcast to ``out``'s shape (pair by pair, or a column of ``a`` against a row
    of ``b`` for a tile of all pairs); ``h`` and ``t`` are scratch arrays of that shape;
    areas are as :class:`Boxes` holds them. IoU is of ``a`` with ``b``: in floating point it
    may differ in the last bit from the IoU of ``b`` with ``a``.
    """
    np.minimum(ax2, bx2, out=out)
    np.maximum(ax1, bx1, out=t)
    np.subtract(out, t, out=out)
    np.maximum(out, 0.0, out=out)
    np.minimum(ay2, by2, out=h)
    np.maximum(ay1, by1, out=t)
    np.subtract(h, t, out=h)
    np.maximum(h, 0.0, out=h)
    np.multiply(out, h, out=out)  # intersection
    np.add(a_area, b_area, out=h)
    np.subtract(h, out, out=h)  # union
    return np.divide(out, h, out=out)


def iou_2d_indexed(a: Boxes, ia: np.ndarray | slice, b: Boxes, ib: np.ndarray | slice) -> np.ndarray:
    """IoU of ``a[ia[k]]`` with ``b[ib[k]]`` for each ``k``: an array as long as the index."""
    ga = [_at(c, ia) for c in (a.x1, a.y1, a.x2, a.y2, a.area)]
    gb = [_at(c, ib) for c in (b.x1, b.y1, b.x2, b.y2, b.area)]
    if isinstance(ia, slice):  # views of a's columns: compute in new arrays
        n = len(ga[0])
        return iou_2d_into(np.empty(n), np.empty(n), np.empty(n), *ga, *gb)
    # gathered copies: each is read for the last time where it is first written (see the
    # order of iou_2d_into), so they serve as its output and scratch
    return iou_2d_into(ga[2], ga[3], ga[0], *ga, *gb)


def iou_2d_pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): an (N, M) array."""
    n, m = len(a), len(b)
    out = np.empty((n, m), dtype=np.float64)
    if n == 0 or m == 0:
        return out
    # Rows of a as column vectors, columns of b as contiguous rows: the inner loop of every
    # broadcast runs over contiguous memory.
    ba = Boxes.from_array(a)
    bb = Boxes.from_array(b)
    acols = [c[:, None] for c in (ba.x1, ba.y1, ba.x2, ba.y2, ba.area)]
    bcols = (bb.x1, bb.y1, bb.x2, bb.y2, bb.area)
    cols = min(m, TILE_2D)
    rows = max(1, TILE_2D // cols)
    s1 = np.empty((rows, cols))
    s2 = np.empty((rows, cols))
    for c0 in range(0, m, cols):
        cs = slice(c0, min(m, c0 + cols))
        nc = cs.stop - c0
        bt = [c[cs] for c in bcols]
        for r0 in range(0, n, rows):
            rs = slice(r0, min(n, r0 + rows))
            nr = rs.stop - r0
            iou_2d_into(out[rs, cs], s1[:nr, :nc], s2[:nr, :nc], *(c[rs] for c in acols), *bt)
    return out


def iou_2d_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``a[i]`` with ``b[i]`` for each ``i`` (``a``, ``b``: (N, 4)): an (N,) array."""
    n = len(a)
    out = np.empty(n)
    size = max(1, min(n, TILE_2D))
    h, t, u, v = (np.empty(size) for _ in range(4))
    for c0 in range(0, n, size):
        rs = slice(c0, min(n, c0 + size))
        k = rs.stop - c0
        aa, bb = a[rs], b[rs]
        h_, t_, u_, v_ = h[:k], t[:k], u[:k], v[:k]
        _area(aa[:, 0], aa[:, 1], aa[:, 2], aa[:, 3], out=u_, scratch=t_)
        _area(bb[:, 0], bb[:, 1], bb[:, 2], bb[:, 3], out=v_, scratch=t_)
        iou_2d_into(out[rs], h_, t_, aa[:, 0], aa[:, 1], aa[:, 2], aa[:, 3], u_,
                    bb[:, 0], bb[:, 1], bb[:, 2], bb[:, 3], v_)
    return out


# For a polygon of k slots: each slot's next slot (cyclically), and the slot numbers. Four
# clips of a quadrilateral at most double the slots each time: 64 at most.
_NEXT = [np.roll(np.arange(k), -1) for k in range(65)]
_SLOTS = [np.arange(k) for k in range(65)]


def _clip(
    z: np.ndarray, n: np.ndarray, d: np.ndarray, on_u: bool, bound: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clip polygons ``z`` (P, K complex; ``n`` vertices each) to the half-plane ``d >= 0``.

    ``d`` is the signed distance of each vertex to the clipping line ``u = bound`` (when
    ``on_u``) or ``v = bound``; crossing points are put exactly on that line.
    """
    p, k = z.shape
    nxt = _NEXT[k]
    inside = d >= 0.0
    valid = _SLOTS[k] < n[:, None]
    keep = inside & valid
    cross = (inside != inside[:, nxt]) & valid
    # A crossing edge has one end strictly outside, so d differs at its two ends.
    denom = d - d[:, nxt]
    denom[~cross] = 1.0
    t = d / denom
    cand = np.empty((p, k, 2), dtype=np.complex128)
    cand[:, :, 0] = z
    hit = cand[:, :, 1]
    np.multiply(t, z[:, nxt] - z, out=hit)
    hit += z
    if on_u:
        hit.real[...] = bound[:, None]
    else:
        hit.imag[...] = bound[:, None]
    emit = np.empty((p, k, 2), dtype=bool)
    emit[:, :, 0] = keep
    emit[:, :, 1] = cross
    emit = emit.reshape(p, 2 * k)
    # Stable compaction of the emitted points to the front of each row: scatter them to
    # their rank; the rest go to a spare last slot that is then dropped.
    pos = np.cumsum(emit, axis=1)
    count = pos[:, -1].copy()
    k_new = int(count.max()) if p else 0
    width = k_new + 1
    pos -= 1
    pos[~emit] = k_new
    pos += (np.arange(p) * width)[:, None]
    out = np.zeros(p * width, dtype=np.complex128)
    out[pos.ravel()] = cand.ravel()
    out = out.reshape(p, width)[:, :k_new]
    if k_new:
        pad = _SLOTS[k_new] >= count[:, None]
        out = np.where(pad, out[:, :1], out)
    return out, count


def _intersection_bev(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Area of the intersection of rotated rectangles ``a[i]`` and ``b[i]``: (P,) array."""
    p = len(a)
    du = a[:, 0] - b[:, 0]
    dv = a[:, 1] - b[:, 1]
    cb = np.cos(b[:, 4])
    sb = np.sin(b[:, 4])
    centre = (cb * du + sb * dv) + 1j * (cb * dv - sb * du)
    turn = np.exp(1j * (a[:, 4] - b[:, 4]))
    corners = (0.5 * a[:, 2])[:, None] * _SIGN_L + 1j * ((0.5 * a[:, 3])[:, None] * _SIGN_W)
    z = centre[:, None] + turn[:, None] * corners
    n = np.full(p, 4)
    hl = 0.5 * b[:, 2]
    hw = 0.5 * b[:, 3]
    for on_u, sign in ((True, 1.0), (True, -1.0), (False, 1.0), (False, -1.0)):
        half = hl if on_u else hw
        coord = z.real if on_u else z.imag
        # Inside is sign * coord <= half: signed distance half - sign * coord.
        z, n = _clip(z, n, half[:, None] - sign * coord, on_u, sign * half)
        if z.shape[1] == 0:  # every polygon of the chunk is empty
            return np.zeros(p)
    nxt = _NEXT[z.shape[1]]
    area = 0.5 * (z.conj() * z[:, nxt]).imag.sum(axis=1)
    return np.where(n >= 3, area, 0.0)


def _may_overlap_bev(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """False where the circumscribed circles of the two boxes are apart (IoU is then 0)."""
    reach = 0.5 * (np.hypot(a[..., 2], a[..., 3]) + np.hypot(b[..., 2], b[..., 3]))
    return np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1]) <= reach


def iou_bev_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bird's-eye-view IoU of ``a[i]`` with ``b[i]``: an (N,) array."""
    out = np.zeros(len(a))
    (todo,) = np.nonzero(_may_overlap_bev(a, b) & (a[:, 2] * a[:, 3] > 0) & (b[:, 2] * b[:, 3] > 0))
    for c0 in range(0, len(todo), CHUNK_BEV):
        idx = todo[c0 : c0 + CHUNK_BEV]
        aa, bb = a[idx], b[idx]
        area_a = aa[:, 2] * aa[:, 3]
        area_b = bb[:, 2] * bb[:, 3]
        inter = np.clip(_intersection_bev(aa, bb), 0.0, np.minimum(area_a, area_b))
        out[idx] = np.minimum(inter / (area_a + area_b - inter), 1.0)
    return out


def iou_bev_pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bird's-eye-view IoU of every box of ``a`` with every box of ``b``: (N, M) array."""
    n, m = len(a), len(b)
    out = np.zeros((n, m))
    if n == 0 or m == 0:
        return out
    rows = max(1, TILE_2D // m)
    for r0 in range(0, n, rows):
        block = a[r0 : r0 + rows]
        near = _may_overlap_bev(block[:, None, :], b[None, :, :])
        i, j = np.nonzero(near)
        if i.size:
            out[r0 + i, j] = iou_bev_paired(block[i], b[j])
    return out
