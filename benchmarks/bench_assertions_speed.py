"""Speed of the vectorized built-in assertions and of the runner for user-written assertions.

    python benchmarks/bench_assertions_speed.py [--boxes 10000000] [--frames 200000] [--repeat 2] [--write]

1. Built-ins over generated 2-D boxes (default 10 million): 100 streams at 30 fps, 20
   pedestrian-sized objects per frame moving smoothly (constant velocity plus 1-pixel jitter),
   2% of boxes dropped (so Gap has work) and 1% extra boxes at random places (so Flicker
   has work). Throughput of ``Flicker().run``, ``Gap().run`` and ``Multibox().run`` in boxes
   per second, with ``info=None`` (the stream facts are derived inside ``run``) and with
   ``info=stream_info(obs)`` computed once beforehand (a runner running several assertions
   does this once). Table construction and validation are not timed.
2. Runner overhead for a user-written point assertion that does nothing
   (``@point_assertion def f(frame, outputs): return 0.0``), run through ``check`` over
   ``--frames`` frames with 5 boxes each: microseconds per frame, everything included
   (validation, stream facts, sorting, the per-frame Python loop).

Everything runs on one core: the process pins itself to one CPU (like ``taskset -c 0``)
and sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` to 1 and the
pyarrow thread pool to 1 before numpy is imported. Targets (issue 3): >= 1 M boxes/s for
flicker and gap; <= 20 microseconds per frame for the runner. A missed target is profiled
(cProfile) and the functions taking the time are printed.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_section  # noqa: E402

from assay.assertions import Flicker, Gap, Multibox, check, point_assertion, stream_info  # noqa: E402
from assay.tables import validate  # noqa: E402

FPS = 30.0
TARGET_BOXES = 1_000_000
TARGET_US = 20.0


def pin_one_core() -> int:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    return cpu


def strings(names: list[str], codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    arr = pa.array(names, pa.large_string()).take(pa.array(codes.astype(np.int64)))
    return pd.arrays.ArrowStringArray(arr)


def generate(n_boxes: int, *, streams: int = 100, objects: int = 20, drop: float = 0.02,
             noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """About ``n_boxes`` boxes of smoothly moving objects, with dropouts and noise boxes."""
    rng = np.random.default_rng(seed)
    frames = int(np.ceil(n_boxes / (streams * objects * (1 - drop + noise))))
    s_idx, f_idx, k_idx = np.meshgrid(np.arange(streams), np.arange(frames), np.arange(objects),
                                      indexing="ij")
    shape = (streams, 1, objects)
    x0 = rng.uniform(0, 1920, shape)
    y0 = rng.uniform(300, 800, shape)
    vx = rng.normal(0, 3, shape)  # pixels per frame
    vy = rng.normal(0, 0.5, shape)
    w = rng.uniform(30, 120, shape)
    h = w * rng.uniform(2.2, 2.8, shape)
    jitter = rng.normal(0, 1, (streams, frames, objects, 2))
    cx = np.mod(x0 + vx * f_idx + jitter[..., 0], 2000.0) - 40
    cy = y0 + vy * f_idx + jitter[..., 1]
    keep = rng.random((streams, frames, objects)) >= drop
    score = rng.uniform(0.5, 1.0, (streams, frames, objects))
    n_noise = int(noise * streams * frames * objects)
    ns = rng.integers(0, streams, n_noise)
    nf = rng.integers(0, frames, n_noise)
    nw = rng.uniform(20, 100, n_noise)
    ncx, ncy = rng.uniform(0, 1920, n_noise), rng.uniform(200, 900, n_noise)
    stream = np.concatenate([s_idx[keep], ns])
    frame = np.concatenate([f_idx[keep], nf]).astype(np.int64)
    bx = np.concatenate([cx[keep], ncx])
    by = np.concatenate([cy[keep], ncy])
    bw = np.concatenate([np.broadcast_to(w, keep.shape)[keep], nw])
    bh = np.concatenate([np.broadcast_to(h, keep.shape)[keep], nw * 2.5])
    sc = np.concatenate([score[keep], rng.uniform(0.5, 0.7, n_noise)])
    order = np.lexsort((frame, stream))  # arrives as a detector writes it: stream by stream, frame by frame
    stream, frame, bx, by, bw, bh, sc = (a[order] for a in (stream, frame, bx, by, bw, bh, sc))
    n = len(frame)
    names = [f"cam{i:03d}" for i in range(streams)]
    df = pd.DataFrame({
        "stream": strings(names, stream),
        "frame": frame,
        "time": frame / FPS,
        "obs_id": np.arange(n, dtype=np.int64),
        "cls": strings(["person"], np.zeros(n, np.int64)),
        "score": sc,
        "source": strings(["model:synthetic"], np.zeros(n, np.int64)),
        "x1": bx - bw / 2, "y1": by - bh / 2, "x2": bx + bw / 2, "y2": by + bh / 2,
    })
    return validate(df, "observations")


def best_time(func, repeat: int, *, warmup: bool = False):
    """Result of ``func()`` and its best CPU time (this process, user + system) over
    ``repeat`` runs, with the wall time of that run. CPU time is the measure: the machine is
    shared, so wall time also counts waiting for the core. ``warmup`` runs ``func`` once
    untimed first: the first run of a process pays page faults for fresh memory that later
    runs reuse (glibc raises its mmap threshold after the first large frees)."""
    best, wall, out = float("inf"), float("inf"), None
    if warmup:
        func()
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = func()
        c, w = time.process_time() - c, time.perf_counter() - w
        if c < best:
            best, wall = c, w
    return out, best, wall


def profile(func, top: int = 12) -> str:
    """The functions taking the time in ``func()``: own time and cumulative time, % of total."""
    prof = cProfile.Profile()
    prof.enable()
    func()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append((tt, ct, nc, f"{Path(file).name}:{line}({name})"))
    lines = [f"cProfile: {total:.2f} s in total (profiling overhead included). Own time of "
             "`run` is numpy work written inline in `run` (fancy indexing, comparisons), which "
             "cProfile cannot split further.\n",
             "| function | calls | own time | own % | cumulative | cum % |", "|---|---:|---:|---:|---:|---:|"]
    for tt, ct, nc, where in sorted(rows, reverse=True)[:top]:
        lines.append(f"| `{where}` | {nc:,} | {tt:.2f} s | {100 * tt / total:.0f}% | {ct:.2f} s | "
                     f"{100 * ct / total:.0f}% |")
    return "\n".join(lines)


def _partitions(obs: pd.DataFrame) -> list[pd.DataFrame]:
    codes = pd.factorize(obs["stream"])[0]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    return [obs.iloc[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _run_parts(a, parts, infos):
    return sum(len(a.run(p, info=i)) for p, i in zip(parts, infos, strict=True))


def bench_builtins(obs: pd.DataFrame, repeat: int, force_profile: bool,
                   limit_gib: float) -> tuple[str, list[str]]:
    """Whole-table runs; when one runs out of memory (the address-space limit turns that
    into a MemoryError instead of the kernel's OOM killer), the same boxes stream by stream."""
    n = len(obs)
    info, t_info, _ = best_time(lambda: stream_info(obs), repeat)
    parts = None
    lines = [
        f"{n:,} boxes, {obs['stream'].nunique()} streams, {obs['frame'].nunique():,} frames per "
        f"stream, about 20 boxes per frame; `stream_info(obs)` alone: {t_info:.2f} s CPU. "
        "Times are CPU seconds of the benchmark process (best run; wall time of that run in "
        "brackets).\n",
        "| assertion | run over | findings | info=None | boxes/s | info given | boxes/s | target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    notes = []

    def row(a, label: str, m: int, t_none: float, w_none: float, t_given: float, w_given: float,
            found: int) -> bool:
        target = isinstance(a, (Flicker, Gap))
        met = m / t_none >= TARGET_BOXES
        status = ("met" if met else "**missed**") if target else "(none)"
        lines.append(f"| {type(a).__name__} | {label} | {found:,} | {t_none:.1f} s ({w_none:.1f}) | "
                     f"{m / t_none / 1e6:.2f} M | {t_given:.1f} s ({w_given:.1f}) | "
                     f"{m / t_given / 1e6:.2f} M | {status} |")
        print(lines[-1], flush=True)
        return met or not target

    for a in (Flicker(), Gap(), Multibox()):
        try:
            found, t_none, w_none = best_time(lambda a=a: len(a.run(obs)), repeat, warmup=True)
            found2, t_given, w_given = best_time(lambda a=a: len(a.run(obs, info=info)), repeat)
            assert found == found2, (found, found2)
            ok = row(a, "whole table", n, t_none, w_none, t_given, w_given, found)
            sample = obs
        except MemoryError as exc:
            lines.append(f"| {type(a).__name__} | whole table | out of memory at the {limit_gib:g} GiB "
                         f"address-space limit ({exc}) | | | | | |")
            print(lines[-1], flush=True)
            if parts is None:
                parts = _partitions(obs)
                part_infos = [stream_info(p) for p in parts]
                head = pd.concat(parts[:10])
                head_info = stream_info(head)
            found, t_none, w_none = best_time(lambda a=a, ps=parts: _run_parts(a, ps, [None] * len(ps)),
                                              repeat)  # the first of 100 runs warms up the rest
            found2, t_given, w_given = best_time(lambda a=a, ps=parts, pi=part_infos: _run_parts(a, ps, pi), repeat)
            assert found == found2, (found, found2)
            ok = row(a, f"each stream alone ({len(parts)} runs of ~{n // len(parts):,})", n,
                     t_none, w_none, t_given, w_given, found)
            # The same work on a table that fits: how throughput depends on table size.
            found, t_none, w_none = best_time(lambda a=a, x=head: len(a.run(x)), repeat, warmup=True)
            found2, t_given, w_given = best_time(lambda a=a, x=head, i=head_info: len(a.run(x, info=i)), repeat)
            row(a, f"whole table of the first 10 streams ({len(head):,})", len(head),
                t_none, w_none, t_given, w_given, found)
            sample = parts[0]
        if not ok or force_profile:
            notes.append(f"Profile of `{type(a).__name__}().run(obs)` on {len(sample):,} boxes:\n\n"
                         + profile(lambda a=a, x=sample: a.run(x)))
    return "\n".join(lines), notes


def runner_table(frames: int, boxes_per_frame: int = 5, streams: int = 20) -> pd.DataFrame:
    per_stream = frames // streams
    rng = np.random.default_rng(1)
    s = np.repeat(np.arange(streams), per_stream * boxes_per_frame)
    f = np.tile(np.repeat(np.arange(per_stream), boxes_per_frame), streams).astype(np.int64)
    n = len(f)
    x = rng.uniform(0, 1800, n)
    y = rng.uniform(0, 900, n)
    df = pd.DataFrame({
        "stream": strings([f"cam{i:02d}" for i in range(streams)], s),
        "frame": f, "time": f / FPS, "obs_id": np.arange(n, dtype=np.int64),
        "cls": strings(["person"], np.zeros(n, np.int64)), "score": rng.uniform(0.5, 1, n),
        "source": strings(["model:synthetic"], np.zeros(n, np.int64)),
        "x1": x, "y1": y, "x2": x + 50, "y2": y + 120,
    })
    return validate(df, "observations")


def bench_runner(frames: int, repeat: int, force_profile: bool) -> tuple[str, list[str]]:
    @point_assertion
    def nothing(frame, outputs):
        return 0.0

    @point_assertion
    def uses_outputs(frame, outputs):
        return float(outputs.score.max() < 0.1) + float(len(outputs) > 100)

    obs = runner_table(frames)
    n_frames = len(obs.groupby(["stream", "frame"], observed=True).size())
    lines = [
        f"{n_frames:,} frames ({len(obs):,} boxes, {obs['stream'].nunique()} streams); CPU time "
        "of `check(obs, [assertion])`, everything included (wall time in brackets).\n",
        "| user assertion | total | per frame | target |", "|---|---:|---:|---|",
    ]
    notes = []
    cases = (("`return 0.0` (runner overhead)", nothing),
             ("`float(outputs.score.max() < 0.1) + float(len(outputs) > 100)` (overhead + user work)", uses_outputs))
    for label, a in cases:
        found, t, w = best_time(lambda a=a: check(obs, [a]), repeat, warmup=True)
        assert len(found) == 0
        us = t / n_frames * 1e6
        if a is nothing:
            met = us <= TARGET_US
            status = f"{'met' if met else '**missed**'} (<= {TARGET_US:g} µs)"
        else:
            met, status = True, "(not a target)"
        lines.append(f"| {label} | {t:.2f} s ({w:.2f}) | {us:.1f} µs | {status} |")
        if (not met) or (force_profile and a is nothing):
            notes.append(f"Profile of `check(obs, [{a.name}])` ({n_frames:,} frames):\n\n"
                         + profile(lambda a=a: check(obs, [a])))
    return "\n".join(lines), notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boxes", type=int, default=10_000_000)
    ap.add_argument("--frames", type=int, default=200_000, help="frames for the runner overhead")
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best is reported")
    ap.add_argument("--profile", action="store_true", help="profile even when the targets are met")
    ap.add_argument("--memory-limit", type=float, default=8.0,
                    help="GiB of address space for this process; a run needing more fails with "
                         "MemoryError (then the boxes are run stream by stream) instead of "
                         "starving the machine")
    ap.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = ap.parse_args()
    limit = int(args.memory_limit * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = pin_one_core()
    t = time.perf_counter()
    obs = generate(args.boxes)
    print(f"generated and validated {len(obs):,} boxes in {time.perf_counter() - t:.1f} s "
          f"(pinned to CPU {cpu})\n", flush=True)
    table1, notes1 = bench_builtins(obs, args.repeat, args.profile, args.memory_limit)
    print("\n" + table1 + "\n", flush=True)
    del obs
    table2, notes2 = bench_runner(args.frames, args.repeat, args.profile)
    print(table2 + "\n")
    notes = notes1 + notes2
    for note in notes:
        print(note + "\n")
    if args.write:
        cmd = "python benchmarks/bench_assertions_speed.py " + " ".join(sys.argv[1:])
        write_section("assertions-speed", (
            "## Model assertions: speed on one core\n\n"
            f"`{cmd.strip()}` (best of {args.repeat}; one core, pinned; address space limited to "
            f"{args.memory_limit:g} GiB; machine: {machine()})\n\n"
            "Built-ins over generated boxes (100 streams at 30 fps, 20 moving objects per frame, "
            "2% dropped, 1% random noise boxes). Target: >= 1 M boxes/s for flicker and gap.\n\n"
            + table1 + "\n\nRunner overhead of a user-written point assertion through `check`. "
            "Target: <= 20 µs per frame.\n\n" + table2
            + ("\n\n" + "\n\n".join(notes) if notes else "")
        ))


if __name__ == "__main__":
    main()
