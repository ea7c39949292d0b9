"""Built-in assertions: the paper's examples, vectorized, every threshold a parameter."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import Interval, validate_params
from ..exceptions import InvalidParameterError
from ..geometry.kernels import Boxes, iou_2d_indexed
from ._findings import empty_findings, make_findings
from ._frames import (
    Layout,
    StreamInfo,
    block_frames,
    blocks,
    cross,
    factorize,
    layout,
    overlapping,
    same_frame_pairs,
    segment_max,
    stream_info,
    x_windows,
)
from ._rows import row_keys
from .base import Assertion
from .consistency import ConsistencyAssertion

__all__ = [
    "Appear",
    "ClassSwitch",
    "Flicker",
    "Flying",
    "Gap",
    "Multibox",
    "NoRepeatedWords",
    "OutputRange",
    "TooFast",
]

_BOX = ["x1", "y1", "x2", "y2"]


def _subset(obs: pd.DataFrame, columns: Sequence[str], classes: Sequence[str] | None) -> pd.DataFrame:
    """Rows with all ``columns`` set (and of ``classes`` when given)."""
    mask = np.ones(len(obs), dtype=bool)
    for c in columns:
        mask &= obs[c].notna().to_numpy()
    if classes is not None:
        mask &= obs["cls"].isin(list(classes)).to_numpy()
    return obs.loc[mask] if not mask.all() else obs


def _box_layout(obs: pd.DataFrame, info: StreamInfo | None, *, class_aware: bool,
                classes: Sequence[str] | None = None):
    """Rows with 2-D boxes (of ``classes`` when given), laid out by frame and x1: (rows,
    layout, boxes, class codes), all in layout order except ``rows``; class codes are None
    when classes need not be compared (not class-aware, or a single class). None when there
    are no boxes."""
    sub = _subset(obs, _BOX, classes)
    if sub.empty:
        return None
    lay = layout(sub, info or stream_info(obs), by_x=True)
    boxes = Boxes.of(*(np.take(sub[c].to_numpy(dtype=np.float64), lay.order) for c in _BOX))
    cls = None
    if class_aware:
        codes, names = factorize(sub["cls"])
        cls = codes[lay.order] if len(names) > 1 else None
    return sub, lay, boxes, cls


def _frames_of(lay: Layout, rows: np.ndarray) -> np.ndarray:
    """Frame index of sorted rows."""
    return np.searchsorted(lay.frame_start, rows, side="right") - 1


def _track_values(sub: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    if "track" not in sub.columns:
        return np.full(len(rows), pd.NA, dtype=object)
    return sub["track"].iloc[rows].to_numpy(dtype=object, na_value=pd.NA)


def _distinct_texts(values: np.ndarray, format_all) -> np.ndarray:
    """``format_all(values)`` (a list of texts, one per float) as an object array, formatting
    each distinct value once: findings repeat values (IoU 0, frame times)."""
    bits, inverse = np.unique(np.asarray(values, dtype=np.float64).view(np.int64), return_inverse=True)
    return np.array(format_all(bits.view(np.float64)), dtype=object)[inverse]


class Flicker(Assertion):
    """A box that overlaps no box in the previous frame nor in the next frame.

    An object does not exist for one frame only (the paper, section 3.3). Frames are
    neighbours by frame number and stride (frames with no boxes count as empty frames); at
    the ends of a stream, only the side that exists is checked.

    Parameters
    ----------
    iou : float
        Boxes overlap when their IoU is at least this.
    class_aware : bool
        Only boxes of the same class count as overlapping.
    classes : list of str, optional
        Check only boxes of these classes.

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> obs = assay.as_observations(pd.DataFrame({
    ...     "frame": [1, 2, 3, 2], "cls": "car", "x1": [0, 1, 2, 300.0], "y1": 0.0,
    ...     "x2": [50, 51, 52, 350.0], "y2": 40.0}), stream="cam", source="model", fps=10)
    >>> Flicker().run(obs)[["assertion", "frame_start", "obs_ids", "severity"]]
      assertion  frame_start obs_ids  severity
    0   flicker            2     [3]       1.0
    """

    frames_before = 1  # a box at t is judged by the boxes at t - 1 and t + 1
    frames_after = 1
    requires = ("x1", "y1", "x2", "y2")

    @validate_params({"iou": [Interval(float, 0, 1, closed="right")], "class_aware": [bool],
                      "classes": [list, tuple, None]})
    def __init__(self, *, iou: float = 0.3, class_aware: bool = True,
                 classes: Sequence[str] | None = None) -> None:
        self.iou = iou
        self.class_aware = class_aware
        self.classes = classes

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        self.check_columns(observations)
        laid = _box_layout(observations, info, class_aware=self.class_aware)
        if laid is None:
            return empty_findings()
        sub, lay, boxes, cls = laid
        before, after = lay.frame_offset(-1), lay.frame_offset(1)
        known_prev, known_next = lay.known(-1), lay.known(1)
        # A box is fine on a side when a box of its class there reaches the IoU threshold;
        # one such box is enough. Looking into the next frame serves both sides: a box found
        # there is fine on its previous side too (IoU is computed with the earlier box first
        # either way: it may differ in the last bit the other way round). Boxes whose partner
        # in the previous frame was not met so look there themselves. Exact best values are
        # computed afterwards for the few boxes flagged
        prev_ok = np.zeros(len(boxes), dtype=bool)
        flagged = []
        for a, b, f0, f1 in blocks(lay):
            f = block_frames(lay, f0, f1)
            rank = np.arange(a, b) - lay.frame_start[f]
            rank_end = lay.frame_count[f] - 1 - rank
            block_cls = None if cls is None else cls[a:b]
            next_ok, partners = overlapping(lay, boxes, cls, boxes.take(slice(a, b)), block_cls,
                                            rank, rank_end, after[f], self.iou)
            prev_ok[partners] = True
            todo = np.flatnonzero(~prev_ok[a:b] & (before[f] >= 0))
            hit, _ = overlapping(lay, boxes, cls, boxes.take(todo + a),
                                 None if cls is None else block_cls[todo], rank[todo], rank_end[todo],
                                 before[f[todo]], self.iou, query_first=False)
            prev_ok[todo[hit] + a] = True
            kp, kn = known_prev[f], known_next[f]
            flagged.append(np.flatnonzero((kp | kn) & ~(kp & prev_ok[a:b]) & ~(kn & next_ok)) + a)
        rows = np.concatenate(flagged)
        if self.classes is not None:
            names = sub["cls"].iloc[lay.order[rows]].to_numpy(dtype=object)
            rows = rows[np.isin(names, list(self.classes))]
        if rows.size == 0:
            return empty_findings()
        f = _frames_of(lay, rows)
        q = boxes.take(rows)
        best = []
        for frame in (before[f], after[f]):
            starts, counts = x_windows(lay, q, frame, boxes.max_width)
            pl, pr = cross(np.arange(rows.size), starts, counts)
            ious = iou_2d_indexed(boxes, rows[pl], boxes, pr)
            if cls is not None:
                ious[cls[rows[pl]] != cls[pr]] = 0.0
            best.append(segment_max(ious, pl, rows.size))
        kp, kn = known_prev[f], known_next[f]
        orig = lay.order[rows]
        oid = sub["obs_id"].to_numpy()[orig]
        frame = lay.table_frame[orig]
        best_either = np.maximum(np.where(kp, best[0], 0), np.where(kn, best[1], 0))
        score = sub["score"].to_numpy()[orig] if "score" in sub.columns else np.full(rows.size, np.nan)
        severity = 1.0 - best_either
        return make_findings(
            self.name, "obs", lay.streams[lay.frame_stream[f]], frame, frame,
            [[o] for o in oid.tolist()], severity,
            track=_track_values(sub, orig),
            evidence={"iou_prev": np.where(kp, best[0], np.nan),
                      "iou_next": np.where(kn, best[1], np.nan), "score": score},
            fix=[f'{{"action": "remove", "obs_ids": [{o}]}}' for o in oid.tolist()],
        )


class Gap(Assertion):
    """Boxes at frames t and t+2 that overlap imply a box at frame t+1.

    For each box at t, its best same-class match at t+2 (mutual best, IoU at least ``iou``)
    is paired with it; if no box at t+1 overlaps their average by at least ``iou_middle``,
    the pair is a finding, with the interpolated box as the proposed fix.

    Parameters
    ----------
    iou : float
        Minimum IoU between the boxes at t and t+2.
    iou_middle : float, optional
        Minimum IoU between a box at t+1 and the interpolated box (default ``iou``).
    class_aware : bool
        Pair only boxes of the same class.
    """

    frames_before = 2  # a finding ends at t + 2 and looks back to t
    frames_after = 0
    requires = ("x1", "y1", "x2", "y2")

    @validate_params({"iou": [Interval(float, 0, 1, closed="right")],
                      "iou_middle": [Interval(float, 0, 1, closed="right"), None],
                      "class_aware": [bool]})
    def __init__(self, *, iou: float = 0.5, iou_middle: float | None = None,
                 class_aware: bool = True) -> None:
        self.iou = iou
        self.iou_middle = iou_middle
        self.class_aware = class_aware

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        self.check_columns(observations)
        laid = _box_layout(observations, info, class_aware=self.class_aware)
        if laid is None:
            return empty_findings()
        sub, lay, boxes, cls = laid
        thr = self.iou if self.iou_middle is None else self.iou_middle
        after1, after2 = lay.frame_offset(1), lay.frame_offset(2)
        found = []
        for a, b, f0, f1 in blocks(lay):
            # pairs of boxes at t and t+2 with IoU >= iou (all of them: mutual best needs them),
            # from those that can reach it
            f = block_frames(lay, f0, f1)
            starts, counts = x_windows(lay, boxes.take(slice(a, b)), after2[f], boxes.max_width,
                                       self.iou)
            left, right = cross(np.arange(a, b), starts, counts)
            if cls is not None:
                same = cls[left] == cls[right]
                left, right = left[same], right[same]
            ious = iou_2d_indexed(boxes, left, boxes, right)
            ok = ious >= self.iou
            left, right, ious = left[ok], right[ok], ious[ok]
            keep = _mutual_best(left, right, ious)
            left, right, ious = left[keep], right[keep], ious[keep]
            # flagged when no box at t+1 reaches the threshold with the interpolated box
            fl = f[left - a]
            rank = left - lay.frame_start[fl]
            hit, _ = overlapping(lay, boxes, cls, _midpoints(boxes, left, right),
                                 None if cls is None else cls[left], rank,
                                 lay.frame_count[fl] - 1 - rank, after1[fl], thr)
            found.append((left[~hit], right[~hit], ious[~hit], fl[~hit]))
        left, right, ious, f = (np.concatenate(a) for a in zip(*found, strict=True))
        if left.size == 0:
            return empty_findings()
        # every box at t+1 overlapping the interpolated box, for the evidence
        mid = _midpoints(boxes, left, right)
        starts, counts = x_windows(lay, mid, after1[f], boxes.max_width)
        pl, pr = cross(np.arange(left.size), starts, counts)
        if cls is not None:
            same = cls[left][pl] == cls[pr]
            pl, pr = pl[same], pr[same]
        best_mid = segment_max(iou_2d_indexed(mid, pl, boxes, pr), pl, left.size)
        ol, orr = lay.order[left], lay.order[right]
        oid = sub["obs_id"].to_numpy()
        if "track" in sub.columns:
            tr = sub["track"].to_numpy(dtype=np.float64, na_value=np.nan)
            same_track = tr[ol] == tr[orr]  # NaN (no track) never equals
            track = np.where(same_track, tr[ol], np.nan)
        else:
            track = np.full(left.size, np.nan)
        times = sub["time"].to_numpy()
        code = lay.frame_stream[f]
        cls_names = sub["cls"].iloc[ol].to_numpy(dtype=object)
        streams = lay.streams[code]
        mid_frame = lay.table_frame[ol] + lay.stride[code]
        mid_time = (times[ol] + times[orr]) / 2.0
        quoted = {v: json.dumps(str(v)) for v in set(streams.tolist()) | set(cls_names.tolist())}
        time_texts = _distinct_texts(mid_time, lambda v: list(map(repr, v.tolist())))
        x1, y1, x2, y2 = (list(map(repr, c.tolist())) for c in (mid.x1, mid.y1, mid.x2, mid.y2))
        fixes = [
            f'{{"action": "add", "stream": {quoted[s]}, "frame": {f}, "time": {t}, "cls": {quoted[c]}, '
            f'"x1": {a}, "y1": {b}, "x2": {cc}, "y2": {d}'
            + ("}" if tk != tk else f', "track": {int(tk)}}}')
            for s, f, t, c, a, b, cc, d, tk in zip(
                streams.tolist(), mid_frame.tolist(), time_texts.tolist(), cls_names.tolist(),
                x1, y1, x2, y2, track.tolist(), strict=True)
        ]
        severity = ious * (1.0 - best_mid)
        return make_findings(
            self.name, "window", streams, lay.table_frame[ol], lay.table_frame[orr],
            np.stack([oid[ol], oid[orr]], axis=1).tolist(), severity,
            track=pd.array(track, dtype="Int64"),
            evidence={"iou_ends": ious, "best_iou_middle": best_mid}, fix=fixes,
        )


def _midpoints(boxes: Boxes, left: np.ndarray, right: np.ndarray) -> Boxes:
    """The average of boxes ``left`` and ``right``, pair by pair."""
    return Boxes.of(*((np.take(c, left) + np.take(c, right)) / 2.0
                      for c in (boxes.x1, boxes.y1, boxes.x2, boxes.y2)))


def _mutual_best(left: np.ndarray, right: np.ndarray, ious: np.ndarray) -> np.ndarray:
    """Which pairs (``left`` sorted) are mutual best: the best of their left box and the best of
    their right box (ties on the right: the first pair). Most boxes are in one pair only."""
    n = len(ious)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    if starts.size < n:
        keep = ious == np.repeat(np.maximum.reduceat(ious, starts), np.diff(np.r_[starts, n]))
    r = right - right.min()
    shared = np.flatnonzero(np.bincount(r)[r] > 1)  # pairs whose right box is in other pairs too
    if shared.size:
        best_r = np.full(int(r.max()) + 1, -1.0)
        np.maximum.at(best_r, r[shared], ious[shared])
        at_best = shared[ious[shared] == best_r[r[shared]]]
        first = np.full(len(best_r), n)
        np.minimum.at(first, r[at_best], at_best)
        chosen = np.ones(n, dtype=bool)
        chosen[shared] = False
        chosen[first[first < n]] = True
        keep &= chosen
    return keep


class Multibox(Assertion):
    """Three boxes in one frame that all overlap one another (the paper's NoMultipleOverlap).

    One finding per frame; its severity is the number of such triples, its ``obs_ids`` the
    boxes in any of them.

    The defaults were chosen leave-sequences-out over three real detectors (MOT15's Faster
    R-CNN and ACF detections, PointRCNN on KITTI; ``benchmarks/bench_assertions.py
    --multibox-holdout``): with them the flagged boxes are wrong more often than the
    detector's boxes at large wherever Multibox flags any. Detectors that suppress
    overlapping boxes (non-maximum suppression) and trackers rarely leave overlapping
    triples: :meth:`blind_spot` says so when the boxes look suppressed, and then an empty
    result says little. Gating by score is left to the caller, on the detector's own scale
    (ACF's scores are not probabilities).

    Parameters
    ----------
    iou : float, default 0.3
        Two boxes overlap when their IoU is at least this. Lower values flag more boxes in
        crowds, where people legitimately overlap in the image.
    class_aware : bool, default False
        Only boxes of the same class form a triple. Off by default: three boxes of
        different classes on one object (a car, a van and a truck) are the detector's
        confusion, while same-class image boxes of 3-D detections overlap mostly where
        objects occlude one another (on KITTI, same-class triples were wrong less often
        than the average box).
    classes : list of str, optional
        Check only boxes of these classes (people in a crowd overlap legitimately).
    """

    requires = ("x1", "y1", "x2", "y2")

    @validate_params({"iou": [Interval(float, 0, 1, closed="right")], "class_aware": [bool],
                      "classes": [list, tuple, None]})
    def __init__(self, *, iou: float = 0.3, class_aware: bool = False,
                 classes: Sequence[str] | None = None) -> None:
        self.iou = iou
        self.class_aware = class_aware
        self.classes = classes

    #: Post-suppression output shows a ceiling on the overlap of two boxes of one class: the
    #: largest such IoU is below ``_NMS_MAX_IOU`` while at least ``_NMS_PILE`` pairs crowd
    #: within 0.05 of it (unsuppressed boxes, labels or raw detections, reach 0.9 and thin out
    #: towards their largest overlap instead).
    _NMS_MAX_IOU = 0.8
    _NMS_PILE = 10

    def blind_spot(self, observations: pd.DataFrame) -> str | None:
        """Say so when the boxes look like the output of non-maximum suppression (NMS):
        no two boxes of one class in a frame overlap beyond a ceiling, and many pairs sit
        just under it. NMS removes duplicates before Multibox can see them, and trackers
        keep one box per object, so their output rarely has overlapping triples; an empty
        result then says little about duplicates."""
        return self.blind_spot_of([self.blind_spot_part(observations)])

    def blind_spot_part(self, observations: pd.DataFrame) -> tuple[int, np.ndarray] | None:
        """Of one group of streams: the number of same-class overlapping pairs, and the IoUs
        within 0.05 of the group's largest (which hold every pair within 0.05 of the whole
        table's largest)."""
        laid = _box_layout(observations, None, class_aware=True, classes=self.classes) if all(
            c in observations.columns for c in self.requires) else None
        if laid is None:
            return None
        _, lay, boxes, cls = laid
        a, b = same_frame_pairs(lay, boxes)
        if cls is not None:  # suppression works class by class
            same = cls[a] == cls[b]
            a, b = a[same], b[same]
        iou = iou_2d_indexed(boxes, a, boxes, b)
        iou = iou[iou > 0]
        if iou.size == 0:
            return None
        return int(iou.size), iou[iou >= float(iou.max()) - 0.05]

    def blind_spot_of(self, parts: list[tuple[int, np.ndarray] | None]) -> str | None:
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        pairs = sum(n for n, _ in parts)
        near = np.concatenate([v for _, v in parts])
        top = float(near.max())
        if top >= self._NMS_MAX_IOU or int((near >= top - 0.05).sum()) < self._NMS_PILE:
            return None
        never = self.iou > top
        return (
            f"{self.name}: no two boxes of one class in a frame overlap by more than IoU {top:.3f} "
            f"(over {pairs:,} overlapping pairs, many just under it): these look like detections "
            f"after non-maximum suppression at about that IoU, which removes duplicate boxes before "
            f"{self.name} can see them, so {'it cannot find' if never else 'few'} triples overlapping "
            f"at iou >= {self.iou:g} {'here' if never else 'remain'}. An empty or small result says "
            "little about duplicates: run it on the detector's output before suppression, or rely on "
            "Flicker and Gap for suppressed detections and tracker output."
        )

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        self.check_columns(observations)
        laid = _box_layout(observations, info, class_aware=self.class_aware, classes=self.classes)
        if laid is None:
            return empty_findings()
        sub, lay, boxes, cls = laid
        a, b = same_frame_pairs(lay, boxes)
        if cls is not None:
            same = cls[a] == cls[b]
            a, b = a[same], b[same]
        edge = iou_2d_indexed(boxes, a, boxes, b) >= self.iou
        a, b = a[edge], b[edge]
        if a.size < 3:
            return empty_findings()
        n = np.int64(len(boxes))
        keys = a.astype(np.int64) * n + b  # sorted: pairs come out in (a, b) order
        # for edges (a, b) and (a, c) with b < c, a triangle needs edge (b, c)
        starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
        seg_end = np.repeat(np.r_[starts[1:], len(a)], np.diff(np.r_[starts, len(a)]))
        e1, e2 = cross(np.arange(len(a)), np.arange(len(a)) + 1, seg_end - np.arange(len(a)) - 1)
        want = b[e1].astype(np.int64) * n + b[e2]
        pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        tri = keys[pos] == want
        e1, e2 = e1[tri], e2[tri]
        if e1.size == 0:
            return empty_findings()
        members = np.concatenate([a[e1], b[e1], b[e2]])
        frame_of = lay.key[members]
        tri_frame = lay.key[a[e1]]
        fk, n_tri = np.unique(tri_frame, return_counts=True)
        order = np.lexsort((members, frame_of))
        members, frame_of = members[order], frame_of[order]
        uniq = np.r_[True, (members[1:] != members[:-1]) | (frame_of[1:] != frame_of[:-1])]
        members, frame_of = members[uniq], frame_of[uniq]
        oid = sub["obs_id"].to_numpy()[lay.order]
        split = np.flatnonzero(np.r_[True, frame_of[1:] != frame_of[:-1]])
        groups = np.split(oid[members], split[1:])
        first = members[split]
        return make_findings(
            self.name, "frame", lay.streams[lay.stream_code[first]], lay.frame[first], lay.frame[first],
            [sorted(g.tolist()) for g in groups], n_tri.astype(np.float64),
            evidence={"triples": n_tri, "boxes": np.array([len(g) for g in groups])},
        )


class ClassSwitch(ConsistencyAssertion):
    """A track whose observations do not all have one class (a car turning into a truck).

    The majority class is reported, and proposed as the fix for the others. A 2-2 tie goes
    to the class seen first in the track, and between classes first seen in the same frame
    to the alphabetically smallest: the track's own rows decide, whatever else the table
    holds.

    Parameters
    ----------
    identifier : str
        The column naming the entity (default ``"track"``).
    segment_gap : float
        Seconds of absence after which a reappearing id is a new appearance.
    """

    def __init__(self, *, identifier: str = "track", segment_gap: float = 10.0) -> None:
        super().__init__(identifier=identifier, attributes=["cls"], segment_gap=segment_gap)


class Appear(ConsistencyAssertion):
    """A track that lasts less than ``min_duration`` seconds (objects do not blink in and out).

    Parameters
    ----------
    min_duration : float
        Seconds; a track's duration counts its first to its last frame, inclusive.
    identifier : str
        The column naming the entity (default ``"track"``).
    segment_gap : float
        Seconds of absence after which a reappearing id is a new appearance.
    ignore_truncated : bool
        Do not flag tracks that touch the first or last frame of their stream (they may
        be cut by the recording, not short).
    """

    def __init__(self, *, min_duration: float = 0.5, identifier: str = "track",
                 segment_gap: float = 10.0, ignore_truncated: bool = True) -> None:
        super().__init__(identifier=identifier, min_duration=min_duration,
                         segment_gap=segment_gap, ignore_truncated=ignore_truncated)


class Flying(Assertion):
    """A 3-D box whose bottom is more than ``max_height`` metres up (a flying car).

    Heights are the ``z`` axis of the canonical z-up frame (``z`` is the box centre, so the
    bottom is ``z - h / 2``), relative to ``ground`` (the height of the road in that frame:
    KITTI's camera frame has the road about 1.65 m below the origin).

    Parameters
    ----------
    max_height : float
        Metres above ``ground`` (the paper: 10 m).
    ground : float
        Height of the ground in the observations' frame, metres.
    classes : list of str, optional
        Check only these classes.
    """

    requires = ("z", "h")

    @validate_params({"max_height": [Interval(float, None, None)], "ground": [Interval(float, None, None)],
                      "classes": [list, tuple, None]})
    def __init__(self, *, max_height: float = 10.0, ground: float = 0.0,
                 classes: Sequence[str] | None = None) -> None:
        self.max_height = max_height
        self.ground = ground
        self.classes = classes

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        self.check_columns(observations)
        sub = _subset(observations, ["z", "h"], self.classes)
        bottom = sub["z"].to_numpy() - sub["h"].to_numpy() / 2.0 - self.ground
        excess = bottom - self.max_height
        rows = np.flatnonzero(excess > 0)
        return make_findings(
            self.name, "obs", sub["stream"].to_numpy(dtype=object)[rows],
            sub["frame"].to_numpy()[rows], sub["frame"].to_numpy()[rows],
            [[o] for o in sub["obs_id"].to_numpy()[rows]], excess[rows],
            track=_track_values(sub, rows), evidence={"bottom_height": bottom[rows]},
        )


class TooFast(Assertion):
    """A track that moves faster than ``max_speed`` between consecutive observations.

    Speeds come from real timestamps (``time`` in seconds), so frame strides and dropped
    frames do not distort them.

    Parameters
    ----------
    max_speed : float
        Metres per second on the ground plane (``coords="3d"``, the x-y plane of the z-up
        frame) or pixels per second of the box centre (``coords="2d"``). Default 53.6 m/s
        (120 mph, the paper's example).
    coords : {"3d", "2d"}
    max_gap : float
        Seconds; observations further apart are not compared.
    classes : list of str, optional
    """

    track_level = True
    requires = ("track",)

    @validate_params({"max_speed": [Interval(float, 0, None, closed="neither")],
                      "max_gap": [Interval(float, 0, None, closed="neither")],
                      "classes": [list, tuple, None]})
    def __init__(self, *, max_speed: float = 53.6, coords: str = "3d", max_gap: float = 1.0,
                 classes: Sequence[str] | None = None) -> None:
        if coords not in ("3d", "2d"):
            raise InvalidParameterError(
                f"The 'coords' parameter of TooFast must be one of {{'3d', '2d'}}. Got {coords!r}.")
        self.max_speed = max_speed
        self.coords = coords
        self.max_gap = max_gap
        self.classes = classes

    @property
    def segment_gap(self) -> float:  # type: ignore[override]
        """Steps longer than ``max_gap`` are not compared: they end a track segment."""
        return self.max_gap

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        self.check_columns(observations)
        cols = ["track", "x", "y"] if self.coords == "3d" else ["track", *_BOX]
        missing = [c for c in cols if c not in observations.columns]
        if missing:
            from ..exceptions import SchemaError

            raise SchemaError(f"assertion {self.name!r} (coords={self.coords!r}) needs columns {missing}.")
        sub = _subset(observations, cols, self.classes)
        if len(sub) < 2:
            return empty_findings()
        sc = pd.factorize(sub["stream"])[0]
        tr = sub["track"].to_numpy(dtype=np.int64)
        t = sub["time"].to_numpy()
        oid = sub["obs_id"].to_numpy()
        order = np.lexsort((oid, t, tr, sc))
        if self.coords == "3d":
            px, py = sub["x"].to_numpy()[order], sub["y"].to_numpy()[order]
        else:
            b = sub[_BOX].to_numpy()[order]
            px, py = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        same = (sc[order][1:] == sc[order][:-1]) & (tr[order][1:] == tr[order][:-1])
        dt = np.diff(t[order])
        ok = same & (dt > 0) & (dt <= self.max_gap)
        dist = np.hypot(np.diff(px), np.diff(py))
        speed = np.where(ok, dist / np.where(dt > 0, dt, 1.0), 0.0)
        rows = np.flatnonzero(speed > self.max_speed)
        prev, cur = order[rows], order[rows + 1]
        frames = sub["frame"].to_numpy()
        return make_findings(
            self.name, "window", sub["stream"].to_numpy(dtype=object)[cur], frames[prev], frames[cur],
            [[int(a), int(b)] for a, b in zip(oid[prev], oid[cur], strict=True)],
            speed[rows] / self.max_speed, track=tr[cur],
            evidence={"speed": speed[rows], "dt": dt[rows], "distance": dist[rows]},
        )


class OutputRange(Assertion):
    """A model output outside a valid range (the paper's negative house prices).

    Works on any table (observations or plain rows): severity is how far outside the range
    the value is. Rows are identified by ``obs_id`` or ``id`` when present, else by position.

    Parameters
    ----------
    column : str
        The output column.
    low, high : float, optional
        Inclusive bounds; at least one.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.assertions import OutputRange
    >>> prices = pd.DataFrame({"predicted_price": [21.3, -4.0, 15.2]})
    >>> OutputRange(column="predicted_price", low=0).run(prices)[["frame_start", "severity"]]
       frame_start  severity
    0            1       4.0
    """

    needs_observations = False
    scope = "obs"

    def __init__(self, *, column: str, low: float | None = None, high: float | None = None) -> None:
        if low is None and high is None:
            raise InvalidParameterError("OutputRange needs low=, high= or both.")
        self.column = column
        self.low = low
        self.high = high

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        if self.column not in observations.columns:
            from ..exceptions import SchemaError

            raise SchemaError(f"assertion {self.name!r} needs column {self.column!r}.")
        v = pd.to_numeric(observations[self.column], errors="coerce").to_numpy(dtype=np.float64)
        below = (self.low - v) if self.low is not None else np.zeros_like(v)
        above = (v - self.high) if self.high is not None else np.zeros_like(v)
        sev = np.nan_to_num(np.maximum(np.maximum(below, above), 0.0), nan=0.0)
        rows = np.flatnonzero(sev > 0)
        streams, frames, ids = (k[rows] for k in row_keys(observations))
        return make_findings(
            self.name, "obs", streams, frames, frames, [[i] for i in ids], sev[rows],
            evidence={self.column: v[rows]},
        )


class NoRepeatedWords(Assertion):
    """A token sequence with the same word twice in a row (the paper's translation example).

    Parameters
    ----------
    column : str
        Column holding a list of tokens, or a string split on whitespace.
    ignore_case : bool

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.assertions import NoRepeatedWords
    >>> out = pd.DataFrame({"translation": ["the cat sat", "I I am am here"]})
    >>> NoRepeatedWords(column="translation").run(out)[["frame_start", "severity", "evidence"]]
       frame_start  severity                     evidence
    0            1       2.0  {"repeated": ["I", "am"]}
    """

    needs_observations = False
    scope = "obs"

    def __init__(self, *, column: str = "tokens", ignore_case: bool = False) -> None:
        self.column = column
        self.ignore_case = ignore_case

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        if self.column not in observations.columns:
            from ..exceptions import SchemaError

            raise SchemaError(f"assertion {self.name!r} needs column {self.column!r}.")
        sev = np.zeros(len(observations))
        repeated: list[list[str]] = []
        for i, value in enumerate(observations[self.column].tolist()):
            if isinstance(value, str):
                tokens = value.split()
            elif value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                tokens = []  # no output: nothing repeated
            else:
                tokens = list(value)
            cmp = [t.lower() for t in tokens] if self.ignore_case else tokens
            reps = [tokens[j] for j in range(1, len(cmp)) if cmp[j] == cmp[j - 1]]
            sev[i] = len(reps)
            repeated.append(reps)
        rows = np.flatnonzero(sev > 0)
        streams, frames, ids = (k[rows] for k in row_keys(observations))
        return make_findings(
            self.name, "obs", streams, frames, frames, [[i] for i in ids], sev[rows],
            evidence={"repeated": [repeated[r] for r in rows]},
        )
