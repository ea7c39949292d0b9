"""Records for analytics queries, and Parquet for any canonical table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._progress import progress
from .._validation import Options, validate_params
from ..exceptions import DataFormatError
from ..tables import KINDS, validate
from ._delimited import Field, _check_encoding, check_file, diagnose
from ._folders import absolute, first_shared, folder_files, merge_attrs
from .paths import StagedFiles

__all__ = ["read_parquet", "read_records", "write_parquet"]


def _read_csv(p: Path) -> pd.DataFrame:
    raw = p.read_bytes()
    _check_encoding(p, raw)
    try:
        table = pacsv.read_csv(pa.py_buffer(raw))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        header = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace").split(",")
        # Re-check line by line with the header's width, typing nothing: the first line of
        # the wrong width or encoding is named.
        err = diagnose(p, raw, [Field(h, "str") for h in header], ",", "a CSV records file")
        raise err from None
    if table.num_rows == 0:
        raise DataFormatError("has a header but no records.", path=p)
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                         pa.large_string(): pd.StringDtype("pyarrow")}.get)


_RECORD_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@validate_params({"path": ["path"], "id": [str, None], "proxy": [str, list, None]})
def read_records(
    path: str | Path, *, id: str | None = None, proxy: str | list[str] | None = None
) -> pd.DataFrame:
    """Read query records from CSV (with a header line) or Parquet, or a folder of such files.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (optionally ``.csv.gz``) or ``.parquet`` / ``.pq``; or a folder, whose files
        with these extensions are read in order of name and concatenated. They must have the
        same columns and no record ``id`` in common.
    id : str, optional
        The column that identifies a record (default ``"id"``); renamed to ``id``.
    proxy : str or list of str, optional
        Proxy score columns to check: numeric, finite, no missing values.

    Returns
    -------
    pandas.DataFrame
        Validated records: ``id`` first, then the other columns as in the file.
        ``attrs["source_file"]`` is the path read; for a folder ``attrs["source_files"]``
        lists its files.

    Raises
    ------
    DataFormatError
        A malformed file (with its line and column), or two files of a folder with
        different columns or the same record id (naming both files).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from assay.io import read_records
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("id,label,proxy_score\\n0,0,0.1\\n1,1,0.9\\n")
    >>> read_records(p, proxy="proxy_score")
       id  label  proxy_score
    0   0      0          0.1
    1   1      1          0.9
    """
    p = Path(path)
    if not p.is_dir():
        return _read_records_file(p, id=id, proxy=proxy)
    files = folder_files(p, _RECORD_SUFFIXES, "CSV or Parquet records files")
    parts = [_read_records_file(f, id=id, proxy=proxy)
             for f in progress(files, f"reading {len(files)} records files")]
    _same_columns(parts, files)
    hit = first_shared([part["id"] for part in parts])
    if hit is not None:
        value, i, j = hit
        row = int(np.flatnonzero((parts[j]["id"] == value).to_numpy())[0])
        raise DataFormatError(
            f"record id {_plain(value)!r} is also in {files[i]}; the records of one table need "
            "distinct ids. Give the files disjoint ids, or read them as separate tables.",
            path=files[j], line=row + 2 if _is_csv(files[j]) else None,
        )
    df = pd.concat(parts, ignore_index=True)
    df = validate(df, "records", name=str(p))
    df.attrs.update(source_file=str(p), source_files=[absolute(f) for f in files])
    return df


def _is_csv(p: Path) -> bool:
    return p.name.lower().endswith((".csv", ".csv.gz"))


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _same_columns(parts: list[pd.DataFrame], files: list[Path]) -> None:
    first = list(parts[0].columns)
    for part, f in zip(parts[1:], files[1:], strict=True):
        if set(part.columns) != set(first):
            extra = [c for c in part.columns if c not in first]
            lacking = [c for c in first if c not in part.columns]
            diff = "; ".join(x for x in (f"it also has {extra}" if extra else "",
                                         f"it lacks {lacking}" if lacking else "") if x)
            raise DataFormatError(
                f"has other columns than {files[0]} ({diff}); the files of one folder are read "
                "as one table and need the same columns.",
                path=f,
            )


def _read_records_file(p: Path, *, id: str | None, proxy: str | list[str] | None) -> pd.DataFrame:
    p = check_file(p, "a CSV or Parquet records file")
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pq.read_table(p).to_pandas()
        except (pa.ArrowInvalid, OSError) as e:
            raise DataFormatError(f"not a readable Parquet file: {e}", path=p) from None
    elif _is_csv(p):
        df = _read_csv(p)
    else:
        raise DataFormatError("unknown extension; expected .csv, .csv.gz, .parquet or .pq.", path=p)
    if id is not None and id != "id":
        if id not in df.columns:
            raise DataFormatError(f"no column {id!r}; columns are {list(df.columns)}.", path=p)
        if "id" in df.columns:
            raise DataFormatError(f"has both 'id' and {id!r}; rename one.", path=p)
        df = df.rename(columns={id: "id"})
    df = validate(df, "records", name=str(p))
    for col in [proxy] if isinstance(proxy, str) else (proxy or []):
        if col not in df.columns:
            raise DataFormatError(f"no proxy column {col!r}; columns are {list(df.columns)}.", path=p)
        s = df[col]
        if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            raise DataFormatError(f"proxy column {col!r} must be numeric; got dtype {s.dtype}.", path=p)
        bad = s.isna().to_numpy() | ~pd.Series(s.astype(float)).between(-1e308, 1e308).to_numpy()
        if bad.any():
            row = int(bad.nonzero()[0][0])
            line = row + 2 if _is_csv(p) else None
            value, rid = s.iloc[row], df["id"].iloc[row]
            value = value.item() if hasattr(value, "item") else value
            rid = rid.item() if hasattr(rid, "item") else rid
            raise DataFormatError(
                f"proxy column {col!r}: expected a finite number, got {value!r} "
                f"(record id {rid!r}).",
                path=p, line=line, column=list(df.columns).index(col) + 1,
            )
    df.attrs["source_file"] = str(p)
    return df


@validate_params({"path": ["path"], "kind": [Options([*KINDS, None])]})
def write_parquet(table: pd.DataFrame, path: str | Path, *, kind: str | None = "observations") -> Path:
    """Write a table (validated as ``kind`` unless None) to Parquet, keeping pandas dtypes.

    The file is written whole or not at all (see :class:`~assay.io.StagedFiles`), into a
    folder that must exist: no folder is created.

    Raises
    ------
    DataFileNotFoundError
        The folder of ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> import assay
    >>> from assay.io import read_parquet, write_parquet
    >>> obs = assay.as_observations(pd.DataFrame({"frame": [0, 1], "cls": "car"}),
    ...                             stream="cam/1", source="labels", fps=10)
    >>> path = write_parquet(obs, pathlib.Path(tempfile.mkdtemp()) / "obs.parquet")
    >>> read_parquet(path)["stream"].tolist()
    ['cam/1', 'cam/1']
    >>> write_parquet(obs, pathlib.Path(tempfile.mkdtemp()) / "no" / "obs.parquet")
    Traceback (most recent call last):
    ...
    assay.exceptions.DataFileNotFoundError: Cannot write '.../no/obs.parquet': the folder ...
    """
    df = validate(table, kind) if kind is not None else table
    out = Path(path)
    with StagedFiles() as stage:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), stage.path(out))
    return out


@validate_params({"path": ["path"], "kind": [Options([*KINDS, None])], "renumber": [bool]})
def read_parquet(
    path: str | Path, *, kind: str | None = "observations", renumber: bool = False
) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet` (validated as ``kind``), or a
    folder of them.

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` / ``.pq`` file, or a folder whose files with these extensions are read
        in order of name and concatenated (with the same columns). Files of observations
        must not share a stream, nor an ``obs_id`` unless ``renumber``; files of records must
        not share an ``id``.
    kind : {"observations", "records", "findings"} or None
        The canonical schema to check; None reads any table as it is.
    renumber : bool, default False
        For observations read from a folder: number ``obs_id`` from 0 in the order read (files
        written separately each number their rows from 0).

    Returns
    -------
    pandas.DataFrame
        The table, with the ``attrs`` it was written with (for a folder: mapping entries
        merged, other entries from the first file). Observations read from a folder get
        ``attrs["sources"]``, each stream's file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> import assay
    >>> from assay.io import read_parquet, write_parquet
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for cam in ("cam1", "cam2"):
    ...     obs = assay.as_observations(pd.DataFrame({"frame": [0, 1], "cls": "car"}),
    ...                                 stream=cam, source="labels", fps=10)
    ...     _ = write_parquet(obs, folder / f"{cam}.parquet")
    >>> read_parquet(folder, renumber=True)[["stream", "frame", "obs_id"]]
      stream  frame  obs_id
    0   cam1      0       0
    1   cam1      1       1
    2   cam2      0       2
    3   cam2      1       3
    """
    p = Path(path)
    if not p.is_dir():
        return _read_parquet_file(p, kind)
    files = folder_files(p, (".parquet", ".pq"), "Parquet files")
    parts = [_read_parquet_file(f, kind) for f in progress(files, f"reading {len(files)} Parquet files")]
    _same_columns(parts, files)
    checks = {"observations": [("stream", "stream", "one table holds each stream once; rename "
                                "it in one of the files, or read them as separate tables.")],
              "records": [("id", "record id", "the records of one table need distinct ids.")]}
    keys = list(checks.get(kind or "", []))
    if kind == "observations" and not renumber:
        keys.append(("obs_id", "obs_id", "obs_id is unique within a table; pass renumber=True "
                     "to number the rows in the order read."))
    for col, what, advice in keys:
        hit = first_shared([part[col] for part in parts])
        if hit is not None:
            value, i, j = hit
            raise DataFormatError(f"{what} {_plain(value)!r} is also in {files[i]}; {advice}",
                                  path=files[j])
    df = pd.concat(parts, ignore_index=True)
    df.attrs = merge_attrs(parts)
    if kind == "observations":
        if renumber:
            df["obs_id"] = np.arange(len(df), dtype="int64")
        df.attrs["sources"] = {
            str(name): absolute(f)
            for part, f in zip(parts, files, strict=True) for name in part["stream"].unique()
        }
    df.attrs["source_file"] = str(p)
    return validate(df, kind, name=str(p)) if kind is not None else df


def _read_parquet_file(p: Path, kind: str | None) -> pd.DataFrame:
    p = check_file(p, "a Parquet file")
    try:
        df = pq.read_table(p).to_pandas()
    except (pa.ArrowInvalid, OSError) as e:
        raise DataFormatError(f"not a readable Parquet file: {e}", path=p) from None
    return validate(df, kind, name=str(p)) if kind is not None else df
