"""Engines: `check` beyond memory on one machine, and on Ray with 1 and 2 workers.

    python benchmarks/bench_engine.py memory [--sizes 5000000 10000000 20000000] [--in-memory 10000000] [--write]
    python benchmarks/bench_engine.py scaling [--boxes 10000000] [--repeat 1] [--write]

The boxes are generated as in ``bench_assertions_speed.py`` (2-D boxes of smoothly moving
pedestrians, 20 per frame, 2% dropped, 1% noise boxes, 30 fps), 100,000 per stream, and
written once to ``--data`` (default ``/tmp/assay-bench-engine/<boxes>``) as a Parquet
dataset partitioned by stream; they never enter the repository. Every measured run is a
fresh process running ``check`` with the frame built-ins for 2-D boxes (flicker, gap,
multibox; the boxes have no tracks for the track-level ones), reporting its wall time, the
peak resident memory of the process when ``check`` has returned (``ru_maxrss``: the input
read, the check and the findings it returns), the driver's serial part (from the moment the
engine has returned every group's findings to the moment ``check`` returns: merging,
prioritizing, sorting and building the findings table; wall and CPU seconds of the driver
process) and a SHA-256 of its findings (every column but ``run_id``, in their order, as CSV:
hashed a slice of rows at a time, so that hashing adds no copy of the findings), so runs
that must agree are seen to.

``memory``: the local engine reading the Parquet dataset a group of streams at a time
(``check(folder)``, 2,000,000 rows per group) at each size, against ``check(frame)`` on a
frame already in memory (``--in-memory`` boxes; the frame is read before the clock starts).
Throughput is boxes per second of one process (one core: numpy, and DuckDB reading with one
thread).

``scaling``: the same dataset checked in memory, by the local engine from Parquet, and on a
Ray instance started for the run with 1 and with 2 CPUs (``ray.init(num_cpus=k)``; start-up
not timed, reported apart); Ray workers read their groups of streams from the Parquet files
themselves. The peak memory of a Ray run is the driver's only. ``--repeat N`` runs Ray with 1
and with 2 CPUs N times each (alternately) and reports every run and the median speed-up.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import section_key, tee_to_docs

BOXES_PER_STREAM = 100_000
#: Rows of findings turned into CSV text at once for the digest.
DIGEST_ROWS = 100_000
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


def digest(findings) -> str:
    """SHA-256 (first 16 hex digits) of the findings' CSV text without ``run_id``, written a
    slice of rows at a time (the same text as one ``to_csv`` of the whole table)."""
    h = hashlib.sha256()
    for start in range(0, max(len(findings), 1), DIGEST_ROWS):
        part = findings.iloc[start:start + DIGEST_ROWS].drop(columns="run_id")
        h.update(part.to_csv(index=False, header=start == 0).encode())
    return h.hexdigest()[:16]


def _mark_returns(engine_class: type, marks: dict) -> None:
    """Note the time (wall, CPU) when ``engine_class.map`` returns: the driver's serial part
    of ``check`` is what follows."""
    inner = engine_class.map

    def timed(self, *a, **k):
        out = inner(self, *a, **k)
        marks["mapped"] = (time.perf_counter(), time.process_time())
        return out

    engine_class.map = timed


def run_one(args: argparse.Namespace) -> None:
    """A measured run (in a fresh process): one JSON line on stdout."""
    from assay.assertions import check
    from assay.assertions.registry import resolve
    from assay.engine import LocalEngine, RayEngine, Streams

    marks: dict = {}
    for engine_class in (LocalEngine, RayEngine):
        _mark_returns(engine_class, marks)

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
    started, cpu_started = time.perf_counter(), time.process_time()
    findings = check(source, assertions, engine="ray" if args.how.startswith("ray") else "local")
    ended, cpu_ended = time.perf_counter(), time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, cpu = ended - started, cpu_ended - cpu_started
    if "mapped" in marks:  # the in-memory path maps no groups
        extra["serial_s"] = round(ended - marks["mapped"][0], 2)
        extra["serial_cpu_s"] = round(cpu_ended - marks["mapped"][1], 2)
    rows = int(Path(args.data, "_complete").read_text())
    print(json.dumps({
        "how": args.how, "rows": rows, "seconds": round(seconds, 2), "findings": len(findings),
        "digest": digest(findings), "peak_rss_mb": round(peak), "driver_cpu_s": round(cpu, 2),
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
    serial = (f"{r['serial_s']:.1f} s / {r['serial_cpu_s']:.1f} s" if "serial_s" in r else "")
    return (f"| {r['how']} | {r['rows']:,} | {r['seconds']:.1f} | {rate / 1e6:.2f} M | {ratio} | "
            f"{r['driver_cpu_s']:.1f} | {serial} | {r['peak_rss_mb']:,} MB | {r['findings']:,} | "
            f"`{r['digest']}` |")


HEAD = ("| run | boxes | seconds | boxes/s | throughput vs first row | driver CPU s | "
        "driver's serial part (wall / CPU) | peak RSS | findings | findings SHA-256 |\n"
        "|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        run_one(argparse.Namespace(how=sys.argv[2], data=sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["memory", "scaling"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000_000, 10_000_000, 20_000_000])
    ap.add_argument("--in-memory", type=int, default=10_000_000)
    ap.add_argument("--boxes", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1,
                    help="scaling: runs of Ray with 1 and with 2 CPUs, each (median reported)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/assay-bench-engine"))
    ap.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = ap.parse_args()
    if args.mode == "memory":
        title = "Engines: check beyond memory (local engine, Parquet by groups of streams)"
        key = section_key(ap, args, "engine-memory", {"mode", "write", "data", "boxes", "repeat"})
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
            runs = [measure(h, data) for h in ("in-memory", "local-parquet")]
            for _ in range(args.repeat):  # alternately, so a busy spell slows both alike
                runs += [measure(h, data) for h in ("ray1", "ray2")]
            print(HEAD)
            for r in runs:
                print(row(r, runs[0]))
            by = {h: [r for r in runs if r["how"] == h] for h in ("in-memory", "local-parquet", "ray1", "ray2")}
            ups = [a["seconds"] / b["seconds"] for a, b in zip(by["ray1"], by["ray2"], strict=True)]
            one = statistics.median(r["seconds"] for r in by["ray1"])
            print(f"\nRay start-up (not timed above): "
                  f"{statistics.median(r['ray_start_s'] for r in by['ray1']):.1f} s with 1 CPU, "
                  f"{statistics.median(r['ray_start_s'] for r in by['ray2']):.1f} s with 2 (medians).")
            print(f"Speed-up of 2 Ray workers over 1, run by run: {', '.join(f'{u:.2f}x' for u in ups)}; "
                  f"median {statistics.median(ups):.2f}x. Ray with 1 worker (median) takes "
                  f"{one / by['in-memory'][0]['seconds']:.2f}x the in-memory local run and "
                  f"{one / by['local-parquet'][0]['seconds']:.2f}x the local engine on the same "
                  "Parquet files.")
            print(f"Findings identical in all {len(runs)} runs: {len({r['digest'] for r in runs}) == 1}.")

if __name__ == "__main__":
    main()
