"""Looking at what runs left behind: ``assay runs``, ``findings``, ``diff``, ``labels``, ``migrate``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from ._common import AssayGroup, CliError, emit_json, open_workspace
from ._main import DEFAULT_WORKSPACE, df_table, notes, out

FINDING_FORMATS = ("table", "csv", "parquet", "json")

_workspace = click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True,
                          help="Workspace file.")


# ---------------------------------------------------------------------- runs

_REF = re.compile(r"(?P<kind>[a-z][a-z0-9_]*|last)(~(?P<back>\d+))?")


def resolve_run(ws: Any, ref: str, what: str = "RUN_ID") -> str:
    """A run id from a reference: the id itself, ``KIND`` (the latest run of that kind:
    ``check``, ``audit``, ``query``, ``curate``, ``monitor``), ``KIND~N`` (N runs before it) or
    ``last`` (the latest run of any kind)."""
    table = ws.runs()
    ids = table["run_id"].astype(str).tolist()
    if ref in ids:
        return ref
    m = _REF.fullmatch(ref)
    if m is not None:
        kind, back = m.group("kind"), int(m.group("back") or 0)
        pool = ids if kind == "last" else table.loc[table["kind"] == kind, "run_id"].astype(str).tolist()
        if pool and back < len(pool):
            return pool[-1 - back]
        if pool or kind == "last" or kind in set(table["kind"]):
            raise CliError(f"{what} {ref}: there are only {len(pool)} {kind} runs in the workspace.")
    raise CliError(f"{what} {ref} is not a run of the workspace (give a run id, a kind such as "
                   "check, or check~1 for the one before); `assay runs` lists them.")


def _input_text(item: dict[str, Any]) -> str:
    role = item.get("role", "?")
    if "table" in item:
        rows = f"{item.get('rows', '?'):,} rows" if isinstance(item.get("rows"), int) else ""
        part = f" of {item['table_rows']:,}" if "table_rows" in item else ""
        return f"{role}: table {item['table']} rev {item.get('revision')} ({rows}{part})"
    if "path" in item:
        return f"{role}: file {item['path']}"
    return f"{role}: {item.get('identity')}"


def _input_state(ws: Any, item: dict[str, Any]) -> str:
    """Whether an input is still what the run used."""
    if "table" in item:
        if item["table"] not in ws:
            return "deleted since"
        info = ws.table_info(item["table"])
        if f"table:{info['uid']}" != item.get("identity"):
            return "replaced since"
        if info["revision"] != item.get("revision"):
            return f"appended to since (now revision {info['revision']})"
        return "unchanged"
    if "path" in item:
        p = Path(item["path"])
        if not p.exists():
            return "missing now"
        if item.get("bytes") is not None and p.stat().st_size != item["bytes"]:
            return "changed since (size differs)"
        import pandas as pd

        if item.get("mtime") and pd.Timestamp(p.stat().st_mtime, unit="s").isoformat() != item["mtime"]:
            return "modified since"
        return "unchanged"
    return ""


@click.command()
@click.argument("run_id", required=False)
@_workspace
@click.option("--kind", "-k", help="Only runs of this kind (check, audit, curate, query, monitor).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def runs(run_id, workspace, kind, as_json):
    """List the runs in a workspace, or show what one run rests on.

    RUN_ID is a run id, a kind (check: the latest check run), KIND~N (N runs before it) or
    last. With RUN_ID: its parameters, the exact inputs it used (tables by identity and revision,
    files by path, size and time, oracles by identity) and whether each is still the same,
    the answers it paid for, its summary and the software versions.

    \b
    Examples:
      assay runs -w assay.duckdb
      assay runs check -w assay.duckdb
      assay runs -w assay.duckdb --kind query --json
    """
    with open_workspace(workspace, read_only=True) as ws:
        table = ws.runs()
        if kind:
            table = table.loc[table["kind"] == kind]
        if run_id is None:
            if as_json:
                emit_json(table.to_dict(orient="records"))
                return
            view = table.assign(
                started=table["started"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                seconds=(table["finished"] - table["started"]).dt.total_seconds().round(1),
                inputs=table["inputs"].map(lambda items: "; ".join(_input_text(i) for i in items)),
                summary=table["summary"].map(_short),
            )[["run_id", "kind", "status", "started", "seconds", "inputs", "summary"]]
            out.print(df_table(view, title=f"{len(view)} runs in {workspace}", max_rows=200))
            return
        run_id = resolve_run(ws, run_id)
        run = table.loc[table["run_id"] == run_id].iloc[0].to_dict()
        inputs = [{**i, "state": _input_state(ws, i)} for i in run["inputs"]]
        paid = ws.paid_by(run_id)
    run["inputs"] = inputs
    run["labels_paid"] = paid
    if as_json:
        emit_json(run)
        return
    out.print(f"[bold]{run_id}[/] ({run['kind']}, {run['status']}), started {run['started']}"
              + (f", finished {run['finished']}" if str(run["finished"]) != "NaT" else ""),
              highlight=False)
    out.print("[bold]parameters[/]: " + escape(json.dumps(run["params"])), highlight=False)
    for i in inputs:
        state = f" ({i['state']})" if i["state"] else ""
        out.print(f"[bold]input[/] {escape(_input_text(i))}, identity {escape(i['identity'])}"
                  f"{escape(state)}", highlight=False)
    for o, n in paid.items():
        out.print(f"[bold]answers paid[/]: {n:,} from {escape(o)}", highlight=False)
    out.print("[bold]summary[/]: " + escape(json.dumps(run["summary"])), highlight=False)
    out.print("[bold]versions[/]: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()),
              highlight=False)


def _short(summary: Any) -> str:
    if not isinstance(summary, dict):
        return ""
    text = ", ".join(f"{k}={v}" for k, v in summary.items() if not isinstance(v, (dict, list)))
    return text[:80]


# ---------------------------------------------------------------------- findings


def _latest_findings_run(ws: Any) -> str:
    table = ws.runs()
    have = set(ws.findings()["run_id"].astype(str).unique()) if "findings" in ws else set()
    done = table.loc[table["run_id"].isin(have)]
    if not len(done):
        raise CliError("the workspace holds no findings yet: run `assay check` (or `assay audit`) first.")
    return str(done["run_id"].iloc[-1])


@click.command()
@click.argument("run_id", required=False)
@_workspace
@click.option("--assertion", "-a", "assertions", multiple=True, help="Only findings of this assertion (repeatable).")
@click.option("--stream", "-s", "streams", multiple=True, help="Only findings in this stream (repeatable).")
@click.option("--min-severity", type=float, default=0.0, show_default=True, help="Only findings at least this severe.")
@click.option("--all-runs", is_flag=True, help="Findings of every run, not only RUN_ID (or the latest).")
@click.option("--format", "fmt", type=click.Choice(FINDING_FORMATS), default="table", show_default=True,
              help="table prints the most severe; csv, parquet and json write every finding.")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="File to write (csv and json print to stdout without it; parquet needs it).")
@click.option("--top", type=int, default=20, show_default=True, help="Findings to print with --format table.")
def findings(run_id, workspace, assertions, streams, min_severity, all_runs, fmt, output, top):
    """Show or export findings: RUN_ID's (an id, check, audit, check~1 ...), the latest run's,
    or (--all-runs) every run's.

    \b
    Examples:
      assay findings -w assay.duckdb
      assay findings check -w assay.duckdb --assertion flicker --format csv -o flicker.csv
    """
    with open_workspace(workspace, read_only=True) as ws:
        if run_id is None and not all_runs:
            run_id = _latest_findings_run(ws)
        elif run_id is not None:
            run_id = resolve_run(ws, run_id)
        table = ws.findings(None if all_runs else run_id)
    keep = table["severity"].to_numpy() >= min_severity
    if assertions:
        keep &= table["assertion"].isin(list(assertions)).to_numpy()
    if streams:
        keep &= table["stream"].astype(str).isin(list(streams)).to_numpy()
    table = table.loc[keep].reset_index(drop=True)
    what = "every run" if all_runs else f"run {run_id}"
    if fmt == "table":
        from ._check import findings_view

        out.print(df_table(findings_view(table, top),
                           title=f"top {min(top, len(table))} of {len(table)} findings of {what}",
                           max_rows=top))
        return
    if fmt == "parquet" and output is None:
        raise CliError("--format parquet needs --output FILE.")
    flat = table.assign(obs_ids=table["obs_ids"].map(lambda v: json.dumps([int(i) for i in v])))
    if output is None:
        if fmt == "csv":
            click.echo(flat.to_csv(index=False), nl=False)
        else:
            emit_json(table.to_dict(orient="records"))
        return
    from ..io.paths import StagedFiles

    with StagedFiles() as stage:
        tmp = stage.path(output)
        if fmt == "csv":
            flat.to_csv(tmp, index=False)
        elif fmt == "json":
            from ..store._util import json_default

            tmp.write_text(json.dumps(table.to_dict(orient="records"), default=json_default))
        else:
            table.to_parquet(tmp, index=False)
    notes.print(f"wrote {len(table):,} findings of {what} to {output}", highlight=False)


# ---------------------------------------------------------------------- diff


@click.command()
@click.argument("old_run")
@click.argument("new_run")
@_workspace
@click.option("--by", type=click.Choice(["auto", "obs_ids", "frames"]), default="auto", show_default=True,
              help="Same finding when assertion, stream and frames agree (frames), and the observation "
                   "ids too (obs_ids); auto: obs_ids when both runs checked the same table.")
@click.option("--top", type=int, default=10, show_default=True, help="New and resolved findings to print.")
@click.option("--json", "as_json", is_flag=True, help="Print counts and findings as JSON.")
def diff(old_run, new_run, workspace, by, top, as_json):
    """What a new run fixed or broke against an old one: findings new in NEW_RUN, resolved
    since OLD_RUN, and kept. Runs are ids, kinds (check: the latest check run) or KIND~N.

    \b
    Example:
      assay diff check~1 check -w assay.duckdb
    """

    from ..assertions import diff_runs

    with open_workspace(workspace, read_only=True) as ws:
        old_run = resolve_run(ws, old_run, "OLD_RUN")
        new_run = resolve_run(ws, new_run, "NEW_RUN")
        d = diff_runs(ws, old_run, new_run, by=by)
    counts = d.pop("counts")
    if as_json:
        emit_json({"old": old_run, "new": new_run, "counts": counts.to_dict(orient="records"),
                   **{k: v.to_dict(orient="records") for k, v in d.items()}})
        return
    from ._check import findings_view

    out.print(df_table(counts, title=f"{new_run} against {old_run}"))
    for k in ("new", "resolved"):
        if len(d[k]):
            out.print(df_table(findings_view(d[k], top), title=f"{k} ({len(d[k])})", max_rows=top))


# ---------------------------------------------------------------------- labels


@click.group(cls=AssayGroup)
def labels() -> None:
    """See and manage cached oracle answers (what queries paid for).

    \b
    Examples:
      assay labels list -w assay.duckdb
    """


def _resolve_oracle(ws: Any, oracle: str) -> str:
    known = ws.oracles()["oracle"].astype(str).tolist()
    if oracle in known:
        return oracle
    hits = [o for o in known if oracle in o]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise CliError(f"ORACLE {oracle} matches no oracle with answers in the workspace; "
                       "`assay labels list` shows them.")
    raise CliError(f"ORACLE {oracle} matches {len(hits)} oracles ({', '.join(hits[:4])}); give more of it.")


@labels.command("list")
@_workspace
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def labels_list(workspace, as_json):
    """Each oracle with answers in the workspace: its identity, kind, spec and how many answers."""
    with open_workspace(workspace, read_only=True) as ws:
        table = ws.oracles()
    if as_json:
        emit_json(table.to_dict(orient="records"))
        return
    out.print(df_table(table[["oracle", "kind", "spec", "labels", "first", "last"]],
                       title=f"oracle answers in {workspace}", max_rows=500, no_wrap=("oracle",)))


@labels.command("export")
@click.argument("oracle")
@_workspace
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="File to write: .csv, .parquet or .json.")
def labels_export(oracle, workspace, output):
    """Write every answer of ORACLE (its identity, or a unique part of it): id, content key,
    value, time and the run that paid for it."""
    from ..io.paths import StagedFiles

    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet", ".json"):
        raise CliError(f"--output {output}: name a .csv, .parquet or .json file.")
    with open_workspace(workspace, read_only=True) as ws:
        name = _resolve_oracle(ws, oracle)
        table = ws.labels(name)
    with StagedFiles() as stage:
        tmp = stage.path(output)
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_json(tmp, orient="records", date_format="iso")
    out.print(f"wrote {len(table):,} answers of {name} to {output}", highlight=False)


@labels.command("clear")
@click.argument("oracle")
@_workspace
@click.option("--discard-labels", is_flag=True,
              help="Confirm: the answers are deleted, and queries that need them pay for them again.")
def labels_clear(oracle, workspace, discard_labels):
    """Delete every answer of ORACLE (its identity, or a unique part of it)."""
    with open_workspace(workspace) as ws:
        name = _resolve_oracle(ws, oracle)
        n = len(ws.labels(name))
        if not discard_labels:
            raise CliError(f"this deletes the {n:,} answers of {name}, paid for already. Pass "
                           "--discard-labels to delete them.")
        ws.clear_labels(name)
    out.print(f"deleted {n:,} answers of {name}", highlight=False)


# ---------------------------------------------------------------------- migrate


@click.command()
@click.argument("workspace", type=click.Path(path_type=Path))
def migrate(workspace):
    """Bring a workspace written by an older assay to the current format (all or nothing).

    Cached answers of a format-1 workspace are kept under their old keys and reused only by a
    query that names the key (--labels KEY): format 1 did not record what each answer was for.
    """
    from ..store.workspace import FORMAT_VERSION

    with open_workspace(workspace) as ws:
        before = ws.migrated_from
    if before is None:
        out.print(f"{workspace} is already at format {FORMAT_VERSION}; nothing to do.", highlight=False)
    else:
        out.print(f"migrated {workspace} from format {before} to {FORMAT_VERSION}", highlight=False)


# ---------------------------------------------------------------------- oracle


@click.group(cls=AssayGroup)
def oracle() -> None:
    """Name oracles once, then use the name wherever a query takes an oracle.

    \b
    Examples:
      assay oracle add positive column:label -w assay.duckdb
      assay oracle list -w assay.duckdb
    """


@oracle.command("add")
@click.argument("name")
@click.argument("spec")
@click.option("--range", "value_range", type=float, nargs=2, metavar="LO HI",
              help="Least and greatest value the oracle returns (leave out for yes/no).")
@click.option("--replace", is_flag=True, help="Point an existing name at this spec.")
@_workspace
def oracle_add(name, spec, value_range, replace, workspace):
    """Call SPEC (column:COL, python:module:function[@VERSION], human:FOLDER[#LABEL_SET],
    review:QUESTION[#LABEL_SET] or ray:python:module:function[@VERSION][?actors=N&num_gpus=G])
    NAME in this workspace: `assay query ... -o NAME` then asks it.
    Answers stay cached under the spec, so a renamed or removed name loses none.

    \b
    Example:
      assay oracle add positive column:label --range 0 1 --replace -w assay.duckdb
    """
    with open_workspace(workspace, create=True) as ws:
        ws.add_oracle(name, spec, value_range=tuple(value_range) if value_range else None, replace=replace)
    rng = f", values in [{value_range[0]:g}, {value_range[1]:g}]" if value_range else ""
    out.print(f"{name} = {spec}{rng}", highlight=False)


@oracle.command("list")
@_workspace
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def oracle_list(workspace, as_json):
    """The workspace's oracle names and the specs they stand for."""
    with open_workspace(workspace, read_only=True) as ws:
        table = ws.named_oracles()
    if as_json:
        emit_json(table.to_dict(orient="records"))
        return
    out.print(df_table(table, title=f"oracle names in {workspace}", max_rows=500, no_wrap=("name", "spec")))


@oracle.command("remove")
@click.argument("name")
@_workspace
def oracle_remove(name, workspace):
    """Forget the name NAME (the answers its spec was given stay cached)."""
    with open_workspace(workspace) as ws:
        ws.remove_oracle(name)
    out.print(f"removed oracle name {name}", highlight=False)

