"""``assay query``: approximate queries with guarantees."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from ._main import DEFAULT_WORKSPACE, out


@click.group()
def query() -> None:
    """Approximate queries over records with a cheap proxy and an expensive oracle."""


def _records_arg(records: str, ws):
    """A file path as given, else a records table of the workspace."""
    if Path(records).exists():
        return records, Path(records).stem
    return ws.read(records), records


@query.command("select")
@click.option("--records", "-r", required=True, help="A CSV/Parquet file, or a records table in the workspace.")
@click.option("--proxy", "-p", required=True, help="Column of proxy scores in [0, 1].")
@click.option("--oracle", "-o", required=True, help="column:COL, python:module:function or human:FOLDER.")
@click.option("--recall", type=float, help="Recall target (give this or --precision).")
@click.option("--precision", type=float, help="Precision target.")
@click.option("--delta", type=float, default=0.05, show_default=True, help="Failure probability.")
@click.option("--budget", type=int, default=1000, show_default=True, help="Most distinct records to label.")
@click.option("--method", default="assay", show_default=True,
              type=click.Choice(["assay", "supg", "supg++", "uniform", "joint"]))
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed: same query (and resumable).")
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True,
              help="Workspace caching every oracle answer.")
@click.option("--batch-size", type=int, help="Records per labeling round (default method).")
@click.option("--output", type=click.Path(path_type=Path), help="Write the selected ids here (one per line).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def select_cmd(records, proxy, oracle, recall, precision, delta, budget, method, seed, workspace,
               batch_size, output, as_json):
    """Return records meeting a recall or precision target with probability >= 1 - delta."""
    import numpy as np

    from ..approx import select
    from ..store import Workspace

    if (recall is None) == (precision is None):
        raise click.UsageError("give exactly one of --recall and --precision.")
    target, value = ("recall", recall) if recall is not None else ("precision", precision)
    with Workspace(workspace) as ws:
        table, name = _records_arg(records, ws)
        r = select(table, proxy=proxy, oracle=oracle, target=target, value=value, delta=delta,
                   budget=budget, method=method, seed=seed, workspace=ws, name=name,
                   batch_size=batch_size)
    if output is not None:
        output.write_text("\n".join(map(str, r.ids.tolist())) + "\n")
    summary = {
        "selected": len(r), "threshold": r.threshold if np.isfinite(r.threshold) else None, "oracle_calls": r.oracle_calls,
        "labels_paid_now": r.labels_paid, "verification_calls": r.verification_calls,
        "guarantee": {"kind": r.guarantee.kind, "target": r.guarantee.target,
                      "value": r.guarantee.value, "delta": r.guarantee.delta},
        "method": r.method, "seed": seed, "budget": budget,
    }
    if as_json:
        summary["ids"] = np.asarray(r.ids).tolist()
        click.echo(json.dumps(summary))
        return
    out.print(f"selected [bold]{len(r):,}[/] records: {target} >= {value} with probability >= {1 - delta:g} "
              f"({r.guarantee.kind} guarantee, method {r.method}); oracle labels used: {r.oracle_calls:,} "
              f"(paid now: {r.labels_paid:,}); proxy threshold {r.threshold:.4g}"
              + (f"; ids written to {output}" if output else ""))
    hint = r.diagnostics.get("min_budget_hint")
    n_records = r.diagnostics["n_records"]
    if target == "recall" and hint and hint > r.oracle_calls and len(r) > 0.5 * n_records:
        out.print(f"[yellow]note:[/] the guarantee kept {len(r) / n_records:.0%} of the records: "
                  f"leaving records out with a guarantee that holds for any labels takes, by the "
                  f"labels seen, at least about {hint:,} oracle labels (this query used "
                  f"{r.oracle_calls:,}); raise --budget, or lower --recall.", highlight=False)


AGG_METHODS = ["assay", "betting", "uniform", "blazeit", "blazeit++", "abae", "ppi", "clt"]


@query.command("aggregate")
@click.option("--records", "-r", required=True, help="A CSV/Parquet file, or a records table in the workspace.")
@click.option("--oracle", "-o", help="column:COL, python:module:function or human:FOLDER (the value per record).")
@click.option("--proxy", "-p", help="Column of cheap scores correlated with the oracle.")
@click.option("--stat", type=click.Choice(["mean", "sum", "count"]), default="mean", show_default=True)
@click.option("--where", help="An expensive yes/no predicate, as an oracle spec: the query covers records passing it.")
@click.option("--error", type=float, help="Error target: half-width of the interval.")
@click.option("--relative", is_flag=True, help="The error target is relative to the answer.")
@click.option("--delta", type=float, default=0.05, show_default=True, help="Failure probability.")
@click.option("--budget", type=int, help="Most distinct records to label.")
@click.option("--range", "value_range", type=float, nargs=2, metavar="LO HI",
              help="Least and greatest value the oracle can return (needed unless it is yes/no).")
@click.option("--method", default="assay", show_default=True, type=click.Choice(AGG_METHODS))
@click.option("--batch-size", type=int, help="Records sent to the oracle per batch.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed: same query (and resumable).")
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True,
              help="Workspace caching every oracle answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def aggregate_cmd(records, oracle, proxy, stat, where, error, relative, delta, budget, value_range,
                  method, batch_size, seed, workspace, as_json):
    """Estimate a mean, sum or count of an expensive oracle within +-ERROR (or a label budget),
    with probability >= 1 - delta."""
    from ..approx import aggregate
    from ..store import Workspace

    with Workspace(workspace) as ws:
        table, name = _records_arg(records, ws)
        r = aggregate(table, oracle=oracle, proxy=proxy, stat=stat, where=where, error=error,
                      relative=relative, delta=delta, budget=budget, method=method,
                      range=tuple(value_range) if value_range else None, seed=seed,
                      workspace=ws, name=name, batch_size=batch_size)
    if as_json:
        click.echo(json.dumps(r.to_dict()))
        return
    what = f"{stat} of {oracle or 'records'}" + (f" where {where}" if where else "")
    target = (f"within +-{error:g}{' (relative)' if relative else ''}" if error is not None
              else f"with at most {budget:,} labels")
    out.print(f"{escape(what)}: [bold]{r.estimate:.6g}[/], interval \\[{r.lower:.6g}, {r.upper:.6g}] "
              f"at {1 - delta:g} ({r.guarantee.kind}{', anytime-valid' if r.guarantee.anytime else ''}, "
              f"method {r.method}); asked {target}, stopped on {r.stopped}; oracle labels used: "
              f"{r.oracle_calls:,} of {r.n_records:,} records (paid now: {r.labels_paid:,})", highlight=False, emoji=False)
