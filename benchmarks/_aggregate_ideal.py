"""What two classes of finite-sample designs would need on a 0/1 mean if they knew everything.

Used by ``bench_aggregate_limits.py --ideal``. Both figures are heuristic lower ends of a
class of designs (sampling with replacement, the expected growth of the log-capital per
label, Wald's identity), not proofs about every method:

:func:`betting_ideal`
    The class of assay's default: one importance-weighted betting martingale over
    proxy strata with stratum-mean control variates, ``Z = f_bar + (w_k / pi_k)(y - f_k)``.
    Here every stratum's mean is known (``f_k = p_k``), the allocation ``pi`` and the two
    bets are the best fixed ones, and the split of the error target between the two sides
    is chosen knowing the truth. What it still pays is the *range*: a bet must keep the
    capital positive for every draw the stated range allows, including a positive in a
    stratum with no positives at all, so the upper side's bet is capped by the largest
    ``w_k (1 - p_k) / pi_k`` (a positive drawn where records are sampled least).
:func:`union_ideal`
    Union-intersection over strata: one test martingale per stratum, a candidate mean
    rejected when the product of the stratum capitals is large at every split of it over the
    strata. Optimistic on purpose: each stratum's capital grows at the Kullback-Leibler rate
    ``KL(p_k || m_k)`` for *every* stratum mean ``m_k`` at once (no single bet achieves
    that), so no design of the class does better.

Labels per side are ``ln(1 / delta) / growth`` (one capital per candidate, as the default's
directional construction); the figure is the larger side at the best split. Given ``N``
records, it is then corrected for sampling without replacement as a normal interval is,
``n / (1 + n / N)``: where the variance limits the growth, the remaining population's
shrinking spread gives exactly that; where the range caps the bet, the growth is linear in
the distance to the candidate and the gain is smaller (``N (1 - exp(-n / N))``), so the
correction is the generous one (it lowers the figure more).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from assay.approx._aggregate.betting import _kelly

#: the floored-Neyman levels of the default's own allocation family, ``pi ~ w max(sd, tau)``
FAMILY_TAUS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, math.inf)
_SPLITS = np.linspace(0.05, 0.95, 37)  # share of the width 2 e on the upper side


def _sides(mu: float, error: float, frac: float) -> tuple[float, float]:
    """Distances below and above the mean of the two candidates to reject."""
    e_hi = 2.0 * error * frac
    return 2.0 * error - e_hi, e_hi


def betting_growth(pi: np.ndarray, w: np.ndarray, p: np.ndarray, e_lo: float, e_hi: float,
                   truncation: float) -> np.ndarray:
    """Expected log-growth per label of the best fixed bets ``(lower side, upper side)``.

    The bets are Kelly's for the true outcome distribution, capped at ``truncation`` over the
    largest loss any value in ``[0, 1]`` could cause (a stratum's unseen extreme included).

    Examples
    --------
    >>> g = betting_growth(np.array([1.0]), np.array([1.0]), np.array([0.5]), 0.1, 0.1, 0.95)
    >>> bool(abs(g[0] - g[1]) < 1e-12)  # symmetric problem, symmetric growth
    True
    """
    ratio = w / np.maximum(pi, 1e-12)  # (an optimiser's step may drive a share to zero)
    dev = np.concatenate([ratio * (0.0 - p), ratio * (1.0 - p)])
    prob = np.concatenate([pi * (1.0 - p), pi * p])
    x = np.stack([dev + e_lo, e_hi - dev])
    prob2 = np.stack([prob, prob])
    priced = np.where(prob2 > 0, prob2, 1e-12)  # every value of the range is possible
    lam, _ = _kelly(x, priced / priced.sum(axis=1, keepdims=True), iters=40)
    loss = np.max(-x, axis=1)  # <= 0: the candidate lies outside every possible draw
    lam = np.minimum(lam, np.where(loss > 0, truncation / np.where(loss > 0, loss, 1.0), np.inf))
    return np.sum(prob2 * np.log1p(lam[:, None] * x), axis=1)


def _labels(growth: np.ndarray, mu: float, e_lo: float, delta: float) -> float:
    need = math.log(1.0 / delta) / np.maximum(growth, 1e-300)
    if mu - e_lo <= 0.0:  # the range already rules out every mean below the lower end
        need[0] = 0.0
    return float(need.max())


def _floored_neyman(w: np.ndarray, p: np.ndarray) -> list[np.ndarray]:
    """The default's allocation family, ``pi ~ w max(sd, tau)`` for each of :data:`FAMILY_TAUS`."""
    sd = np.maximum(np.sqrt(p * (1.0 - p)), 1e-3)
    out = []
    for tau in FAMILY_TAUS:
        pi = w * (1.0 if math.isinf(tau) else np.maximum(sd, tau))
        out.append(pi / pi.sum())
    return out


def _unpack(v: np.ndarray) -> tuple[np.ndarray, float]:
    """Shares (softmax of all but the last entry) and the upper side's share of the width."""
    pi = np.exp(v[:-1] - v[:-1].max())
    return pi / pi.sum(), 1.0 / (1.0 + math.exp(-v[-1]))


def _pack(pi: np.ndarray, frac: float) -> np.ndarray:
    return np.concatenate([np.log(pi), [math.log(frac / (1.0 - frac))]])


def _fpc(n: float, n_records: int | None) -> float:
    return n if n_records is None else n / (1.0 + n / n_records)


def betting_ideal(w: np.ndarray, p: np.ndarray, *, error: float, delta: float,
                  truncation: float = 0.95, family_only: bool = False,
                  n_records: int | None = None) -> dict:
    """Labels of the default's class told everything (module docstring).

    ``w``: stratum shares of the records; ``p``: stratum means of the 0/1 value. With
    ``family_only`` the allocation is the best of the default's own floored-Neyman family
    (:data:`FAMILY_TAUS`); otherwise it is then optimised freely (Powell over log-shares and
    the split, from the family's best). ``n_records``: correct for sampling without
    replacement (module docstring).
    """
    w, p = np.asarray(w, float), np.asarray(p, float)
    mu = float(w @ p)
    best = (math.inf, None, None)
    for pi in _floored_neyman(w, p):
        for frac in _SPLITS:
            e_lo, e_hi = _sides(mu, error, frac)
            n = _labels(betting_growth(pi, w, p, e_lo, e_hi, truncation), mu, e_lo, delta)
            if n < best[0]:
                best = (n, pi, frac)
    if family_only:
        return {"labels": _fpc(best[0], n_records), "allocation": best[1], "upper_share": best[2]}

    def objective(v: np.ndarray) -> float:
        pi, frac = _unpack(v)
        e_lo, e_hi = _sides(mu, error, frac)
        return math.log(max(_labels(betting_growth(pi, w, p, e_lo, e_hi, truncation),
                                    mu, e_lo, delta), 1e-300))

    res = optimize.minimize(objective, _pack(best[1], best[2]), method="Nelder-Mead",
                            options={"maxiter": 20_000, "maxfev": 20_000, "xatol": 1e-4,
                                     "fatol": 1e-7})
    for _ in range(2):  # Powell from there, restarted once (it stalls on this surface)
        res = optimize.minimize(objective, res.x, method="Powell",
                                options={"maxiter": 40_000, "xtol": 1e-4, "ftol": 1e-7})
    n = math.exp(res.fun)
    pi, frac = _unpack(res.x) if n < best[0] else best[1:]
    return {"labels": _fpc(min(n, best[0]), n_records), "allocation": pi, "upper_share": frac}


def _kl(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    m = np.clip(m, 1e-300, 1.0 - 1e-16)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / m), 0.0)
        b = np.where(p < 1, (1.0 - p) * np.log((1.0 - p) / (1.0 - m)), 0.0)
    return a + b


def _kl_argmin(p: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The ``m`` in ``[0, 1]`` with ``d KL(p || m) / dm = (m - p) / (m (1 - m)) = c``
    (the root of ``c m^2 + (1 - c) m - p = 0``, written without cancellation)."""
    disc = np.sqrt((1.0 - c) ** 2 + 4.0 * c * p)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.where((1.0 - c) + disc > 0, 2.0 * p / ((1.0 - c) + disc), 0.0)
        large = np.where(c != 0, ((c - 1.0) + disc) / (2.0 * c), p)
    return np.clip(np.where(c < 1.0, small, large), 0.0, 1.0)


def min_capital(shares: np.ndarray, w: np.ndarray, p: np.ndarray, target: float) -> float:
    """``min sum_k n_k KL(p_k || m_k)`` over stratum means with ``w . m = target`` (per label
    when ``shares`` sum to one): the log-capital the weakest split of ``target`` leaves.

    Examples
    --------
    >>> p = np.array([0.2])
    >>> bool(np.isclose(min_capital(np.ones(1), np.ones(1), p, 0.3), _kl(p, np.array([0.3]))[0]))
    True
    """
    shares = np.maximum(shares, 1e-300)
    if not 0.0 < target < 1.0:
        return math.inf  # no mean in [0, 1] there: nothing to reject
    up = target > float(w @ p)
    # bisection on the Lagrange multiplier, in log space
    lo_, hi_ = -40.0, 40.0
    for _ in range(120):
        mid = 0.5 * (lo_ + hi_)
        nu = math.exp(mid) if up else -math.exp(mid)
        m = _kl_argmin(p, nu * w / shares)
        if (float(w @ m) < target) == up:
            lo_ = mid
        else:
            hi_ = mid
    nu = math.exp(0.5 * (lo_ + hi_)) * (1.0 if up else -1.0)
    m = _kl_argmin(p, nu * w / shares)
    return float(np.sum(shares * _kl(p, m)))


def union_ideal(w: np.ndarray, p: np.ndarray, *, error: float, delta: float,
                n_records: int | None = None) -> dict:
    """Labels of the union-intersection class, optimistically (module docstring): the best
    split and label shares (Powell over log-shares and the split, from the floored-Neyman
    family's best); ``n_records`` as in :func:`betting_ideal`."""
    w, p = np.asarray(w, float), np.asarray(p, float)
    mu = float(w @ p)
    thr = math.log(1.0 / delta)

    def labels(shares: np.ndarray, frac: float) -> float:
        e_lo, e_hi = _sides(mu, error, frac)
        need_hi = thr / max(min_capital(shares, w, p, mu + e_hi), 1e-300)
        need_lo = 0.0 if mu - e_lo <= 0 else thr / max(min_capital(shares, w, p, mu - e_lo), 1e-300)
        return max(need_hi, need_lo)

    best = (math.inf, None, None)
    for sh in _floored_neyman(w, p):
        for frac in _SPLITS[::4]:
            n = labels(sh, frac)
            if n < best[0]:
                best = (n, sh, frac)

    def objective(v: np.ndarray) -> float:
        return math.log(max(labels(*_unpack(v)), 1e-300))

    res = optimize.minimize(objective, _pack(best[1], best[2]), method="Powell",
                            options={"maxiter": 20_000, "xtol": 1e-3, "ftol": 1e-6})
    return {"labels": _fpc(min(best[0], math.exp(res.fun)), n_records)}
