"""Command-line interface. Every command calls the public Python API and prints with rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from .._progress import show_progress
from ..exceptions import AssayError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_WORKSPACE = "assay.duckdb"

# piped output (a file, CI logs) gets a wide table rather than rich's 80-column default
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)

FORMATS = {
    "mot-det": "MOTChallenge det.txt (file or sequence folder)",
    "mot-gt": "MOTChallenge gt.txt (file or sequence folder)",
    "kitti-tracking": "KITTI tracking label_02 (file or folder)",
    "kitti-detections": "AB3DMOT / PointRCNN detections (file or folder)",
    "coco": "COCO dataset JSON",
    "records": "query records, CSV or Parquet",
    "parquet": "observations written by assay as Parquet",
}


class _Group(click.Group):
    """Turns assay errors into one red line and exit status 2, without a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssayError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False, markup=True, soft_wrap=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="assay")
def cli() -> None:
    """assay: monitor deployed models, audit labels, choose what to label, and answer
    analytics queries over model outputs with statistical guarantees."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="assay")


def df_table(df: pd.DataFrame, title: str | None = None, max_rows: int = 30) -> Table:
    """A rich table of a DataFrame's first rows."""
    import pandas as pd

    t = Table(title=title, title_justify="left", header_style="bold")
    for c in df.columns:
        t.add_column(str(c), justify="right" if pd.api.types.is_numeric_dtype(df[c]) else "left")
    for row in df.head(max_rows).itertuples(index=False):
        t.add_row(*[_fmt(v) for v in row])
    if len(df) > max_rows:
        t.caption = f"{len(df) - max_rows} more rows"
    return t


def _fmt(v) -> str:
    import pandas as pd

    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def read_format(fmt: str, path: Path, *, fps, stream, source):
    """Read ``path`` in ``fmt``; returns (table, kind)."""
    from .. import io

    kw = {k: v for k, v in (("stream", stream), ("source", source)) if v is not None}
    if fmt in ("mot-det", "mot-gt"):
        return io.read_mot(path, kind=fmt[4:], fps=fps, **kw), "observations"
    if fmt == "kitti-tracking":
        return io.read_kitti_tracking(path, **kw, **({"fps": fps} if fps else {})), "observations"
    if fmt == "kitti-detections":
        return io.read_kitti_detections(path, **kw, **({"fps": fps} if fps else {})), "observations"
    if fmt == "coco":
        return io.read_coco(path, **kw, **({"fps": fps} if fps else {})), "observations"
    if fmt == "records":
        return io.read_records(path), "records"
    return io.read_parquet(path), "observations"


INGEST_HELP = (
    "Read PATH in FORMAT and store it in the workspace as table NAME.\n\n\b\nFORMAT is one of:\n"
    + "\n".join(f"  {k:<17} {v}" for k, v in FORMATS.items())
)


@cli.command(help=INGEST_HELP)
@click.argument("format", type=click.Choice(list(FORMATS)), metavar="FORMAT")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace file.")
@click.option("--name", "-n", required=True, help="Table name in the workspace.")
@click.option("--fps", type=float, help="Frames per second (default: from the data or format).")
@click.option("--stream", help="Stream name (default: from the file).")
@click.option("--source", help="Source, e.g. labels or model:yolo (default: from the format).")
@click.option("--replace", is_flag=True, help="Replace a table of the same name.")
def ingest(format, path, workspace, name, fps, stream, source, replace):
    from ..store import Workspace

    err.print(f"reading {path} as {format} ...", highlight=False)
    with show_progress():
        table, kind = read_format(format, path, fps=fps, stream=stream, source=source)
    with Workspace(workspace) as ws, err.status(f"writing {len(table):,} rows to {workspace}"):
        ws.add(name, table, kind=kind, replace=replace)
    out.print(f"ingested {len(table):,} rows into [bold]{name}[/] ({kind}) in {workspace}")


@cli.command()
@click.argument("workspace", default=DEFAULT_WORKSPACE, type=click.Path(path_type=Path))
def info(workspace):
    """Tables in WORKSPACE: rows, streams, classes, sources."""
    from ..store import Workspace

    if not Path(workspace).exists():
        raise click.ClickException(f"{workspace}: no such workspace file.")
    with Workspace(workspace, read_only=True) as ws:
        tables = ws.tables()
        out.print(df_table(tables, title=f"workspace {workspace}"))
        for name in tables.loc[tables["kind"] == "observations", "name"]:
            out.print(df_table(ws.summary(name), title=f"{name}: per stream"))


from ._audit import audit  # noqa: E402
from ._check import check  # noqa: E402
from ._curate import curate  # noqa: E402
from ._demo import demo  # noqa: E402
from ._query import query  # noqa: E402

cli.add_command(audit)
cli.add_command(check)
cli.add_command(curate)
cli.add_command(query)
cli.add_command(demo)
