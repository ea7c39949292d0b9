"""Start-up time of the ``assay`` command (not a test; run it by hand).

Times, hyperfine-style, fresh processes of ``assay --help``, ``assay query --help``,
``assay --version`` and ``assay info W`` on a workspace holding a 10,000,000-row observations
table (20 streams, 5 classes, 2 sources: ``bench_workspace.make_observations``): ``--warmup``
untimed runs, then ``--runs`` timed ones, each a new process with its output sent to
/dev/null; the table gives the median, least and greatest wall time (and the median CPU
time, user + system, which a busy machine moves less). Then it splits one
``assay info`` into its phases, timed inside a fresh process: interpreter start, importing the
CLI (click, rich), importing the workspace (numpy, pandas, pyarrow, DuckDB), opening the file,
``Workspace.tables()``, ``Workspace.summary()`` of each observations table (read from the
per-stream summary stored when the rows were added; a GROUP BY over every row for a table
stored before that) and rich rendering.

Usage::

    python benchmarks/bench_cli_startup.py                # 10 runs each
    python benchmarks/bench_cli_startup.py --runs 30
    python benchmarks/bench_cli_startup.py --write        # also record it in docs/benchmarks.md

The workspace is built once in the temporary directory (``--workspace`` to choose the file,
``--rebuild`` to build it again) and reused by later runs. Targets: ``--help`` and
``--version`` under 0.3 s, ``assay info`` on 10 M rows under 1 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import tee_to_docs

TABLE = "observations"

#: what the child process of the phase split runs; prints the phase end times as JSON
_PHASES = """
import time
t = {"start": time.perf_counter()}
import io, json, sys
import assay.cli._main as m
t["import CLI (click, rich)"] = time.perf_counter()
from assay.store import Workspace
t["import workspace (numpy, pandas, pyarrow, duckdb)"] = time.perf_counter()
ws = Workspace(sys.argv[1], read_only=True)
t["open the DuckDB file"] = time.perf_counter()
tables = ws.tables()
t["Workspace.tables()"] = time.perf_counter()
names = tables.loc[tables["kind"] == "observations", "name"].tolist()
summaries = [ws.summary(n) for n in names]
t["Workspace.summary() (per stream, stored at add)"] = time.perf_counter()
from rich.console import Console
console = Console(file=io.StringIO(), width=140)
console.print(m.df_table(tables, title="workspace"))
for n, s in zip(names, summaries):
    console.print(m.df_table(s, title=n + ": per stream"))
t["rich rendering"] = time.perf_counter()
ws.close()
t["close"] = time.perf_counter()
print(json.dumps(t))
"""


def assay_command() -> str:
    """The ``assay`` console script of this interpreter's environment."""
    here = Path(sys.executable).parent / "assay"
    found = str(here) if here.exists() else shutil.which("assay")
    if not found:
        sys.exit("no `assay` command found: pip install -e . first")
    return found


def build_workspace(path: Path, rows: int, *, rebuild: bool) -> None:
    """Write a workspace with one observations table of ``rows`` rows, unless one is there."""
    from assay import Workspace

    if path.exists() and not rebuild:
        try:
            with Workspace(path, read_only=True) as ws:
                t = ws.tables()
            if ((t["name"] == TABLE) & (t["rows"] == rows)).any():
                print(f"reusing {path} ({rows:,} rows)", file=sys.stderr)
                return
        except Exception as exc:  # damaged or foreign: build it again
            print(f"rebuilding {path}: {exc}", file=sys.stderr)
    from bench_workspace import make_observations

    print(f"building {path} ({rows:,} rows) ...", file=sys.stderr)
    start = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    for p in (partial, Path(f"{partial}.wal")):
        p.unlink(missing_ok=True)
    with Workspace(partial) as ws:  # renamed when complete, so an interrupted build is not reused
        ws.add(TABLE, make_observations(rows))
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
    partial.rename(path)
    print(f"built in {time.perf_counter() - start:.0f} s, {path.stat().st_size / 1e6:.0f} MB",
          file=sys.stderr)


def time_runs(argv: list[str], *, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of ``runs`` fresh processes of ``argv``, after
    ``warmup`` untimed ones. CPU time moves less than wall time when the machine is busy."""
    walls, cpus = [], []
    for i in range(warmup + runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()}")
        if i >= warmup:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def phases(path: Path, *, runs: int) -> tuple[dict[str, float], float]:
    """Median seconds of each phase of ``assay info`` and of the whole child process."""
    split: dict[str, list[float]] = {}
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _PHASES, str(path)], capture_output=True,
                              text=True, check=True)
        walls.append(time.perf_counter() - start)
        t = json.loads(proc.stdout)
        names = list(t)
        for prev, name in zip(names, names[1:], strict=False):
            split.setdefault(name, []).append(t[name] - t[prev])
    return {k: statistics.median(v) for k, v in split.items()}, statistics.median(walls)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="timed runs per command")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs before them")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--workspace", type=Path, help="workspace file (default: in the temp dir)")
    ap.add_argument("--rebuild", action="store_true", help="build the workspace again")
    ap.add_argument("--write", action="store_true", help="also record it in docs/benchmarks.md")
    args = ap.parse_args(argv)
    path = args.workspace or Path(tempfile.gettempdir()) / f"assay-bench-cli-{args.rows}.duckdb"
    build_workspace(path, args.rows, rebuild=args.rebuild)
    exe = assay_command()

    cases = [  # shown, argv, target seconds
        ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"], None),
        ("assay --help", [exe, "--help"], 0.3),
        ("assay query --help", [exe, "query", "--help"], 0.3),
        ("assay --version", [exe, "--version"], 0.3),
        (f"assay info W ({args.rows:,} rows)", [exe, "info", str(path)], 1.0),
    ]
    with tee_to_docs("cli-startup", "CLI start-up", args.write):
        print(f"Fresh processes, {args.warmup} warm-up + {args.runs} timed runs each, output to "
              f"/dev/null; W has one observations table of {args.rows:,} rows (20 streams, "
              "5 classes, 2 sources).\n")
        print("| command | median s | min s | max s | target (max) | | median CPU s |")
        print("|---|---|---|---|---|---|---|")
        for shown, cmd, target in cases:
            t, cpu = time_runs(cmd, runs=args.runs, warmup=args.warmup)
            verdict = "" if target is None else ("ok" if max(t) < target else "over")
            print(f"| `{shown}` | {statistics.median(t):.3f} | {min(t):.3f} | {max(t):.3f} | "
                  f"{'' if target is None else f'< {target:g}'} | {verdict} | "
                  f"{statistics.median(cpu):.3f} |")

        split, wall = phases(path, runs=args.runs)
        inside = sum(split.values())
        print(f"\nWhere `assay info` spends its time (medians of {args.runs} fresh processes "
              "timing each phase inside):\n")
        print("| phase | median s |")
        print("|---|---|")
        print(f"| interpreter start and exit (process wall minus the phases) | {wall - inside:.3f} |")
        for name, seconds in split.items():
            print(f"| {name} | {seconds:.3f} |")
        print(f"| whole process | {wall:.3f} |")
        group_by = sum(v for k, v in split.items() if k.startswith("Workspace.summary"))
        print(f"\nThe per-stream summary is {group_by / wall:.0%} of `assay info`: it is computed "
              "once when rows are added (Workspace.add / append) and stored with the table; "
              "grouping every row on each `assay info` took 0.63 s of 1.21 s before.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
