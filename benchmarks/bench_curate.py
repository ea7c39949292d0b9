"""Active learning: does choosing frames with assertions (BAL) save labels? (issue 20)

Two tasks (``--task``): ``synthetic``, a window detector retrained on a drifting video built
from the real frames of ``vtest.avi`` with digits composited in (described in
``benchmarks/curate_synthetic.py``), and ``mot15`` (the default), described here: a small
learned *rescorer* decides which candidate boxes are real, on all six MOT15
sequences, each split **in time**: the first ``--pool-share`` (60%) of a sequence's frames are
the pool that frames are labeled from, the rest are the test frames. Quality is AP at IoU 0.5
(VOC all-point, greedy matching in score order, each gt box once) of the kept boxes on the
test frames of all six sequences against every gt box there.

Candidates, so that the model can both remove false boxes and add missed ones:

- the boxes of two detectors, Faster R-CNN (``det.txt``, all scores >= 0.5 as shipped) and
  ACF (``det_acf.txt``, in four sequences; its score is not a probability);
- *proposals*: each detector's boxes are linked into tracks (``assay.tracking.associate``,
  IoU 0.3, open 1 s), and every frame a track skips (gaps of 2 to ``--max-span`` frames) gets
  the linearly interpolated box. A raw detector output never has these boxes; a model that
  learns to keep them adds boxes the detectors missed (what Gap proposes).

The model's features are per box only, with no assertion in them (no overlap with the
previous or next frame, no track length, no duplicate overlap): the candidate's source
(Faster R-CNN, ACF, proposal from either), its score as a quantile among that detector's
boxes of the sequence (a proposal: the smaller of its two ends'), its box (log width, log
height, aspect, bottom and centre relative to the image, height relative to the image), the
proposal's span in frames (0 for a detection) and the sequence. No image pixels are in the
shared data, so there is no appearance feature. A candidate is *real* when a ``gt.txt`` box
of its frame overlaps it at IoU >= 0.5. The rescorer is a gradient-boosted classifier
(scikit-learn's HistGradientBoostingClassifier) retrained from scratch each round on the
candidates of the labeled frames; its output is the candidates after greedy non-maximum
suppression (IoU 0.5) in probability order, ``score`` = the probability, and the deployed
boxes over the pool are those with probability >= 0.5, linked into tracks each round
(IoU 0.3, open 0.5 s). The assertions run on these: Flicker (IoU 0.3), Multibox (IoU 0.1),
Appear (0.5 s) and Gap (IoU 0.5).

Each seed labels ``--initial`` random pool frames (the same for every strategy), then runs
``--rounds`` rounds of ``--budget`` frames chosen by each strategy, retraining after each
round (the same training seed per round for every strategy). Strategies: random, uncertainty
(least confidence, the frame's most uncertain kept box), assertions-uniform, BAL
epsilon-greedy (relative reward, epsilon 0.1), BAL UCB (c 1), BAL epsilon-greedy with random
and uncertainty as extra arms (rewarded, as a reviewer's verdicts would, with the share of
their frames where the deployed boxes had an error against gt), and the positive control
error-oracle (frames with the most false and missed boxes against gt first), also as
error-oracle-spread (the streams in turn, picks at least 3 frames apart). Picks of the
assertion strategies lie at least 3 frames apart in a sequence.

Both tasks share the strategies, the campaigns (:func:`campaigns`) and the read-out. Cost is
counted in frames and in boxes (the truth boxes of the labeled frames, what a reviewer draws).

Read-out, paired over seeds: each strategy's AP minus random's at every round with a 95% t
interval; the frames the mean curve needs to reach random's final mean AP, and the saving
against random's, with 95% percentile intervals from resampling seeds (2,000 resamples); the
same in boxes (each strategy's mean boxes per round as its x axis); and the smallest
final-round difference the experiment detects with 80% power at a two-sided 5% level,
``(t_0.975 + t_0.8) * sd / sqrt(n)`` with ``sd`` the observed seed-to-seed sd of that
strategy's difference from random. Each BAL variant's final AP is also compared with
uncertainty sampling's, paired over seeds (the paper claims BAL beats both).

Run::

    python benchmarks/bench_curate.py                 # 10 seeds, prints the tables
    python benchmarks/bench_curate.py --write         # and records them in docs/benchmarks.md
    python benchmarks/bench_curate.py --plot curve.png
    python benchmarks/bench_curate.py --task synthetic --seeds 30 --world-seed 0 --write   # the drifting video
    python benchmarks/bench_curate.py --task synthetic --seeds 30 --world-seed 1 --write   # another world
"""

from __future__ import annotations

import os

# scikit-learn's OpenMP threads busy-wait on a shared machine
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import shared_data, tee_to_docs

import assay
from assay.assertions import Appear, Flicker, Gap, Multibox
from assay.curate import ERROR_ORACLE, simulate
from assay.geometry import iou_2d_paired
from assay.io import read_mot, read_seqinfo
from assay.tracking import associate

SEQUENCES = ("ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Campus", "Venice-2")
BOX = ["x1", "y1", "x2", "y2"]
#: Source codes of candidates: the detectors, then proposals interpolated from their tracks.
SOURCES = ("faster-rcnn", "acf", "proposal:faster-rcnn", "proposal:acf")
FEATURES = ["source", "score_q", "log_w", "log_h", "aspect", "y_bottom", "x_center", "rel_h", "span",
            "sequence"]
#: The strategies compared: label -> parameters of :func:`assay.curate.simulate`.
STRATEGIES = {
    "random": {"strategy": "random"},
    "uncertainty": {"strategy": "uncertainty"},
    "assertions-uniform": {"strategy": "assertions-uniform"},
    "bal-egreedy": {"strategy": "bal", "policy": "epsilon-greedy"},
    "bal-ucb": {"strategy": "bal", "policy": "ucb"},
    "bal-egreedy+arms": {"strategy": "bal", "policy": "epsilon-greedy", "extra_arms": ["random", "uncertainty"]},
    "error-oracle": {"strategy": ERROR_ORACLE},
    "error-oracle-spread": {"strategy": ERROR_ORACLE, "min_gap": 3, "balance": True},
}
BAL_LABELS = ("bal-egreedy", "bal-ucb", "bal-egreedy+arms")
#: The positive controls: the raw one, and one that spreads its picks over streams and time.
CONTROLS = ("error-oracle", "error-oracle-spread")


# ---------------------------------------------------------------------- data and candidates


def load(data: Path, sequences: tuple[str, ...], max_frames: int | None = None
         ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Detections of both detectors (``detector`` 0 and 1), gt boxes and sequence info;
    ``max_frames`` keeps each sequence's first frames only (for a quick run)."""
    dets, gts, info = [], [], {}
    for seq in sequences:
        folder = data / "mot15" / seq
        info[seq] = dict(read_seqinfo(folder / "seqinfo.ini"))
        parts = [read_mot(folder / "det.txt", kind="det").assign(detector=0)]
        if (folder / "det_acf.txt").exists():
            parts.append(read_mot(folder / "det_acf.txt", kind="det", source="model:det").assign(detector=1))
        g = read_mot(folder / "gt.txt", kind="gt")
        if max_frames is not None:
            info[seq]["length"] = min(int(info[seq]["length"]), max_frames)
            parts = [p.loc[p["frame"] <= max_frames] for p in parts]
            g = g.loc[g["frame"] <= max_frames]
        dets += parts
        gts.append(g)
    det = pd.concat(dets, ignore_index=True)
    det["source"] = "model:det"
    det["obs_id"] = np.arange(len(det), dtype="int64")
    gt = pd.concat(gts, ignore_index=True)
    gt["obs_id"] = np.arange(len(gt), dtype="int64")
    return det, gt, info


def _score_quantile(det: pd.DataFrame) -> np.ndarray:
    return det.groupby([det["stream"].astype(str), det["detector"]])["score"].rank(pct=True).to_numpy()


def candidates(det: pd.DataFrame, max_span: int) -> pd.DataFrame:
    """The detections plus one interpolated proposal for every frame a detector's track skips
    (gaps of 2 to ``max_span`` frames); ``source`` code (see :data:`SOURCES`), ``score_q``
    and ``span`` per candidate, as an observations table."""
    det = det.assign(score_q=_score_quantile(det), span=0, src=det["detector"])
    props = []
    for d, part in det.groupby("detector", sort=True):
        tr = associate(part.drop(columns=["track"]), iou=0.3, max_gap=1.0)
        tr = tr.sort_values(["stream", "track", "frame"], kind="stable")
        s = tr["stream"].astype(str).to_numpy(dtype=object)
        k = tr["track"].to_numpy()
        f = tr["frame"].to_numpy()
        t = tr["time"].to_numpy()
        b = tr[BOX].to_numpy()
        q = tr["score_q"].to_numpy()
        gap = np.diff(f)
        ends = np.flatnonzero((s[1:] == s[:-1]) & (k[1:] == k[:-1]) & (gap >= 2) & (gap <= max_span))
        reps = gap[ends] - 1
        a = np.repeat(ends, reps)
        # m = 1 .. gap - 1 for each gap
        m = np.arange(len(a)) - np.repeat(np.cumsum(reps) - reps, reps) + 1
        w = (m / gap[a])[:, None]
        box = b[a] * (1 - w) + b[a + 1] * w
        props.append(pd.DataFrame({
            "stream": s[a], "frame": f[a] + m, "time": t[a] + (t[a + 1] - t[a]) * w[:, 0],
            "x1": box[:, 0], "y1": box[:, 1], "x2": box[:, 2], "y2": box[:, 3],
            "score_q": np.minimum(q[a], q[a + 1]), "span": gap[a], "src": 2 + int(d), "detector": int(d),
        }))
    p = pd.concat(props, ignore_index=True)
    p["score"] = p["score_q"]
    p["cls"] = det["cls"].iloc[0]
    p["source"] = "model:det"
    cand = pd.concat([det, p], ignore_index=True)
    cand = cand.sort_values(["stream", "frame", "src"], kind="stable", ignore_index=True)
    cand["obs_id"] = np.arange(len(cand), dtype="int64")
    cand["track"] = pd.array([pd.NA] * len(cand), dtype="Int64")
    return cand


def _pairs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i in a, j in b) of every box pair in the same frame of a stream."""
    left = pd.DataFrame({"stream": a["stream"].astype(str).to_numpy(), "frame": a["frame"].to_numpy(),
                         "i": np.arange(len(a))})
    right = pd.DataFrame({"stream": b["stream"].astype(str).to_numpy(), "frame": b["frame"].to_numpy(),
                          "j": np.arange(len(b))})
    m = left.merge(right, on=["stream", "frame"])
    return m["i"].to_numpy(), m["j"].to_numpy()


def features(cand: pd.DataFrame, info: dict) -> pd.DataFrame:
    """Per-box features only (see :data:`FEATURES`): nothing from other frames or other boxes."""
    boxes = cand[BOX].to_numpy()
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    stream = cand["stream"].astype(str).to_numpy(dtype=object)
    im_w = np.array([info[s]["width"] for s in stream], dtype=float)
    im_h = np.array([info[s]["height"] for s in stream], dtype=float)
    seqs = sorted(info)
    return pd.DataFrame({
        "source": cand["src"].to_numpy(dtype=float), "score_q": cand["score_q"].to_numpy(),
        "log_w": np.log(w), "log_h": np.log(h), "aspect": h / w,
        "y_bottom": boxes[:, 3] / im_h, "x_center": (boxes[:, 0] + boxes[:, 2]) / 2 / im_w, "rel_h": h / im_h,
        "span": cand["span"].to_numpy(dtype=float),
        "sequence": np.array([seqs.index(s) for s in stream], dtype=float),
    })


class NMS:
    """Greedy non-maximum suppression over fixed boxes, for any scores: the overlapping
    pairs (same frame, IoU >= ``iou``) are found once."""

    def __init__(self, boxes: pd.DataFrame, iou: float = 0.5) -> None:
        i, j = _pairs(boxes, boxes)
        keep = i != j
        i, j = i[keep], j[keep]
        ok = iou_2d_paired(boxes[BOX].to_numpy()[i], boxes[BOX].to_numpy()[j]) >= iou
        i, j = i[ok], j[ok]
        order = np.argsort(i, kind="stable")
        self.ptr = np.searchsorted(i[order], np.arange(len(boxes) + 1))
        self.nbr = j[order]
        self.n = len(boxes)

    def __call__(self, score: np.ndarray) -> np.ndarray:
        """Boolean mask of the boxes kept."""
        suppressed = np.zeros(self.n, dtype=bool)
        ptr, nbr = self.ptr, self.nbr
        for i in np.argsort(-score, kind="stable"):
            if not suppressed[i] and ptr[i + 1] > ptr[i]:
                suppressed[nbr[ptr[i]:ptr[i + 1]]] = True
        return ~suppressed


class TestAP:
    """VOC all-point AP at IoU >= 0.5 of scored boxes against every gt box (greedy matching
    in score order, each gt box matched once)."""

    def __init__(self, det: pd.DataFrame, gt: pd.DataFrame) -> None:
        i, j = _pairs(det, gt)
        iou = iou_2d_paired(det[BOX].to_numpy()[i], gt[BOX].to_numpy()[j])
        ok = iou >= 0.5
        i, j, iou = i[ok], j[ok], iou[ok]
        order = np.lexsort((-iou, i))
        i, j = i[order], j[order]
        starts = np.searchsorted(i, np.arange(len(det) + 1))
        self.cand = [j[starts[k]:starts[k + 1]] for k in range(len(det))]
        self.n_gt = len(gt)

    def __call__(self, score: np.ndarray, keep: np.ndarray | None = None) -> float:
        idx = np.flatnonzero(keep) if keep is not None else np.arange(len(score))
        order = idx[np.argsort(-score[idx], kind="stable")]
        used = np.zeros(self.n_gt, dtype=bool)
        tp = np.zeros(len(order))
        for rank, d in enumerate(order):
            for g in self.cand[d]:
                if not used[g]:
                    used[g] = True
                    tp[rank] = 1
                    break
        ctp = np.cumsum(tp)
        recall = ctp / self.n_gt
        precision = ctp / np.arange(1, len(order) + 1)
        mprec = np.maximum.accumulate(precision[::-1])[::-1]
        return float(np.sum(np.diff(np.r_[0.0, recall]) * mprec))


# ---------------------------------------------------------------------- the learning task


class Task:
    """The callbacks of :func:`assay.curate.simulate` for the rescorer, split in time."""

    def __init__(self, det: pd.DataFrame, gt: pd.DataFrame, info: dict, *, pool_share: float,
                 max_span: int, max_iter: int) -> None:
        cand = candidates(det, max_span)
        feats = features(cand, info)
        i, j = _pairs(cand, gt)
        iou = iou_2d_paired(cand[BOX].to_numpy()[i], gt[BOX].to_numpy()[j])
        best = np.zeros(len(cand))
        np.maximum.at(best, i, iou)
        self.real = (best >= 0.5).astype(np.int8)
        cut = {s: int(np.floor(pool_share * info[s]["length"])) for s in info}
        in_pool = lambda t: (t["frame"].to_numpy() <= t["stream"].astype(str).map(cut).to_numpy())  # noqa: E731
        pool, gpool = in_pool(cand), in_pool(gt)
        self.cand, self.info, self.cut = cand, info, cut
        self.X_pool, self.y_pool = feats.loc[pool, FEATURES].to_numpy(), self.real[pool]
        self.X_test = feats.loc[~pool, FEATURES].to_numpy()
        self.pool_obs = assay.validate(cand.loc[pool].drop(columns=["score_q", "span", "src", "detector"])
                                       .reset_index(drop=True))
        self.pool_key = pd.MultiIndex.from_arrays([self.pool_obs["stream"].astype(str).to_numpy(dtype=object),
                                                   self.pool_obs["frame"].to_numpy()])
        test = cand.loc[~pool].reset_index(drop=True)
        self.nms_pool, self.nms_test = NMS(self.pool_obs), NMS(test)
        self.gt_pool = gt.loc[gpool].reset_index(drop=True)
        self.ap = TestAP(test, gt.loc[~gpool].reset_index(drop=True))
        self.raw_test = cand.loc[~pool, "score_q"].to_numpy() + (cand.loc[~pool, "src"].to_numpy() == 0)
        self.src_pool = cand.loc[pool, "src"].to_numpy()
        self.src_test = test["src"].to_numpy()
        self.max_iter = max_iter
        self.frames = pd.DataFrame([(s, f) for s in sorted(info) for f in range(1, cut[s] + 1)],
                                   columns=["stream", "frame"])
        self.n_test_frames = sum(info[s]["length"] - cut[s] for s in info)

    def retrain(self, labeled: pd.DataFrame, revealed: pd.DataFrame, rng: np.random.Generator):
        from sklearn.ensemble import HistGradientBoostingClassifier

        keys = pd.MultiIndex.from_arrays([labeled["stream"].astype(str).to_numpy(dtype=object),
                                          labeled["frame"].to_numpy()])
        rows = self.pool_key.isin(keys)
        y = self.y_pool[rows]
        if len(np.unique(y)) < 2:
            return ("constant", float(y.mean()) if len(y) else 0.5)
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=10,
            l2_regularization=1.0, categorical_features=[0, FEATURES.index("sequence")],
            random_state=int(rng.integers(2**31 - 1)))
        return model.fit(self.X_pool[rows], y)

    @staticmethod
    def _prob(model, X: np.ndarray) -> np.ndarray:
        if isinstance(model, tuple):
            return np.full(len(X), model[1]) + 1e-6 * X[:, 1]  # constant: keep the score order
        return model.predict_proba(X)[:, 1]

    def predict(self, model) -> pd.DataFrame:
        p = self._prob(model, self.X_pool)
        keep = self.nms_pool(p) & (p >= 0.5)
        out = self.pool_obs.loc[keep].copy()
        out["score"] = p[keep]
        return associate(out, iou=0.3, max_gap=0.5, keep_existing=False)

    def evaluate(self, model) -> float:
        p = self._prob(model, self.X_test)
        return self.ap(p, self.nms_test(p))


# ---------------------------------------------------------------------- read-out


@dataclass(frozen=True)
class Readout:
    """The tables of one run: ``curve`` (mean AP per strategy and round), ``paired`` (per
    strategy and round: difference from random, 95% t interval, seeds higher), ``table`` (per
    strategy: final AP, its paired difference from random with interval, power, frames to
    reach random's final AP and the saving with intervals, errors in the first picks) and
    ``versus`` (each BAL variant's final AP minus uncertainty's, paired over seeds, with a 95% t
    interval: the paper claims BAL beats uncertainty sampling too)."""

    curve: pd.DataFrame
    paired: pd.DataFrame
    table: pd.DataFrame
    target: float
    seeds: int
    versus: pd.DataFrame | None = None


def _crossing(labels: np.ndarray, q: np.ndarray, target: float) -> float:
    hit = np.flatnonzero(q >= target - 1e-12)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(labels[0])
    return float(labels[i - 1] + (target - q[i - 1]) * (labels[i] - labels[i - 1]) / (q[i] - q[i - 1]))


def _percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile`` that keeps an infinite end infinite (interpolating towards one gives NaN)."""
    if np.isnan(x).all():
        return float("nan")
    with np.errstate(invalid="ignore"):
        v = float(np.percentile(x, q))
    return v if not np.isnan(v) else float(np.sort(x)[int(np.ceil(q / 100 * (len(x) - 1)))])


def readout(result, *, boot: int = 2000, seed: int = 0) -> Readout:
    from scipy import stats

    c = result.curves
    names = list(result.strategies)
    rounds = sorted(c["round"].unique())
    labels = c.groupby("round")["labels"].mean().reindex(rounds).to_numpy(float)
    has_boxes = "boxes" in c.columns
    B = np.stack([c.loc[c["strategy"] == s].pivot(index="seed", columns="round", values="boxes")
                  .reindex(columns=rounds).to_numpy(float) if has_boxes else np.full((c["seed"].nunique(), len(rounds)), np.nan)
                  for s in names])  # strategy x seed x round
    Q = np.stack([c.loc[c["strategy"] == s].pivot(index="seed", columns="round", values="quality")
                  .reindex(columns=rounds).to_numpy() for s in names])  # strategy x seed x round
    n = Q.shape[1]
    r = names.index("random")
    curve = pd.DataFrame(Q.mean(axis=1), index=names, columns=[f"r{k}" for k in rounds])
    t975 = stats.t.ppf(0.975, n - 1) if n > 1 else np.nan
    t80 = stats.t.ppf(0.8, n - 1) if n > 1 else np.nan
    D = Q - Q[r]
    sd = D.std(axis=1, ddof=1) if n > 1 else np.full(D.mean(axis=1).shape, np.nan)
    half = t975 * sd / np.sqrt(n)
    mean = D.mean(axis=1)
    paired = pd.DataFrame([
        {"strategy": s, "round": k, "labels": labels[m], "diff": mean[i, m], "lo": mean[i, m] - half[i, m],
         "hi": mean[i, m] + half[i, m], "higher": int((D[i, :, m] > 0).sum())}
        for i, s in enumerate(names) if i != r for m, k in enumerate(rounds)])
    target = float(Q[r, :, -1].mean())
    reach = np.array([_crossing(labels, Q[i].mean(axis=0), target) for i in range(len(names))])
    # in boxes: each strategy's own mean boxes per round is its x axis
    breach = np.array([_crossing(B[i].mean(axis=0), Q[i].mean(axis=0), target) for i in range(len(names))])
    rng = np.random.default_rng(seed)
    boots = np.full((boot, len(names)), np.nan)
    bboots = np.full((boot, len(names)), np.nan)
    for b in range(boot):
        idx = rng.integers(n, size=n)
        m = Q[:, idx].mean(axis=1)
        mb = B[:, idx].mean(axis=1)
        tb = m[r, -1]
        boots[b] = [_crossing(labels, m[i], tb) for i in range(len(names))]
        bboots[b] = [_crossing(mb[i], m[i], tb) for i in range(len(names))]
    # a resample whose mean curve never reaches the target needs more frames than were labeled
    boots = np.where(np.isfinite(boots), boots, np.inf)
    bboots = np.where(np.isfinite(bboots) | ~has_boxes, bboots, np.inf)
    saving = 1 - boots / boots[:, [r]]
    with np.errstate(invalid="ignore"):
        bsaving = 1 - bboots / bboots[:, [r]]
    first = c.loc[c["round"] == rounds[0]].groupby("strategy")
    picked, streams = first["picked_errors"].mean(), first["picked_streams"].mean()
    rows = []
    for i, s in enumerate(names):
        fin = Q[i, :, -1]
        row = {"strategy": s, "final": fin.mean(), "final_sd": fin.std(ddof=1) if n > 1 else np.nan,
               "diff": mean[i, -1], "lo": mean[i, -1] - half[i, -1], "hi": mean[i, -1] + half[i, -1],
               "higher": int((D[i, :, -1] > 0).sum()), "sd_diff": sd[i, -1],
               "mde80": (t975 + t80) * sd[i, -1] / np.sqrt(n),
               "frames": reach[i], "reached_share": np.isfinite(boots[:, i]).mean(),
               "frames_lo": _percentile(boots[:, i], 2.5), "frames_hi": _percentile(boots[:, i], 97.5),
               "saving": 1 - reach[i] / reach[r],
               "saving_lo": _percentile(saving[:, i], 2.5), "saving_hi": _percentile(saving[:, i], 97.5),
               "boxes_final": B[i, :, -1].mean(), "boxes": breach[i], "boxes_reached_share": np.isfinite(bboots[:, i]).mean(),
               "boxes_lo": _percentile(bboots[:, i], 2.5), "boxes_hi": _percentile(bboots[:, i], 97.5),
               "boxes_saving": 1 - breach[i] / breach[r],
               "boxes_saving_lo": _percentile(bsaving[:, i], 2.5), "boxes_saving_hi": _percentile(bsaving[:, i], 97.5),
               "picked_errors": float(picked.get(s, np.nan)), "picked_streams": float(streams.get(s, np.nan))}
        if i == r:
            row.update(diff=np.nan, lo=np.nan, hi=np.nan, higher=np.nan, sd_diff=np.nan, mde80=np.nan)
        rows.append(row)
    versus = []
    if "uncertainty" in names:
        u = names.index("uncertainty")
        for b in (b for b in BAL_LABELS if b in names):
            d = Q[names.index(b), :, -1] - Q[u, :, -1]
            h = t975 * d.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
            versus.append({"strategy": b, "diff": d.mean(), "lo": d.mean() - h, "hi": d.mean() + h,
                           "higher": int((d > 0).sum())})
    return Readout(curve, paired, pd.DataFrame(rows), target, n, pd.DataFrame(versus))


def verdict(ro: Readout, unit: str = "sequences") -> str:
    """The answer to the paper's claim from the read-out, in words."""
    t = ro.table.set_index("strategy")
    lines = []
    controls = [c for c in CONTROLS if c in t.index]
    power = False
    for c in controls:
        o = t.loc[c]
        power = power or bool(o["lo"] > 0)
        lines.append(
            f"**Positive control {c}:** minus random at the last round {o['diff']:+.4f} AP "
            f"[{o['lo']:+.4f}, {o['hi']:+.4f}]: "
            + ("it beats random." if o["lo"] > 0 else "it does **not** beat random.")
            + (f" Its round-1 picks hold {o['picked_errors']:.1f} errors per frame (random's "
               f"{t.loc['random', 'picked_errors']:.1f}) and come from {o['picked_streams']:.1f} of the {unit} "
               f"on average (random's from {t.loc['random', 'picked_streams']:.1f})."
               if "random" in t.index else ""))
    if not controls:
        lines.append("No positive control was run: the experiment cannot tell a null result from no power.")
    elif power:
        lines.append("A positive control beats random, so this experiment can show a gain from choosing frames.")
    else:
        lines.append("No positive control beats random, so this experiment has **no power** to show a gain from "
                     "choosing frames (a rule that knows every error could not win here): no strategy's result "
                     "below can confirm or refute the claim.")
    mdes = t["mde80"].dropna()
    if len(mdes):
        lines.append(f"**Power:** with {ro.seeds} seeds the smallest final-round AP difference from random "
                     f"detectable at 80% power (two-sided 5%) is {mdes.min():.4f} to {mdes.max():.4f} across "
                     f"strategies (median {mdes.median():.4f}), from the observed sd of the paired differences.")
    bals = [b for b in BAL_LABELS if b in t.index]
    confirmed = [b for b in bals if t.loc[b, "saving_lo"] > 0 and t.loc[b, "saving"] >= 0.25]
    refuted = [b for b in bals if t.loc[b, "saving_hi"] < 0.25]
    if not power:
        claim = "**inconclusive**: the positive control does not beat random (no power)"
    elif confirmed:
        claim = (f"**confirmed** for {', '.join(confirmed)}: random's final AP reached with >= 25% fewer frames, "
                 "the saving's 95% interval excluding 0 ("
                 + "; ".join(f"{b} {t.loc[b, 'saving']:+.0%} [{_pct(t.loc[b, 'saving_lo'])}, "
                             f"{_pct(t.loc[b, 'saving_hi'])}]" for b in confirmed) + ")")
        if any(t.loc[b, "saving_lo"] < 0.25 for b in confirmed):
            claim += (". The acceptance rule reads the point estimate: the intervals reach below 25%, so the data "
                      "show a saving, not that it is at least 25%")
    elif len(refuted) == len(bals) and bals:
        claim = ("**refuted** on this task: with a positive control that works, no BAL variant reaches random's "
                 "final AP with 25% fewer frames (each saving's 95% interval lies below 25%)")
    else:
        claim = ("**inconclusive**: the positive control works, but the savings' intervals of some BAL variant "
                 "include 25% without excluding 0; more seeds would settle it")
    lines.append(f"**The paper's claim** (BAL reaches random's final mAP with >= 25% fewer labels): {claim}.")
    if ro.versus is not None and len(ro.versus):
        lines.append("**Against uncertainty sampling** (the paper claims BAL beats it too), final AP minus "
                     "uncertainty's, paired [95% t interval]: "
                     + "; ".join(f"{r.strategy} {r.diff:+.4f} [{r.lo:+.4f}, {r.hi:+.4f}], higher in {r.higher}/{ro.seeds} seeds"
                                 for r in ro.versus.itertuples())
                     + (": no BAL variant is shown to beat uncertainty sampling." if (ro.versus["lo"] <= 0).all()
                        else "."))
    return "\n\n".join(lines)


def _frames(x: float) -> str:
    return f"{x:.0f}" if np.isfinite(x) else "not reached"


def _pct(x: float) -> str:
    return f"{x:+.0%}" if np.isfinite(x) else "-inf"


def _reach(row, x: float, ci: tuple[float, float], reached: float, saving: tuple[float, float, float]
           ) -> tuple[str, str]:
    """The cells "cost to reach random's final AP [interval]" and "saving [interval]"."""
    if row.strategy == "random":
        return f"{x:.0f}", "–"
    if not np.isfinite(x):
        return f"not reached ({reached:.0%} of resamples reach it)", "–"
    return (f"{x:.0f} [{_frames(ci[0])}, {_frames(ci[1])}]",
            f"{saving[0]:+.0%} [{_pct(saving[1])}, {_pct(saving[2])}]")


def print_readout(ro: Readout, result, unit: str = "sequences") -> None:
    """Print the tables and the verdict; ``unit`` names the streams (``sequences``, ``streams``)."""
    t = ro.table
    c = result.curves
    rounds = sorted(c["round"].unique())
    labels = c.groupby("round")["labels"].mean()
    print("Test AP per round (mean over seeds; frames labeled in brackets).\n")
    print("| strategy | " + " | ".join(f"r{k} ({labels[k]:.0f})" for k in rounds) + " |")
    print("|---|" + "---:|" * len(rounds))
    for s, row in ro.curve.iterrows():
        print(f"| {s} | " + " | ".join(f"{v:.4f}" for v in row) + " |")
    print("\nPaired difference from random at each round, mean [95% t interval over seeds].\n")
    print("| strategy | " + " | ".join(f"r{k}" for k in rounds[1:]) + " |")
    print("|---|" + "---:|" * (len(rounds) - 1))
    for s, part in ro.paired.groupby("strategy", sort=False):
        part = part.set_index("round")
        print(f"| {s} | " + " | ".join(f"{part.loc[k, 'diff']:+.4f} [{part.loc[k, 'lo']:+.4f}, {part.loc[k, 'hi']:+.4f}]"
                                       for k in rounds[1:]) + " |")
    print(f"\nThe result. `final AP`: last round, mean ± sd over {ro.seeds} seeds; `vs random`: paired "
          "difference [95% t interval] and seeds where the strategy is higher; `MDE80`: the smallest "
          "paired final difference detectable at 80% power given this row's sd; `frames to "
          f"{ro.target:.4f}`: frames the mean curve needs to reach random's final mean AP (linear between "
          "rounds) [95% interval from resampling seeds; `not reached` when more than 2.5% of resamples "
          "never reach it within the labeled frames]; `saving`: 1 - frames / random's frames, same "
          "resamples; `errors in r1 picks`: mean errors (false + missed boxes against gt) of the deployed "
          f"model in the frames picked in round 1; `{unit} in r1 picks`: how many of the {unit} "
          "those frames come from (mean over seeds).\n")
    print(f"| strategy | final AP | vs random | higher | MDE80 | frames to {ro.target:.4f} | saving | "
          f"errors in r1 picks | {unit} in r1 picks |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in t.itertuples():
        vs = "–" if not np.isfinite(row.diff) else f"{row.diff:+.4f} [{row.lo:+.4f}, {row.hi:+.4f}]"
        hi = "–" if not np.isfinite(row.diff) else f"{row.higher:.0f}/{ro.seeds}"
        mde = "–" if not np.isfinite(row.mde80) else f"{row.mde80:.4f}"
        fr, sv = _reach(row, row.frames, (row.frames_lo, row.frames_hi), row.reached_share,
                        (row.saving, row.saving_lo, row.saving_hi))
        print(f"| {row.strategy} | {row.final:.4f} ± {row.final_sd:.4f} | {vs} | {hi} | {mde} | {fr} | {sv} | "
              f"{row.picked_errors:.1f} | {row.picked_streams:.1f} |")
    if np.isfinite(t["boxes_final"]).all():
        print(f"\nThe cost in boxes (the truth boxes of the labeled frames, what a reviewer draws). `boxes labeled`: "
              f"labeled by the last round (mean over seeds); `boxes to {ro.target:.4f}`: boxes the mean curve "
              "needs to reach random's final mean AP, each strategy's mean boxes per round as its x axis "
              "[95% interval from the same resamples of seeds]; `saving`: 1 - boxes / random's boxes.\n")
        print(f"| strategy | boxes labeled | boxes to {ro.target:.4f} | saving |")
        print("|---|---:|---:|---:|")
        for row in t.itertuples():
            bx, sv = _reach(row, row.boxes, (row.boxes_lo, row.boxes_hi), row.boxes_reached_share,
                            (row.boxes_saving, row.boxes_saving_lo, row.boxes_saving_hi))
            print(f"| {row.strategy} | {row.boxes_final:.0f} | {bx} | {sv} |")
    print("\n" + verdict(ro, unit))


# ---------------------------------------------------------------------- main


def experiment(data: Path, *, seeds: int, rounds: int, budget: int, initial: int, max_frames: int | None = None,
               pool_share: float = 0.6, max_span: int = 8, max_iter: int = 100,
               strategies: dict | None = None, n_jobs: int = 1):
    """Build the task and run the campaigns; returns ``(task, result, seconds)``."""
    t0 = time.perf_counter()
    det, gt, info = load(data, SEQUENCES, max_frames)
    task = Task(det, gt, info, pool_share=pool_share, max_span=max_span, max_iter=max_iter)
    prep = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = campaigns(task, seeds=seeds, rounds=rounds, budget=budget, initial=initial, strategies=strategies,
                       n_jobs=n_jobs)
    return task, result, (prep, time.perf_counter() - t1)


def campaigns(task, *, seeds: int, rounds: int, budget: int, initial: int, strategies: dict | None = None,
              n_jobs: int = 1):
    """The simulated campaigns of every strategy on a task (``gt_pool``, ``frames``, ``retrain``,
    ``predict``, ``evaluate``), with the assertions and BAL settings both tasks share."""
    return simulate(
        task.gt_pool, frames=task.frames, retrain=task.retrain, predict=task.predict, evaluate=task.evaluate,
        assertions=[Flicker(iou=0.3), Multibox(iou=0.1), Appear(min_duration=0.5), Gap(iou=0.5)],
        strategies=strategies or STRATEGIES, rounds=rounds, budget=budget, initial=initial, seeds=seeds,
        n_jobs=n_jobs, epsilon=0.1, reward="relative", c=1.0, min_gap=3,
    )


SETUP = """A rescorer (gradient-boosted trees over per-box features only: source, score quantile,
box geometry, proposal span, sequence; no assertion features) decides which candidates are real:
Faster R-CNN and ACF detections plus boxes interpolated across the gaps of each detector's tracks,
so it can both remove false boxes and add missed ones. All six MOT15 sequences are split in time:
the first 60% of each sequence's frames are the pool, the last 40% the test frames. Labeling a
frame reveals which of its candidates match a `gt.txt` box (IoU >= 0.5). Quality: AP@0.5 after
NMS on the test frames of all six sequences against all their gt boxes. The assertions (Flicker,
Multibox, Appear, Gap) run on the model's own kept boxes over the pool, tracked each round.
Details: the docstring of `benchmarks/bench_curate.py`."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=("mot15", "synthetic"), default="mot15",
                    help="the MOT15 rescorer or the synthetic drifting video (benchmarks/curate_synthetic.py)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=10, help="frames per round")
    ap.add_argument("--initial", type=int, default=10, help="random frames before round 1")
    ap.add_argument("--pool-share", type=float, default=0.6, help="share of each sequence's first frames in the pool")
    ap.add_argument("--max-span", type=int, default=8, help="longest track gap (frames) that gets proposals")
    ap.add_argument("--max-iter", type=int, default=100, help="boosting iterations")
    ap.add_argument("--max-frames", type=int, help="each sequence's first frames only (a quick run; synthetic: "
                                                  "the video's first frames)")
    ap.add_argument("--C", type=float, default=1.0, help="synthetic: inverse regularisation of the logistic regression")
    ap.add_argument("--world-seed", type=int, default=0, help="synthetic: the seed of the rendered world")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--strategies", help="comma-separated labels among " + ", ".join(STRATEGIES))
    ap.add_argument("--key", help="section of docs/benchmarks.md (default: curate, curate-synthetic)")
    ap.add_argument("--title")
    ap.add_argument("--note", default="", help="a sentence printed before the tables (e.g. why fewer seeds)")
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--write", action="store_true", help="record the tables in docs/benchmarks.md")
    args = ap.parse_args()

    chosen = {k: STRATEGIES[k] for k in args.strategies.split(",")} if args.strategies else STRATEGIES
    if args.task == "synthetic":
        return _synthetic(args, chosen)
    args.key = args.key or "curate"
    args.title = args.title or ("Active learning on MOT15: BAL against baselines and a positive control "
                                "(issue 20, split in time)")
    task, result, (prep, sim) = experiment(
        shared_data(), seeds=args.seeds, rounds=args.rounds, budget=args.budget, initial=args.initial,
        max_frames=args.max_frames, pool_share=args.pool_share, max_span=args.max_span, max_iter=args.max_iter,
        strategies=chosen, n_jobs=args.jobs)
    cpu = time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
                                    for f in ("ru_utime", "ru_stime"))
    ro = readout(result)
    with tee_to_docs(args.key, args.title, args.write):
        print(SETUP + "\n")
        if args.note:
            print(args.note + "\n")
        src = np.bincount(task.cand["src"].to_numpy(), minlength=4)
        print(f"Candidates: {len(task.cand):,} ({', '.join(f'{n:,} {s}' for n, s in zip(src, SOURCES, strict=True))}); "
              f"{task.real.mean():.3f} of them real; proposals real: "
              f"{task.real[task.cand['src'].to_numpy() >= 2].mean():.3f}. Pool: {len(task.frames):,} frames, "
              f"{len(task.y_pool):,} candidates, {len(task.gt_pool):,} gt boxes. Test: {task.n_test_frames:,} frames, "
              f"{len(task.X_test):,} candidates, {task.ap.n_gt:,} gt boxes.")
        raw = task.ap(task.raw_test, task.src_test < 2)
        every = task.evaluate(task.retrain(task.frames, None, np.random.default_rng(0)))
        print(f"Test AP of the raw detections (Faster R-CNN by score, then ACF; no proposals): {raw:.4f}. "
              f"Rescorer trained on every pool frame: {every:.4f}.")
        print(f"{args.seeds} seeds, {args.initial} random initial frames, {args.rounds} rounds of {args.budget} "
              f"frames; {args.max_iter} boosting iterations; candidates, features and labels {prep:.0f} s, "
              f"simulation {sim:.0f} s wall ({args.jobs} process{'es' if args.jobs > 1 else ''}), {cpu:.0f} s CPU "
              "in all.\n")
        print_readout(ro, result)
    if args.plot:
        result.plot(args.plot, title="MOT15 rescorer, split in time: test AP@0.5")
        print(f"plot written to {args.plot}")



def _synthetic(args: argparse.Namespace, chosen: dict) -> None:
    import curate_synthetic as syn

    task, result, (prep, sim) = syn.experiment(
        seeds=args.seeds, rounds=args.rounds, budget=args.budget, initial=args.initial,
        video_frames=args.max_frames, pool_share=args.pool_share, C=args.C, world_seed=args.world_seed,
        strategies=chosen, n_jobs=args.jobs)
    cpu = time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
                                    for f in ("ru_utime", "ru_stime"))
    ro = readout(result)
    title = args.title or ("Active learning on a synthetic drifting video: BAL against baselines and a positive "
                           "control (issue 20, a detector retrained, split in time)")
    key = args.key or ("curate-synthetic" + (f"-world-{args.world_seed}" if args.world_seed else ""))
    if args.world_seed and not args.title:
        title += f", world seed {args.world_seed}"
    with tee_to_docs(key, title, args.write):
        print(syn.SETUP + "\n")
        if args.note:
            print(args.note + "\n")
        print(syn.describe(task))
        print(f"{args.seeds} seeds, {args.initial} random initial frames, {args.rounds} rounds of {args.budget} "
              f"frames; C = {args.C}, world seed {args.world_seed}; video, world and features {prep:.0f} s, simulation {sim:.0f} s wall "
              f"({args.jobs} process{'es' if args.jobs > 1 else ''}), {cpu:.0f} s CPU in all.\n")
        print_readout(ro, result, unit="streams")
    if args.plot:
        result.plot(args.plot, title="synthetic drifting video: test AP@0.5")
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
