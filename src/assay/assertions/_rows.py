"""Where the rows of any table are: the keys row-level assertions report findings by."""

from __future__ import annotations

import numpy as np
import pandas as pd


def row_keys(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: its stream (``"rows"`` without a ``stream`` column), its frame (the row's
    position without a ``frame`` column) and its id (``obs_id`` or ``id`` when one is an
    integer column, else the position). Each depends on the row alone, except positions."""
    n = len(table)
    streams = (table["stream"].to_numpy(dtype=object) if "stream" in table.columns
               else np.full(n, "rows", dtype=object))
    frames = (table["frame"].to_numpy(dtype=np.int64) if "frame" in table.columns
              else np.arange(n, dtype=np.int64))
    ids = np.arange(n, dtype=np.int64)
    for c in ("obs_id", "id"):
        if c in table.columns and pd.api.types.is_integer_dtype(table[c].dtype):
            ids = table[c].to_numpy(dtype=np.int64)
            break
    return streams, frames, ids
