"""Active learning on MOT15: does choosing frames with assertions (BAL) save labels? (issue 7)

The task: a small learned *rescorer* decides which detector boxes are real. The candidates
are the boxes of two detectors, Faster R-CNN (``det.txt``) and ACF (``det_acf.txt``, in the
sequences that have it); their scores are on different scales and the two often box the same
person, so the raw scores rank the union badly and labels have something to teach. The
rescorer is a gradient-boosted classifier (scikit-learn's HistGradientBoostingClassifier)
over features of each box: detector, confidence and its quantile among that detector's boxes
of the sequence, the box (size, aspect, position in the image), its frame (number of boxes,
confidence rank, largest overlap with a more confident box of the same detector, largest
overlap with a box of the other detector and that box's confidence quantile) and its
temporal context (largest IoU with a box of the same detector one and two frames before and
after; length, mean confidence quantile and position of its track after
``assay.tracking.associate`` linked each detector's raw boxes). A box is *real* when greedy
matching (Faster R-CNN boxes first, then ACF; each by confidence, highest first) gives it a
``gt.txt`` box at IoU >= 0.5, so a duplicate of a real box is not real.

Labels are revealed per frame: labeling a frame reveals whether each box in it is real.
Pool: ADL-Rundle-6, ETH-Bahnhof, PETS09-S2L1, Venice-2. Quality: AP at IoU 0.5 (VOC
all-point, greedy matching in score order, each gt box once) of the rescored boxes of the
held-out sequences KITTI-13 and TUD-Campus against all their gt boxes.

Each seed labels ``--initial`` random frames (the same frames for every strategy), then runs
``--rounds`` rounds of ``--budget`` frames chosen by each strategy, retraining from scratch
after each round (same training seed per round for every strategy). The deployed model's
output over the pool is the boxes with rescored probability >= 0.5 (``score`` = that
probability), tracked once beforehand; the assertions run on it: Flicker (iou 0.3), Multibox
(iou 0.1), Appear (min 0.5 s) and Gap (iou 0.5). Strategies: random, uncertainty (least
confidence of the rescorer, the frame's most uncertain box), assertions-uniform and BAL
(relative reward, epsilon 0.1); the assertion strategies fill with random frames when the
flagged frames run out (they never do here).

Run::

    python benchmarks/bench_curate.py                 # 10 seeds, prints the tables
    python benchmarks/bench_curate.py --write         # and records them in docs/benchmarks.md
    python benchmarks/bench_curate.py --plot curve.png
    python benchmarks/bench_curate.py --no-acf        # Faster R-CNN boxes only
"""

from __future__ import annotations

import os

# scikit-learn's OpenMP threads busy-wait on a shared machine; the campaigns run in processes
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import shared_data, tee_to_docs

import assay
from assay.assertions import Appear, Flicker, Gap, Multibox
from assay.curate import simulate
from assay.geometry import iou_2d_paired
from assay.io import read_mot, read_seqinfo
from assay.tracking import associate

POOL = ("ADL-Rundle-6", "ETH-Bahnhof", "PETS09-S2L1", "Venice-2")
HELD_OUT = ("KITTI-13", "TUD-Campus")
BOX = ["x1", "y1", "x2", "y2"]
FEATURES = [
    "detector", "score", "score_q", "log_w", "log_h", "aspect", "y_bottom", "x_center", "rel_h",
    "n_frame", "score_rank", "dup_iou", "dup_score_gap", "other_iou", "other_q",
    "iou_m1", "iou_p1", "iou_m2", "iou_p2", "track_len", "track_score", "track_pos",
]


# ---------------------------------------------------------------------- data and features


def load(data: Path, pool: tuple[str, ...], held_out: tuple[str, ...], acf: bool) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    dets, gts, info = [], [], {}
    for seq in pool + held_out:
        folder = data / "mot15" / seq
        info[seq] = read_seqinfo(folder / "seqinfo.ini")
        d = read_mot(folder / "det.txt", kind="det")
        d["detector"] = 0
        dets.append(d)
        if acf and (folder / "det_acf.txt").exists():
            a = read_mot(folder / "det_acf.txt", kind="det", source="model:det")
            a["detector"] = 1
            dets.append(a)
        gts.append(read_mot(folder / "gt.txt", kind="gt"))
    det = pd.concat(dets, ignore_index=True).sort_values(["stream", "frame", "detector"], kind="stable",
                                                         ignore_index=True)
    det["obs_id"] = np.arange(len(det), dtype="int64")
    gt = pd.concat(gts, ignore_index=True)
    gt["obs_id"] = np.arange(len(gt), dtype="int64")
    return assay.validate(det), assay.validate(gt), info


def _pairs(a: pd.DataFrame, b: pd.DataFrame, offset: int, by: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i in a, j in b) of every box pair with b's frame = a's frame + offset
    (and equal ``by`` columns)."""
    left = pd.DataFrame({"stream": a["stream"].astype(str), "frame": a["frame"] + offset,
                         **{c: a[c] for c in by}, "i": np.arange(len(a))})
    right = pd.DataFrame({"stream": b["stream"].astype(str), "frame": b["frame"],
                          **{c: b[c] for c in by}, "j": np.arange(len(b))})
    m = left.merge(right, on=["stream", "frame", *by])
    return m["i"].to_numpy(), m["j"].to_numpy()


def _seg_max(values: np.ndarray, idx: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    out = np.full(n, fill)
    np.maximum.at(out, idx, values)
    return out


def features(det: pd.DataFrame, info: dict) -> pd.DataFrame:
    n = len(det)
    boxes = det[BOX].to_numpy()
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    stream = det["stream"].astype(str).to_numpy(dtype=object)
    im_w = np.array([info[s]["width"] for s in stream], dtype=float)
    im_h = np.array([info[s]["height"] for s in stream], dtype=float)
    score = det["score"].to_numpy()
    detector = det["detector"].to_numpy()
    f = pd.DataFrame({
        "detector": detector.astype(float), "score": score,
        # a detector's scores are not on one scale across detectors: also give the quantile
        # of the score among that detector's boxes of the sequence
        "score_q": pd.Series(score).groupby([stream, detector]).rank(pct=True).to_numpy(),
        "log_w": np.log(w), "log_h": np.log(h), "aspect": h / w,
        "y_bottom": boxes[:, 3] / im_h, "x_center": (boxes[:, 0] + boxes[:, 2]) / 2 / im_w,
        "rel_h": h / im_h,
    })
    key = det["stream"].astype(str) + "#" + det["frame"].astype(str) + "#" + det["detector"].astype(str)
    f["n_frame"] = key.map(key.value_counts()).to_numpy(dtype=float)
    f["score_rank"] = pd.Series(score).groupby(key.to_numpy()).rank(ascending=False).to_numpy() / f["n_frame"]
    i, j = _pairs(det, det, 0, ("detector",))
    keep = i != j
    i, j = i[keep], j[keep]
    iou = iou_2d_paired(boxes[i], boxes[j])
    stronger = score[j] > score[i]
    f["dup_iou"] = _seg_max(np.where(stronger, iou, 0.0), i, n)
    f["dup_score_gap"] = _seg_max(np.where(stronger & (iou > 0.3), score[j] - score[i], 0.0), i, n)
    # agreement with the other detector in the same frame (0 when a sequence has one detector)
    i, j = _pairs(det, det, 0)
    other = detector[i] != detector[j]
    i, j = i[other], j[other]
    iou = iou_2d_paired(boxes[i], boxes[j])
    f["other_iou"] = _seg_max(iou, i, n)
    f["other_q"] = _seg_max(np.where(iou >= 0.5, f["score_q"].to_numpy()[j], 0.0), i, n)
    for off, name in ((-1, "iou_m1"), (1, "iou_p1"), (-2, "iou_m2"), (2, "iou_p2")):
        i, j = _pairs(det, det, off, ("detector",))
        f[name] = _seg_max(iou_2d_paired(boxes[i], boxes[j]), i, n)
    parts = []
    for d, part in det.groupby("detector", sort=True):
        parts.append(associate(part, iou=0.3, max_gap=0.5).assign(
            track=lambda t, d=d: t["track"] * 2 + int(d)))
    tracked = pd.concat(parts)
    tr = tracked.set_index("obs_id").loc[det["obs_id"], "track"].to_numpy(dtype="int64")
    g = pd.Series(f["score_q"].to_numpy()).groupby(tr)
    f["track_len"] = g.transform("size").to_numpy(dtype=float)
    f["track_score"] = g.transform("mean").to_numpy()
    f["track_pos"] = (pd.Series(det["frame"].to_numpy()).groupby(tr).rank(pct=True)).to_numpy()
    f.attrs["track"] = tr
    return f


class HeldOutAP:
    """VOC all-point AP at IoU >= 0.5 of rescored detections against every gt box (greedy
    matching in score order, each gt box matched once)."""

    def __init__(self, det: pd.DataFrame, gt: pd.DataFrame) -> None:
        i, j = _pairs(det, gt, 0)
        iou = iou_2d_paired(det[BOX].to_numpy()[i], gt[BOX].to_numpy()[j])
        ok = iou >= 0.5
        i, j, iou = i[ok], j[ok], iou[ok]
        order = np.lexsort((-iou, i))
        i, j = i[order], j[order]
        starts = np.searchsorted(i, np.arange(len(det) + 1))
        self.cand = [j[starts[k]:starts[k + 1]] for k in range(len(det))]
        self.n_gt = len(gt)
        self.n = len(det)

    def match(self, order: np.ndarray) -> np.ndarray:
        """Greedy matching in ``order``: each detection takes its best-IoU free gt box.
        Returns 1 (true positive) or 0 per position of ``order``."""
        used = np.zeros(self.n_gt, dtype=bool)
        tp = np.zeros(self.n)
        for rank, d in enumerate(order):
            for g in self.cand[d]:
                if not used[g]:
                    used[g] = True
                    tp[rank] = 1
                    break
        return tp

    def __call__(self, prob: np.ndarray) -> float:
        tp = self.match(np.argsort(-prob, kind="stable"))
        ctp = np.cumsum(tp)
        recall = ctp / self.n_gt
        precision = ctp / np.arange(1, self.n + 1)
        # all-point interpolation: precision made monotone from the right
        mprec = np.maximum.accumulate(precision[::-1])[::-1]
        return float(np.sum(np.diff(np.r_[0.0, recall]) * mprec))


# ---------------------------------------------------------------------- the learning task


class Task:
    """The callbacks of :func:`assay.curate.simulate` for the rescorer (picklable)."""

    def __init__(self, det: pd.DataFrame, gt: pd.DataFrame, info: dict, max_iter: int,
                 pool_seqs: tuple[str, ...], held_out: tuple[str, ...]) -> None:
        feats = features(det, info)
        # a detection is real when greedy matching (Faster R-CNN first, then ACF; each by
        # score, highest first) gives it a gt box at IoU >= 0.5: a duplicate is never real
        order = np.lexsort((-det["score"].to_numpy(), det["detector"].to_numpy()))
        real = np.zeros(len(det), dtype=np.int8)
        real[order] = HeldOutAP(det, gt).match(order).astype(np.int8)
        pool = det["stream"].isin(pool_seqs).to_numpy()
        self.pool_seqs, self.held_out = pool_seqs, held_out
        self.X_pool = feats.loc[pool, FEATURES].to_numpy()
        self.y_pool = real[pool]
        self.X_test = feats.loc[~pool, FEATURES].to_numpy()
        # the detectors' own ranking: Faster R-CNN by its score, then ACF by its score
        self.raw_test = (feats["score_q"] + (det["detector"] == 0)).to_numpy()[~pool]
        self.pool_obs = det.loc[pool].reset_index(drop=True)
        self.pool_obs["track"] = pd.array(feats.attrs["track"][pool], dtype="Int64")
        self.pool_key = pd.MultiIndex.from_arrays([self.pool_obs["stream"].astype(str).to_numpy(dtype=object),
                                                   self.pool_obs["frame"].to_numpy()])
        self.ap = HeldOutAP(det.loc[~pool].reset_index(drop=True),
                            gt.loc[gt["stream"].isin(held_out).to_numpy()].reset_index(drop=True))
        self.max_iter = max_iter
        self.frames = pd.DataFrame(
            [(s, f) for s in pool_seqs for f in range(1, info[s]["length"] + 1)], columns=["stream", "frame"])

    def retrain(self, labeled: pd.DataFrame, revealed: pd.DataFrame, rng: np.random.Generator):
        from sklearn.ensemble import HistGradientBoostingClassifier

        keys = pd.MultiIndex.from_arrays([labeled["stream"].astype(str).to_numpy(dtype=object),
                                          labeled["frame"].to_numpy()])
        rows = self.pool_key.isin(keys)
        y = self.y_pool[rows]
        if len(np.unique(y)) < 2:
            return ("constant", float(y.mean()) if len(y) else 0.5)
        model = HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=0.1, max_leaf_nodes=15,
                                               min_samples_leaf=10, l2_regularization=1.0,
                                               random_state=int(rng.integers(2**31 - 1)))
        return model.fit(self.X_pool[rows], y)

    def _prob(self, model, X: np.ndarray) -> np.ndarray:
        if isinstance(model, tuple):
            return np.full(len(X), model[1]) + 1e-6 * X[:, 0]  # constant: keep detector order
        return model.predict_proba(X)[:, 1]

    def predict(self, model) -> pd.DataFrame:
        p = self._prob(model, self.X_pool)
        keep = p >= 0.5
        out = self.pool_obs.loc[keep].copy()
        out["score"] = p[keep]
        return out

    def evaluate(self, model) -> float:
        return self.ap(self._prob(model, self.X_test))


# ---------------------------------------------------------------------- main

SETUP = """A rescorer (gradient-boosted trees) decides which boxes of two detectors (Faster R-CNN
`det.txt` and ACF `det_acf.txt`) are real; labeling a frame reveals which of its boxes match
`gt.txt` (greedy, IoU >= 0.5, duplicates not real). Frames are chosen from four pool sequences;
quality is AP@0.5 of the rescored boxes on two held-out sequences against all their gt boxes.
Each seed starts from the same random frames for every strategy and retrains from scratch after
every round; assertions (Flicker, Multibox, Appear, Gap) run on the rescorer's kept boxes
(probability >= 0.5) over the pool. Details: the docstring of `benchmarks/bench_curate.py`."""


def conclusion(result, area: pd.DataFrame, strategies: list[str]) -> str:
    """A plain statement of whether BAL saved labels, from the paired intervals."""
    from scipy import stats

    parts = []
    for s in strategies:
        if s == "bal":
            continue
        d = (area["bal"] - area[s]).to_numpy()
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        if d.mean() - half > 0:
            parts.append(f"better than {s} (+{d.mean():.4f} mean AP over the rounds)")
        elif d.mean() + half < 0:
            parts.append(f"worse than {s} ({d.mean():+.4f})")
        else:
            parts.append(f"not distinguishable from {s} ({d.mean():+.4f}, 95% interval includes 0)")
    final = result.summary().query("strategy == 'random'")["mean"].iloc[-1]
    reach = result.labels_to_reach(float(final)).set_index("strategy")
    bal, rnd = reach.loc["bal", "labels"], reach.loc["random", "labels"]
    if np.isfinite(bal) and np.isfinite(rnd) and bal < rnd:
        saved = f"its mean curve reaches random's final AP with {rnd - bal:.0f} fewer frames ({(rnd - bal) / rnd:.0%})"
    elif np.isfinite(bal):
        saved = "its mean curve needs no fewer frames than random to reach random's final AP"
    else:
        saved = "its mean curve never reaches random's final AP within the budget"
    verdict = "yes" if any(p.startswith("better") for p in parts) and np.isfinite(bal) and bal < rnd else "no"
    summary = result.summary()
    last = summary.loc[summary["round"] == summary["round"].max()].set_index("strategy")["firings"]
    fewest = str(last.idxmin())
    firings = (f"At the last round the assertions fire {last['bal']:.0f} times over the pool under BAL, "
               f"{last['random']:.0f} under random" + (" (the fewest of all strategies)" if fewest == "bal" else
                                                       f" (fewest: {fewest}, {last[fewest]:.0f})") + ".")
    head = f"**Does BAL save labels here? {verdict.capitalize()}.** Over the rounds, BAL is "
    tail = (" Fewer firings did not turn into higher held-out AP on this task." if verdict == "no" and fewest == "bal"
            else "")
    return head + "; ".join(parts) + f"; {saved}. " + firings + tail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=10, help="frames per round")
    ap.add_argument("--initial", type=int, default=10, help="random frames before round 1")
    ap.add_argument("--max-iter", type=int, default=100, help="boosting iterations")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-acf", action="store_true", help="Faster R-CNN detections only")
    ap.add_argument("--strategies", default="random,uncertainty,assertions-uniform,bal")
    ap.add_argument("--reward", default="relative", choices=["relative", "absolute"])
    ap.add_argument("--epsilon", type=float, default=0.1)
    ap.add_argument("--key", default="curate", help="section of docs/benchmarks.md")
    ap.add_argument("--title", default="Active learning on MOT15: BAL against baselines (issue 7)")
    ap.add_argument("--target", type=float, default=0.53, help="fixed AP target for the labels-to-reach table")
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--write", action="store_true", help="record the tables in docs/benchmarks.md")
    args = ap.parse_args()

    t0 = time.perf_counter()
    det, gt, info = load(shared_data(), POOL, HELD_OUT, acf=not args.no_acf)
    task = Task(det, gt, info, args.max_iter, POOL, HELD_OUT)
    prep = time.perf_counter() - t0
    assertions = [Flicker(iou=0.3), Multibox(iou=0.1), Appear(min_duration=0.5), Gap(iou=0.5)]
    strategies = args.strategies.split(",")
    t1 = time.perf_counter()
    result = simulate(
        det.iloc[:0], frames=task.frames, retrain=task.retrain, predict=task.predict,
        evaluate=task.evaluate, assertions=assertions, strategies=strategies, rounds=args.rounds,
        budget=args.budget, initial=args.initial, seeds=args.seeds, n_jobs=args.jobs,
        epsilon=args.epsilon, reward=args.reward,
    )
    sim = time.perf_counter() - t1
    cpu = time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
                                    for f in ("ru_utime", "ru_stime"))

    with tee_to_docs(args.key, args.title, args.write):
        print(SETUP + "\n")
        n_pool = int(task.pool_key.size)
        print(f"Pool: {', '.join(POOL)} ({len(task.frames):,} frames, {n_pool:,} detections, "
              f"{task.y_pool.mean():.3f} of them real). Held out: {', '.join(HELD_OUT)} "
              f"({len(task.X_test):,} detections, {task.ap.n_gt:,} gt boxes).")
        print(f"Raw detector confidence on the held-out sequences: AP {task.ap(task.raw_test):.4f}. "
              f"Rescorer trained on every pool frame: AP {task.evaluate(task.retrain(task.frames, None, np.random.default_rng(0))):.4f}.")
        print(f"{args.seeds} seeds, {args.initial} random initial frames, {args.rounds} rounds of "
              f"{args.budget} frames; {args.max_iter} boosting iterations; features and labels "
              f"{prep:.0f} s, simulation {sim:.0f} s wall ({args.jobs} processes), {cpu:.0f} s CPU in "
              f"all; BAL: reward {args.reward}, epsilon {args.epsilon}.\n")
        summary = result.summary()
        print("Held-out AP per round: mean ± sd over seeds [min, max]; `firings`: mean findings of "
              "the four assertions over the pool predictions of the model of that round.\n")
        rounds = sorted(summary["round"].unique())
        print("| strategy | " + " | ".join(f"round {r} ({int(summary.loc[summary['round'] == r, 'labels'].iloc[0])} frames)" for r in rounds) + " |")
        print("|---|" + "---:|" * len(rounds))
        for s in strategies:
            part = summary.loc[summary["strategy"] == s].set_index("round")
            cells = [f"{part.loc[r, 'mean']:.4f} ± {part.loc[r, 'std']:.4f} [{part.loc[r, 'min']:.3f}, {part.loc[r, 'max']:.3f}]"
                     for r in rounds]
            print(f"| {s} | " + " | ".join(cells) + " |")
        print("\n| strategy | " + " | ".join(f"firings r{r}" for r in rounds) + " |")
        print("|---|" + "---:|" * len(rounds))
        for s in strategies:
            part = summary.loc[summary["strategy"] == s].set_index("round")
            print(f"| {s} | " + " | ".join(f"{part.loc[r, 'firings']:.0f}" for r in rounds) + " |")

        final = summary.loc[(summary["round"] == rounds[-1]) & (summary["strategy"] == "random"), "mean"]
        targets = []
        if len(final):
            targets.append(("random's final mean AP", float(final.iloc[0])))
        targets.append(("fixed target (--target)", args.target))
        for what, target in targets:
            reach = result.labels_to_reach(target)
            print(f"\nFrames labeled to reach AP {target:.4f} ({what}); linear interpolation "
                  "between rounds; `median over seeds` counts a seed that never reaches it as "
                  "infinite.\n")
            print("| strategy | frames (mean curve) | vs random | median over seeds | seeds reaching |")
            print("|---|---:|---:|---:|---:|")
            base = reach.loc[reach["strategy"] == "random", "labels"]
            base = float(base.iloc[0]) if len(base) else float("nan")
            for row in reach.itertuples():
                rel = f"{(row.labels - base) / base:+.0%}" if np.isfinite(row.labels) and np.isfinite(base) else "–"
                lab = f"{row.labels:.0f}" if np.isfinite(row.labels) else "not reached"
                med = f"{row.median_seed_labels:.0f}" if np.isfinite(row.median_seed_labels) else "not reached"
                print(f"| {row.strategy} | {lab} | {rel} | {med} | {row.seeds_reaching}/{len(result.seeds)} |")
        # paired comparisons: same seeds, same initial frames, same training seeds
        from scipy import stats

        curves = result.curves
        later = curves.loc[curves["round"] >= 1]
        area = later.groupby(["strategy", "seed"])["quality"].mean().unstack("strategy")
        final = curves.loc[curves["round"] == rounds[-1]].pivot(index="seed", columns="strategy", values="quality")
        if "bal" in area.columns:
            print("\nPaired differences, BAL minus each baseline (same seeds and initial frames), with a "
                  f"95% t interval over seeds: on the mean AP of rounds 1-{rounds[-1]} (the area under the learning "
                  "curve) and on the last round's AP; `BAL higher`: seeds where BAL's value is higher.\n")
            print(f"| baseline | mean AP r1-{rounds[-1]}: diff [95% CI] | BAL higher | last round: diff [95% CI] | BAL higher |")
            print("|---|---:|---:|---:|---:|")
            for s in strategies:
                if s == "bal":
                    continue
                cells = []
                for table in (area, final):
                    d = (table["bal"] - table[s]).to_numpy()
                    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
                    cells += [f"{d.mean():+.4f} [{d.mean() - half:+.4f}, {d.mean() + half:+.4f}]",
                              f"{int((d > 0).sum())}/{len(d)}"]
                print(f"| {s} | " + " | ".join(cells) + " |")
            print(f"\n| strategy | mean AP of rounds 1-{rounds[-1]} (mean ± sd over seeds) |")
            print("|---|---:|")
            for s in strategies:
                print(f"| {s} | {area[s].mean():.4f} ± {area[s].std():.4f} |")
            print("\n" + conclusion(result, area, strategies))
    if args.plot:
        result.plot(args.plot, title="MOT15 rescorer: held-out AP@0.5")
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
