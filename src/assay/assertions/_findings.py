"""Building findings tables from arrays, without a Python loop over findings where it can
be avoided."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._arrow import repeat_str
from ..tables import FINDING_COLUMNS, STRING

_EMPTY = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in FINDING_COLUMNS.items()})


def empty_findings() -> pd.DataFrame:
    """A findings table with no rows."""
    return _EMPTY.copy()


def _json_texts(v: Any) -> list[str]:
    """Each value of a column as JSON text (floats rounded to 6 significant digits; NaN and
    infinities as null), without a ``json.dumps`` call per number."""
    arr = np.asarray(v) if not isinstance(v, list) else v
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "f":
        # each distinct value once (findings repeat values: IoU 0, frame times)
        bits, inverse = np.unique(arr.astype(np.float64).view(np.int64), return_inverse=True)
        return np.array(_float_texts(bits.view(np.float64)), dtype=object)[inverse].tolist()
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "iu":
        return [str(x) for x in arr.tolist()]
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "b":
        return ["true" if x else "false" for x in arr.tolist()]
    return [json.dumps(x) for x in (arr.tolist() if isinstance(arr, np.ndarray) else list(arr))]


_INF = float("inf")


def _float_texts(values: np.ndarray) -> list[str]:
    """JSON text of floats rounded to 6 significant digits: ``repr(float(f"{x:.6g}"))``
    (what ``json.dumps`` writes for the rounded number; NaN and infinities as null). A number
    that ``%.6g`` writes with a point and no exponent is already that text, as no shorter or
    closer decimal maps to the same double; only the others go the long way."""
    texts = [f"{x:.6g}" for x in values.tolist()]
    for i in [i for i, t in enumerate(texts) if "." not in t or "e" in t]:
        x = float(values[i])
        texts[i] = "null" if x != x or x in (_INF, -_INF) else repr(float(f"{x:.6g}"))
    return texts


def _json_rows(columns: Mapping[str, np.ndarray | Sequence], n: int) -> list[str]:
    """One JSON object per row from column arrays (numbers rounded to 6 significant digits)."""
    if not columns:
        return ["{}"] * n
    parts = [[f"{json.dumps(str(k))}: {t}" for t in _json_texts(v)] for k, v in columns.items()]
    return ["{" + ", ".join(row) + "}" for row in zip(*parts, strict=True)]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a findings table is built: its hundreds of
    thousands of small lists (``obs_ids``) would set off full collections, each walking every
    object of the process, though none of them can be part of a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def make_findings(
    assertion: str,
    scope: str,
    stream: Sequence[str] | np.ndarray | pd.Series,
    frame_start: np.ndarray,
    frame_end: np.ndarray,
    obs_ids: Sequence[Sequence[int]],
    severity: np.ndarray,
    *,
    track: np.ndarray | pd.Series | None = None,
    evidence: Mapping[str, Any] | None = None,
    fix: Sequence[str | None] | None = None,
    run_id: str = "",
) -> pd.DataFrame:
    """Assemble a findings table; rows with severity 0 (abstain) are dropped.

    ``evidence`` maps a name to one value per finding; it becomes one JSON object per row.
    ``fix`` is one JSON text (or None) per finding.
    """
    severity = np.asarray(severity, dtype="float64")
    n = len(severity)
    keep = severity > 0
    n_kept = int(np.count_nonzero(keep))
    if n_kept == 0:
        return empty_findings()
    evid = np.full(n, None, dtype=object)  # only the rows kept are written out
    evid[keep] = _json_rows({k: [x for x, k_ in zip(v, keep, strict=True) if k_]
                             if isinstance(v, list) else np.asarray(v)[keep]
                             for k, v in (evidence or {}).items()}, n_kept)
    with _gc_paused():  # the obs_ids lists
        df = pd.DataFrame(
            {
                "run_id": repeat_str(run_id, n),
                "assertion": repeat_str(assertion, n),
                "scope": repeat_str(scope, n),
                "stream": pd.array(np.asarray(stream, dtype=object), dtype=STRING),
                "frame_start": np.asarray(frame_start, dtype="int64"),
                "frame_end": np.asarray(frame_end, dtype="int64"),
                "obs_ids": pd.Series([list(map(int, o)) for o in obs_ids], dtype=object),
                "track": pd.array(
                    np.full(n, pd.NA, dtype=object) if track is None else np.asarray(track, dtype=object),
                    dtype="Int64",
                ),
                "severity": severity,
                "evidence": pd.array(evid, dtype=STRING),
                "fix": pd.array([None] * n if fix is None else list(fix), dtype=STRING),
            }
        )
    return df.loc[keep].reset_index(drop=True)


#: The columns that put findings in their canonical order (:func:`sort_findings`), first to last.
SORT_COLUMNS = ("assertion", "stream", "frame_start", "frame_end", "obs_ids", "scope", "severity",
                "evidence")


def canonical_order(keys: pa.Table, priority: np.ndarray | None = None) -> np.ndarray:
    """Positions of findings in their canonical order (see :func:`sort_findings`), or by
    ``priority`` (descending) first when it is given; ``keys`` holds the
    :data:`SORT_COLUMNS` of the findings (``obs_ids`` a list column, compared as tuples are).
    Findings equal in every key keep their order, and missing values come last in each key,
    as in a stable ``pandas.DataFrame.sort_values``.

    DuckDB sorts the Arrow columns, so no Python object is made per finding.

    Examples
    --------
    >>> import pandas as pd
    >>> keys = sort_keys(pd.DataFrame({
    ...     "assertion": ["gap", "flicker", "flicker"], "stream": "cam", "frame_start": [1, 2, 2],
    ...     "frame_end": [1, 2, 2], "obs_ids": [[5], [7, 8], [7]], "scope": "obs",
    ...     "severity": 1.0, "evidence": "{}"}))
    >>> canonical_order(keys).tolist()
    [2, 1, 0]
    >>> canonical_order(keys, priority=np.array([0.5, 1.0, 0.5])).tolist()
    [1, 2, 0]
    """
    n = keys.num_rows
    columns = {c: keys.column(c) for c in SORT_COLUMNS}
    terms = [f'"{c}" NULLS LAST' for c in SORT_COLUMNS]
    if priority is not None:  # NaN as missing (DuckDB puts NaN above every number)
        columns["priority"] = pa.array(np.asarray(priority, dtype=np.float64), from_pandas=True)
        terms.insert(0, '"priority" DESC NULLS LAST')
    columns["position"] = pa.array(np.arange(n, dtype=np.int64))
    con = _sorter(n)
    try:
        con.register("finding_keys", pa.table(columns))
        order = con.execute(f"SELECT position FROM finding_keys ORDER BY {', '.join(terms)}, position"
                            ).fetchnumpy()["position"]
    finally:
        con.close()
    return np.asarray(order, dtype=np.int64)


_SORTER: dict[int, Any] = {}
#: Findings up to which one in-memory DuckDB database of the process sorts them (opening a
#: database takes longer than sorting a few findings); more are sorted by a database of their
#: own, closed after, so that the memory of a large sort goes back to the system.
SHARED_SORTER_ROWS = 100_000


def _sorter(n: int) -> Any:
    """A DuckDB connection to sort ``n`` findings with (close it after use)."""
    import duckdb

    if n > SHARED_SORTER_ROWS:
        return duckdb.connect()
    pid = os.getpid()  # a forked child makes its own
    if pid not in _SORTER:
        _SORTER.clear()
        _SORTER[pid] = duckdb.connect()
    return _SORTER[pid].cursor()


def sort_keys(findings: pd.DataFrame) -> pa.Table:
    """The :data:`SORT_COLUMNS` of a findings DataFrame as Arrow, for :func:`canonical_order`."""
    columns = {c: pa.array(findings[c], from_pandas=True) for c in SORT_COLUMNS if c != "obs_ids"}
    ids = findings["obs_ids"].to_numpy(dtype=object)
    try:
        columns["obs_ids"] = pa.array(ids, pa.list_(pa.int64()))
    except (pa.ArrowException, TypeError):  # ids that are not ints, such as floats 3.0
        columns["obs_ids"] = pa.array([list(map(int, v)) for v in ids], pa.list_(pa.int64()))
    return pa.table(columns)


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Canonical order (a total order, for comparisons): assertion, stream, frame range,
    obs ids, scope, severity, evidence.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"assertion": ["gap", "flicker", "flicker"], "stream": "cam",
    ...                   "frame_start": [1, 2, 2], "frame_end": [1, 2, 2],
    ...                   "obs_ids": [[5], [7, 8], [7]], "scope": "obs", "severity": 1.0,
    ...                   "evidence": "{}"})
    >>> sort_findings(f)[["assertion", "obs_ids"]]
      assertion obs_ids
    0   flicker     [7]
    1   flicker  [7, 8]
    2       gap     [5]
    """
    if findings.empty:
        return findings.reset_index(drop=True)
    return findings.take(canonical_order(sort_keys(findings))).reset_index(drop=True)


def python_lists(column: pa.ChunkedArray | pa.Array) -> list[list[int] | None]:
    """A list column as one Python list per row (what ``to_pylist`` gives), made from the
    flat values with one slice per row rather than an Arrow scalar per value.

    Examples
    --------
    >>> python_lists(pa.array([[1, 2], [], [3]]))
    [[1, 2], [], [3]]
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.null_count:
        return column.to_pylist()
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    ends = np.cumsum(lengths, dtype=np.int64)
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).tolist()
    with _gc_paused():  # a list per row, none of them part of a cycle
        return [flat[a:b] for a, b in zip((ends - lengths).tolist(), ends.tolist(), strict=True)]
