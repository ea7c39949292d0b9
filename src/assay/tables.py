"""The canonical tables every assay component reads and writes.

Models turn video, lidar and text into structured outputs; assay works on those tables.
Predictions and human labels share one *observations* schema (``source`` tells them apart);
analytics queries read *records* (an ``id``, proxy scores, and oracle columns as they are
filled in); every assertion or audit writes *findings*.

:func:`validate` is the one gate: every reader and every public entry point passes its table
through it, and it either returns a table with the canonical dtypes or raises
:class:`~assay.exceptions.SchemaError` naming the column, the row and the bad value.

Examples
--------
>>> import pandas as pd
>>> import assay
>>> obs = assay.as_observations(
...     pd.DataFrame({"frame": [1, 2], "cls": "car", "x1": [0.0, 2.0], "y1": 0.0,
...                   "x2": [10.0, 12.0], "y2": 5.0, "score": [0.9, 0.8]}),
...     stream="cam1", source="model:yolo", fps=10)
>>> obs[["stream", "frame", "time", "obs_id", "cls", "score"]]
  stream  frame  time  obs_id  cls  score
0   cam1      1   0.0       0  car    0.9
1   cam1      2   0.1       1  car    0.8
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import SchemaError

__all__ = [
    "BOX2D",
    "BOX3D",
    "EGO_POSE_COLUMNS",
    "FINDING_COLUMNS",
    "OBSERVATION_COLUMNS",
    "OPTIONAL_FINDING_COLUMNS",
    "STRING",
    "as_observations",
    "as_records",
    "empty_observations",
    "validate",
]

#: Dtype of every string column: Arrow-backed, missing values are ``pd.NA``.
STRING = pd.StringDtype("pyarrow")

BOX2D = ("x1", "y1", "x2", "y2")
BOX3D = ("x", "y", "z", "l", "w", "h", "yaw")

#: Observation columns and their dtypes, in canonical order. Extra columns are attributes
#: and travel through untouched after these.
OBSERVATION_COLUMNS: dict[str, Any] = {
    "stream": STRING,
    "frame": np.dtype("int64"),
    "time": np.dtype("float64"),
    "obs_id": np.dtype("int64"),
    "track": pd.Int64Dtype(),
    "cls": STRING,
    "score": np.dtype("float64"),
    "source": STRING,
    **{c: np.dtype("float64") for c in BOX2D},
    **{c: np.dtype("float64") for c in BOX3D},
}
_OBS_REQUIRED = ("stream", "frame", "time", "obs_id", "cls", "source")

#: Findings columns (what assertions and audits produce). ``obs_ids`` is a list of ints;
#: ``evidence`` and ``fix`` are JSON text. ``severity`` is the assertion's own raw value
#: (> 0; pixels, counts, IoU shortfalls: not comparable across assertions), computed from
#: the finding's own rows only.
FINDING_COLUMNS: dict[str, Any] = {
    "run_id": STRING,
    "assertion": STRING,
    "scope": STRING,
    "stream": STRING,
    "frame_start": np.dtype("int64"),
    "frame_end": np.dtype("int64"),
    "obs_ids": np.dtype("object"),
    "track": pd.Int64Dtype(),
    "severity": np.dtype("float64"),
    "evidence": STRING,
    "fix": STRING,
}
FINDING_SCOPES = ("obs", "frame", "window", "track", "stream")
#: Findings columns that may be absent; when present they follow the canonical columns and are
#: validated. ``priority``: float in [0, 1], or missing: how much a finding matters next to
#: the other findings of its run, comparable across assertions (the finding's quantile by
#: severity among its assertion's findings of the run, weighted by the assertion's precision
#: as reviewers judged it; see :func:`assay.assertions.prioritize`). ``check`` fills it and
#: orders by it; findings of a run stored without it read as missing.
OPTIONAL_FINDING_COLUMNS: dict[str, Any] = {"priority": np.dtype("float64")}

#: Ego poses: where the sensor (the car) was at each frame, in a fixed world frame (x, y, z in
#: metres, z up; ``yaw`` in radians about z). With them, boxes given in the moving sensor's
#: frame can be placed in the world, so a parked car's speed is near 0 (motion compensation).
#: One row per ``(stream, frame)``.
EGO_POSE_COLUMNS: dict[str, Any] = {
    "stream": STRING,
    "frame": np.dtype("int64"),
    "time": np.dtype("float64"),
    "x": np.dtype("float64"),
    "y": np.dtype("float64"),
    "z": np.dtype("float64"),
    "yaw": np.dtype("float64"),
}

KINDS = ("observations", "records", "findings", "ego_poses")


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value, so messages read ``5``, not ``np.int64(5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _row_context(df: pd.DataFrame, pos: int) -> str:
    label = df.index[pos]
    where = f"row {pos}"
    if not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1):
        where += f" (index {label!r})"
    parts = []
    for key in ("stream", "frame", "id"):
        if key in df.columns:
            parts.append(f"{key} {_py(df[key].iloc[pos])!r}")
    if parts:
        where += " [" + ", ".join(parts) + "]"
    return where


def _fail(df: pd.DataFrame, name: str, column: str, mask: np.ndarray, expected: str) -> None:
    bad = np.flatnonzero(mask)
    if bad.size == 0:
        return
    pos = int(bad[0])
    value = _py(df[column].iloc[pos])
    more = f" ({bad.size} rows in all)" if bad.size > 1 else ""
    raise SchemaError(
        f"{name}: column {column!r}, {_row_context(df, pos)}: expected {expected}; "
        f"got {value!r}{more}."
    )


def _coerce_int(df: pd.DataFrame, name: str, col: str, *, nullable: bool) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        _fail(df, name, col, np.ones(len(s), bool), "an integer")
    if pd.api.types.is_integer_dtype(s.dtype):
        if not nullable:
            _fail(df, name, col, s.isna().to_numpy(), "an integer (no missing values)")
            return s.astype("int64")
        return s.astype("Int64")
    num = pd.to_numeric(s, errors="coerce")
    nonnum = num.isna().to_numpy() & s.notna().to_numpy()
    _fail(df, name, col, nonnum, "an integer")
    if not nullable:
        _fail(df, name, col, s.isna().to_numpy(), "an integer (no missing values)")
    vals = num.to_numpy(dtype="float64", na_value=np.nan)
    frac = np.isfinite(vals) & (vals != np.round(vals))
    _fail(df, name, col, frac | np.isinf(vals), "an integer")
    return pd.Series(vals, index=s.index).astype("Int64" if nullable else "int64")


def _coerce_float(df: pd.DataFrame, name: str, col: str) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        _fail(df, name, col, np.ones(len(s), bool), "a number")
    if pd.api.types.is_float_dtype(s.dtype) and not isinstance(s.dtype, pd.ArrowDtype):
        return s.astype("float64")
    num = pd.to_numeric(s, errors="coerce")
    _fail(df, name, col, num.isna().to_numpy() & s.notna().to_numpy(), "a number")
    return pd.Series(num.to_numpy(dtype="float64", na_value=np.nan), index=s.index)


def _coerce_str(df: pd.DataFrame, name: str, col: str, *, nullable: bool) -> pd.Series:
    s = df[col]
    if not nullable:
        _fail(df, name, col, s.isna().to_numpy(), "a string (no missing values)")
    if s.dtype == STRING:
        return s
    if s.dtype == object:
        bad = ~s.map(lambda v: v is None or isinstance(v, str) or v is pd.NA).to_numpy()
        _fail(df, name, col, bad, "a string")
    return s.astype(STRING)


def validate(table: pd.DataFrame, kind: str = "observations", *, name: str | None = None) -> pd.DataFrame:
    """Check a table against its canonical schema and return it with canonical dtypes.

    Parameters
    ----------
    table : pandas.DataFrame
        The table to check. It is not modified.
    kind : {"observations", "records", "findings", "ego_poses"}
        Which schema to check against.
    name : str, optional
        How to call the table in error messages (for example its file or workspace name).

    Returns
    -------
    pandas.DataFrame
        A new table: canonical columns first in canonical order with canonical dtypes, extra
        columns after them untouched, and a fresh ``RangeIndex``.

    Raises
    ------
    SchemaError
        On a missing column or the first bad value, naming the column, the row and the value.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.tables import validate
    >>> validate(pd.DataFrame({"id": [1, 1], "proxy": [0.1, 0.2]}), "records")
    Traceback (most recent call last):
    ...
    assay.exceptions.SchemaError: records: column 'id', row 1 [id 1]: expected a unique id; got 1.
    """
    if not isinstance(table, pd.DataFrame):
        raise SchemaError(
            f"{name or kind}: expected a pandas.DataFrame, got {type(table).__name__}."
        )
    name = name or kind
    df = table.reset_index(drop=True)
    if kind == "observations":
        return _validate_observations(df, name)
    if kind == "records":
        return _validate_records(df, name)
    if kind == "findings":
        return _validate_findings(df, name)
    if kind == "ego_poses":
        return _validate_ego_poses(df, name)
    raise SchemaError(f"unknown table kind {kind!r}; expected one of {KINDS}.")


def _require(df: pd.DataFrame, name: str, required: tuple[str, ...], schema: Mapping) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{name}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}. Required: {', '.join(required)}; "
            f"optional: {', '.join(c for c in schema if c not in required)}."
        )
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise SchemaError(f"{name}: duplicate column {dup[0]!r}.")


def _validate_observations(df: pd.DataFrame, name: str) -> pd.DataFrame:
    _require(df, name, _OBS_REQUIRED, OBSERVATION_COLUMNS)
    out: dict[str, pd.Series] = {}
    out["stream"] = _coerce_str(df, name, "stream", nullable=False)
    out["frame"] = _coerce_int(df, name, "frame", nullable=False)
    out["time"] = _coerce_float(df, name, "time")
    _fail(df, name, "time", ~np.isfinite(out["time"].to_numpy()), "a finite number of seconds")
    out["obs_id"] = _coerce_int(df, name, "obs_id", nullable=False)
    ids = out["obs_id"].to_numpy()
    if not (ids.size < 2 or bool(np.all(ids[1:] > ids[:-1]))):  # increasing ids are unique
        _fail(df, name, "obs_id", out["obs_id"].duplicated().to_numpy(), "a unique obs_id")
    if "track" in df.columns:
        out["track"] = _coerce_int(df, name, "track", nullable=True)
    out["cls"] = _coerce_str(df, name, "cls", nullable=False)
    if "score" in df.columns:
        out["score"] = _coerce_float(df, name, "score")
        _fail(df, name, "score", np.isinf(out["score"].to_numpy()), "a finite score or missing")
    out["source"] = _coerce_str(df, name, "source", nullable=False)
    for group in (BOX2D, BOX3D):
        present = [c for c in group if c in df.columns]
        if not present:
            continue
        absent = [c for c in group if c not in df.columns]
        if absent:
            raise SchemaError(
                f"{name}: box columns come together; have {', '.join(present)} but not "
                f"{', '.join(absent)}."
            )
        vals = {}
        for c in group:
            out[c] = _coerce_float(df, name, c)
            vals[c] = out[c].to_numpy()
        n_nan = sum(np.isnan(vals[c]).astype(np.int8) for c in group)
        partial = (n_nan > 0) & (n_nan < len(group))
        if partial.any():
            row = int(np.argmax(partial))
            first_nan = next(c for c in group if np.isnan(vals[c][row]))
            _fail(df, name, first_nan, partial, f"all of {', '.join(group)} set, or none")
        for c in group:
            _fail(df, name, c, np.isinf(vals[c]), "a finite number")
        if group is BOX2D:
            _fail(df, name, "x2", vals["x2"] < vals["x1"], "x2 >= x1 (a box of non-negative width)")
            _fail(df, name, "y2", vals["y2"] < vals["y1"], "y2 >= y1 (a box of non-negative height)")
        else:
            for c in ("l", "w", "h"):
                _fail(df, name, c, vals[c] < 0, "a non-negative size in metres")
    canonical = {c: out[c] for c in OBSERVATION_COLUMNS if c in out}
    extra = {c: df[c] for c in df.columns if c not in OBSERVATION_COLUMNS}
    result = pd.DataFrame({**canonical, **extra}, copy=False)
    result.attrs.update(df.attrs)
    return result


def _strictly_increasing(ids: pd.Series) -> bool:
    if ids.dtype != np.int64:
        return False
    a = ids.to_numpy()
    return bool((a[1:] > a[:-1]).all())


def _validate_records(df: pd.DataFrame, name: str) -> pd.DataFrame:
    if "id" not in df.columns:
        raise SchemaError(
            f"{name}: missing required column 'id' (one unique id per record); "
            f"columns are {', '.join(map(str, df.columns))}."
        )
    ids = df["id"]
    if pd.api.types.is_integer_dtype(ids.dtype) or pd.api.types.is_float_dtype(ids.dtype):
        ids = _coerce_int(df, name, "id", nullable=False)
    else:
        ids = _coerce_str(df, name, "id", nullable=False)
    if not _strictly_increasing(ids):  # the common case (0..N-1) needs no hash table
        _fail(df, name, "id", ids.duplicated().to_numpy(), "a unique id")
    result = df.copy(deep=False)
    result["id"] = ids
    result = result[["id", *[c for c in df.columns if c != "id"]]]
    result.attrs.update(df.attrs)
    return result


def _validate_findings(df: pd.DataFrame, name: str) -> pd.DataFrame:
    required = tuple(c for c in FINDING_COLUMNS if c not in ("track", "fix"))
    _require(df, name, required, {**FINDING_COLUMNS, **OPTIONAL_FINDING_COLUMNS})
    out: dict[str, pd.Series] = {}
    for c in ("run_id", "assertion", "scope", "stream"):
        out[c] = _coerce_str(df, name, c, nullable=False)
    _fail(df, name, "scope", ~out["scope"].isin(FINDING_SCOPES).to_numpy(), f"one of {FINDING_SCOPES}")
    out["frame_start"] = _coerce_int(df, name, "frame_start", nullable=False)
    out["frame_end"] = _coerce_int(df, name, "frame_end", nullable=False)
    _fail(df, name, "frame_end", (out["frame_end"] < out["frame_start"]).to_numpy(), "frame_end >= frame_start")
    bad = ~df["obs_ids"].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).to_numpy(dtype=bool)
    _fail(df, name, "obs_ids", bad, "a list of obs_id integers")
    out["obs_ids"] = df["obs_ids"].map(lambda v: [int(x) for x in v]).astype(object)
    out["track"] = (
        _coerce_int(df, name, "track", nullable=True)
        if "track" in df.columns
        else pd.Series(pd.NA, index=df.index, dtype="Int64")
    )
    out["severity"] = _coerce_float(df, name, "severity")
    sev = out["severity"].to_numpy()
    _fail(df, name, "severity", ~(np.isfinite(sev) & (sev > 0)), "a finite severity > 0 (0 means abstain and is not stored)")
    out["evidence"] = _coerce_str(df, name, "evidence", nullable=False)
    out["fix"] = (
        _coerce_str(df, name, "fix", nullable=True)
        if "fix" in df.columns
        else pd.Series(pd.NA, index=df.index, dtype=STRING)
    )
    if "priority" in df.columns:
        out["priority"] = _coerce_float(df, name, "priority")
        p = out["priority"].to_numpy()
        _fail(df, name, "priority", ~(np.isnan(p) | ((p >= 0) & (p <= 1))), "a priority in [0, 1], or missing")
    extra = {c: df[c] for c in df.columns if c not in out}
    return pd.DataFrame({**out, **extra}, copy=False)


def _validate_ego_poses(df: pd.DataFrame, name: str) -> pd.DataFrame:
    _require(df, name, tuple(EGO_POSE_COLUMNS), EGO_POSE_COLUMNS)
    out: dict[str, pd.Series] = {"stream": _coerce_str(df, name, "stream", nullable=False),
                                 "frame": _coerce_int(df, name, "frame", nullable=False)}
    for c in ("time", "x", "y", "z", "yaw"):
        out[c] = _coerce_float(df, name, c)
        _fail(df, name, c, ~np.isfinite(out[c].to_numpy()), "a finite number")
    keys = pd.MultiIndex.from_arrays([out["stream"].to_numpy(dtype=object), out["frame"].to_numpy()])
    _fail(df, name, "frame", keys.duplicated(), "one pose per (stream, frame)")
    extra = {c: df[c] for c in df.columns if c not in EGO_POSE_COLUMNS}
    result = pd.DataFrame({**out, **extra}, copy=False)
    result.attrs.update(df.attrs)
    return result


def empty_observations() -> pd.DataFrame:
    """An observations table with the required columns and no rows."""
    return pd.DataFrame(
        {c: pd.Series([], dtype=OBSERVATION_COLUMNS[c]) for c in _OBS_REQUIRED}
    )[list(_OBS_REQUIRED)]


def as_observations(
    data: pd.DataFrame,
    *,
    stream: str | None = None,
    source: str | None = None,
    fps: float | None = None,
    first_frame: int = 0,
) -> pd.DataFrame:
    """Fill the columns a user's table lacks, then :func:`validate` it as observations.

    Parameters
    ----------
    data : pandas.DataFrame
        At least a ``frame`` column and a ``cls`` column; anything else canonical is kept.
    stream, source : str, optional
        Values for a missing ``stream`` / ``source`` column.
    fps : float, optional
        Frames per second, used to fill a missing ``time`` column as
        ``(frame - first_frame) / fps``.
    first_frame : int
        The frame number at time zero.

    Returns
    -------
    pandas.DataFrame
        A validated observations table (``obs_id`` numbered from 0 when missing).
    """
    df = data.reset_index(drop=True).copy()
    for col, value in (("stream", stream), ("source", source)):
        if col not in df.columns:
            if value is None:
                raise SchemaError(f"observations: no {col!r} column; pass {col}=... to set one.")
            df[col] = value
    if "time" not in df.columns:
        if fps is None:
            raise SchemaError("observations: no 'time' column; pass fps=... to derive it from frame.")
        if not fps > 0:
            raise SchemaError(f"observations: fps must be > 0; got {fps!r}.")
        if "frame" in df.columns:
            df["time"] = (pd.to_numeric(df["frame"], errors="coerce") - first_frame) / float(fps)
    if "obs_id" not in df.columns:
        df["obs_id"] = np.arange(len(df), dtype="int64")
    return validate(df, "observations")


def as_records(data: pd.DataFrame, *, id: str | None = None) -> pd.DataFrame:
    """Validate a table as query records, taking ``id`` from a named column or the row number."""
    df = data.reset_index(drop=True).copy()
    if id is not None:
        if id not in df.columns:
            raise SchemaError(f"records: no column {id!r} to use as id.")
        df = df.rename(columns={id: "id"})
    elif "id" not in df.columns:
        df.insert(0, "id", np.arange(len(df), dtype="int64"))
    return validate(df, "records")
