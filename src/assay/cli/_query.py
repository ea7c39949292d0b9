"""``assay query``: approximate queries with guarantees."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from ._common import AssayCommand, AssayGroup, CliError, open_workspace, quiet
from ._main import DEFAULT_WORKSPACE, df_table, out

_ORACLE_HELP = ("column:COL, python:module:function[@VERSION], human:FOLDER[#LABEL_SET], "
                "ray:python:module:function[@VERSION][?actors=N&num_gpus=G] (on Ray actors) or a name "
                "given by `assay oracle add` (its answers are cached by oracle, record id and the "
                "fields the oracle reads).")
_LABELS_HELP = ("Share cached answers under this key by record id alone, across files and tables "
                "whose ids name the same things (also: the key of answers from an older workspace).")


@click.group(cls=AssayGroup)
def query() -> None:
    """Approximate queries over records with a cheap proxy and an expensive oracle."""


def _records_arg(records: str, ws):
    """A file path as given, else a records table of the workspace (read with its identity)."""
    if Path(records).exists():
        return records
    if records in ws:
        return ws.read(records)
    raise CliError(f"--records {records}: no such file, and no table of that name in the workspace "
                   "(`assay info` lists its tables).")


@query.command("select", aliases={"value": "--recall / --precision",
                                  "target": "--recall / --precision", "name": "--records"})
@click.option("--records", "-r", required=True, help="A CSV/Parquet file, or a records table in the workspace.")
@click.option("--proxy", "-p", required=True, help="Column of proxy scores in [0, 1].")
@click.option("--oracle", "-o", required=True, help=_ORACLE_HELP)
@click.option("--recall", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Recall target (give this or --precision).")
@click.option("--precision", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Precision target.")
@click.option("--delta", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Failure probability.")
@click.option("--budget", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Most distinct records to label.")
@click.option("--method", default="assay", show_default=True,
              type=click.Choice(["assay", "assay-pilot", "supg", "supg++", "uniform", "joint"]))
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed: same query (and resumable).")
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True,
              help="Workspace caching every oracle answer.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Records per labeling round (default method).")
@click.option("--labels", help=_LABELS_HELP)
@click.option("--weight", help="Measure recall / precision in this weight column (duration, box count).")
@click.option("--events", help="Group contiguous records with the same value of this column into events; "
              "the targets count events, --budget counts events labeled.")
@click.option("--assume", type=(float, int), metavar="BETA WINDOW",
              help="Accept the minimum-density assumption MinDensity(BETA, WINDOW) (recall targets; "
                   "the guarantee is then conditional on it).")
@click.option("--assume-tail", type=click.FloatRange(0, 1, max_open=True), metavar="SHARE",
              help="With --assume: the share of the positives allowed below the sparse window "
                   "(default 0.04; 0 is BARGAIN's strict form).")
@click.option("--output", type=click.Path(path_type=Path), help="Write the selected ids here (one per line).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def select_cmd(records, proxy, oracle, recall, precision, delta, budget, method, seed, workspace,
               batch_size, labels, weight, events, assume, assume_tail, output, as_json):
    """Return records meeting a recall or precision target (or both: give --recall and
    --precision) with probability >= 1 - delta.

    \b
    Example:
      assay query select -r ../shared/data/proxy/supg/onto.csv -p proxy_score -o column:label --precision 0.9 --budget 1000
    """
    import numpy as np

    from .._progress import show_progress
    from ..approx import MinDensity, select

    if recall is None and precision is None:
        raise click.UsageError("give --recall, --precision, or both (a joint target).")
    if recall is not None and precision is not None:
        target, value = "joint", (recall, precision)
    else:
        target, value = ("recall", recall) if recall is not None else ("precision", precision)
    modes = {"weight": weight, "events": events}
    if assume_tail is not None and assume is None:
        raise click.UsageError("--assume-tail goes with --assume BETA WINDOW.")
    if assume is not None:
        modes["assume"] = MinDensity(*assume) if assume_tail is None else MinDensity(*assume, tail=assume_tail)
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        raise click.BadParameter(f"{output} is a folder, or its folder does not exist (create it first).",
                                 param_hint="--output")
    with open_workspace(workspace, create=True) as ws, show_progress(not quiet()):
        r = select(_records_arg(records, ws), proxy=proxy, oracle=oracle, target=target,
                   value=value, delta=delta, budget=budget, method=method, seed=seed,
                   workspace=ws, labels=labels, batch_size=batch_size, **modes)
    if output is not None:
        from ..io import StagedFiles

        with StagedFiles() as stage:
            stage.path(output).write_text("\n".join(map(str, r.ids.tolist())) + "\n")
    summary = {
        "selected": len(r), "threshold": r.threshold if np.isfinite(r.threshold) else None, "oracle_calls": r.oracle_calls,
        "labels_paid_now": r.labels_paid, "verification_calls": r.verification_calls,
        "guarantee": {"kind": r.guarantee.kind, "target": r.guarantee.target,
                      "value": r.guarantee.value, "delta": r.guarantee.delta},
        **({"assumption": r.guarantee.notes.get("assumption"),
            "assumption_contradicted": r.guarantee.notes.get("contradicted")}
           if r.guarantee.kind == "conditional" else {}),
        **({"delta_split": r.guarantee.notes.get("delta_split")} if target == "joint" else {}),
        "method": r.method, "seed": seed, "budget": budget, "run_id": r.run_id,
        **({"verified": r.diagnostics["verified"],
            "verified_negatives": r.diagnostics["verified_negatives"]}
           if "verified" in r.diagnostics else {}),
    }
    if as_json:
        summary["ids"] = np.asarray(r.ids).tolist()
        click.echo(json.dumps(summary))
        return
    shown = f"recall >= {value[0]} and precision >= {value[1]}" if target == "joint" else f"{target} >= {value}"
    out.print(f"selected [bold]{len(r):,}[/] records: {shown} with probability >= {1 - delta:g} "
              f"({r.guarantee.kind} guarantee, method {r.method}); oracle labels used: {r.oracle_calls:,} "
              f"(paid now: {r.labels_paid:,}); proxy threshold {r.threshold:.4g}"
              + (f"; ids written to {output}" if output else ""))
    if r.guarantee.kind == "conditional":
        out.print(f"assumed: {r.guarantee.notes['assumption']}"
                  + ("; [red]the labels contradict it[/]" if r.guarantee.notes.get("contradicted") else ""))
    if "verified" in r.diagnostics:
        out.print(f"the random sample stopped early: the labels left checked "
                  f"{r.diagnostics['verified']:,} of the answer's lowest-proxy records and dropped "
                  f"{r.diagnostics['verified_negatives']:,} negatives", highlight=False)
    hint = r.diagnostics.get("min_budget_hint")
    n_records = r.diagnostics["n_records"]
    if target == "recall" and hint and hint > r.oracle_calls and len(r) > 0.5 * n_records:
        out.print(f"[yellow]note:[/] the guarantee kept {len(r) / n_records:.0%} of the records: "
                  f"leaving records out with a guarantee that holds for any labels takes, by the "
                  f"labels seen, at least about {hint:,} oracle labels (this query used "
                  f"{r.oracle_calls:,}); raise --budget, or lower --recall.", highlight=False)


AGG_METHODS = ["assay", "betting", "uniform", "blazeit", "blazeit++", "abae", "ppi", "clt"]


@query.command("aggregate", aliases={"name": "--records", "range": "--range LO HI"})
@click.option("--records", "-r", required=True, help="A CSV/Parquet file, or a records table in the workspace.")
@click.option("--oracle", "-o", help="The value per record: " + _ORACLE_HELP)
@click.option("--proxy", "-p", help="Column of cheap scores correlated with the oracle.")
@click.option("--stat", type=click.Choice(["mean", "sum", "count"]), default="mean", show_default=True)
@click.option("--where", help="An expensive yes/no predicate, as an oracle spec: the query covers records passing it.")
@click.option("--error", type=click.FloatRange(0, min_open=True), help="Error target: half-width of the interval.")
@click.option("--relative", is_flag=True, help="The error target is relative to the answer.")
@click.option("--delta", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Failure probability.")
@click.option("--budget", type=click.IntRange(min=1), help="Most distinct records to label.")
@click.option("--range", "value_range", type=float, nargs=2, metavar="LO HI",
              help="Least and greatest value the oracle can return (needed unless it is yes/no).")
@click.option("--method", default="assay", show_default=True, type=click.Choice(AGG_METHODS))
@click.option("--batch-size", type=click.IntRange(min=1), help="Records sent to the oracle per batch.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed: same query (and resumable).")
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True,
              help="Workspace caching every oracle answer.")
@click.option("--labels", help=_LABELS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def aggregate_cmd(records, oracle, proxy, stat, where, error, relative, delta, budget, value_range,
                  method, batch_size, seed, workspace, labels, as_json):
    """Estimate a mean, sum or count of an expensive oracle within +-ERROR (or a label budget),
    with probability >= 1 - delta.

    \b
    Example:
      assay query aggregate -r ../shared/data/proxy/supg/onto.csv -p proxy_score -o column:label --error 0.01 --range 0 1
    """
    from .._progress import show_progress
    from ..approx import aggregate

    with open_workspace(workspace, create=True) as ws, show_progress(not quiet()):
        r = aggregate(_records_arg(records, ws), oracle=oracle, proxy=proxy, stat=stat,
                      where=where, error=error, relative=relative, delta=delta, budget=budget,
                      method=method, range=tuple(value_range) if value_range else None,
                      seed=seed, workspace=ws, batch_size=batch_size, labels=labels)
    if as_json:
        click.echo(json.dumps({**r.to_dict(), "run_id": r.run_id}))
        return
    what = f"{stat} of {oracle or 'records'}" + (f" where {where}" if where else "")
    target = (f"within +-{error:g}{' (relative)' if relative else ''}" if error is not None
              else f"with at most {budget:,} labels")
    out.print(f"{escape(what)}: [bold]{r.estimate:.6g}[/], interval \\[{r.lower:.6g}, {r.upper:.6g}] "
              f"at {1 - delta:g} ({r.guarantee.kind}{', anytime-valid' if r.guarantee.anytime else ''}, "
              f"method {r.method}); asked {target}, stopped on {r.stopped}; oracle labels used: "
              f"{r.oracle_calls:,} of {r.n_records:,} records (paid now: {r.labels_paid:,}); certain from the "
              f"labels alone: \\[{r.certain[0]:.6g}, {r.certain[1]:.6g}]", highlight=False, emoji=False)


@click.command("sql", cls=AssayCommand)
@click.argument("text", metavar="[QUERY]", required=False)
@click.option("--file", "-f", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the query from this file (instead of QUERY).")
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True,
              help="Workspace whose tables and oracle names the query uses.")
@click.option("--write", is_flag=True,
              help="Allow CREATE [OR REPLACE] TABLE name AS SELECT ... and DROP TABLE name (without it a "
                   "query only reads the workspace).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed: same query (and resumable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--rows", type=click.IntRange(min=1), default=30, show_default=True, help="Rows to print.")
def sql_cmd(text, path, workspace, write, seed, as_json, rows):
    """Run QUERY over the workspace: plain SQL runs exactly in DuckDB; a query that calls an
    oracle named by `assay oracle add` is answered with a guarantee (clauses ORACLE LIMIT n,
    USING proxy, RECALL TARGET p% or PRECISION TARGET p%, ERROR WITHIN e [RELATIVE], WITH
    PROBABILITY q% or AT CONFIDENCE q%, METHOD name). EXPLAIN QUERY shows the plan. A query
    whose oracle is a person on the review page (review:QUESTION) is asked with `assay review
    WORKSPACE --query "QUERY"`.

    \b
    Examples:
      assay sql "SELECT count(*) AS n, avg(proxy_score) AS mean_proxy FROM onto" -w assay.duckdb
      assay sql "EXPLAIN SELECT AVG(truth(label)) FROM onto ORACLE LIMIT 500 USING proxy_score" -w assay.duckdb
      assay sql "SELECT AVG(truth(label)) FROM onto ORACLE LIMIT 500 USING proxy_score" -w assay.duckdb
    """
    from .._progress import show_progress
    from ..approx import sql

    if (text is None) == (path is None):
        raise CliError("give the query as QUERY or in a file with -f FILE (one of them).")
    if path is not None:
        if not path.is_file():
            raise CliError(f"-f {path}: no such file.")
        text = path.read_text(encoding="utf-8")
    with open_workspace(workspace, create=True) as ws, show_progress(not quiet()):
        r = sql(ws, text, seed=seed, write=write)
    if as_json:
        click.echo(json.dumps(r.to_dict(), default=str))
        return
    out.print(df_table(r.table, max_rows=rows))
    g = r.guarantee
    if g:
        out.print(f"{g['kind']} guarantee: {g['target']} with probability >= {1 - g['delta']:g} "
                  f"(method {g['method']}); oracle labels: {g['oracle_calls']:,} "
                  f"(paid now {g['labels_paid']:,}, reused {g['labels_reused']:,}); run {g['run_id']}",
                  highlight=False)
