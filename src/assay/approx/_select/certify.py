"""Finite-sample certification of selection cutoffs from a simple random sample, for weighted
or unweighted recall and precision (issue 17, items 4-6).

A target on a set is a sign condition on a population total. With ``w`` the record weights
(1 for record counts), ``y`` the oracle labels and ``S`` the returned set:

* recall ``sum_S w y >= R sum w y``  <=>  ``sum_i w_i y_i (R [i not in S] - (1 - R) [i in S]) <= 0``;
* precision ``sum_S w y >= P sum_S w``  <=>  ``sum_i [i in S] w_i (y_i - P) >= 0``.

Records whose label is already known add an exact amount to the total; the rest of the
population ``U`` is covered by a simple random sample drawn without replacement, and the
condition becomes "the mean of a bounded variable over ``U`` is at most a known number". A
betting test (Waudby-Smith and Ramdas, JRSSB 2024, sampling without replacement) rejects the
opposite, "the mean exceeds it", with probability at most ``alpha`` when it holds: the capital
``prod (1 + lam_t (m_t - z_t))``, where ``m_t`` is the mean of the records not yet drawn if
the population mean sat exactly on the boundary, is a non-negative supermartingale under the
null and exceeds ``1 / alpha`` with probability at most ``alpha`` (Ville's inequality). The
variables are bounded because the weights are known for every record (cheap columns), so
the bound holds for any labels, whatever the weights: finite-sample.

Candidate cutoffs come from a grid fixed before the sample is drawn and are tested in a fixed
order (largest set first for recall, smallest first for precision); the first one not
certified stops the sequence, so every test runs at the full ``alpha`` (fixed-sequence
testing: the first true null met is rejected with probability at most ``alpha``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["certify_precision_cut", "certify_recall_cut", "cut_grid", "first_failure", "wor_mean_at_most"]


def wor_mean_at_most(
    z: np.ndarray,
    n_pop: int,
    m0: np.ndarray | float,
    lo: float,
    hi: float,
    alpha: float,
    *,
    truncation: float = 0.5,
) -> np.ndarray:
    """Whether a sample certifies ``mean(z over the population) <= m0``, per column.

    Parameters
    ----------
    z : array of shape (n,) or (n, C)
        The draws, in the order drawn, of a simple random sample without replacement from a
        population of ``n_pop`` values (one column per hypothesis).
    n_pop : int
        Population size (``n <= n_pop``).
    m0 : float or array of shape (C,)
        The boundary of each hypothesis.
    lo, hi : float or array of shape (C,)
        Bounds of every population value (``lo <= z <= hi``), known in advance.
    alpha : float
        Level of each test.
    truncation : float
        Largest share of the capital one draw may lose.

    Returns
    -------
    numpy.ndarray of bool, shape (C,)
        True where "the mean exceeds ``m0``" is rejected. For a population mean above
        ``m0`` that happens with probability at most ``alpha``. A sample of the whole
        population decides exactly.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pop = np.r_[np.zeros(900), np.ones(100)]  # mean 0.1
    >>> z = rng.permutation(pop)[:400]
    >>> wor_mean_at_most(z, 1000, np.array([0.05, 0.2]), 0.0, 1.0, 0.05).tolist()
    [False, True]
    """
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    m0 = np.atleast_1d(np.asarray(m0, dtype=float))
    cols = max(z.shape[1], m0.size)
    z = np.broadcast_to(z, (z.shape[0], cols))
    m0 = np.broadcast_to(m0, (cols,)).copy()
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (cols,))
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (cols,))
    n = z.shape[0]
    if n >= n_pop:  # the whole population: exact
        return z.sum(axis=0) <= m0 * n_pop + 1e-9 * np.maximum(1.0, hi - lo) * n_pop
    threshold = math.log(1.0 / alpha)
    log_cap = np.zeros(cols)
    done = np.zeros(cols, dtype=bool)
    total = m0 * n_pop  # the population total on the boundary
    s = np.zeros(cols)
    ss = np.zeros(cols)
    # a weak prior for the running mean / variance of the draws, so early bets stay small
    prior_var = ((hi - lo) / 2.0) ** 2
    for t in range(n):
        m_t = (total - s) / (n_pop - t)  # mean of the undrawn values on the boundary
        done |= m_t > hi  # the undrawn values cannot reach the boundary: the null is false
        mu = s / t if t else np.zeros(cols)
        var = (prior_var + ss - t * mu * mu) / (t + 1)
        room = hi - m_t
        with np.errstate(divide="ignore", invalid="ignore"):
            # predictable plug-in bet for a sample of known size n (Waudby-Smith & Ramdas)
            lam = np.sqrt(2.0 * threshold / (n * np.maximum(var, 1e-12)))
            cap = np.where(room > 0, truncation / room, np.inf)
        lam = np.minimum(np.maximum(lam, 0.0), cap)
        x = z[t]
        log_cap += np.log1p(lam * (m_t - x))
        done |= log_cap >= threshold
        s += x
        ss += x * x
        if done.all():
            break
    return done


def cut_grid(n_region: int, size: int = 400, start: int = 1) -> np.ndarray:
    """Candidate prefix sizes ``start .. n_region``: every size when there are few, else
    ``size`` sizes spaced evenly (ints, ascending, unique). Fixed before the sample is drawn."""
    start = min(max(int(start), 1), n_region)
    if n_region - start < size:
        return np.arange(start, n_region + 1, dtype=np.int64)
    return np.unique(np.linspace(start, n_region, size).round().astype(np.int64))


def certify_recall_cut(
    rank: np.ndarray,
    wy: np.ndarray,
    n_pop: int,
    known_wy: float,
    grid: np.ndarray,
    value: float,
    alpha: float,
    side_max: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[int, int]:
    """The smallest prefix of the grid certified to reach recall ``value``.

    ``rank`` / ``wy``: the sampled records' ranks (0 = highest proxy) and weight x label, in
    draw order; the sample is a simple random sample of the ``n_pop`` records whose labels
    were unknown. ``side_max(cuts)`` gives, for each prefix size, the largest weight among
    those records inside the prefix and outside it (the bounds of each hypothesis's terms).
    ``known_wy``: the weighted positives already known (always returned).
    Prefixes are tested from the largest down, each at ``alpha``; the returned set is the
    prefix plus every known or sampled positive.

    Returns ``(cut, tests)``: the prefix size (``grid[-1]`` when no smaller one passes) and
    the number of hypotheses tested.
    """
    cand = grid[::-1]
    if rank.size == 0 or cand.size <= 1:
        return int(grid[-1]), 0
    above = rank[:, None] < cand[None, 1:]  # record inside the candidate prefix
    z = wy[:, None] * np.where(above, -(1.0 - value), value)
    m0 = np.full(cand.size - 1, (1.0 - value) * known_wy / n_pop)
    above_max, below_max = side_max(cand[1:])
    ok = first_failure(z, n_pop, m0, -(1.0 - value) * above_max, value * below_max, alpha)
    return int(cand[ok]), int(min(ok + 1, cand.size - 1))


def certify_precision_cut(
    rank: np.ndarray,
    w: np.ndarray,
    y: np.ndarray,
    n_pop: int,
    known_rank: np.ndarray,
    known_w: np.ndarray,
    known_y: np.ndarray,
    grid: np.ndarray,
    value: float,
    alpha: float,
    wmax: float,
) -> tuple[int, int]:
    """The largest prefix of the grid certified to reach precision ``value`` (0: none).

    Prefixes are tested from the smallest up, each at ``alpha``; see
    :func:`certify_recall_cut` for the arguments (``known_*``: the records labeled before the
    sample, counted exactly). Returns ``(cut, tests)``.
    """
    if grid.size == 0:
        return 0, 0
    inside = rank[:, None] < grid[None, :]
    z = -(inside * (w * (y - value))[:, None])
    k_inside = known_rank[:, None] < grid[None, :]
    m0 = (k_inside * (known_w * (known_y - value))[:, None]).sum(axis=0) / max(n_pop, 1)
    if rank.size == 0:
        ok_all = m0 >= 0 if n_pop == 0 else np.zeros(grid.size, dtype=bool)
        first = int(np.argmin(ok_all)) if not ok_all.all() else grid.size
        return (int(grid[first - 1]) if first else 0), int(min(first + 1, grid.size))
    # z = -[inside] w (y - value) lies in [-(1 - value) w, value w]
    first = first_failure(z, n_pop, m0, -(1.0 - value) * wmax, value * wmax, alpha)
    return (int(grid[first - 1]) if first else 0), int(min(first + 1, grid.size))


def first_failure(z: np.ndarray, n_pop: int, m0: np.ndarray, lo: float | np.ndarray,
                  hi: float | np.ndarray, alpha: float) -> int:
    """Index of the first column not certified (``C`` when all are)."""
    cols = z.shape[1]
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (cols,))
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (cols,))
    a, step = 0, 32
    while a < cols:  # chunks that double: a sequence that fails early costs little
        b = min(a + step, cols)
        ok = wor_mean_at_most(z[:, a:b], n_pop, m0[a:b], lo[a:b], hi[a:b], alpha)
        if not ok.all():
            return a + int(np.argmin(ok))
        a, step = b, 2 * step
    return cols


