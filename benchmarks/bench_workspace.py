"""Ingest throughput of ``Workspace.add`` (not a test; run it by hand).

Usage::

    python tests/store/bench_workspace.py [--rows 10000000] [--path /tmp/bench.duckdb]

Prints wall and CPU seconds and rows per second for: canonical validation alone, the full
``Workspace.add`` of an observations table into a DuckDB file (validation + Arrow + DuckDB
write + commit), and ``Workspace.read`` of it back. The table looks like detector output:
20 streams at 30 fps, 10 boxes per frame, 5 classes, labels and predictions, 5 % of track ids
missing, scores and pixel boxes at full float precision.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa


def make_observations(n: int, *, seed: int = 0) -> pd.DataFrame:
    """A realistic observations table with ``n`` rows."""
    rng = np.random.default_rng(seed)
    n_streams, per_frame = 20, 10
    per_stream = -(-n // n_streams)
    stream_idx = np.arange(n) // per_stream
    frame = (np.arange(n) % per_stream) // per_frame
    src = rng.integers(0, 2, n)
    x1, y1 = rng.uniform(0, 1800, n), rng.uniform(0, 1000, n)
    w, h = rng.uniform(5, 120, n), rng.uniform(5, 120, n)
    track = rng.integers(0, 5000, n)

    def strings(values: list[str], idx: np.ndarray) -> pd.Series:
        return pd.Series(pd.arrays.ArrowStringArray(pa.array(values).take(idx)))

    return pd.DataFrame(
        {
            "stream": strings([f"cam{i:02d}" for i in range(n_streams)], stream_idx),
            "frame": frame.astype("int64"),
            "time": frame / 30.0,
            "obs_id": np.arange(n, dtype="int64"),
            "track": pd.arrays.IntegerArray(track, rng.random(n) < 0.05),
            "cls": strings(["car", "truck", "person", "bicycle", "bus"], rng.integers(0, 5, n)),
            "score": np.where(src == 1, rng.random(n), np.nan),
            "source": strings(["labels", "model:yolo"], src),
            "x1": x1,
            "y1": y1,
            "x2": x1 + w,
            "y2": y1 + h,
        }
    )


class Timer:
    def __enter__(self) -> Timer:
        self.t0, self.r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        return self

    def __exit__(self, *exc: object) -> None:
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        self.wall = time.perf_counter() - self.t0
        self.cpu = (r1.ru_utime - self.r0.ru_utime) + (r1.ru_stime - self.r0.ru_stime)


def main() -> None:
    from assay.store import Workspace
    from assay.tables import validate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/assay-bench.duckdb"))
    args = parser.parse_args()
    for p in (args.path, Path(f"{args.path}.wal")):
        p.unlink(missing_ok=True)

    df = make_observations(args.rows)
    rows = []
    with Timer() as t:
        validate(df, "observations")
    rows.append(("validate (assay.tables)", t))
    with Workspace(args.path) as ws:
        with Timer() as t:
            ws.add("obs", df)
        rows.append(("Workspace.add (file, committed)", t))
    size = os.path.getsize(args.path)
    with Workspace(args.path, read_only=True) as ws:
        with Timer() as t:
            back = ws.read("obs")
        rows.append(("Workspace.read", t))
    assert back.equals(validate(df, "observations"))

    print(f"{args.rows:,} observation rows, {df.shape[1]} columns, file {size / 1e6:.0f} MB, "
          f"{os.cpu_count()} CPUs")
    print(f"{'step':34} {'wall s':>7} {'cpu s':>7} {'rows/s (wall)':>14}")
    for name, t in rows:
        print(f"{name:34} {t.wall:7.2f} {t.cpu:7.2f} {args.rows / t.wall:14,.0f}")
    for p in (args.path, Path(f"{args.path}.wal")):
        p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
