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

__all__ = ["clt_lower", "clt_upper", "hypergeom_lower", "hypergeom_upper", "supg_z"]


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
