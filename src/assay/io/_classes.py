"""Class names outside a format's documented list: kept as written, summarised in one warning.

Real data uses class names its format's documentation does not list (KITTI tracking's
``Person``, a new category in a detector's output). A reader keeps every name verbatim and
counts the unknown ones here; after the whole input is read it issues one
:class:`~assay.exceptions.AssayWarning` naming each unknown class, its row count and where it
first occurs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..exceptions import AssayWarning


class UnknownClasses:
    """Counts of class names outside ``known``, with where each was first seen.

    Parameters
    ----------
    known : iterable of str
        The format's documented class names.
    what : str
        The list's name in the warning ("KITTI tracking types").
    """

    def __init__(self, known: Iterable[str], what: str) -> None:
        self.known = list(known)
        self.what = what
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}

    def add(self, names: np.ndarray, path: str | Path, where: Callable[[int], str] | None = None) -> np.ndarray:
        """Count the names of one file that are not known; returns the mask of those rows.
        ``where(row)`` says where a row is in the file ("line 4"), asked only for the first
        row of each unknown name."""
        names = np.asarray(names, dtype=object)
        mask = ~np.isin(names, self.known)
        if not mask.any():
            return mask
        values, first, counts = np.unique(names[mask], return_index=True, return_counts=True)
        rows = np.flatnonzero(mask)
        for value, i, n in zip(values.tolist(), first.tolist(), counts.tolist(), strict=True):
            self.counts[value] = self.counts.get(value, 0) + int(n)
            if value not in self.first:
                self.first[value] = f"{path}" + (f", {where(int(rows[i]))}" if where else "")
        return mask

    def warn(self, caller: str, stacklevel: int = 4) -> None:
        """Issue the one summary warning, when any unknown name was seen (``stacklevel`` 4:
        the caller of a reader wrapped by ``validate_params``)."""
        if not self.counts:
            return
        total = sum(self.counts.values())
        shown = [f"{name!r} ({n:,} row{'s' if n > 1 else ''}, first at {self.first[name]})"
                 for name, n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        listed = ", ".join(shown[:10]) + (f", and {len(shown) - 10} more" if len(shown) > 10 else "")
        known = ", ".join(self.known[:12]) + (f", ... ({len(self.known)} in all)" if len(self.known) > 12 else "")
        warnings.warn(
            f"{caller}: {total:,} row{'s' if total > 1 else ''} with class names outside the "
            f"{self.what} ({known}): {listed}. They are kept as written in "
            "'cls'; map them in another column if you need the documented names.",
            AssayWarning, stacklevel=stacklevel,
        )
