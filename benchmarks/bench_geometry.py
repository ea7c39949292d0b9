"""Throughput of assay.geometry on one core: 2-D IoU and bird's-eye-view IoU.

Prints the machine and a markdown table. Run from the repository root:

    python benchmarks/bench_geometry.py [--repeat 5]

It pins BLAS / OpenMP pools to one thread and, where the OS allows, the process to one CPU,
so the numbers are per core. Each figure is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from assay.geometry import iou_2d, iou_2d_paired, iou_bev, iou_bev_paired  # noqa: E402


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned"


def best(func, *args, repeat: int) -> float:
    func(*args)  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def boxes_2d(rng, n):
    xy = rng.uniform(0, 1920, (n, 2))
    wh = rng.uniform(10, 200, (n, 2))
    return np.c_[xy, xy + wh]


def boxes_bev(rng, n, spread):
    return np.c_[rng.uniform(-spread, spread, (n, 2)), rng.uniform(0.5, 5, (n, 2)),
                 rng.uniform(-np.pi, np.pi, n)]


def shapely_iou_paired(a, b):
    sign_l, sign_w = np.array([1.0, -1, -1, 1]), np.array([1.0, 1, -1, -1])

    def polygons(x):
        c, s = np.cos(x[:, 4:5]), np.sin(x[:, 4:5])
        dl, dw = 0.5 * x[:, 2:3] * sign_l, 0.5 * x[:, 3:4] * sign_w
        return shapely.polygons(np.stack([x[:, 0:1] + c * dl - s * dw,
                                          x[:, 1:2] + s * dl + c * dw], axis=-1))

    pa, pb = polygons(a), polygons(b)
    inter = shapely.area(shapely.intersection(pa, pb))
    return inter / (shapely.area(pa) + shapely.area(pb) - inter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pinned = pin_one_core()
    rng = np.random.default_rng(0)
    rows = []

    for n, m in ((1000, 1000), (2000, 2000), (200, 50_000)):
        a, b = boxes_2d(rng, n), boxes_2d(rng, m)
        t = best(iou_2d, a, b, repeat=args.repeat)
        rows.append(("iou_2d (pairwise)", f"{n} x {m}", n * m, t, ""))
    a, b = boxes_2d(rng, 1_000_000), boxes_2d(rng, 1_000_000)
    t = best(iou_2d_paired, a, b, repeat=args.repeat)
    rows.append(("iou_2d_paired", "1,000,000 pairs", len(a), t, ""))

    # Paired BEV on pairs that mostly overlap: every pair is clipped.
    a, b = boxes_bev(rng, 200_000, 3.0), boxes_bev(rng, 200_000, 3.0)
    t = best(iou_bev_paired, a, b, repeat=args.repeat)
    ours = iou_bev_paired(a, b)
    overlap = f"{(ours > 0).mean():.0%} overlap"
    rows.append(("iou_bev_paired", "200,000 pairs", len(a), t, overlap))
    k = 20_000
    t_ref = best(shapely_iou_paired, a[:k], b[:k], repeat=max(1, args.repeat // 2))
    err = np.abs(shapely_iou_paired(a[:k], b[:k]) - ours[:k]).max()
    rows.append((f"shapely {shapely.__version__} overlay (reference)", f"{k:,} of the same pairs",
                 k, t_ref, f"max abs diff vs assay {err:.1e}"))
    # Pairwise BEV on a street scene: 60 m x 60 m, most pairs far apart.
    a, b = boxes_bev(rng, 1000, 30.0), boxes_bev(rng, 1000, 30.0)
    t = best(iou_bev, a, b, repeat=args.repeat)
    rows.append(("iou_bev (pairwise)", "1000 x 1000 boxes in 60 m x 60 m", 1_000_000, t,
                 f"{(iou_bev(a, b) > 0).mean():.1%} overlap"))

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs visible, {pinned}; "
          f"Python {platform.python_version()}, numpy {np.__version__}, "
          f"shapely {shapely.__version__}; float64; best of {args.repeat}\n")
    print("| function | input | pairs/s | time (ms) | note |")
    print("|---|---|---:|---:|---|")
    for name, what, pairs, seconds, note in rows:
        rate = pairs / seconds / 1e6
        print(f"| {name} | {what} | {rate:,.2f} M | {seconds * 1e3:,.1f} | {note} |")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import tee_to_docs

    with tee_to_docs("geometry", "IoU throughput (one core)", "--write" in sys.argv):
        main()
