"""The proxy ranking (highest score first, ties by index) for the selection modes, answered
without ranking every record.

The modes' certification (:mod:`.weighted`, :mod:`.assume`) asks the ranking a few questions:
the records at some ranks, the ranks of a few hundred sampled records, the prefix of a
certified cutoff, and the largest weight on either side of each of a few hundred candidate
cutoffs. A stable sort of 10 million scores costs about 1.5 s; :class:`Ranking` answers each
question from one sort of the *values* (about 0.1 s) and passes over the scores, with a
cheaper path where the usual case allows one (few tied scores, weights whose running maximum
changes a few times down the ranking) and a few more passes where it does not (many tied
scores, weights that rise with the score). The full sort runs only where a caller asks for
every record in order. Every answer is exactly the full sort's
(``tests/approx/test_select_ranking.py`` checks them against it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import _rank_order, _top_k_mask

__all__ = ["Ranking"]

_TIED_VALUES = 8  # distinct tied scores resolved one pass each; more take one hashed pass
_CHAIN_STEPS = 12  # running-maximum levels followed before the bucketed pass answers
_HEAD = 1 << 16  # records at the top ranked once, the first time any of them is asked for
_SLAB = 4096  # records at either end where the largest weight is looked for first
_CELLS = 1 << 17  # cells of the table that maps a score to its interval between cutoffs
_CHUNK = 1 << 20  # records bucketed at a time (bounded buffers, not arrays of n)


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
        weights. After ``_CHAIN_STEPS`` levels, or once the levels have cost a quarter pass
        over the records (weights that rise with the score), :meth:`_bucket_side_max` answers
        instead, in a few passes; the full sort only when it has been computed already.
        """
        cuts = np.asarray(cuts, dtype=np.int64)
        within = self.n if within is None else min(int(within), self.n)
        if w is None:  # a side's largest weight is 1 when the side holds an eligible record
            first = self._first_level(None, eligible, top=True, within=within, limit=0)
            if first is None:
                return np.zeros(cuts.size), np.zeros(cuts.size)
            last = self._first_level(None, eligible, top=False, within=within, limit=0)
            return (cuts > first[2]).astype(float), (cuts <= last[2]).astype(float)
        if self._order is None:
            above = self._chain(w, eligible, cuts, top=True, within=within)
            below = self._chain(w, eligible, cuts, top=False, within=within) if above is not None else None
            if below is not None:
                return above, below
            return self._bucket_side_max(w, eligible, cuts)
        order = self._order
        pop_rank = np.flatnonzero(eligible[order])
        return _side_max(w[order[pop_rank]], np.searchsorted(pop_rank, cuts))

    def _first_level(self, w: np.ndarray | None, eligible: np.ndarray, *, top: bool,
                     within: int, limit: int | None = None) -> tuple[float, int, int, np.ndarray | None] | None:
        """The largest eligible weight, the first (last) record holding it, its rank, and the
        eligible records above (below) it (ascending index; ``None`` instead when more than
        ``limit`` records rank there); ``None`` when none is eligible. ``w=None``: every
        weight is 1."""
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
        r = int(self.rank(np.array([j]))[0])
        if limit is not None and (r if top else within - 1 - r) > limit:
            return level, j, r, None
        pj = proxy[j]
        beyond = eligible & ((proxy > pj) if top else (proxy < pj))
        tied = np.flatnonzero(proxy == pj)
        tied = tied[(tied < j) if top else (tied > j)]
        beyond[tied[eligible[tied]]] = True
        return level, j, r, np.flatnonzero(beyond)

    def _bucket_side_max(self, w: np.ndarray, eligible: np.ndarray,
                         cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`side_max` for any weights, in a few passes and no sort of the records.

        The score of the record just above each cutoff (``value_at(c - 1)``) splits the scores
        into intervals; a record whose score lies strictly inside one is on the same side of
        every cutoff as the whole interval, so each interval's largest weight answers for its
        records (``np.maximum.at``). The interval of a score is read from a table over the
        scores' bit patterns (in their numeric order), refined by ``searchsorted`` only in
        the table cells that hold a boundary. Records whose score *is* a boundary are ranked
        exactly (ties by index, :meth:`rank`). Weights are non-negative, as everywhere here.
        """
        n = self.n
        cuts = np.clip(cuts, 0, n)
        asc = self._values
        bound = np.unique(asc[n - cuts[cuts > 0]])  # value_at(c - 1), ascending
        nb = bound.size
        peak = np.zeros(nb + 2)  # per interval k (k boundaries below the score); nb + 1: unused
        eq_idx, eq_w = [], []
        if nb:
            first, second, sub = _interval_table(bound)
            keep = np.int64((1 << sub) - 1)
            for a in range(0, n, _CHUNK):
                idx = a + np.flatnonzero(eligible[a:a + _CHUNK])
                if idx.size == 0:
                    continue
                s, wc = self.proxy[idx], w[idx]
                bits = _ordered_bits(s)
                k = first[(bits >> 52) + 2048]
                held = np.flatnonzero(k < 0)  # in a binade that holds a boundary: its cell
                if held.size:
                    k[held] = second[(-1 - k[held]) * (keep + 1) + ((bits[held] >> (52 - sub)) & keep)]
                amb = np.flatnonzero(k < 0)  # cells holding a boundary: look the score up
                if amb.size:
                    ka = np.searchsorted(bound, s[amb])
                    on = (ka < nb) & (bound[np.minimum(ka, nb - 1)] == s[amb])
                    ka[on] = nb + 1  # on a boundary: ranked below, not pooled
                    k[amb] = ka
                    eq_idx.append(idx[amb[on]])
                    eq_w.append(wc[amb[on]])
                np.maximum.at(peak, k, wc)
        # interval k is above cutoff c (whose boundary is bound[j]) when k > j: highest
        # interval first, the nb - j intervals above c come before the rest
        j = np.searchsorted(bound, asc[n - np.maximum(cuts, 1)])
        above, below = _side_max(peak[nb::-1], np.where(cuts > 0, nb - j, 0))
        if eq_idx:
            idx, wq = np.concatenate(eq_idx), np.concatenate(eq_w)
            r = self.rank(idx)
            by = np.argsort(r, kind="stable")
            a_eq, b_eq = _side_max(wq[by], np.searchsorted(r[by], cuts))
            above, below = np.maximum(above, a_eq), np.maximum(below, b_eq)
        return above, below

    def _chain(self, w: np.ndarray, eligible: np.ndarray, cuts: np.ndarray,
               *, top: bool, within: int) -> np.ndarray | None:
        proxy = self.proxy
        ranks, levels = [], []
        first = self._first_level(w, eligible, top=top, within=within, limit=self.n // 4)
        if first is not None:
            level, j, r, idx = first
            if idx is None:  # a quarter pass of records beyond the first level already
                return None
            ranks.append(r)
            levels.append(level)
            work = 0
            for _ in range(_CHAIN_STEPS):
                if idx.size == 0:
                    break
                work += idx.size
                if work > self.n // 4:  # levels that shrink the region slowly: bucket instead
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


_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)


def _ordered_bits(x: np.ndarray) -> np.ndarray:
    """Integers in the numeric order of the finite floats ``x``: the bit pattern, with the
    magnitude bits of negative numbers flipped (-0.0 taken as 0.0, which it equals)."""
    b = (np.asarray(x, dtype=np.float64) + 0.0).view(np.int64)
    return np.where(b < 0, b ^ _MAGNITUDE, b)


def _from_ordered_bits(m: np.ndarray) -> np.ndarray:
    """The floats whose :func:`_ordered_bits` are ``m``."""
    return np.where(m < 0, m ^ _MAGNITUDE, m).view(np.float64)


def _interval_table(bound: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Lookup tables from a finite score to its interval: how many of the ascending, distinct
    ``bound`` lie below it (-1 where a cell holds a boundary and the score must be looked up).

    Scores are grouped by binade (the top 12 of their ordered bits). A binade without a
    boundary is one interval (the first table). Each binade that holds one is split into
    ``2**sub`` cells of equal width (the second table, ``sub`` chosen so that it has at most
    ``_CELLS`` cells): cells of consecutive bit patterns, so fine where the scores are small
    and coarse where they are large, whatever their range.

    Returns
    -------
    first : (4096,) interval of each binade, or ``-1 - j`` for the ``j``-th binade holding a
        boundary; second : its cells' intervals; sub : bits of the mantissa a cell keeps.
    """
    binade = (_ordered_bits(bound) >> 52) + 2048  # ascending, as bound is
    held = np.unique(binade)
    sub = max(min(52, (_CELLS // held.size).bit_length() - 1), 0)
    first = np.searchsorted(binade, np.arange(4096), side="left").astype(np.int64)
    first[held] = -1 - np.arange(held.size)
    width = 1 << (52 - sub)
    start = (((held - 2048) << 52)[:, None]
             + (np.arange(1 << sub, dtype=np.int64) * width)[None, :]).ravel()
    lo = np.searchsorted(bound, _from_ordered_bits(start), side="left")
    hi = np.searchsorted(bound, _from_ordered_bits(start + (width - 1)), side="right")
    return first, np.where(lo == hi, lo, -1).astype(np.int64), sub


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
