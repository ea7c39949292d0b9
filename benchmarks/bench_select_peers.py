"""Recall-target selection side by side with its peers (issue 17, items 2 and 3).

Every cell (task x label budget x method) runs ``--trials`` seeded trials on the same
``numpy.random.SeedSequence(--seed).spawn(trials)`` children (trial ``i`` gets child ``i`` in
every cell and every method), the same proxy scores and the same oracle labels:

- ``assay``: :func:`assay.approx.select` with its default method (finite-sample);
- ``assay-head``: the default method held to its head design (``design="head"``): the
  default as it was before the uniform design existed, so "assay today" is measured in the
  same run;
- ``assay-cond``: the default method held to its uniform design with the conditional test
  (``design="uniform", uniform_test="conditional"``): the default before the unconditional
  test, measured in the same run where that test is now taken;
- ``assay-pilot``: ``select`` with ``method="assay-pilot"`` (finite-sample; a stratified pilot
  plans what to leave out);
- ``supg``: the same ``select`` with ``method="supg"`` (asymptotic; a reference point, as
  issue 17 measures the CIFAR-10 tasks against it);
- ``bargain``: BARGAIN's recall query, ``BARGAIN.BARGAIN_R`` from the PyPI package ``bargain``
  (Zeighami, Shankar, Parameswaran, SIGMOD 2026), with ``beta=0`` (finite-sample);
- ``bargain-beta``: the same with ``beta=--beta`` and resolution ``r=--r``, its "minimum
  positive density" assumption mode (guarantee conditional on the assumption);
- ``assay-assume``: ``select`` with ``assume=MinDensity(--beta, --r)`` (MinDensity's default tail),
  assay's own assumption mode (guarantee conditional on its assumption).

BARGAIN is run through its own package, not re-implemented. Its proxy and oracle are
subclasses of its ``Proxy`` and ``Oracle`` that answer from arrays in one vectorized call
instead of one thread-pool task per record (``get_preds_and_scores`` / ``get_pred``, keeping
its per-record answer cache); the proxy reports every record as positive with score equal
to the proxy score, so BARGAIN ranks the records by the proxy score exactly. It takes an
integer seed for NumPy's global generator: trial ``i`` passes ``child_i.generate_state(1)[0]``;
``select`` gets ``numpy.random.default_rng(child_i)``.

The labels a method used are counted by the benchmark itself, as the distinct records its
oracle was asked about (a record asked twice counts once). For each cell the table gives the
success rate (trials whose returned set reaches the recall target), whether it passes the
one-sided binomial test of ``1 - delta`` (successes >= ``binom.ppf(1e-3, trials, 1 - delta)``;
shown for every method, whatever guarantee it claims), the mean, median and ``delta``-quantile
precision (the precision reached in at least ``1 - delta`` of the trials), the mean recall,
the fraction of trials returning every record, the mean returned share of the records, the
mean distinct labels and the CPU time per trial. The precision of
an empty set counts as 1.

Tasks: the SUPG release data (``imagenet``, ``onto``, ``tacred``; see bench_select.py) and ten
CIFAR-10 class predicates built from ``label_errors/cifar10`` (task ``cifar10-<class>``:
proxy = ``pred_probs[:, k]``, oracle = ``given_labels == k``; out-of-sample predicted
probabilities, so the proxy ranks almost perfectly).

Run::

    python benchmarks/bench_select_peers.py                    # 1000 trials per cell
    python benchmarks/bench_select_peers.py --trials 100 --write
    python benchmarks/bench_select_peers.py --trials 20 --tasks onto cifar10-cat --budgets 2000

With ``--write`` the output replaces the section of docs/benchmarks.md named ``select-peers-main``
(or ``select-peers-`` and the arguments, other than ``--trials``, that differ from their
defaults), so a later run with more trials replaces the record. The data folder defaults to
``<repo>/../shared/data`` (``ASSAY_SHARED_DATA`` overrides it).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_select  # the SUPG data loader and the machine description, defined there once
from _common import section_key, write_section

SUPG_TASKS = bench_select.DATASETS
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR_TASKS = tuple(f"cifar10-{c}" for c in CIFAR10_CLASSES)
TASKS = (*SUPG_TASKS, *CIFAR_TASKS)
METHODS = ("assay", "assay-head", "assay-cond", "assay-pilot", "supg", "bargain", "bargain-beta",
           "assay-assume")
#: the methods run through assay.approx.select
SELECT_METHODS = ("assay", "assay-pilot", "supg", "assay-assume")
BUDGETS = (1000, 2000, 4000, 8000)
#: guarantee each method states (BARGAIN's beta > 0 holds only under its density assumption)
GUARANTEE = {"assay": "finite-sample", "assay-head": "finite-sample",
             "assay-cond": "finite-sample",
             "assay-pilot": "finite-sample", "supg": "asymptotic", "bargain": "finite-sample",
             "bargain-beta": "conditional", "assay-assume": "conditional"}
COLUMNS = ("task", "budget", "method", "guarantee", "trials", "success", "needed", "verdict",
           "mean_precision", "median_precision", "precision_at_1_minus_delta", "mean_recall",
           "whole", "share", "mean_labels", "max_labels", "cpu_per_trial")

_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def load_task(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(proxy scores in [0, 1], 0/1 labels) of one task."""
    if name in SUPG_TASKS:
        return bench_select.load(name)
    if name not in _CACHE:
        k = CIFAR10_CLASSES.index(name.removeprefix("cifar10-"))
        d = bench_select.data_dir() / "label_errors" / "cifar10"
        probs = np.load(d / "pred_probs.npy")
        given = np.load(d / "given_labels.npy")
        _CACHE[name] = (np.clip(probs[:, k].astype(float), 0.0, 1.0), (given == k).astype(np.int8))
    return _CACHE[name]


def best_threshold_precision(proxy: np.ndarray, y: np.ndarray, value: float) -> float:
    """Precision of the smallest proxy prefix reaching recall ``value``, knowing every label."""
    order = np.argsort(-proxy, kind="stable")
    hits = np.cumsum(y[order])
    need = math.ceil(value * int(y.sum()) - 1e-9)
    k = int(np.searchsorted(hits, need)) + 1
    return need / k


def best_threshold_recall(proxy: np.ndarray, y: np.ndarray, value: float) -> float:
    """Recall of the largest proxy prefix whose precision reaches ``value``, knowing every
    label (0 when no prefix does)."""
    order = np.argsort(-proxy, kind="stable")
    hits = np.cumsum(y[order])
    ok = np.flatnonzero(hits >= value * np.arange(1, y.size + 1))
    return float(hits[ok[-1]] / max(int(y.sum()), 1)) if ok.size else 0.0


class CountingOracle:
    """Answers from the records' ``label`` column (wrap it in ``FunctionOracle``) and remembers
    which records it was asked about: the labels a query used, counted outside assay."""

    def __init__(self, n: int) -> None:
        self.asked = np.zeros(n, dtype=bool)

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        self.asked[rows["id"].to_numpy()] = True
        return rows["label"].to_numpy()


def _bargain_models(proxy: np.ndarray, y: np.ndarray):
    """BARGAIN Proxy and Oracle answering from arrays (records are their own indexes)."""
    try:
        from BARGAIN import Oracle, Proxy
    except ImportError:
        sys.exit("this benchmark needs BARGAIN: pip install -e '.[bench]' (or pip install bargain)")

    class ArrayProxy(Proxy):
        def get_preds_and_scores(self, indxs, data_records):
            i = np.asarray(indxs, dtype=np.int64)
            return np.ones(i.size, dtype=bool), proxy[i]  # score = P(positive)

    class ArrayOracle(Oracle):
        def __init__(self) -> None:
            super().__init__(verbose=False, max_workers=1)
            self.asked = np.zeros(y.size, dtype=bool)

        def get_pred(self, data_records, indxs=None):
            i = np.asarray(data_records if indxs is None else indxs, dtype=np.int64)
            out = y[i].astype(bool)
            self.asked[i] = True
            self.preds_dict.update(zip(i.tolist(), out.tolist(), strict=True))
            return out

    return ArrayProxy(verbose=False, max_workers=1), ArrayOracle()


def run_cell(cell: tuple) -> dict:
    """Run trials ``[lo, hi)`` of one (task, method, budget) cell; per-trial arrays."""
    task, method, budget, value, delta, beta, r, root, trials, lo, hi, target = cell
    proxy, y = load_task(task)
    n_pos = int(y.sum())
    seeds = np.random.SeedSequence(root).spawn(trials)[lo:hi]
    rec, prec, size, labels = [], [], [], []
    began = time.process_time()
    if method in SELECT_METHODS:
        from assay.approx import FunctionOracle, MinDensity, select

        extra = {}
        if method == "assay-assume":
            extra = {"assume": MinDensity(beta, r)}

        records = pd.DataFrame({"id": np.arange(y.size), "proxy": proxy, "label": y})
    else:
        from BARGAIN import BARGAIN_P, BARGAIN_R

        data_records = np.arange(y.size)
    for ss in seeds:
        if method in SELECT_METHODS:
            asked = CountingOracle(y.size)
            oracle = FunctionOracle(asked, name="label", version="bench", batch_size=budget)
            res = select(records, proxy="proxy", oracle=oracle, target=target, value=value,
                         delta=delta, budget=budget, seed=np.random.default_rng(ss),
                         method="assay" if method == "assay-assume" else method, **extra)
            chosen, used = res.ids.astype(np.int64), int(asked.asked.sum())
            if used != res.oracle_calls:
                raise RuntimeError(f"{method}: {used} distinct labels asked, "
                                   f"{res.oracle_calls} reported")
        elif method in ("assay-head", "assay-cond"):
            # the default method's own function, held to its head design or to the uniform
            # design's conditional test (select() does not take design-level options); same
            # seed stream as select() uses
            from assay.approx._select.default import assay_select

            asked = np.zeros(y.size, dtype=bool)

            def label(idx: np.ndarray, asked: np.ndarray = asked) -> np.ndarray:
                asked[idx] = True
                return y[idx]

            held = ({"design": "head"} if method == "assay-head"
                    else {"design": "uniform", "uniform_test": "conditional"})
            res = assay_select(proxy, label, target=target, value=value, delta=delta,
                               budget=budget, seed=np.random.default_rng(ss), **held)
            chosen, used = np.asarray(res.selected, dtype=np.int64), int(asked.sum())
        else:
            p_model, o_model = _bargain_models(proxy, y)
            b = beta if method == "bargain-beta" else 0.0
            if target == "precision":  # BARGAIN-P (its defaults: M = 20 thresholds, eta = 0)
                query = BARGAIN_P(p_model, o_model, delta=delta, target=value, budget=budget,
                                  seed=int(ss.generate_state(1)[0]))
            else:
                query = BARGAIN_R(p_model, o_model, delta=delta, target=value, budget=budget,
                                  beta=b, r=r, seed=int(ss.generate_state(1)[0]))
            chosen = np.asarray(query.process(data_records), dtype=np.int64)
            used = int(o_model.asked.sum())
        tp = int(y[chosen].sum())
        rec.append(tp / n_pos)
        prec.append(tp / chosen.size if chosen.size else 1.0)
        size.append(chosen.size)
        labels.append(used)
    return {"cell": (task, method, budget), "target": target, "lo": lo, "n": y.size,
            "recall": np.array(rec),
            "precision": np.array(prec), "size": np.array(size), "labels": np.array(labels),
            "cpu": time.process_time() - began}


def summarize(parts: list[dict], value: float, delta: float) -> dict:
    parts = sorted(parts, key=lambda p: p["lo"])
    cat = {k: np.concatenate([p[k] for p in parts]) for k in ("recall", "precision", "size",
                                                                "labels")}
    task, method, budget = parts[0]["cell"]
    trials = cat["recall"].size
    # the metric the target is on decides success; the other one is the quality reported (in
    # the columns named for the recall target: "precision" is the quality, "recall" the met)
    if parts[0]["target"] == "precision":
        cat["precision"], cat["recall"] = cat["recall"], cat["precision"]
    successes = int((cat["recall"] >= value - 1e-12).sum())
    need = int(stats.binom.ppf(1e-3, trials, 1.0 - delta))
    # the precision reached in at least 1 - delta of the trials: at least trials - j of them
    # are >= the (j+1)-th smallest, j = floor(delta * trials)
    low = float(np.sort(cat["precision"])[int(math.floor(delta * trials))])
    return {
        "task": task, "budget": budget, "method": method, "guarantee": GUARANTEE[method],
        "trials": trials, "success": successes / trials, "needed": need,
        "verdict": "pass" if successes >= need else "FAIL",
        "mean_precision": float(cat["precision"].mean()),
        "median_precision": float(np.median(cat["precision"])),
        "precision_at_1_minus_delta": low,
        "mean_recall": float(cat["recall"].mean()),
        "whole": float(np.mean(cat["size"] == parts[0]["n"])),
        "share": float(np.mean(cat["size"]) / parts[0]["n"]),
        "mean_labels": float(cat["labels"].mean()), "max_labels": int(cat["labels"].max()),
        "cpu_per_trial": sum(p["cpu"] for p in parts) / trials,
    }


def compare(tasks=TASKS, methods=METHODS, budgets=BUDGETS, *, trials: int = 1000,
            seed: int = 20240601, value: float = 0.9, delta: float = 0.05, beta: float = 0.01,
            r: int = 150, workers: int = 1, chunks: int = 1, target: str = "recall") -> pd.DataFrame:
    """Run every (task, budget, method) cell; one row per cell with the columns ``COLUMNS``."""
    cells = [(t, m, b) for t in tasks for b in budgets for m in methods]
    step = max(1, math.ceil(trials / chunks))
    work = [(t, m, b, value, delta, beta, r, seed, trials, lo, min(lo + step, trials), target)
            for (t, m, b) in cells for lo in range(0, trials, step)]
    work.sort(key=lambda w: (w[1] != "bargain-beta", -w[2]))  # slowest first
    parts: dict[tuple, list[dict]] = {}
    if workers <= 1:
        results = map(run_cell, work)
        for res in results:
            parts.setdefault(res["cell"], []).append(res)
    else:
        with get_context("spawn").Pool(workers) as pool:
            for res in pool.imap_unordered(run_cell, work):
                parts.setdefault(res["cell"], []).append(res)
    rows = [summarize(parts[c], value, delta) for c in cells]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def cell_table(df: pd.DataFrame, delta: float) -> str:
    lines = [
        "| task | budget | method | guarantee | success | verdict (>= needed) | mean precision | "
        f"median precision | precision w.p. >= {1 - delta:g} | mean recall | whole dataset | "
        "mean size / N | mean labels (max) | CPU s / trial |",
        "|" + "---|" * 14,
    ]
    for r in df.itertuples():
        lines.append(
            f"| {r.task} | {r.budget} | {r.method} | {r.guarantee} | {r.success:.3f} | "
            f"{r.verdict} ({r.needed}/{r.trials}) | {r.mean_precision:.3f} | "
            f"{r.median_precision:.3f} | {r.precision_at_1_minus_delta:.3f} | "
            f"{r.mean_recall:.3f} | {r.whole:.2f} | {r.share:.3f} | {r.mean_labels:.0f} ({r.max_labels}) | "
            f"{r.cpu_per_trial:.3f} |")
    return "\n".join(lines)


def summary_table(df: pd.DataFrame, value: float, target: str = "recall") -> str:
    """Mean / median precision and success rate, one row per (task, budget)."""
    methods = list(dict.fromkeys(df["method"]))
    head = ["task", "budget", "best threshold"]
    head += [f"{m} mean / median (success)" for m in methods]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (task, budget), g in df.groupby(["task", "budget"], sort=False):
        proxy, y = load_task(task)
        best = (best_threshold_recall if target == "precision" else best_threshold_precision)
        cells = [task, str(budget), f"{best(proxy, y, value):.3f}"]
        by = g.set_index("method")
        for m in methods:
            r = by.loc[m]
            mark = "" if r["verdict"] == "pass" else " FAIL"
            cells.append(f"{r['mean_precision']:.3f} / {r['median_precision']:.3f} "
                         f"({r['success']:.2f}{mark})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        peers = f"bargain {version('bargain')}"
    except PackageNotFoundError:
        peers = "bargain not installed"
    return f"{bench_select.machine()}, {peers}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1, help="processes (at most 2)")
    ap.add_argument("--chunks", type=int, default=1, help="work units per cell")
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    ap.add_argument("--delta", type=float, default=0.05)
    ap.add_argument("--value", type=float, default=0.9, help="the target's level")
    ap.add_argument("--target", choices=("recall", "precision"), default="recall",
                    help="precision: bargain runs BARGAIN_P, and the tables' 'precision' "
                         "columns hold the recall reached (the quality), 'recall' the precision")
    ap.add_argument("--beta", type=float, default=0.01, help="BARGAIN's minimum density (bargain-beta)")
    ap.add_argument("--r", type=int, default=150, help="BARGAIN's resolution (bargain-beta)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--write", action="store_true", help="also record it in docs/benchmarks.md")
    args = ap.parse_args(argv)
    args.workers = max(1, min(args.workers, 2))
    if not (bench_select.data_dir() / "proxy" / "supg").is_dir():
        print(f"data not found under {bench_select.data_dir()} (set ASSAY_SHARED_DATA)",
              file=sys.stderr)
        return 2
    for t in args.tasks:
        if max(args.budgets) > load_task(t)[1].size:
            ap.error(f"budget {max(args.budgets)} exceeds the {load_task(t)[1].size} records of {t}")
    t0 = time.perf_counter()
    df = compare(args.tasks, args.methods, args.budgets, trials=args.trials, seed=args.seed,
                 value=args.value, delta=args.delta, beta=args.beta, r=args.r,
                 workers=args.workers, chunks=args.chunks, target=args.target)
    elapsed = time.perf_counter() - t0
    cmd = "python benchmarks/bench_select_peers.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join([
        "## Selection against its peers: assay, SUPG and BARGAIN at a recall target (issue 17)",
        "",
        f"Command: `{cmd.strip()}`",
        "",
        f"Machine: {machine()}; {args.workers} worker(s); wall time {elapsed:.0f} s",
        "",
        f"Setting: {args.target} target {args.value}, delta {args.delta}, label budgets "
        f"{' / '.join(map(str, args.budgets))}, {args.trials} trials per cell "
        f"(SeedSequence({args.seed}).spawn, the same children for every method); labels are "
        "the distinct records each method's oracle was asked about. "
        + (
            "bargain = BARGAIN_R(beta=0); bargain-beta = BARGAIN_R(beta="
            f"{args.beta:g}, r={args.r}), valid only under its minimum-positive-density "
            "assumption. Best threshold: the precision of the smallest proxy prefix reaching "
            "the target, knowing every label."
            if args.target == "recall" else
            "bargain = BARGAIN_P (its defaults). The quality of a precision target is the "
            "recall reached: in the tables below, 'precision' columns hold the recall and "
            "'recall' columns the precision met. Best threshold: the recall of the largest "
            "proxy prefix whose precision reaches the target, knowing every label."
        ),
        "",
        "Mean / median "
        + ("precision" if args.target == "recall" else "recall")
        + " and success rate (FAIL: below the one-sided binomial test of 1 - delta):",
        "",
        summary_table(df, args.value, args.target),
        "",
        "Every cell:",
        "",
        cell_table(df, args.delta),
    ])
    print(text)
    if args.write:
        write_section(section_key(ap, args, "select-peers", {"write", "workers", "chunks", "trials"}),
                      text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
