"""An experiment, not a method of assay: union-intersection over strata for a mean.

Remedy (a) of issue 17's aggregation brief, built to be measured (``bench_aggregate_limits.py
--union``). One test martingale per stratum and side, indexed by the stratum's own mean
``theta_k``; their product is a test martingale at the true vector of stratum means, so a
candidate ``m`` for the population mean is rejected on the upper side when

    min over {theta in the known box, sum_k N_k theta_k >= N m} of sum_k log G_k(theta_k)

reaches ``ln(2 / delta)`` (and symmetrically below). Each draw's factor bets a fraction
``c_t`` (fixed before the draw from the stratum's past labels) of the largest loss the draw
can cause, ``1 - c + c (hi - y) / (hi - mu_t(theta))`` with ``mu_t(theta)`` the mean of the
stratum's unlabeled records under ``theta`` (sampling without replacement), so each
``log G_k`` is convex and monotone in ``theta_k`` and the minimum has the dual lower bound
``max over nu of nu N m + sum_k min_theta (log G_k(theta) - nu N_k theta)``, computed with
tangent-line lower bounds (any ``nu`` gives a valid bound). The strata and their draws are
chosen before each batch (no random stratum choice), so a stratum's bets hedge only its own
range. Finite-sample and anytime valid; slow (a benchmark, not a query path).
"""

from __future__ import annotations

import math

import numpy as np

from assay.approx._aggregate.common import _Strata

_NUS = np.exp(np.linspace(np.log(1e-3), np.log(1e4), 201))  # dual multipliers tried


class _Side:
    """One stratum's draws and bets, for the upper (``down``) or lower side."""

    def __init__(self, size: int, lo: float, hi: float, down: bool) -> None:
        self.size, self.lo, self.hi, self.down = size, lo, hi, down
        self.y: list[float] = []
        self.r: list[float] = []  # unlabeled records of the stratum before the draw
        self.s: list[float] = []  # sum of the stratum's labels before the draw
        self.c: list[float] = []

    def add(self, y: np.ndarray, c: float) -> None:
        s0 = self.s[-1] + self.y[-1] if self.y else 0.0
        r0 = self.size - len(self.y)
        cs = np.concatenate([[0.0], np.cumsum(y)[:-1]])
        self.y += y.tolist()
        self.r += (r0 - np.arange(y.size)).tolist()
        self.s += (s0 + cs).tolist()
        self.c += [c] * y.size

    def box(self) -> tuple[float, float]:
        s, rem = float(sum(self.y)), self.size - len(self.y)
        return (s + rem * self.lo) / self.size, (s + rem * self.hi) / self.size

    def value_slope(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log G(theta)`` and its derivative, for an array of ``theta`` (rows)."""
        if getattr(self, "_cache", (None,))[0] != len(self.y):
            self._cache = (len(self.y), *(np.asarray(a, dtype=float)[None, :]
                                          for a in (self.y, self.r, self.s, self.c)))
        y, r, s, c = self._cache[1:]
        eps = 1e-12 * (self.hi - self.lo)
        mu = np.clip((self.size * theta[:, None] - s) / r, self.lo + eps, self.hi - eps)
        if self.down:
            gap, num = self.hi - mu, self.hi - y
        else:
            gap, num = mu - self.lo, y - self.lo
        f = 1.0 - c + c * num / gap
        d = c * num / (gap * gap) * (self.size / r) / f
        return np.log(f).sum(axis=1), (d if self.down else -d).sum(axis=1)

    def dual(self, nu: np.ndarray) -> np.ndarray:
        """Lower bounds on ``min over the box of log G(theta) -+ nu N_k theta`` (minus for
        the upper side, whose constraint is ``sum N_k theta_k >= N m``)."""
        a0, b0 = self.box()
        sign = -1.0 if self.down else 1.0
        if not self.y:
            # G = 1: the minimum sits at the end the linear term favours
            t = np.full(nu.size, b0 if self.down else a0)
            return sign * nu * self.size * t
        lin = sign * nu * self.size
        a, b = np.full(nu.size, a0), np.full(nu.size, b0)
        for _ in range(48):
            mid = 0.5 * (a + b)
            _, d = self.value_slope(mid)
            up = d + lin > 0
            b, a = np.where(up, mid, b), np.where(up, a, mid)
        va, da = self.value_slope(a)
        vb, db = self.value_slope(b)
        fa, fb = va + lin * a, vb + lin * b
        ga, gb = da + lin, db + lin
        # the two tangents meet at t*; convexity puts the function above both
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(gb > ga, (fb - fa + ga * a - gb * b) / (ga - gb), a)
        t = np.clip(t, a, b)
        low = np.maximum(fa + ga * (t - a), fb + gb * (t - b))
        # at the box ends the minimum may be there: the value itself bounds it
        low = np.where(ga >= 0, fa, np.where(gb <= 0, fb, low))
        return np.minimum(low, np.minimum(fa, fb))


def _bet(y: np.ndarray, lo: float, hi: float, gap: float, down: bool, c_max: float) -> float:
    """Fraction of the largest loss to bet: a Kelly step ``E[x] / E[x^2]`` for
    ``x = (mu - y) / (hi - mu)`` (upper side) at ``mu`` = the shrunk stratum mean + ``gap``."""
    n = y.size
    w = hi - lo
    mean = (y.sum() + 0.5 * (lo + hi)) / (n + 1.0)
    var = (((y - mean) ** 2).sum() + 0.25 * w * w) / (n + 1.0)
    mu = min(mean + gap, hi - 1e-9 * w) if down else max(mean - gap, lo + 1e-9 * w)
    room = (hi - mu) if down else (mu - lo)
    c = gap * room / (var + gap * gap)
    return float(min(max(c, 0.0), c_max))


def union_strata(proxy: np.ndarray, values: np.ndarray, lo: float, hi: float, *, error: float,
                 relative: bool, delta: float, rng: np.random.Generator, strata: int = 8,
                 tail_min: int = 256, floor: float = 0.1, c_max: float = 0.9,
                 growth: float = 0.04, min_batch: int = 16,
                 budget: int | None = None) -> dict[str, float]:
    """Run the experiment on ``values`` (the oracle) until the error target is met.

    Allocation per batch: ``n_k ~ N_k max(sd_k, floor (hi - lo))`` over the strata with
    unlabeled records (``sd_k`` shrunk towards the pooled sd); bets from :func:`_bet`
    against a slack of the error target shared in the same proportions.

    Returns ``labels``, ``lower``, ``upper``, ``point``.
    """
    n = values.size
    st = _Strata(proxy, n, strata, rng, tail_min, False)
    k = st.k
    sizes = st.sizes.astype(float)
    sides = [(_Side(int(sizes[j]), lo, hi, True), _Side(int(sizes[j]), lo, hi, False))
             for j in range(k)]
    labels = [np.zeros(0) for _ in range(k)]
    thr = math.log(2.0 / delta)
    lower, upper = lo, hi
    done = 0
    while True:
        rem = st.remaining.astype(float)
        if rem.sum() == 0:
            break
        b = max(min_batch, int(growth * done))
        sd = np.array([lab.std() if lab.size > 1 else 0.5 * (hi - lo) for lab in labels])
        cnt = np.array([lab.size for lab in labels], dtype=float)
        pooled = float(np.concatenate(labels).std()) if done > 1 else 0.5 * (hi - lo)
        sd = (sd * cnt + pooled * 2.0) / (cnt + 2.0)
        wts = np.where(rem > 0, sizes * np.maximum(sd, floor * (hi - lo)), 0.0)
        want = np.minimum(np.floor(b * wts / wts.sum() + rng.random(k)), rem).astype(int)
        if want.sum() == 0:
            want[int(np.argmax(wts))] = 1
        point = sum(float(lab.mean()) * sizes[j] if lab.size else 0.5 * (lo + hi) * sizes[j]
                    for j, lab in enumerate(labels)) / n
        e_abs = error * max(abs(point), 1e-12) if relative else error
        share = wts / wts.sum()
        drawn = st.draw_many(want)
        for j in np.flatnonzero(want):
            y = values[drawn[j]]
            gap = e_abs * n * share[j] / sizes[j]
            for side in sides[j]:
                side.add(y, _bet(labels[j], lo, hi, gap, side.down, c_max))
            labels[j] = np.concatenate([labels[j], y])
        done += int(want.sum())
        # upper end: every m >= (thr - sum_k dual_k(nu)) / (nu N) is rejected, for any nu
        h_up = sum(sides[j][0].dual(_NUS) for j in range(k))
        h_lo = sum(sides[j][1].dual(_NUS) for j in range(k))
        cand_up = (thr - h_up) / (_NUS * n)
        cand_lo = (h_lo - thr) / (_NUS * n)
        upper = min(upper, float(np.min(cand_up)))
        lower = max(lower, float(np.max(cand_lo)))
        if relative:
            met = lower > 0 and (1 + error) * lower >= (1 - error) * upper
        else:
            met = upper - lower <= 2 * error
        if (met and budget is None) or (budget is not None and done >= budget):
            break
    return {"labels": done, "lower": lower, "upper": upper, "point": point}
