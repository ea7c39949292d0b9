"""Fast construction of Arrow-backed pandas string columns (no per-row Python objects)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa


def take_str(names: Sequence[str], codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """``names[codes]`` as a pyarrow-backed string array (codes must be valid indices)."""
    values = pa.array(list(names), pa.string())  # take on large_string is ~5x slower
    return pd.arrays.ArrowStringArray(values.take(pa.array(np.asarray(codes, dtype=np.int64))))


def repeat_str(value: str, n: int) -> pd.arrays.ArrowStringArray:
    """``n`` copies of ``value`` as a pyarrow-backed string array, built from its buffers
    (offsets ``0, k, 2k, ...`` and the bytes repeated) rather than by a take."""
    data = str(value).encode()
    if len(data) * n >= 2**31 - 1:  # beyond 32-bit offsets
        return take_str([value], np.zeros(n, dtype=np.int64))
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))
    return pd.arrays.ArrowStringArray(arr)
