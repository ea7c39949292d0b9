"""A mean with a confidence interval at a fixed label budget: assay's ``aggregate`` beside
prediction-powered inference from its reference package, ``ppi_py`` (issue 17, item 3).

Task: the mean of the oracle label on the SUPG ``onto`` and ``tacred`` data (the proxy is the
``proxy_score`` column), at label budgets ``--budgets``, delta ``--delta``. Every cell runs
``--trials`` trials on the same ``numpy.random.SeedSequence(--seed).spawn(trials)`` children
(trial ``i`` gets child ``i`` in every cell and every method):

- ``assay``: :func:`assay.approx.aggregate` with its default method and ``budget=n``
  (finite-sample, anytime valid);
- ``assay/ppi``: the same ``aggregate`` with ``method="ppi"`` (assay's own PPI, asymptotic);
- ``ppi_py``: ``ppi_py.ppi_mean_ci`` (PPI++, its default tuned ``lam``; asymptotic) on ``n``
  records drawn uniformly without replacement with ``numpy.random.default_rng(child_i)``, the
  proxy of the other ``N - n`` records as its unlabeled data.

For each cell: coverage of the truth (the mean over all records), whether it passes the
one-sided binomial test of ``1 - delta`` (covered >= ``binom.ppf(1e-3, trials, 1 - delta)``;
shown for every method, whatever guarantee it claims), the mean and median half-width, the
mean absolute error of the estimate and the mean distinct labels (counted by the benchmark).

Run::

    python benchmarks/bench_aggregate_peers.py --trials 1000
    python benchmarks/bench_aggregate_peers.py --trials 200 --write   # docs/benchmarks.md

With ``--write`` the output replaces the section ``aggregate-peers-main`` of
docs/benchmarks.md (``aggregate-peers-`` and the arguments, other than ``--trials``, that
differ from their defaults).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_select  # the SUPG data loader and the machine description
from _common import section_key, write_section
from bench_select_peers import CountingOracle

TASKS = ("onto", "tacred")
METHODS = ("assay", "assay/ppi", "ppi_py")
BUDGETS = (250, 500, 1000, 2000)
COLUMNS = ("task", "budget", "method", "guarantee", "trials", "coverage", "needed", "verdict",
           "mean_half_width", "median_half_width", "mean_abs_error", "mean_labels",
           "cpu_per_trial")


def one_trial(method: str, records: pd.DataFrame, budget: int, delta: float,
              ss: np.random.SeedSequence) -> tuple[float, float, float, int, str]:
    """(estimate, lower, upper, distinct labels, guarantee kind) of one trial."""
    y = records["label"].to_numpy()
    p = records["proxy"].to_numpy()
    if method == "ppi_py":
        try:
            from ppi_py import ppi_mean_ci, ppi_mean_pointestimate
        except ImportError:
            sys.exit("this benchmark needs ppi_py: pip install -e '.[bench]' "
                     "(or pip install ppi-python)")
        idx = np.random.default_rng(ss).choice(y.size, budget, replace=False)
        rest = np.ones(y.size, dtype=bool)
        rest[idx] = False
        lab, yhat, unl = y[idx].astype(float), p[idx], p[rest]
        lo, hi = ppi_mean_ci(lab, yhat, unl, alpha=delta)
        est = ppi_mean_pointestimate(lab, yhat, unl)
        return float(np.ravel(est)[0]), float(np.ravel(lo)[0]), float(np.ravel(hi)[0]), \
            int(np.unique(idx).size), "asymptotic"
    from assay.approx import FunctionOracle, aggregate

    asked = CountingOracle(y.size)
    res = aggregate(records, oracle=FunctionOracle(asked, name="label", version="bench"),
                    proxy="proxy", budget=budget, delta=delta, range=(0.0, 1.0),
                    method="ppi" if method == "assay/ppi" else "assay",
                    seed=np.random.default_rng(ss))
    used = int(asked.asked.sum())
    if used != res.oracle_calls:
        raise RuntimeError(f"{method}: {used} distinct labels asked, {res.oracle_calls} reported")
    return res.estimate, res.lower, res.upper, used, res.guarantee.kind


def compare(tasks=TASKS, methods=METHODS, budgets=BUDGETS, *, trials: int = 1000,
            seed: int = 20240601, delta: float = 0.05) -> pd.DataFrame:
    """One row per (task, budget, method) cell with the columns ``COLUMNS``."""
    seeds = np.random.SeedSequence(seed).spawn(trials)
    rows = []
    for task in tasks:
        proxy, y = bench_select.load(task)
        records = pd.DataFrame({"id": np.arange(y.size), "proxy": proxy, "label": y})
        truth = float(y.mean())
        for budget in budgets:
            for method in methods:
                began = time.process_time()
                out = [one_trial(method, records, budget, delta, ss) for ss in seeds]
                cpu = (time.process_time() - began) / trials
                est, lo, hi, used = (np.array([o[i] for o in out]) for i in range(4))
                covered = int(((lo <= truth) & (truth <= hi)).sum())
                need = int(stats.binom.ppf(1e-3, trials, 1.0 - delta))
                rows.append({
                    "task": task, "budget": budget, "method": method, "guarantee": out[0][4],
                    "trials": trials, "coverage": covered / trials, "needed": need,
                    "verdict": "pass" if covered >= need else "FAIL",
                    "mean_half_width": float(np.mean(hi - lo) / 2),
                    "median_half_width": float(np.median(hi - lo) / 2),
                    "mean_abs_error": float(np.mean(np.abs(est - truth))),
                    "mean_labels": float(used.mean()), "cpu_per_trial": cpu,
                })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def table(df: pd.DataFrame) -> str:
    lines = ["| task | budget | method | guarantee | coverage | verdict (>= needed) | "
             "mean half-width | median half-width | mean abs. error | mean labels | "
             "CPU s / trial |", "|" + "---|" * 11]
    for r in df.itertuples():
        lines.append(
            f"| {r.task} | {r.budget} | {r.method} | {r.guarantee} | {r.coverage:.3f} | "
            f"{r.verdict} ({r.needed}/{r.trials}) | {r.mean_half_width:.4f} | "
            f"{r.median_half_width:.4f} | {r.mean_abs_error:.4f} | {r.mean_labels:.0f} | "
            f"{r.cpu_per_trial:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    ap.add_argument("--delta", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=bench_select.DATASETS)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--write", action="store_true", help="also record it in docs/benchmarks.md")
    args = ap.parse_args(argv)
    if not (bench_select.data_dir() / "proxy" / "supg").is_dir():
        print(f"data not found under {bench_select.data_dir()} (set ASSAY_SHARED_DATA)",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    df = compare(args.tasks, args.methods, args.budgets, trials=args.trials, seed=args.seed,
                 delta=args.delta)
    elapsed = time.perf_counter() - t0
    from importlib.metadata import version

    cmd = "python benchmarks/bench_aggregate_peers.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    text = "\n".join([
        "## Aggregation against ppi_py: a mean at a fixed label budget (issue 17)",
        "",
        f"Command: `{cmd.strip()}`",
        "",
        f"Machine: {bench_select.machine()}, ppi-python {version('ppi-python')}; 1 process; "
        f"wall time {elapsed:.0f} s",
        "",
        f"Setting: mean of the label, delta {args.delta}, {args.trials} trials per cell "
        f"(SeedSequence({args.seed}).spawn, the same children for every method); labels are "
        "the distinct records each method used.",
        "",
        table(df),
    ])
    print(text)
    if args.write:
        write_section(section_key(ap, args, "aggregate-peers", {"write", "trials"}), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
