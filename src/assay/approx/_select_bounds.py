"""Confidence bounds used by approximate selection.

Two families, kept apart on purpose:

* exact, finite-sample bounds on the number of positives in a finite population from a simple
  random sample drawn without replacement (hypergeometric tail inversion), used by assay's own
  method;
* the normal-approximation bounds of SUPG (Kang et al., PVLDB 2020), used by the baselines that
  reproduce it. They are asymptotic: their coverage is not guaranteed for any finite sample.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = [
    "clt_lower",
    "clt_upper",
    "hypergeom_lower",
    "hypergeom_upper",
    "misses_critical",
    "region_pvalues",
    "supg_z",
]


_MAX_DIRECT_TERMS = 200_000
_MAX_DIRECT_K = 64


def _log_comb(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    return -np.log1p(n) - special.betaln(n - k + 1.0, k + 1.0)


def _hyper_cdf(k: np.ndarray, m: np.ndarray, big_k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``P(X <= k)`` for ``X ~ Hypergeometric(population m, successes big_k, draws n)``.

    Sums the probability mass in log space over ``j = 0..k`` (vectorized); falls back to
    scipy when that would take too many terms.
    """
    k = np.minimum(k, np.minimum(n, big_k))
    kmax = int(k.max()) if k.size else 0
    if kmax > _MAX_DIRECT_K or k.size * (kmax + 1) > _MAX_DIRECT_TERMS:
        return stats.hypergeom.cdf(k, m, big_k, n)
    j = np.arange(kmax + 1, dtype=float)[None, :]
    kk, mm, bk, nn = (a.astype(float)[:, None] for a in (k, m, big_k, n))
    valid = (j <= kk) & (nn - j <= mm - bk) & (j >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        logp = (
            _log_comb(bk, np.minimum(j, bk))
            + _log_comb(mm - bk, np.clip(nn - j, 0.0, mm - bk))
            - _log_comb(mm, nn)
        )
    terms = np.where(valid, np.exp(np.where(valid, logp, -np.inf)), 0.0)
    return np.minimum(terms.sum(axis=1), 1.0)


def _broadcast_int(*arrays: np.ndarray | int) -> tuple[tuple[int, ...], list[np.ndarray]]:
    arrays_ = np.broadcast_arrays(*[np.asarray(a, dtype=np.int64) for a in arrays])
    return arrays_[0].shape, [a.ravel().copy() for a in arrays_]


def _exact_cdf(k: np.ndarray, m: np.ndarray, big_k: np.ndarray, n: np.ndarray) -> np.ndarray:
    return stats.hypergeom.cdf(k, m, big_k, n)


def _bisect_upper(k, n, m, alpha, cdf):  # type: ignore[no-untyped-def]
    lo = k.copy()  # always feasible: P(X <= k | K = k) = 1
    hi = m - (n - k)
    while True:
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi + 1) // 2
        val = np.ones(mid.shape)
        idx = np.flatnonzero(open_)
        val[idx] = cdf(k[idx], m[idx], mid[idx], n[idx])
        ok = val > alpha
        lo = np.where(open_ & ok, mid, lo)
        hi = np.where(open_ & ~ok, mid - 1, hi)


def hypergeom_upper(
    k: np.ndarray | int, n: np.ndarray | int, m: np.ndarray | int, alpha: float
) -> np.ndarray:
    """Exact upper confidence bound on the positives of a finite population.

    A simple random sample of ``n`` records, drawn without replacement from a population of
    ``m`` records of which an unknown number ``K`` are positive, holds ``k`` positives. The
    bound is the largest ``K`` for which observing at most ``k`` positives still has probability
    above ``alpha``; ``P(K > bound) <= alpha`` for every ``K``.

    Parameters
    ----------
    k, n, m : int or array of int
        Positives in the sample, sample size, population size (broadcast together);
        ``0 <= k <= n <= m``.
    alpha : float
        One-sided failure probability, in (0, 1).

    Returns
    -------
    numpy.ndarray of int64
        The bound, between ``k`` and ``m - (n - k)``. With ``n = 0`` it is ``m``.

    Notes
    -----
    A bisection with a fast log-space probability finds the bound; scipy's hypergeometric
    distribution then checks it, and moves it until it is exact.

    Examples
    --------
    >>> int(hypergeom_upper(0, 100, 1000, 0.05))
    28
    >>> int(hypergeom_upper(0, 0, 50, 0.05))
    50
    """
    shape, (k, n, m) = _broadcast_int(k, n, m)
    ub = _bisect_upper(k, n, m, alpha, _hyper_cdf)
    top = m - (n - k)
    # exact fix-up: need cdf(ub) > alpha (or ub == k) and cdf(ub + 1) <= alpha (or ub == top)
    while True:
        chk = np.flatnonzero(ub > k)
        bad = chk[_exact_cdf(k[chk], m[chk], ub[chk], n[chk]) <= alpha]
        if bad.size == 0:
            break
        ub[bad] -= 1
    while True:
        chk = np.flatnonzero(ub < top)
        grow = chk[_exact_cdf(k[chk], m[chk], ub[chk] + 1, n[chk]) > alpha]
        if grow.size == 0:
            break
        ub[grow] += 1
    return ub.reshape(shape)


def hypergeom_lower(
    k: np.ndarray | int, n: np.ndarray | int, m: np.ndarray | int, alpha: float
) -> np.ndarray:
    """Exact lower confidence bound on the positives of a finite population.

    The smallest ``K`` for which observing at least ``k`` positives has probability above
    ``alpha``; ``P(K < bound) <= alpha`` for every ``K``. See :func:`hypergeom_upper`.

    Examples
    --------
    >>> int(hypergeom_lower(0, 100, 1000, 0.05))
    0
    >>> int(hypergeom_lower(100, 100, 1000, 0.05))
    972
    """
    shape, (k, n, m) = _broadcast_int(k, n, m)
    lo = k.copy()
    hi = m - (n - k)  # always feasible: P(X >= k | K = hi) = 1
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) // 2
        sf = np.ones(mid.shape)
        idx = np.flatnonzero(open_)
        sf[idx] = 1.0 - _hyper_cdf(k[idx] - 1, m[idx], mid[idx], n[idx])
        ok = sf > alpha
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid + 1, lo)
    lb = lo
    bottom = k
    # exact fix-up: need sf(k - 1 | lb) > alpha (or lb == top) and sf(k - 1 | lb - 1) <= alpha
    while True:
        chk = np.flatnonzero(lb < m - (n - k))
        bad = chk[stats.hypergeom.sf(k[chk] - 1, m[chk], lb[chk], n[chk]) <= alpha]
        if bad.size == 0:
            break
        lb[bad] += 1
    while True:
        chk = np.flatnonzero(lb > bottom)
        shrink = chk[stats.hypergeom.sf(k[chk] - 1, m[chk], lb[chk] - 1, n[chk]) > alpha]
        if shrink.size == 0:
            break
        lb[shrink] -= 1
    return lb.reshape(shape)


def supg_z(delta: float) -> float:
    """Multiplier of SUPG's normal bounds: ``sqrt(2 ln(1 / delta))`` (one-sided level delta).

    Examples
    --------
    >>> round(supg_z(0.05), 3)
    2.448
    """
    return math.sqrt(2.0 * math.log(1.0 / delta))


def _mean_sd(z: np.ndarray) -> tuple[float, float, int]:
    n = int(z.size)
    if n == 0:
        return 0.0, 0.0, 0
    sd = float(np.std(z, ddof=1)) if n > 1 else 0.0
    return float(np.mean(z)), sd, n


def clt_upper(z: np.ndarray, delta: float) -> float:
    """SUPG's upper bound on ``E[z]``: ``mean + sqrt(2 ln(1/delta)) * sd / sqrt(n)`` (asymptotic).

    Examples
    --------
    >>> round(clt_upper(np.array([0.0, 1.0, 0.0, 1.0]), 0.05), 3)
    1.207
    """
    mean, sd, n = _mean_sd(np.asarray(z, dtype=float))
    if n == 0:
        return math.inf
    return mean + supg_z(delta) * sd / math.sqrt(n)


def clt_lower(z: np.ndarray, delta: float) -> float:
    """SUPG's lower bound on ``E[z]``: ``mean - sqrt(2 ln(1/delta)) * sd / sqrt(n)`` (asymptotic).

    Examples
    --------
    >>> round(clt_lower(np.array([0.0, 1.0, 0.0, 1.0]), 0.05), 3)
    -0.207
    """
    mean, sd, n = _mean_sd(np.asarray(z, dtype=float))
    if n == 0:
        return -math.inf
    return mean - supg_z(delta) * sd / math.sqrt(n)


def misses_critical(
    k: int, known: int, recall: float, alpha: float, p_lo: int, p_hi: int
) -> int:
    """Most sampled positives that may lie below a cutoff that still certifies recall.

    A simple random sample (without replacement) of a region holds ``k`` positives. Given
    ``k``, they are a simple random sample of the region's ``P`` positives, so the number
    ``b`` of them below a fixed cutoff is hypergeometric (population ``P``, successes ``B``:
    the region's positives below the cutoff, draws ``k``). The set kept (``known`` positives
    found elsewhere plus the region above the cutoff) misses the recall target exactly when
    ``B > (1 - recall) (known + P)``. The returned ``b*`` is the largest count for which
    ``P(b <= b*) <= alpha`` under every such ``B`` and every ``P`` in ``[p_lo, p_hi]``
    (the smallest such ``B`` is the worst case, as the tail falls with ``B``); ``-1`` when
    not even ``b = 0`` is that unlikely. Observing ``b <= b*`` at a cutoff fixed before
    sampling rejects "recall below the target" at level ``alpha``, given ``k``, whenever the
    true ``P`` lies in ``[p_lo, p_hi]``.

    Examples
    --------
    >>> misses_critical(100, 0, 0.9, 0.05, 100, 10**6)  # about Binomial(100, 0.1)'s 5% tail
    4
    >>> misses_critical(0, 0, 0.9, 0.05, 0, 1000)
    -1
    """
    if k <= 0:
        p = np.arange(max(p_lo, 0), p_hi + 1, dtype=np.int64)
        b0 = np.floor((1.0 - recall) * (known + p)).astype(np.int64) + 1
        # with nothing sampled, only regions where no shortfall is possible pass
        return 0 if (p.size and np.all(b0 > p)) else -1
    p = np.arange(max(p_lo, k), max(p_hi, k) + 1, dtype=np.int64)
    b0 = np.floor((1.0 - recall) * (known + p)).astype(np.int64) + 1
    possible = b0 <= p
    p, b0 = p[possible], b0[possible]
    if p.size == 0:
        return k  # no count of regional positives can fall short: the region may go
    # log P(b = 0) for each P, then the pmf by its ratio recursion, summed up to b (exact up
    # to rounding; scipy's per-point evaluation is far too slow for thousands of P)
    pf, bf = p.astype(float), b0.astype(float)
    kf = float(k)
    jm = np.maximum(0.0, kf - (pf - bf))  # smallest possible count below
    log_first = (
        _log_comb(bf, jm) + _log_comb(pf - bf, kf - jm) - _log_comb(pf, np.full(p.size, kf))
    )

    def cdf_rows(rows: np.ndarray, b: int) -> np.ndarray:
        """P(count <= j) for j = 0..b, one row per P in ``rows``."""
        j = np.arange(b + 1, dtype=float)[None, :]
        i = j[:, :-1]
        bb, pp, jj = bf[rows, None], pf[rows, None], jm[rows, None]
        live = i >= jj
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (bb - i) * (kf - i) / ((i + 1.0) * (pp - bb - kf + i + 1.0))
            logr = np.where(live & (ratio > 0), np.log(np.where(ratio > 0, ratio, 1.0)), 0.0)
        logr = np.where(live & ~(ratio > 0), -np.inf, logr)
        steps = np.concatenate([np.zeros((rows.size, 1)), np.cumsum(logr, axis=1)], axis=1)
        logp = np.where(j >= jj, log_first[rows, None] + steps, -np.inf)
        return np.minimum(np.cumsum(np.exp(logp), axis=1), 1.0)

    # any single P bounds the answer from above (the worst case is a maximum over P), so the
    # counts worth checking over every P stop where the largest P's tail passes alpha
    probe = cdf_rows(np.array([p.size - 1, 0]), k).max(axis=0)
    over = np.flatnonzero(probe > alpha)
    b_hi = int(over[0]) if over.size else k
    if b_hi == 0:
        return -1
    worst = np.zeros(b_hi + 1)
    for start in range(0, p.size, 4096):
        rows = np.arange(start, min(start + 4096, p.size))
        worst = np.maximum(worst, cdf_rows(rows, b_hi).max(axis=0))
    ok = np.flatnonzero(worst <= alpha)
    # the tail grows with the count: the passing counts are 0..b*
    return int(ok[-1]) if ok.size else -1


def _hyper_sf_rows(a: int, m: np.ndarray, big_k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``P(X >= a)`` row by row, in chunks small enough for the log-space sum."""
    if a <= 0:
        return np.ones(m.shape)
    out = np.empty(m.shape)
    step = max(1, _MAX_DIRECT_TERMS // (a + 1))
    av = np.full(m.shape, a - 1, dtype=np.int64)
    for s in range(0, m.size, step):
        sl = slice(s, s + step)
        out[sl] = 1.0 - _hyper_cdf(av[sl], m[sl], big_k[sl], n[sl])
    return np.clip(out, 0.0, 1.0)


def region_pvalues(
    sizes: np.ndarray,
    sampled: np.ndarray,
    k: int,
    n: int,
    m: int,
    recall: float,
    *,
    ratio: float = 1.01,
    alpha: float | None = None,
) -> np.ndarray:
    """Exact p-values of "the region holds too many positives" from one uniform sample.

    A simple random sample of ``n`` of ``m`` records holds ``k`` positives, none of them in
    a region of ``sizes[i]`` records of which ``sampled[i]`` were sampled. The null is that
    the region holds more than ``(1 - recall)`` of all ``P`` positives (so the records
    outside it miss the recall target). Given the region's number of sampled records the two
    sides' samples are independent simple random samples, so under a null with ``B``
    positives in the region the data have probability ``P(none sampled below) x P(at least k
    sampled above)`` of being this extreme (the order: fewer below first, then more above).
    The p-value is its largest value over the null; the worst ``B`` for a given ``P`` is the
    smallest one, ``floor((1 - recall) P) + 1``, and ``P`` is searched over cells
    ``[P1, P2]`` of ratio ``ratio``, each bounded from above by the region's tail at ``B1``
    and the other side's tail with ``P2 - B1`` positives (both tails are monotone), so the
    values are exact upper bounds: a test that rejects when one is at most ``alpha`` has
    level ``alpha`` for any labels. Unlike :func:`misses_critical` it does not condition on
    ``k``: the other side's positives bound ``P`` from below, which is what lets a region be
    ruled out with fewer sampled positives (about 23 rather than 29 at recall 0.9 and
    alpha 0.05).

    With ``alpha``, only whether each p-value exceeds ``alpha`` is needed: counts whose
    first factor alone is at most ``alpha`` are skipped, so a value at most ``alpha`` may
    be reported lower than it is (a value above it is exact up to the cells).

    Returns
    -------
    numpy.ndarray
        One p-value per region, in ``[0, 1]``.

    Examples
    --------
    >>> p = region_pvalues(np.array([2000]), np.array([180]), 25, 1000, 11000, 0.9)
    >>> bool(p[0] < 0.05)
    True
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    sampled = np.asarray(sampled, dtype=np.int64)
    edges = np.unique(np.round(np.geomspace(1, m + 1, max(2, int(math.log(m + 1) / math.log(ratio)) + 2))).astype(np.int64))
    p1 = edges[:-1]
    p2 = np.maximum(edges[1:] - 1, p1)
    b1 = np.floor((1.0 - recall) * p1 + 1e-9).astype(np.int64) + 1
    out = np.zeros(sizes.size)
    for i, (mc, nc) in enumerate(zip(sizes.tolist(), sampled.tolist(), strict=True)):
        live = (b1 <= mc) & (np.minimum(p2 - b1, m - mc) >= k)
        if not live.any():
            continue
        b = b1[live]
        # log P(none of the nc sampled below is positive | b positives among mc)
        with np.errstate(divide="ignore", invalid="ignore"):
            log0 = np.where(
                nc <= mc - b,
                _log_comb(np.full(b.size, float(mc)) - b, np.full(b.size, float(nc)))
                - _log_comb(np.full(b.size, float(mc)), np.full(b.size, float(nc))),
                -np.inf,
            )
        p0 = np.exp(log0)
        keep = p0 > (0.0 if alpha is None else alpha)
        if not keep.any():
            continue
        above = np.minimum(p2[live] - b, m - mc)[keep]
        sf = _hyper_sf_rows(
            k,
            np.full(above.size, m - mc, dtype=np.int64),
            above.astype(np.int64),
            np.full(above.size, n - nc, dtype=np.int64),
        )
        out[i] = float(np.max(p0[keep] * sf))
    return np.minimum(out, 1.0)
