"""Label audits on real data (issue 4): injected missing labels, real candidates,
classification label errors, speed.

Injected missing labels (the paper's Table 2 protocol, adapted). Datasets: KITTI tracking
``label_02`` audited with PointRCNN detections, class Car and class Pedestrian separately
(bird's-eye-view boxes); MOT15 ``gt.txt`` audited with ``det.txt`` (2-D boxes). For each
seed, a random 20% of the label tracks of the audited class in each stream (at least one;
``max(1, round(0.2 n))``) are removed; every method audits the predictions against the
remaining labels (all classes of them: a Car prediction on a labeled Van is covered).
Candidates are read in rank order; a candidate is a *hit* when one of its boxes overlaps
(IoU >= 0.3, same frame) a removed track that no higher-ranked candidate has already hit.

- per stream: hits in the stream's top ``k = min(10, removed)`` over ``k``; recall of the
  removed tracks within the stream's top 10;
- pooled: all streams ranked together, hits in the top 10 and 50 over 10 and 50.

Methods: ``fixy`` (tracks, leave-one-stream-out priors: a stream is scored with priors fit
on the other streams' labels and predictions), ``confidence`` (every prediction box that
overlaps no label, by confidence: the paper's consistency assertion) and ``random``.
Seeds 0-4 are the reported protocol; ``--seeds`` changes them. Defaults of
``find_missing_labels`` were chosen on seeds 100-104 only.

Run::

    python benchmarks/bench_audit.py                  # everything, prints tables
    python benchmarks/bench_audit.py --write          # and records docs/benchmarks.md
    python benchmarks/bench_audit.py --only injected  # one part: injected, real, cifar, speed, holdout
    python benchmarks/bench_audit.py --only holdout --cache holdout.json --write
                                                      # defaults chosen leave-sequences-out
    python benchmarks/bench_audit.py --only unlikely --write   # planted errors, aggregates
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, shared_data, write_section

from assay.audit import find_label_issues, find_missing_labels, find_unlikely_tracks
from assay.audit._overlap import frame_pairs
from assay.exceptions import AssayWarning
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot
from assay.learned import DensityPrior, default_features
from assay.tables import validate

METHODS = ("fixy", "confidence", "random")
TITLES = {
    "injected": "Label audit: injected missing labels (Fixy vs the paper's consistency assertion)",
    "real": "Label audit: top Fixy candidates on the unmodified labels",
    "cifar": "Label audit: CIFAR-10 label errors (precision against crowd-verified errors)",
    "speed": "Label audit: speed",
    "holdout": "Label audit: Fixy's defaults chosen leave-sequences-out (injected missing labels, held-out folds)",
    "unlikely": "Label audit: one planted error in a long track (find_unlikely_tracks' aggregate, held-out folds)",
}
INJECTED_NOTE = """Protocol (issue 4, the paper's Table 2 adapted): per seed, a random 20% of the label tracks of
the audited class in each stream are removed (at least one); a candidate is a hit when one of its
boxes overlaps (IoU >= 0.3, same frame) a removed track no higher-ranked candidate has hit.
Per-stream precision uses k = min(10, removed in the stream); recall is of the removed tracks
within the stream's top 10; pooled ranks all streams together. fixy scores each stream with
priors fit on the *other* streams (labels, and the model boxes that agree / disagree with them),
so no removed track trains its own judge. KITTI: PointRCNN vs label_02, bird's-eye-view boxes,
Car and Pedestrian audited separately; MOT15: det.txt vs gt.txt, 2-D boxes."""
IN_SAMPLE_NOTE = """The defaults of find_missing_labels were chosen leave-sequences-out (section "Fixy's
defaults chosen leave-sequences-out"), and the library default by the same procedure on every
sequence (with seeds 100-104): every stream of this table was among the streams it was chosen
on, so these figures are in-sample. The held-out figures are in that section."""
HIT_IOU = 0.3
DEFAULT_SEEDS = [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ data


def load_kitti(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    labels = read_kitti_tracking(data / "kitti" / "label_02")
    pred = read_kitti_detections(data / "kitti" / "pointrcnn")
    return pred, labels


def load_mot(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    preds, labs = [], []
    for seq in sorted(p.name for p in (data / "mot15").iterdir() if p.is_dir()):
        preds.append(read_mot(data / "mot15" / seq / "det.txt", kind="det"))
        labs.append(read_mot(data / "mot15" / seq / "gt.txt", kind="gt"))

    def cat(parts):
        df = pd.concat(parts, ignore_index=True)
        df["obs_id"] = np.arange(len(df), dtype="int64")
        return validate(df, "observations")

    return cat(preds), cat(labs)


def datasets(data: Path, dontcare: bool = False) -> dict[str, dict]:
    kp, kl = load_kitti(data)
    mp, ml = load_mot(data)
    out = {}
    extra = {"ignore": read_kitti_tracking(data / "kitti" / "label_02", dontcare="only")} if dontcare else {}
    for cls in ("Car", "Pedestrian"):
        out[f"KITTI {cls}"] = {
            "pred": kp[kp["cls"] == cls].reset_index(drop=True), "labels": kl, "cls": cls, "box": "bev",
            "kw": extra}
    out["MOT15"] = {"pred": mp, "labels": ml, "cls": "pedestrian", "box": "2d"}
    return out


# ------------------------------------------------------------------ protocol


def inject(labels: pd.DataFrame, cls: str, seed: int, frac: float = 0.2):
    """Remove ``max(1, round(frac n))`` random label tracks of ``cls`` per stream."""
    rng = np.random.default_rng(seed)
    mine = labels["cls"] == cls
    removed_keys = []
    per_stream = {}
    for stream, tracks in (labels.loc[mine].groupby("stream", sort=True)["track"]
                           .unique().items()):
        tracks = np.sort(np.asarray(tracks, dtype=np.int64))
        m = max(1, int(round(frac * len(tracks))))
        pick = rng.choice(tracks, size=m, replace=False)
        per_stream[stream] = m
        removed_keys += [(stream, int(t)) for t in pick]
    key = pd.MultiIndex.from_arrays([labels["stream"].astype(object), labels["track"].astype("int64")])
    gone = key.isin(removed_keys) & mine.to_numpy()
    return (labels.loc[~gone].reset_index(drop=True), labels.loc[gone].reset_index(drop=True), per_stream)


def hits_in_order(findings: pd.DataFrame, pred: pd.DataFrame, removed: pd.DataFrame, box: str,
                  limit: int | None = None, audited: pd.DataFrame | None = None):
    """1 where the candidate (in the given order) is a hit, with dedup of removed tracks.

    With ``audited`` (the labels audited against), also what each candidate is: ``hit``,
    ``repeat`` (overlaps only removed tracks already hit), ``near label`` (a kept label
    overlaps one of its boxes with IoU in [0.1, 0.3): a poorly placed box of a labeled
    object) or ``no label`` (nothing labeled there: a false alarm, or a real missing label).
    """
    f = findings if limit is None else findings.head(limit)
    if len(f) == 0:
        return (np.zeros(0, int), []) if audited is not None else np.zeros(0, int)
    cand = np.repeat(np.arange(len(f)), f["obs_ids"].map(len).to_numpy())
    ids = np.concatenate(f["obs_ids"].tolist()).astype(np.int64)
    pos = pd.Index(pred["obs_id"].to_numpy()).get_indexer(ids)
    boxes = pred.iloc[pos].reset_index(drop=True)
    pi, ri, iou = frame_pairs(boxes, removed, kind=box)
    ok = iou >= HIT_IOU
    pi, ri, iou = pi[ok], ri[ok], iou[ok]
    rkey = (removed["stream"].astype(object) + "/" + removed["track"].astype(str)).to_numpy()
    over: dict[int, dict[str, float]] = {}
    for c, k, v in zip(cand[pi], rkey[ri], iou, strict=True):
        d = over.setdefault(int(c), {})
        d[k] = max(d.get(k, 0.0), float(v))
    hit = np.zeros(len(f), int)
    taken: set[str] = set()
    for c in range(len(f)):
        free = {k: v for k, v in over.get(c, {}).items() if k not in taken}
        if free:
            taken.add(max(free, key=free.get))
            hit[c] = 1
    if audited is None:
        return hit
    ai, _, aiou = frame_pairs(boxes, audited, kind=box)
    near = np.zeros(len(f), bool)
    near[np.unique(cand[ai[aiou >= 0.1]])] = True
    kinds = ["hit" if hit[c] else "repeat" if c in over else "near label" if near[c] else "no label"
             for c in range(len(f))]
    return hit, kinds


KINDS = ("hit", "repeat", "near label", "no label")


def evaluate(findings, pred, removed, per_stream, box, audited=None) -> dict:
    per_prec, per_rec, kinds, by_stream = [], [], [], {}
    for stream, m in per_stream.items():
        f = findings.loc[(findings["stream"] == stream).to_numpy()]
        h, kind = hits_in_order(f, pred, removed, box, limit=10, audited=audited)
        k = min(10, m)
        per_prec.append(h[:k].sum() / k)
        per_rec.append(h[:10].sum() / m)
        kinds += kind[:k] + ["none"] * (k - len(kind[:k]))
        by_stream[stream] = h[:k].sum() / k
    h = hits_in_order(findings, pred, removed, box, limit=50)
    return {"per_stream_prec": float(np.mean(per_prec)), "per_stream_recall10": float(np.mean(per_rec)),
            "pooled10": h[:10].sum() / 10, "pooled50": h[:50].sum() / 50,
            "candidates": findings.attrs.get("candidates", len(findings)),
            "seconds": findings.attrs.get("seconds", float("nan")),
            **{f"kind:{k}": kinds.count(k) for k in (*KINDS, "none")},
            **{f"stream:{s}": v for s, v in by_stream.items()}}


def run_injected(sets: dict, seeds: list[int], methods=METHODS, hit_box: str | None = None,
                 **kw) -> pd.DataFrame:
    """Audit every dataset after each seed's removal; ``hit_box`` ("2d") judges hits by the
    image boxes instead of the audit's own box kind (KITTI: bird's-eye view)."""
    rows = []
    for name, d in sets.items():
        for seed in seeds:
            audited, removed, per_stream = inject(d["labels"], d["cls"], seed)
            for method in methods:
                f = find_missing_labels(d["pred"], audited, method=method, box=d["box"], seed=seed,
                                        **d.get("kw", {}), **kw)
                r = evaluate(f, d["pred"], removed, per_stream, hit_box or d["box"], audited)
                rows.append({"dataset": name, "seed": seed, "method": method,
                             "removed": sum(per_stream.values()), **r})
    return pd.DataFrame(rows)


def summarize(res: pd.DataFrame) -> pd.DataFrame:
    g = res.groupby(["dataset", "method"], sort=False)
    s = g[["per_stream_prec", "per_stream_recall10", "pooled10", "pooled50", "seconds"]].mean()
    lo = g[["per_stream_prec", "pooled50"]].min().add_suffix("_min")
    hi = g[["per_stream_prec", "pooled50"]].max().add_suffix("_max")
    return pd.concat([s, lo, hi], axis=1).reset_index()


def table_md(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(floatfmt.format(v) if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def injected_report(res: pd.DataFrame) -> str:
    s = summarize(res)
    view = pd.DataFrame({
        "dataset": s["dataset"], "method": s["method"],
        "per-stream precision@min(10,removed)": [f"{a:.3f} ({b:.2f}-{c:.2f})" for a, b, c in zip(s["per_stream_prec"], s["per_stream_prec_min"], s["per_stream_prec_max"], strict=True)],
        "per-stream recall@10": s["per_stream_recall10"].round(3),
        "pooled hits@10 / 10": s["pooled10"].round(3),
        "pooled hits@50 / 50": [f"{a:.3f} ({b:.2f}-{c:.2f})" for a, b, c in zip(s["pooled50"], s["pooled50_min"], s["pooled50_max"], strict=True)],
        "seconds / audit": s["seconds"].round(2),
    })
    lines = [table_md(view), "", "Mean over seeds (min-max over seeds in brackets). Ratio fixy / confidence:", ""]
    piv = s.set_index(["dataset", "method"])
    rat = []
    for ds in s["dataset"].unique():
        if (ds, "confidence") not in piv.index or (ds, "fixy") not in piv.index:
            continue
        f, c = piv.loc[(ds, "fixy")], piv.loc[(ds, "confidence")]
        rat.append({"dataset": ds, "per-stream precision": f["per_stream_prec"] / max(c["per_stream_prec"], 1e-9),
                    "per-stream recall@10": f["per_stream_recall10"] / max(c["per_stream_recall10"], 1e-9),
                    "pooled@10": f["pooled10"] / max(c["pooled10"], 1e-9),
                    "pooled@50": f["pooled50"] / max(c["pooled50"], 1e-9)})
    kitti = [ds for ds in ("KITTI Car", "KITTI Pedestrian") if (ds, "fixy") in piv.index
             and (ds, "confidence") in piv.index]
    if len(kitti) == 2:
        # the KITTI dataset as a whole: every (class, stream) cell of both audits counts once
        n_streams = {ds: sum(1 for c in res.columns if c.startswith("stream:")
                             and res.loc[res["dataset"] == ds, c].notna().any()) for ds in kitti}

        def both(method, col):
            return sum(n_streams[ds] * piv.loc[(ds, method), col] for ds in kitti) / sum(n_streams.values())

        rat.append({"dataset": "KITTI, Car and Pedestrian streams together",
                    "per-stream precision": both("fixy", "per_stream_prec") / max(both("confidence", "per_stream_prec"), 1e-9),
                    "per-stream recall@10": both("fixy", "per_stream_recall10") / max(both("confidence", "per_stream_recall10"), 1e-9),
                    "pooled@10": float("nan"), "pooled@50": float("nan")})
    lines.append(table_md(pd.DataFrame(rat), "{:.2f}"))
    if len(kitti) == 2:
        lines += ["", "The last row averages the per-stream figures over every (class, stream) cell of "
                  "the two KITTI audits (Car and Pedestrian are audited separately, so there is no "
                  "pooled ranking across them: nan)."]
    # what fills the per-stream top-k slots
    g = res.groupby(["dataset", "method"], sort=False)
    kcols = [c for c in res.columns if c.startswith("kind:")]
    share = g[kcols].sum()
    share = share.div(share.sum(axis=1), axis=0).reset_index()
    share.columns = [c.replace("kind:", "") for c in share.columns]
    lines += ["", "What fills the per-stream top-k slots (share of all slots over seeds; *repeat*: a "
              "removed track already hit; *near label*: a kept label overlaps it with IoU in [0.1, 0.3); "
              "*no label*: nothing labeled there, a false alarm or a real missing label; *none*: "
              "fewer candidates than k):", "", table_md(share[share["method"] != "random"], "{:.2f}")]
    # per stream
    scols = [c for c in res.columns if c.startswith("stream:")]
    per = g[scols].mean().reset_index()
    per = per[per["method"] != "random"]
    rows = []
    for ds in per["dataset"].unique():
        sub = per[per["dataset"] == ds].set_index("method")
        for c in scols:
            if sub[c].notna().any():
                rows.append({"dataset": ds, "stream": c[7:],
                             **{m: float(sub.loc[m, c]) for m in sub.index}})
    lines += ["", "Per-stream precision@min(10, removed), mean over seeds:", "",
              table_md(pd.DataFrame(rows), "{:.2f}")]
    return "\n".join(lines)


# ------------------------------------------------------------------ leave-sequences-out defaults

#: Seeds the defaults are chosen with (on the training streams of each fold); the reported
#: figures use DEFAULT_SEEDS on the held-out streams.
TUNE_SEEDS = [100, 101, 102, 103, 104]
FOLDS = 3


def fold_of(stream: str, sequences: list[str], folds: int = FOLDS) -> int:
    """The fold a stream is held out in: its sequence's position in sorted order, dealt
    round-robin. KITTI Car and KITTI Pedestrian share the sequences, so a fold holds out
    whole sequences for both classes."""
    return sequences.index(stream) % folds


def sequences_of(sets: dict) -> dict[str, list[str]]:
    """Per dataset, the sorted sequences folds are dealt from (KITTI: all ten, for both
    classes)."""
    return {name: sorted(d["labels"]["stream"].unique().tolist()) for name, d in sets.items()}


def candidate_configs() -> list[dict]:
    """The grid of find_missing_labels settings the folds choose from (fixed before any
    fold was scored). The first is the library's previous default, so ties keep it."""
    grid = []
    for features in ("geo", "geo+motion"):
        for aggregate in ("mean", 0.5, 0.25, "min"):
            for score_weight in (1.0, 2.0, 4.0, 8.0):
                for bandwidth in ("silverman", "scott"):
                    grid.append({"features": features, "aggregate": aggregate,
                                 "score_weight": score_weight, "bandwidth": bandwidth})
    return grid


def config_name(c: dict) -> str:
    agg = c["aggregate"] if isinstance(c["aggregate"], str) else f"q{c['aggregate']:g}"
    return f"{c['features']}, {agg}, score x{c['score_weight']:g}, {c['bandwidth']}"


def config_kwargs(c: dict, box: str) -> dict:
    """find_missing_labels arguments of a config for a dataset's box kind. Motion is only
    ever added to 2-D boxes: the KITTI 3-D boxes are in the moving car's frame and the
    shared data has no ego poses for them (motion would measure the car's own)."""
    kw = {"aggregate": c["aggregate"], "bandwidth": c["bandwidth"],
          "weights": {"score": c["score_weight"]}}
    if c["features"] == "geo+motion" and box == "2d":
        kw["features"] = default_features("2d", motion=True)
    return kw


def restrict(d: dict, streams: list[str]) -> dict:
    keep = dict(d)
    keep["pred"] = d["pred"][d["pred"]["stream"].isin(streams)].reset_index(drop=True)
    keep["labels"] = d["labels"][d["labels"]["stream"].isin(streams)].reset_index(drop=True)
    if "ignore" in d.get("kw", {}):
        ig = d["kw"]["ignore"]
        keep["kw"] = {**d["kw"], "ignore": ig[ig["stream"].isin(streams)].reset_index(drop=True)}
    return keep


def per_stream(d: dict, seed: int, method: str, kw: dict) -> dict[str, float]:
    """Per-stream precision@min(10, hidden) of one audit (hidden tracks drawn with ``seed``)."""
    audited, removed, hidden = inject(d["labels"], d["cls"], seed)
    f = find_missing_labels(d["pred"], audited, method=method, box=d["box"], seed=seed,
                            **d.get("kw", {}), **kw)
    r = evaluate(f, d["pred"], removed, hidden, d["box"], audited)
    return {k[7:]: v for k, v in r.items() if k.startswith("stream:")} | {
        f"hidden:{s}": m for s, m in hidden.items()}


class Cache:
    """Audit results kept in a JSON file, so a long run can be resumed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data = json.loads(path.read_text()) if path and path.exists() else {}

    def get(self, key: str, compute):
        if key not in self.data:
            self.data[key] = compute()
            if self.path:
                self.path.write_text(json.dumps(self.data))
        return self.data[key]


def run_holdout(sets: dict, configs: list[dict], tune_seeds: list[int], eval_seeds: list[int],
                cache: Cache, folds: int = FOLDS) -> dict:
    """Leave-sequences-out choice of the defaults, and their held-out figures.

    For each fold, every config is scored on the *training* sequences only (predictions and
    labels of the other sequences removed; hidden tracks drawn with ``tune_seeds``): the
    objective is the mean, over the three datasets, of the mean per-stream precision. The
    best config (first in grid order on ties) is the fold's choice, and its figures on the
    fold's held-out sequences (hidden tracks drawn with ``eval_seeds``, audited with the
    whole data set's labels as a user would: every stream is scored with priors fit on the
    other streams) are what is reported. No held-out figure enters any choice.
    """
    seqs = sequences_of(sets)
    objective = np.zeros((folds, len(configs)))
    for k in range(folds):
        for ci, c in enumerate(configs):
            per_ds = []
            for name, d in sets.items():
                train = [s for s in seqs[name] if fold_of(s, seqs[name], folds) != k]
                sub = restrict(d, train)
                vals = []
                for seed in tune_seeds:
                    key = f"tune|{name}|fold{k}/{folds}|{seed}|{config_name(c)}"
                    r = cache.get(key, lambda sub=sub, seed=seed, c=c, d=d: per_stream(
                        sub, seed, "fixy", config_kwargs(c, "2d" if d["box"] == "2d" else "3d")))
                    vals += [v for s, v in r.items() if not s.startswith("hidden:")]
                per_ds.append(float(np.mean(vals)))
            objective[k, ci] = float(np.mean(per_ds))
            print(f"fold {k}: {config_name(c)}: {objective[k, ci]:.3f}", flush=True)
    chosen = [int(np.argmax(objective[k])) for k in range(folds)]
    # the library default: the same procedure on every sequence
    full = np.zeros(len(configs))
    for ci, c in enumerate(configs):
        per_ds = []
        for name, d in sets.items():
            vals = []
            for seed in tune_seeds:
                key = f"tune|{name}|all|{seed}|{config_name(c)}"
                r = cache.get(key, lambda seed=seed, c=c, d=d: per_stream(
                    d, seed, "fixy", config_kwargs(c, "2d" if d["box"] == "2d" else "3d")))
                vals += [v for s, v in r.items() if not s.startswith("hidden:")]
            per_ds.append(float(np.mean(vals)))
        full[ci] = float(np.mean(per_ds))
    evals = {}
    for ci in sorted(set(chosen) | {int(np.argmax(full))}):
        c = configs[ci]
        for name, d in sets.items():
            for seed in eval_seeds:
                key = f"eval|{name}|{seed}|{config_name(c)}"
                evals[(ci, name, seed)] = cache.get(key, lambda seed=seed, c=c, d=d: per_stream(
                    d, seed, "fixy", config_kwargs(c, "2d" if d["box"] == "2d" else "3d")))
    conf = {}
    for name, d in sets.items():
        for seed in eval_seeds:
            conf[(name, seed)] = cache.get(f"eval|{name}|{seed}|confidence",
                                           lambda seed=seed, d=d: per_stream(d, seed, "confidence", {}))
    return {"configs": configs, "objective": objective, "chosen": chosen, "full": full,
            "evals": evals, "conf": conf, "seqs": seqs, "folds": folds, "eval_seeds": eval_seeds,
            "tune_seeds": tune_seeds}


def target_check(f: np.ndarray, c: np.ndarray, single: bool) -> tuple[str, str, float]:
    """Per stream (per-seed precisions of fixy ``f`` and confidence ``c``): the target, its
    verdict, and for single-hidden-track streams the seed-to-seed spread (sample standard
    deviation over seeds of fixy's minus confidence's precision)."""
    fm, cm = float(f.mean()), float(c.mean())
    if cm > 0.6:
        need = f"misses <= {0.5 * (1 - cm):.2f}"
        ok = 1 - fm <= 0.5 * (1 - cm) + 1e-9
    else:
        need = f">= {1.5 * cm:.2f}"
        ok = fm >= 1.5 * cm - 1e-9
    spread = float(np.std(f - c, ddof=1)) if single and f.size > 1 else float("nan")
    if f.max() == 0 and c.max() == 0:  # 0 >= 1.5 x 0 holds, but says nothing
        return need, "vacuous: neither method ranks a hidden track in its top k", spread
    verdict = "met" if ok else "missed"
    if single:
        verdict += "; not worse: " + ("met" if fm >= cm - spread - 1e-9 else "missed")
    return need, verdict, spread


def holdout_report(res: dict) -> str:
    configs, folds, seqs = res["configs"], res["folds"], res["seqs"]
    eseeds = res["eval_seeds"]
    lines = [
        f"Folds: the sequences of each data set, sorted, dealt round-robin into {folds} (KITTI Car and "
        "KITTI Pedestrian share the ten KITTI sequences, so a fold holds out whole sequences for "
        f"both). For each fold, each of the {len(configs)} candidate settings of find_missing_labels "
        "(features x aggregate x weight of the confidence factor x bandwidth rule; the grid was "
        "fixed before any fold was scored) is scored on the fold's *training* sequences only (the "
        "other sequences' predictions and labels removed), hidden tracks drawn with seeds "
        f"{' '.join(map(str, res['tune_seeds']))}; the objective is the mean over the three data "
        "sets of the mean per-stream precision@min(10, hidden). The fold's best setting is then "
        f"run on all sequences with seeds {' '.join(map(str, eseeds))} and read on the fold's "
        "held-out sequences only (each stream is scored with priors fit on the other streams' "
        "labels, as a user auditing a data set would). No held-out figure enters any choice; the "
        "library default is the same procedure run on every sequence.", "",
        "| fold | held-out sequences | setting chosen on the other sequences | objective there |",
        "|---:|---|---|---:|"]
    for k in range(folds):
        held = sorted({s for name in seqs for s in seqs[name] if fold_of(s, seqs[name], folds) == k})
        ci = res["chosen"][k]
        lines.append(f"| {k} | {', '.join(held)} | {config_name(configs[ci])} | {res['objective'][k, ci]:.3f} |")
    best = int(np.argmax(res["full"]))
    lines += ["", f"Chosen on every sequence (the library default): **{config_name(configs[best])}** "
              f"(objective {res['full'][best]:.3f}; previous default {config_name(configs[0])}: "
              f"{res['full'][0]:.3f}).", ""]
    # per fold and dataset: mean over held-out streams, spread over seeds
    lines += ["Held-out figures per fold: mean over the fold's held-out streams of per-stream "
              "precision@min(10, hidden), mean over seeds (min-max over seeds):", "",
              "| fold | dataset | streams | fixy | confidence | fixy / confidence |", "|---:|---|---:|---|---|---:|"]
    rows = []
    for k in range(folds):
        ci = res["chosen"][k]
        for name in seqs:
            held = [s for s in seqs[name] if fold_of(s, seqs[name], folds) == k]
            per_seed_f, per_seed_c = [], []
            for seed in eseeds:
                fr, cr = res["evals"][(ci, name, seed)], res["conf"][(name, seed)]
                streams = [s for s in held if s in fr]
                if not streams:
                    continue
                per_seed_f.append(np.mean([fr[s] for s in streams]))
                per_seed_c.append(np.mean([cr[s] for s in streams]))
            if not per_seed_f:
                continue
            f, c = np.array(per_seed_f), np.array(per_seed_c)
            lines.append(f"| {k} | {name} | {len(streams)} | {f.mean():.3f} ({f.min():.2f}-{f.max():.2f}) | "
                         f"{c.mean():.3f} ({c.min():.2f}-{c.max():.2f}) | {f.mean() / max(c.mean(), 1e-9):.2f} |")
        # per stream, with the targets
        for name in seqs:
            for s in [s for s in seqs[name] if fold_of(s, seqs[name], folds) == k]:
                if s not in res["evals"][(ci, name, eseeds[0])]:
                    continue
                f = np.array([res["evals"][(ci, name, seed)][s] for seed in eseeds])
                c = np.array([res["conf"][(name, seed)][s] for seed in eseeds])
                hidden = res["conf"][(name, eseeds[0])][f"hidden:{s}"]
                need, verdict, spread = target_check(f, c, hidden == 1)
                rows.append({"fold": k, "dataset": name, "stream": s, "hidden": hidden,
                             "fixy": f"{f.mean():.2f} ({f.min():.1f}-{f.max():.1f})",
                             "confidence": f"{c.mean():.2f} ({c.min():.1f}-{c.max():.1f})",
                             "target for fixy": need,
                             "seed spread": "" if np.isnan(spread) else f"{spread:.2f}",
                             "verdict": verdict})
    met = sum(r["verdict"].startswith("met") and "missed" not in r["verdict"] for r in rows)
    vacuous = sum(r["verdict"].startswith("vacuous") for r in rows)
    lines += ["", f"Per held-out stream, with the targets (fixy's precision >= 1.5x confidence's; "
              "where confidence exceeds 0.6, fixy's misses at most half of confidence's; on a stream "
              "with a single hidden track, also not worse than confidence by more than the seed-to-seed "
              "spread, the standard deviation over seeds of fixy's minus confidence's precision). "
              f"Targets met on {met} of {len(rows)} streams, missed on "
              f"{len(rows) - met - vacuous}; on {vacuous} neither method ranks a hidden track in "
              "its top k with any seed (the target holds only vacuously, 0 >= 1.5 x 0):", "", table_md(pd.DataFrame(rows))]
    return "\n".join(lines)


# ------------------------------------------------------------------ planted errors (unlikely tracks)

PLANTS = ("size", "jump")
AGGREGATES = ("mean", 0.25, 0.05, "min")


def plant(labels: pd.DataFrame, stream: str, rng: np.random.Generator, kind: str):
    """One error in one random label track of ``stream`` with at least 10 boxes: ``size``
    makes one box (not the first or last) 3 times as long (3-D) or wide (2-D); ``jump``
    moves the track from that box on by 3 box lengths (3-D: its length; 2-D: its height),
    one impossible step. Returns the labels and the planted (stream, track)."""
    part = labels[labels["stream"] == stream]
    sizes = part.groupby("track").size()
    tracks = np.sort(sizes[sizes >= 10].index.to_numpy(dtype=np.int64))
    if tracks.size == 0:
        return None, None
    t = int(rng.choice(tracks))
    rows = np.flatnonzero((labels["stream"] == stream).to_numpy() & (labels["track"] == t).to_numpy())
    rows = rows[np.argsort(labels["time"].to_numpy()[rows], kind="stable")]
    at = int(rng.integers(1, rows.size - 1))
    out = labels.copy()
    three_d = "l" in out.columns and out["l"].notna().all()
    if kind == "size":
        if three_d:
            out.loc[rows[at], "l"] *= 3.0
        else:
            w = out.loc[rows[at], "x2"] - out.loc[rows[at], "x1"]
            out.loc[rows[at], "x2"] += 2.0 * w
    else:
        after = rows[at:]
        if three_d:
            out.loc[after, "x"] += 3.0 * out.loc[after, "l"].to_numpy()
        else:
            shift = 3.0 * (out.loc[after, "y2"] - out.loc[after, "y1"]).to_numpy()
            out.loc[after, "x1"] += shift
            out.loc[after, "x2"] += shift
    return out, (stream, t)


def run_unlikely(sets: dict, seeds: list[int]) -> pd.DataFrame:
    """Rank percentile of a planted track among its stream's label tracks, per aggregate,
    with a prior (default features) fit on the other streams' labels."""
    rows = []
    for name, labels in sets.items():
        streams = sorted(labels["stream"].unique().tolist())
        for seed in seeds:
            rng = np.random.default_rng(seed)
            for stream in streams:
                for kind in PLANTS:
                    planted, key = plant(labels, stream, rng, kind)
                    if planted is None:
                        continue
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", AssayWarning)
                        prior = DensityPrior().fit(planted[planted["stream"] != stream])
                        mine = planted[planted["stream"] == stream]
                        for agg in AGGREGATES:
                            f = find_unlikely_tracks(mine, prior, aggregate=agg)
                            hit = np.flatnonzero(f["track"].to_numpy(dtype=np.float64) == key[1])
                            rank = int(hit[0]) if hit.size else len(f)
                            rows.append({"dataset": name, "seed": seed, "stream": stream, "kind": kind,
                                         "aggregate": str(agg), "rank": rank, "tracks": len(f),
                                         "percentile": rank / max(len(f), 1)})
    return pd.DataFrame(rows)


def unlikely_report(res: pd.DataFrame, tune_seeds: list[int], eval_seeds: list[int],
                    folds: int = FOLDS) -> str:
    """Per fold: the aggregate with the best mean percentile on the training streams (plants
    drawn with ``tune_seeds``), read on the held-out streams (plants drawn with
    ``eval_seeds``)."""
    out = []
    for name in res["dataset"].unique():
        d = res[res["dataset"] == name]
        seqs = sorted(d["stream"].unique().tolist())
        for k in range(folds):
            held = [s for s in seqs if fold_of(s, seqs, folds) == k]
            train = d[~d["stream"].isin(held) & d["seed"].isin(tune_seeds)]
            best = train.groupby("aggregate")["percentile"].mean().idxmin()
            for kind in PLANTS:
                test = d[d["stream"].isin(held) & (d["kind"] == kind) & d["seed"].isin(eval_seeds)]
                if test.empty:
                    continue
                by = test.groupby("aggregate")["percentile"]
                chosen = test[test["aggregate"] == best]["percentile"]
                out.append({"dataset": name, "fold": k, "held-out streams": ", ".join(held),
                            "chosen on the others": best, "error": kind, "plants": int(chosen.size),
                            "top 5% (chosen)": float((chosen < 0.05).mean()),
                            **{f"mean percentile, {a}": float(by.mean()[a]) for a in map(str, AGGREGATES)}})
    ev = res[res["seed"].isin(eval_seeds)]
    allp = ev.groupby(["dataset", "kind", "aggregate"])["percentile"].mean().unstack("aggregate")
    return "\n".join([
        "Protocol: per seed, in every stream, one random label track with at least 10 boxes gets one "
        "planted error at a random box (not its first or last): *size*, that box 3 times as long "
        "(3-D) or wide (2-D); *jump*, the track moved from that box on by 3 box lengths (3-D) or "
        "heights (2-D), one impossible step. find_unlikely_tracks ranks the stream's label tracks "
        "with a DensityPrior (default features) fit on the other streams' labels; the figure is the "
        "planted track's rank over the stream's tracks (0 = first). Folds as above: the aggregate is "
        f"chosen on the training streams (seeds {' '.join(map(str, tune_seeds))}) and read on the "
        f"held-out streams (seeds {' '.join(map(str, eval_seeds))}). KITTI's boxes are in the moving "
        "car's frame and the shared data has no ego poses, so the default features have no motion "
        "there and a jump cannot be seen (about 0.5: a random rank); MOT15's image boxes keep "
        "their motion features.", "",
        table_md(pd.DataFrame(out), "{:.3f}"), "",
        f"Mean rank percentile of the planted track over every stream (seeds {' '.join(map(str, eval_seeds))}):",
        "", table_md(allp[[str(a) for a in AGGREGATES]].reset_index(), "{:.3f}")])

# ------------------------------------------------------------------ real candidates


def real_candidates(sets: dict, data: Path, top: int = 10) -> str:
    """Top candidates on the unmodified labels, with what a person needs to check them."""
    dontcare = read_kitti_tracking(data / "kitti" / "label_02", dontcare="only")
    lines = []
    for name, d in sets.items():
        ignore = dontcare if d["box"] == "bev" else None
        f = find_missing_labels(d["pred"], d["labels"], method="fixy", box=d["box"], top=top, ignore=ignore)
        pred = d["pred"].set_index("obs_id")
        rows = []
        for r in f.itertuples():
            ev = json.loads(r.evidence)
            boxes = pred.loc[list(r.obs_ids)]
            mid = boxes.iloc[len(boxes) // 2]
            row = {"stream": r.stream, "frames": f"{r.frame_start}-{r.frame_end}", "boxes": len(boxes),
                   "fixy score": round(ev["score"], 2), "mean conf.": round(float(boxes["score"].mean()), 3),
                   "middle frame": int(mid["frame"]),
                   "image box there (x1,y1,x2,y2)": f"{mid['x1']:.0f},{mid['y1']:.0f},{mid['x2']:.0f},{mid['y2']:.0f}"}
            if d["box"] == "bev":
                row["ego x,y (m)"] = f"{mid['x']:.1f},{mid['y']:.1f}"
                row["l,w,h (m)"] = f"{mid['l']:.1f},{mid['w']:.1f},{mid['h']:.1f}"
                dc = dontcare[dontcare["stream"] == r.stream]
                row["boxes in DontCare"] = f"{_share_in_regions(boxes.reset_index(), dc):.0%}"
            rows.append(row)
        note = "; predictions at least half inside a KITTI DontCare region are skipped (ignore=...)" if ignore is not None else ""
        lines += [f"**{name}** (top {top} Fixy tracks, all streams pooled; no label at IoU >= 0.3 in any of their boxes{note}):",
                  "", table_md(pd.DataFrame(rows)), ""]
    return "\n".join(lines)


def _share_in_regions(boxes: pd.DataFrame, regions: pd.DataFrame) -> float:
    """Share of the boxes whose image box lies at least half inside a DontCare region."""
    if len(regions) == 0 or len(boxes) == 0:
        return 0.0
    m = boxes.merge(regions[["frame", "x1", "y1", "x2", "y2"]], on="frame", suffixes=("", "_r"))
    if len(m) == 0:
        return 0.0
    iw = (np.minimum(m["x2"], m["x2_r"]) - np.maximum(m["x1"], m["x1_r"])).clip(lower=0)
    ih = (np.minimum(m["y2"], m["y2_r"]) - np.maximum(m["y1"], m["y1_r"])).clip(lower=0)
    area = ((m["x2"] - m["x1"]) * (m["y2"] - m["y1"])).clip(lower=1e-9)
    inside = (iw * ih / area >= 0.5).groupby(m["obs_id"]).any()
    return float(inside.sum() / len(boxes))


# ------------------------------------------------------------------ CIFAR-10


def verified_errors(mturk: list) -> set[int]:
    """An item is a verified error when >= 3 of 5 workers chose 'guessed' or 'neither'."""
    return {int(m["id"]) for m in mturk if m["mturk"]["guessed"] + m["mturk"]["neither"] >= 3}


def cifar(data: Path) -> str:
    d = data / "label_errors" / "cifar10"
    p = np.load(d / "pred_probs.npy")
    y = np.load(d / "given_labels.npy")
    truth = verified_errors(json.loads((d / "mturk.json").read_text()))
    ks = (50, 100, 275)
    rows = []

    def prec(ranked):
        return {f"precision@{k}": sum(i in truth for i in ranked[:k]) / k for k in ks}

    for filt in ("prune_by_noise_rate", "confident_joint"):
        for rank in ("self_confidence", "normalized_margin"):
            t = time.perf_counter()
            f = find_label_issues(p, y, filter_by=filt, rank_by=rank)
            sec = time.perf_counter() - t
            ranked = [i[0] for i in f["obs_ids"]]
            rows.append({"method": f"assay find_label_issues(filter_by={filt}, rank_by={rank})",
                         "issues": len(ranked), **prec(ranked), "seconds": round(sec, 3)})
    try:
        from cleanlab.filter import find_label_issues as cl_find
    except ImportError:
        rows.append({"method": "cleanlab (not installed: pip install cleanlab to compare)"})
    else:
        import cleanlab

        for filt in ("prune_by_noise_rate", "confident_learning"):
            for rank in ("self_confidence", "normalized_margin"):
                t = time.perf_counter()
                ranked = cl_find(y, p, filter_by=filt, return_indices_ranked_by=rank, n_jobs=1).tolist()
                sec = time.perf_counter() - t
                rows.append({"method": f"cleanlab {cleanlab.__version__} find_label_issues(filter_by={filt}, ranked_by={rank})",
                             "issues": len(ranked), **prec(ranked), "seconds": round(sec, 3)})
    return (f"{len(truth)} verified errors among 275 checked candidates (the candidates were chosen by "
            "confident learning, so this set favours it); items never checked count as not errors.\n\n"
            + table_md(pd.DataFrame(rows)))


# ------------------------------------------------------------------ speed


def speed_kitti(data: Path, repeats: int = 3) -> dict:
    best = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        labels = read_kitti_tracking(data / "kitti" / "label_02")
        pred = read_kitti_detections(data / "kitti" / "pointrcnn")
        t1 = time.perf_counter()
        f = find_missing_labels(pred, labels, method="fixy", box="bev")
        t2 = time.perf_counter()
        run = {"read": t1 - t0, "audit": t2 - t1, "total": t2 - t0, "predictions": len(pred),
               "labels": len(labels), "candidates": len(f)}
        if not best or run["total"] < best["total"]:
            best = run
    return best


def generated(n_boxes: int, seed: int = 0, per_frame: int = 10, frames: int = 1000, kind: str = "2d"):
    """A synthetic scene: streams of ``frames`` frames (10 per second) with ``per_frame``
    moving objects; predictions are every object's box with noise plus 5% false alarms;
    labels are the objects of 80% of the tracks. ``kind``: image boxes (``"2d"``) or 3-D
    boxes compared from above (``"bev"``)."""
    rng = np.random.default_rng(seed)
    n_streams = max(1, n_boxes // (per_frame * frames))
    n_obj = n_streams * per_frame
    frame = np.tile(np.arange(frames), n_obj)
    obj = np.repeat(np.arange(n_obj), frames)
    stream = obj // per_frame
    speed = rng.uniform(0, 15, n_obj)[obj]
    lane = (obj % per_frame) * 6.0
    x = (rng.uniform(0, 50, n_obj)[obj] + speed * frame / 10.0) % 400
    truth = pd.DataFrame({"stream": stream.astype(str), "frame": frame, "time": frame / 10.0,
                          "track": obj, "cls": "Car", "source": "labels"})
    if kind == "bev":
        truth = truth.assign(x=x, y=lane, z=0.8, l=4.2, w=1.8, h=1.5, yaw=0.0)
    else:  # 50 x 100 px boxes, lanes 120 px apart, moving 0-150 px/s
        truth = truth.assign(x1=x * 10.0 % 1900, y1=lane * 20.0, x2=x * 10.0 % 1900 + 50.0,
                             y2=lane * 20.0 + 100.0)
    keep = rng.random(n_obj) >= 0.2
    labels = truth[keep[obj]].reset_index(drop=True)
    noise = rng.normal(0, 0.1 if kind == "bev" else 2.0, len(truth))
    pred = truth.assign(source="model:gen", track=pd.NA, score=rng.uniform(0.3, 1.0, len(truth)))
    shift = ("x",) if kind == "bev" else ("x1", "x2")
    for c in shift:
        pred[c] = pred[c] + noise
    n_fa = len(truth) // 20
    off = {"y": 3.0} if kind == "bev" else {"y1": 60.0, "y2": 60.0}
    fa = pred.sample(n_fa, random_state=seed)
    fa = fa.assign(score=rng.uniform(0.3, 0.7, n_fa), **{c: fa[c] + v for c, v in off.items()})
    pred = pd.concat([pred, fa], ignore_index=True).head(n_boxes)
    pred["obs_id"] = np.arange(len(pred))
    labels["obs_id"] = np.arange(len(labels))
    return validate(pred), validate(labels)


def speed_generated(n_boxes: int, kind: str) -> dict:
    t0 = time.perf_counter()
    pred, labels = generated(n_boxes, kind=kind)
    t1 = time.perf_counter()
    f = find_missing_labels(pred, labels, method="fixy", box=kind)
    t2 = time.perf_counter()
    return {"predictions": len(pred), "labels": len(labels), "generate": t1 - t0, "audit": t2 - t1,
            "candidates": len(f)}


def write_docs(sections: dict[str, str], args) -> None:
    command = "python benchmarks/bench_audit.py " + shlex.join(sys.argv[1:])
    for key, body in sections.items():
        note = {"injected": INJECTED_NOTE + "\n\n" + IN_SAMPLE_NOTE + "\n\n",
                "holdout": INJECTED_NOTE + "\n\n"}.get(key, "")
        seeds = f" (seeds {' '.join(map(str, args.seeds))})" if key in ("injected", "holdout", "unlikely") else ""
        title = TITLES[key] + (", KITTI DontCare regions skipped by every method" if args.dontcare else "")
        if key == "injected" and args.hit_box:
            title += ", hits judged by image-box IoU (a check of the protocol, not the protocol)"
        if key == "injected" and args.seeds != DEFAULT_SEEDS:
            title += f", {len(args.seeds)} seeds (a check of the seed-to-seed noise; defaults unchanged)"
        text = (f"## {title}\n\n`{command.strip()}`{seeds} (machine: {machine()})\n\n"
                f"{note}{body}\n")
        more = key == "injected" and args.seeds != DEFAULT_SEEDS
        write_section(f"audit-{key}" + ("-dontcare" if args.dontcare else "") + ("-seeds" if more else "")
                      + (f"-hit{args.hit_box}" if key == "injected" and args.hit_box else ""), text)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=DEFAULT_SEEDS)
    ap.add_argument("--only", choices=["injected", "real", "cifar", "speed", "holdout", "unlikely"],
                    action="append")
    ap.add_argument("--cache", type=Path, help="holdout: keep audit results in this JSON file (resumable)")
    ap.add_argument("--write", action="store_true", help="record the results in docs/benchmarks.md")
    ap.add_argument("--datasets", nargs="*", help="subset of: 'KITTI Car', 'KITTI Pedestrian', MOT15")
    ap.add_argument("--methods", nargs="*", default=list(METHODS))
    ap.add_argument("--boxes", type=int, default=1_000_000, help="predicted boxes of the generated speed test")
    ap.add_argument("--dontcare", action="store_true",
                    help="KITTI only, injected only: every method skips predictions inside DontCare regions")
    ap.add_argument("--boxes-bev", type=int, default=200_000, help="predicted boxes of the generated 3-D speed test")
    ap.add_argument("--kw", default="{}", help="JSON of extra find_missing_labels arguments (experiments)")
    ap.add_argument("--hit-box", choices=["2d"], help="injected only: judge hits by image-box IoU "
                    "(KITTI predictions and labels both carry image boxes) instead of the audit's box kind")
    args = ap.parse_args(argv)
    parts = args.only or ["injected", "real", "cifar", "speed", "holdout", "unlikely"]
    sections: dict[str, str] = {}
    data = shared_data()
    sets = datasets(data, dontcare=args.dontcare)
    if args.dontcare:
        sets = {k: v for k, v in sets.items() if k.startswith("KITTI")}
        parts = [p for p in parts if p == "injected"]
    if args.datasets:
        sets = {k: v for k, v in sets.items() if k in args.datasets}
    if "injected" in parts:
        t = time.perf_counter()
        res = run_injected(sets, args.seeds, args.methods, hit_box=args.hit_box, **json.loads(args.kw))
        report = injected_report(res)
        print(report)
        print(f"({time.perf_counter() - t:.0f} s)")
        sections["injected"] = report
    if "holdout" in parts:
        t = time.perf_counter()
        res = run_holdout(sets, candidate_configs(), TUNE_SEEDS, args.seeds, Cache(args.cache))
        text = holdout_report(res)
        print(text)
        print(f"({time.perf_counter() - t:.0f} s)")
        sections["holdout"] = text
    if "unlikely" in parts:
        t = time.perf_counter()
        _, mot_gt = load_mot(data)
        res = run_unlikely({"KITTI labels": read_kitti_tracking(data / "kitti" / "label_02"),
                            "MOT15 gt": mot_gt}, TUNE_SEEDS + args.seeds)
        text = unlikely_report(res, TUNE_SEEDS, args.seeds)
        print(text)
        print(f"({time.perf_counter() - t:.0f} s)")
        sections["unlikely"] = text
    if "real" in parts:
        text = real_candidates(sets, data)
        print(text)
        sections["real"] = text
    if "cifar" in parts:
        text = cifar(data)
        print(text)
        sections["cifar"] = text
    if "speed" in parts:
        k = speed_kitti(data)
        g = speed_generated(args.boxes, "2d")
        g3 = speed_generated(args.boxes_bev, "bev")
        text = (
            "| workload | rows | read / generate (s) | audit (s) | target |\n|---|---:|---:|---:|---|\n"
            f"| 10 KITTI sequences, all classes, fixy end to end (read, tracking, features, held-out priors, ranking) | "
            f"{k['predictions']:,} predictions, {k['labels']:,} labels | {k['read']:.2f} | {k['audit']:.2f} (total {k['total']:.2f}) | < 10 s total |\n"
            f"| generated scene, 2-D boxes, fixy | {g['predictions']:,} predictions, {g['labels']:,} labels | {g['generate']:.2f} | "
            f"{g['audit']:.2f} | < 60 s |\n"
            f"| generated scene, 3-D boxes (bird's-eye view), fixy | {g3['predictions']:,} predictions, {g3['labels']:,} labels | {g3['generate']:.2f} | "
            f"{g3['audit']:.2f} | |\n\n"
            "The generated scenes have 100 streams of 1000 frames with 10 moving objects each; 20% of "
            "the objects are unlabeled and 5% of the boxes are false alarms, so about 250,000 boxes "
            "overlap no label and are linked into tracks. Most of the audit time is that linking "
            "(assay.tracking.associate, one Hungarian matching per frame): about two thirds at 1M "
            "2-D boxes. Linking by bird's-eye view (rotated-polygon IoU) costs several times more "
            "per box than by image boxes, which is why the 3-D row is slower per box; the KITTI "
            "audit links by the image boxes PointRCNN also outputs (track_box='auto')."
        )
        print(text)
        sections["speed"] = text
    if args.write:
        write_docs(sections, args)


if __name__ == "__main__":
    main()
