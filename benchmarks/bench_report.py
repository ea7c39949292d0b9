"""``assay report`` on a big workspace: size of the page, time to build it, time to render it
(not a test; run it by hand).

The workspace (built with the Workspace API, once, in the temporary directory; ``--rebuild``
builds it again) holds an observations table of ``--observations`` rows
(``bench_workspace.make_observations``: 20 streams of 1920x1080 frames, 10 boxes a frame) and
one check run with ``--findings`` synthetic findings over them (5 assertions at different
rates, one observation each, random severities and a small JSON evidence), so the drawn
findings have their frames. Then:

* ``assay report W -o report.html`` in fresh processes (``--runs`` timed, one warm-up): wall
  time, peak memory, and the page's size (target < 5 MB);
* where the time goes, in one process: importing, then each section;
* the page opened in headless Chromium (Playwright driving Debian's ``/usr/bin/chromium``,
  as the tests' ``browser`` fixture does), a new page per run: time from navigation to the
  page loaded and two frames painted (target < 3 s), and the number of elements.

Usage::

    python benchmarks/bench_report.py                  # 1,000,000 findings, 3 runs
    python benchmarks/bench_report.py --write          # also record it in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _common import tee_to_docs

# the browser and flags of the tests' `browser` fixture (one definition)
from conftest import CHROMIUM, CHROMIUM_ARGS

ASSERTIONS = {"flicker": 0.45, "gap": 0.25, "appear": 0.15, "multibox": 0.1, "class_switch": 0.05}
SIZE_TARGET_MB = 5.0
RENDER_TARGET_S = 3.0


def build_workspace(path: Path, observations: int, findings: int, *, rebuild: bool) -> None:
    """A workspace with the observations table and one check run of ``findings`` findings."""
    from assay import Workspace

    if path.exists() and not rebuild:
        try:
            with Workspace(path, read_only=True) as ws:
                n = ws.sql("SELECT count(*) AS n FROM findings")["n"].iloc[0]
                rows = ws.table_info("obs")["rows"]
            if n == findings and rows == observations:
                print(f"reusing {path}", file=sys.stderr)
                return
        except Exception as exc:  # damaged, foreign or other sizes: build it again
            print(f"rebuilding {path}: {exc}", file=sys.stderr)
    from bench_workspace import make_observations

    from assay.store.identity import describe_input

    print(f"building {path}: {observations:,} observations, {findings:,} findings ...", file=sys.stderr)
    start = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    for p in (partial, Path(f"{partial}.wal")):
        p.unlink(missing_ok=True)
    obs = make_observations(observations)
    streams = sorted(obs["stream"].unique())
    obs.attrs["image_sizes"] = {s: [1920, 1080] for s in streams}
    obs.attrs["frame_rates"] = {s: 30.0 for s in streams}
    rng = np.random.default_rng(0)
    with Workspace(partial) as ws:  # renamed when complete, so an interrupted build is not reused
        ws.add("obs", obs)
        run = ws.start_run("check", {"observations": "obs", "rows": observations,
                                     "assertions": ["Flicker()", "Gap()", "Appear()", "Multibox()",
                                                    "ClassSwitch()"]},
                           inputs=[describe_input("observations", ws.read("obs"))])
        names, shares = list(ASSERTIONS), np.array(list(ASSERTIONS.values()))
        chunk = 250_000
        for lo in range(0, findings, chunk):
            n = min(chunk, findings - lo)
            which = rng.integers(0, observations, n)
            picked = obs.iloc[which]
            iou = np.round(rng.random(n), 3).astype(str)
            ws.add_findings(pd.DataFrame({
                "assertion": np.asarray(names, dtype=object)[rng.choice(len(names), n, p=shares)],
                "scope": "obs",
                "stream": picked["stream"].astype(str).to_numpy(),
                "frame_start": picked["frame"].to_numpy(),
                "frame_end": picked["frame"].to_numpy(),
                "obs_ids": [[int(i)] for i in picked["obs_id"]],
                "track": picked["track"].to_numpy(),
                "severity": np.round(rng.exponential(1.0, n) + 1e-3, 4),
                "evidence": pd.Series(iou, dtype=object).radd('{"iou_prev": ').add(', "iou_next": 0.0}')
                .to_numpy(),
            }), run_id=run)
        ws.finish_run(run, "ok", {"findings": findings})
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
    partial.rename(path)
    print(f"built in {time.perf_counter() - start:.0f} s, {path.stat().st_size / 1e6:.0f} MB",
          file=sys.stderr)


def add_second_run(path: Path, second: Path) -> int:
    """A copy of the workspace with a second check run on the same table: nine in ten of the
    first run's findings kept, the rest moved a frame (new findings; the old ones resolved).
    Returns its number of findings."""
    from assay import Workspace

    shutil.copyfile(path, second)
    with Workspace(second) as ws:
        first = ws.runs().iloc[0]
        found = ws.findings(first["run_id"]).drop(columns=["run_id"])
        moved = np.random.default_rng(1).random(len(found)) < 0.1
        found.loc[moved, "frame_start"] += 1
        found.loc[moved, "frame_end"] += 1
        run = ws.start_run("check", first["params"], inputs=first["inputs"])
        ws.add_findings(found, run_id=run)
        ws.finish_run(run, "ok", {"findings": len(found)})
    return len(found)


def assay_command() -> str:
    here = Path(sys.executable).parent / "assay"
    found = str(here) if here.exists() else shutil.which("assay")
    if not found:
        sys.exit("no `assay` command found: pip install -e '.[test]' first")
    return found


#: Runs a command and prints its peak resident memory (kB): one number per process measured.
_PEAK = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, "
         "text=True); sys.stderr.write(p.stdout + p.stderr) if p.returncode else None; "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)")


def time_cli(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and peak resident memory (MB) of ``runs`` fresh processes of ``argv``,
    after one untimed."""
    walls, peaks = [], []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _PEAK, *argv], capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}")
        if i:
            walls.append(wall)
            peaks.append(int(proc.stdout.split()[-1]) / 1024)
    return walls, peaks


_PHASES = """
import json, sys, time
t = {"start": time.perf_counter()}
import assay
from assay.report import build
from assay.report._context import Context
t["import assay, the report"] = time.perf_counter()
import matplotlib.figure
t["import matplotlib"] = time.perf_counter()
ws = assay.Workspace(sys.argv[1], read_only=True)
ctx = Context(ws, 20, None, None)
t["open the workspace"] = time.perf_counter()
for name, make in build.SECTIONS:
    make(ctx)
    t["section " + name] = time.perf_counter()
print(json.dumps(t))
"""


def phases(path: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", _PHASES, str(path)], capture_output=True,
                          text=True, check=True)
    t = json.loads(proc.stdout)
    names = list(t)
    return {b: t[b] - t[a] for a, b in zip(names, names[1:], strict=False)}


def render(page_path: Path, runs: int) -> tuple[list[float], int]:
    """Seconds from navigation to the page loaded and painted, per run (a new page each), and
    the number of elements on it."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs + 1):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(page_path.as_uri(), wait_until="load")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            times.append(time.perf_counter() - start)
            elements = page.evaluate("document.getElementsByTagName('*').length")
            context.close()
        browser.close()
    return times[1:], int(elements)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--findings", type=int, default=1_000_000)
    ap.add_argument("--observations", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="timed runs of the CLI and of the browser")
    ap.add_argument("--workspace", type=Path, help="workspace file (default: in the temp dir)")
    ap.add_argument("--rebuild", action="store_true", help="build the workspace again")
    ap.add_argument("--write", action="store_true", help="also record it in docs/benchmarks.md")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        sys.exit(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    tmp = Path(tempfile.gettempdir())
    path = args.workspace or tmp / f"assay-bench-report-{args.observations}-{args.findings}.duckdb"
    build_workspace(path, args.observations, args.findings, rebuild=args.rebuild)
    out = tmp / "assay-bench-report.html"
    walls, peaks = time_cli([assay_command(), "--quiet", "report", str(path), "-o", str(out)], args.runs)
    size = out.stat().st_size / 1e6
    split = phases(path)
    shown, elements = render(out, args.runs)
    html = out.read_text(encoding="utf-8")
    second = tmp / "assay-bench-report-two-runs.duckdb"
    n_second = add_second_run(path, second)
    walls2, peaks2 = time_cli([assay_command(), "--quiet", "report", str(second), "-o", str(out)], 1)
    size2 = out.stat().st_size / 1e6
    second.unlink()
    frames = html.count('<svg xmlns="http://www.w3.org/2000/svg" class="frame"')
    plots = html.count('class="plot"')

    title = f"HTML report: a check run with {args.findings:,} findings"
    with tee_to_docs("report", title, args.write):
        print(f"W: {args.observations:,} observations (20 streams, 1920x1080 frames) and one check "
              f"run of {args.findings:,} findings (5 assertions), built with the Workspace API. "
              f"`assay report W -o report.html` (default --top 20): {args.runs} timed fresh "
              "processes after a warm-up; the page opened in headless Chromium "
              f"({args.runs} timed new pages after a warm-up), from navigation to loaded and two "
              "frames painted.\n")
        print("| measure | value | target | |")
        print("|---|---|---|---|")
        print(f"| page size | {size:.2f} MB | < {SIZE_TARGET_MB:g} MB | "
              f"{'ok' if size < SIZE_TARGET_MB else 'over'} |")
        print(f"| `assay report` wall time, median (min-max) | {statistics.median(walls):.2f} s "
              f"({min(walls):.2f}-{max(walls):.2f}) | | |")
        print(f"| `assay report` peak resident memory, median | {statistics.median(peaks):.0f} MB | | |")
        print(f"| render in Chromium, median (min-max) | {statistics.median(shown):.2f} s "
              f"({min(shown):.2f}-{max(shown):.2f}) | < {RENDER_TARGET_S:g} s | "
              f"{'ok' if max(shown) < RENDER_TARGET_S else 'over'} |")
        print(f"| elements on the page | {elements:,} | | |")
        print(f"| frames drawn (`svg.frame`) / plots (`svg.plot`) | {frames:,} / {plots:,} | | |")
        print(f"\nWith a second check run of {n_second:,} findings on the same table (a tenth of "
              "them moved a frame), the page also shows what it fixed and broke (anti-joins in "
              f"DuckDB): `assay report` {walls2[0]:.2f} s, {statistics.median(peaks2):.0f} MB peak, "
              f"page {size2:.2f} MB (one fresh process after a warm-up).")
        print("\nWhere building the page spends its time (one process):\n")
        print("| phase | s |")
        print("|---|---|")
        for name, seconds in split.items():
            print(f"| {name} | {seconds:.3f} |")
        print(f"| whole (in-process) | {sum(split.values()):.3f} |")
        print("\nCounts (per assertion, stream and frame bin; per run for the rates; the diff) "
              "are GROUP BYs in DuckDB through `Workspace.sql`; only the 20 most severe findings "
              "and their frames' observations (`Workspace.read(table, stream=, frames=)`) come "
              "into Python.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
