"""Time to serve the next item of the review page (not a test; run it by hand).

A workspace of 10,000,000 observations (``bench_workspace.make_observations``: 20 streams of
50,000 frames, 10 boxes each) with one check run of ``--findings`` findings (default
100,000; each names one box in each of 1 to 4 consecutive frames of a stream) is served by
``assay review`` in its own process, and timed over HTTP from this one:

* the first request for the next finding (the server reads the run's findings once, then
  keeps them until the findings table changes);
* ``--answers`` times: an answer (``POST /api/answer``: its verdicts through
  ``import_verdicts``, its row in ``review.answers``, one transaction) and the request for
  the next finding with its drawing (the page asks for it right after the answer);
* ``--answers`` times: the next item without answering (the arrow key);
* the next finding of one stream (a filter);
* ``--idle`` times: the next item after ``--pause`` seconds of quiet (the server lets the
  workspace go 1 s after a request, so other commands can use it: this request opens it again).

A request for an item reads the finding's frames of its stream from the 10 M rows (filtered
in DuckDB) and draws them as SVG. Target: the next item in under 200 ms.

Usage::

    python benchmarks/bench_review.py                 # 30 answers
    python benchmarks/bench_review.py --write         # also record it in docs/benchmarks.md

The workspace is built once in the temporary directory (``--workspace`` to choose the file,
``--rebuild`` to build it again) and copied before each run (answers change it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import tee_to_docs

TABLE = "observations"
STREAMS, PER_FRAME = 20, 10


def build(path: Path, rows: int, findings: int, *, rebuild: bool) -> None:
    """The workspace: ``rows`` observations and one check run of ``findings`` findings."""
    import numpy as np
    import pandas as pd

    from assay import Workspace

    if path.exists() and not rebuild:
        try:
            with Workspace(path, read_only=True) as ws:
                t = ws.tables().set_index("name")
            if t.loc[TABLE, "rows"] == rows and t.loc["findings", "rows"] == findings:
                print(f"reusing {path}", file=sys.stderr)
                return
        except Exception as exc:  # damaged, foreign or another size: build it again
            print(f"rebuilding {path}: {exc}", file=sys.stderr)
    from bench_workspace import make_observations

    print(f"building {path} ({rows:,} rows, {findings:,} findings) ...", file=sys.stderr)
    start = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    for p in (partial, Path(f"{partial}.wal")):
        p.unlink(missing_ok=True)
    rng = np.random.default_rng(0)
    per_stream = -(-rows // STREAMS)
    frames = per_stream // PER_FRAME
    stream = rng.integers(0, STREAMS, findings)
    length = rng.integers(1, 5, findings)
    first = rng.integers(1, frames - 5, findings)
    box = rng.integers(0, PER_FRAME, findings)
    obs_ids = [[int(s * per_stream + (f + t) * PER_FRAME + b) for t in range(n)]
               for s, f, n, b in zip(stream, first, length, box, strict=True)]
    found = pd.DataFrame({
        "assertion": rng.choice(["flicker", "gap", "multibox", "appear"], findings),
        "scope": "track", "stream": [f"cam{s:02d}" for s in stream], "frame_start": first,
        "frame_end": first + length - 1, "obs_ids": obs_ids,
        "track": pd.array([None] * findings, dtype="Int64"), "severity": rng.uniform(0.01, 1.0, findings),
        "evidence": [json.dumps({"frames": int(n)}) for n in length],
    })
    with Workspace(partial) as ws:  # renamed when complete, so an interrupted build is not reused
        ws.add(TABLE, make_observations(rows))
        run = ws.start_run("check", {"observations": TABLE, "rows": rows})
        ws.add_findings(found, run_id=run)
        ws.finish_run(run, "ok", {"findings": findings})
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
    partial.rename(path)
    print(f"built in {time.perf_counter() - start:.0f} s, {path.stat().st_size / 1e6:.0f} MB", file=sys.stderr)


class Client:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        page = urllib.request.urlopen(url, timeout=60).read().decode()
        self.token = re.search(r'name="assay-token" content="([^"]+)"', page).group(1)

    def call(self, path: str, body: dict | None = None) -> tuple[float, dict]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="GET" if body is None else "POST",
                                     headers={"X-Assay-Token": self.token, "Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as r:
            got = json.loads(r.read())
        return time.perf_counter() - start, got


def serve(path: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "assay.cli", "review", str(path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    found = re.search(r"(http://\S+/)", line)
    if not found:
        proc.kill()
        sys.exit(f"assay review did not start: {line}{proc.communicate()[1]}")
    return proc, found.group(1)


def summary(name: str, seconds: list[float], target: float | None) -> str:
    ms = [s * 1000 for s in seconds]
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 2 else ms[0]
    verdict = "" if target is None else ("ok" if p95 < target * 1000 else "over")
    return (f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {max(ms):.0f} | "
            f"{'' if target is None else f'< {target * 1000:.0f}'} | {verdict} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--answers", type=int, default=30, help="answers (and skips) timed")
    ap.add_argument("--idle", type=int, default=10, help="requests timed after a quiet pause")
    ap.add_argument("--pause", type=float, default=1.5, help="seconds of that pause")
    ap.add_argument("--workspace", type=Path, help="workspace file (default: in the temp dir)")
    ap.add_argument("--rebuild", action="store_true", help="build the workspace again")
    ap.add_argument("--write", action="store_true", help="also record it in docs/benchmarks.md")
    args = ap.parse_args(argv)
    base = args.workspace or Path(tempfile.gettempdir()) / f"assay-bench-review-{args.rows}-{args.findings}.duckdb"
    build(base, args.rows, args.findings, rebuild=args.rebuild)
    work = base.with_name(base.stem + "-run.duckdb")
    Path(f"{work}.wal").unlink(missing_ok=True)
    shutil.copy(base, work)
    proc, url = serve(work)
    try:
        c = Client(url)
        cold, got = c.call("/api/item?kind=findings&tab=bench")
        assert got["item"] is not None, got
        nxt, answer, skip, drawn, svg = [], [], [], [], []
        for i in range(args.answers):
            t, saved = c.call("/api/answer", {"kind": "findings", "key": got["item"]["key"], "tab": "bench",
                                              "answer": {"action": "reject" if i % 3 == 0 else "accept"}})
            assert saved.get("saved"), saved
            answer.append(t)
            t, got = c.call("/api/item?kind=findings&tab=bench")
            nxt.append(t)
            drawn.append(len(got["item"]["frames"]))
            svg.append(sum(len(f["svg"]) for f in got["item"]["frames"]))
        for i in range(1, args.answers + 1):
            t, moved = c.call(f"/api/item?kind=findings&tab=bench&offset={i}")
            assert moved["position"] == i
            skip.append(t)
        filtered = [c.call("/api/item?kind=findings&tab=bench&stream=cam07")[0] for _ in range(10)]
        idle = []
        for i in range(args.idle):  # a person thinking longer than the server keeps the file
            time.sleep(args.pause)
            t, got = c.call(f"/api/item?kind=findings&tab=bench&offset={i}")
            idle.append(t)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    with tee_to_docs("review", "Review page: time to serve the next item", args.write):
        print(f"`assay review` in its own process on a workspace of {args.rows:,} observations "
              f"(20 streams of {args.rows // STREAMS // PER_FRAME:,} frames, 10 boxes each) and one "
              f"check run of {args.findings:,} findings; requests over HTTP from another process "
              "(urllib, a new connection each). A request for an item reads the finding's frames "
              "of its stream (filtered in DuckDB) and draws them: "
              f"{statistics.mean(drawn):.1f} frames, {statistics.mean(svg) / 1000:.1f} kB of SVG per "
              "item on average. The server keeps the workspace open for 1 s after a request "
              "(then lets it go for other processes); the last row is a request after "
              f"{args.pause:g} s of quiet, which opens the file again.\n")
        print("| request | n | median ms | p95 ms | max ms | target (p95) | |")
        print("|---|---|---|---|---|---|---|")
        print(summary("first next finding, right after start (the findings are read once, as "
                      "the server starts)", [cold], None))
        print(summary("**next finding, after an answer**", nxt, 0.2))
        print(summary("next item without answering (arrow key)", skip, 0.2))
        print(summary("next finding of one stream (filter)", filtered, 0.2))
        print(summary(f"next item after {args.pause:g} s of quiet (the file opened again)", idle, 0.2))
        print(summary("answer (verdicts + review.answers, one transaction)", answer, None))
    work.unlink(missing_ok=True)
    Path(f"{work}.wal").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
