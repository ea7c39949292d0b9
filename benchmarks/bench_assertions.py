"""Quality of the built-in model assertions on real detector output (issue 3 acceptance).

    python benchmarks/bench_assertions.py [--matching hungarian|greedy] [--data PATH] [--write]

What is measured
----------------
**MOT15** (``mot15/*/det.txt``: Faster R-CNN pedestrian detections, all with score >= 0.5;
``gt.txt`` as truth). A detection is *wrong* when it is left unmatched by a one-to-one
matching of detections to gt boxes of its frame at IoU >= 0.5. The matching is the
Hungarian algorithm maximizing the summed IoU over pairs with IoU >= 0.5 (``--matching
greedy`` instead gives each gt box to the highest-scoring detection first, as VOC/COCO
do; that choice correlates wrongness with low score, so it is not the default). One-to-one
matching makes a second box on one person wrong.

For Flicker, Multibox and Appear (after ``assay.tracking.associate`` links the detections
into tracks) the *flagged* detections are the union of the findings' ``obs_ids``; their
*precision* is the fraction that are wrong. It is shown next to the *base rate* (the
fraction of all detections that are wrong: the precision of flagging at random), and next
to the precision of flagging the *same number of lowest-confidence detections* (chosen per
sequence, so both flag the same number in each sequence). ``p`` is the one-sided binomial
probability of at least that many wrong detections among the flagged ones if they were
wrong at the base rate. A finding can name several detections, and all of them count as
flagged: the three (or more) boxes of a Multibox triple, of which usually only one is a
duplicate, so its precision is capped well below 1; every detection of a short Appear
track; both detections of a TooFast step. ClassSwitch is skipped: MOT15 has a single
class, so it cannot fire.

Gap flags no detection: each finding proposes a *missing* box at frame t+1 (the average
of the boxes at t and t+2). A proposal is *correct* when a gt box of frame t+1 that no
detection matched overlaps it at IoU >= 0.5. Its precision is shown next to a simple
baseline, *vanish*: for every detection with no detection at IoU >= 0.5 in the next frame,
propose its own box again in the next frame (all of them, and the top-k by score, k = the
number of Gap proposals of that sequence). ``missed`` is the number of gt boxes no detection
matched; ``recall`` counts the distinct missed gt boxes that correct proposals recover.

**KITTI** (``kitti/pointrcnn``: PointRCNN 3-D detections, score = sigmoid of the logit;
``kitti/label_02`` as truth). A detection is wrong when it is left unmatched by the same
one-to-one matching in the bird's-eye view, same frame, against labels of its class
group, at BEV IoU >= 0.5 (Car) or 0.25 (Pedestrian, Cyclist). Class groups: a Car
detection may match a ``Car`` or ``Van`` label, a Pedestrian one ``Pedestrian`` or
``Person_sitting``, a Cyclist one ``Cyclist`` (KITTI's own evaluation ignores Van and
Person_sitting for Car and Pedestrian; counting them as matches is the closest simple
rule). Truck, Tram and Misc labels match nothing. An unmatched detection whose 2-D image
box lies at least half inside a ``DontCare`` region (read with ``dontcare="only"``) is
*excluded* from every count (flagged, wrong, base rate, baseline) because there is no
truth for it; the assertions still run on all detections. Gap proposals and vanish
proposals at least half inside a DontCare region are excluded the same way, and a proposal
is correct when it overlaps (2-D IoU >= 0.5) an unmatched label box of the same class
group. Everything is reported twice: on all detections, and on detections with score
(probability) >= 0.5, thresholded *before* running the assertions and the matching, as a
deployment would.

3-D assertions: Flying (bottom of the box above ``ground=-1.65`` m, the road height in
KITTI's camera-origin frame, by more than ``max_height``), TooFast (after
``associate(box="bev", iou=0.1)``; both detections of a too-fast step are flagged; speeds
are in the moving ego frame, so a parked car seen from a car driving at 15 m/s moves at 15
m/s), Flicker, Gap and Multibox on the detections' 2-D image boxes, Appear on the BEV
tracks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, shared_data, write_section

from assay.assertions import Appear, Flicker, Flying, Gap, Multibox, TooFast, check
from assay.geometry import iou_2d, iou_bev
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot
from assay.tracking import associate

MOT_SEQUENCES = ("ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Campus", "Venice-2")
BOX2D = ["x1", "y1", "x2", "y2"]
BEV = ["x", "y", "l", "w", "yaw"]
#: KITTI label class -> class group a detection of that group may match.
KITTI_GROUP = {"Car": "Car", "Van": "Car", "Pedestrian": "Pedestrian",
               "Person_sitting": "Pedestrian", "Cyclist": "Cyclist"}
KITTI_IOU = {"Car": 0.5, "Pedestrian": 0.25, "Cyclist": 0.25}
KITTI_GROUND = -1.65


# --------------------------------------------------------------------------- matching

def match(det: pd.DataFrame, truth: pd.DataFrame, *, columns: list[str], iou: Callable,
          thresholds: dict[str, float], method: str) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching per (stream, frame, group): which detections and which truth
    boxes are matched. Both tables need a ``group`` column."""
    det_ok = np.zeros(len(det), dtype=bool)
    truth_hit = np.zeros(len(truth), dtype=bool)
    t_groups = truth.groupby(["stream", "frame", "group"], observed=True, sort=False).indices
    d_groups = det.groupby(["stream", "frame", "group"], observed=True, sort=False).indices
    dbox = det[columns].to_numpy(np.float64)
    tbox = truth[columns].to_numpy(np.float64)
    score = det["score"].to_numpy(np.float64)
    for key, di in d_groups.items():
        ti = t_groups.get(key)
        if ti is None:
            continue
        thr = thresholds[key[2]]
        ov = iou(dbox[di], tbox[ti])
        ok = ov >= thr
        if not ok.any():
            continue
        if method == "hungarian":
            cost = np.where(ok, 1.0 - ov, min(ok.shape) + 1.0)
            r, c = linear_sum_assignment(cost)
            keep = ok[r, c]
            r, c = r[keep], c[keep]
        else:  # greedy by score
            taken = np.zeros(len(ti), dtype=bool)
            r, c = [], []
            for i in np.argsort(-score[di], kind="stable"):
                cand = np.where(ok[i] & ~taken, ov[i], -1.0)
                j = int(np.argmax(cand))
                if cand[j] >= 0:
                    taken[j] = True
                    r.append(i)
                    c.append(j)
        det_ok[di[np.asarray(r, dtype=np.intp)]] = True
        truth_hit[ti[np.asarray(c, dtype=np.intp)]] = True
    return det_ok, truth_hit


def coverage(boxes: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Per box, the largest fraction of its area inside any one region (2-D boxes)."""
    if len(regions) == 0 or len(boxes) == 0:
        return np.zeros(len(boxes))
    ix = np.clip(np.minimum(boxes[:, None, 2], regions[None, :, 2])
                 - np.maximum(boxes[:, None, 0], regions[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, None, 3], regions[None, :, 3])
                 - np.maximum(boxes[:, None, 1], regions[None, :, 1]), 0, None)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-9)
    return (ix * iy / area[:, None]).max(axis=1)


def in_dontcare(table: pd.DataFrame, dontcare: pd.DataFrame | None) -> np.ndarray:
    """Rows whose 2-D box is at least half inside a DontCare region of their frame."""
    out = np.zeros(len(table), dtype=bool)
    if dontcare is None or table.empty:
        return out
    regions = dontcare.groupby(["stream", "frame"], sort=False).indices
    rbox = dontcare[BOX2D].to_numpy(np.float64)
    boxes = table[BOX2D].to_numpy(np.float64)
    for key, rows in table.groupby(["stream", "frame"], sort=False).indices.items():
        ri = regions.get(key)
        if ri is not None:
            out[rows] = coverage(boxes[rows], rbox[ri]) >= 0.5
    return out


# --------------------------------------------------------------------------- data sets

@dataclass
class Evaluated:
    """Detections with their truth status, and the truth they were matched against."""

    name: str
    det: pd.DataFrame          # canonical observations, obs_id unique, column "group"
    truth: pd.DataFrame        # with "group"
    wrong: np.ndarray          # per detection
    counted: np.ndarray        # per detection: part of the evaluation (not DontCare-excluded)
    truth_hit: np.ndarray      # per truth box: matched by some detection
    dontcare: pd.DataFrame | None
    tracks: pd.DataFrame       # det with "track" filled by associate
    streams: list[str]


def evaluate_set(name, det, truth, *, columns, iou, thresholds, method, dontcare, associate_kw):
    det = det.reset_index(drop=True)
    det["obs_id"] = np.arange(len(det), dtype=np.int64)
    ok, hit = match(det, truth, columns=columns, iou=iou, thresholds=thresholds, method=method)
    excluded = ~ok & in_dontcare(det, dontcare)
    tracks = associate(det.drop(columns="group"), **associate_kw)
    return Evaluated(name, det, truth, ~ok, ~excluded, hit, dontcare, tracks,
                     sorted(det["stream"].unique().tolist()))


def load_mot(root: Path, method: str) -> Evaluated:
    dets, gts = [], []
    for seq in MOT_SEQUENCES:
        if (root / seq).is_dir():
            dets.append(read_mot(root / seq / "det.txt", kind="det"))
            gts.append(read_mot(root / seq / "gt.txt", kind="gt"))
    det = pd.concat(dets, ignore_index=True).assign(group="pedestrian")
    gt = pd.concat(gts, ignore_index=True).assign(group="pedestrian")
    return evaluate_set("MOT15", det, gt, columns=BOX2D, iou=iou_2d,
                        thresholds={"pedestrian": 0.5}, method=method, dontcare=None,
                        associate_kw={})


def load_kitti(root: Path, method: str, min_score: float | None,
               cache: dict) -> Evaluated:
    if "det" not in cache:
        cache["det"] = read_kitti_detections(root / "pointrcnn")
        labels = read_kitti_tracking(root / "label_02")
        labels = labels[labels["cls"].isin(list(KITTI_GROUP))].reset_index(drop=True)
        cache["labels"] = labels.assign(group=labels["cls"].map(KITTI_GROUP).astype(str))
        cache["dontcare"] = read_kitti_tracking(root / "label_02", dontcare="only")
    det = cache["det"]
    if min_score is not None:
        det = det[det["score"] >= min_score]
    det = det.assign(group=det["cls"].astype(str))
    name = "KITTI, all detections" if min_score is None else f"KITTI, score >= {min_score:g}"
    return evaluate_set(name, det, cache["labels"], columns=BEV, iou=iou_bev,
                        thresholds=KITTI_IOU, method=method, dontcare=cache["dontcare"],
                        associate_kw={"box": "bev", "iou": 0.1})


# --------------------------------------------------------------------------- scoring

@dataclass
class Row:
    """One assertion configuration: per-stream counts (pooled = sums)."""

    assertion: str
    param: str
    findings: dict
    flagged: dict
    wrong: dict
    lowconf_wrong: dict
    median_score: float


def score_flags(ev: Evaluated, assertion: str, param: str, findings: pd.DataFrame) -> Row:
    """Precision of the detections named by ``findings`` (obs_ids) against the baselines."""
    n = len(ev.det)
    flag = np.zeros(n, dtype=bool)
    ids = np.fromiter((o for ids in findings["obs_ids"] for o in ids), dtype=np.int64)
    flag[ids] = True  # obs_id == position (set in evaluate_set)
    flag &= ev.counted
    streams = ev.det["stream"].to_numpy(dtype=object)
    f_stream = findings["stream"].to_numpy(dtype=object)
    score = ev.det["score"].to_numpy(np.float64)
    out = {k: {} for k in ("findings", "flagged", "wrong", "lowconf")}
    for s in ev.streams:
        in_s = (streams == s) & ev.counted
        k = int((flag & in_s).sum())
        rows = np.flatnonzero(in_s)
        low = rows[np.argsort(score[rows], kind="stable")[:k]]
        out["findings"][s] = int((f_stream == s).sum())
        out["flagged"][s] = k
        out["wrong"][s] = int((ev.wrong & flag & in_s).sum())
        out["lowconf"][s] = int(ev.wrong[low].sum())
    med = float(np.median(score[flag])) if flag.any() else float("nan")
    return Row(assertion, param, out["findings"], out["flagged"], out["wrong"], out["lowconf"], med)


@dataclass
class GapRow:
    param: str
    proposals: dict
    correct: dict
    recovered: dict
    vanish_n: dict
    vanish_correct: dict
    vanish_topk_correct: dict


def proposal_correct(ev: Evaluated, props: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For proposed boxes (stream, frame, group, x1..y2): correct?, and which truth row."""
    correct = np.zeros(len(props), dtype=bool)
    which = np.full(len(props), -1, dtype=np.int64)
    if props.empty:
        return correct, which
    t_groups = ev.truth.groupby(["stream", "frame", "group"], sort=False).indices
    tbox = ev.truth[BOX2D].to_numpy(np.float64)
    pbox = props[BOX2D].to_numpy(np.float64)
    for key, pi in props.groupby(["stream", "frame", "group"], sort=False).indices.items():
        ti = t_groups.get(key)
        if ti is None:
            continue
        ti = ti[~ev.truth_hit[ti]]  # only gt boxes that no detection matched
        if ti.size == 0:
            continue
        ov = iou_2d(pbox[pi], tbox[ti])
        best = ov.argmax(axis=1)
        good = ov[np.arange(len(pi)), best] >= 0.5
        correct[pi] = good
        which[pi[good]] = ti[best[good]]
    return correct, which


def vanish_proposals(ev: Evaluated) -> pd.DataFrame:
    """Each detection with no same-group detection at IoU >= 0.5 in the next frame slot,
    proposed again (same box) in that frame; only frames up to the stream's last frame."""
    det = ev.det
    out = []
    for s, d in det.groupby("stream", sort=False):
        frames = np.unique(d["frame"].to_numpy())
        stride = int(np.gcd.reduce(np.diff(frames))) if len(frames) > 1 else 1
        by_frame = d.groupby(["frame", "group"], sort=False).indices
        boxes = d[BOX2D].to_numpy(np.float64)
        last = frames.max()
        for (f, g), rows in by_frame.items():
            if f + stride > last:
                continue
            nxt = by_frame.get((f + stride, g))
            if nxt is None:
                keep = np.ones(len(rows), dtype=bool)
            else:
                keep = iou_2d(boxes[rows], boxes[nxt]).max(axis=1) < 0.5
            sub = d.iloc[rows[keep]]
            out.append(pd.DataFrame({"stream": s, "frame": f + stride, "group": g,
                                     "score": sub["score"].to_numpy(),
                                     **{c: sub[c].to_numpy() for c in BOX2D}}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["stream", "frame", "group", "score", *BOX2D])


def score_gap(ev: Evaluated, param: str, findings: pd.DataFrame, vanish: pd.DataFrame,
              vanish_ok: np.ndarray) -> GapRow:
    fixes = [json.loads(f) for f in findings["fix"]]
    props = pd.DataFrame({
        "stream": [f["stream"] for f in fixes], "frame": [f["frame"] for f in fixes],
        "group": [f["cls"] for f in fixes],  # the class group is the detection's class
        **{c: [f[c] for f in fixes] for c in BOX2D},
    }) if fixes else pd.DataFrame(columns=["stream", "frame", "group", *BOX2D])
    if not props.empty:
        props = props.astype({"frame": np.int64, **{c: np.float64 for c in BOX2D}})
        props = props[~in_dontcare(props, ev.dontcare)].reset_index(drop=True)
    correct, which = proposal_correct(ev, props)
    res = GapRow(param, {}, {}, {}, {}, {}, {})
    v_stream = vanish["stream"].to_numpy(dtype=object)
    v_score = vanish["score"].to_numpy(np.float64)
    p_stream = props["stream"].to_numpy(dtype=object)
    for s in ev.streams:
        m = p_stream == s
        k = int(m.sum())
        res.proposals[s] = k
        res.correct[s] = int(correct[m].sum())
        res.recovered[s] = len(set(which[m & correct].tolist()))
        vm = np.flatnonzero(v_stream == s)
        res.vanish_n[s] = int(vm.size)
        res.vanish_correct[s] = int(vanish_ok[vm].sum())
        top = vm[np.argsort(-v_score[vm], kind="stable")[:k]]
        res.vanish_topk_correct[s] = int(vanish_ok[top].sum())
    return res


# --------------------------------------------------------------------------- tables

def frac(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "–"


def pval(w: int, k: int, base: float) -> str:
    if k == 0:
        return "–"
    p = float(binom.sf(w - 1, k, base))
    return f"{p:.1e}" if p < 0.001 else f"{p:.3f}"


def pooled_table(ev: Evaluated, rows: list[Row]) -> str:
    counted = ev.counted
    n, w = int(counted.sum()), int((ev.wrong & counted).sum())
    base = w / n
    lines = [
        f"**{ev.name}**: {n:,} detections evaluated, {w:,} wrong: base rate **{base:.3f}**"
        + (f" ({int((~counted).sum()):,} unmatched detections inside DontCare regions excluded)"
           if (~counted).any() else "") + ".\n",
        "| assertion | parameter | findings | flagged dets | wrong | precision | base rate "
        "| lowest-conf precision (same k) | p vs base | median score flagged | beats base? "
        "| beats low-conf? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        k, wr, lc = sum(r.flagged.values()), sum(r.wrong.values()), sum(r.lowconf_wrong.values())
        if k:
            p = float(binom.sf(wr - 1, k, base))
            beats_base = "yes" if wr / k > base and p < 0.05 else ("higher, n.s." if wr / k > base else "no")
            beats_lc = "yes" if wr > lc else ("tie" if wr == lc else "no")
        else:
            beats_base = beats_lc = "–"
        med = f"{r.median_score:.3f}" if k else "–"
        lines.append(f"| {r.assertion} | {r.param} | {sum(r.findings.values()):,} | {k:,} | {wr:,} | "
                     f"{frac(wr, k)} | {base:.3f} | {frac(lc, k)} | {pval(wr, k, base)} | {med} | "
                     f"{beats_base} | {beats_lc} |")
    return "\n".join(lines)


def per_stream_table(ev: Evaluated, rows: list[Row]) -> str:
    streams = ev.streams
    head = "| assertion | parameter | " + " | ".join(streams) + " |"
    lines = [
        f"Per sequence, {ev.name}: each cell is *precision / lowest-confidence precision (flagged)*.\n",
        head, "|---|---|" + "---:|" * len(streams),
    ]
    st = ev.det["stream"].to_numpy(dtype=object)
    cells = []
    for s in streams:
        m = (st == s) & ev.counted
        cells.append(f"{(ev.wrong & m).sum() / max(m.sum(), 1):.3f} ({int(m.sum()):,} dets)")
    lines.append("| *base rate* | | " + " | ".join(cells) + " |")
    for r in rows:
        cells = [f"{frac(r.wrong[s], r.flagged[s])} / {frac(r.lowconf_wrong[s], r.flagged[s])} "
                 f"({r.flagged[s]})" if r.flagged[s] else "– (0)" for s in streams]
        lines.append(f"| {r.assertion} | {r.param} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gap_table(ev: Evaluated, rows: list[GapRow]) -> str:
    missed = ~ev.truth_hit
    st = ev.truth["stream"].to_numpy(dtype=object)
    n_missed = int(missed.sum())
    lines = [
        f"Gap on {ev.name}: {n_missed:,} of {len(ev.truth):,} truth boxes were missed by every "
        f"detection (miss rate {n_missed / len(ev.truth):.3f}).\n",
        "| Gap parameter | proposed boxes | correct | precision | distinct missed boxes recovered "
        "| recall of missed | vanish: proposals | vanish precision | vanish top-k precision |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        k, c = sum(r.proposals.values()), sum(r.correct.values())
        rec = sum(r.recovered.values())
        vn, vc, vt = sum(r.vanish_n.values()), sum(r.vanish_correct.values()), sum(r.vanish_topk_correct.values())
        lines.append(f"| {r.param} | {k:,} | {c:,} | {frac(c, k)} | {rec:,} | {frac(rec, n_missed)} | "
                     f"{vn:,} | {frac(vc, vn)} | {frac(vt, k)} |")
    lines += ["", f"Per sequence (Gap on {ev.name}): *precision / vanish top-k precision (proposals)*; "
              "header: missed truth boxes.\n",
              "| Gap parameter | " + " | ".join(f"{s} ({int((missed & (st == s)).sum())})" for s in ev.streams) + " |",
              "|---|" + "---:|" * len(ev.streams)]
    for r in rows:
        cells = [f"{frac(r.correct[s], r.proposals[s])} / {frac(r.vanish_topk_correct[s], r.proposals[s])} "
                 f"({r.proposals[s]})" if r.proposals[s] else "– (0)" for s in ev.streams]
        lines.append(f"| {r.param} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- runs

def run_obs_assertions(ev: Evaluated, configs: list[tuple[str, str, object, bool]]) -> list[Row]:
    rows = []
    for name, param, assertion, on_tracks in configs:
        findings = check(ev.tracks if on_tracks else ev.det.drop(columns="group"), [assertion])
        rows.append(score_flags(ev, name, param, findings))
    return rows


GAP_GRID = ((0.3, None), (0.5, None), (0.7, None), (0.7, 0.3))


def run_gap(ev: Evaluated, grid: tuple = GAP_GRID) -> list[GapRow]:
    vanish = vanish_proposals(ev)
    vanish = vanish[~in_dontcare(vanish, ev.dontcare)].reset_index(drop=True)
    vanish_ok, _ = proposal_correct(ev, vanish)
    out = []
    for v, mid in grid:
        findings = check(ev.det.drop(columns="group"), [Gap(iou=v, iou_middle=mid)])
        param = f"iou={v}" + (f", iou_middle={mid}" if mid is not None else "")
        out.append(score_gap(ev, param, findings, vanish, vanish_ok))
    return out


def mot_section(root: Path, method: str) -> str:
    ev = load_mot(root / "mot15", method)
    configs = (
        [("Flicker", f"iou={v}", Flicker(iou=v), False) for v in (0.1, 0.3, 0.5)]
        + [("Multibox", f"iou={v}", Multibox(iou=v), False) for v in (0.05, 0.1, 0.2, 0.3)]
        + [("Appear", f"min_duration={v} s", Appear(min_duration=v), True) for v in (0.25, 0.5, 1.0)]
    )
    rows = run_obs_assertions(ev, configs)
    gaps = run_gap(ev)
    return "\n\n".join([pooled_table(ev, rows), per_stream_table(ev, rows), gap_table(ev, gaps)])


def kitti_section(root: Path, method: str, min_score: float | None, cache: dict) -> str:
    ev = load_kitti(root / "kitti", method, min_score, cache)
    configs = (
        [("Flying", f"max_height={v} m", Flying(max_height=v, ground=KITTI_GROUND), False)
         for v in (0.5, 1.0, 2.0, 3.0, 10.0)]
        + [("TooFast", f"max_speed={v} m/s", TooFast(max_speed=v), True) for v in (20.0, 30.0, 40.0, 53.6)]
        + [("Flicker (2-D)", f"iou={v}", Flicker(iou=v), False) for v in (0.1, 0.3, 0.5)]
        + [("Multibox (2-D)", f"iou={v}", Multibox(iou=v), False) for v in (0.1, 0.3, 0.5)]
        + [("Appear", f"min_duration={v} s", Appear(min_duration=v), True) for v in (0.2, 0.5, 1.0)]
    )
    rows = run_obs_assertions(ev, configs)
    gaps = run_gap(ev)
    return "\n\n".join([pooled_table(ev, rows), per_stream_table(ev, rows), gap_table(ev, gaps)])


# --------------------------------------------------------------------------- Multibox defaults

MULTIBOX_FOLDS = 3
#: Pseudo-boxes at the base rate a setting's lift is shrunk with: a lift over 6 flagged
#: boxes counts a quarter of one over 60.
MULTIBOX_SHRINK = 20


def load_acf(root: Path, method: str) -> Evaluated:
    """MOT15 ACF detections (``det_acf.txt``, 4 sequences; scores are not probabilities)."""
    dets, gts = [], []
    for seq in MOT_SEQUENCES:
        if (root / seq / "det_acf.txt").is_file():
            dets.append(read_mot(root / seq / "det_acf.txt", kind="det"))
            gts.append(read_mot(root / seq / "gt.txt", kind="gt"))
    det = pd.concat(dets, ignore_index=True).assign(group="pedestrian")
    gt = pd.concat(gts, ignore_index=True).assign(group="pedestrian")
    return evaluate_set("MOT15 ACF", det, gt, columns=BOX2D, iou=iou_2d,
                        thresholds={"pedestrian": 0.5}, method=method, dontcare=None,
                        associate_kw={})


def multibox_grid() -> list[dict]:
    """Candidate Multibox settings (fixed before any fold was scored). Scores are not a
    parameter: ACF's are not probabilities, so no one gate means the same on every detector."""
    return [{"iou": v, "class_aware": ca} for ca in (True, False) for v in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)]


def _mb_name(c: dict) -> str:
    return f"iou={c['iou']:g}, class_aware={c['class_aware']}"


def multibox_counts(ev: Evaluated, c: dict) -> tuple[dict, dict, dict, dict, str | None]:
    """Per stream: flagged boxes, wrong flagged boxes, counted boxes, wrong boxes; and the
    assertion's notes (blind_spot)."""
    assertion = Multibox(**c)
    det = ev.det.drop(columns="group")
    findings = check(det, [assertion])
    r = score_flags(ev, "Multibox", _mb_name(c), findings)
    st = ev.det["stream"].to_numpy(dtype=object)
    n = {s: int(((st == s) & ev.counted).sum()) for s in ev.streams}
    w = {s: int(((st == s) & ev.counted & ev.wrong).sum()) for s in ev.streams}
    notes = findings.attrs.get("notes") or []
    return r.flagged, r.wrong, n, w, (notes[0] if notes else None)


def _lift(counts, streams) -> tuple[float, int, float, float]:
    """Shrunk lift, flagged boxes, precision, base rate over ``streams``."""
    flagged, wrong, n, w, _ = counts
    k = sum(flagged[s] for s in streams)
    base = sum(w[s] for s in streams) / max(sum(n[s] for s in streams), 1)
    prec = sum(wrong[s] for s in streams) / k if k else float("nan")
    return (k / (k + MULTIBOX_SHRINK) * (prec - base) if k else 0.0), k, prec, base


def multibox_holdout(root: Path, method: str) -> str:
    """Multibox's defaults chosen leave-sequences-out over the three shared detectors.

    For each fold (each detector's sequences, sorted, dealt round-robin into 3), every
    setting is scored on the other sequences. Its *lift* on a detector is the precision of
    the boxes it flags minus the detector's base wrong-rate there, shrunk towards 0 for
    settings that flag few boxes (times k / (k + 20) for k flagged boxes; 0 when it flags
    none). The objective follows the target ("above the base rate on every detector, or
    say why not"): first the fewest detectors on which the flagged boxes are *not* more
    often wrong than the base rate (flagging none is not counted against a setting: on
    suppressed detections that is what ``blind_spot`` reports), then the largest mean
    lift. The fold's choice is then read on its held-out sequences.
    """
    cache: dict = {}
    evs = [load_mot(root / "mot15", method), load_acf(root / "mot15", method),
           load_kitti(root / "kitti", method, None, cache)]
    names = {"MOT15": "MOT15 det.txt (Faster R-CNN)", "MOT15 ACF": "MOT15 det_acf.txt (ACF)",
             "KITTI, all detections": "KITTI PointRCNN (image boxes)"}
    grid = multibox_grid()
    counts = {(ev.name, i): multibox_counts(ev, c) for ev in evs for i, c in enumerate(grid)}
    folds = {ev.name: {s: i % MULTIBOX_FOLDS for i, s in enumerate(ev.streams)} for ev in evs}

    def objective(streams_of) -> np.ndarray:
        """Per setting: (-(detectors not above base), mean shrunk lift)."""
        out = np.zeros((len(grid), 2))
        for i in range(len(grid)):
            res = [_lift(counts[(ev.name, i)], streams_of(ev)) for ev in evs]
            fails = sum(k > 0 and prec <= base for _, k, prec, base in res)
            out[i] = (-fails, float(np.mean([r[0] for r in res])))
        return out

    def best(obj: np.ndarray) -> int:
        return int(np.lexsort((-obj[:, 1], -obj[:, 0]))[0])

    lines = [multibox_holdout.__doc__.split("\n\n", 1)[1].strip().replace("\n    ", "\n"), "",
             "| fold | setting chosen on the other sequences | detectors not above base there, mean lift | detector | held-out sequences "
             "| flagged boxes | wrong | precision | base rate | above base? | note (blind_spot) |",
             "|---:|---|---:|---|---|---:|---:|---:|---:|---|---|"]
    for k in range(MULTIBOX_FOLDS):
        obj = objective(lambda ev, k=k: [s for s in ev.streams if folds[ev.name][s] != k])
        i = best(obj)
        for ev in evs:
            held = [s for s in ev.streams if folds[ev.name][s] == k]
            lift, n_flag, prec, base = _lift(counts[(ev.name, i)], held)
            wrong = sum(counts[(ev.name, i)][1][s] for s in held)
            note = counts[(ev.name, i)][4] or ""
            verdict = "–" if not n_flag else ("yes" if prec > base else "no")
            lines.append(f"| {k} | {_mb_name(grid[i])} | {int(-obj[i, 0])}, {obj[i, 1]:+.3f} | {names[ev.name]} | "
                         f"{', '.join(held)} | {n_flag:,} | {wrong:,} | {frac(wrong, n_flag)} | {base:.3f} | "
                         f"{verdict} | {note[:160] + ('...' if len(note) > 160 else '')} |")
    obj = objective(lambda ev: ev.streams)
    i = best(obj)
    lines += ["", f"On every sequence the same procedure chooses **{_mb_name(grid[i])}** (the default "
              f"of Multibox): not above base on {int(-obj[i, 0])} detectors, mean shrunk lift "
              f"{obj[i, 1]:+.3f}.", "",
              "Every setting on every sequence (precision of flagged boxes / base rate; flagged boxes):", "",
              "| setting | " + " | ".join(names[ev.name] for ev in evs) + " | not above base | mean shrunk lift |",
              "|---|" + "---:|" * (len(evs) + 2)]
    for j, c in enumerate(grid):
        cells = []
        for ev in evs:
            _, n_flag, prec, base = _lift(counts[(ev.name, j)], ev.streams)
            cells.append(f"{prec:.3f} / {base:.3f} ({n_flag:,})" if n_flag else f"– / {base:.3f} (0)")
        lines.append(f"| {_mb_name(c)} | " + " | ".join(cells) + f" | {int(-obj[j, 0])} | {obj[j, 1]:+.3f} |")
    notes = {names[ev.name]: counts[(ev.name, i)][4] for ev in evs}
    lines += ["", "What Multibox's `blind_spot` says of each detector's boxes with the default:", ""]
    lines += [f"- {k}: {v or 'nothing (no sign of non-maximum suppression)'}" for k, v in notes.items()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matching", choices=["hungarian", "greedy"], default="hungarian",
                    help="one-to-one matching of detections to truth (default: Hungarian on IoU)")
    ap.add_argument("--data", type=Path, default=None, help="folder holding mot15/ and kitti/")
    ap.add_argument("--skip-kitti", action="store_true")
    ap.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    ap.add_argument("--multibox-holdout", action="store_true",
                    help="only: Multibox's defaults chosen leave-sequences-out, per detector")
    args = ap.parse_args()
    root = args.data or shared_data()
    if args.multibox_holdout:
        started = time.perf_counter()
        body = multibox_holdout(root, args.matching)
        seconds = time.perf_counter() - started
        print(body)
        if args.write:
            cmd = "python benchmarks/bench_assertions.py " + " ".join(sys.argv[1:])
            write_section("assertions-multibox", (
                "## Model assertions: Multibox's defaults chosen leave-sequences-out, per detector\n\n"
                f"`{cmd.strip()}` ({seconds:.0f} s; machine: {machine()})\n\n"
                "Detections, truth and *wrong* as in the section above (one-to-one matching at IoU "
                ">= 0.5 in the image for MOT15, bird's-eye view for KITTI, KITTI DontCare regions "
                "excluded); Multibox runs on the image boxes of all three detectors. *Precision* is "
                "the share of flagged boxes that are wrong; the *base rate* the share of all boxes "
                "that are wrong (the precision of flagging at random).\n\n" + body))
        return
    started = time.perf_counter()
    parts = ["### MOT15 (2-D, Faster R-CNN detections)", mot_section(root, args.matching)]
    if not args.skip_kitti:
        cache: dict = {}
        parts += ["### KITTI (3-D, PointRCNN detections): all detections",
                  kitti_section(root, args.matching, None, cache),
                  "### KITTI (3-D, PointRCNN detections): score >= 0.5",
                  kitti_section(root, args.matching, 0.5, cache)]
    seconds = time.perf_counter() - started
    body = "\n\n".join(parts)
    print(body)
    print(f"\n{seconds:.0f} s; {machine()}")
    if args.write:
        cmd = "python benchmarks/bench_assertions.py " + " ".join(sys.argv[1:])
        intro = __doc__.split("What is measured\n----------------\n", 1)[1].strip()
        write_section("assertions-quality", (
            "## Model assertions: precision on real detector output\n\n"
            f"`{cmd.strip()}` ({seconds:.0f} s; machine: {machine()})\n\n"
            + intro + "\n\n" + body
        ))


if __name__ == "__main__":
    main()
