"""Building findings tables from arrays, without a Python loop over findings where it can
be avoided."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

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


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Canonical order (a total order, for comparisons): assertion, stream, frame range,
    obs ids, scope, severity, evidence."""
    if findings.empty:
        return findings.reset_index(drop=True)
    keyed = findings.assign(_k=findings["obs_ids"].map(tuple))
    cols = ["assertion", "stream", "frame_start", "frame_end", "_k", "scope", "severity", "evidence"]
    order = keyed.sort_values(cols, kind="stable").index
    return findings.loc[order].reset_index(drop=True)
