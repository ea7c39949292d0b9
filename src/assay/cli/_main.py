"""Command-line interface. Every command calls the public Python API and prints with rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from .._progress import show_progress
from ..exceptions import AssayError, DataFileNotFoundError
from ._common import AssayGroup, CliError, emit_json, open_workspace, report

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_WORKSPACE = "assay.duckdb"

# piped output (a file, CI logs) gets a wide table rather than rich's 80-column default
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)
#: Progress notes on stderr ("reading ...", "migrated ..."); silenced by ``assay --quiet``.
notes = Console(stderr=True)

FORMATS = {
    "mot-det": "MOTChallenge det.txt: a file, a sequence folder, or a dataset root",
    "mot-gt": "MOTChallenge gt.txt: a file, a sequence folder, or a dataset root",
    "kitti-tracking": "KITTI tracking label_02: a file, or a folder of them",
    "kitti-detections": "AB3DMOT / PointRCNN detections: a file, or a folder (class sub-folders)",
    "coco": "COCO JSON: a file, or a folder of them (a stream each)",
    "coco-results": "COCO results JSON (a detector's boxes), with --dataset the data set JSON",
    "yolo": "YOLO txt labels or predictions: a file, or a folder (a stream per folder)",
    "nuscenes": "nuScenes / Lyft Level 5 JSON tables (labels, or --results); ego poses too",
    "records": "query records, CSV or Parquet: a file, or a folder of them",
    "parquet": "observations written by assay as Parquet: a file, or a folder (obs_id renumbered)",
}


class _Group(AssayGroup):
    """The ``assay`` command: errors become one red line and exit status 2 (1 when a check
    fails its gate), without assay's traceback; a user's own code shows the user's lines."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CliError as e:
            report(e)
            sys.exit(e.exit_code)
        except AssayError as e:  # raised while parsing, before a command ran
            report(CliError(str(e)))
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="assay")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or notes on stderr.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool) -> None:
    """assay: monitor deployed models, audit labels, choose what to label, and answer
    analytics queries over model outputs with statistical guarantees."""
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    notes.quiet = quiet


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="assay")


def df_table(df: pd.DataFrame, title: str | None = None, max_rows: int = 30,
             no_wrap: tuple[str, ...] = ("run_id",)) -> Table:
    """A rich table of a DataFrame's first rows (``no_wrap`` columns are never cut: ids)."""
    import pandas as pd

    t = Table(title=title, title_justify="left", header_style="bold")
    for c in df.columns:
        t.add_column(str(c), justify="right" if pd.api.types.is_numeric_dtype(df[c]) else "left",
                     no_wrap=c in no_wrap, min_width=len(str(df[c].iloc[0])) if c in no_wrap and len(df) else None)
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


def read_format(fmt: str, path: Path, *, fps, stream, source, names=None, images=None,
                dataset=None, results=None, version=None, image_size=(None, None)):
    """Read ``path`` in ``fmt``; returns ``(table, kind, named, extra)``, ``named`` saying where
    each stream's name came from (``{"TUD-Campus": "seqinfo.ini"}``) and ``extra`` the tables
    to store beside it, by name suffix and kind (``{"ego_poses": (poses, "ego_poses")}``, for
    nuscenes). Errors name the options."""
    from .. import io

    if fmt == "nuscenes":
        tables = io.read_nuscenes(path, version=version, results=results, source=source)
        named = {str(s): "scene name" for s in tables.observations["stream"].unique()}
        return tables.observations, "observations", named, {"ego_poses": (tables.ego_poses, "ego_poses")}
    table, kind, named = _read_one(fmt, path, fps=fps, stream=stream, source=source, names=names,
                                   images=images, dataset=dataset, image_size=image_size)
    return table, kind, named, {}


def _read_one(fmt: str, path: Path, *, fps, stream, source, names, images, dataset, image_size):
    from .. import io

    if fmt in ("mot-det", "mot-gt"):
        named, _ = _mot_streams(path, kind=fmt[4:], fps=fps, stream=stream)
        return io.read_mot(path, kind=fmt[4:], fps=fps, stream=stream, source=source), "observations", named
    if fmt == "records":
        return io.read_records(path), "records", {}
    kw = {"fps": fps} if fps is not None else {}
    kw |= {"source": source} if source is not None else {}
    if fmt == "kitti-tracking":
        table, why = io.read_kitti_tracking(path, **kw), "file name"
    elif fmt == "kitti-detections":
        table, why = io.read_kitti_detections(path, **kw), "file name"
    elif fmt == "coco":
        table, why = io.read_coco(path, images_from=dataset, **kw), "file name" if path.is_dir() else "default"
    elif fmt == "coco-results":
        if dataset is None:
            raise CliError("coco-results needs --dataset FILE: the COCO data set JSON that names "
                           "the results' images and categories.")
        table, why = io.read_coco_results(path, dataset, **kw), "default"
    elif fmt == "yolo":
        every, per = image_size
        if every is not None and per:
            raise CliError("--image-size: for yolo give one size for every image (WxH) or sizes "
                           "per stream (STREAM=WxH), not both.")
        if names is not None and not Path(names).is_file():
            raise CliError(f"--names {names}: no such file (a classes.txt or data.yaml).")
        try:
            table = io.read_yolo(path, names=names, images=images,
                                 image_size=tuple(every) if every is not None else (per or None), **kw)
        except DataFileNotFoundError as e:
            raise CliError(f"{e} (On the command line: --image-size WxH or STREAM=WxH, or "
                           "--images DIR.)") from None
        why = "folder"
    else:
        table, why = io.read_parquet(path, renumber=path.is_dir()), "in the file"
    named = {str(s): why for s in table["stream"].unique()}
    if stream is not None:
        if len(named) > 1:
            raise CliError(
                f"--stream names one stream, but {path} holds {len(named)} ({_first(sorted(named))}). "
                "Leave --stream out to keep their names (they are printed)."
            )
        table, named = _renamed(table, stream), {stream: "--stream"}
    return table, "observations", named


def _mot_streams(path: Path, *, kind: str, fps, stream) -> tuple[dict, dict]:
    """The streams of the MOT sequences under ``path``, each with where its name comes from,
    and their image sizes from seqinfo.ini; errors name the options."""
    from .. import io

    seqs = io.find_mot_sequences(path, kind=kind)
    if stream is not None and len(seqs) > 1:
        raise CliError(
            f"--stream names one stream, but {path} holds {len(seqs)} sequences "
            f"({_first(s.stream or str(s.file) for s in seqs)}). Leave --stream out: each "
            "sequence is named from its seqinfo.ini or its folder, and the names are printed."
        )
    for s in seqs:
        if s.stream is None and stream is None:
            raise CliError(
                f"{s.file}: cannot name this sequence's stream: no seqinfo.ini with a name, "
                f"and its folder {s.file.parent.name!r} is part of the MOTChallenge layout. "
                "Pass --stream NAME, or give its sequence folder."
            )
    missing = [s for s in seqs if s.fps is None]
    if fps is None and missing:
        more = f" ({len(missing)} of {len(seqs)} sequences have none)" if len(seqs) > 1 else ""
        raise CliError(
            f"{missing[0].file}: no frame rate: no seqinfo.ini with frameRate next to the "
            f"file{more}. Pass --fps FPS (frames per second, for every sequence read)."
        )
    named = {stream: "--stream"} if stream is not None else {s.stream: s.named_from for s in seqs}
    sizes = {name: list(s.image_size) for name, s in zip(named, seqs, strict=True) if s.image_size}
    return named, sizes


def _first(names, limit: int = 5) -> str:
    names = list(names)
    return ", ".join(map(str, names[:limit])) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _renamed(table, stream: str):
    """The table (of one stream) with its stream named ``stream``, in its rows and in the
    per-stream entries of its ``attrs``."""
    from .._arrow import repeat_str

    old = [str(s) for s in table["stream"].unique()]
    table["stream"] = repeat_str(stream, len(table))
    for key, value in list(table.attrs.items()):
        if isinstance(value, dict) and len(old) == 1 and old[0] in value:
            table.attrs[key] = {stream if k == old[0] else k: v for k, v in value.items()}
    return table


def _parse_image_sizes(values: tuple[str, ...]) -> tuple[list | None, dict[str, list]]:
    """``--image-size`` values: the size for every stream (``WxH``) and per stream
    (``STREAM=WxH``), each as ``[width, height]`` (ints when whole)."""
    every, per = None, {}
    for v in values:
        name, eq, wh = v.rpartition("=")
        try:
            w, h = (float(x) for x in wh.lower().split("x"))
        except ValueError:
            raise click.BadParameter(f"{v!r}: expected WIDTHxHEIGHT or STREAM=WIDTHxHEIGHT, e.g. "
                                     "1920x1080.", param_hint="--image-size") from None
        if not (0 < w < float("inf") and 0 < h < float("inf")):
            raise click.BadParameter(f"{v!r}: width and height must be positive numbers of pixels.",
                                     param_hint="--image-size")
        size = [int(x) if x.is_integer() else x for x in (w, h)]
        if eq and not name:
            raise click.BadParameter(f"{v!r}: no stream name before '='.", param_hint="--image-size")
        if (name in per) if eq else (every is not None):
            raise click.BadParameter(f"two sizes for {name!r}." if eq else "two sizes for every stream.",
                                     param_hint="--image-size")
        if eq:
            per[name] = size
        else:
            every = size
    return every, per


def _check_not_applicable(fmt: str, **given) -> None:
    """Options a format does not use are an error, not silently ignored."""
    unused = {"records": (("fps", "stream", "source", "image_size"), "records have no streams or frames"),
              "parquet": (("fps", "source"), "the files hold each row's time and source"),
              "nuscenes": (("fps", "stream", "image_size"),
                           "scenes are the streams, timed by their timestamps, with 3-D boxes")}
    names, why = unused.get(fmt, ((), ""))
    bad = [k for k in names if given.get(k)]
    if bad:
        flags = ", ".join("--" + k.replace("_", "-") for k in bad)
        raise CliError(f"{flags} does not apply to {fmt}: {why}.")
    only = {"names": ("yolo",), "images": ("yolo",), "dataset": ("coco", "coco-results"),
            "results": ("nuscenes",), "nuscenes_version": ("nuscenes",)}
    for option, formats in only.items():
        if given.get(option) is not None and fmt not in formats:
            raise CliError(f"--{option.replace('_', '-')} applies to {' and '.join(formats)} only, "
                           f"not to {fmt}.")


def _check_target(workspace: Path, name: str, kind: str, *, append: bool, replace: bool,
                  discard_results: bool = False):
    """Before reading anything: may table ``name`` be written as asked? Returns the streams it
    holds when appending to an observations table (else None)."""
    if str(workspace) == ":memory:" or not Path(workspace).exists():
        return None
    with open_workspace(workspace, read_only=True) as ws:
        if name not in ws:
            return None
        info = ws.table_info(name)
        stored = info["name"]
        if not (append or replace):
            raise CliError(
                f"workspace {workspace} already has a table {stored!r} ({info['rows']:,} rows). "
                "Pass --append to add to it, --replace to overwrite it, or choose another --name."
            )
        if replace and info["writer"] is not None and not discard_results:
            what = (f"the {info['rows']:,} findings of the runs that wrote it"
                    if info["kind"] == "findings" else
                    f"{info['rows']:,} rows of results of assay {info['writer']} runs")
            raise CliError(
                f"table {stored!r} in {workspace} holds {what} (`assay runs` lists them); "
                "--replace would discard them. Pass --discard-results as well to do so, or "
                "choose another --name."
            )
        if append and info["kind"] != kind:
            raise CliError(
                f"--append: table {stored!r} in {workspace} holds {info['kind']}, not {kind}. "
                "Choose another --name."
            )
        if append and kind == "observations":
            return {str(s) for s in ws.summary(stored)["stream"]}
    return None


def _with_image_sizes(table, every, per, found: str) -> dict[str, str]:
    """Put ``--image-size`` into ``table.attrs["image_sizes"]`` over what the reader found;
    returns where each stream's size came from."""
    streams = [str(s) for s in table["stream"].unique()]
    table.attrs["image_sizes"], origin = _image_sizes(
        streams, table.attrs.get("image_sizes") or {}, every, per, found)
    return origin


def _image_sizes(streams: list[str], found_sizes: dict, every, per, found: str) -> tuple[dict, dict]:
    """Each stream's image size: ``--image-size`` over what the reader found; and where each
    came from."""
    unknown = sorted(set(per) - set(streams))
    if unknown:
        raise click.BadParameter(
            f"no stream {unknown[0]!r} in what was read; its streams are {_first(sorted(streams))}.",
            param_hint="--image-size",
        )
    sizes = dict(found_sizes)
    origin = dict.fromkeys(sizes, found)
    for s in streams:
        given = per.get(s, every)
        if given is not None:
            sizes[s], origin[s] = given, "--image-size"
    return {s: sizes[s] for s in streams if s in sizes}, origin


def _print_streams(table, named: dict, size_origin: dict[str, str], limit: int = 50) -> None:
    rows = table["stream"].value_counts()
    _print_stream_rows({str(s): int(n) for s, n in rows.items()}, table.attrs, "x1" in table.columns,
                       named, size_origin, limit)


def _print_stream_rows(rows: dict[str, int], attrs: dict, images: bool, named: dict,
                       size_origin: dict[str, str], limit: int = 50) -> None:
    """One line per stream: its rows, frame rate and image size, and where its name came from
    (``images``: whether the table has 2-D boxes, which an image size is for)."""
    rates = attrs.get("frame_rates") or {}
    sizes = attrs.get("image_sizes") or {}
    streams = sorted(rows)
    for s in streams[:limit]:
        parts = [f"{rows[s]:,} rows"]
        fps = rates.get(s, attrs.get("fps"))
        if fps:
            parts.append(f"{fps:g} fps")
        if images and s in sizes:
            w, h = sizes[s]
            parts.append(f"image {w:g}x{h:g} ({size_origin.get(s, 'given')})")
        elif images:
            parts.append("image size unknown")
        out.print(f"  stream {s} ({named.get(s, 'in the file')}): {', '.join(parts)}",
                  highlight=False, markup=False, soft_wrap=True)
    if len(streams) > limit:
        out.print(f"  ... and {len(streams) - limit} more streams", highlight=False)
    no_size = [s for s in streams if s not in sizes] if images else []
    if no_size:
        out.print(f"note: no image size for {len(no_size)} stream(s) ({_first(no_size)}); pass "
                  "--image-size WxH or STREAM=WxH to record it (needed to export boxes for "
                  "labeling).", highlight=False, markup=False, soft_wrap=True)


def _append(ws, name: str, table, kind: str) -> None:
    """``Workspace.append`` with renumbering; rows lacking attribute columns the table has
    get them as missing values, other column differences are an error naming the options."""
    from ..exceptions import InvalidParameterError, WorkspaceError

    try:
        ws.append(name, table, kind=kind, renumber=True)
        return
    except WorkspaceError as e:
        raise CliError(f"--append: {e} Or choose another --name, or --replace the table.") from None
    except InvalidParameterError as e:
        mismatch = str(e)
    stored = ws.read(name).iloc[:0]  # its columns and dtypes (only when they differ)
    extra = [c for c in table.columns if c not in stored.columns]
    lacking = [c for c in stored.columns if c not in table.columns]
    fillable = all(stored[c].dtype.kind == "f" or stored[c].hasnans or _nullable(stored[c].dtype)
                   for c in lacking)
    if extra:
        raise CliError(
            f"--append: the rows read have columns {', '.join(extra)}, which table {name!r} does "
            "not have; an appended table keeps its columns. Ingest these sequences together in one "
            "command (tables read together may differ in columns), or choose another --name, or "
            "--replace the table."
        )
    if not lacking or not fillable:
        raise CliError(f"--append: {mismatch} Or choose another --name, or --replace the table.")
    filled = table.assign(**{c: stored[c].reindex(table.index) for c in lacking})[list(stored.columns)]
    ws.append(name, filled, kind=kind, renumber=True)
    out.print(f"note: the rows read have no {', '.join(lacking)}; stored as missing in {name!r}.",
              highlight=False, markup=False, soft_wrap=True)


def _nullable(dtype) -> bool:
    import pandas as pd

    return isinstance(dtype, (pd.StringDtype, pd.Int64Dtype)) or pd.api.types.is_object_dtype(dtype)


INGEST_HELP = (
    "Read PATH in FORMAT and store it in the workspace as table NAME.\n\n"
    "Each stream read is printed with where its name came from (seqinfo.ini, folder, file name). "
    "The table records each stream's file (attrs['sources']) and image size "
    "(attrs['image_sizes']).\n\n\b\nFORMAT is one of:\n"
    + "\n".join(f"  {k:<17} {v}" for k, v in FORMATS.items())
    + "\n\n\b\nMOT layouts: SEQ/det/det.txt, SEQ/det.txt, ROOT/SEQ/det.txt, ROOT/train/SEQ/det/det.txt"
    + "\n\n\b\nOptions of some formats (PATH as above):"
    + "\n  yolo          [--names data.yaml] [--images DIR] [--image-size WxH] [--fps FPS]"
    + "\n  coco-results  --dataset instances_val.json"
    + "\n  nuscenes      [--nuscenes-version v1.0-mini] [--results submission.json];"
    + "\n                stores NAME and its ego poses as NAME_ego_poses"
    + "\n\n\b\nExamples:\n  assay ingest mot-det ../shared/data/mot15 --name mot15_det"
    + "\n  assay ingest records ../shared/data/proxy/supg/onto.csv --name onto_records"
)


@cli.command(help=INGEST_HELP)
@click.argument("format", type=click.Choice(list(FORMATS)), metavar="FORMAT")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace file.")
@click.option("--name", "-n", required=True, help="Table name in the workspace.")
@click.option("--fps", type=float,
              help="Frames per second, for every stream (default: frameRate in seqinfo.ini; KITTI 10).")
@click.option("--stream", help="Stream name, for a single sequence or file (default: from seqinfo.ini, "
                               "the sequence folder or the file name).")
@click.option("--source", help="Source, e.g. labels or model:yolo (default: from the format).")
@click.option("--image-size", "image_size", multiple=True, metavar="[STREAM=]WxH",
              help="Image size in pixels: WxH for every stream, STREAM=WxH for one (repeatable). "
                   "Default: imWidth x imHeight in seqinfo.ini.")
@click.option("--names", type=click.Path(path_type=Path),
              help="yolo: class names, a classes.txt or data.yaml (default: found beside PATH).")
@click.option("--images", type=click.Path(path_type=Path),
              help="yolo: folder of the images, for their sizes (default: beside the labels, or the "
                   "Ultralytics images/ twin of labels/).")
@click.option("--dataset", type=click.Path(path_type=Path),
              help="coco-results (and a coco folder of results): the COCO data set JSON.")
@click.option("--results", type=click.Path(path_type=Path),
              help="nuscenes: a submission JSON; its boxes are read instead of the labels.")
@click.option("--nuscenes-version", "nuscenes_version",
              help="nuscenes: the tables folder under PATH, e.g. v1.0-mini (default: the only one).")
@click.option("--append", is_flag=True,
              help="Add the streams read to table NAME (created if new); streams it holds are refused.")
@click.option("--replace", is_flag=True, help="Replace a table of the same name.")
@click.option("--discard-results", is_flag=True,
              help="With --replace: replace a table that holds results of runs (findings, a "
                   "campaign), discarding them.")
@click.option("--json", "as_json", is_flag=True, help="Print what was stored as JSON.")
def ingest(format, path, workspace, name, fps, stream, source, image_size, names, images, dataset,
           results, nuscenes_version, append, replace, discard_results, as_json):
    if append and replace:
        raise CliError("--append and --replace are exclusive: --append adds streams to a "
                               "table, --replace overwrites it. Pass one of them.")
    if fps is not None and not fps > 0:
        raise click.BadParameter(f"{fps}: frames per second must be > 0.", param_hint="--fps")
    _check_not_applicable(format, fps=fps, stream=stream, source=source, image_size=image_size,
                          names=names, images=images, dataset=dataset, results=results,
                          nuscenes_version=nuscenes_version)
    every, per = _parse_image_sizes(image_size)
    kind = "records" if format == "records" else "observations"
    if discard_results and not replace:
        raise CliError("--discard-results goes with --replace (it lets --replace discard the "
                       "results a table holds).")
    stored_streams = _check_target(workspace, name, kind, append=append, replace=replace,
                                   discard_results=discard_results)
    if format == "nuscenes":  # its ego poses go beside it, as NAME_ego_poses
        _check_target(workspace, f"{name}_ego_poses", "ego_poses", append=append, replace=replace,
                      discard_results=discard_results)
    duckdb_reads = format in ("mot-det", "mot-gt") or (
        format in ("kitti-tracking", "kitti-detections") and stream is None and not image_size)
    if duckdb_reads and not append:
        _ingest_with_duckdb(format, path, workspace, name, fps=fps, stream=stream, source=source,
                            image_size=(every, per), replace=replace,
                            discard_results=discard_results, as_json=as_json)
        return
    notes.print(f"reading {path} as {format} ...", highlight=False)
    with show_progress():
        table, kind, named, extra = read_format(
            format, path, fps=fps, stream=stream, source=source, names=names, images=images,
            dataset=dataset, results=results, version=nuscenes_version, image_size=(every, per))
    if kind == "observations" and "frame_rates" in table.attrs:
        table.attrs.pop("fps", None)  # per stream in frame_rates, which stays true when appended to
    if kind == "observations":
        found = {"mot-det": "seqinfo.ini", "mot-gt": "seqinfo.ini", "coco": "COCO images",
                 "coco-results": "COCO images", "yolo": "images"}
        origin = _with_image_sizes(table, every, per, found.get(format, "stored"))
        if stored_streams:
            clash = sorted({str(s) for s in table["stream"].unique()} & stored_streams)
            if clash:
                also = f" (and {len(clash) - 1} more: {_first(clash[1:])})" if len(clash) > 1 else ""
                raise CliError(
                    f"table {name!r} already holds stream {clash[0]!r}{also}; --append adds new "
                    "streams only. Leave that sequence out, name it apart with --stream (one "
                    "sequence), or --replace the table."
                )
        _print_streams(table, named, origin)
    with open_workspace(workspace, create=True) as ws, notes.status(
            f"writing {len(table):,} rows to {workspace}"), ws.transaction():
        # the table and what goes beside it (nuScenes ego poses) are stored together or not at all
        existed = append and name in ws
        if append:
            _append(ws, name, table, kind)
        else:
            ws.add(name, table, kind=kind, replace=replace, discard_results=discard_results)
        info = ws.table_info(name)
        beside = {}
        for suffix, (extra_table, extra_kind) in extra.items():
            extra_name = f"{name}_{suffix}"
            if append:
                ws.append(extra_name, extra_table, kind=extra_kind)
            else:
                ws.add(extra_name, extra_table, kind=extra_kind, replace=replace,
                       discard_results=discard_results)
            beside[suffix] = {"table": extra_name, "rows_read": len(extra_table),
                              "rows": ws.table_info(extra_name)["rows"]}
    if as_json:
        emit_json({"table": info["name"], "kind": kind, "rows_read": len(table),
                   "rows": info["rows"], "revision": info["revision"], "identity": info["identity"],
                   "appended": bool(existed),
                   "streams": sorted(map(str, table["stream"].unique())) if "stream" in table else None,
                   **beside})
        return
    if existed:
        out.print(f"appended {len(table):,} rows to [bold]{info['name']}[/] ({kind}) in {workspace}: "
                  f"now {info['rows']:,} rows, revision {info['revision']}")
    else:
        out.print(f"ingested {len(table):,} rows into [bold]{name}[/] ({kind}) in {workspace}")
    for suffix, b in beside.items():
        out.print(f"{'appended' if existed else 'stored'} {b['rows_read']:,} {suffix.replace('_', ' ')} "
                  f"in [bold]{b['table']}[/] ({suffix}: one per stream and frame)", highlight=False)


def _ingest_with_duckdb(fmt: str, path: Path, workspace: Path, name: str, *, fps, stream, source,
                        image_size, replace: bool, discard_results: bool, as_json: bool) -> None:
    """``assay ingest`` of MOT files (and KITTI tracking labels and detections, without
    ``--stream`` or ``--image-size``) through :func:`assay.io.ingest.ingest`: DuckDB reads
    them into the workspace (the reader only when a line fails its checks, to name it)."""
    from ..io.ingest import ingest as ingest_files

    if fmt.startswith("kitti-"):  # streams named after the files, no image sizes
        named, sizes, origin = None, {}, {}
    else:
        named, found = _mot_streams(path, kind=fmt[4:], fps=fps, stream=stream)
        sizes, origin = _image_sizes(list(named), found, *image_size, "seqinfo.ini")
    new = str(workspace) != ":memory:" and not Path(workspace).exists()
    notes.print(f"reading {path} as {fmt} ...", highlight=False)
    try:
        with open_workspace(workspace, create=True) as ws, notes.status(
                f"reading {path} into {workspace}"):
            # frame rates are per stream (frame_rates), which stays true when appended to
            done = ingest_files(path, ws, name=name, format=fmt, fps=fps, stream=stream,
                                source=source, replace=replace, discard_results=discard_results,
                                attrs={"fps": None, "image_sizes": sizes})
            info = ws.table_info(name)
            rows = dict(zip(*(ws.summary(name)[c].tolist() for c in ("stream", "rows")), strict=True))
    except BaseException:
        if new:  # as when the reader fails before the workspace is opened: no file is left
            for leftover in (Path(workspace), Path(f"{workspace}.wal")):
                leftover.unlink(missing_ok=True)
        raise
    _print_stream_rows(rows, done.attrs, True, named or dict.fromkeys(rows, "file name"), origin)
    if as_json:
        emit_json({"table": info["name"], "kind": "observations", "rows_read": done.rows,
                   "rows": info["rows"], "revision": info["revision"], "identity": info["identity"],
                   "appended": False, "streams": sorted(done.streams)})
        return
    out.print(f"ingested {done.rows:,} rows into [bold]{name}[/] (observations) in {workspace}")


@cli.command()
@click.argument("workspace", default=DEFAULT_WORKSPACE, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the tables and per-stream summaries as JSON.")
def info(workspace, as_json):
    """Tables in WORKSPACE: rows, streams, classes, sources.

    \b
    Example:
      assay info assay.duckdb
    """
    with open_workspace(workspace, read_only=True) as ws:
        tables = ws.tables()
        summaries = {name: ws.summary(name)
                     for name in tables.loc[tables["kind"] == "observations", "name"]}
    if as_json:
        emit_json({"workspace": str(workspace),
                   "tables": tables.to_dict(orient="records"),
                   "streams": {k: v.to_dict(orient="records") for k, v in summaries.items()}})
        return
    out.print(df_table(tables, title=f"workspace {workspace}"))
    for name, summary in summaries.items():
        out.print(df_table(summary, title=f"{name}: per stream"))


from . import _report  # noqa: E402, F401  (registers assay report)
from ._audit import audit  # noqa: E402
from ._check import check  # noqa: E402
from ._curate import curate  # noqa: E402
from ._demo import demo  # noqa: E402
from ._query import query, sql_cmd  # noqa: E402
from ._results import diff, findings, labels, migrate, oracle, runs  # noqa: E402
from ._review import review  # noqa: E402

for _command in (runs, findings, diff, labels, oracle, migrate):
    cli.add_command(_command)
cli.add_command(audit)
cli.add_command(check)
cli.add_command(curate)
cli.add_command(query)
cli.add_command(sql_cmd)
cli.add_command(demo)
cli.add_command(review)
