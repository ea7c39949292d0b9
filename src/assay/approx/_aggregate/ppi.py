"""``ppi``: prediction-powered inference with the PPI++ power-tuned coefficient
(Angelopoulos, Bates, Fannjiang, Jordan and Zrnic, Science 2023; PPI++: Angelopoulos, Duchi
and Zrnic 2023), on the sequential simple random sample of :mod:`.clt`. Asymptotic.
"""

from __future__ import annotations

import math

import numpy as np

from ...exceptions import InvalidParameterError
from .clt import _normal_run
from .common import _Oracle, _Run, _z


def _ppi(
    proxy: np.ndarray | None,
    oracle: _Oracle,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    budget: int | None,
    rng: np.random.Generator,
    batch_size: int | None = None,
    growth: float = 0.04,
    min_batch: int = 16,
    min_labels: int = 100,
) -> _Run:
    """Prediction-powered mean with the PPI++ power-tuned coefficient (Angelopoulos, Duchi
    and Zrnic 2023): ``theta = lam mean(P over all N) + mean(Y - lam P over the sample)``,
    ``lam = Cov(Y, P) / ((1 + n/N) Var(P))``, normal interval with variance
    ``Var(Y - lam P)/n + lam^2 Var(P)/N``. Asymptotic."""
    if proxy is None:
        raise InvalidParameterError("Method 'ppi' needs a proxy.")
    n = oracle.n
    z = _z(delta)
    p_mean = float(proxy.mean())
    p_var = float(proxy.var(ddof=1)) if n > 1 else 0.0

    def interval(sample: np.ndarray) -> tuple[float, float, float]:
        m = sample.size
        y = oracle.values(sample)
        f = proxy[sample]
        if m < 2:
            return float(y.mean()), oracle.lo, oracle.hi
        lam = 0.0
        if p_var > 0:
            lam = float(np.cov(y, f, ddof=1)[0, 1]) / ((1.0 + m / n) * p_var)
        est = lam * p_mean + float(np.mean(y - lam * f))
        var = float(np.var(y - lam * f, ddof=1)) / m + lam * lam * p_var / n
        se = math.sqrt(max(var, 0.0))
        return est, est - z * se, est + z * se

    return _normal_run(
        oracle, rng, interval, "PPI++ (power-tuned) normal approximation", error=error, relative=relative, budget=budget,
        batch_size=batch_size, growth=growth, min_batch=min_batch, min_labels=min_labels,
    )
