"""Fast construction of Arrow-backed pandas string columns (no per-row Python objects)."""

from __future__ import annotations

import sys
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


def release_memory() -> None:
    """Give memory freed by this process back to the operating system: the pages Arrow's
    pool keeps for reuse, and the free pages of the C heap (glibc's ``malloc_trim``; nothing
    where the C library has none). numpy's temporaries of a group of streams are freed into
    the C heap, which neither Arrow nor Python's own allocator reuses, so a process checking
    group after group would otherwise hold the largest group's working memory to the end."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_TRIM: list = []


def _malloc_trim():
    """glibc's ``malloc_trim``, or None (looked up once)."""
    if not _TRIM:
        found = None
        if sys.platform.startswith("linux"):
            import ctypes
            import ctypes.util

            try:
                found = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "malloc_trim", None)
            except OSError:
                found = None
        _TRIM.append(found)
    return _TRIM[0]
