"""KITTI tracking labels and AB3DMOT-style 3-D detections.

Both files use KITTI camera coordinates (x right, y down, z forward; the location is the
centre of the box's *bottom* face; ``rot_y`` turns about the camera's y axis). The canonical
3-D box of assay lives in a right-handed, z-up ego frame with the location at the box
*centre*, so that the bird's-eye view is the x-y plane and height is z for every source:

    x = z_cam (forward),  y = -x_cam (left),  z = -y_cam + h / 2 (up),
    yaw = -rot_y - pi / 2 (wrapped to [-pi, pi)),  l, w, h unchanged.

The original KITTI fields travel along as attributes (``alpha``, ``truncated``,
``occluded``) so nothing is lost; :func:`kitti_camera_from_ego` inverts the conversion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._arrow import repeat_str
from .._progress import progress
from .._validation import Interval, Options, validate_params
from ..exceptions import DataFileNotFoundError, DataFormatError, InvalidParameterError
from ..tables import STRING, validate
from ._classes import UnknownClasses
from ._delimited import (
    Field,
    IngestPlan,
    Source,
    check_file,
    duckdb_can_read,
    fail_rows,
    first_layout,
    line_of_row,
    numpy_columns,
    read_delimited,
    scan_sql,
    sql_string,
    sql_value,
    well_formed_sql,
)
from ._folders import absolute

__all__ = [
    "KITTI_CLASSES",
    "KITTI_FPS",
    "POINTRCNN_CLASSES",
    "kitti_camera_from_ego",
    "read_kitti_detections",
    "read_kitti_tracking",
]

KITTI_FPS = 10.0
#: Object types of KITTI tracking labels (``DontCare`` is an ignore region, not an object):
#: the eight the devkit's readme documents, and ``Person``, which it does not list but the
#: released tracking labels use (676 rows, in sequences outside ``../shared/data``). Any
#: other type is read as written, with one :class:`~assay.exceptions.AssayWarning`.
KITTI_CLASSES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Person", "Cyclist",
                 "Tram", "Misc")
#: Class codes of the AB3DMOT PointRCNN detection files.
POINTRCNN_CLASSES = {1: "Pedestrian", 2: "Car", 3: "Cyclist"}

FRAME_3D = "ego: x forward, y left, z up, metres, (x, y, z) = box centre; from KITTI camera"

_TRACKING = [
    Field("frame", "int"), Field("track", "int"), Field("type", "str"),
    Field("truncated", "float"), Field("occluded", "int"), Field("alpha", "float"),
    Field("x1", "float"), Field("y1", "float"), Field("x2", "float"), Field("y2", "float"),
    Field("h", "float"), Field("w", "float"), Field("l", "float"),
    Field("cx", "float"), Field("cy", "float"), Field("cz", "float"), Field("rot_y", "float"),
]
_TRACKING_SCORED = [*_TRACKING, Field("score", "float")]
_DETECTIONS = [
    Field("frame", "int"), Field("cls", "int"), Field("x1", "float"), Field("y1", "float"),
    Field("x2", "float"), Field("y2", "float"), Field("score", "float"), Field("h", "float"),
    Field("w", "float"), Field("l", "float"), Field("cx", "float"), Field("cy", "float"),
    Field("cz", "float"), Field("rot_y", "float"), Field("alpha", "float"),
]


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _ego(cx: np.ndarray, cy: np.ndarray, cz: np.ndarray, h: np.ndarray, rot_y: np.ndarray) -> dict:
    return {"x": cz, "y": -cx, "z": -cy + h / 2.0, "yaw": _wrap(-rot_y - np.pi / 2.0)}


def kitti_camera_from_ego(obs: pd.DataFrame) -> pd.DataFrame:
    """KITTI camera-coordinate location and ``rot_y`` (columns ``cx cy cz rot_y``) of
    canonical 3-D boxes: the inverse of the conversion the KITTI readers apply."""
    return pd.DataFrame(
        {
            "cx": -obs["y"].to_numpy(),
            "cy": -(obs["z"].to_numpy() - obs["h"].to_numpy() / 2.0),
            "cz": obs["x"].to_numpy(),
            "rot_y": _wrap(-obs["yaw"].to_numpy() - np.pi / 2.0),
        },
        index=obs.index,
    )


def _files(path: Path, what: str, recursive: bool) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(path.rglob("*.txt") if recursive else path.glob("*.txt"))
    if not files and not recursive and (path / "label_02").is_dir():
        files = sorted((path / "label_02").glob("*.txt"))  # a KITTI tracking split folder
    if not files:
        where = "this folder or its sub-folders" if recursive else "this folder"
        raise DataFileNotFoundError(f"{path}: no .txt files in {where} (expected {what}).")
    return files


def _one_stream(stream: str | None, path: str | Path, streams: set[str], caller: str) -> None:
    if stream is not None and len(streams) > 1:
        shown = ", ".join(sorted(streams)[:5]) + (", ..." if len(streams) > 5 else "")
        raise InvalidParameterError(
            f"The 'stream' parameter of {caller} names one stream, but {path} holds "
            f"{len(streams)} ({shown}). Leave it out to name each stream after its file."
        )


def _sources(files: list[Path], streams: list[str]) -> dict[str, str | list[str]]:
    """Stream to the file it was read from (a list when several files make one stream)."""
    out: dict[str, list[str]] = {}
    for f, name in zip(files, streams, strict=True):
        out.setdefault(name, []).append(absolute(f))
    return {k: v[0] if len(v) == 1 else v for k, v in sorted(out.items())}


def _concat(frames: list[pd.DataFrame], attrs: dict) -> pd.DataFrame:
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df["obs_id"] = np.arange(len(df), dtype="int64")
    df.attrs.update(attrs)
    return df


@validate_params(
    {
        "path": ["path"],
        "dontcare": [Options(["drop", "only"])],
        "stream": [str, None],
        "source": [str],
        "fps": [Interval(float, 0, None, closed="neither")],
    }
)
def read_kitti_tracking(
    path: str | Path,
    *,
    dontcare: str = "drop",
    stream: str | None = None,
    source: str = "labels",
    fps: float = KITTI_FPS,
) -> pd.DataFrame:
    """Read KITTI tracking ``label_02`` files as canonical observations.

    Parameters
    ----------
    path : str or Path
        One ``NNNN.txt`` file, a folder of them (``label_02/``; each file is a stream, in
        order of file name), or a folder holding ``label_02/`` (KITTI's ``training/``).
    dontcare : {"drop", "only"}
        ``DontCare`` rows mark regions that are not labeled; they are not objects. ``"drop"``
        returns the objects and reports the number of dropped rows in
        ``attrs["dropped_rows"]``; ``"only"`` returns just the ignore regions (2-D boxes).
    stream : str, optional
        Stream name for a single file; default the file stem (``"0000"``). An error for a
        folder of several files.
    source : str
        ``"labels"`` by default; a 18-field results file (with a score) can be read as a
        model's output by naming it here.
    fps : float
        Frames per second (KITTI: 10); ``time = frame / fps``.

    Returns
    -------
    pandas.DataFrame
        Canonical observations with 2-D boxes and 3-D boxes in the z-up ego frame described
        in this module's docstring (``attrs["frame_3d"]``), plus ``alpha``, ``truncated`` and
        ``occluded`` attributes. ``cls`` is the type as written; a type outside
        ``KITTI_CLASSES`` is read like the others, with one
        :class:`~assay.exceptions.AssayWarning` naming it. ``attrs["sources"]`` maps each stream to the file read,
        ``attrs["frame_rates"]`` to ``fps``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from assay.io import read_kitti_tracking
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "0000.txt"
    >>> _ = p.write_text(
    ...     "0 -1 DontCare -1 -1 -10 219.3 188.5 245.5 218.6 -1000 -1000 -1000 -10 -1 -1 -1\\n"
    ...     "0 0 Van 0 0 -1.79 296.7 161.8 455.2 292.4 2.0 1.82 4.43 -4.55 1.86 13.41 -2.12\\n")
    >>> obs = read_kitti_tracking(p)
    >>> obs[["stream", "frame", "track", "cls", "x", "y", "z", "l"]]
      stream  frame  track  cls      x     y     z     l
    0   0000      0      0  Van  13.41  4.55 -0.86  4.43
    >>> obs.attrs["dropped_rows"]
    {'DontCare': 1}
    """
    files = _files(Path(path), "KITTI tracking label files", recursive=False)
    _one_stream(stream, path, {f.stem for f in files}, "read_kitti_tracking")
    out, dropped = [], 0
    unknown = UnknownClasses([*KITTI_CLASSES, "DontCare"], "KITTI tracking types")
    for f in progress(files, "reading KITTI labels"):
        table, src = read_delimited(
            f, [_TRACKING, _TRACKING_SCORED], delimiter=" ", what="a KITTI tracking label file"
        )
        cols = {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names}
        part, n_dropped = _tracking_frame(cols, src, stream or src.path.stem, dontcare=dontcare,
                                          source=source, fps=fps, unknown=unknown)
        dropped += n_dropped
        out.append(part)
    names = [stream or f.stem for f in files]
    attrs = {"fps": float(fps), "frame_rates": dict.fromkeys(sorted(names), float(fps)),
             "source_file": str(path), "sources": _sources(files, names)}
    if dontcare == "drop":
        attrs.update(frame_3d=FRAME_3D, dropped_rows={"DontCare": dropped})
    df = _concat(out, attrs)
    unknown.warn("read_kitti_tracking")
    return validate(df, "observations", name=str(path))


def _tracking_frame(
    cols: dict[str, np.ndarray], src: Source, name: str, *, dontcare: str, source: str,
    fps: float, unknown: UnknownClasses,
) -> tuple[pd.DataFrame, int]:
    """One tracking file's parsed columns, checked, as observations; and the rows dropped."""
    p = src.path
    kind = cols["type"].astype(object)
    unknown.add(kind, p, lambda row, src=src: f"line {line_of_row(src.raw, row)}")
    frame = cols["frame"]
    fail_rows(src, frame < 0, 1, "frame", frame, "a frame number >= 0")
    is_dc = kind == "DontCare"
    obj = ~is_dc
    fail_rows(src, obj & (cols["track"] < 0), 2, "track", cols["track"], "a track id >= 0 for an object")
    for j, c in ((11, "h"), (12, "w"), (13, "l")):
        fail_rows(src, obj & ~(cols[c] >= 0), j, c, cols[c], "a size >= 0 in metres")
    fail_rows(src, cols["x2"] < cols["x1"], 9, "x2", cols["x2"], "x2 >= x1")
    fail_rows(src, cols["y2"] < cols["y1"], 10, "y2", cols["y2"], "y2 >= y1")
    keep = is_dc if dontcare == "only" else obj
    dropped = int((~keep).sum()) if dontcare == "drop" else 0
    n = int(keep.sum())
    data = {
        "stream": repeat_str(name, n),
        "frame": frame[keep],
        "time": frame[keep] / float(fps),
        "obs_id": np.zeros(n, dtype="int64"),
        "track": pd.array(cols["track"][keep], dtype="Int64")
        if dontcare == "drop"
        else pd.array([pd.NA] * n, dtype="Int64"),
        "cls": pd.array(kind[keep], dtype=STRING),
        "score": cols["score"][keep] if "score" in cols else np.full(n, np.nan),
        "source": repeat_str(source, n),
        **{c: cols[c][keep] for c in ("x1", "y1", "x2", "y2")},
    }
    if dontcare == "drop":
        h = cols["h"][keep]
        ego = _ego(cols["cx"][keep], cols["cy"][keep], cols["cz"][keep], h, cols["rot_y"][keep])
        data.update(x=ego["x"], y=ego["y"], z=ego["z"], l=cols["l"][keep],
                    w=cols["w"][keep], h=h, yaw=ego["yaw"])
        data.update(alpha=cols["alpha"][keep], truncated=cols["truncated"][keep],
                    occluded=cols["occluded"][keep])
    return pd.DataFrame(data, copy=False), dropped


def tracking_ingest_plan(
    path: str | Path, *, stream: str | None = None, source: str = "labels", fps: float = KITTI_FPS
) -> IngestPlan | None:
    """What :func:`read_kitti_tracking` reads (``DontCare`` rows dropped), as DuckDB queries
    (see :class:`~assay.io._delimited.IngestPlan`), or None when the files need the pyarrow
    path: a layout, encoding, ``_``, type or row it reads differently or refuses.

    The files are read twice (KITTI label files are small): once here, to check every row and
    count the ``DontCare`` rows the table's ``attrs`` report, and once by the queries.
    """
    import duckdb

    files = _files(Path(path), "KITTI tracking label files", recursive=False)
    _one_stream(stream, path, {f.stem for f in files}, "read_kitti_tracking")
    types = [*KITTI_CLASSES, "DontCare"]
    words = tuple(t.encode() for t in types if "_" in t)
    queries, parts, dropped = [], [], 0
    con = duckdb.connect()
    for f in files:
        try:
            p = check_file(f, "a KITTI tracking label file")
            layout, _ = first_layout(p, [_TRACKING, _TRACKING_SCORED], " ")
        except DataFormatError:
            return None
        if layout is None or not duckdb_can_read(p, words):
            return None
        v = {fd.name: sql_value(fd) for fd in layout}
        scan = scan_sql(p, layout, " ")
        ok = _tracking_ok(v, layout, types)
        try:
            dropped += con.execute(
                f"SELECT count(*) FILTER (WHERE {v['type']} = 'DontCare') FROM {scan} "
                f"WHERE CASE WHEN {ok} THEN true ELSE error('assay: a row the strict reader refuses') END"
            ).fetchall()[0][0]
        except duckdb.Error:
            return None
        name = stream or p.stem
        empty = {fd.name: np.empty(0, {"int": np.int64, "float": np.float64, "str": object}[fd.kind])
                 for fd in layout}
        parts.append(_tracking_frame(empty, Source(p), name, dontcare="drop", source=source,
                                     fps=fps, unknown=UnknownClasses(types, ""))[0])
        queries.append(_tracking_sql(v, scan, name, source=source, fps=fps))
    con.close()
    names = [stream or f.stem for f in files]
    attrs = {"fps": float(fps), "frame_rates": dict.fromkeys(sorted(names), float(fps)),
             "source_file": str(path), "sources": _sources(files, names),
             "frame_3d": FRAME_3D, "dropped_rows": {"DontCare": int(dropped)}}
    return IngestPlan(queries, validate(_concat(parts, attrs), "observations", name=str(path)), names)


def _tracking_ok(v: dict[str, str], layout: list[Field], types: list[str]) -> str:
    """SQL true for a row :func:`_tracking_frame` takes and stores as DuckDB would (finite
    numbers: stricter than the reader, which then reads the file)."""
    finite = ("x1", "y1", "x2", "y2", "truncated", "alpha")
    sizes = ("h", "w", "l", "cx", "cy", "cz", "rot_y")
    checks = [well_formed_sql(layout), f"{v['frame']} >= 0",
              f"{v['type']} IN ({', '.join(sql_string(t) for t in types)})",
              *(f"isfinite({v[c]})" for c in finite + (("score",) if "score" in v else ())),
              f"{v['x2']} >= {v['x1']}", f"{v['y2']} >= {v['y1']}",
              f"({v['type']} = 'DontCare' OR ({v['track']} >= 0 AND "
              + " AND ".join(f"isfinite({v[c]})" for c in sizes)
              + " AND " + " AND ".join(f"{v[c]} >= 0" for c in ("h", "w", "l")) + "))"]
    return " AND ".join(checks)


def _tracking_sql(v: dict[str, str], scan: str, name: str, *, source: str, fps: float) -> str:
    """The objects of one tracking file: :func:`_tracking_frame` in SQL."""
    columns = {
        "stream": sql_string(name),
        "frame": v["frame"],
        "time": f"{v['frame']} / {float(fps)!r}::DOUBLE",
        "track": v["track"],
        "cls": v["type"],
        "score": v.get("score", "NULL"),
        "source": sql_string(source),
        **{c: v[c] for c in ("x1", "y1", "x2", "y2")},
        **_ego_sql(v),
        "alpha": v["alpha"], "truncated": v["truncated"], "occluded": v["occluded"],
    }
    select = ", ".join(f'{sql} AS "{col}"' for col, sql in columns.items())
    return f"SELECT {select} FROM {scan} WHERE {v['type']} <> 'DontCare'"


def _ego_sql(v: dict[str, str]) -> dict[str, str]:
    """:func:`_ego` (with ``l, w, h``) in SQL, bit for bit."""
    two_pi = "(2 * pi())"
    turned = f"(-{v['rot_y']} - pi() / 2.0) + pi()"  # numpy's float %: the sign of the divisor
    return {
        "x": v["cz"], "y": f"-{v['cx']}", "z": f"-{v['cy']} + {v['h']} / 2.0",
        "l": v["l"], "w": v["w"], "h": v["h"],
        "yaw": f"(CASE WHEN fmod({turned}, {two_pi}) < 0 THEN fmod({turned}, {two_pi}) + {two_pi} "
               f"WHEN fmod({turned}, {two_pi}) = 0 THEN 0::DOUBLE ELSE fmod({turned}, {two_pi}) END) - pi()",
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@validate_params(
    {"path": ["path"], "stream": [str, None], "source": [str],
     "fps": [Interval(float, 0, None, closed="neither")]}
)
def read_kitti_detections(
    path: str | Path,
    *,
    stream: str | None = None,
    source: str = "model:pointrcnn",
    fps: float = KITTI_FPS,
) -> pd.DataFrame:
    """Read AB3DMOT-style 3-D detections (``frame,cls,x1,y1,x2,y2,score,h,w,l,x,y,z,rot_y,alpha``).

    Parameters
    ----------
    path : str or Path
        One file, or a folder searched recursively (for example ``pointrcnn/`` with ``Car/``,
        ``Pedestrian/``, ``Cyclist/`` subfolders); files with the same stem are one stream.
    stream : str, optional
        Stream name for a single file; default the file stem. An error for a folder of
        several streams.
    source : str
        Default ``"model:pointrcnn"``.
    fps : float
        Frames per second (KITTI: 10).

    Returns
    -------
    pandas.DataFrame
        Canonical observations sorted by stream and frame. ``score`` is a probability (the
        logistic function of the raw score, which PointRCNN writes as a logit);
        ``score_raw`` keeps the value in the file. 3-D boxes as in
        :func:`read_kitti_tracking`. Class codes 1/2/3 become Pedestrian/Car/Cyclist; another code is
        kept as written (``"4"``), with one :class:`~assay.exceptions.AssayWarning`.
        ``attrs["sources"]`` maps each stream to its file, or to the list of its files (one
        per class folder); ``attrs["frame_rates"]`` maps it to ``fps``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from assay.io import read_kitti_detections
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "0000.txt"
    >>> _ = p.write_text("0,2,298.3,165.2,458.2,293.4,8.2981,1.96,1.81,4.75,-4.57,1.84,13.53,-2.11,-1.79\\n")
    >>> read_kitti_detections(p)[["stream", "cls", "score", "score_raw"]]
      stream  cls     score  score_raw
    0   0000  Car  0.999751     8.2981
    """
    files = _files(Path(path), "detection files", recursive=True)
    _one_stream(stream, path, {f.stem for f in files}, "read_kitti_detections")
    out = []
    unknown = UnknownClasses(POINTRCNN_CLASSES.values(), "PointRCNN class codes 1, 2, 3")
    for f in progress(files, "reading detections"):
        table, src = read_delimited(f, _DETECTIONS, delimiter=",", what="an AB3DMOT detection file")
        out.append(_detections_frame(numpy_columns(table), src, stream or src.path.stem,
                                     source=source, fps=fps, unknown=unknown))
    df = pd.concat(out, ignore_index=True) if len(out) > 1 else out[0]
    df = df.sort_values(["stream", "frame"], kind="stable", ignore_index=True)
    df = _concat([df], _detections_attrs(path, files, stream, fps))
    unknown.warn("read_kitti_detections")
    return validate(df, "observations", name=str(path))


def _detections_attrs(path: str | Path, files: list[Path], stream: str | None, fps: float) -> dict:
    names = [stream or f.stem for f in files]
    return {"fps": float(fps), "frame_rates": dict.fromkeys(sorted(set(names)), float(fps)),
            "source_file": str(path), "frame_3d": FRAME_3D, "sources": _sources(files, names)}


def _detections_frame(
    cols: dict[str, np.ndarray], src: Source, name: str, *, source: str, fps: float,
    unknown: UnknownClasses,
) -> pd.DataFrame:
    """One detection file's parsed columns, checked, as observations (``obs_id`` not set)."""
    p = src.path
    codes, inverse = np.unique(cols["cls"], return_inverse=True)
    cls = np.array([POINTRCNN_CLASSES.get(int(k), str(k)) for k in codes], dtype=object)[inverse]
    unknown.add(cls, p, lambda row, src=src: f"line {line_of_row(src.raw, row)}")
    frame = cols["frame"]
    fail_rows(src, frame < 0, 1, "frame", frame, "a frame number >= 0")
    fail_rows(src, ~np.isfinite(cols["score"]), 7, "score", cols["score"], "a finite score")
    for j, c in ((8, "h"), (9, "w"), (10, "l")):
        fail_rows(src, ~(cols[c] >= 0), j, c, cols[c], "a size >= 0 in metres")
    fail_rows(src, cols["x2"] < cols["x1"], 5, "x2", cols["x2"], "x2 >= x1")
    fail_rows(src, cols["y2"] < cols["y1"], 6, "y2", cols["y2"], "y2 >= y1")
    n = len(frame)
    ego = _ego(cols["cx"], cols["cy"], cols["cz"], cols["h"], cols["rot_y"])
    return pd.DataFrame({
        "stream": repeat_str(name, n),
        "frame": frame,
        "time": frame / float(fps),
        "obs_id": np.zeros(n, dtype="int64"),
        "track": pd.array([pd.NA] * n, dtype="Int64"),
        "cls": pd.array(cls, dtype=STRING),
        "score": _sigmoid(cols["score"]),
        "source": repeat_str(source, n),
        **{c: cols[c] for c in ("x1", "y1", "x2", "y2")},
        "x": ego["x"], "y": ego["y"], "z": ego["z"],
        "l": cols["l"], "w": cols["w"], "h": cols["h"], "yaw": ego["yaw"],
        "score_raw": cols["score"],
        "alpha": cols["alpha"],
    })


def detections_ingest_plan(
    path: str | Path, *, stream: str | None = None, source: str = "model:pointrcnn",
    fps: float = KITTI_FPS,
) -> IngestPlan | None:
    """What :func:`read_kitti_detections` reads, as one DuckDB query (see
    :class:`~assay.io._delimited.IngestPlan`), or None when the files need the pyarrow path:
    a layout, encoding or ``_`` it reads differently. A row the reader refuses or warns about
    (a class code other than 1, 2, 3; any number not finite) fails the query.

    The rows are sorted as the reader sorts them (by stream and frame, then file and line);
    ``score``, the logistic function of the raw score, is computed in numpy once they are
    stored, as the reader computes it (DuckDB's ``tanh`` differs in the last bit).
    """
    files = _files(Path(path), "detection files", recursive=True)
    _one_stream(stream, path, {f.stem for f in files}, "read_kitti_detections")
    v = {fd.name: sql_value(fd) for fd in _DETECTIONS}
    floats = [fd.name for fd in _DETECTIONS if fd.kind == "float"]
    ok = " AND ".join([
        well_formed_sql(_DETECTIONS), f"{v['frame']} >= 0",
        f"{v['cls']} IN ({', '.join(map(str, POINTRCNN_CLASSES))})",
        *(f"isfinite({v[c]})" for c in floats),
        *(f"{v[c]} >= 0" for c in ("h", "w", "l")),
        f"{v['x2']} >= {v['x1']}", f"{v['y2']} >= {v['y1']}",
    ])
    selects = []
    for i, f in enumerate(files):
        try:
            p = check_file(f, "an AB3DMOT detection file")
            layout, _ = first_layout(p, _DETECTIONS, ",")
        except DataFormatError:
            return None
        if layout is None or not duckdb_can_read(p):
            return None
        columns = {
            "stream": sql_string(stream or p.stem),
            "frame": f"CASE WHEN {ok} THEN {v['frame']} "
                     "ELSE error('assay: a row the strict reader refuses') END",
            "time": f"{v['frame']} / {float(fps)!r}::DOUBLE",
            "cls": "CASE " + " ".join(f"WHEN {v['cls']} = {k} THEN {sql_string(n)}"
                                      for k, n in POINTRCNN_CLASSES.items()) + " END",
            "source": sql_string(source),
            **{c: v[c] for c in ("x1", "y1", "x2", "y2")},
            **_ego_sql(v),
            "score_raw": v["score"], "alpha": v["alpha"],
            "_file": str(i), "_line": "row_number() OVER ()",
        }
        select = ", ".join(f'{sql} AS "{col}"' for col, sql in columns.items())
        selects.append(f"SELECT {select} FROM {scan_sql(p, _DETECTIONS, ',')}")
    query = (f"SELECT * EXCLUDE (_file, _line) FROM ({' UNION ALL '.join(selects)}) "
             "ORDER BY stream, frame, _file, _line")
    empty = {fd.name: np.empty(0, np.int64 if fd.kind == "int" else np.float64) for fd in _DETECTIONS}
    part = _detections_frame(empty, Source(files[0]), "", source=source, fps=fps,
                             unknown=UnknownClasses(POINTRCNN_CLASSES.values(), ""))
    like = validate(_concat([part], _detections_attrs(path, files, stream, fps)), "observations",
                    name=str(path))
    return IngestPlan([query], like, sorted({stream or f.stem for f in files}),
                      computed={"score": ("score_raw", _sigmoid)})
