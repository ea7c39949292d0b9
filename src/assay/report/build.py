"""One self-contained HTML page of what a workspace holds: :func:`report`.

The page has a section for each kind of thing the workspace holds, and none for what it does
not: tables; assertion runs (findings over the frames, the most severe drawn over their
frames, what the latest run fixed or broke, reviewers' precision); monitoring over time
(findings rates across check runs, drift alerts above a threshold); label audits (ranked
candidates with their factors' log-likelihoods, drawn); curation (rounds, queue, verdicts,
learning curves); approximate queries (answers, guarantees, intervals against labels spent).

Large workspaces stay small pages: counts and rates are computed in DuckDB, and only the top
items come into Python and onto the page. Everything is inline (style, plots as SVG, frame
images as ``data:`` URIs) and the page forbids itself any request, so it opens anywhere
without a network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._validation import Interval, check_param, validate_params
from ..exceptions import InvalidParameterError
from ..io import FrameImages, StagedFiles
from ..store import Workspace
from ._assertions import assertions_section
from ._audits import audits_section
from ._context import Context, Section
from ._curation import curation_section
from ._monitoring import monitoring_section
from ._page import page
from ._queries import queries_section
from ._tables import tables_section

__all__ = ["SECTIONS", "report", "report_sections", "sections_in"]

#: The sections in page order, each ``(id, builder)``; a builder returns None when the
#: workspace holds nothing for it.
SECTIONS = (
    ("tables", tables_section),
    ("assertions", assertions_section),
    ("monitoring", monitoring_section),
    ("audits", audits_section),
    ("curation", curation_section),
    ("queries", queries_section),
)

_SECTION_RE = re.compile(r'<section id="([a-z]+)" class="section">')


def _check_threshold(threshold: Any) -> float | dict[str, float] | None:
    if threshold is None or not isinstance(threshold, Mapping):
        return None if threshold is None else float(threshold)
    out = {}
    for name, rate in threshold.items():
        if not isinstance(name, str):
            raise InvalidParameterError(
                "The 'threshold' parameter of report must map assertion names (str) to rates. "
                f"Got the key {name!r}.")
        check_param(f"threshold[{name!r}]", rate, [Interval(float, 0, None)], "report")
        out[name] = float(rate)
    return out


@validate_params({
    "workspace": [Workspace, "path"],
    "path": ["path", None],
    "images": ["path", None],
    "image_layout": [str],
    "top": [Interval(int, 1, None)],
    "threshold": [Interval(float, 0, None), Mapping, None],
    "title": [str, None],
})
def report(
    workspace: Workspace | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    images: str | os.PathLike[str] | None = None,
    image_layout: str = "auto",
    top: int = 20,
    threshold: float | Mapping[str, float] | None = None,
    title: str | None = None,
) -> str:
    """Make one self-contained HTML page of what a workspace holds.

    Parameters
    ----------
    workspace : Workspace or path
        The workspace (a path is opened read-only, and closed again).
    path : path, optional
        Write the page here, whole (under a temporary name, renamed into place); the folder
        must exist.
    images : path, optional
        A folder of frame images: drawn frames show their picture (shrunk, inline). Without
        it, frames are blank canvases of the stream's image size.
    image_layout : str, default "auto"
        Where a frame's image is under ``images``: ``"mot"``, ``"kitti"``, ``"coco"``,
        ``"auto"`` or a pattern such as ``"{stream}/{frame:06d}.jpg"`` (see
        :class:`assay.io.FrameImages`).
    top : int, default 20
        Most items in each list: findings and candidates drawn, streams, queue rows.
    threshold : float or dict, optional
        A findings rate (findings per observation checked) above which a check run raises a
        drift alert in the monitoring section: one rate for every assertion, or
        ``{assertion: rate}``.
    title : str, optional
        The page's title (default: "assay report: " and the workspace file's name).

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    MissingDependencyError
        A section has a plot to draw and matplotlib is missing
        (``pip install 'assay[report]'``).

    Notes
    -----
    What each section reads: check and monitor runs and the ``findings`` table (drawn from the
    observations table a check run names); ``audit`` runs (drawn from their ``predictions``);
    ``curate.<campaign>.rounds`` and ``.queue``, ``curate.verdicts`` and ``curate.reviews``
    (:func:`assay.curate.assertion_precision`); any table holding the columns of
    :attr:`assay.curate.SimulationResult.curves` (store a simulation's with
    ``ws.add("curate.sim.curves", result.curves, kind="table")``) as learning curves;
    ``query`` runs and the oracles' stored answers. Findings rates need the observations table
    a check run checked to be unchanged for per-stream rates (the whole run's rate needs only
    the run).

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> from assay.assertions import Flicker, check
    >>> obs = assay.as_observations(pd.DataFrame({"frame": [0, 1, 2, 3], "cls": "car",
    ...     "x1": [0.0, 0.0, 300.0, 0.0], "y1": 0.0, "x2": [50.0, 50.0, 350.0, 50.0],
    ...     "y2": 40.0}), stream="cam", source="model", fps=10)
    >>> ws = assay.Workspace()
    >>> ws.add("det", obs)
    >>> _ = check(obs, [Flicker()], workspace=ws, name="det")
    >>> html = assay.report(ws, title="one camera")
    >>> html.startswith("<!DOCTYPE html>"), 'id="assertions"' in html, "<script" in html
    (True, True, False)
    """
    thresholds = _check_threshold(threshold)
    frame_images = None
    if images is not None:
        if not Path(images).is_dir():
            raise InvalidParameterError(
                f"The 'images' parameter of report must be a folder of frame images. Got "
                f"{os.fspath(images)!r}, which is not a folder.")
        try:
            frame_images = FrameImages(images, image_layout)
        except InvalidParameterError as exc:
            raise InvalidParameterError(str(exc).replace("'layout' parameter of FrameImages",
                                                         "'image_layout' parameter of report")) from None
    elif image_layout != "auto":
        raise InvalidParameterError(
            "The 'image_layout' parameter of report says where frame images are under "
            f"images=..., which is not given. Got image_layout={image_layout!r}; pass images too.")
    own = not isinstance(workspace, Workspace)
    ws = Workspace(workspace, read_only=True) if own else workspace
    try:
        sections = report_sections(ws, top=top, images=frame_images, threshold=thresholds)
        where = ":memory:" if ws.path is None else str(ws.path)
        name = "in-memory workspace" if ws.path is None else ws.path.name
    finally:
        if own:
            ws.close()
    from .. import __version__

    html = page(title if title is not None else f"assay report: {name}", where, sections,
                __version__)
    if path is not None:
        with StagedFiles() as stage:
            stage.path(path).write_text(html, encoding="utf-8")
    return html


def report_sections(ws: Workspace, *, top: int = 20, images: FrameImages | None = None,
                    threshold: float | dict[str, float] | None = None) -> list[Section]:
    """The sections :func:`report` puts on the page, in order (those the workspace holds
    data for): each a :class:`~assay.report.Section` with its ``id``, ``title``,
    ``body`` (HTML) and ``facts`` (the page's overview figures)."""
    ctx = Context(ws, top, images, threshold)
    return [s for _, build in SECTIONS if (s := build(ctx)) is not None]


def sections_in(html: str) -> list[str]:
    """The ids of the sections of a page :func:`report` made, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> from assay.report import report, sections_in
    >>> ws = assay.Workspace()
    >>> sections_in(report(ws))
    []
    >>> ws.add("records", pd.DataFrame({"id": [1, 2], "proxy": [0.1, 0.9]}), kind="records")
    >>> sections_in(report(ws))
    ['tables']
    """
    return _SECTION_RE.findall(html)
