"""``clt``: the classical normal interval for a simple random sample, with the
finite-population correction (for ``where`` averages, the ratio estimator with a linearised
variance). Asymptotic; checked after every batch it is not anytime-valid.

The sequential simple-random-sampling loop here is shared with :mod:`.ppi`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .common import _exact_run, _next_batch, _Oracle, _Run, _Strata, _target_met, _z


def _sequential_srs(
    oracle: _Oracle,
    rng: np.random.Generator,
    *,
    error: float | None,
    relative: bool,
    budget: int | None,
    interval: Callable[[np.ndarray], tuple[float, float, float]],
    batch_size: int | None,
    growth: float,
    min_batch: int,
    min_labels: int,
) -> tuple[float, float, float, str, int]:
    """Simple random sample in batches; after each batch (once ``min_labels`` are in)
    compute ``interval(sample) -> (point, lower, upper)`` and stop at the target."""
    n = oracle.n
    cap = n if budget is None else min(budget, n)
    stream = _Strata(None, n, 1, rng)
    sample = np.zeros(0, dtype=np.int64)
    while True:
        if sample.size >= n:
            return float("nan"), float("nan"), float("nan"), "exhausted", sample.size
        left = cap - sample.size
        if left <= 0:
            break
        if error is None:
            b = left
        else:
            b = min(
                max(
                    _next_batch(sample.size, batch_size, growth, min_batch),
                    min_labels - sample.size,
                ),
                left,
            )
        sample = np.concatenate([sample, stream.draw(0, b)])
        oracle.fetch(sample[-b:])
        if sample.size >= n:
            return float("nan"), float("nan"), float("nan"), "exhausted", sample.size
        if error is not None and sample.size >= min_labels:
            point, lower, upper = interval(sample)
            if _target_met(lower, upper, error, relative):
                return point, lower, upper, "error", sample.size
    point, lower, upper = interval(sample)
    return point, lower, upper, "budget", sample.size


def _normal_run(oracle: _Oracle, rng: np.random.Generator, interval, note: str, **loop: Any) -> _Run:
    """Sequential simple random sampling with a normal ``interval`` (asymptotic, not
    anytime-valid): the shared loop and result of ``clt`` and ``ppi``."""
    point, lower, upper, stopped, m = _sequential_srs(oracle, rng, interval=interval, **loop)
    notes = {"interval": note}
    if stopped == "exhausted":
        return _exact_run(oracle, "asymptotic", False, notes, {"sample": m})
    return _Run(point, lower, upper, stopped, "asymptotic", False, notes, {"sample": m})


def _clt(
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
    """Classical normal interval for a simple random sample, with the finite-population
    correction; for ``where`` averages, the ratio estimator with a linearised variance.
    Asymptotic; checking it after every batch (error-target mode) is not anytime-valid."""
    n = oracle.n
    z = _z(delta)

    def interval(sample: np.ndarray) -> tuple[float, float, float]:
        m = sample.size
        fpc = max(1.0 - m / n, 0.0)
        if oracle.kind == "ratio":
            passes, vals = oracle.pairs(sample)
            den = float(passes.mean())
            if den <= 0 or m < 2:
                return float("nan"), oracle.lo, oracle.hi
            est = float((passes * vals).mean() / den)
            resid = passes * (vals - est)
            se = math.sqrt(float(np.var(resid, ddof=1)) / m * fpc) / den
        else:
            y = oracle.values(sample)
            est = float(y.mean())
            se = math.sqrt(float(np.var(y, ddof=1)) / m * fpc) if m > 1 else np.inf
        return est, est - z * se, est + z * se

    return _normal_run(
        oracle, rng, interval, "normal approximation with finite-population correction", error=error, relative=relative, budget=budget,
        batch_size=batch_size, growth=growth, min_batch=min_batch, min_labels=min_labels,
    )
