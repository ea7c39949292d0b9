"""Store a pandas column in DuckDB through Arrow and get exactly the same dtype back.

A workspace records, for every column of a stored table, a small JSON *spec* of its pandas
dtype. :func:`to_arrow` turns a frame into an Arrow table DuckDB can ingest without a copy per
row; :func:`from_arrow` turns what DuckDB gives back into a frame with the recorded dtypes.

What is stored for each dtype family:

==========================  ===============================  =================================
pandas dtype                DuckDB column                    comes back as
==========================  ===============================  =================================
int*/uint*/float32/float64  same width number                same numpy dtype
bool                        BOOLEAN                          bool
datetime64[unit]            TIMESTAMP_S/MS/(us)/NS           same unit, NaT kept
datetime64[unit, tz]        TIMESTAMP of the UTC instant     same unit and time zone
timedelta64[unit]           BIGINT count of units            same unit, NaT kept
Int*, UInt*, Float*,        number / BOOLEAN with NULLs      same masked dtype
boolean
string / str                VARCHAR                          same storage and missing marker
category                    the categories' type             same categories and order
ArrowDtype (not dictionary) matching type                    same ArrowDtype
object                      whatever Arrow infers            Python objects: str, int, list ..
==========================  ===============================  =================================
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..exceptions import InvalidParameterError

__all__ = ["UnsupportedDtype", "decode_dtype", "encode_dtype", "from_arrow", "to_arrow"]

_MASKED = frozenset(
    ["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"]
    + ["Float32", "Float64", "boolean"]
)
_NAT = np.iinfo(np.int64).min


class UnsupportedDtype(Exception):
    """Raised by :func:`encode_dtype` with the reason a dtype cannot be stored."""


def encode_dtype(dtype: Any) -> dict[str, Any]:
    """The JSON-able spec of a pandas dtype; raise :class:`UnsupportedDtype` if not storable."""
    spec = _encode(dtype)
    try:
        back = decode_dtype(spec)
    except Exception as exc:  # a spec that does not parse back is not storable
        raise UnsupportedDtype(f"dtype {dtype} does not parse back ({exc})") from None
    if back != dtype:
        raise UnsupportedDtype(f"dtype {dtype} would come back as {back}")
    return spec


def _encode(dtype: Any) -> dict[str, Any]:
    if isinstance(dtype, np.dtype):
        if dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize >= 4):
            return {"dtype": dtype.name}
        if dtype.kind in "Mm":
            return {"dtype": dtype.name}
        if dtype.kind == "O":
            return {"dtype": "object"}
        raise UnsupportedDtype(f"numpy dtype {dtype} has no DuckDB column type")
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        inner = _encode(cats.dtype)
        values = cats.tolist()
        try:
            json.dumps(values, allow_nan=False)
        except (TypeError, ValueError):
            raise UnsupportedDtype(
                "only categories of strings, integers or floats can be stored"
            ) from None
        return {"dtype": "category", "categories": values, "ordered": bool(dtype.ordered),
                "categories_dtype": inner}
    if isinstance(dtype, pd.StringDtype):
        na = getattr(dtype, "na_value", pd.NA)
        prefix = "string" if na is pd.NA else "str"
        return {"dtype": f"{prefix}[{dtype.storage}]"}
    if isinstance(dtype, pd.DatetimeTZDtype):
        return {"dtype": str(dtype)}
    if isinstance(dtype, pd.ArrowDtype):
        if pa.types.is_dictionary(dtype.pyarrow_dtype):
            raise UnsupportedDtype("dictionary ArrowDtype columns cannot be stored")
        schema = pa.schema([pa.field("x", dtype.pyarrow_dtype)])
        return {"dtype": "arrow", "arrow_type": base64.b64encode(schema.serialize().to_pybytes()).decode()}
    if str(dtype) in _MASKED:
        return {"dtype": str(dtype)}
    raise UnsupportedDtype(f"dtype {dtype} has no DuckDB column type")


def decode_dtype(spec: dict[str, Any]) -> Any:
    """The pandas dtype a spec made by :func:`encode_dtype` stands for."""
    token = spec["dtype"]
    if token == "category":
        inner = decode_dtype(spec["categories_dtype"])
        cats = pd.Index(spec["categories"], dtype=inner)
        return pd.CategoricalDtype(cats, ordered=spec["ordered"])
    if token.startswith(("string[", "str[")):
        prefix, storage = token[:-1].split("[", 1)
        if prefix == "string":
            return pd.StringDtype(storage)
        return pd.StringDtype(storage, na_value=np.nan)
    if token == "object":
        return np.dtype(object)
    if token == "arrow":
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(spec["arrow_type"])))
        return pd.ArrowDtype(schema.field(0).type)
    return pd.api.types.pandas_dtype(token)


def to_arrow(
    df: pd.DataFrame, dtypes: list[Any], *, types: dict[str, pa.DataType] | None = None
) -> pa.Table:
    """Convert each column of ``df`` for storage; ``dtypes`` are the columns' pandas dtypes.

    ``types`` fixes the Arrow type of some columns instead of letting Arrow infer it.
    """
    arrays = {}
    for name, dtype in zip(df.columns, dtypes, strict=True):
        arr = _column_to_arrow(df[name], dtype, name)
        if types and name in types and arr.type != types[name]:
            arr = arr.cast(types[name])
        arrays[name] = arr
    if not arrays:
        return pa.table({})
    return pa.table(arrays)


def _column_to_arrow(s: pd.Series, dtype: Any, name: str) -> pa.Array | pa.ChunkedArray:
    if isinstance(dtype, np.dtype) and dtype.kind == "m":
        values = s.to_numpy().view("int64")
        return pa.array(values, mask=values == _NAT)
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidParameterError(
            f"Column {name!r} ({dtype} dtype) cannot be stored: its values do not share one "
            f"type Arrow can hold ({exc}). Convert the column to one type first, for example "
            f"df[{name!r}].astype(str)."
        ) from None
    if isinstance(dtype, pd.CategoricalDtype):
        return arr.dictionary_decode()
    if isinstance(dtype, pd.DatetimeTZDtype):
        return arr.cast(pa.timestamp(arr.type.unit))  # the UTC instant, without the zone
    return arr


def from_arrow(table: pa.Table, specs: list[dict[str, Any]], schema: pa.Schema | None) -> pd.DataFrame:
    """Rebuild the frame :func:`to_arrow` stored, from what DuckDB returns."""
    columns: dict[str, pd.Series] = {}
    for i, spec in enumerate(specs):
        col, dtype = table.column(i), decode_dtype(spec)
        if schema is not None and _needs_cast(col.type, schema.field(i).type, dtype):
            try:
                col = col.cast(schema.field(i).type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # convert from DuckDB's type below
        columns[spec["name"]] = _column_from_arrow(col, dtype)
    # copy=False: no copy of each column and no consolidation of same-dtype columns into one
    # block, which for ten million rows costs more than the read itself.
    return pd.DataFrame(columns, columns=[spec["name"] for spec in specs], copy=False)


def _needs_cast(got: pa.DataType, stored: pa.DataType, dtype: Any) -> bool:
    """Whether DuckDB's Arrow type must be cast back to the stored one before conversion.

    Small and large offsets of one layout convert alike (a cast would copy every value), except
    for an ``ArrowDtype``, which keeps the exact type.
    """
    if got == stored:
        return False
    if isinstance(dtype, pd.ArrowDtype):
        return True
    for family in (_is_string, _is_list, _is_binary):
        if family(got) and family(stored):
            return False
    return True


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _column_from_arrow(col: pa.ChunkedArray, dtype: Any) -> pd.Series:
    if isinstance(dtype, pd.CategoricalDtype):
        categories = pa.array(dtype.categories.tolist(), type=col.type)
        codes = pc.fill_null(pc.index_in(col, value_set=categories), -1)
        return pd.Series(pd.Categorical.from_codes(_to_numpy(codes), dtype=dtype), copy=False)
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pd.Series(_to_numpy(col).astype(f"datetime64[{dtype.unit}]"), copy=False)
        return utc.dt.tz_localize("UTC").dt.tz_convert(dtype.tz).astype(dtype)
    if isinstance(dtype, np.dtype):
        if dtype.kind == "m":
            ints = pc.fill_null(col, _NAT).to_numpy() if col.null_count else _to_numpy(col)
            return pd.Series(np.asarray(ints, dtype="int64").view(dtype), copy=False)
        if dtype.kind == "O":
            if _is_string(col.type):
                return pd.Series(_to_numpy(col), dtype=object, copy=False)
            values = np.fromiter(col.to_pylist(), dtype=object, count=len(col))
            return pd.Series(values, copy=False)
        return pd.Series(_to_numpy(col).astype(dtype, copy=False), copy=False)
    return pd.Series(dtype.__from_arrow__(col), copy=False)


def _to_numpy(col: pa.ChunkedArray) -> np.ndarray:
    """A writable array: Arrow's zero-copy views are read-only, and a table read back must
    accept ``df.loc[...] = ...`` like any other."""
    a = col.chunk(0).to_numpy(zero_copy_only=False) if col.num_chunks == 1 else col.to_numpy()
    return a if a.flags.writeable else a.copy()
