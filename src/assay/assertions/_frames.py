"""Frame structure of an observations table: sorting, frame strides, and pairs of
observations in neighbouring frames, all vectorized."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Layout:
    """Observations sorted by (stream, frame, obs_id), with integer frame slots.

    ``slot`` numbers the frames of a stream in steps of its stride (frames 10, 15, 25 with
    stride 5 are slots 0, 1, 3), so "the next frame" is ``slot + 1`` whether or not it has
    any observation.
    """

    order: np.ndarray          # positions in the original table, sorted
    stream_code: np.ndarray    # per sorted row
    streams: np.ndarray        # code -> name
    frame: np.ndarray
    slot: np.ndarray
    key: np.ndarray            # stream_code * 2**40 + slot: unique per frame
    first_slot: np.ndarray     # per stream code: first observed slot
    last_slot: np.ndarray      # per stream code: last observed slot
    stride: np.ndarray         # per stream code
    # frames (unique keys) and where their rows start
    frame_keys: np.ndarray
    frame_start: np.ndarray
    frame_count: np.ndarray
    # by_x layouts: per sorted row, frame index * xspan + (x1 - xmin), ascending
    xkey: np.ndarray | None = None
    xmin: float = 0.0
    xspan: float = 0.0


_SHIFT = np.int64(2**40)


def _unique_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_index=True)``, without a sort when ``key`` is already in order
    (tables usually arrive sorted by stream and frame)."""
    if key.size and bool((key[1:] >= key[:-1]).all()):
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return key[first], first
    # a stable sort keeps each key's first occurrence first, and merges the long sorted runs
    # of nearly sorted input (rows appended out of order) far faster than np.unique's sort
    order = np.argsort(key, kind="stable")
    sk = key[order]
    first = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if sk.size else np.zeros(0, dtype=np.int64)
    return sk[first], order[first]


def infer_strides(stream_code: np.ndarray, frame: np.ndarray, n_streams: int) -> np.ndarray:
    """Per stream, the greatest common divisor of the gaps between its distinct frames (1 for
    a stream with a single frame)."""
    stride = np.ones(n_streams, dtype=np.int64)
    if frame.size == 0:
        return stride
    key = _unique_first(stream_code.astype(np.int64) * _SHIFT + frame)[0]
    sc = key // _SHIFT
    fr = key % _SHIFT
    same = sc[1:] == sc[:-1]
    diffs = np.diff(fr)[same]
    codes = sc[1:][same]
    for c in np.unique(codes):
        stride[c] = np.gcd.reduce(diffs[codes == c])
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
    codes, streams = pd.factorize(obs["stream"], sort=True)
    codes = codes.astype(np.int64)
    f = obs["frame"].to_numpy(dtype=np.int64)
    t = obs["time"].to_numpy(dtype=np.float64)
    n = len(streams)
    if stride is None:
        strides = infer_strides(codes, f, n)
    elif isinstance(stride, dict):
        strides = np.array([int(stride.get(s, 1)) for s in streams], dtype=np.int64)
    else:
        strides = np.full(n, int(stride), dtype=np.int64)
    key, idx = _unique_first(codes * _SHIFT + f)
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
        info.period[name] = _period(fr[lo], tt[lo], fr[lo + 1], tt[lo + 1], int(strides[c])) if hi > lo else 0.0
    return info


def _period(f0: int, t0: float, f1: int, t1: float, stride: int) -> float:
    return float((t1 - t0) / (f1 - f0) * stride)


def layout(obs: pd.DataFrame, info: StreamInfo, *, by_x: bool = False) -> Layout:
    """Sort observations and number their frame slots with the streams' facts.

    With ``by_x``, rows of a frame are ordered by their box's ``x1`` (then ``obs_id``), which
    :func:`neighbour_pairs` uses to pair only boxes whose x-ranges can overlap.
    """
    codes, streams = pd.factorize(obs["stream"], sort=True)
    codes = codes.astype(np.int64)
    frame_all = obs["frame"].to_numpy(dtype=np.int64)
    oid = obs["obs_id"].to_numpy(dtype=np.int64)
    streams = np.asarray(streams, dtype=object)
    strides, first_frame, last_frame, _ = info.arrays(streams)
    # one int64 key per frame (stream, slot): fewer sort keys than (stream, frame)
    key_all = codes * _SHIFT + (frame_all - first_frame[codes]) // strides[codes]
    n = key_all.size
    if n and _sorted_pairs(key_all, oid):  # readers and monitors deliver rows in this order
        order = np.arange(n)
    elif n and bool((oid[1:] > oid[:-1]).all()):
        # ids already ascend: a stable sort by frame alone gives (frame, obs_id) order, and
        # merges nearly sorted input fast
        order = np.argsort(key_all, kind="stable")
    else:
        order = np.lexsort((oid, key_all))
    xkey, xmin, xspan = None, 0.0, 0.0
    if by_x and n:
        # within each frame, by x1 then obs_id: one stable sort of a single float key (a
        # three-key lexsort with a float key is ~15x slower on 10M rows); x_candidates
        # searches these very keys, so they are sorted exactly as searched
        x1 = obs["x1"].to_numpy(dtype=np.float64)
        x2 = obs["x2"].to_numpy(dtype=np.float64)
        xmin = float(x1.min())
        xspan = float(x2.max() - xmin + (x2 - x1).max() + 2.0)
        ks = key_all[order]
        fidx = np.cumsum(np.r_[False, ks[1:] != ks[:-1]], dtype=np.int64)
        xk = fidx * xspan + (x1[order] - xmin)
        within = np.argsort(xk, kind="stable")
        order = order[within]
        xkey = xk[within]
    sc = codes[order]
    fr = frame_all[order]
    key = key_all[order]
    slot = key - sc * _SHIFT
    if key.size:
        frame_start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        frame_count = np.diff(np.r_[frame_start, key.size])
        frame_keys = key[frame_start]
    else:
        frame_start = frame_count = frame_keys = np.zeros(0, dtype=np.int64)
    first_slot = np.zeros(len(streams), dtype=np.int64)
    last_slot = (last_frame - first_frame) // strides
    return Layout(order, sc, streams, fr, slot, key, first_slot, last_slot, strides, frame_keys,
                  frame_start, frame_count, xkey, xmin, xspan)


def _sorted_pairs(key: np.ndarray, oid: np.ndarray) -> bool:
    """Whether rows are already in (key, oid) order."""
    step = key[1:] - key[:-1]
    if (step < 0).any():
        return False
    tie = step == 0
    return not (oid[1:][tie] <= oid[:-1][tie]).any()


def neighbour_pairs(
    lay: Layout,
    offset: int,
    boxes: np.ndarray | None = None,
    *,
    rows: np.ndarray | None = None,
    query: np.ndarray | None = None,
    min_iou: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i, j) of sorted rows where j is in the frame ``offset`` slots after i's.

    Returns ``left``, ``right`` (sorted-row positions; ``left`` ascending) and ``known``: per
    row, whether the target frame lies within the stream's observed range (an unobserved
    frame inside the range is an empty frame; one outside it is unknown).

    With ``boxes`` (sorted rows' ``x1, y1, x2, y2``, from a layout made ``by_x``), only pairs
    whose x-ranges may overlap are returned: a superset of the pairs with IoU > 0, found by
    binary search instead of pairing every box with every box of the other frame.

    ``rows`` restricts the left side to these sorted rows (``left`` then indexes ``rows``);
    ``query`` gives each of them another box to compare (for example an interpolated one)
    in place of its own. With ``min_iou > 0`` only the pairs that can reach that IoU are
    kept: IoU <= overlap_x / width of either box, so a partner must overlap the query's
    x-range by ``min_iou`` times the query's width; a superset of the pairs with IoU >=
    ``min_iou``, far smaller than all overlapping pairs.
    """
    rows = np.arange(len(lay.key)) if rows is None else np.asarray(rows, dtype=np.int64)
    n = rows.size
    key = lay.key[rows]
    target = key + offset
    nk = len(lay.frame_keys)
    pos = np.searchsorted(lay.frame_keys, target)
    pos_c = np.minimum(pos, max(nk - 1, 0))
    found = (pos < nk) & (lay.frame_keys[pos_c] == target) if nk else np.zeros(n, dtype=bool)
    counts = np.where(found, lay.frame_count[pos_c] if nk else 0, 0)
    starts = np.where(found, lay.frame_start[pos_c] if nk else 0, 0)
    tslot = lay.slot[rows] + offset
    known = (tslot >= 0) & (tslot <= lay.last_slot[lay.stream_code[rows]])
    if boxes is not None and n and len(boxes):
        q = np.take(boxes, rows, axis=0) if query is None else query
        qx1, qx2 = q[:, 0], q[:, 2]
        if min_iou > 0:
            margin = min_iou * (qx2 - qx1)
            qx1, qx2 = qx1 + margin, qx2 - margin
        starts, counts = x_candidates(lay, boxes, pos_c, starts, counts, qx1, qx2)
    left, right = cross(np.arange(n), starts, counts)
    return left, right, known


def x_candidates(
    lay: Layout, boxes: np.ndarray, block: np.ndarray, starts: np.ndarray, counts: np.ndarray,
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
    x1, x2 = boxes[:, 0], boxes[:, 2]
    max_w = float((x2 - x1).max())
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


def same_frame_pairs(lay: Layout, boxes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
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
                                      boxes[:, 0] + (boxes[:, 2] - boxes[:, 0]).max(), boxes[:, 2])
    return cross(np.arange(n), starts, counts)


def segment_max(values: np.ndarray, left: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    """Per row r < n, the max of ``values`` over pairs whose ``left`` is r (``left`` sorted)."""
    out = np.full(n, fill, dtype=np.float64)
    if values.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    out[left[starts]] = np.maximum.reduceat(values, starts)
    return out
