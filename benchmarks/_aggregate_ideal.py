"""What two classes of finite-sample designs would need on a mean if they knew everything.

Used by ``bench_aggregate_limits.py --ideal``. The figures are heuristic lower ends of a
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
:func:`ratio_ideal`
    The same class on the mean of a value over the records that pass a filter (the
    ``where`` query), tested as the default tests it, through ``a = pass (v - lo)`` and
    ``b = pass``; the range's price there is a passing record at the stated cap.
:func:`union_ideal`
    Union-intersection (0/1 means only) over strata: one test martingale per stratum, a candidate mean
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


def _sides(half: float, frac: float) -> tuple[float, float]:
    """Distances below and above the truth of the two candidates to reject: a width of
    ``2 half``, ``frac`` of it above."""
    e_hi = 2.0 * half * frac
    return 2.0 * half - e_hi, e_hi


def atom_growth(pi: np.ndarray, w: np.ndarray, k: np.ndarray, a: np.ndarray, b: np.ndarray,
                q: np.ndarray, s_lo: float, s_hi: float, b_bar: float, e_lo: float, e_hi: float,
                truncation: float) -> np.ndarray:
    """Expected log-growth per label of the best fixed bets ``(lower side, upper side)`` for a
    ratio ``s = E[a] / E[b]`` tested at ``s_lo`` and ``s_hi`` (a mean: ``b = 1``).

    Stratum ``k_j`` takes the value pair ``(a_j, b_j)`` with probability ``q_j`` (summing to
    one per stratum; pairs with ``q = 0`` are the extremes the stated range allows). The draw's
    term at candidate ``s`` is ``Z = (A - s B) + (w_k / pi_k)(u - f_k)`` with ``u = a - s b``
    and ``f_k`` its true stratum mean, so ``E[Z] = B (s* - s)``. The bets are Kelly's for the
    true distribution, capped at ``truncation`` over the largest loss any allowed pair could
    cause (the range's price).
    """
    ratio = (w / np.maximum(pi, 1e-12))[k]  # (an optimiser's step may drive a share to zero)
    prob = pi[k] * q
    xs = []
    for s, sign, e in ((s_lo, 1.0, e_lo), (s_hi, -1.0, e_hi)):
        u = a - s * b
        f = np.bincount(k, weights=q * u, minlength=w.size)
        xs.append(b_bar * e + sign * ratio * (u - f[k]))
    x = np.stack(xs)
    prob2 = np.stack([prob, prob])
    priced = np.where(prob2 > 0, prob2, 1e-12)  # every value of the range is possible
    lam, _ = _kelly(x, priced / priced.sum(axis=1, keepdims=True), iters=40)
    loss = np.max(-x, axis=1)  # <= 0: the candidate lies outside every possible draw
    lam = np.minimum(lam, np.where(loss > 0, truncation / np.where(loss > 0, loss, 1.0), np.inf))
    return np.sum(prob2 * np.log1p(lam[:, None] * x), axis=1)


def _binary_atoms(p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Atoms of 0/1 strata: ``(k, a, b, q)`` with the values 0 and 1 in every stratum."""
    kk = np.arange(p.size)
    return (np.concatenate([kk, kk]), np.concatenate([np.zeros(p.size), np.ones(p.size)]),
            np.ones(2 * p.size), np.concatenate([1.0 - p, p]))


def betting_growth(pi: np.ndarray, w: np.ndarray, p: np.ndarray, e_lo: float, e_hi: float,
                   truncation: float) -> np.ndarray:
    """:func:`atom_growth` for a mean of 0/1 values with stratum means ``p`` (a positive in a
    stratum without positives, and the reverse, priced as the range's extremes).

    Examples
    --------
    >>> g = betting_growth(np.array([1.0]), np.array([1.0]), np.array([0.5]), 0.1, 0.1, 0.95)
    >>> bool(abs(g[0] - g[1]) < 1e-12)  # symmetric problem, symmetric growth
    True
    """
    mu = float(w @ p)
    return atom_growth(pi, w, *_binary_atoms(p), mu - e_lo, mu + e_hi, 1.0, e_lo, e_hi,
                       truncation)


def _floored_neyman(w: np.ndarray, sd: np.ndarray) -> list[np.ndarray]:
    """The default's allocation family, ``pi ~ w max(sd, tau)`` for each of :data:`FAMILY_TAUS`."""
    sd = np.maximum(sd, 1e-3)
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


def _optimise(labels, family: list[np.ndarray], *, family_only: bool, splits: np.ndarray,
              nelder_mead: bool = True, powell_runs: int = 2, xtol: float = 1e-4,
              ftol: float = 1e-7) -> tuple[float, np.ndarray, float]:
    """The fewest ``labels(pi, frac)`` over the allocation family and a grid of splits, then
    (unless ``family_only``) over every allocation and split, from the family's best
    (Nelder-Mead, then Powell run ``powell_runs`` times: it stalls on this surface)."""
    best = (math.inf, family[0], 0.5)
    for pi in family:
        for frac in splits:
            n = labels(pi, frac)
            if n < best[0]:
                best = (n, pi, frac)
    if family_only:
        return best

    def objective(v: np.ndarray) -> float:
        return math.log(max(labels(*_unpack(v)), 1e-300))

    x = _pack(best[1], best[2])
    if nelder_mead:
        x = optimize.minimize(objective, x, method="Nelder-Mead",
                              options={"maxiter": 20_000, "maxfev": 20_000, "xatol": xtol,
                                       "fatol": 1e-7}).x
    for _ in range(powell_runs):
        res = optimize.minimize(objective, x, method="Powell",
                                options={"maxiter": 40_000, "xtol": xtol, "ftol": ftol})
        x = res.x
    n = math.exp(res.fun)
    return (n, *_unpack(res.x)) if n < best[0] else best


def _labels(growth: np.ndarray, lower_free: bool, delta: float) -> float:
    need = math.log(1.0 / delta) / np.maximum(growth, 1e-300)
    if lower_free:  # the range already rules out every candidate below the lower end
        need[0] = 0.0
    return float(need.max())


def betting_ideal(w: np.ndarray, p: np.ndarray, *, error: float, delta: float,
                  truncation: float = 0.95, family_only: bool = False,
                  n_records: int | None = None) -> dict:
    """Labels of the default's class told everything (module docstring).

    ``w``: stratum shares of the records; ``p``: stratum means of the 0/1 value. With
    ``family_only`` the allocation is the best of the default's own floored-Neyman family
    (:data:`FAMILY_TAUS`); otherwise it is then optimised freely (Nelder-Mead and Powell over
    log-shares and the split, from the family's best). ``n_records``: correct for sampling
    without replacement (module docstring).
    """
    w, p = np.asarray(w, float), np.asarray(p, float)
    mu = float(w @ p)

    def labels(pi: np.ndarray, frac: float) -> float:
        e_lo, e_hi = _sides(error, frac)
        return _labels(betting_growth(pi, w, p, e_lo, e_hi, truncation), mu - e_lo <= 0.0,
                       delta)

    n, pi, frac = _optimise(labels, _floored_neyman(w, np.sqrt(p * (1.0 - p))),
                            family_only=family_only, splits=_SPLITS)
    return {"labels": _fpc(n, n_records), "allocation": pi, "upper_share": frac}


def ratio_ideal(strata: np.ndarray, passes: np.ndarray, values: np.ndarray, *, lo: float,
                hi: float, error: float, delta: float, truncation: float = 0.95,
                family_only: bool = False) -> dict:
    """Labels of the default's class told everything for the mean of ``values`` over the
    records that pass, at ``error`` relative (the ``where`` query; module docstring).

    As the default, it tests ``s = mu - lo`` through ``a = pass (v - lo)`` and ``b = pass``.
    The range's extremes in every stratum are a passing record at ``hi``, one at ``lo`` and
    a record that does not pass. Corrected for sampling without replacement.
    """
    strata = np.asarray(strata)
    n_rec = strata.size
    kk = int(strata.max()) + 1
    w = np.bincount(strata, minlength=kk) / n_rec
    a_all = np.where(passes, values - lo, 0.0)
    b_all = np.asarray(passes, float)
    pairs, counts = np.unique(np.stack([strata, a_all, b_all], axis=1), axis=0,
                              return_counts=True)
    ends = np.array([[hi - lo, 1.0], [0.0, 1.0], [0.0, 0.0]])
    k = np.concatenate([pairs[:, 0].astype(np.int64), np.repeat(np.arange(kk), 3)])
    a = np.concatenate([pairs[:, 1], np.tile(ends[:, 0], kk)])
    b = np.concatenate([pairs[:, 2], np.tile(ends[:, 1], kk)])
    q = np.concatenate([counts / np.bincount(strata, minlength=kk)[pairs[:, 0].astype(int)],
                        np.zeros(3 * kk)])
    a_bar, b_bar = float(a_all.mean()), float(b_all.mean())
    s_true = a_bar / b_bar
    half = error * abs(lo + s_true)
    u = a_all - s_true * b_all
    sd = np.sqrt(np.maximum(np.bincount(strata, weights=u * u, minlength=kk) / (w * n_rec)
                            - (np.bincount(strata, weights=u, minlength=kk) / (w * n_rec)) ** 2,
                            0.0))

    def labels(pi: np.ndarray, frac: float) -> float:
        e_lo, e_hi = _sides(half, frac)
        g = atom_growth(pi, w, k, a, b, q, s_true - e_lo, s_true + e_hi, b_bar, e_lo, e_hi,
                        truncation)
        return _labels(g, s_true - e_lo <= 0.0, delta)

    n, pi, frac = _optimise(labels, _floored_neyman(w, sd), family_only=family_only,
                            splits=_SPLITS)
    return {"labels": _fpc(n, n_rec), "allocation": pi, "upper_share": frac}


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
        e_lo, e_hi = _sides(error, frac)
        need_hi = thr / max(min_capital(shares, w, p, mu + e_hi), 1e-300)
        need_lo = 0.0 if mu - e_lo <= 0 else thr / max(min_capital(shares, w, p, mu - e_lo), 1e-300)
        return max(need_hi, need_lo)

    n, _, _ = _optimise(labels, _floored_neyman(w, np.sqrt(p * (1.0 - p))), family_only=False,
                        splits=_SPLITS[::4], nelder_mead=False, powell_runs=1, xtol=1e-3,
                        ftol=1e-6)
    return {"labels": _fpc(n, n_records)}
