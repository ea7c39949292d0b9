"""Files straight into a workspace, read by DuckDB's own parallel CSV reader.

:func:`ingest` stores what a reader (:func:`~assay.io.read_mot`, ...) would return, as
:meth:`Workspace.add <assay.store.Workspace.add>` would store it, without the rows passing
through Python: the reader's checks run in SQL inside the ``INSERT``. When a check fails, or
a file needs what only the reader does (a warning about unknown classes, world coordinates),
the reader itself reads the file: it names the bad line (file, line, column, what was
expected) exactly as it always does, or returns the table, which is then stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._validation import Interval, Options, validate_params
from ..exceptions import WorkspaceError
from . import kitti, mot

__all__ = ["INGEST_FORMATS", "Ingested", "ingest"]

#: Formats :func:`ingest` reads, as ``assay ingest`` names them.
INGEST_FORMATS = ("mot-det", "mot-gt", "kitti-tracking", "kitti-detections")


@dataclass(frozen=True)
class Ingested:
    """What :func:`ingest` stored.

    Attributes
    ----------
    name : str
        The table.
    rows : int
        Rows stored.
    streams : list of str
        The streams stored, in order.
    attrs : dict
        The table's ``attrs``.
    reader : {"duckdb", "python"}
        Who read the files: DuckDB's CSV reader, or (when a check failed or a file needs it)
        the Python reader.
    """

    name: str
    rows: int
    streams: list[str]
    attrs: dict[str, Any]
    reader: str


@validate_params(
    {
        "path": ["path"],
        "name": [str],
        "format": [Options(list(INGEST_FORMATS))],
        "fps": [Interval(float, 0, None, closed="neither"), None],
        "stream": [str, None],
        "source": [str, None],
        "replace": [bool],
        "discard_results": [bool],
        "attrs": [Mapping, None],
    }
)
def ingest(
    path: str | Path,
    workspace: Any,
    *,
    name: str,
    format: str,
    fps: float | None = None,
    stream: str | None = None,
    source: str | None = None,
    replace: bool = False,
    discard_results: bool = False,
    attrs: Mapping[str, Any] | None = None,
) -> Ingested:
    """Read ``path`` in ``format`` and store it in ``workspace`` as table ``name``.

    The table is the one the format's reader returns (same rows, dtypes, ``obs_id``, stream
    names and ``attrs``), stored as :meth:`~assay.store.Workspace.add` stores it; a bad line
    raises the reader's error, naming its file, line and column.

    Parameters
    ----------
    path : str or Path
        What the reader reads: for ``mot-det`` and ``mot-gt``, a file, sequence folder or
        dataset root (see :func:`~assay.io.read_mot`); for ``kitti-tracking``, a label file
        or a folder of them (see :func:`~assay.io.read_kitti_tracking`; ``DontCare`` rows
        are dropped); for ``kitti-detections``, AB3DMOT / PointRCNN detections, a file or a
        folder searched recursively (see :func:`~assay.io.read_kitti_detections`).
    workspace : assay.store.Workspace
        Open for writing. Inside a :meth:`~assay.store.Workspace.transaction` the Python
        reader reads (a failed DuckDB check would roll the whole transaction back).
    name : str
        The table's name.
    format : {"mot-det", "mot-gt", "kitti-tracking", "kitti-detections"}
        The file format, as ``assay ingest`` names it.
    fps, stream, source
        As for the reader (None: the reader's default).
    replace, discard_results
        As for :meth:`~assay.store.Workspace.add`.
    attrs : mapping, optional
        Entries set in the table's ``attrs`` over the reader's (a None value removes one).

    Returns
    -------
    Ingested

    Examples
    --------
    >>> from assay.io import demo_path
    >>> from assay.io.ingest import ingest
    >>> from assay.store import Workspace
    >>> ws = Workspace()
    >>> done = ingest(demo_path("TUD-Campus", "gt"), ws, name="gt", format="mot-gt", fps=25)
    >>> done.rows, done.streams, done.reader
    (359, ['TUD-Campus'], 'duckdb')
    >>> ws.read("gt")[["stream", "frame", "obs_id", "track", "x1", "x2"]].head(2)
           stream  frame  obs_id  track     x1     x2
    0  TUD-Campus      1       0      1  399.0  520.0
    1  TUD-Campus      1       1      2  282.0  374.0
    """
    if format.startswith("kitti-"):
        tracking = format == "kitti-tracking"
        options = {"stream": stream, "fps": kitti.KITTI_FPS if fps is None else fps,
                   "source": ("labels" if tracking else "model:pointrcnn") if source is None else source}
        plan_of, reader = ((kitti.tracking_ingest_plan, kitti.read_kitti_tracking) if tracking
                           else (kitti.detections_ingest_plan, kitti.read_kitti_detections))
    else:
        options = {"kind": format[4:], "fps": fps, "stream": stream, "source": source}
        plan_of, reader = mot.ingest_plan, mot.read_mot
    plan = None if workspace.in_transaction else plan_of(path, **options)
    if plan is not None:
        like = plan.like.copy()
        like.attrs = _edited(plan.like.attrs, attrs)
        try:
            rows = workspace.add_query(name, plan.queries, like=like, kind="observations",
                                       numbered="obs_id", computed=plan.computed,
                                       replace=replace, discard_results=discard_results)
        except WorkspaceError:
            pass  # a row failed a check: the reader below names it (or reads what DuckDB would not)
        else:
            return Ingested(name, int(rows), plan.streams, like.attrs, "duckdb")
    table = reader(path, **options)
    table.attrs = _edited(table.attrs, attrs)
    workspace.add(name, table, kind="observations", replace=replace, discard_results=discard_results)
    streams = [str(s) for s in pd.unique(table["stream"])]
    return Ingested(name, len(table), streams, table.attrs, "python")


def _edited(attrs: Mapping[str, Any], edits: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(attrs)
    for key, value in (edits or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
