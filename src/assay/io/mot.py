"""MOTChallenge detection and ground-truth files."""

from __future__ import annotations

import configparser
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .._arrow import repeat_str
from .._progress import progress
from .._validation import Interval, Options, validate_params
from ..exceptions import DataFileNotFoundError, DataFormatError, InvalidParameterError, SchemaError
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
from .paths import StagedFiles

__all__ = ["MOT16_CLASSES", "MotSequence", "find_mot_sequences", "read_mot", "read_seqinfo", "write_mot"]

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


@dataclass(frozen=True)
class MotSequence:
    """One sequence of a MOTChallenge dataset, as :func:`find_mot_sequences` found it.

    Attributes
    ----------
    stream : str or None
        The stream its observations get: ``name`` in its ``seqinfo.ini``, else the sequence
        folder's name, else the file's stem; None when none of them can name a sequence
        (``det``, ``gt``, ``train`` and ``test`` never do).
    named_from : {"seqinfo.ini", "folder", "file name"} or None
        Where ``stream`` came from.
    file : Path
        The ``det`` or ``gt`` file.
    seqinfo : Path or None
        The sequence's ``seqinfo.ini``, when it has one.
    fps : float or None
        ``frameRate`` from ``seqinfo.ini``.
    image_size : (int, int) or None
        ``(imWidth, imHeight)`` from ``seqinfo.ini``.
    """

    stream: str | None
    named_from: str | None
    file: Path
    seqinfo: Path | None = None
    fps: float | None = None
    image_size: tuple[int, int] | None = None


#: Folder and file names that are parts of the MOTChallenge layout, never a sequence's name.
_LAYOUT_NAMES = frozenset({"det", "gt", "train", "test"})


def _sequence_file(folder: Path, kind: str) -> Path | None:
    """``folder/<kind>/<kind>.txt`` or ``folder/<kind>.txt``, if ``folder`` is a sequence."""
    for cand in (folder / kind / f"{kind}.txt", folder / f"{kind}.txt"):
        if cand.is_file():
            return cand
    return None


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _find_seqinfo(file: Path) -> Path | None:
    for d in (file.parent, file.parent.parent):
        if (d / "seqinfo.ini").is_file():
            return d / "seqinfo.ini"
    return None


def _describe(file: Path) -> MotSequence:
    seqinfo = _find_seqinfo(file)
    info = read_seqinfo(seqinfo) if seqinfo is not None else {}
    size = (info["width"], info["height"]) if "width" in info and "height" in info else None
    if info.get("name"):
        stream, why = info["name"], "seqinfo.ini"
    else:
        folder = seqinfo.parent if seqinfo is not None else file.parent
        if folder.name.lower() in ("det", "gt"):
            folder = folder.parent
        if folder.name and folder.name.lower() not in _LAYOUT_NAMES:
            stream, why = folder.name, "folder"
        elif file.stem.lower() not in _LAYOUT_NAMES:
            stream, why = file.stem, "file name"
        else:
            stream, why = None, None
    return MotSequence(stream, why, file, seqinfo, info.get("fps"), size)


@validate_params({"path": ["path"], "kind": [Options(["det", "gt"])]})
def find_mot_sequences(path: str | Path, *, kind: str = "det") -> list[MotSequence]:
    """Find the sequences of a MOTChallenge file, sequence folder or dataset root.

    Nothing is read but the ``seqinfo.ini`` files, so this is quick on a whole dataset: use
    it to see what :func:`read_mot` will read and how it will name each stream.

    Parameters
    ----------
    path : str or Path
        One of

        * a file (``det.txt``, ``gt.txt``, or any file in their layout);
        * a sequence folder, holding ``<kind>/<kind>.txt`` or ``<kind>.txt`` (and usually
          ``seqinfo.ini``);
        * a dataset root whose sub-folders are sequence folders (flat: ``ROOT/SEQ/det.txt``)
          or hold them (as released: ``ROOT/train/SEQ/det/det.txt``, ``ROOT/test/SEQ/...``).
          Two levels are searched, no deeper.
    kind : {"det", "gt"}
        Which file of each sequence.

    Returns
    -------
    list of MotSequence
        Sorted by stream name (sequences without a name last, by file).

    Raises
    ------
    DataFileNotFoundError
        ``path`` does not exist, or holds no ``<kind>`` file where one is looked for.
    DataFormatError
        A ``seqinfo.ini`` is malformed, or two sequences have the same name (the message
        names both files).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from assay.io import find_mot_sequences
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for seq in ("TUD-Campus", "myseq"):
    ...     (root / "train" / seq / "det").mkdir(parents=True)
    ...     _ = (root / "train" / seq / "det" / "det.txt").write_text("1,-1,10,20,5,8,0.9,-1,-1,-1\\n")
    >>> _ = (root / "train" / "TUD-Campus" / "seqinfo.ini").write_text(
    ...     "[Sequence]\\nname=TUD-Campus\\nframeRate=25\\nimWidth=640\\nimHeight=480\\n")
    >>> [(s.stream, s.named_from, s.fps, s.image_size) for s in find_mot_sequences(root)]
    [('TUD-Campus', 'seqinfo.ini', 25.0, (640, 480)), ('myseq', 'folder', None, None)]
    """
    p = Path(path)
    what = f"a MOTChallenge {kind} file, sequence folder or dataset root"
    if not p.exists():
        raise DataFileNotFoundError(f"{p}: no such file or folder (expected {what}).")
    if p.is_file():
        files = [p]
    elif (own := _sequence_file(p, kind)) is not None:
        files = [own]
    else:
        files = []
        for child in _subfolders(p):
            found = _sequence_file(child, kind)
            if found is not None:
                files.append(found)
                continue
            files.extend(f for g in _subfolders(child) if (f := _sequence_file(g, kind)) is not None)
        if not files:
            raise DataFileNotFoundError(
                f"{p}: found no MOTChallenge {kind} file: looked for {kind}/{kind}.txt and "
                f"{kind}.txt in this folder (a sequence), in its sub-folders (a flat dataset "
                f"root, ROOT/SEQ/{kind}.txt) and in theirs (a dataset as released, "
                f"ROOT/train/SEQ/{kind}/{kind}.txt)."
            )
    seqs = sorted((_describe(f) for f in files),
                  key=lambda s: (s.stream is None, s.stream or "", str(s.file)))
    for a, b in zip(seqs, seqs[1:], strict=False):
        if a.stream is not None and a.stream == b.stream:
            raise DataFormatError(
                f"its sequence is named {b.stream!r} ({b.named_from}), as is the sequence of "
                f"{a.file}; the streams of one table need distinct names. Read one of them on "
                "its own and give it another stream name.",
                path=b.file,
            )
    return seqs


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
    """Read MOTChallenge ``det.txt`` or ``gt.txt`` files as canonical observations.

    Both layouts are accepted, chosen by the number of fields on the first line: the
    10-field MOT15 layout ``frame, id, left, top, width, height, score, x, y, z`` and the
    9-field MOT16/17 ground truth ``frame, id, left, top, width, height, consider, class,
    visibility``.

    Parameters
    ----------
    path : str or Path
        A file; a sequence folder holding ``<kind>/<kind>.txt`` or ``<kind>.txt``; or a
        dataset root, flat (``ROOT/SEQ/det.txt``) or as released (``ROOT/train/SEQ/det/det.txt``,
        ``ROOT/test/...``). Every sequence found (see :func:`find_mot_sequences`) becomes one
        stream of the table, in order of stream name.
    kind : {"det", "gt"}
        Detections (``score`` is the detector confidence, ``track`` is missing) or ground
        truth (``track`` is the id, ``score`` is missing because people do not have one).
    fps : float, optional
        Frames per second, for every sequence. Default: ``frameRate`` from each sequence's
        ``seqinfo.ini`` (next to the file or one folder up); it is an error if there is
        neither.
    stream : str, optional
        Stream name, for a single sequence. Default: ``name`` in ``seqinfo.ini``, else the
        sequence folder's name (never ``det``, ``gt``, ``train`` or ``test``), else the file's
        stem.
    source : str, optional
        Default ``"labels"`` for ground truth and ``"model:<file stem>"`` for detections.
    cls : str
        Class of every box in the 10-field layout (MOT15 has pedestrians only). The 9-field
        layout names classes by its ``class`` field (see ``MOT16_CLASSES``); an id
        outside that list is kept as written (``"13"``), with one
        :class:`~assay.exceptions.AssayWarning` for the whole read.

    Returns
    -------
    pandas.DataFrame
        Canonical observations: ``time = (frame - 1) / fps``, boxes ``x1 = left``,
        ``x2 = left + width``, ``obs_id`` numbered from 0 across all sequences. A detection
        score of exactly -1 is MOTChallenge's "not applicable" and is read as missing (NaN).
        Attribute columns: ``consider`` (the ground truth's flag, 1 in MOT15) and
        ``visibility`` where the files have them; ``world_x``, ``world_y``, ``world_z`` when a
        10-field file sets its world coordinates (not all -1).

        ``attrs``: ``sources`` (stream to the file read), ``frame_rates`` (stream to fps),
        ``image_sizes`` (stream to ``[width, height]``, for the sequences whose
        ``seqinfo.ini`` has ``imWidth`` and ``imHeight``), ``fps`` (when every sequence has
        the same) and ``source_file`` (the file read, or the folder for many sequences).

    Raises
    ------
    DataFormatError
        With the file, line and column of the first malformed value.
    SchemaError
        A sequence has no frame rate (no ``fps`` given and no ``seqinfo.ini`` with
        ``frameRate``); the message names its file.
    InvalidParameterError
        ``stream`` given for a folder of several sequences, or a sequence that cannot be
        named without it.

    Examples
    --------
    >>> from assay.io import read_mot, demo_path
    >>> gt = read_mot(demo_path("TUD-Campus", "gt"), kind="gt", fps=25)
    >>> gt[["stream", "frame", "time", "track", "x1", "y1", "x2", "y2"]].head(2)
           stream  frame  time  track     x1     y1     x2     y2
    0  TUD-Campus      1   0.0      1  399.0  182.0  520.0  411.0
    1  TUD-Campus      1   0.0      2  282.0  201.0  374.0  385.0

    A tracker's output has no confidence; its -1 reads as missing:

    >>> bool(read_mot(demo_path("TUD-Campus", "tracker"), kind="det", fps=25)["score"].isna().all())
    True
    """
    seqs = _named_sequences(path, kind=kind, fps=fps, stream=stream)
    unknown = UnknownClasses(MOT16_CLASSES.values(), "MOT16 classes (ids 1 to 12)")
    parts = [
        _read_sequence(s, kind=kind, fps=fps or s.fps, source=source, cls=cls, unknown=unknown)
        for s in progress(seqs, f"reading {len(seqs)} MOT sequences")
    ]
    unknown.warn("read_mot")
    return _table(parts, seqs, path, fps)


def _table(parts: list[pd.DataFrame], seqs: list[MotSequence], path: str | Path,
           fps: float | None) -> pd.DataFrame:
    """The sequences' observations as one validated table, numbered and with its attrs."""
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(parts) > 1:
        df["obs_id"] = np.arange(len(df), dtype="int64")
    df.attrs.update(_attrs(seqs, path, fps))
    return validate(df, "observations", name=str(seqs[0].file if len(seqs) == 1 else path))


def ingest_plan(
    path: str | Path,
    *,
    kind: str = "det",
    fps: float | None = None,
    stream: str | None = None,
    source: str | None = None,
    cls: str = "pedestrian",
) -> IngestPlan | None:
    """What :func:`read_mot` reads, as DuckDB queries (see :class:`IngestPlan`), or None when
    the files need the pyarrow path: a layout, encoding or ``_`` it reads differently, world
    coordinates or ids of classes outside ``MOT16_CLASSES`` on the first lines, or sequences
    of different layouts. Raises what :func:`read_mot` raises for its parameters.
    """
    seqs = _named_sequences(path, kind=kind, fps=fps, stream=stream)
    what = f"a MOTChallenge {kind} file"
    layouts, queries, parts = [], [], []
    for seq in seqs:
        try:
            p = check_file(seq.file, what)
            layout, head = first_layout(p, _LAYOUTS, ",")
        except DataFormatError:
            return None
        nine = layout is _MOT16_GT
        if layout is None or (nine and kind == "det") or not duckdb_can_read(p):
            return None
        # world coordinates set on the first lines: the reader keeps them; none there: none
        # in the file, or the query fails
        world = False if nine else _sets_world(head)
        if world is None:
            return None
        rate = float(fps or seq.fps)
        # the reader's table without rows; a row of ones (dropped) when it has world columns
        ones = {f.name: np.ones(int(world), _NUMPY[f.kind]) for f in layout}
        part = _observations(ones, Source(p), seq, kind=kind, fps=rate, source=source, cls=cls,
                             unknown=UnknownClasses(MOT16_CLASSES.values(), "")).iloc[:0]
        queries.append(_sequence_sql(p, layout, seq.stream, kind=kind, fps=rate, world=world,
                                     source=_default_source(source, kind, p), cls=cls))
        layouts.append(layout)
        parts.append(part)
    if any(layout is not layouts[0] for layout in layouts):
        return None
    return IngestPlan(queries, _table(parts, seqs, path, fps), [s.stream for s in seqs])


_NUMPY = {"int": np.int64, "float": np.float64}


def _default_source(source: str | None, kind: str, p: Path) -> str:
    return source if source is not None else ("labels" if kind == "gt" else f"model:{p.stem}")


def _sets_world(head: bytes) -> bool | None:
    """Whether the first lines of a 10-field file set a world coordinate (not -1); None when
    one of them does not parse (the reader will say why)."""
    lines = [line for line in head.split(b"\n")[:-1] if line.strip()][:100]
    try:
        return any(float(x) != -1 for line in lines for x in line.split(b",")[7:])
    except ValueError:
        return None


def _sequence_sql(p: Path, layout: list[Field], stream: str, *, kind: str, fps: float,
                  world: bool, source: str, cls: str) -> str:
    """The query behind one sequence's rows: :func:`_observations` in SQL, failing on a row
    it (or the pyarrow parse) would refuse."""
    v = {f.name: sql_value(f) for f in layout}
    nine = layout is _MOT16_GT
    x2, y2 = f"{v['left']} + {v['width']}", f"{v['top']} + {v['height']}"
    ok = [well_formed_sql(layout), f"{v['frame']} >= 1",
          *(f"isfinite({v[c]})" for c in ("left", "top", "width", "height")),
          f"{v['width']} >= 0", f"{v['height']} >= 0", f"isfinite({x2})", f"isfinite({y2})"]
    if kind == "gt":
        ok.append(f"{v['id']} >= 0")
    else:
        ok.append(f"isfinite({v['score']})")
    if nine:
        ok += [f"{v['class']} BETWEEN 1 AND {len(MOT16_CLASSES)}", f"NOT isnan({v['visibility']})"]
    elif not world:
        ok += [f"{v[c]} = -1" for c in ("wx", "wy", "wz")]
    columns = {
        "stream": sql_string(stream),
        "frame": f"CASE WHEN {' AND '.join(ok)} THEN {v['frame']} "
                 "ELSE error('assay: a row the strict reader refuses') END",
        "time": f"({v['frame']} - 1) / {float(fps)!r}::DOUBLE",
        "track": v["id"] if kind == "gt" else f"CASE WHEN {v['id']} < 0 THEN NULL ELSE {v['id']} END",
        "cls": ("CASE " + " ".join(f"WHEN {v['class']} = {k} THEN {sql_string(n)}"
                                   for k, n in MOT16_CLASSES.items()) + " END")
               if nine else sql_string(cls),
        "score": "NULL" if kind == "gt" else f"CASE WHEN {v['score']} = -1 THEN NULL ELSE {v['score']} END",
        "source": sql_string(source),
        "x1": v["left"], "y1": v["top"], "x2": x2, "y2": y2,
    }
    if kind == "gt":
        columns["consider"] = f"{v['consider']} <> 0" if nine else f"{v['score']} <> 0"
    if nine:
        columns["visibility"] = v["visibility"]
    elif world:  # NaN is stored as missing, as from the frame
        columns |= {f"world_{c}": f"CASE WHEN isnan({v['w' + c]}) THEN NULL ELSE {v['w' + c]} END"
                    for c in "xyz"}
    select = ", ".join(f'{sql} AS "{name}"' for name, sql in columns.items())
    return f"SELECT {select} FROM {scan_sql(p, layout, ',')}"


def _named_sequences(path: str | Path, *, kind: str, fps: float | None, stream: str | None
                     ) -> list[MotSequence]:
    """The sequences :func:`read_mot` reads, each named and with a frame rate (or the error
    saying why not)."""
    seqs = find_mot_sequences(path, kind=kind)
    if stream is not None:
        if len(seqs) > 1:
            raise InvalidParameterError(
                f"The 'stream' parameter of read_mot names one stream, but {path} holds "
                f"{len(seqs)} sequences ({_names(seqs)}). Leave it out to name each sequence "
                "from its seqinfo.ini or folder."
            )
        seqs = [replace(seqs[0], stream=stream, named_from="stream=")]
    for s in seqs:
        if s.stream is None:
            raise InvalidParameterError(
                f"{s.file}: cannot name this sequence's stream: no seqinfo.ini with a name, "
                f"and its folder {s.file.parent.name!r} is part of the MOTChallenge layout. "
                "Pass stream=... (or read it from its sequence folder)."
            )
    if fps is None:
        missing = [s for s in seqs if s.fps is None]
        if missing:
            more = f" ({len(missing)} of {len(seqs)} sequences have none)" if len(seqs) > 1 else ""
            raise SchemaError(
                f"{missing[0].file}: no fps given and no seqinfo.ini with frameRate next to the "
                f"file{more}; pass fps=... (frames per second)."
            )
    return seqs


def _attrs(seqs: list[MotSequence], path: str | Path, fps: float | None) -> dict:
    rates = {s.stream: float(fps or s.fps) for s in seqs}
    attrs: dict = {"source_file": str(seqs[0].file if len(seqs) == 1 else Path(path))}
    if len(set(rates.values())) == 1:
        attrs["fps"] = next(iter(rates.values()))
    attrs["frame_rates"] = rates
    attrs["image_sizes"] = {s.stream: list(s.image_size) for s in seqs if s.image_size}
    attrs["sources"] = {s.stream: absolute(s.file) for s in seqs}
    return attrs


def _names(seqs: list[MotSequence], limit: int = 5) -> str:
    names = [str(s.stream or s.file) for s in seqs]
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def _read_sequence(
    seq: MotSequence, *, kind: str, fps: float, source: str | None, cls: str,
    unknown: UnknownClasses,
) -> pd.DataFrame:
    """One sequence's file as observations (not yet validated; ``obs_id`` from 0)."""
    table, src = read_delimited(seq.file, _LAYOUTS, delimiter=",", what=f"a MOTChallenge {kind} file")
    return _observations(numpy_columns(table), src, seq, kind=kind, fps=fps, source=source,
                         cls=cls, unknown=unknown)


def _observations(
    cols: dict[str, np.ndarray], src: Source, seq: MotSequence, *, kind: str, fps: float,
    source: str | None, cls: str, unknown: UnknownClasses,
) -> pd.DataFrame:
    """The parsed columns of one sequence's file, checked, as observations."""
    p = src.path
    source = _default_source(source, kind, p)
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
        score[score == -1] = np.nan  # MOTChallenge's "not applicable"

    n = len(frame)
    data = {
        "stream": repeat_str(seq.stream, n),
        "frame": frame.astype("int64"),
        "time": (frame - 1) / float(fps),
        "obs_id": np.arange(n, dtype="int64"),
        "track": track,
    }
    if nine:
        ids_, inverse = np.unique(cols["class"], return_inverse=True)
        names = np.array([MOT16_CLASSES.get(int(k), str(k)) for k in ids_], dtype=object)[inverse]
        unknown.add(names, p, lambda row: f"line {line_of_row(src.raw, row)}")
        data["cls"] = pd.array(names, dtype=STRING)
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
    return pd.DataFrame(data, copy=False)


@validate_params({"path": ["path"], "precision": [Interval(int, 0, 15)]})
def write_mot(observations: pd.DataFrame, path: str | Path, *, precision: int = 6) -> Path:
    """Write observations of one stream as a 10-field MOT15 file.

    Rows keep their order. Ground truth (rows with a ``track``) is written with its id and
    the ``consider`` flag (1 when the column is absent); detections with id -1 and their
    score (-1, MOT's "not applicable", when it is missing); world coordinates from ``world_x/y/z`` when present, else -1. Width and height are
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
    # a missing score is the consider flag for ground truth, MOT's "not applicable" -1 for detections
    score_col = np.where(np.isnan(score), np.where(has_track, flag, -1.0), score)
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
