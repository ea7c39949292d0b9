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


_SHIFT = np.int64(2**40)


def infer_strides(stream_code: np.ndarray, frame: np.ndarray, n_streams: int) -> np.ndarray:
    """Per stream, the greatest common divisor of the gaps between its distinct frames (1 for
    a stream with a single frame)."""
    stride = np.ones(n_streams, dtype=np.int64)
    if frame.size == 0:
        return stride
    key = np.unique(stream_code.astype(np.int64) * _SHIFT + frame)
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
    key, idx = np.unique(codes * _SHIFT + f, return_index=True)
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


def layout(obs: pd.DataFrame, info: StreamInfo) -> Layout:
    """Sort observations and number their frame slots with the streams' facts."""
    codes, streams = pd.factorize(obs["stream"], sort=True)
    codes = codes.astype(np.int64)
    frame_all = obs["frame"].to_numpy(dtype=np.int64)
    oid = obs["obs_id"].to_numpy(dtype=np.int64)
    order = np.lexsort((oid, frame_all, codes))
    sc = codes[order]
    fr = frame_all[order]
    streams = np.asarray(streams, dtype=object)
    strides, first_frame, last_frame, _ = info.arrays(streams)
    slot = (fr - first_frame[sc]) // strides[sc]
    key = sc * _SHIFT + slot
    frame_keys, frame_start, frame_count = np.unique(key, return_index=True, return_counts=True)
    first_slot = np.zeros(len(streams), dtype=np.int64)
    last_slot = (last_frame - first_frame) // strides
    return Layout(order, sc, streams, fr, slot, key, first_slot, last_slot, strides, frame_keys,
                  frame_start, frame_count)


def neighbour_pairs(lay: Layout, offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i, j) of sorted rows where j is in the frame ``offset`` slots after i's.

    Returns ``left``, ``right`` (sorted-row positions; ``left`` ascending) and ``known``: per
    row, whether the target frame lies within the stream's observed range (an unobserved
    frame inside the range is an empty frame; one outside it is unknown).
    """
    target = lay.key + offset
    pos = np.searchsorted(lay.frame_keys, target)
    pos_c = np.minimum(pos, len(lay.frame_keys) - 1) if len(lay.frame_keys) else pos
    found = (pos < len(lay.frame_keys)) & (lay.frame_keys[pos_c] == target) if len(lay.frame_keys) else np.zeros(len(target), bool)
    counts = np.where(found, lay.frame_count[pos_c] if len(lay.frame_keys) else 0, 0)
    starts = np.where(found, lay.frame_start[pos_c] if len(lay.frame_keys) else 0, 0)
    tslot = lay.slot + offset
    known = (tslot >= 0) & (tslot <= lay.last_slot[lay.stream_code])
    left, right = cross(np.arange(len(target)), starts, counts)
    return left, right, known


def cross(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (rows[i], starts[i] + k) for k < counts[i], in row order."""
    total = int(counts.sum())
    left = np.repeat(rows, counts)
    base = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    right = base + np.arange(total)
    return left, right


def same_frame_pairs(lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j), i < j, of sorted rows in the same frame."""
    n = len(lay.key)
    fidx = np.repeat(np.arange(len(lay.frame_keys)), lay.frame_count)
    after = lay.frame_start[fidx] + lay.frame_count[fidx] - (np.arange(n) + 1)
    return cross(np.arange(n), np.arange(n) + 1, after)


def segment_max(values: np.ndarray, left: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    """Per row r < n, the max of ``values`` over pairs whose ``left`` is r (``left`` sorted)."""
    out = np.full(n, fill, dtype=np.float64)
    if values.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    out[left[starts]] = np.maximum.reduceat(values, starts)
    return out
