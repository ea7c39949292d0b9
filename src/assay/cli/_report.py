"""``assay report``: one self-contained HTML page of what a workspace holds."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import AssayCommand, CliError, emit_json, open_workspace
from ._main import DEFAULT_WORKSPACE, cli, notes, out

LAYOUTS = ("auto", "mot", "kitti", "coco")


def parse_thresholds(values: tuple[str, ...]) -> float | dict[str, float] | None:
    """``--threshold`` values: one ``RATE`` for every assertion, or ``ASSERTION=RATE`` pairs.

    >>> parse_thresholds(("0.05",))
    0.05
    >>> parse_thresholds(("flicker=0.1", "gap=0.02"))
    {'flicker': 0.1, 'gap': 0.02}
    """
    if not values:
        return None
    every, per = None, {}
    for v in values:
        name, eq, rate = v.rpartition("=")
        try:
            number = float(rate)
        except ValueError:
            raise click.BadParameter(f"{v!r}: expected RATE or ASSERTION=RATE, a number of "
                                     "findings per observation such as 0.05.",
                                     param_hint="--threshold") from None
        if not 0 <= number < float("inf"):
            raise click.BadParameter(f"{v!r}: a rate is a number >= 0.", param_hint="--threshold")
        if eq and not name:
            raise click.BadParameter(f"{v!r}: no assertion name before '='.", param_hint="--threshold")
        if eq:
            if name in per:
                raise click.BadParameter(f"two rates for {name!r}.", param_hint="--threshold")
            per[name] = number
        elif every is not None:
            raise click.BadParameter("two rates for every assertion.", param_hint="--threshold")
        else:
            every = number
    if every is not None and per:
        raise click.BadParameter(
            "give one RATE for every assertion, or ASSERTION=RATE for each assertion to watch, "
            "not both.", param_hint="--threshold")
    return every if every is not None else per


@cli.command(cls=AssayCommand, aliases={"path": "--output"})
@click.argument("workspace", default=DEFAULT_WORKSPACE, type=click.Path(path_type=Path))
@click.option("--output", "-o", default="report.html", show_default=True,
              type=click.Path(path_type=Path, dir_okay=False), help="The HTML file to write.")
@click.option("--images", type=click.Path(path_type=Path),
              help="Folder of frame images: drawn frames show their picture (inline, shrunk).")
@click.option("--image-layout", default="auto", show_default=True, metavar="auto|mot|kitti|coco|PATTERN",
              help="Where a frame's image is under --images; a PATTERN holds {stream} and {frame}, "
                   "e.g. '{stream}/{frame:06d}.jpg'.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="Most items in each list (findings and candidates drawn, streams, queue rows).")
@click.option("--threshold", multiple=True, metavar="RATE | ASSERTION=RATE",
              help="Findings per observation above which a check run is a drift alert: one rate "
                   "for every assertion, or ASSERTION=RATE (repeatable).")
@click.option("--title", help="Title of the page (default: assay report: WORKSPACE).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def report(workspace, output, images, image_layout, top, threshold, title, as_json):
    """Write one self-contained HTML page of what WORKSPACE holds.

    Sections for tables, assertion runs (findings over time, the most severe drawn, what the
    latest run fixed or broke), monitoring (findings rates across check runs, drift alerts
    above --threshold), label audits, curation and approximate queries, each present when the
    workspace holds its data. Counts are computed in the workspace, so a large one gives a
    small page; the page holds everything it shows and loads nothing from anywhere.

    \b
    Example:
      assay report assay.duckdb -o report.html --threshold 0.05
    """
    from ..report import report as make_report
    from ..report import sections_in

    if image_layout != "auto" and images is None:
        raise CliError("--image-layout says where images are under --images; pass --images ROOT too.")
    if image_layout not in LAYOUTS and "{frame" not in image_layout:
        raise click.BadParameter(f"{image_layout!r}: expected auto, mot, kitti, coco or a pattern "
                                 "with {stream} and {frame}.", param_hint="--image-layout")
    if images is not None and not images.is_dir():
        raise click.BadParameter(f"{images}: not a folder.", param_hint="--images")
    rates = parse_thresholds(threshold)
    if str(workspace) != ":memory:" and not workspace.is_file():
        raise CliError(f"WORKSPACE {workspace}: no such workspace file. Name the workspace to "
                       "report on (default ./assay.duckdb), e.g. assay report assay.duckdb.")
    if not output.parent.is_dir():
        raise CliError(f"--output {output}: the folder {output.parent} does not exist. Create it "
                       "first, or write the report into an existing folder.")
    with open_workspace(workspace, read_only=True) as ws, notes.status("writing the report"):
        html = make_report(ws, output, images=images, image_layout=image_layout, top=top,
                           threshold=rates, title=title)
    sections = sections_in(html)
    size = len(html.encode("utf-8"))
    if as_json:
        emit_json({"path": str(output), "bytes": size, "sections": sections})
        return
    out.print(f"wrote {output} ({size / 1e6:.2f} MB): {', '.join(sections) or 'nothing to report'}",
              highlight=False, markup=False, soft_wrap=True)
