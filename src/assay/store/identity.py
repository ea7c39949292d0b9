"""Identities that cannot collide across different data: of tables, files, oracles and records.

A cached oracle answer is reused only when the oracle's identity and the record's key both
match. The record key is its id plus a hash of the values of the fields the oracle sees
(:func:`record_keys`), so an answer paid for on one file is never handed to a record of another
file, or of the same file after an edit, that only shares the id. Re-running a query on
unchanged records finds every answer it paid for.

Identities are text:

==================  ==========================================================================
``file:PATH``       a records file, by its resolved absolute path
``table:UID``       a workspace table, by the id it was given when added (kept by appends, new
                    when the table is replaced)
``frame:NAME``      a pandas DataFrame, by ``name=`` or ``df.attrs["name"]``; ``frame:`` when it
                    has none (then only the record keys tell two frames apart)
``column:C@T``      the column oracle ``C`` of the records with identity ``T``
``python:M:F#H``    a Python function, by module, name and a hash of its module's source (or the
                    ``version`` its author gives)
``human:DIR#SET``   people answering through the files of a folder, by the resolved folder and a
                    named label set
``K``               a key the user chose (``labels=K``) to share answers by record id alone,
                    across data sets; the keys of a format-1 workspace are such keys
==================  ==========================================================================

Examples
--------
>>> import pandas as pd
>>> from assay.store.identity import record_keys
>>> rows = pd.DataFrame({"id": [1, 2], "path": ["a.jpg", "b.jpg"], "n": [3, 3.0]})
>>> keys = record_keys(rows, ["path", "n"])
>>> len(keys[0]), keys[0] == keys[1]
(32, False)
>>> # an integer read as a float (a CSV column that gained a missing value) keeps its key
>>> bool(record_keys(rows.assign(n=[3.0, 3.0]), ["path", "n"])[0] == keys[0])
True
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

__all__ = [
    "describe_input",
    "file_identity",
    "frame_identity",
    "function_identity",
    "record_keys",
]

#: Digest size, in bytes, of a record key (32 hex characters).
KEY_BYTES = 16


def file_identity(path: str | os.PathLike[str]) -> str:
    """``file:`` and the file's resolved absolute path (symbolic links followed).

    Examples
    --------
    >>> from assay.store.identity import file_identity
    >>> file_identity("/data/day1/../day2/records.csv")
    'file:/data/day2/records.csv'
    """
    return "file:" + str(Path(path).expanduser().resolve())


def frame_identity(frame: pd.DataFrame, name: str | None = None) -> str:
    """The identity of records held in a DataFrame.

    A frame read from a workspace carries its table's identity (``table:UID``), unless
    ``name`` names it otherwise; other frames are named by ``name`` or
    ``frame.attrs["name"]`` (``frame:NAME``), and an unnamed frame is ``frame:``. Two different frames under one name stay apart through their record keys.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.store.identity import frame_identity
    >>> frame_identity(pd.DataFrame({"id": [1]}), "traffic-day1")
    'frame:traffic-day1'
    """
    table = _table_of(frame)
    if table is not None and name in (None, table.get("name")):
        return f"table:{table['uid']}"
    if name is not None:
        return f"frame:{name}"
    named = frame.attrs.get("name")
    return f"frame:{named}" if named else "frame:"


def function_identity(fn: Callable[..., Any], version: str | None = None) -> tuple[str, dict[str, Any]]:
    """Identity of a Python function oracle, and what it rests on.

    ``python:<module>:<qualname>#<version>`` when the author gives a version (change it when
    the function's answers change: new weights, a new prompt), else ``#<hash>`` of the source
    of the function's module and of the function itself, with the plain values (numbers,
    strings, tuples) it closes over and its defaults (any edit of the module is a new oracle; two lambdas of one function are
    two oracles unless they read alike and capture alike). A function without readable source
    (a built-in, a C extension) and no version is named without a hash; its ``detail`` says
    so. What the hash cannot see (weights loaded from a file, a global changed at run time)
    needs a version.

    Returns
    -------
    identity : str
    detail : dict
        ``module``, ``qualname``, ``version`` or ``source_hash``, and ``basis`` (what the hash
        covers: ``"module"``, ``"function"``, ``"version"`` or ``"name only"``).

    Examples
    --------
    >>> from assay.store.identity import function_identity
    >>> ident, detail = function_identity(len, version="1")
    >>> ident, detail["basis"]
    ('python:builtins:len#1', 'version')
    """
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    base = f"python:{module}:{qualname}"
    if version is not None:
        return f"{base}#{version}", {"module": module, "qualname": qualname,
                                     "version": version, "basis": "version"}
    pieces, basis = [], "name only"
    mod = sys.modules.get(module)
    if mod is not None and getattr(mod, "__file__", None) and module != "__main__":
        try:
            pieces.append(inspect.getsource(mod))
            basis = "module"
        except (OSError, TypeError):
            pass
    try:
        pieces.append(inspect.getsource(fn))
        basis = "module" if basis == "module" else "function"
    except (OSError, TypeError):
        pass
    if not pieces:
        return base, {"module": module, "qualname": qualname, "basis": "name only",
                      "note": "no source to hash: pass version= so a changed function is a new oracle"}
    # two functions with one source differ in what they captured (closures, defaults)
    pieces.append(_captured(fn))
    digest = hashlib.blake2b("\x00".join(pieces).encode("utf-8", "surrogatepass"),
                             digest_size=8).hexdigest()
    return f"{base}#{digest}", {"module": module, "qualname": qualname,
                                "source_hash": digest, "basis": basis}


def _captured(fn: Any) -> str:
    """A text of the settings a function closes over and its defaults.

    Only immutable plain values (numbers, strings, None, and tuples of them) are settings;
    anything else (a list it logs into, a model object) is named by its type alone, so state
    that changes as the function runs does not make it a new oracle.
    """
    values = [c.cell_contents for c in getattr(fn, "__closure__", None) or ()
              if _filled(c)]
    values += list(getattr(fn, "__defaults__", None) or ())
    return "|".join(repr(v) if _plain(v) else type(v).__qualname__ for v in values)


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    return isinstance(value, (tuple, frozenset)) and all(_plain(v) for v in value)


def describe_input(role: str, source: Any, *, name: str | None = None) -> dict[str, Any]:
    """A run's record of one input: what it is and what pins it down.

    Parameters
    ----------
    role : str
        What the run uses it as (``"observations"``, ``"records"``, ``"labels"``, ...).
    source : path or pandas.DataFrame
        A file (recorded by resolved path, size in bytes and modification time), a frame read
        from a workspace (by table name, identity, revision and the number of rows the run
        saw: fewer than the table's when the frame was filtered), or another frame (by name,
        rows and columns).
    name : str, optional
        The name the caller gave the input.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.store.identity import describe_input
    >>> describe_input("records", pd.DataFrame({"id": [1, 2]}), name="day1")
    {'role': 'records', 'identity': 'frame:day1', 'rows': 2, 'columns': ['id']}
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser().resolve()
        entry: dict[str, Any] = {"role": role, "identity": file_identity(path), "path": str(path)}
        if path.exists():
            stat = path.stat()
            entry["bytes"] = stat.st_size
            entry["mtime"] = pd.Timestamp(stat.st_mtime, unit="s").isoformat()
        return entry
    if not isinstance(source, pd.DataFrame):
        raise InvalidParameterError(
            f"describe_input: the source must be a path or a DataFrame. Got {type(source).__name__}.")
    table = _table_of(source)
    if table is not None and name in (None, table.get("name")):
        entry = {"role": role, "identity": f"table:{table['uid']}", "table": table.get("name"),
                 "revision": table.get("revision"), "rows": len(source)}
        if table.get("rows") is not None and table["rows"] != len(source):
            entry["table_rows"] = table["rows"]
        return entry
    return {"role": role, "identity": frame_identity(source, name), "rows": len(source),
            "columns": [str(c) for c in source.columns]}


def _table_of(frame: pd.DataFrame) -> dict[str, Any] | None:
    """The workspace table a frame was read from (``attrs["workspace_table"]``), if any."""
    table = frame.attrs.get("workspace_table")
    return table if isinstance(table, dict) and table.get("uid") else None


def record_keys(rows: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """A key per row: a 128-bit hash (32 hex digits) of the named fields' names and values.

    Values are hashed through a canonical text, so the key does not depend on how a file was
    read: an integer and the same number as a float (``3`` and ``3.0``), ``True`` and ``1``,
    a Python string and a pandas string hash alike; missing values (None, NaN, NA) hash alike;
    anything else (lists, dicts, timestamps) hashes through its JSON or ISO text. Field order
    matters (the fields are hashed in the order given).

    Parameters
    ----------
    rows : pandas.DataFrame
    fields : sequence of str
        Columns of ``rows`` the key covers.

    Returns
    -------
    numpy.ndarray of str
        One key per row.
    """
    missing = [f for f in fields if f not in rows.columns]
    if missing:
        raise InvalidParameterError(
            f"record_keys: the rows have no column {missing[0]!r} (columns: "
            f"{', '.join(map(str, rows.columns))}).")
    n = len(rows)
    parts = [np.full(n, f"{len(fields)}|", dtype=object)]
    for f in fields:
        text = _canonical(rows[f])
        lengths = np.fromiter((len(t) for t in text), dtype=np.int64, count=n)
        parts.append(np.full(n, f"{len(f)}:{f}", dtype=object))
        parts.append(lengths.astype(str).astype(object) + ":" + text)
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + p
    return np.array([hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).hexdigest()
                     for s in joined], dtype=object)


def _canonical(col: pd.Series) -> np.ndarray:
    """Canonical text of each value of a column (object array)."""
    n = len(col)
    out = np.empty(n, dtype=object)
    missing = col.isna().to_numpy(dtype=bool)
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        vals = col.to_numpy(dtype=object, na_value=None)
        out[:] = ["#1" if v else "#0" for v in vals]
    elif pd.api.types.is_integer_dtype(dtype):
        ints = np.asarray(col.fillna(0) if missing.any() else col)
        out[:] = "#" + ints.astype(str).astype(object)
    elif pd.api.types.is_float_dtype(dtype):
        out[:] = _numbers(col.to_numpy(dtype="float64", na_value=np.nan))
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        out[:] = "'" + col.fillna("").to_numpy(dtype=object).astype(str).astype(object)
    else:
        out[:] = [_canonical_value(v) for v in col.to_numpy(dtype=object)]
    out[missing] = "~"
    return out


def _numbers(vals: np.ndarray) -> np.ndarray:
    out = np.empty(len(vals), dtype=object)
    finite = np.isfinite(vals)
    whole = finite & (np.abs(vals) < 2.0**53) & (vals == np.floor(np.where(finite, vals, 0.0)))
    out[whole] = "#" + vals[whole].astype(np.int64).astype(str).astype(object)
    rest = np.flatnonzero(~whole)
    out[rest] = ["#" + repr(float(v)) for v in vals[rest]]
    return out


def _canonical_value(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return "~"
    if isinstance(v, (bool, np.bool_)):
        return "#1" if v else "#0"
    if isinstance(v, (int, np.integer)):
        return f"#{int(v)}"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return "~"
        return _numbers(np.array([f]))[0]
    if isinstance(v, str):
        return "'" + v
    if isinstance(v, bytes):
        return "b" + v.hex()
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return "@" + pd.Timestamp(v).isoformat()
    if hasattr(v, "isoformat"):
        return "@" + v.isoformat()
    if isinstance(v, np.ndarray):
        v = v.tolist()
    try:
        return "j" + json.dumps(v, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return "r" + repr(v)
