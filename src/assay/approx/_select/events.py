"""``events=``: contiguous records with the same event key form one event, and the targets
count events (or their summed weights) instead of records (issue 17, item 6).

An event is positive when any of its records is; its proxy is the largest of its records';
labeling an event asks the oracle about every record in it. The selection methods then run on
the events unchanged, so an event design has the guarantee of the method it runs.
"""

from __future__ import annotations

import numpy as np

from ..._arrays import unique_first
from .common import LabelFn

__all__ = ["EventUnits"]


class EventUnits:
    """The events of a sequence of event keys (runs of equal consecutive keys).

    Parameters
    ----------
    keys : array-like, shape (N,)
        One key per record, in record order; a key that reappears after another one starts
        a new event.

    Examples
    --------
    >>> ev = EventUnits(["a", "a", "b", "b", "b", "a"])
    >>> ev.n_events, ev.max_of(np.array([0.1, 0.5, 0.2, 0.9, 0.3, 0.4])).tolist()
    (3, [0.5, 0.9, 0.4])
    >>> ev.records(np.array([0, 2])).tolist()
    [0, 1, 5]
    """

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys)
        n = keys.size
        change = np.ones(n, dtype=bool)
        if n > 1:
            change[1:] = keys[1:] != keys[:-1]
        self.starts = np.flatnonzero(change)
        self.sizes = np.diff(np.r_[self.starts, n])
        self.n_events = int(self.starts.size)
        self.asked = np.zeros(n, dtype=bool)

    def max_of(self, values: np.ndarray) -> np.ndarray:
        """Largest value of each event."""
        return np.maximum.reduceat(values, self.starts)

    def sum_of(self, values: np.ndarray) -> np.ndarray:
        """Total of each event."""
        return np.add.reduceat(values, self.starts)

    def records(self, events: np.ndarray) -> np.ndarray:
        """Record positions (sorted) of these events, in time proportional to their number."""
        return self._spans(unique_first(np.asarray(events, dtype=np.int64))[0])[0]

    def _spans(self, ev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The records of the sorted, distinct events ``ev`` (event by event, each in order)
        and where each event's records begin among them."""
        sizes = self.sizes[ev]
        first = np.cumsum(sizes) - sizes
        recs = np.arange(int(sizes.sum()), dtype=np.int64) + np.repeat(self.starts[ev] - first, sizes)
        return recs, first

    def label(self, label: LabelFn) -> LabelFn:
        """An event oracle: asks ``label`` about every record of the events (each record once)
        and answers 1 for an event with a positive record."""

        def by_event(events: np.ndarray) -> np.ndarray:
            events = np.asarray(events, dtype=np.int64)
            ev = unique_first(events)[0]
            recs, first = self._spans(ev)
            self.asked[recs] = True
            y = np.asarray(label(recs), dtype=np.int8)
            if ev.size == 0:
                return np.zeros(0, dtype=np.int8)
            return np.maximum.reduceat(y, first)[np.searchsorted(ev, events)]

        return by_event
