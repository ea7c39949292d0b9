"""Frame structure of an observations table: sorting, frame strides, and pairs of
observations in neighbouring frames, all vectorized. Boxes are
:class:`assay.geometry.kernels.Boxes`, their IoU :func:`assay.geometry.kernels.iou_2d_indexed`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .._arrays import unique_first
from ..geometry.kernels import Boxes, iou_2d_indexed


@dataclass(frozen=True)
class Layout:
    """Observations sorted by (stream, frame, obs_id), grouped into frames with integer slots.

    ``slot`` numbers the frames of a stream in steps of its stride (frames 10, 15, 25 with
    stride 5 are slots 0, 1, 3), so "the next frame" is ``slot + 1`` whether or not it has
    any observation. Arrays are per frame (one per distinct stream and slot, in order) or per
    stream code; the per-row arrays (``key``, ``stream_code``, ``slot``, ``frame``) are
    derived from them on first use.
    """

    order: np.ndarray          # positions in the original table, sorted
    streams: np.ndarray        # code -> name
    stride: np.ndarray         # per stream code
    last_slot: np.ndarray      # per stream code: last observed slot
    frame_keys: np.ndarray     # stream_code * 2**40 + slot: unique per frame, ascending
    frame_start: np.ndarray    # first sorted row of each frame
    frame_count: np.ndarray
    frame_stream: np.ndarray   # stream code of each frame
    table_frame: np.ndarray    # frame number of each row, in table order
    # by_x layouts: per sorted row, frame index * xspan + (x1 - xmin), ascending
    xkey: np.ndarray | None = None
    xmin: float = 0.0
    xspan: float = 0.0

    @cached_property
    def frame_slot(self) -> np.ndarray:
        """Slot of each frame."""
        return self.frame_keys - self.frame_stream * _SHIFT

    @cached_property
    def key(self) -> np.ndarray:
        """Per sorted row, its frame's key."""
        return np.repeat(self.frame_keys, self.frame_count)

    @cached_property
    def stream_code(self) -> np.ndarray:
        """Per sorted row, its stream code."""
        return np.repeat(self.frame_stream, self.frame_count)

    @cached_property
    def slot(self) -> np.ndarray:
        """Per sorted row, its frame slot."""
        return np.repeat(self.frame_slot, self.frame_count)

    @cached_property
    def frame(self) -> np.ndarray:
        """Per sorted row, its frame number."""
        return self.table_frame[self.order]

    def frame_offset(self, offset: int) -> np.ndarray:
        """Per frame, the index of the frame ``offset`` slots away in the same stream, or -1
        when that frame has no rows."""
        nk = len(self.frame_keys)
        target = self.frame_keys + offset
        pos = np.minimum(np.searchsorted(self.frame_keys, target), max(nk - 1, 0))
        return np.where(self.frame_keys[pos] == target, pos, -1) if nk else pos

    def known(self, offset: int) -> np.ndarray:
        """Per frame, whether the frame ``offset`` slots away lies within its stream's
        observed range (an unobserved frame inside the range is an empty frame; one outside
        it is unknown)."""
        slot = self.frame_slot + offset
        return (slot >= 0) & (slot <= self.last_slot[self.frame_stream])


_SHIFT = np.int64(2**40)


def factorize(values: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=sort)`` as int64 codes and an object array of uniques.

    A column of Arrow strings that comes in runs of equal values (rows grouped by stream, a
    single class) is factorized by its runs: one comparison of neighbouring values instead
    of hashing every row.
    """
    n = len(values)
    if n > 1 and isinstance(values.array, pd.arrays.ArrowExtensionArray):
        arr = values.array.__arrow_array__()
        if arr.null_count == 0:
            change = pc.not_equal(arr.slice(1), arr.slice(0, n - 1)).to_numpy(zero_copy_only=False)
            heads = np.flatnonzero(np.r_[True, change])
            if heads.size == 1:  # one value throughout
                return np.zeros(n, dtype=np.int64), np.asarray(values.iloc[:1], dtype=object)
            if heads.size * 8 <= n:
                codes, uniques = pd.factorize(values.iloc[heads], sort=sort)
                codes = np.repeat(codes.astype(np.int64), np.diff(np.r_[heads, n]))
                return codes, np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(values, sort=sort)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _strides(key: np.ndarray, n_streams: int) -> np.ndarray:
    """Per stream, the greatest common divisor of the gaps between its distinct frames (1 for
    a stream with a single frame), from the sorted distinct ``stream_code * 2**40 + frame``."""
    stride = np.ones(n_streams, dtype=np.int64)
    sc = key // _SHIFT
    fr = key % _SHIFT
    same = sc[1:] == sc[:-1]
    diffs = np.diff(fr)[same]
    codes = sc[1:][same]  # ascending
    if codes.size:
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        stride[codes[starts]] = np.gcd.reduceat(diffs, starts)
    return stride


@dataclass(frozen=True)
class StreamInfo:
    """What assertions need to know of each stream beyond the rows at hand.

    ``stride``: frames between consecutive frame slots; ``first`` / ``last``: the first and
    last frame of the stream (``last`` is None while a live stream goes on); ``period``:
    seconds per frame slot, from the stream's first two distinct frames (0 with one frame).
    A batch run derives it from all the data; a :class:`Monitor` keeps it as frames arrive,
    so both see the same values.
    """

    stride: dict
    first: dict
    last: dict
    period: dict

    def arrays(self, streams: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        big = np.iinfo(np.int64).max // 4
        stride = np.array([self.stride.get(s, 1) for s in streams], dtype=np.int64)
        first = np.array([self.first[s] for s in streams], dtype=np.int64)
        last = np.array([big if self.last.get(s) is None else self.last[s] for s in streams], dtype=np.int64)
        period = np.array([self.period.get(s, 0.0) for s in streams], dtype=np.float64)
        return stride, first, last, period


def stream_info(obs: pd.DataFrame, *, stride: int | dict | None = None) -> StreamInfo:
    """Stream facts of a whole table (strides inferred when not given)."""
    codes, streams = factorize(obs["stream"], sort=True)
    f = obs["frame"].to_numpy(dtype=np.int64)
    t = obs["time"].to_numpy(dtype=np.float64)
    n = len(streams)
    key, idx = unique_first(codes * _SHIFT + f)
    if stride is None:
        strides = _strides(key, n)
    elif isinstance(stride, dict):
        strides = np.array([int(stride.get(s, 1)) for s in streams], dtype=np.int64)
    else:
        strides = np.full(n, int(stride), dtype=np.int64)
    sc = key // _SHIFT
    fr = key % _SHIFT
    tt = t[idx]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]]) if key.size else np.array([], dtype=np.int64)
    ends = np.r_[starts[1:], len(key)] - 1 if key.size else np.array([], dtype=np.int64)
    info = StreamInfo({}, {}, {}, {})
    for c, lo, hi in zip(sc[starts], starts, ends, strict=True):
        name = streams[c]
        info.stride[name] = int(strides[c])
        info.first[name] = int(fr[lo])
        info.last[name] = int(fr[hi])
        info.period[name] = frame_period(fr[lo], tt[lo], fr[lo + 1], tt[lo + 1], int(strides[c])) if hi > lo else 0.0
    return info


def frame_period(f0: int, t0: float, f1: int, t1: float, stride: int) -> float:
    """Seconds per frame slot of a stream whose first two distinct frames are ``f0`` (at
    ``t0`` seconds) and ``f1`` (at ``t1``)."""
    return float((t1 - t0) / (f1 - f0) * stride)


def slots_within(seconds: float, period: float) -> int:
    """Whole frame slots of ``period`` seconds in ``seconds`` (0 when the period is unknown:
    a stream of one frame so far)."""
    if seconds <= 0 or period <= 0:
        return 0
    return int(np.floor(seconds / period + 1e-9))


def layout(obs: pd.DataFrame, info: StreamInfo, *, by_x: bool = False) -> Layout:
    """Sort observations and number their frame slots with the streams' facts.

    With ``by_x``, rows of a frame are ordered by their box's ``x1`` (then ``obs_id``), which
    :func:`x_windows` and :func:`x_candidates` use to pair only boxes whose x-ranges can
    overlap.
    """
    codes, streams = factorize(obs["stream"], sort=True)
    frame_all = obs["frame"].to_numpy(dtype=np.int64)
    oid = obs["obs_id"].to_numpy(dtype=np.int64)
    strides, first_frame, last_frame, _ = info.arrays(streams)
    # one int64 key per frame (stream, slot): fewer sort keys than (stream, frame)
    key_all = np.take(first_frame, codes)
    np.subtract(frame_all, key_all, out=key_all)
    if (strides != 1).any():
        key_all //= strides[codes]
    key_all += codes * _SHIFT
    n = key_all.size
    if n and _sorted_pairs(key_all, oid):  # readers and monitors deliver rows in this order
        order = None
        key = key_all
    else:
        if n and bool((oid[1:] > oid[:-1]).all()):
            # ids already ascend: a stable sort by frame alone gives (frame, obs_id) order,
            # and merges nearly sorted input fast
            order = np.argsort(key_all, kind="stable")
        else:
            order = np.lexsort((oid, key_all))
        key = key_all[order]
    new_frame = np.r_[True, key[1:] != key[:-1]] if n else np.zeros(0, dtype=bool)
    frame_start = np.flatnonzero(new_frame)
    frame_count = np.diff(np.r_[frame_start, n])
    frame_keys = key[frame_start]
    xkey, xmin, xspan = None, 0.0, 0.0
    if by_x and n:
        # within each frame, by x1 then obs_id: one stable sort of a single float key (a
        # three-key lexsort with a float key is ~15x slower on 10M rows); x_windows and
        # x_candidates search these very keys, so they are sorted exactly as searched
        x1 = obs["x1"].to_numpy(dtype=np.float64)
        x2 = obs["x2"].to_numpy(dtype=np.float64)
        xmin = float(x1.min())
        xspan = float(x2.max() - xmin + (x2 - x1).max() + 2.0)
        xk = np.repeat(np.arange(len(frame_keys)) * xspan, frame_count)
        xk += (x1 if order is None else x1[order]) - xmin
        # keys are >= 0: as int64 their bits sort alike, and a stable sort of int64 is faster
        within = np.argsort(xk.view(np.int64) if np.isfinite(xspan) else xk, kind="stable")
        order = within if order is None else order[within]
        xkey = xk[within]
    elif order is None:
        order = np.arange(n)
    return Layout(order, streams, strides, (last_frame - first_frame) // strides, frame_keys,
                  frame_start, frame_count, codes[order[frame_start]], frame_all, xkey, xmin, xspan)


def _sorted_pairs(key: np.ndarray, oid: np.ndarray) -> bool:
    """Whether rows are already in (key, oid) order."""
    if (key[1:] < key[:-1]).any():
        return False
    later = oid[1:] > oid[:-1]
    return bool(later.all()) or not (~later & (key[1:] == key[:-1])).any()


def x_candidates(
    lay: Layout, boxes: Boxes, block: np.ndarray, starts: np.ndarray, counts: np.ndarray,
    qx1: np.ndarray, qx2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Narrow each query's candidate rows ``[starts, starts + counts)`` (all in frame block
    ``block``) to the boxes whose x-range may overlap ``[qx1, qx2]``.

    Rows must be sorted by ``x1`` within each frame (a layout made ``by_x``); a box ``j``
    can overlap only if ``x1_j`` lies in ``(qx1 - max_width, qx2)``. The result is a superset
    of the overlapping boxes, found by binary search.
    """
    if len(boxes) == 0:
        return starts, counts
    x1, x2 = boxes.x1, boxes.x2
    max_w = boxes.max_width
    if lay.xkey is not None:
        skey, xmin, span = lay.xkey, lay.xmin, lay.xspan
    else:
        xmin = float(min(x1.min(), qx1.min() if len(qx1) else x1.min()))
        top = float(max(x2.max(), qx2.max() if len(qx2) else x2.max()))
        span = top - xmin + max_w + 2.0
        frame_of_row = np.repeat(np.arange(len(lay.frame_keys), dtype=np.float64), lay.frame_count)
        skey = frame_of_row * span + (x1 - xmin)
    eps = 1e-6 * span + 1e-9
    base = block.astype(np.float64) * span
    lo = np.searchsorted(skey, base + (qx1 - xmin) - max_w - eps, side="left")
    hi = np.searchsorted(skey, base + (qx2 - xmin) + eps, side="left")
    lo = np.clip(lo, starts, starts + counts)
    hi = np.clip(hi, lo, starts + counts)  # an empty window (qx2 < qx1 - max_w) gives none
    return lo, np.where(counts > 0, hi - lo, 0)


def cross(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (rows[i], starts[i] + k) for k < counts[i], in row order."""
    total = int(counts.sum())
    left = np.repeat(rows, counts)
    base = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    right = base + np.arange(total)
    return left, right


def same_frame_pairs(lay: Layout, boxes: Boxes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j), i < j, of sorted rows in the same frame.

    With ``boxes`` (from a layout made ``by_x``), only pairs whose x-ranges may overlap.
    """
    n = len(lay.key)
    fidx = np.repeat(np.arange(len(lay.frame_keys)), lay.frame_count)
    frame_end = lay.frame_start[fidx] + lay.frame_count[fidx]
    starts = np.arange(n) + 1
    counts = frame_end - starts
    if boxes is not None and n:
        # rows after i in its frame have x1 >= x1_i; they overlap i only if x1 < x2_i
        starts, counts = x_candidates(lay, boxes, fidx, starts, counts,
                                      boxes.x1 + boxes.max_width, boxes.x2)
    return cross(np.arange(n), starts, counts)


def segment_max(values: np.ndarray, left: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    """Per row r < n, the max of ``values`` over pairs whose ``left`` is r (``left`` sorted)."""
    out = np.full(n, fill, dtype=np.float64)
    if values.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    out[left[starts]] = np.maximum.reduceat(values, starts)
    return out


def blocks(lay: Layout, rows: int = 1 << 16) -> list[tuple[int, int, int, int]]:
    """Runs of whole frames of about ``rows`` rows each, as ``(first row, end row, first
    frame, end frame)``: work done block by block keeps its temporaries in cache and reuses
    their memory."""
    nf = len(lay.frame_start)
    if nf == 0:
        return []
    n = int(lay.frame_start[-1] + lay.frame_count[-1])
    # each cut moves back to the start of the frame it falls in
    at = np.searchsorted(lay.frame_start, np.arange(0, n, rows), side="right") - 1
    fcut = np.unique(np.r_[at, nf])
    rcut = np.r_[lay.frame_start, n][fcut]
    return list(zip(rcut[:-1].tolist(), rcut[1:].tolist(), fcut[:-1].tolist(), fcut[1:].tolist(),
                    strict=True))


def block_frames(lay: Layout, f0: int, f1: int) -> np.ndarray:
    """Frame index of each row of frames ``f0`` to ``f1`` (exclusive)."""
    return np.repeat(np.arange(f0, f1), lay.frame_count[f0:f1])


def lower_bound(keys: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``np.clip(np.searchsorted(keys, values), lo, hi)`` for sorted ``keys``: per value, the
    first position in ``[lo, hi)`` whose key is not less (``hi`` if none).

    Values that cover a short stretch of ``keys`` (one that fits in cache, or that they are
    dense in) are searched in that stretch alone; values sparse in a long one by a bisection
    of each value's own range, which touches only the keys near it instead of missing the
    cache at every step of a search over all the keys.
    """
    act = np.flatnonzero(lo < hi)
    if act.size == 0:
        return lo.copy()
    start, stop = int(lo[act].min()), int(hi[act].max())
    if stop - start <= max(16 * act.size, 1 << 17):
        return np.clip(np.searchsorted(keys[start:stop], values) + start, lo, hi)
    lo, hi = lo.copy(), hi.copy()
    while act.size:
        mid = (lo[act] + hi[act]) >> 1
        less = keys[mid] < values[act]
        lo[act[less]] = mid[less] + 1
        hi[act[~less]] = mid[~less]
        act = act[lo[act] < hi[act]]
    return lo


def x_windows(
    lay: Layout, q: Boxes, frame: np.ndarray, max_width: float, min_iou: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per query box ``q``, the rows of frame ``frame`` (a frame index, -1 for none) whose box
    may overlap it: ``(starts, counts)`` of runs of rows sorted by ``x1`` (a layout made
    ``by_x``), a superset of the boxes with IoU > 0 (with ``min_iou > 0``, IoU >= ``min_iou``).

    A box ``j`` can overlap only if ``x1_j`` lies in ``[qx1 - max_width, qx2)``. IoU <=
    overlap_x / width of either box, so reaching ``min_iou`` takes an x-overlap of ``min_iou``
    times the query's width (``x1_j < qx2 - min_iou * width``) and ``min_iou`` times the box's
    (``x1_j >= qx1 - (1 - min_iou) * max_width``).
    """
    has = frame >= 0
    fc = np.where(has, frame, 0)
    start = lay.frame_start[fc]
    stop = start + np.where(has, lay.frame_count[fc], 0)
    qx1, qx2 = q.x1, q.x2
    if min_iou > 0:
        qx2 = qx2 - min_iou * (qx2 - qx1)
    xmin, span = lay.xmin, lay.xspan
    eps = 1e-6 * span + 1e-9  # far above the rounding of keys, far below a pixel
    base = fc.astype(np.float64) * span
    keys = lay.xkey
    lo_key = base + (qx1 - xmin) - (1 - min_iou) * max_width - eps
    hi_key = base + (qx2 - xmin) + eps
    if np.isfinite(span):
        # keys are >= 0, so a float compares with them as its bits do as int64: faster
        keys, lo_key, hi_key = keys.view(np.int64), lo_key.view(np.int64), hi_key.view(np.int64)
    lo = lower_bound(keys, lo_key, start, stop)
    hi = lower_bound(keys, hi_key, lo, stop)  # none when qx2 < qx1 - max_width
    return lo, hi - lo


def overlapping(
    lay: Layout, boxes: Boxes, cls: np.ndarray | None, q: Boxes, q_cls: np.ndarray | None,
    rank: np.ndarray, rank_end: np.ndarray, frame: np.ndarray, min_iou: float, *,
    query_first: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Per query box ``q``, whether a box of frame ``frame`` (a frame index, -1 for none) of
    the same class has IoU >= ``min_iou`` with it; and some of the boxes that do.

    IoU is of the query with the box (``query_first``) or of the box with the query, as the
    caller's findings define it. One box that does is enough, and is usually found at once:
    the object itself, at about the same place among the boxes sorted by ``x1`` (``rank``,
    ``rank_end``: the query's place in its own frame, from the start and from the end). Only
    queries whose closest candidates fail are paired with every box of the frame that may
    reach ``min_iou``.
    """
    has = frame >= 0
    fc = np.where(has, frame, 0)
    first = lay.frame_start[fc]
    last = first + lay.frame_count[fc] - 1

    def reaches(qi: np.ndarray | slice, rows: np.ndarray) -> np.ndarray:
        iou = iou_2d_indexed(q, qi, boxes, rows) if query_first else iou_2d_indexed(boxes, rows, q, qi)
        ok = iou >= min_iou
        if cls is not None:
            ok &= q_cls[qi] == cls[rows]
        return ok

    # the box of the same rank: the object itself when no box came or went before it
    guess = np.minimum(first + rank, last)
    hit = has & reaches(slice(None), guess)
    found = [guess[hit]]
    rest = np.flatnonzero(has & ~hit)
    if rest.size:
        # else the box of the same rank from the end of the frame: the object itself when
        # no box came or went after it
        g = np.maximum(last[rest] - rank_end[rest], first[rest])
        ok = reaches(rest, g)
        hit[rest[ok]] = True
        found.append(g[ok])
        rest = rest[~ok]
    if rest.size:
        # else the box nearest in x among its neighbours in rank
        lo, hi, g = first[rest], last[rest], guess[rest]
        qx1, qx2 = q.x1[rest], q.x2[rest]

        def distance(c: np.ndarray) -> np.ndarray:
            return np.abs(boxes.x1[c] - qx1) + np.abs(boxes.x2[c] - qx2)

        near = np.clip(g - 1, lo, hi)
        dist = distance(near)
        for step in (1, -2, 2):
            c = np.clip(g + step, lo, hi)
            d = distance(c)
            closer = d < dist
            near, dist = np.where(closer, c, near), np.where(closer, d, dist)
        ok = reaches(rest, near)
        hit[rest[ok]] = True
        found.append(near[ok])
        rest = rest[~ok]
    if rest.size:
        # else every box that may reach min_iou
        starts, counts = x_windows(lay, q.take(rest), frame[rest], boxes.max_width, min_iou)
        pl, pr = cross(rest, starts, counts)
        ok = reaches(pl, pr)
        hit[pl[ok]] = True
        found.append(pr[ok])
    return hit, np.concatenate(found)
