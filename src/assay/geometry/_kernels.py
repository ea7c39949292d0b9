"""Vectorized IoU kernels. Private: callers pass validated float64 arrays.

2-D boxes are ``(N, 4)`` arrays ``x1, y1, x2, y2``. Bird's-eye-view boxes are ``(N, 5)``
arrays ``u, v, l, w, yaw`` (see :func:`assay.geometry.iou_bev` for the convention).

The pairwise 2-D kernel works on cache-sized tiles of the ``N x M`` matrix with a fixed set
of scratch buffers, so its speed does not fall off for large inputs. The bird's-eye-view
kernel moves box ``a`` into the frame of box ``b`` (where ``b`` is the axis-aligned
rectangle ``[-l/2, l/2] x [-w/2, w/2]``), clips it against ``b``'s four sides with
Sutherland-Hodgman, vectorized over pairs, and takes the shoelace area of what is left.
Polygons are complex arrays (``u + 1j * v``) of a fixed number of slots per pair; slots past
a polygon's vertex count repeat its first vertex, so a cyclic shift gives each edge's end
point and the padding adds only zero-length edges.
"""

from __future__ import annotations

import numpy as np

#: Elements per tile of the pairwise 2-D kernel (each scratch buffer is 8 x this in bytes).
TILE_2D = 16384
#: Pairs per chunk of the bird's-eye-view kernel.
CHUNK_BEV = 2048

_TINY = np.finfo(np.float64).tiny
# Corner signs of a rectangle, counter-clockwise: (+l, +w), (-l, +w), (-l, -w), (+l, -w).
_SIGN_L = np.array([1.0, -1.0, -1.0, 1.0])
_SIGN_W = np.array([1.0, 1.0, -1.0, -1.0])


def iou_2d_pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): an (N, M) array."""
    n, m = len(a), len(b)
    out = np.empty((n, m), dtype=np.float64)
    if n == 0 or m == 0:
        return out
    # Rows of a as column vectors, columns of b as contiguous rows: the inner loop of every
    # broadcast runs over contiguous memory.
    ax1, ay1, ax2, ay2 = (np.ascontiguousarray(a[:, k])[:, None] for k in range(4))
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[:, k]) for k in range(4))
    area_a = (ax2 - ax1) * (ay2 - ay1)
    # `tiny` keeps the union positive when both boxes have zero area (IoU 0, not 0/0); it is
    # absorbed by any normal-sized area, so it changes no other result.
    area_b = (bx2 - bx1) * (by2 - by1) + _TINY
    cols = min(m, TILE_2D)
    rows = max(1, TILE_2D // cols)
    s1 = np.empty((rows, cols))
    s2 = np.empty((rows, cols))
    s3 = np.empty((rows, cols))
    for c0 in range(0, m, cols):
        cs = slice(c0, min(m, c0 + cols))
        nc = cs.stop - c0
        for r0 in range(0, n, rows):
            rs = slice(r0, min(n, r0 + rows))
            nr = rs.stop - r0
            w, h, t = s1[:nr, :nc], s2[:nr, :nc], s3[:nr, :nc]
            np.minimum(ax2[rs], bx2[cs], out=w)
            np.maximum(ax1[rs], bx1[cs], out=t)
            np.subtract(w, t, out=w)
            np.maximum(w, 0.0, out=w)
            np.minimum(ay2[rs], by2[cs], out=h)
            np.maximum(ay1[rs], by1[cs], out=t)
            np.subtract(h, t, out=h)
            np.maximum(h, 0.0, out=h)
            np.multiply(w, h, out=w)  # intersection
            np.add(area_a[rs], area_b[cs], out=h)
            np.subtract(h, w, out=h)  # union
            np.divide(w, h, out=out[rs, cs])
    return out


def iou_2d_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``a[i]`` with ``b[i]`` for each ``i``: an (N,) array."""
    n = len(a)
    out = np.empty(n)
    size = max(1, min(n, TILE_2D))
    w, h, t, u = (np.empty(size) for _ in range(4))
    for c0 in range(0, n, size):
        rs = slice(c0, min(n, c0 + size))
        k = rs.stop - c0
        aa, bb = a[rs], b[rs]
        w_, h_, t_, u_ = w[:k], h[:k], t[:k], u[:k]
        np.minimum(aa[:, 2], bb[:, 2], out=w_)
        np.maximum(aa[:, 0], bb[:, 0], out=t_)
        np.subtract(w_, t_, out=w_)
        np.maximum(w_, 0.0, out=w_)
        np.minimum(aa[:, 3], bb[:, 3], out=h_)
        np.maximum(aa[:, 1], bb[:, 1], out=t_)
        np.subtract(h_, t_, out=h_)
        np.maximum(h_, 0.0, out=h_)
        np.multiply(w_, h_, out=w_)  # intersection
        np.subtract(aa[:, 2], aa[:, 0], out=h_)
        np.subtract(aa[:, 3], aa[:, 1], out=t_)
        np.multiply(h_, t_, out=u_)  # area of a
        np.subtract(bb[:, 2], bb[:, 0], out=h_)
        np.subtract(bb[:, 3], bb[:, 1], out=t_)
        np.multiply(h_, t_, out=h_)  # area of b
        h_ += _TINY
        u_ += h_
        u_ -= w_  # union
        np.divide(w_, u_, out=out[rs])
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
