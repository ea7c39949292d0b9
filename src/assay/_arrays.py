"""Array helpers shared across packages."""

from __future__ import annotations

import numpy as np

__all__ = ["unique_first"]


def unique_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_index=True)``, without a sort when ``key`` is already in order
    (tables usually arrive sorted by stream and frame).

    Also the way to take the distinct values of a large integer array (``unique_first(a)[0]``):
    numpy 2.4's ``np.unique`` without ``return_index`` hashes integers, far slower than a sort
    on millions of distinct values.

    Examples
    --------
    >>> keys, first = unique_first(np.array([3, 1, 3, 2, 1]))
    >>> keys.tolist(), first.tolist()
    ([1, 2, 3], [1, 3, 0])
    """
    if key.size and bool((key[1:] >= key[:-1]).all()):
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return key[first], first
    # a stable sort keeps each key's first occurrence first, and merges the long sorted runs
    # of nearly sorted input (rows appended out of order) far faster than np.unique's sort
    order = np.argsort(key, kind="stable")
    sk = key[order]
    first = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if sk.size else np.zeros(0, dtype=np.int64)
    return sk[first], order[first]
