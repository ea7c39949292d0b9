"""A longer run of the batch = stream = subset property of the assertions (issue 16).

    python benchmarks/bench_assertions_agreement.py [--examples 3000] [--write]

``tests/assertions/test_agreement.py`` checks, over random tables of a few streams, that
``check``, a ``Monitor`` fed frame by frame and in chunks, and ``check`` of any subset of
whole streams give the same findings, for every built-in, a renamed subclass of each and
user-written point and temporal assertions. CI runs 60 fixed examples; this runs the same
property over ``--examples`` new random ones (hypothesis, randomized, no example database)
and reports how many passed and how long they took. A failure prints hypothesis's smallest
failing example and exits 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import REPO, machine, write_section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=3000)
    ap.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = ap.parse_args()
    env = {**os.environ, "ASSAY_AGREEMENT_EXAMPLES": str(args.examples)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "tests/assertions/test_agreement.py::test_batch_stream_and_subset_agree"]
    t, c = time.perf_counter(), os.times()
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    cpu = os.times().children_user - c.children_user + os.times().children_system - c.children_system
    print(run.stdout[-4000:], run.stderr[-2000:])
    ok = run.returncode == 0
    line = (f"| {args.examples:,} | {'all passed' if ok else '**failed**'} | {cpu:.0f} s | {wall:.0f} s | "
            f"{1000 * cpu / args.examples:.0f} ms |")
    table = ("| random examples | result | CPU | wall | CPU per example |\n|---:|---|---:|---:|---:|\n" + line)
    print(table)
    if args.write:
        write_section("assertions-agreement", (
            "## Model assertions: batch = stream = subset, a longer random run\n\n"
            f"`python benchmarks/bench_assertions_agreement.py --examples {args.examples} --write` "
            f"(machine: {machine()})\n\n"
            "The property of `tests/assertions/test_agreement.py` (CI: 60 fixed examples) over new "
            "random tables: for every built-in, a renamed subclass of each, a declared consistency "
            "assertion and user point / temporal assertions, `check` = a `Monitor` fed frame by "
            "frame and in chunks (streams interleaved) = `check` of any subset of whole streams; "
            "a renamed subclass finds what the original finds.\n\n" + table))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
