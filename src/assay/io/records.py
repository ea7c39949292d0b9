"""Records for analytics queries, and Parquet for any canonical table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._validation import Options, validate_params
from ..exceptions import DataFormatError
from ..tables import KINDS, validate
from ._delimited import Field, _check_encoding, check_file, diagnose
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


@validate_params({"path": ["path"], "id": [str, None], "proxy": [str, list, None]})
def read_records(
    path: str | Path, *, id: str | None = None, proxy: str | list[str] | None = None
) -> pd.DataFrame:
    """Read query records from CSV (with a header line) or Parquet.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (optionally ``.csv.gz``) or ``.parquet`` / ``.pq``.
    id : str, optional
        The column that identifies a record (default ``"id"``); renamed to ``id``.
    proxy : str or list of str, optional
        Proxy score columns to check: numeric, finite, no missing values.

    Returns
    -------
    pandas.DataFrame
        Validated records: ``id`` first, then the other columns as in the file.

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
    p = check_file(path, "a CSV or Parquet records file")
    suffixes = "".join(p.suffixes[-2:]).lower()
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pq.read_table(p).to_pandas()
        except (pa.ArrowInvalid, OSError) as e:
            raise DataFormatError(f"not a readable Parquet file: {e}", path=p) from None
    elif p.suffix.lower() == ".csv" or suffixes.endswith(".csv.gz"):
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
            line = row + 2 if p.suffix.lower() != ".parquet" else None
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


@validate_params({"path": ["path"], "kind": [Options([*KINDS, None])]})
def read_parquet(path: str | Path, *, kind: str | None = "observations") -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet` (validated as ``kind``)."""
    p = check_file(path, "a Parquet file")
    try:
        df = pq.read_table(p).to_pandas()
    except (pa.ArrowInvalid, OSError) as e:
        raise DataFormatError(f"not a readable Parquet file: {e}", path=p) from None
    return validate(df, kind, name=str(p)) if kind is not None else df
