"""``blazeit``: BlazeIt control variates (Kang et al., "BlazeIt: optimizing declarative
aggregation and limit queries for neural network-based video analytics", PVLDB vol. 13; the
seed paper's Section 5.2.2): ``O* = O - c (P - E[P])`` with ``c`` fit on a separate pilot
and an honest range for ``O*``, then EBGStop (:mod:`.uniform`). Finite-sample.

The coefficient fit and the range of ``O*`` are shared with :mod:`.blazeit_pp`.
"""

from __future__ import annotations

import numpy as np

from ...exceptions import InvalidParameterError
from .common import _exact_run, _Oracle, _Run, _Strata
from .uniform import _ebs_loop, _iid_draws


def _cv_range(c: float, proxy_mean: float, pmin: float, pmax: float, lo: float, hi: float):
    """Honest range of ``O - c (P - E[P])`` from the ranges of O and P."""
    shifts = (-c * (pmin - proxy_mean), -c * (pmax - proxy_mean))
    return lo + min(shifts), hi + max(shifts)


def _fit_coefficient(y: np.ndarray, prox: np.ndarray) -> float:
    if y.size < 2:
        return 0.0
    var = float(np.var(prox, ddof=1))
    if var <= 0:
        return 0.0
    return float(np.cov(y, prox, ddof=1)[0, 1] / var)


def _blazeit(
    proxy: np.ndarray | None,
    oracle: _Oracle,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    budget: int | None,
    rng: np.random.Generator,
    pilot: int = 200,
    batch_size: int | None = None,
    growth: float = 0.03,
    min_batch: int = 16,
    p: float = 1.1,
    beta: float = 1.1,
) -> _Run:
    """BlazeIt control variates with a separate pilot, then EBGStop on ``O*``.

    ``c`` is fit on a pilot simple random sample that the second stage never reuses as data
    (its labels stay cached, so re-drawn pilot records cost nothing); the EBGStop range is
    the honest range of ``O* = O - c (P - E[P])``: ``(hi - lo) + |c| (max P - min P)``.
    """
    if proxy is None:
        raise InvalidParameterError("Method 'blazeit' needs a proxy.")
    n = oracle.n
    cap = n if budget is None else min(budget, n)
    n_pilot = int(min(pilot, max(cap // 4, min(2, cap)), n))
    pilot_idx = _Strata(None, n, 1, rng).draw(0, n_pilot)
    y_pilot = oracle.values(pilot_idx)
    c = _fit_coefficient(y_pilot, proxy[pilot_idx])
    p_mean, pmin, pmax = float(proxy.mean()), float(proxy.min()), float(proxy.max())
    lo_s, hi_s = _cv_range(c, p_mean, pmin, pmax, oracle.lo, oracle.hi)
    notes = {
        "assumes": f"every oracle value lies in [{oracle.lo!r}, {oracle.hi!r}]",
        "rule": "EBGStop on control variates",
        "coefficient": c,
        "cv_range": [lo_s, hi_s],
    }

    def transform(idx: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y - c * (proxy[idx] - p_mean)

    ebs, stopped = _ebs_loop(
        _iid_draws(n, oracle, cap, rng, transform),
        oracle,
        hi_s - lo_s,
        cap,
        error=error,
        relative=relative,
        delta=delta,
        batch_size=batch_size,
        growth=growth,
        min_batch=min_batch,
        p=p,
        beta=beta,
    )
    diag = {"draws": ebs.t, "pilot": n_pilot, "coefficient": c}
    if stopped == "exhausted":
        return _exact_run(oracle, "finite-sample", True, notes, diag)
    lower = max(ebs.lower, oracle.lo)
    upper = min(ebs.upper, oracle.hi)
    point = ebs.mean if ebs.t else float(np.mean(y_pilot))
    return _Run(point, lower, upper, stopped, "finite-sample", True, notes, diag)
