"""Engines: `check` beyond memory on one machine, and on Ray with 1 and 2 workers.

    python benchmarks/bench_engine.py memory [--sizes 5000000 10000000 20000000] [--in-memory 10000000] [--write]
    python benchmarks/bench_engine.py scaling [--boxes 10000000] [--write]

The boxes are generated as in ``bench_assertions_speed.py`` (2-D boxes of smoothly moving
pedestrians, 20 per frame, 2% dropped, 1% noise boxes, 30 fps), 100,000 per stream, and
written once to ``--data`` (default ``/tmp/assay-bench-engine/<boxes>``) as a Parquet
dataset partitioned by stream; they never enter the repository. Every measured run is a
fresh process running ``check`` with the frame built-ins for 2-D boxes (flicker, gap,
multibox; the boxes have no tracks for the track-level ones), reporting its wall time, its peak resident memory (``ru_maxrss``)
and a SHA-256 of its findings (every column but ``run_id``, in their order), so runs that
must agree are seen to.

``memory``: the local engine reading the Parquet dataset a group of streams at a time
(``check(folder)``, 2,000,000 rows per group) at each size, against ``check(frame)`` on a
frame already in memory (``--in-memory`` boxes; the frame is read before the clock starts).
Throughput is boxes per second of one process (one core: numpy, and DuckDB reading with one
thread).

``scaling``: the same dataset checked in memory, by the local engine from Parquet, and on a
Ray instance started for the run with 1 and with 2 CPUs (``ray.init(num_cpus=k)``; start-up
not timed, reported apart); Ray workers read their groups of streams from the Parquet files
themselves. The peak memory of a Ray run is the driver's only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import section_key, tee_to_docs

BOXES_PER_STREAM = 100_000
#: Streams generated (and written) at once.
CHUNK_STREAMS = 10


def dataset(boxes: int, root: Path) -> Path:
    """The Parquet dataset of ``boxes`` generated boxes (written on first use)."""
    folder = root / str(boxes)
    done = folder / "_complete"
    if done.exists():
        return folder
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds
    from bench_assertions_speed import generate

    folder.mkdir(parents=True, exist_ok=True)
    streams = max(1, boxes // BOXES_PER_STREAM)
    offset = 0
    t = time.perf_counter()
    for first in range(0, streams, CHUNK_STREAMS):
        k = min(CHUNK_STREAMS, streams - first)
        obs = generate(k * BOXES_PER_STREAM, streams=k, seed=first)
        codes = obs["stream"].str.slice(3).astype(int).to_numpy()
        names = pa.array([f"cam{first + c:05d}" for c in range(k)])
        obs["stream"] = pd.arrays.ArrowStringArray(names.take(pa.array(codes)))
        obs["obs_id"] += offset
        offset += len(obs)
        ds.write_dataset(pa.Table.from_pandas(obs, preserve_index=False), folder, format="parquet",
                         partitioning=["stream"], partitioning_flavor="hive",
                         basename_template=f"part-{first}-{{i}}.parquet",
                         existing_data_behavior="overwrite_or_ignore")
        print(f"  generated {offset:,} boxes ({time.perf_counter() - t:.0f} s)", file=sys.stderr,
              flush=True)
    done.write_text(str(offset))
    return folder


def run_one(args: argparse.Namespace) -> None:
    """A measured run (in a fresh process): one JSON line on stdout."""
    from assay.assertions import check
    from assay.assertions.registry import resolve
    from assay.engine import Streams

    assertions = resolve("builtin:flicker,builtin:gap,builtin:multibox")
    extra: dict = {}
    source: object = args.data
    if args.how == "in-memory":
        streams = Streams.from_parquet(args.data)
        source = streams.read(list(streams.counts().index))
    elif args.how.startswith("ray"):
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=int(args.how[3:]), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        extra["ray_start_s"] = round(time.perf_counter() - t, 1)
    started = time.perf_counter()
    findings = check(source, assertions, engine="ray" if args.how.startswith("ray") else "local")
    seconds = time.perf_counter() - started
    text = findings.drop(columns="run_id").to_csv(index=False)
    rows = int(Path(args.data, "_complete").read_text())
    print(json.dumps({
        "how": args.how, "rows": rows, "seconds": round(seconds, 2), "findings": len(findings),
        "digest": hashlib.sha256(text.encode()).hexdigest()[:16],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "notes": len(findings.attrs.get("notes", [])), **extra,
    }))


def measure(how: str, data: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "_run", how, str(data)], capture_output=True,
                          text=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    if proc.returncode != 0:
        raise SystemExit(f"{how} on {data} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row(r: dict, base: dict | None) -> str:
    rate = r["rows"] / r["seconds"]
    ratio = "" if base is None else f"{base['seconds'] / r['seconds'] * r['rows'] / base['rows']:.2f}"
    return (f"| {r['how']} | {r['rows']:,} | {r['seconds']:.1f} | {rate / 1e6:.2f} M | {ratio} | "
            f"{r['peak_rss_mb']:,} MB | {r['findings']:,} | `{r['digest']}` |")


HEAD = ("| run | boxes | seconds | boxes/s | throughput vs first row | peak RSS | findings | "
        "findings SHA-256 |\n|---|---|---|---|---|---|---|---|")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        run_one(argparse.Namespace(how=sys.argv[2], data=sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["memory", "scaling"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000_000, 10_000_000, 20_000_000])
    ap.add_argument("--in-memory", type=int, default=10_000_000)
    ap.add_argument("--boxes", type=int, default=10_000_000)
    ap.add_argument("--data", type=Path, default=Path("/tmp/assay-bench-engine"))
    ap.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = ap.parse_args()
    if args.mode == "memory":
        title = "Engines: check beyond memory (local engine, Parquet by groups of streams)"
        key = section_key(ap, args, "engine-memory", {"mode", "write", "data", "boxes"})
        with tee_to_docs(key, title, args.write):
            base = measure("in-memory", dataset(args.in_memory, args.data))
            results = [measure("local-parquet", dataset(n, args.data)) for n in args.sizes]
            print(HEAD)
            print(row(base, None))
            for r in results:
                print(row(r, base))
            same = {r["digest"] for r in [base, *results] if r["rows"] == base["rows"]}
            print(f"\nFindings of the in-memory and Parquet runs at {base['rows']:,} boxes identical: "
                  f"{len(same) == 1}.")
    else:
        title = "Engines: check on Ray with 1 and 2 workers (2-core machine)"
        key = section_key(ap, args, "engine-scaling", {"mode", "write", "data", "sizes", "in_memory"})
        with tee_to_docs(key, title, args.write):
            data = dataset(args.boxes, args.data)
            runs = [measure(h, data) for h in ("in-memory", "local-parquet", "ray1", "ray2")]
            print(HEAD)
            for r in runs:
                print(row(r, runs[0]))
            by = {r["how"]: r for r in runs}
            print(f"\nRay start-up (not timed above): {by['ray1']['ray_start_s']} s with 1 CPU, "
                  f"{by['ray2']['ray_start_s']} s with 2.")
            print(f"Speed-up of 2 Ray workers over 1: {by['ray1']['seconds'] / by['ray2']['seconds']:.2f}x; "
                  f"Ray with 1 worker takes {by['ray1']['seconds'] / by['in-memory']['seconds']:.2f}x the "
                  f"in-memory local run and {by['ray1']['seconds'] / by['local-parquet']['seconds']:.2f}x "
                  "the local engine on the same Parquet files.")
            print(f"Findings identical in all four runs: {len({r['digest'] for r in runs}) == 1}.")


if __name__ == "__main__":
    main()
