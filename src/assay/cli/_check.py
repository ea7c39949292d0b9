"""``assay check``: run assertions over a table in a workspace and store the findings."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ._main import DEFAULT_WORKSPACE, df_table, out

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
        "track": view["track"], "severity": view["severity"],
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


@click.command()
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace file.")
@click.option("--observations", "-o", "table", required=True, help="Table of observations in the workspace.")
@click.option("--assertions", "-a", "spec", required=True,
              help="Comma-separated builtin:NAME (or builtin:video, builtin:3d) and/or my_assertions.py.")
@click.option("--set", "settings", multiple=True, metavar="NAME.PARAM=VALUE",
              help="A parameter of a built-in, e.g. flicker.iou=0.5 (repeatable).")
@click.option("--stride", type=int, help="Frames between consecutive frames (default: inferred).")
@click.option("--top", type=int, default=20, show_default=True, help="Findings to print.")
def check(workspace, table, spec, settings, stride, top):
    """Run assertions over a table and store the findings as a new run.

    \b
    Built-ins: flicker, gap, multibox, class_switch, appear, flying, too_fast,
    no_repeated_words, output_range (see `python -c "help(assay.assertions)"`).
    """
    from ..assertions import check as run_check
    from ..assertions.registry import resolve
    from ..store import Workspace

    assertions = resolve(spec, list(settings))
    with Workspace(workspace) as ws:
        obs = ws.read(table)
        findings = run_check(obs, assertions, workspace=ws, name=table, stride=stride)
    run_id = findings.attrs.get("run_id", "")
    out.print(df_table(findings_view(findings, top),
                       title=f"top {min(top, len(findings))} of {len(findings)} findings, most severe first"))
    if len(findings):
        out.print(df_table(counts_view(findings, len(obs)), title="per assertion"))
    out.print(f"run [bold]{run_id}[/] stored in {workspace}: {len(findings)} findings over {len(obs):,} rows")
