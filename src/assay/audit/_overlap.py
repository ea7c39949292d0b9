"""Best IoU of every prediction box with a label box of the same stream and frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..geometry import _kernels
from ..tables import BOX2D

BEV = ("x", "y", "l", "w", "yaw")


def box_columns(kind: str) -> list[str]:
    return list(BOX2D if kind == "2d" else BEV)


def overlap_kind(a: pd.DataFrame, b: pd.DataFrame, box: str) -> str:
    """``"bev"`` or ``"2d"``: the box both tables have on every row (auto prefers 2-D, as
    :func:`assay.tracking.associate` does, unless asked for bev)."""
    from ..exceptions import SchemaError

    def has(df: pd.DataFrame, cols) -> bool:
        return all(c in df.columns for c in cols) and (
            len(df) == 0 or not df[list(cols)].isna().any(axis=None)
        )

    order = {"auto": ("2d", "bev"), "2d": ("2d",), "bev": ("bev",), "3d": ("bev",)}[box]
    for kind in order:
        cols = BOX2D if kind == "2d" else BEV
        if has(a, cols) and has(b, cols):
            return kind
    raise SchemaError(
        f"box={box!r}: predictions and labels need the same kind of box on every row "
        f"(2-D: {', '.join(BOX2D)}; bird's-eye view: {', '.join(BEV)})."
    )


def pair_index(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (row of ``a``, row of ``b``) in the same stream and frame."""
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    n = len(a)
    if n == 0 or len(b) == 0:
        return empty
    streams = pd.concat([a["stream"], b["stream"]], ignore_index=True)
    codes, _ = pd.factorize(streams)
    fa = a["frame"].to_numpy(np.int64)
    fb = b["frame"].to_numpy(np.int64)
    base = int(min(fa.min(), fb.min()))
    span = int(max(fa.max(), fb.max())) - base + 1
    ka = codes[:n].astype(np.int64) * span + (fa - base)
    kb = codes[n:].astype(np.int64) * span + (fb - base)
    order = np.argsort(kb, kind="stable")
    kb_sorted = kb[order]
    lo = np.searchsorted(kb_sorted, ka, "left")
    hi = np.searchsorted(kb_sorted, ka, "right")
    cnt = hi - lo
    total = int(cnt.sum())
    if total == 0:
        return empty
    ai = np.repeat(np.arange(n), cnt)
    start = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
    bi = order[start + np.arange(total)]
    return ai, bi


def frame_pairs(
    a: pd.DataFrame, b: pd.DataFrame, *, kind: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (row of ``a``, row of ``b``) in the same stream and frame, with its IoU."""
    ai, bi = pair_index(a, b)
    if ai.size == 0:
        return ai, bi, np.empty(0)
    cols = box_columns(kind)
    x = np.ascontiguousarray(a[cols].to_numpy(np.float64)[ai])
    y = np.ascontiguousarray(b[cols].to_numpy(np.float64)[bi])
    iou = _kernels.iou_2d_paired(x, y) if kind == "2d" else _kernels.iou_bev_paired(x, y)
    return ai, bi, iou


def best_overlap(
    pred: pd.DataFrame, labels: pd.DataFrame, *, kind: str, class_aware: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(best IoU, obs_id of that label or -1) for every row of ``pred``."""
    n = len(pred)
    best = np.zeros(n)
    which = np.full(n, -1, np.int64)
    pi, li, iou = frame_pairs(pred, labels, kind=kind)
    if pi.size == 0:
        return best, which
    if class_aware:
        same = pred["cls"].to_numpy(dtype=object)[pi] == labels["cls"].to_numpy(dtype=object)[li]
        iou = np.where(same, iou, 0.0)
    # the best pair per prediction: sort by (prediction, iou) and take each group's last
    o = np.lexsort((iou, pi))
    last = np.flatnonzero(np.r_[pi[o][1:] != pi[o][:-1], True])
    sel = o[last]
    best[pi[sel]] = iou[sel]
    ids = labels["obs_id"].to_numpy(np.int64)
    which[pi[sel]] = np.where(iou[sel] > 0, ids[li[sel]], -1)
    return best, which


def inside_share(a: pd.DataFrame, regions: pd.DataFrame) -> np.ndarray:
    """Per row of ``a``, the largest share of its image box inside one region of the same
    stream and frame (0 when none)."""
    out = np.zeros(len(a))
    ai, ri = pair_index(a, regions)
    if ai.size == 0:
        return out
    x = a[list(BOX2D)].to_numpy(np.float64)[ai]
    r = regions[list(BOX2D)].to_numpy(np.float64)[ri]
    iw = np.clip(np.minimum(x[:, 2], r[:, 2]) - np.maximum(x[:, 0], r[:, 0]), 0, None)
    ih = np.clip(np.minimum(x[:, 3], r[:, 3]) - np.maximum(x[:, 1], r[:, 1]), 0, None)
    area = np.maximum((x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1]), 1e-12)
    np.maximum.at(out, ai, iw * ih / area)
    return out
