"""What the data layer costs a query on 10 million records: identities, content keys, the
label cache and the run record, on top of the method itself.

    python benchmarks/bench_data_layer.py [--records 10000000] [--repeats 3] [--write]

For select (recall and precision targets) and aggregate, it times the public call with a
workspace (a file in a temp folder) and the method's core on the same arrays without one;
the difference is the data layer. The oracle is a column of the records (free), so nothing
else is counted. A second, cached run of the same query (every answer known) is timed too.
The issue's target: under 1 s of overhead at 10M records, with no whole-table hashing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_section

import assay
from assay.approx import aggregate, select
from assay.approx._aggregate import estimate_aggregate
from assay.approx._select import run_selection


def problem(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    latent = rng.random(n)
    label = (rng.random(n) < latent**8).astype(np.int8)
    proxy = np.clip(latent + rng.normal(0.0, 0.02, n), 0.0, 1.0)
    return pd.DataFrame({"id": np.arange(n), "proxy": proxy, "label": label,
                         "clip": pd.array([f"clip-{i % 9973}" for i in range(100)] * (n // 100),
                                          dtype="string")})


def best(fn, repeats: int) -> float:
    out = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--write", action="store_true", help="record the table in docs/benchmarks.md")
    args = ap.parse_args()
    n, budget = args.records, args.budget
    records = problem(n)
    scores = records["proxy"].to_numpy()
    truth = records["label"].to_numpy().astype(float)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for target in ("recall", "precision"):
            core = best(lambda t=target: run_selection(
                scores, lambda idx: truth[idx], method="assay", target=t, value=0.9, delta=0.05,
                budget=budget, seed=1), args.repeats)
            timings = []
            for rep in range(args.repeats):
                with assay.Workspace(Path(tmp) / f"s-{target}-{rep}.duckdb") as ws:
                    start = time.perf_counter()
                    first = select(records, proxy="proxy", oracle="column:label", target=target,
                                   value=0.9, budget=budget, seed=1, workspace=ws, name="bench")
                    cold = time.perf_counter() - start
                    start = time.perf_counter()
                    select(records, proxy="proxy", oracle="column:label", target=target, value=0.9,
                           budget=budget, seed=1, workspace=ws, name="bench")
                    warm = time.perf_counter() - start
                timings.append((cold, warm))
            cold, warm = (min(t[i] for t in timings) for i in (0, 1))
            rows.append((f"select, {target} 0.9", first.oracle_calls, core, cold, warm))
        core = best(lambda: estimate_aggregate(
            "betting", n_records=n, label=lambda pos: truth[pos], lo=0.0, hi=1.0, proxy=scores,
            stat="mean", where=False, error=0.01, relative=False, delta=0.05, budget=None,
            seed=1), args.repeats)
        timings = []
        for rep in range(args.repeats):
            with assay.Workspace(Path(tmp) / f"a-{rep}.duckdb") as ws:
                start = time.perf_counter()
                first = aggregate(records, oracle="column:label", proxy="proxy", error=0.01,
                                  range=(0, 1), seed=1, workspace=ws, name="bench")
                cold = time.perf_counter() - start
                start = time.perf_counter()
                aggregate(records, oracle="column:label", proxy="proxy", error=0.01, range=(0, 1),
                          seed=1, workspace=ws, name="bench")
                warm = time.perf_counter() - start
            timings.append((cold, warm))
        cold, warm = (min(t[i] for t in timings) for i in (0, 1))
        rows.append(("aggregate, mean +-0.01", first.oracle_calls, core, cold, warm))

    lines = [
        f"`python benchmarks/bench_data_layer.py --records {n} --repeats {args.repeats}"
        f"{' --write' if args.write else ''}` (machine: {machine()})",
        "",
        f"{n:,} records (id, proxy, label, a string column), oracle `column:label`, workspace "
        "in a file; best of "
        f"{args.repeats}. 'core' is the method alone on numpy arrays; 'public, new' the public "
        "call paying every label into the workspace; 'public, cached' the same query again "
        "(every answer known). Overhead = public minus core.",
        "",
        "| query | labels | core s | public, new s | overhead s | public, cached s | overhead s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, calls, core, cold, warm in rows:
        lines.append(f"| {name} | {calls:,} | {core:.3f} | {cold:.3f} | {cold - core:.3f} | "
                     f"{warm:.3f} | {warm - core:.3f} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("data-layer", "## Data layer: what identities and the label cache cost a "
                      "query\n\n" + text)


if __name__ == "__main__":
    main()
