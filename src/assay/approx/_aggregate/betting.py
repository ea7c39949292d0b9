"""The default design, ``betting``: proxy-stratified sampling without replacement with
predictable (past-only) stratum-mean control variates, an allocation and bets chosen from
past labels to reach the target fastest, turned into an anytime-valid betting confidence
sequence (Waudby-Smith and Ramdas, "Estimating means of bounded random variables by
betting", JRSS-B 2024, which covers sampling without replacement). Finite-sample and
anytime valid: labels may come in batches and the caller may stop at any time. Averages
over ``where`` by test inversion of ``a - m b`` (``_RatioTarget``).

:func:`_betting` is the method; the rest is its planning (Kelly bets, draws still needed)
and the per-stratum statistics of the mean and ratio targets.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np

from .._confseq import BettingConfidenceSequence
from .common import _next_batch, _Oracle, _Run, _Strata, _target_met

_TAIL_MIN = 256  # the default's smallest tail stratum (records)


def _kelly(x: np.ndarray, p: np.ndarray, iters: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise ``argmax_lam E[log(1 + lam x)]`` over ``lam >= 0`` and the maximum.

    ``x`` and ``p`` have shape ``(C, A)``: outcomes per unit bet and their probabilities
    (each row sums to one, ``E[x] > 0``). The objective is concave on ``[0, 1 / max(-x))``;
    safeguarded Newton steps on its derivative, starting from the Gaussian approximation
    ``E[x] / E[x^2]``.
    """
    loss = np.max(np.where(p > 0, -x, -np.inf), axis=1)
    scale = np.max(np.abs(x), axis=1)
    top = np.where(loss > 0, (1.0 - 1e-9) / np.where(loss > 0, loss, 1.0), 1e6 / scale)
    a = np.zeros_like(top)
    b = top.copy()
    m1 = np.sum(p * x, axis=1)
    m2 = np.sum(p * x * x, axis=1)
    lam = np.minimum(m1 / m2, 0.5 * top)
    for _ in range(iters):
        den = 1.0 + lam[:, None] * x
        q = p * x / den
        grad = q.sum(axis=1)
        hess = -np.sum(q * x / den, axis=1)
        up = grad > 0
        a = np.where(up, lam, a)
        b = np.where(up, b, lam)
        step = lam - grad / hess
        inside = (step > a) & (step < b)
        lam = np.where(inside, step, 0.5 * (a + b))
    growth = np.sum(p * np.log1p(lam[:, None] * x), axis=1)
    return lam, growth


def _plan_times(
    e_grid: np.ndarray,
    dev: np.ndarray,
    prob: np.ndarray,
    centre: float,
    floor_: float,
    ceil_: float,
    relative: bool,
    cs: BettingConfidenceSequence,
    width: float,
    scale: float = 1.0,
    domain_only: bool = False,
    shift: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Kelly bets and draws still needed, per target half-width and allocation candidate.

    For each half-width ``e`` of ``e_grid`` the capital must reach ``ln(2/delta)`` at the two
    boundaries ``centre -+ e`` (shifted when one side is pinned by a known bound: the stop
    needs ``upper - lower <= 2 e``). For each allocation candidate (rows of ``dev``/``prob``:
    deviations of the next draw's term from its predicted mean, and their probabilities)
    the Kelly bet of each side and its expected log-growth give the draws still needed,
    ``max over sides of (log-capital missing) / growth``. ``scale`` converts a distance
    between candidates into a shift of the draw's term (1 for a mean; about ``b`` for a
    ratio ``a / b``, whose term is ``a_hat - m b_hat``). ``shift`` (one per half-width)
    moves the pair of boundaries off centre: the stop needs ``upper - lower <= 2 e``, not
    an interval centred on the estimate, and the side already closer needs less.

    Returns
    -------
    lam : numpy.ndarray, shape (2, E, C)
        Bets for ``K+`` (index 0, rejects candidates below the mean) and ``K-`` (index 1).
    need : numpy.ndarray, shape (E, C)
        Draws still needed.
    """
    nc = dev.shape[0]
    tiny = 1e-12 * width
    m_lo = centre - e_grid
    m_hi = centre + e_grid
    if shift is not None:
        m_lo = m_lo + shift
        m_hi = m_hi + shift
    if not relative:
        low = m_lo < floor_
        m_lo = np.where(low, floor_, m_lo)
        m_hi = np.where(low, floor_ + 2.0 * e_grid, m_hi)
        high = ~low & (m_hi > ceil_)
        m_hi = np.where(high, ceil_, m_hi)
        m_lo = np.where(high, ceil_ - 2.0 * e_grid, m_lo)
    e_lo = np.maximum(centre - m_lo, tiny) * scale
    e_hi = np.maximum(m_hi - centre, tiny) * scale
    ne = e_grid.size
    x = np.concatenate(
        [dev[None, :, :] + e_lo[:, None, None], e_hi[:, None, None] - dev[None, :, :]]
    ).reshape(2 * ne * nc, -1)
    p = np.broadcast_to(prob, (2 * ne, *prob.shape)).reshape(2 * ne * nc, -1)
    lam, g = _kelly(x, p)
    lam = lam.reshape(2, ne, nc)
    g = g.reshape(2, ne, nc)
    up_capital = cs.log_capital if cs.directional else cs.log_capital_up
    down_capital = cs.log_capital if cs.directional else cs.log_capital_down
    if cs.n and domain_only:
        # the capital is only defined inside the running interval (ratio bets are capped
        # there); candidates already outside it need no more capital
        inside_lo = m_lo > cs.lower
        inside_hi = m_hi < cs.upper
        cap_lo = up_capital(np.clip(m_lo, cs.lower, cs.upper))
        cap_hi = down_capital(np.clip(m_hi, cs.lower, cs.upper))
        miss_lo = np.where(inside_lo, np.maximum(cs.threshold - cap_lo, 0.0), 0.0)
        miss_hi = np.where(inside_hi, np.maximum(cs.threshold - cap_hi, 0.0), 0.0)
    elif cs.n:
        miss_lo = np.maximum(cs.threshold - up_capital(m_lo), 0.0)
        miss_hi = np.maximum(cs.threshold - down_capital(m_hi), 0.0)
    else:
        miss_lo = miss_hi = np.full(ne, cs.threshold)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo = np.where(miss_lo[:, None] > 0, miss_lo[:, None] / np.maximum(g[0], 1e-300), 0.0)
        t_hi = np.where(miss_hi[:, None] > 0, miss_hi[:, None] / np.maximum(g[1], 1e-300), 0.0)
    return lam, np.maximum(t_lo, t_hi)


_BINS = 64
#: offsets (in units of the error target) of the target windows an error-mode plan compares
_WINDOW_SHIFTS = (0.0, -0.25, 0.25, -0.5, 0.5)


def _stratified_terms(
    s_lab: float,
    r: np.ndarray,
    f: np.ndarray,
    pi: np.ndarray,
    choice: np.ndarray,
    occ: np.ndarray,
    y: np.ndarray,
    n: int,
    lo: float,
    hi: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Martingale terms of one batch of stratified draws without replacement.

    Parameters
    ----------
    s_lab : float
        Sum of the values labeled before the batch.
    r : numpy.ndarray
        Unlabeled records per stratum before the batch.
    f : numpy.ndarray
        Predictions per stratum (fixed for the batch).
    pi : numpy.ndarray
        Stratum probabilities (fixed for the batch; positive wherever ``r > 0``).
    choice, occ : numpy.ndarray
        Stratum of each draw, and how many earlier draws of the batch came from it.
    y : numpy.ndarray
        The labeled values, in draw order.
    n : int
        N.
    lo, hi : float
        Range of the values.

    Returns
    -------
    z, zlo, zhi : numpy.ndarray
        ``Z_t = (S_t + sum_j r_j(t) f_j + (r_k(t) / pi_k) (y_t - f_k)) / N`` and bounds on
        it that are known before draw ``t``. Given everything before draw ``t``,
        ``E[Z_t] = mu`` exactly: the draw picks stratum ``k`` with probability ``pi_k`` and
        then each of its ``r_k(t)`` unlabeled records with probability ``1 / r_k(t)``.
    """
    live = r > 0
    resid = y - f[choice]
    a = s_lab + float(np.sum(np.where(live, r * f, 0.0)))
    a = a + np.concatenate([[0.0], np.cumsum(resid)[:-1]])
    z = (a + (r[choice] - occ) / pi[choice] * resid) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        wts = np.where(live, r / np.where(live, pi, 1.0), 0.0)
    # r_k(t) <= r_k and (lo - f) <= 0 <= (hi - f): the weights at the batch start bound it
    d_lo = float(np.min(np.where(live, wts * (lo - f), np.inf)))
    d_hi = float(np.max(np.where(live, wts * (hi - f), -np.inf)))
    return z, (a + d_lo) / n, (a + d_hi) / n


def _deviations(
    ya: np.ndarray,
    qa: np.ndarray,
    ka: np.ndarray,
    nl: int,
    r_live: np.ndarray,
    f_live: np.ndarray,
    pi_c: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive distribution of the next draw's term, centred, for each candidate.

    ``ya``/``qa``/``ka``: atoms (values, probabilities within their stratum, stratum index
    among the ``nl`` live strata); ``f_live``: predictions; ``pi_c``: candidate allocations
    (shape ``(C, nl)``). Returns ``(dev, prob)`` of shape ``(C, atoms)``.
    """
    ybar = np.bincount(ka, weights=qa * ya, minlength=nl)
    c0 = float(np.sum(r_live * (ybar - f_live))) / n
    wts_c = r_live[None, :] / pi_c
    dev = wts_c[:, ka] * (ya - f_live[ka])[None, :] / n - c0
    prob = pi_c[:, ka] * qa[None, :]
    return dev, prob


class _Channel:
    """Per-stratum statistics of one kind of value (sums, squares, a 64-bin histogram)."""

    def __init__(self, k: int, lo: float, hi: float) -> None:
        self.lo, self.hi = float(lo), float(hi)
        self.width = self.hi - self.lo
        self.sm = np.zeros(k)  # sum of (y - lo) per stratum
        self.sq = np.zeros(k)  # sum of (y - lo)^2 per stratum
        self.h_cnt = np.zeros((k, _BINS))
        self.h_sum = np.zeros((k, _BINS))
        self.s_lab = 0.0  # sum of labeled y

    def record(self, strat: np.ndarray, y: np.ndarray) -> None:
        np.add.at(self.sm, strat, y - self.lo)
        np.add.at(self.sq, strat, (y - self.lo) ** 2)
        if self.width > 0:
            bins = np.clip(((y - self.lo) / self.width * _BINS).astype(np.int64), 0, _BINS - 1)
        else:
            bins = np.zeros(y.size, dtype=np.int64)
        np.add.at(self.h_cnt, (strat, bins), 1.0)
        np.add.at(self.h_sum, (strat, bins), y)
        self.s_lab += float(y.sum())

    def point(self, cnt: np.ndarray, remaining: np.ndarray, n: int) -> float:
        """Post-stratified estimate: labeled sum plus stratum means times unlabeled counts
        (strata without labels yet take the mean of all labels)."""
        total = cnt.sum()
        fill = self.sm.sum() / total if total > 0 else 0.5 * self.width
        with np.errstate(invalid="ignore", divide="ignore"):
            mk = np.where(cnt > 0, self.sm / np.maximum(cnt, 1), fill) + self.lo
        return float((self.s_lab + np.sum(remaining * mk)) / n)

    def predictions(self, cnt: np.ndarray, w0: float) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk stratum means ``f`` (value scale) and regularised root-mean-square
        residuals ``sd`` around them (a prior worth ``w0`` draws at the pooled values)."""
        n_lab = cnt.sum()
        width = self.width if self.width > 0 else 1.0
        if n_lab >= 2:
            g_mean = self.sm.sum() / n_lab
            g_var = max(self.sq.sum() / n_lab - g_mean**2, 0.0) * n_lab / (n_lab - 1)
        else:
            g_mean, g_var = 0.5 * width, 0.25 * width * width
        g_var = (g_var * n_lab + 0.25 * width * width) / (n_lab + 1.0)
        f = (self.sm + w0 * g_mean) / (cnt + w0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m_k = np.where(cnt > 0, self.sm / np.maximum(cnt, 1), g_mean)
        ss_k = np.maximum(self.sq - cnt * m_k * m_k, 0.0)
        v = (ss_k + w0 * g_var) / (np.maximum(cnt - 1.0, 0.0) + w0)
        sd = np.sqrt(v + (m_k - f) ** 2)
        return f + self.lo, sd

    def atoms(
        self, lv: np.ndarray, cnt: np.ndarray, pseudo: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each live stratum's histogram (bin means) plus ``pseudo`` weight on lo and hi."""
        hc = self.h_cnt[lv]
        kk, bb = np.nonzero(hc > 0)
        denom = cnt[lv] + 2.0 * pseudo
        ends = np.arange(lv.size)
        ya = np.concatenate(
            [
                self.h_sum[lv][kk, bb] / hc[kk, bb],
                np.full(lv.size, self.lo),
                np.full(lv.size, self.hi),
            ]
        )
        qa = np.concatenate([hc[kk, bb] / denom[kk], pseudo / denom, pseudo / denom])
        return ya, qa, np.concatenate([kk, ends, ends])


class _MeanTarget:
    """The population mean of the labeled values: one betting confidence sequence on
    ``Z_t(m) = z_t - m``."""

    def __init__(self, k: int, lo: float, hi: float, delta: float, truncation: float,
                 directional: bool = True) -> None:
        self.lo, self.hi = float(lo), float(hi)
        self.ch = _Channel(k, lo, hi)
        self.cs = BettingConfidenceSequence(delta, lo, hi, truncation=truncation, directional=directional)
        self.e_ref: float | None = None
        self.bets = (0.0, 0.0)
        self.centre = 0.5 * (lo + hi)  # where the next batch's bets change direction
        self.shift: np.ndarray | None = None  # off-centre target windows (error mode)
        self.f = np.zeros(k)

    def values(self, oracle: _Oracle, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        return (oracle.values(idx),)

    def record(self, strat: np.ndarray, vals: tuple[np.ndarray, ...]) -> None:
        self.ch.record(strat, vals[0])

    def point(self, cnt: np.ndarray, remaining: np.ndarray, n: int) -> float:
        return self.ch.point(cnt, remaining, n)

    def known(self, rem_total: float, n: int) -> tuple[float, float]:
        """Bounds that hold surely: labeled sum plus the unlabeled records at lo / at hi."""
        s = self.ch.s_lab
        return (s + rem_total * self.lo) / n, (s + rem_total * self.hi) / n

    def prepare(self, cnt: np.ndarray, w0: float, n: int) -> np.ndarray:
        """Fix the predictions for the next batch; return per-stratum sds for allocation."""
        self.f, sd = self.ch.predictions(cnt, w0)
        return sd

    def fix_denominator(self, batch: int, r: np.ndarray, pi_small: np.ndarray) -> None:
        """Nothing to do for a mean."""

    def intersect_known(self, rem_total: float, n: int) -> None:
        self.cs.intersect(*self.known(rem_total, n))

    def needs(self, lv, cnt, r, pi_c, n, pseudo, e_grid, relative, point):
        ya, qa, ka = self.ch.atoms(lv, cnt, pseudo)
        dev, prob = _deviations(ya, qa, ka, lv.size, r[lv], self.f[lv], pi_c, n)
        k_lo, k_hi = self.known(float(r.sum()), n)
        floor_, ceil_ = max(self.cs.lower, k_lo), min(self.cs.upper, k_hi)
        centre = self.centre = min(max(point, floor_), ceil_)
        return (
            _plan_times(e_grid, dev, prob, centre, floor_, ceil_, relative, self.cs,
                        self.hi - self.lo, shift=self.shift),
            dev,
            prob,
        )

    def append(self, r, pi, choice, occ, vals, n) -> None:
        z, zlo, zhi = _stratified_terms(
            self.ch.s_lab, r, self.f, pi, choice, occ, vals[0], n, self.lo, self.hi
        )
        self.cs.append(z, self.bets[0], self.bets[1], zlo, zhi, centre=self.centre)

    def refresh(self, rem_total: float, n: int, tol: float, hint: float) -> tuple[float, float]:
        self.cs.intersect(*self.known(rem_total, n))
        return self.cs.update_interval(tol, hint=hint)


class _RatioTarget:
    """The average of the value over records passing ``where``: ``mu = lo + a / b`` with
    ``a = E[pass (v - lo)]`` and ``b = E[pass]``.

    One betting confidence sequence over ``s = mu - lo`` by test inversion: the draw's term
    ``Z_t(s) = zA_t - s zB_t`` (``zA``, ``zB``: the stratified terms of ``pass (v - lo)`` and
    of ``pass``) has conditional mean ``a - s b``, zero exactly at the truth. The
    denominator's predictions are scaled so that ``zB_t >= 0`` for every possible draw,
    which makes both capitals monotone in ``s``. Bets are capped for every ``s`` still in
    the running interval (the capital of the truth stays non-negative as long as the truth
    is in it, which is all Ville's inequality needs).
    """

    def __init__(self, k: int, lo: float, hi: float, delta: float, truncation: float,
                 directional: bool = True) -> None:
        self.lo, self.hi = float(lo), float(hi)
        self.w = self.hi - self.lo
        self.a = _Channel(k, 0.0, self.w)
        self.b = _Channel(k, 0.0, 1.0)
        self.cs = BettingConfidenceSequence(delta, 0.0, self.w, truncation=truncation,
                                            directional=directional)
        self.centre = 0.5 * self.w
        self.c = float(truncation)
        self.e_ref: float | None = None
        self.bets = (0.0, 0.0)
        self.fa = np.zeros(k)
        self.fb = np.zeros(k)
        self._strat: list[np.ndarray] = []
        self._pairs: list[np.ndarray] = []
        self.s_hat = 0.5 * self.w
        self.fb_raw = np.zeros(k)
        self.remaining = np.zeros(k)  # set by the caller before each plan

    def values(self, oracle: _Oracle, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        passes, vals = oracle.pairs(idx)
        return passes * (vals - self.lo), passes

    def record(self, strat: np.ndarray, vals: tuple[np.ndarray, ...]) -> None:
        self.a.record(strat, vals[0])
        self.b.record(strat, vals[1])
        self._strat.append(np.asarray(strat, dtype=np.int64))
        self._pairs.append(np.stack(vals, axis=1))

    def _s_point(self, cnt, remaining, n) -> float:
        a = self.a.point(cnt, remaining, n)
        b = self.b.point(cnt, remaining, n)
        return float(np.clip(a / b, 0.0, self.w)) if b > 0 else 0.5 * self.w

    def point(self, cnt, remaining, n) -> float:
        return self.lo + self._s_point(cnt, remaining, n)

    def known_s(self, rem_total: float, n: int) -> tuple[float, float]:
        sa, sb = self.a.s_lab, self.b.s_lab
        lower = sa / (sb + rem_total) if sb + rem_total > 0 else 0.0
        upper = (sa + rem_total * self.w) / sb if sb > 0 else self.w
        return lower, min(upper, self.w)

    def known(self, rem_total: float, n: int) -> tuple[float, float]:
        k_lo, k_hi = self.known_s(rem_total, n)
        return self.lo + k_lo, self.lo + k_hi

    def prepare(self, cnt: np.ndarray, w0: float, n: int) -> np.ndarray:
        """Fix the numerator's predictions and the ratio estimate for the next batch;
        return per-stratum sds of ``pass (v - lo - s_hat)`` for the allocation."""
        self.fa, _ = self.a.predictions(cnt, w0)
        self.fb_raw, _ = self.b.predictions(cnt, w0)
        self.fb = self.fb_raw
        self.s_hat = self._s_point(cnt, self.remaining, n)
        y, strat = self._y_values()
        k = cnt.size
        f_y = self.fa - self.s_hat * self.fb_raw
        if y.size:
            res2 = np.bincount(strat, weights=(y - f_y[strat]) ** 2, minlength=k)
            pooled = float(np.mean((y - f_y[strat]) ** 2))
        else:
            res2, pooled = np.zeros(k), 0.25 * self.w * self.w
        pooled = (pooled * y.size + 0.25 * self.w * self.w) / (y.size + 1.0)
        return np.sqrt((res2 + w0 * pooled) / (cnt + w0))

    def fix_denominator(self, batch: int, r: np.ndarray, pi_small: np.ndarray) -> None:
        """Scale the denominator's predictions so that ``zB >= 0`` for every possible draw
        of the next ``batch`` draws when no stratum is drawn with probability below
        ``pi_small``: ``zB N >= S_B + sum_j r_j f_j - (batch - 1) max f - max_k w_k f_k``."""
        live = r > 0
        fb = self.fb_raw
        with np.errstate(divide="ignore", invalid="ignore"):
            w_max = np.where(live, r / np.where(live, pi_small, 1.0), 0.0)
        slack = float(np.sum(np.where(live, r * fb, 0.0)))
        slack -= (batch - 1) * float(np.max(np.where(live, fb, 0.0)))
        slack -= float(np.max(w_max * fb))
        gamma = 1.0 if slack >= 0 else min(1.0, self.b.s_lab / -slack)
        self.fb = gamma * fb

    def intersect_known(self, rem_total: float, n: int) -> None:
        self.cs.intersect(*self.known_s(rem_total, n))

    def _y_values(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._pairs:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        pairs = np.concatenate(self._pairs)
        self._pairs = [pairs]
        strat = np.concatenate(self._strat)
        self._strat = [strat]
        return pairs[:, 0] - self.s_hat * pairs[:, 1], strat

    def needs(self, lv, cnt, r, pi_c, n, pseudo, e_grid, relative, point):
        y, strat = self._y_values()
        lo_y, hi_y = -self.s_hat, self.w - self.s_hat
        nl = lv.size
        pos = np.full(cnt.size, -1)
        pos[lv] = np.arange(nl)
        keep = pos[strat] >= 0 if y.size else np.zeros(0, dtype=bool)
        y, sl = y[keep], pos[strat[keep]]
        bins = np.clip(((y - lo_y) / max(self.w, 1e-300) * _BINS).astype(np.int64), 0, _BINS - 1)
        cell = sl * _BINS + bins
        h_cnt = np.bincount(cell, minlength=nl * _BINS).reshape(nl, _BINS)
        h_sum = np.bincount(cell, weights=y, minlength=nl * _BINS).reshape(nl, _BINS)
        kk, bb = np.nonzero(h_cnt > 0)
        denom = cnt[lv] + 2.0 * pseudo
        ends = np.arange(nl)
        ya = np.concatenate([h_sum[kk, bb] / h_cnt[kk, bb], np.full(nl, lo_y), np.full(nl, hi_y)])
        qa = np.concatenate([h_cnt[kk, bb] / denom[kk], pseudo / denom, pseudo / denom])
        ka = np.concatenate([kk, ends, ends])
        f_y = (self.fa - self.s_hat * self.fb)[lv]
        dev, prob = _deviations(ya, qa, ka, nl, r[lv], f_y, pi_c, n)
        k_lo, k_hi = self.known_s(float(r.sum()), n)
        floor_, ceil_ = max(self.cs.lower, k_lo), min(self.cs.upper, k_hi)
        centre = self.centre = min(max(self.s_hat, floor_), ceil_)
        b_hat = max(self.b.point(cnt, r, n), 1e-12)
        return (
            _plan_times(
                e_grid,
                dev,
                prob,
                centre,
                floor_,
                ceil_,
                relative,
                self.cs,
                self.w,
                scale=b_hat,
                domain_only=True,
            ),
            dev,
            prob,
        )

    def append(self, r, pi, choice, occ, vals, n) -> None:
        za, _, _ = _stratified_terms(
            self.a.s_lab, r, self.fa, pi, choice, occ, vals[0], n, 0.0, self.w
        )
        zb, _, _ = _stratified_terms(
            self.b.s_lab, r, self.fb, pi, choice, occ, vals[1], n, 0.0, 1.0
        )
        zb = np.maximum(zb, 0.0)  # >= 0 by construction; guards rounding only
        # known parts of the two terms before each draw
        live = r > 0
        resid_a = vals[0] - self.fa[choice]
        resid_b = vals[1] - self.fb[choice]
        a_t = self.a.s_lab + float(np.sum(np.where(live, r * self.fa, 0.0)))
        a_t = a_t + np.concatenate([[0.0], np.cumsum(resid_a)[:-1]])
        b_t = self.b.s_lab + float(np.sum(np.where(live, r * self.fb, 0.0)))
        b_t = b_t + np.concatenate([[0.0], np.cumsum(resid_b)[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            wts = np.where(live, r / np.where(live, pi, 1.0), 0.0)
        worst_lo, worst_hi = [], []
        for s_end in (self.cs.lower, self.cs.upper):
            # per stratum, the most negative / positive draw term at this candidate
            q_lo = wts * (-self.fa + s_end * self.fb - s_end)
            q_hi = wts * (self.w - self.fa + s_end * self.fb - s_end)
            d_lo = float(np.min(np.where(live, np.minimum(q_lo, 0.0), np.inf)))
            d_hi = float(np.max(np.where(live, np.maximum(q_hi, 0.0), -np.inf)))
            worst_lo.append(-(a_t - s_end * b_t + d_lo) / n)
            worst_hi.append((a_t - s_end * b_t + d_hi) / n)
        loss_up = np.maximum(worst_lo[0], worst_lo[1])
        loss_down = np.maximum(worst_hi[0], worst_hi[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            lam_up = np.where(loss_up > 0, np.minimum(self.bets[0], self.c / loss_up), self.bets[0])
            lam_down = np.where(
                loss_down > 0, np.minimum(self.bets[1], self.c / loss_down), self.bets[1]
            )
        self.cs.append(za, lam_up, lam_down, np.inf, -np.inf, slope=zb, centre=self.centre)

    def refresh(self, rem_total: float, n: int, tol: float, hint: float) -> tuple[float, float]:
        self.cs.intersect(*self.known_s(rem_total, n))
        s_lo, s_hi = self.cs.update_interval(tol, hint=hint - self.lo)
        return self.lo + s_lo, self.lo + s_hi


def _betting(
    proxy: np.ndarray | None,
    oracle: _Oracle,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    budget: int | None,
    rng: np.random.Generator,
    strata: int = 8,
    tail_min: int = _TAIL_MIN,
    batch_size: int | None = None,
    growth: float | None = None,
    min_batch: int = 16,
    truncation: float = 0.95,
    prior_weight: float = 2.0,
    pseudo: float = 0.05,
    directional: bool = True,
    centre: float | None = None,
    stop_batch: int = 4,
    window_shifts: tuple[float, ...] = _WINDOW_SHIFTS,
    watch: Callable[[int, float, float, float], None] | None = None,
    both_tails: bool = False,
) -> _Run:
    """Stratified, control-variate betting confidence sequence for sampling without
    replacement (assay's default).

    Design. Records are stratified by proxy quantile (``strata`` equal-count strata, the
    proxy's tails refined dyadically down to ``tail_min`` records; a tail into which the
    proxy squeezes its values, as the low end of a score for a rare class, is left coarse:
    each small stratum costs labels of its own while it is learned, and there they buy
    nothing). At draw ``t`` a stratum ``k`` is
    chosen with probability ``pi_k`` and a record ``I`` uniformly among the stratum's
    unlabeled records. With ``f_k`` a prediction of the stratum's values (its past mean,
    shrunk), ``S`` the sum of the labeled values and ``r_j`` the unlabeled counts,

        Z_t = (S + sum_j r_j f_j + (r_k / pi_k) (X_I - f_k)) / N,

    whose conditional mean given the past is exactly the population mean ``mu``, for any
    ``pi`` and ``f`` fixed before the draw with ``pi_k > 0`` wherever records are left.
    ``Z_t`` lies in an interval known before the draw (from ``[lo, hi]``). The bets of
    :class:`~assay.approx._confseq.BettingConfidenceSequence` and the allocation are fixed
    at the start of each batch from labels already seen: the allocation among
    floored-Neyman candidates ``pi_k ~ r_k max(s_k, tau)`` and the two bets minimise the
    plug-in number of draws needed to reject ``mu_hat -+ e`` (``e`` the half-width the
    budget can reach; with an error target, the cheapest of a few windows of width ``2 e``
    shifted by up to ``e / 2``), under each stratum's empirical label distribution
    with ``pseudo`` extra weight on ``lo`` and on ``hi`` (unseen extremes are priced in).
    In error mode a batch holds no more draws than that plan still needs (at least
    ``stop_batch``), so the last batch does not overshoot the stop by much.
    These choices only affect efficiency; validity needs none of them to be right.
    Averages over records passing ``where`` use the same draws and test inversion (see
    ``_RatioTarget``).

    With ``directional`` (the default) one capital per candidate bets towards the point
    estimate fixed before each batch (up for candidates below it, down above it) and rejects
    at ``1/delta``; the two one-sided capitals of the classic construction each need
    ``2/delta``. On the SUPG data this takes 7-10% fewer labels (``directional=False``
    restores the classic two capitals).

    ``centre`` (a mean, not a ``where`` query; a diagnostic, not offered by ``aggregate``)
    fixes the point the bets turn around instead of the running estimate. Any value fixed in
    advance keeps the guarantee, but one far from the truth makes every candidate between
    the two bet the wrong way, so the interval never closes there; the benchmark passes the
    true mean to measure what betting towards a running estimate costs.

    ``tail_min=64, both_tails=True, window_shifts=(0.0,), stop_batch=0`` restore the design
    before the tail, window and last-batch changes (the benchmark's design check).
    """
    n = oracle.n
    lo, hi = oracle.lo, oracle.hi
    width = hi - lo
    ratio = oracle.kind == "ratio"
    st = _Strata(proxy, n, strata, rng, tail_min, both_tails)
    k = st.k
    if growth is None:
        growth = 0.04 if error is not None else 0.15
    target = (_RatioTarget if ratio else _MeanTarget)(k, lo, hi, delta, truncation, directional)
    cnt = np.zeros(k)  # labeled per stratum (random draws and census)
    stopped = "budget"
    draws = 0
    census = 0
    cap = n if budget is None else min(budget, n)
    path: list[tuple[int, float, float, float]] = []  # (labels, point, lower, upper) per batch

    def record(strat: np.ndarray, idx: np.ndarray) -> None:
        np.add.at(cnt, strat, 1.0)
        target.record(strat, target.values(oracle, idx))

    def tolerance(error_now: float | None) -> float:
        """Resolution of the interval's ends (they are rounded outwards): fine near the
        error target, coarser while the interval is still far wider than the target."""
        spread = target.cs.upper - target.cs.lower
        scale = spread * 1e-3
        if error_now is not None:
            scale = max(error_now * 5e-3, 0.02 * (spread - 2.0 * error_now))
        return max(scale, width * 1e-12)

    while True:
        calls = oracle.calls
        if calls >= n:
            stopped = "exhausted"
            break
        if calls >= cap:
            stopped = "budget"
            break
        b = _next_batch(calls, batch_size, growth, min_batch)
        b = min(b, cap - calls)
        r = st.remaining.astype(float)

        # -- census of strata with few records left (keeps every draw feasible) ----------
        small = (r > 0) & (r <= b)
        if small.any():
            need = int(r[small].sum())
            if calls + need <= cap:
                for j in np.flatnonzero(small):
                    idx = st.members_left(j)
                    census += idx.size
                    record(np.full(idx.size, j), idx)
                target.intersect_known(float(st.remaining.sum()), n)
                continue
            b = max(1, min(b, int(r[r > 0].min())))
        live = r > 0
        lv = np.flatnonzero(live)

        # -- predictable plan: predictions, allocation candidates, bets --------------------
        if ratio:
            target.remaining = r
        sd_alloc = target.prepare(cnt, prior_weight, n)
        if cnt.sum() < 2 or k == 1:
            pi_c = (r[lv] / r[lv].sum())[None, :]
        else:
            levels = np.unique(sd_alloc[lv])
            if levels.size > 6:
                levels = levels[np.linspace(0, levels.size - 1, 6).astype(np.int64)]
            taus = np.concatenate([[0.0], levels, [np.inf]])
            s_c = np.where(
                np.isinf(taus)[:, None], 1.0, np.maximum(sd_alloc[lv][None, :], taus[:, None])
            )
            pi_c = r[lv][None, :] * s_c
            pi_c /= pi_c.sum(axis=1, keepdims=True)
        pi_small = np.ones(k)
        pi_small[lv] = pi_c.min(axis=0)
        target.fix_denominator(b, r, pi_small)
        point = target.point(cnt, r, n)
        if error is not None:
            e_val = error * max(abs(point), 1e-12 * width) if relative else error
            if ratio:
                e_grid = np.array([e_val])
            else:
                # plan for the cheapest window of width 2 e near the estimate
                e_grid = np.full(len(window_shifts), e_val)
                target.shift = e_val * np.asarray(window_shifts)
        else:
            if target.e_ref is None:
                _, dev, prob = target.needs(
                    lv, cnt, r, pi_c, n, pseudo, np.array([1.0]), relative, point
                )
                var0 = float(np.min(np.sum(prob * dev * dev, axis=1)))
                if ratio:
                    var0 /= max(target.b.point(cnt, r, n), 1e-12) ** 2
                target.e_ref = math.sqrt(2.0 * target.cs.threshold * var0 / max(cap, 1))
            e_grid = target.e_ref * np.array([0.6, 0.8, 1.0, 1.25, 1.6])
        turn = point if centre is None or ratio else float(centre)
        (lam, need), _, _ = target.needs(lv, cnt, r, pi_c, n, pseudo, e_grid, relative, turn)
        best_c = np.argmin(need, axis=1)
        t_best = need[np.arange(need.shape[0]), best_c]
        if error is not None:
            j_e = int(np.argmin(t_best))  # the cheapest window
        else:  # the smallest half-width the budget left can reach
            fits = np.flatnonzero(t_best <= max(cap - calls, 1))
            j_e = int(fits[0]) if fits.size else need.shape[0] - 1
        c_best = int(best_c[j_e])
        pi = np.zeros(k)
        pi[lv] = pi_c[c_best]
        target.bets = (float(lam[0, j_e, c_best]), float(lam[1, j_e, c_best]))
        if error is None:
            target.e_ref = float(e_grid[j_e])
        elif stop_batch:
            # near the stop, draw no more than the plan expects to need
            b = min(b, max(stop_batch, int(math.ceil(t_best[j_e]))))

        # -- draw the batch ---------------------------------------------------------------
        choice = np.searchsorted(np.cumsum(pi), rng.random(b) * pi.sum(), side="right")
        choice = np.minimum(choice, k - 1)
        counts = np.bincount(choice, minlength=k)
        idx = np.empty(b, dtype=np.int64)
        occ = np.empty(b, dtype=np.int64)
        drawn = st.draw_many(counts)
        for j in np.flatnonzero(counts):
            pos = np.flatnonzero(choice == j)
            idx[pos] = drawn[j]
            occ[pos] = np.arange(pos.size)
        values = target.values(oracle, idx)
        draws += b

        # -- martingale terms, then bookkeeping --------------------------------------------
        target.append(r, pi, choice, occ, values, n)
        np.add.at(cnt, choice, 1.0)
        target.record(choice, values)

        steering = error is not None or ratio
        if (steering or watch is not None) and oracle.calls < n:
            # (a ratio's bets are capped over the running interval: keep it current)
            rem = st.remaining
            pt = target.point(cnt, rem, n)
            e_now = None
            if error is not None:
                e_now = error * max(abs(pt), 1e-12 * width) if relative else error
            if steering:
                lower, upper = target.refresh(float(rem.sum()), n, tolerance(e_now), pt)
            else:  # only watched: computed on a copy, so that watching changes no answer
                kept = target.cs
                target.cs = copy.deepcopy(kept)
                try:
                    lower, upper = target.refresh(float(rem.sum()), n, tolerance(e_now), pt)
                finally:
                    target.cs = kept
            path.append((int(oracle.calls), float(pt), float(max(lower, lo)), float(min(upper, hi))))
            if _target_met(lower, upper, error, relative):
                stopped = "error"
                if watch is not None:
                    watch(*path[-1])
                break
            if watch is not None and watch(*path[-1]):
                stopped = "stopped"  # a person stopped here: the interval holds at any stop
                break

    if stopped == "exhausted":
        lower = upper = point = oracle.exact()
    else:
        rem = st.remaining
        point = target.point(cnt, rem, n)
        lower, upper = target.refresh(float(rem.sum()), n, tolerance(None), point)
        lower, upper = max(lower, lo), min(upper, hi)
    return _Run(
        point=point,
        lower=lower,
        upper=upper,
        stopped=stopped,
        kind="finite-sample",
        anytime=True,
        notes={
            "design": "proxy-stratified sampling without replacement, predictable "
            "stratum-mean control variates, betting confidence sequence"
            + (" (one capital betting towards the running estimate)" if directional else ""),
            "assumes": f"every oracle value lies in [{lo!r}, {hi!r}]",
        },
        diagnostics={
            "draws": draws,
            "census": census,
            "strata": int(k),
            "stratum_sizes": st.sizes.tolist(),
            "stratum_labels": cnt.astype(int).tolist(),
            "path": path + [(int(oracle.calls), float(point), float(lower), float(upper))],
        },
    )
