"""``assay review``: the review web app (findings, audit candidates, a curation queue, and a
query's questions), served until Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._common import WAIT, AssayCommand, CliError, about, open_workspace
from ._main import DEFAULT_WORKSPACE, err

_QUERY_HELP = ("A query to ask on the page, its oracle a question for the person "
               "(review:QUESTION[#LABEL_SET], or a name `assay oracle add` gave one): a query of `assay "
               "sql` (\"SELECT AVG(people(id)) FROM frames ORACLE LIMIT 60 USING proxy\"), or what "
               "`assay query select|aggregate` takes (\"aggregate -r TABLE -p PROXY -o 'review:how many "
               "people?' --range 0 30 --budget 100\"). Run again with the same seed, it asks only what "
               "is still unanswered.")


@click.command(cls=AssayCommand, aliases={"layout": "--image-layout", "root": "--images",
                                          "boxes": "--boxes"})
@click.argument("workspace", default=DEFAULT_WORKSPACE, required=False)
@click.option("--images", type=click.Path(path_type=Path),
              help="Folder of the frames' images, drawn under the boxes (served only from under it).")
@click.option("--image-layout", default="auto", show_default=True,
              help="Where a frame's image is under --images: mot, kitti, coco, auto, or a pattern "
                   "with {stream} and {frame} (e.g. '{stream}/{frame:06d}.jpg').")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but this machine's loopback lets others on the "
                   "network read and change the workspace.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port; the address is printed).")
@click.option("--query", "query_line", metavar="QUERY", help=_QUERY_HELP)
@click.option("--boxes", metavar="TABLE",
              help="Observations table whose boxes are drawn on the frames of query records "
                   "(records with stream and frame columns).")
def review(workspace, images, image_layout, host, port, query_line, boxes):
    """Judge findings, label-audit candidates and a campaign's queue in the browser, and
    answer a query's questions; each answer is written to the workspace as it is given.

    Serves a local web page (http://127.0.0.1:8765/ by default) until Ctrl-C. The workspace
    is open only while the page asks for something (and a second after), so other assay
    commands can use it while the page is open. Keys: a accept, r reject, c correct (drag a box), n add (draw a box),
    Enter save, Esc cancel, arrows previous / next. See docs/review.md.

    \b
    For instance (each runs until Ctrl-C):
      assay review assay-demo.duckdb
      assay review assay.duckdb --images ../shared/data/mot15 --image-layout mot
      assay review assay.duckdb --query "aggregate -r frames -p proxy -o 'review:people in the frame' --range 0 30 --budget 60" --boxes det
    """
    from ..review.app import ReviewServer, is_loopback, serve

    path = Path(workspace)
    if not path.is_file():
        raise CliError(f"WORKSPACE {path}: no such workspace file (`assay ingest` or `assay demo` makes one).")
    verb = params = None
    with open_workspace(path) as ws:
        if boxes is not None:
            if boxes not in ws:
                raise CliError(f"--boxes {boxes}: no table of that name in {path} (`assay info` lists them).")
            if ws.table_info(boxes)["kind"] != "observations":
                raise CliError(f"--boxes {boxes}: not an observations table.")
        if query_line is not None:
            verb, params = parse_query(query_line, ws)
    with about("--images" if images is not None else "--image-layout"):
        server = ReviewServer(path, images=images, image_layout=image_layout, boxes=boxes, wait=WAIT)
    if verb is not None:
        with about("--query"):
            server.start_query(verb, params, boxes)
    if not is_loopback(host):
        err.print(f"[yellow]warning:[/] --host {host} lets anyone who can reach this machine at that "
                  "address open the page, read the workspace and write answers to it; use it on a "
                  "trusted network only.", highlight=False)

    def ready(url: str) -> None:
        click.echo(f"assay review: serving {path} at {url} (Ctrl-C stops)")
        sys.stdout.flush()

    with about("--port" if host == "127.0.0.1" else "--host / --port"):
        serve(server, host=host, port=port, on_ready=ready)
    click.echo("assay review: stopped; every answer given is in the workspace")


def parse_query(line: str, ws) -> tuple[str, dict]:
    """``--query``'s text: a query of ``assay sql``, or the options of ``assay query
    select|aggregate``."""
    import re
    import shlex

    from ..exceptions import InvalidParameterError
    from ..review.oracle import PREFIX, parse_page_oracle
    from ._query import aggregate_cmd, select_cmd

    if re.match(r"\s*(SELECT|WITH|EXPLAIN)\b", line, flags=re.I):  # a query of `assay sql`
        from ..review.jobs import page_plan

        try:
            page_plan(ws, line)
        except InvalidParameterError as exc:
            raise CliError(f"--query: {exc}") from None
        return "sql", {"query": line}
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise CliError(f"--query: cannot read {line!r}: {exc}.") from None
    commands = {"select": select_cmd, "aggregate": aggregate_cmd}
    if words and words[0] == "query":
        words = words[1:]
    if not words or words[0] not in commands:
        raise CliError(f"--query must start with select or aggregate (as `assay query` does); got {line!r}.")
    verb, command = words[0], commands[words[0]]
    try:
        ctx = command.make_context(f"assay query {verb}", words[1:])
    except click.exceptions.Exit:
        raise CliError("--query: give a query, not --help (`assay query aggregate --help` shows its options).") from None
    except click.ClickException as exc:
        raise CliError(f"--query: {exc.format_message()}") from None
    params = dict(ctx.params)
    for name, flag in (("workspace", "--workspace"), ("as_json", "--json"), ("output", "--output")):
        if name in params and ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT:
            raise CliError(f"--query: leave out {flag}: the query runs on the review's workspace and its "
                           "answer is shown on the page.")
        params.pop(name, None)
    # oracle names of the workspace (`assay oracle add`) stand for their specs and ranges
    for key in ("oracle", "where"):
        if params.get(key) is not None:
            try:
                spec, rng = ws.resolve_oracle(params[key], params.get("value_range") if key == "oracle" else None)
            except InvalidParameterError as exc:
                raise CliError(f"--query: {exc}") from None
            params[key] = spec
            if key == "oracle" and "value_range" in params:
                params["value_range"] = rng
    oracle, where = params.get("oracle"), params.get("where")
    counting = (verb == "aggregate" and oracle is None and isinstance(where, str)
                and where.startswith(PREFIX))
    if not counting and (not isinstance(oracle, str) or not oracle.startswith(PREFIX)):
        raise CliError(f"--query: its --oracle must be a question for the person at the page, "
                       f"review:QUESTION[#LABEL_SET] (or, to count records, its --where with --stat "
                       f"count); got {oracle!r}.")
    for flag, spec in (("--oracle", oracle), ("--where", params.get("where"))):
        if isinstance(spec, str) and spec.startswith(PREFIX):
            try:
                parse_page_oracle(spec)
            except InvalidParameterError:
                raise CliError(f"--query: {flag} {spec!r}: a question for the page is "
                               "review:QUESTION[#LABEL_SET], with at most one '#' and neither part empty "
                               "(at most 300 characters each).") from None
    if verb == "select" and (params.get("recall") is None) == (params.get("precision") is None):
        raise CliError("--query: give exactly one of --recall and --precision.")
    if verb == "aggregate" and params.get("value_range") is None and params.get("stat") != "count":
        raise CliError("--query: aggregate needs --range LO HI: the least and greatest answer the "
                       "person may give (every finite-sample interval rests on it).")
    if verb == "aggregate" and params.get("error") is None and params.get("budget") is None:
        raise CliError("--query: give aggregate an --error target or a --budget (or both).")
    records = params["records"]
    if records not in ws and not Path(records).exists():
        raise CliError(f"--query: --records {records}: no such file, and no table of that name in the "
                       "workspace (`assay info` lists its tables).")
    return verb, params
