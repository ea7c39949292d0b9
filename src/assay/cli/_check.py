"""``assay check``: run assertions over a table in a workspace and store the findings."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from ._common import AssayCommand, about, emit_json, engine_options, open_workspace, quiet
from ._main import DEFAULT_WORKSPACE, df_table, notes, out

if TYPE_CHECKING:
    import pandas as pd


def findings_view(findings: pd.DataFrame, top: int) -> pd.DataFrame:
    """The columns a person reads first, for the top findings."""
    import pandas as pd

    view = findings.head(top)

    def ids(v) -> str:
        s = ",".join(map(str, v[:6]))
        return s + ("..." if len(v) > 6 else "")

    def short(text) -> str:
        if text is None or text is pd.NA:
            return ""
        d = json.loads(text)
        return ", ".join(f"{k}={v}" for k, v in d.items() if not isinstance(v, (list, dict)))[:60]

    return pd.DataFrame({
        "assertion": view["assertion"], "stream": view["stream"],
        "frames": [f"{a}" if a == b else f"{a}-{b}" for a, b in zip(view["frame_start"], view["frame_end"], strict=True)],
        "track": view["track"], "severity": view["severity"], "priority": view.get("priority"),
        "obs_ids": view["obs_ids"].map(ids), "evidence": view["evidence"].map(short),
        "fix": view["fix"].map(lambda t: "" if t is None or t is pd.NA else json.loads(t).get("action", "")),
    })


def counts_view(findings: pd.DataFrame, rows: int) -> pd.DataFrame:
    import pandas as pd

    g = findings.groupby("assertion", sort=True)
    c = pd.DataFrame({
        "findings": g.size(),
        "observations flagged": g["obs_ids"].apply(lambda s: len({i for ids in s for i in ids})),
        "max severity": g["severity"].max(),
    }).reset_index()
    c["share of rows"] = c["observations flagged"] / max(rows, 1)
    return c


@click.command(cls=AssayCommand)
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace file.")
@click.option("--observations", "-o", "table", required=True, help="Table of observations in the workspace.")
@click.option("--assertions", "-a", "spec", required=True,
              help="Comma-separated builtin:NAME (or builtin:video, builtin:3d) and/or my_assertions.py.")
@click.option("--set", "settings", multiple=True, metavar="NAME.PARAM=VALUE",
              help="A parameter of a built-in, e.g. flicker.iou=0.5 (repeatable).")
@click.option("--stride", type=int, help="Frames between consecutive frames (default: inferred).")
@click.option("--associate", "associate_iou", type=click.FloatRange(0, 1, min_open=True), is_flag=False,
              flag_value=0.5, default=None, metavar="[IOU]",
              help="Link untracked observations into tracks first (IoU, default 0.5), so track-level "
                   "assertions (appear, class_switch) can run; the stored table is not changed.")
@click.option("--fail-on", "fail_on", type=click.FloatRange(min=0), metavar="SEVERITY",
              help="Exit with status 1 if any finding is at least this severe (a CI gate).")
@click.option("--max-findings", type=click.IntRange(min=0), metavar="N",
              help="Exit with status 1 if there are more than N findings (a CI gate).")
@click.option("--top", type=int, default=20, show_default=True, help="Findings to print.")
@click.option("--json", "as_json", is_flag=True, help="Print the run, counts and top findings as JSON.")
@engine_options()
def check(workspace, table, spec, settings, stride, associate_iou, fail_on, max_findings, top, as_json,
          engine, address, rows_per_group):
    """Run assertions over a table and store the findings as a new run.

    \b
    Built-ins: flicker, gap, multibox, class_switch, appear, flying, too_fast,
    no_repeated_words, output_range (see `python -c "help(assay.assertions)"`).
    Gate a model release in CI with --fail-on or --max-findings: the command then exits
    with status 1 when the findings cross the line (2 means an error).

    \b
    The table is read a group of streams at a time with --rows-per-group (for tables larger
    than memory) or --engine ray (each group a task of a Ray cluster: see docs/cluster.md).

    \b
    Examples:
      assay check -w assay.duckdb -o det -a builtin:flicker,builtin:gap --set flicker.iou=0.5
      assay check -w assay.duckdb -o det -a builtin:video --associate --max-findings 5000
      assay check -w assay.duckdb -o det -a builtin:video --rows-per-group 1000000
    """
    from .._progress import show_progress
    from ..assertions import check as run_check
    from ..assertions.registry import resolve

    with about("--assertions" if not settings else "--assertions / --set"):
        assertions = resolve(spec, list(settings))
    with open_workspace(workspace) as ws:
        by_groups = associate_iou is None and (engine != "local" or rows_per_group is not None)
        with about("--observations", table):
            if by_groups:
                from ..engine import Streams

                obs = Streams.from_workspace(ws, table)
            else:
                obs = ws.read(table)
        if associate_iou is not None:
            from ..tracking import associate

            with notes.status(f"linking {len(obs):,} observations into tracks"):
                obs = associate(obs, iou=associate_iou, engine=engine, address=address)
        with show_progress(not quiet()):
            findings = run_check(obs, assertions, workspace=ws, name=table, stride=stride,
                                 engine=engine, address=address, rows_per_group=rows_per_group)
    run_id = findings.attrs.get("run_id", "")
    per = counts_view(findings, len(obs)) if len(findings) else None
    gate = _gate(findings, fail_on, max_findings)
    if as_json:
        emit_json({"run_id": run_id, "rows": len(obs), "findings": len(findings),
                   "per_assertion": [] if per is None else per.to_dict(orient="records"),
                   "notes": findings.attrs.get("notes", []), "gate": gate,
                   "top": findings.head(top).to_dict(orient="records")})
    else:
        out.print(df_table(findings_view(findings, top),
                           title=f"top {min(top, len(findings))} of {len(findings)} findings, most severe first"))
        if per is not None:
            out.print(df_table(per, title="per assertion"))
        for note in findings.attrs.get("notes", []):
            out.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
        out.print(f"run [bold]{run_id}[/] stored in {workspace}: {len(findings)} findings over {len(obs):,} rows")
        if gate:
            out.print(f"[bold red]gate failed:[/] {escape(gate)}", highlight=False)
    if gate:
        raise click.exceptions.Exit(1)


def _gate(findings: pd.DataFrame, fail_on: float | None, max_findings: int | None) -> str | None:
    """Why the findings fail the release gate, or None."""
    reasons = []
    if fail_on is not None:
        n = int((findings["severity"] >= fail_on).sum())
        if n:
            reasons.append(f"{n} finding(s) with severity >= {fail_on:g} (--fail-on)")
    if max_findings is not None and len(findings) > max_findings:
        reasons.append(f"{len(findings)} findings, more than {max_findings} (--max-findings)")
    return "; ".join(reasons) or None
