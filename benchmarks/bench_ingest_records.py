"""Records CSV into a workspace: assay ingest (DuckDB, pyarrow's types) against pyarrow's reader.

    python benchmarks/bench_ingest_records.py [--rows 2000000] [--repeat 5] [--write]

A records file has no fixed layout: pyarrow guesses each column's type over the whole file, in
one pass, by rules DuckDB's sniffer does not share (``0x10`` is an integer, ``nan`` is
missing, ``+1`` is a float, ...). So ingest reads it twice with DuckDB: once deciding each
column's type by pyarrow's rules (and that the ids are distinct), once storing the typed rows.
The file (``id``, a boolean ``label``, a float ``proxy_score``) is generated first (not
timed); each measurement runs in a fresh child process, interleaved round after round;
medians are reported:

* read_records + Workspace.add: pyarrow's reader, then the frame stored (the path before);
* assay ingest: :func:`assay.io.ingest.ingest` with ``format="records"``;
* raw DuckDB read_csv into a table: its sniffer's types, one pass (the reference).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_section

TIMED = r"""
import json, resource, sys, time
path, db, how = sys.argv[1], sys.argv[2], sys.argv[3]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if how in ("python", "ingest"):
    from assay import Workspace
    from assay.io import read_records
    from assay.io.ingest import ingest
    ws = Workspace(db)
    t, c = time.perf_counter(), cpu()
    if how == "python":
        ws.add("r", read_records(path), kind="records")
    else:
        assert ingest(path, ws, name="r", format="records").reader == "duckdb"
    ws.close()
else:
    import duckdb
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    t, c = time.perf_counter(), cpu()
    con.execute(f"CREATE TABLE r AS SELECT * FROM read_csv('{path}')")
    con.close()
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": cpu() - c}))
"""

WAYS = {"python": "read_records + Workspace.add (pyarrow; the path before)",
        "ingest": "assay ingest (DuckDB, pyarrow's types decided in SQL)",
        "duckdb": "raw DuckDB read_csv into a table (sniffer, 1 pass)"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=5, help="rounds; the median of each is reported")
    ap.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {k: [] for k in WAYS}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "records.csv"
        rng = np.random.default_rng(0)
        pd.DataFrame({"id": np.arange(args.rows), "label": rng.random(args.rows) < 0.1,
                      "proxy_score": rng.random(args.rows)}).to_csv(src, index=False)
        size = src.stat().st_size
        for i in range(args.repeat):
            for how in WAYS:
                db = Path(tmp) / f"{how}{i}.duckdb"
                res = subprocess.run([sys.executable, "-c", TIMED, str(src), str(db), how],
                                     capture_output=True, text=True, check=True)
                runs[how].append(json.loads(res.stdout))
                db.unlink()
                print(how, runs[how][-1])
    med = {how: {k: statistics.median(x[k] for x in r) for k in ("seconds", "cpu")}
           for how, r in runs.items()}
    n = args.repeat
    table = (f"| way | wall, median of {n} | CPU, median of {n} | CPU vs the path before |\n"
             "|---|---:|---:|---:|\n")
    for how, label in WAYS.items():
        m = med[how]
        table += (f"| {label} | {m['seconds']:.2f} s | {m['cpu']:.2f} s | "
                  f"{m['cpu'] / med['python']['cpu']:.2f}x |\n")
    table += (f"\n{args.rows:,} records, {size / 1e6:.0f} MB file (`id`, `label`, `proxy_score`). "
              "CPU seconds: the process's user + system time over the timed part (all threads).")
    print(table)
    if args.write:
        write_section("ingest-records", (
            "## Ingest: records CSV, through DuckDB with pyarrow's types\n\n"
            f"`nice -n 10 python benchmarks/bench_ingest_records.py --rows {args.rows} --repeat "
            f"{args.repeat} --write` (machine: {machine()})\n\n" + table +
            "\n\nRecords files have no fixed layout: pyarrow guesses each column's type in its "
            "one pass, by rules DuckDB's sniffer does not share, so assay ingest reads the file "
            "twice with DuckDB (the types decided by pyarrow's rules, then the typed rows "
            f"stored): {med['python']['seconds'] / med['ingest']['seconds']:.2f}x the speed of "
            f"the path before (wall; CPU {med['python']['cpu'] / med['ingest']['cpu']:.2f}x), "
            f"{med['duckdb']['seconds'] / med['ingest']['seconds']:.2f}x raw DuckDB's (wall)."
        ))


if __name__ == "__main__":
    main()
