"""The proxy ranking (highest score first, ties by index) for the selection modes, answered
without ranking every record.

The modes' certification (:mod:`.weighted`, :mod:`.assume`) asks the ranking a few questions:
the records at some ranks, the ranks of a few hundred sampled records, the prefix of a
certified cutoff, and the largest weight on either side of each of a few hundred candidate
cutoffs. A stable sort of 10 million scores costs about 1.5 s; :class:`Ranking` answers each
question from one sort of the *values* (about 0.1 s) and passes over the scores, and falls
back to the full stable sort only where ties or an adversarial weight order make the fast
answer slow. Every answer is exactly the full sort's (``tests/approx/test_select_ranking.py``
checks them against it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import _rank_order, _top_k_mask

__all__ = ["Ranking"]

_TIED_VALUES = 8  # distinct tied scores resolved one pass each; more take one hashed pass
_CHAIN_STEPS = 12  # running-maximum levels followed before the full sort answers
_HEAD = 1 << 16  # records at the top ranked once, the first time any of them is asked for
_SLAB = 4096  # records at either end where the largest weight is looked for first


class Ranking:
    """Ranks of records by ``proxy`` descending, ties by index ascending.

    Rank 0 is the highest score; the order is that of ``np.argsort(-proxy, kind="stable")``.

    Examples
    --------
    >>> r = Ranking(np.array([0.2, 0.9, 0.5, 0.9]))
    >>> r.rank(np.array([0, 1, 2, 3])).tolist(), r.slice(1, 3).tolist(), r.value_at(2)
    ([3, 0, 2, 1], [3, 2], 0.5)
    """

    def __init__(self, proxy: np.ndarray) -> None:
        self.proxy = np.asarray(proxy, dtype=float)
        self.n = self.proxy.size
        self._asc: np.ndarray | None = None
        self._order: np.ndarray | None = None
        self._rank: np.ndarray | None = None
        self._head: np.ndarray | None = None  # the top _HEAD records in rank order

    # -- the two sorts: values always (cheap), records only as a fallback -------------------
    @property
    def _values(self) -> np.ndarray:
        if self._asc is None:
            self._asc = np.sort(self.proxy)
        return self._asc

    def order(self) -> np.ndarray:
        """Every record in rank order (the full stable sort, computed once)."""
        if self._order is None:
            self._order = np.argsort(-self.proxy, kind="stable").astype(np.int64)
        return self._order

    def _full_rank(self) -> np.ndarray:
        if self._rank is None:
            rank = np.empty(self.n, dtype=np.int64)
            rank[self.order()] = np.arange(self.n)
            self._rank = rank
        return self._rank

    # -- questions ---------------------------------------------------------------------------
    def value_at(self, r: int) -> float:
        """Score of the record at rank ``r``."""
        return float(self._values[self.n - 1 - int(r)])

    def head(self, k: int) -> np.ndarray:
        """The ``k`` top records, in rank order."""
        return self.slice(0, k)

    def mask(self, k: int) -> np.ndarray:
        """Boolean mask of the ``k`` top records."""
        k = min(max(int(k), 0), self.n)
        return _top_k_mask(self.proxy, k, self.value_at(k - 1) if 0 < k < self.n else None)

    def slice(self, a: int, b: int) -> np.ndarray:
        """The records at ranks ``a .. b - 1``, in rank order."""
        a, b = max(int(a), 0), min(int(b), self.n)
        if b <= a:
            return np.empty(0, dtype=np.int64)
        if self._order is not None:
            return self._order[a:b]
        if b <= _HEAD < self.n:  # the top is asked for often (the window search): rank it once
            if self._head is None:
                self._head = self._slice(0, _HEAD)
            return self._head[a:b]
        return self._slice(a, b)

    def _slice(self, a: int, b: int) -> np.ndarray:
        proxy = self.proxy
        hi, lo = self.value_at(a), self.value_at(b - 1)
        before = self.n - int(np.searchsorted(self._values, hi, side="right"))
        cand = np.flatnonzero((proxy >= lo) & (proxy <= hi))  # ascending index
        if lo < hi:  # ties at either end are in index order already; sort only the rest
            v = cand_v = proxy[cand]
            mid = cand[(v > lo) & (v < hi)]
            cand = np.concatenate([cand[cand_v == hi], mid[_rank_order(proxy, mid)],
                                   cand[cand_v == lo]])
        return cand[a - before:b - before].astype(np.int64)

    def rank(self, idx: np.ndarray) -> np.ndarray:
        """Rank of each record of ``idx``."""
        idx = np.asarray(idx, dtype=np.int64)
        if self._rank is not None:
            return self._rank[idx]
        v = self.proxy[idx]
        right = np.searchsorted(self._values, v, side="right")
        rank = (self.n - right).astype(np.int64)  # records with a higher score
        tied = right - np.searchsorted(self._values, v, side="left") > 1
        if tied.any():  # equal scores rank by index
            values = np.unique(v[tied])
            if values.size > _TIED_VALUES:
                rank[tied] += self._tie_offsets(values, v[tied], idx[tied])
            else:
                for x in values:  # one pass each
                    sel = tied & (v == x)
                    rank[sel] += np.searchsorted(np.flatnonzero(self.proxy == x), idx[sel])
        return rank

    def _tie_offsets(self, values: np.ndarray, v: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """For records ``idx`` with scores ``v`` (each one of the sorted ``values``), how many
        records with the same score have a smaller index: one hashed pass over the scores
        finds every record holding one of ``values``."""
        code = pd.Index(values).get_indexer(self.proxy)  # -1: not one of the values
        members = np.flatnonzero(code >= 0)  # ascending index
        key = code[members].astype(np.int64) * self.n + members
        key.sort()  # by value, then index
        q = np.searchsorted(values, v).astype(np.int64)
        start = np.searchsorted(key, q * self.n)
        return np.searchsorted(key, q * self.n + idx) - start

    def side_max(self, w: np.ndarray | None, eligible: np.ndarray, cuts: np.ndarray,
                 within: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(above, below)``: for each prefix size ``c`` of ``cuts``, the largest ``w`` among the
        ``eligible`` records ranked before ``c`` and among those ranked at ``c`` or after (0 for
        an empty side). ``within``: every eligible record ranks before it (``n`` by default).
        ``w=None`` stands for weights of 1 (record counts).

        Found by following the running maximum from either end: each level is the largest
        weight left and the first (last) record holding it, then the records above (below)
        that record. The first level is looked for among the top (bottom) ``_SLAB`` records,
        where weights drawn independently of the score put it; a few levels cover such
        weights. After ``_CHAIN_STEPS`` levels, or once the levels have cost a pass over
        every record, the full sort answers instead.
        """
        cuts = np.asarray(cuts, dtype=np.int64)
        within = self.n if within is None else min(int(within), self.n)
        if w is None:  # a side's largest weight is 1 when the side holds an eligible record
            first = self._first_level(None, eligible, top=True, within=within)
            if first is None:
                return np.zeros(cuts.size), np.zeros(cuts.size)
            last = self._first_level(None, eligible, top=False, within=within)
            return (cuts > first[2]).astype(float), (cuts <= last[2]).astype(float)
        if self._order is None:
            above = self._chain(w, eligible, cuts, top=True, within=within)
            below = self._chain(w, eligible, cuts, top=False, within=within) if above is not None else None
            if below is not None:
                return above, below
        order = self.order()
        pop_rank = np.flatnonzero(eligible[order])
        return _side_max(w[order[pop_rank]], np.searchsorted(pop_rank, cuts))

    def _first_level(self, w: np.ndarray | None, eligible: np.ndarray, *, top: bool,
                     within: int) -> tuple[float, int, int, np.ndarray] | None:
        """The largest eligible weight, the first (last) record holding it, its rank, and the
        eligible records above (below) it (ascending index); ``None`` when none is eligible.
        ``w=None``: every weight is 1."""
        proxy = self.proxy
        if w is None:
            level = 1.0 if eligible.any() else -np.inf
        else:
            level = float(np.max(w, where=eligible, initial=-np.inf))
        if level == -np.inf:
            return None
        a, b = (0, min(_SLAB, within)) if top else (max(within - _SLAB, 0), within)
        recs = self.slice(a, b)
        if not top:
            recs = recs[::-1]
        hold = eligible[recs] if w is None else eligible[recs] & (w[recs] == level)
        if hold.any():  # in the slab: the records beyond it are the slab's before it
            pos = int(np.argmax(hold))
            beyond = recs[:pos]
            return level, int(recs[pos]), (a + pos if top else b - 1 - pos), np.sort(beyond[eligible[beyond]])
        holders = eligible if w is None else eligible & (w == level)
        score = np.where(holders, proxy, -np.inf if top else np.inf)
        if top:  # first record holding the level: highest score, then lowest index
            j = int(np.argmax(score))
        else:  # last record holding it: lowest score, then highest index
            j = int(np.flatnonzero(score == score.min())[-1])
        pj = proxy[j]
        idx = np.flatnonzero(eligible & ((proxy > pj) if top else (proxy < pj)))
        tied = np.flatnonzero(proxy == pj)
        tied = tied[(tied < j) if top else (tied > j)]
        idx = np.union1d(idx, tied[eligible[tied]])
        return level, j, int(self.rank(np.array([j]))[0]), idx

    def _chain(self, w: np.ndarray, eligible: np.ndarray, cuts: np.ndarray,
               *, top: bool, within: int) -> np.ndarray | None:
        proxy = self.proxy
        ranks, levels = [], []
        first = self._first_level(w, eligible, top=top, within=within)
        if first is not None:
            level, j, r, idx = first
            ranks.append(r)
            levels.append(level)
            work = 0
            for _ in range(_CHAIN_STEPS):
                if idx.size == 0:
                    break
                work += idx.size
                if work > self.n:  # levels that shrink the region slowly: the sort is cheaper
                    return None
                wi = w[idx]
                level = float(wi.max())
                hold = idx[wi == level]  # ascending index
                s = proxy[hold]
                j = int(hold[np.argmax(s)] if top else hold[::-1][np.argmin(s[::-1])])
                ranks.append(int(self.rank(np.array([j]))[0]))
                levels.append(level)
                pj, s = proxy[j], proxy[idx]
                keep = ((s > pj) | ((s == pj) & (idx < j))) if top else ((s < pj) | ((s == pj) & (idx > j)))
                idx = idx[keep]
            else:
                if idx.size:
                    return None  # more levels than the fast path follows
        r = np.asarray(ranks, dtype=np.int64)
        lv = np.r_[np.asarray(levels, dtype=float), 0.0]
        if top:  # levels found at decreasing ranks: the first below c holds for c
            k = (r[None, :] >= cuts[:, None]).sum(axis=1)
        else:  # levels at increasing ranks: the first at or after c holds for c
            k = (r[None, :] < cuts[:, None]).sum(axis=1)
        return lv[k]


def _side_max(w: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(max of w[:k], max of w[k:])`` for each ``k`` of ``at`` (0 for an empty side), in one
    pass over ``w``."""
    n = w.size
    if n == 0:
        return np.zeros(at.size), np.zeros(at.size)
    bounds = np.unique(np.r_[0, np.clip(at, 0, n), n])
    seg = np.maximum.reduceat(w, bounds[:-1])  # max over [bounds[j], bounds[j + 1])
    before = np.r_[0.0, np.maximum.accumulate(seg)]
    after = np.r_[np.maximum.accumulate(seg[::-1])[::-1], 0.0]
    j = np.searchsorted(bounds, np.clip(at, 0, n))
    return before[j], after[j]
