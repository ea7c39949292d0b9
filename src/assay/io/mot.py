"""MOTChallenge detection and ground-truth files."""

from __future__ import annotations

import configparser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .._arrow import repeat_str, take_str
from .._validation import Interval, Options, validate_params
from ..exceptions import DataFileNotFoundError, DataFormatError, SchemaError
from ..tables import validate
from ._delimited import Field, fail_rows, numpy_columns, read_delimited
from .paths import StagedFiles

__all__ = ["MOT16_CLASSES", "read_mot", "read_seqinfo", "write_mot"]

#: Class ids of the 9-column MOT16 / MOT17 ground truth.
MOT16_CLASSES = {
    1: "pedestrian", 2: "person_on_vehicle", 3: "car", 4: "bicycle", 5: "motorbike",
    6: "non_motorized_vehicle", 7: "static_person", 8: "distractor", 9: "occluder",
    10: "occluder_on_ground", 11: "occluder_full", 12: "reflection",
}

_HEAD = [Field("frame", "int"), Field("id", "int"), Field("left", "float"),
         Field("top", "float"), Field("width", "float"), Field("height", "float")]
_MOT15 = [*_HEAD, Field("score", "float"), Field("wx", "float"), Field("wy", "float"),
          Field("wz", "float")]
_MOT16_GT = [*_HEAD, Field("consider", "int"), Field("class", "int"), Field("visibility", "float")]
_LAYOUTS = [_MOT15, _MOT16_GT]


def read_seqinfo(path: str | Path) -> dict:
    """Read a MOTChallenge ``seqinfo.ini``: ``name``, ``fps``, ``length``, ``width``, ``height``.

    Missing keys are left out of the result.
    """
    p = Path(path)
    parser = configparser.ConfigParser()
    try:
        parser.read_string(p.read_text(encoding="utf-8"))
    except (configparser.Error, UnicodeDecodeError) as e:
        raise DataFormatError(f"not a valid seqinfo.ini: {e}", path=p) from None
    if "Sequence" not in parser:
        raise DataFormatError("no [Sequence] section; expected a MOTChallenge seqinfo.ini.", path=p)
    sec = parser["Sequence"]
    out: dict = {}
    conv = {"name": ("name", str), "frameRate": ("fps", float), "seqLength": ("length", int),
            "imWidth": ("width", int), "imHeight": ("height", int)}
    for key, (name, fn) in conv.items():
        if key in sec:
            try:
                out[name] = fn(sec[key])
            except ValueError:
                raise DataFormatError(
                    f"{key}={sec[key]!r} is not a valid {fn.__name__}.", path=p
                ) from None
    if "fps" in out and not out["fps"] > 0:
        raise DataFormatError(f"frameRate must be > 0, got {out['fps']}.", path=p)
    return out


def _resolve(path: Path, kind: str) -> Path:
    if path.is_dir():
        for cand in (path / kind / f"{kind}.txt", path / f"{kind}.txt"):
            if cand.is_file():
                return cand
        raise DataFileNotFoundError(
            f"{path}: no {kind}/{kind}.txt or {kind}.txt in this folder (expected a "
            f"MOTChallenge sequence folder)."
        )
    return path


def _find_seqinfo(file: Path) -> Path | None:
    for d in (file.parent, file.parent.parent):
        if (d / "seqinfo.ini").is_file():
            return d / "seqinfo.ini"
    return None


@validate_params(
    {
        "path": ["path"],
        "kind": [Options(["det", "gt"])],
        "fps": [Interval(float, 0, None, closed="neither"), None],
        "stream": [str, None],
        "source": [str, None],
        "cls": [str],
    }
)
def read_mot(
    path: str | Path,
    *,
    kind: str = "det",
    fps: float | None = None,
    stream: str | None = None,
    source: str | None = None,
    cls: str = "pedestrian",
) -> pd.DataFrame:
    """Read a MOTChallenge ``det.txt`` or ``gt.txt`` as canonical observations.

    Both layouts are accepted, chosen by the number of fields on the first line: the
    10-field MOT15 layout ``frame, id, left, top, width, height, score, x, y, z`` and the
    9-field MOT16/17 ground truth ``frame, id, left, top, width, height, consider, class,
    visibility``.

    Parameters
    ----------
    path : str or Path
        The file, or a sequence folder holding ``<kind>/<kind>.txt`` or ``<kind>.txt``.
    kind : {"det", "gt"}
        Detections (``score`` is the detector confidence, ``track`` is missing) or ground
        truth (``track`` is the id, ``score`` is missing because people do not have one).
    fps : float, optional
        Frames per second. Default: ``frameRate`` from a ``seqinfo.ini`` next to the file
        (or one folder up); it is an error if there is neither.
    stream : str, optional
        Stream name. Default: ``name`` in ``seqinfo.ini``, else the sequence folder's name.
    source : str, optional
        Default ``"labels"`` for ground truth and ``"model:<file stem>"`` for detections.
    cls : str
        Class of every box in the 10-field layout (MOT15 has pedestrians only). The 9-field
        layout names classes by its ``class`` field (see ``MOT16_CLASSES``).

    Returns
    -------
    pandas.DataFrame
        Canonical observations: ``time = (frame - 1) / fps``, boxes ``x1 = left``,
        ``x2 = left + width``. Attribute columns: ``consider`` (the ground truth's flag, 1 in
        MOT15) and ``visibility`` where the file has them; ``world_x``, ``world_y``,
        ``world_z`` when the 10-field file sets its world coordinates (not all -1).

    Raises
    ------
    DataFormatError
        With the file, line and column of the first malformed value.

    Examples
    --------
    >>> from assay.io import read_mot, demo_path
    >>> gt = read_mot(demo_path("TUD-Campus", "gt"), kind="gt", fps=25)
    >>> gt[["stream", "frame", "time", "track", "x1", "y1", "x2", "y2"]].head(2)
           stream  frame  time  track     x1     y1     x2     y2
    0  TUD-Campus      1   0.0      1  399.0  182.0  520.0  411.0
    1  TUD-Campus      1   0.0      2  282.0  201.0  374.0  385.0
    """
    file = _resolve(Path(path), kind)
    what = f"a MOTChallenge {kind} file"
    table, src = read_delimited(file, _LAYOUTS, delimiter=",", what=what)
    p = src.path
    info = {}
    seqinfo = _find_seqinfo(p) if p.exists() else None
    if seqinfo is not None:
        info = read_seqinfo(seqinfo)
    if fps is None:
        fps = info.get("fps")
        if fps is None:
            raise SchemaError(
                f"{p}: no fps given and no seqinfo.ini with frameRate next to the file; "
                f"pass fps=... (frames per second)."
            )
    if stream is None:
        stream = info.get("name") or (p.parent.parent.name if p.parent.name in ("gt", "det") else p.parent.name)
    if source is None:
        source = "labels" if kind == "gt" else f"model:{p.stem}"

    cols = numpy_columns(table)
    nine = "class" in cols
    frame = cols["frame"]
    fail_rows(src, frame < 1, 1, "frame", frame, "a frame number >= 1 (MOT frames start at 1)")
    for j, name in ((3, "left"), (4, "top"), (5, "width"), (6, "height")):
        fail_rows(src, ~np.isfinite(cols[name]), j, name, cols[name], "a finite number")
    fail_rows(src, cols["width"] < 0, 5, "width", cols["width"], "a width >= 0")
    fail_rows(src, cols["height"] < 0, 6, "height", cols["height"], "a height >= 0")
    ids = cols["id"]
    if kind == "gt":
        fail_rows(src, ids < 0, 2, "id", ids, "a track id >= 0 in ground truth")
        track = pd.array(ids, dtype="Int64")
        score = np.full(len(frame), np.nan)
    else:
        track = pd.array(np.where(ids < 0, 0, ids), dtype="Int64")
        track[ids < 0] = pd.NA
        if nine:
            raise DataFormatError(
                "has the 9-field MOT16/17 ground-truth layout, but kind='det'; pass kind='gt'.",
                path=p, line=1,
            )
        score = cols["score"]
        fail_rows(src, ~np.isfinite(score), 7, "score", score, "a finite detection score")

    n = len(frame)
    data = {
        "stream": repeat_str(stream, n),
        "frame": frame.astype("int64"),
        "time": (frame - 1) / float(fps),
        "obs_id": np.arange(n, dtype="int64"),
        "track": track,
    }
    if nine:
        klass = cols["class"]
        known = np.isin(klass, list(MOT16_CLASSES))
        fail_rows(src, ~known, 8, "class", klass, f"a MOT16 class id in 1..{max(MOT16_CLASSES)}")
        data["cls"] = take_str([MOT16_CLASSES[k] for k in sorted(MOT16_CLASSES)], klass - 1)
    else:
        data["cls"] = repeat_str(cls, n)
    data["score"] = score
    data["source"] = repeat_str(source, n)
    data["x1"] = cols["left"]
    data["y1"] = cols["top"]
    data["x2"] = cols["left"] + cols["width"]
    data["y2"] = cols["top"] + cols["height"]
    if kind == "gt" or nine:
        consider = cols["consider"] if nine else cols["score"]
        data["consider"] = consider.astype(bool) if nine else consider != 0
    if nine:
        data["visibility"] = cols["visibility"]
    else:
        if any(bool((cols[c] != -1).any()) for c in ("wx", "wy", "wz")):
            data.update(world_x=cols["wx"], world_y=cols["wy"], world_z=cols["wz"])
    df = pd.DataFrame(data, copy=False)
    df.attrs["source_file"] = str(p)
    df.attrs["fps"] = float(fps)
    return validate(df, "observations", name=str(p))


@validate_params({"path": ["path"], "precision": [Interval(int, 0, 15)]})
def write_mot(observations: pd.DataFrame, path: str | Path, *, precision: int = 6) -> Path:
    """Write observations of one stream as a 10-field MOT15 file.

    Rows keep their order. Ground truth (rows with a ``track``) is written with its id and
    the ``consider`` flag (1 when the column is absent); detections with id -1 and their
    score; world coordinates from ``world_x/y/z`` when present, else -1. Width and height are
    rounded to ``precision`` decimals to undo the float error of ``x2 - x1``, so a file
    written from what :func:`read_mot` read holds the same values.

    The file is written whole or not at all (see :class:`~assay.io.StagedFiles`), into a
    folder that must exist: no folder is created.

    Raises
    ------
    DataFileNotFoundError
        The folder of ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from assay.io import read_mot, write_mot, demo_path
    >>> gt = read_mot(demo_path("TUD-Campus", "gt"), kind="gt", fps=25)
    >>> out = write_mot(gt, pathlib.Path(tempfile.mkdtemp()) / "gt.txt")
    >>> out.read_text().splitlines()[0]
    '1,1,399,182,121,229,1,-1,-1,-1'
    """
    obs = validate(observations, "observations")
    missing = [c for c in ("x1", "y1", "x2", "y2") if c not in obs.columns]
    if missing:
        raise SchemaError(f"write_mot: observations have no 2-D boxes (missing {missing}).")
    streams = obs["stream"].unique()
    if len(streams) > 1:
        raise SchemaError(
            f"write_mot: a MOT file holds one stream; got {len(streams)} "
            f"({', '.join(map(str, streams[:5]))}...). Select one with obs[obs.stream == ...]."
        )
    n = len(obs)
    track = obs["track"] if "track" in obs.columns else pd.Series(pd.NA, index=obs.index, dtype="Int64")
    has_track = track.notna().to_numpy()
    ids = np.where(has_track, track.fillna(-1).to_numpy(dtype="int64"), -1)
    if "consider" in obs.columns:
        flag = obs["consider"].astype(float).to_numpy()
    else:
        flag = np.ones(n)
    score = obs["score"].to_numpy(dtype="float64") if "score" in obs.columns else np.full(n, np.nan)
    score_col = np.where(np.isnan(score), flag, score)
    x1 = obs["x1"].to_numpy()
    y1 = obs["y1"].to_numpy()
    neg = -np.ones(n)
    world = [obs[c].to_numpy(dtype="float64") if c in obs.columns else neg
             for c in ("world_x", "world_y", "world_z")]
    table = pa.table(
        {
            "frame": obs["frame"].to_numpy(),
            "id": ids,
            "left": x1,
            "top": y1,
            "width": np.round(obs["x2"].to_numpy() - x1, precision),
            "height": np.round(obs["y2"].to_numpy() - y1, precision),
            "score": score_col,
            "x": world[0],
            "y": world[1],
            "z": world[2],
        }
    )
    out = Path(path)
    with StagedFiles() as stage:
        pacsv.write_csv(
            table, stage.path(out),
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
        )
    return out
