"""Machinery shared by the aggregation methods: what a method returns (``_Run``), oracle
access (distinct labels, a cache, the range check), proxy strata with sampling without
replacement, batch sizes and the stopping rule, and the small budget helpers.

Every method module of :mod:`assay.approx._aggregate` builds on these; nothing here is
specific to one method.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ...exceptions import InvalidParameterError


class OracleRangeError(InvalidParameterError):
    """The oracle returned a value outside the stated range ``[lo, hi]``.

    Every finite-sample guarantee rests on that range, so the query stops instead of
    silently returning an interval that may be wrong.
    """


@dataclass
class _Run:
    """What a method returns to :func:`estimate_aggregate` (mean scale)."""

    point: float
    lower: float
    upper: float
    stopped: str
    kind: str  # "finite-sample" | "asymptotic"
    anytime: bool
    notes: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)


_MATERIALIZE_MAX = 1 << 21  # up to this many records, per-record arrays are dense
_TAIL_SPREAD = 0.25  # a proxy tail narrower than this share of the other is not refined


class _Table:
    """Per-record values, dense for up to ``2**21`` records, sorted keys beyond (writing a
    few thousand scattered entries into a fresh 80 MB array costs more than the query)."""

    def __init__(self, n: int, columns: int = 1) -> None:
        self.dense = n <= _MATERIALIZE_MAX
        self.columns = columns
        if self.dense:
            self._has = np.zeros(n, dtype=bool)
            self._vals = np.zeros((n, columns))
        else:
            self._keys = np.zeros(0, dtype=np.int64)
            self._vals = np.zeros((0, columns))

    def has(self, idx: np.ndarray) -> np.ndarray:
        if self.dense:
            return self._has[idx]
        idx = np.asarray(idx, dtype=np.int64)
        if self._keys.size == 0:
            return np.zeros(idx.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self._keys, idx), self._keys.size - 1)
        return self._keys[pos] == idx

    def put(self, idx: np.ndarray, vals: np.ndarray) -> None:
        """Store rows for new, distinct ``idx``."""
        vals = np.asarray(vals, dtype=float).reshape(idx.size, self.columns)
        if self.dense:
            self._has[idx] = True
            self._vals[idx] = vals
            return
        keys = np.concatenate([self._keys, idx])
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._vals = np.concatenate([self._vals, vals])[order]

    def get(self, idx: np.ndarray) -> np.ndarray:
        """Rows for stored ``idx``, shape ``(len(idx), columns)``."""
        if self.dense:
            return self._vals[idx]
        return self._vals[np.searchsorted(self._keys, idx)]

    def all_rows(self) -> np.ndarray:
        return self._vals[self._has] if self.dense else self._vals


class _Oracle:
    """Wraps the ``label`` callback: asks only for new records, caches, checks the range.

    ``kind == "mean"``: ``values(idx)`` returns the per-record value ``y`` in ``[lo, hi]``.
    ``kind == "ratio"``: ``pairs(idx)`` returns ``(passes, values)``; the target is
    ``E[passes * values] / E[passes]``.
    ``transform`` maps the callback's raw output to ``y`` for sum / count over ``where``.
    """

    def __init__(
        self,
        n: int,
        label: Callable[[np.ndarray], Any],
        lo: float,
        hi: float,
        *,
        kind: str = "mean",
        transform: str | None = None,
        value_lo: float | None = None,
        value_hi: float | None = None,
    ) -> None:
        self.n = int(n)
        self._label = label
        self.lo = float(lo)
        self.hi = float(hi)
        self.kind = kind
        self.transform = transform  # None | "passes" | "product"
        self.value_lo = self.lo if value_lo is None else float(value_lo)
        self.value_hi = self.hi if value_hi is None else float(value_hi)
        self._table = _Table(self.n, 2 if kind == "ratio" else 1)
        self.calls = 0
        self.batches = 0
        self.oracle_seconds = 0.0

    def _ask(self, new: np.ndarray) -> None:
        t0 = time.perf_counter()
        raw = self._label(new.copy())
        self.oracle_seconds += time.perf_counter() - t0
        self.batches += 1
        self.calls += new.size
        if self.kind == "ratio" or self.transform is not None:
            passes, values = _split_pairs(raw, new.size)
            _check_range(values[passes > 0], self.value_lo, self.value_hi, new[passes > 0])
            values = np.where(passes > 0, values, 0.0)
            if self.kind == "ratio":
                self._table.put(new, np.stack([values, passes], axis=1))
            elif self.transform == "passes":
                self._table.put(new, passes)
            else:  # "product"
                self._table.put(new, values)
        else:
            values = np.asarray(raw, dtype=float).reshape(-1)
            if values.size != new.size:
                raise InvalidParameterError(
                    f"The label callback returned {values.size} values for {new.size} records."
                )
            _check_range(values, self.value_lo, self.value_hi, new)
            self._table.put(new, values)

    def known(self, idx: np.ndarray) -> np.ndarray:
        """Whether each record of ``idx`` is labeled already."""
        return self._table.has(np.asarray(idx, dtype=np.int64))

    def fetch(self, idx: np.ndarray) -> None:
        """Label every index of ``idx`` not labeled yet (one callback call)."""
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            return
        unknown = idx[~self._table.has(idx)]
        if unknown.size:
            new = unknown if unknown.size == 1 else _unique_in_order(unknown)
            self._ask(new)

    def values(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        self.fetch(idx)
        return self._table.get(idx)[:, 0]

    def pairs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.asarray(idx, dtype=np.int64)
        self.fetch(idx)
        rows = self._table.get(idx)
        return rows[:, 1], rows[:, 0]

    @property
    def exhausted(self) -> bool:
        return self.calls >= self.n

    def exact(self) -> float:
        """The exact answer once every record is labeled."""
        rows = self._table.all_rows()
        if self.kind == "ratio":
            den = float(rows[:, 1].sum())
            return float(rows[:, 0].sum() / den) if den > 0 else float("nan")
        return float(rows[:, 0].mean())


def _unique_in_order(a: np.ndarray) -> np.ndarray:
    _, first = np.unique(a, return_index=True)
    return a[np.sort(first)]


def _split_pairs(raw: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(raw, tuple) and len(raw) == 2:
        passes = np.asarray(raw[0], dtype=float).reshape(-1)
        values = np.asarray(raw[1], dtype=float).reshape(-1)
    else:
        arr = np.asarray(raw, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InvalidParameterError(
                "With a 'where' predicate the label callback must return (passes, values) "
                f"or an array of shape (k, 2). Got shape {arr.shape}."
            )
        passes, values = arr[:, 0], arr[:, 1]
    if passes.size != k or values.size != k:
        raise InvalidParameterError(
            f"The label callback returned {passes.size} results for {k} records."
        )
    if not np.all((passes == 0) | (passes == 1)):
        raise InvalidParameterError(
            "The predicate answers returned by the label callback must be 0/1 or booleans."
        )
    return passes, values


def _check_range(values: np.ndarray, lo: float, hi: float, idx: np.ndarray) -> None:
    bad = ~((values >= lo) & (values <= hi))  # also catches NaN
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise OracleRangeError(
            f"The oracle returned {values[j]!r} for record {int(idx[j])}, outside the stated "
            f"range [{lo!r}, {hi!r}]. Every guarantee assumes that range: state a range that "
            "holds for every record (the 'lo'/'hi' bounds of the query)."
        )


class _Strata:
    """Proxy strata and uniform sampling without replacement inside each.

    Stratum ``j`` holds the records whose proxy lies in ``[t_{j-1}, t_j)`` for thresholds
    ``t`` chosen as proxy quantiles (records with equal proxy always share a stratum). For
    up to ``2**21`` records every stratum is materialised in a uniformly random order;
    beyond that, draws inside a stratum are made by rejection from uniform record indices,
    which never touches all N records.
    """

    def __init__(
        self,
        proxy: np.ndarray | None,
        n: int,
        k: int,
        rng: np.random.Generator,
        tail_min: int = 0,
        both_tails: bool = False,
    ) -> None:
        self.n = int(n)
        self.rng = rng
        if proxy is None or k <= 1:
            thresholds = np.zeros(0)
        else:
            sample = proxy if proxy.size <= 200_000 else proxy[rng.integers(0, n, 200_000)]
            probs = np.arange(1, k) / k
            if tail_min:
                # refine the proxy tails dyadically (1/2k, 1/4k, ... of the records), down
                # to strata of about max(tail_min, N/4096) records; a tail whose proxy
                # values are squeezed into under a quarter of the other tail's spread is
                # left at the base strata (the proxy hardly tells its records apart)
                smallest = max(tail_min, n / 4096.0)
                j = int(math.ceil(math.log2(k))) + 1
                q_lo, q_mid, q_hi = np.quantile(
                    sample, [2.0**-j, 0.5, 1.0 - 2.0**-j], method="inverted_cdf"
                )
                top = both_tails or bool(q_hi - q_mid >= _TAIL_SPREAD * (q_mid - q_lo))
                bottom = both_tails or bool(q_mid - q_lo >= _TAIL_SPREAD * (q_hi - q_mid))
                extra = []
                while n * 2.0**-j >= smallest:
                    extra += [2.0**-j] * bottom + [1.0 - 2.0**-j] * top
                    j += 1
                probs = np.unique(np.concatenate([probs, extra]))
            qs = np.quantile(sample, probs, method="inverted_cdf")
            thresholds = np.unique(qs)
            thresholds = thresholds[thresholds > sample.min()]
        self.proxy = proxy
        self.thresholds = thresholds
        self.small = self.n <= _MATERIALIZE_MAX
        if thresholds.size == 0:
            ids = None
            sizes = np.array([self.n], dtype=np.int64)
        elif self.small:
            ids = np.searchsorted(thresholds, proxy, side="right")
            sizes = np.bincount(ids, minlength=thresholds.size + 1)
        else:
            ids = None
            above = np.array([np.count_nonzero(proxy >= t) for t in thresholds], dtype=np.int64)
            cum_below = self.n - above
            sizes = np.diff(np.concatenate([[0], cum_below, [self.n]]))
        keep = sizes > 0
        self._remap = np.cumsum(keep) - 1  # raw stratum id -> compact id
        self.sizes = sizes[keep].astype(np.int64)
        self.k = int(self.sizes.size)
        self.taken = np.zeros(self.k, dtype=np.int64)
        if self.small:
            perm = rng.permutation(self.n)
            if ids is None:
                self._order = perm
            else:
                sid = self._remap[ids[perm]]
                self._order = perm[np.argsort(sid, kind="stable")]
            self._starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        else:
            self._drawn = _Table(self.n, 0)

    def stratum_of(self, idx: np.ndarray) -> np.ndarray:
        if self.thresholds.size == 0:
            return np.zeros(np.asarray(idx).size, dtype=np.int64)
        return self._remap[np.searchsorted(self.thresholds, self.proxy[idx], side="right")]

    @property
    def remaining(self) -> np.ndarray:
        return self.sizes - self.taken

    def draw(self, j: int, m: int) -> np.ndarray:
        """The next ``m`` records of stratum ``j`` in uniformly random order (no repeats)."""
        counts = np.zeros(self.k, dtype=np.int64)
        counts[j] = int(m)
        return self.draw_many(counts)[j]

    def draw_many(self, counts: np.ndarray) -> list[np.ndarray]:
        """For each stratum ``j``, the next ``counts[j]`` records in uniformly random order.

        Large tables: one stream of uniform record indices is thinned by stratum; the first
        new occurrences in a stratum form a uniformly random order of its undrawn records.
        """
        counts = np.asarray(counts, dtype=np.int64)
        if np.any(counts > self.remaining):
            raise RuntimeError("stratum exhausted")  # callers never ask for more
        out: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in range(self.k)]
        if self.small:
            for j in np.flatnonzero(counts):
                a = self._starts[j] + self.taken[j]
                out[j] = self._order[a : a + counts[j]].astype(np.int64)
            self.taken += counts
            return out
        need = counts.copy()
        for j in np.flatnonzero(need):
            left = self.sizes[j] - self.taken[j]
            if left <= 4 * need[j] or left < self.sizes[j] // 2:
                out[j] = self._enumerate(j, int(need[j]))
                need[j] = 0
        got: list[list[np.ndarray]] = [[] for _ in range(self.k)]
        share = self.sizes / self.n
        while need.any():
            size = int(np.sum(need / share) * 1.5) + 64
            cand = self.rng.integers(0, self.n, size=min(size, 1 << 24))
            cand = _unique_in_order(cand)
            cand = cand[~self._drawn.has(cand)]
            sid = self.stratum_of(cand)
            for j in np.flatnonzero(need):
                take = cand[sid == j][: need[j]]
                if take.size:
                    got[j].append(take)
                    need[j] -= take.size
                    self._drawn.put(np.sort(take), np.zeros((take.size, 0)))
        for j in range(self.k):
            if got[j]:
                out[j] = np.concatenate(got[j])
        self.taken += counts
        return out

    def _enumerate(self, j: int, m: int) -> np.ndarray:
        """``m`` undrawn records of stratum ``j`` by one pass over the table."""
        members = np.flatnonzero(self.stratum_of(np.arange(self.n)) == j)
        members = members[~self._drawn.has(members)]
        pick = self.rng.permutation(members)[:m]
        self._drawn.put(np.sort(pick), np.zeros((pick.size, 0)))
        return pick

    def members_left(self, j: int) -> np.ndarray:
        """Every undrawn record of stratum ``j`` (for a census)."""
        return self.draw(j, int(self.sizes[j] - self.taken[j]))


def _next_batch(done: int, batch_size: int | None, growth: float, minimum: int) -> int:
    if batch_size is not None:
        return int(batch_size)
    return max(minimum, int(math.ceil(growth * done)))


def _target_met(lower: float, upper: float, error: float | None, relative: bool) -> bool:
    if error is None:
        return False
    if relative:
        if lower > 0:
            return (1.0 + error) * lower >= (1.0 - error) * upper
        if upper < 0:
            return (1.0 + error) * (-upper) >= (1.0 - error) * (-lower)
        return False
    return upper - lower <= 2.0 * error


def _z(delta: float) -> float:
    return float(stats.norm.ppf(1.0 - delta / 2.0))


def _cut_to_budget(idx: np.ndarray, oracle: _Oracle, allowed: int) -> np.ndarray:
    """Longest prefix of ``idx`` whose new distinct records fit in ``allowed`` labels."""
    new = ~oracle.known(idx)
    if not new.any():
        return idx
    # first occurrences of unknown records cost one label each
    pos = np.flatnonzero(new)
    _, first = np.unique(idx[pos], return_index=True)
    costly = np.zeros(idx.size, dtype=np.int64)
    costly[pos[first]] = 1
    spent = np.cumsum(costly)
    keep = int(np.searchsorted(spent, allowed, side="right"))
    return idx[:keep]


def _exact_run(oracle: _Oracle, kind: str, anytime: bool, notes: dict, diag: dict) -> _Run:
    exact = oracle.exact()
    return _Run(exact, exact, exact, "exhausted", kind, anytime, notes, diag)
