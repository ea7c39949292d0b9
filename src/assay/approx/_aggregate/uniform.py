"""``uniform``: uniform i.i.d. sampling with the published EBGStop empirical-Bernstein
stopping rule (Mnih, Szepesvari and Audibert, "Empirical Bernstein stopping", ICML 2008), as
used by BlazeIt (Kang et al., PVLDB vol. 13) and described as the prior algorithm in the seed
paper's Section 5.2.2. Finite-sample (i.i.d. draws; repeated draws reuse their label at no
cost).

The EBGStop loop and the i.i.d. draws here are also what :mod:`.blazeit` runs on its
control variates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._confseq import EmpiricalBernsteinStopping
from .common import _cut_to_budget, _exact_run, _next_batch, _Oracle, _Run, _target_met


def _ebs_loop(
    draw_values: Callable[[int], np.ndarray | None],
    oracle: _Oracle,
    value_range: float,
    cap: int,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    batch_size: int | None,
    growth: float,
    min_batch: int,
    p: float,
    beta: float,
) -> tuple[EmpiricalBernsteinStopping, str]:
    """Feed i.i.d. draws to EBGStop until the target, the budget or the data run out."""
    ebs = EmpiricalBernsteinStopping(value_range, delta, p=p, beta=beta)
    while True:
        if oracle.exhausted:
            return ebs, "exhausted"
        if error is None:  # nothing to check before the budget is spent: big batches
            b = max(min_batch, 2 * (cap - oracle.calls))
        else:
            b = _next_batch(ebs.t, batch_size, growth, min_batch)
        x = draw_values(b)
        if x is None or x.size == 0:
            return ebs, "budget"
        lower, upper = ebs.update(x)
        if error is not None and _target_met(float(lower[-1]), float(upper[-1]), error, relative):
            return ebs, "error"


def _iid_draws(n: int, oracle: _Oracle, cap: int, rng: np.random.Generator, transform=None):
    """``draw_values(b)`` for i.i.d. uniform draws; repeated records are not paid twice."""

    def draw(b: int) -> np.ndarray | None:
        if oracle.calls >= cap:
            return None
        idx = rng.integers(0, n, size=b)
        idx = _cut_to_budget(idx, oracle, cap - oracle.calls)
        if idx.size == 0:
            return None
        y = oracle.values(idx)
        return y if transform is None else transform(idx, y)

    return draw


def _uniform(
    proxy: np.ndarray | None,
    oracle: _Oracle,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    budget: int | None,
    rng: np.random.Generator,
    batch_size: int | None = None,
    growth: float = 0.03,
    min_batch: int = 16,
    p: float = 1.1,
    beta: float = 1.1,
) -> _Run:
    """Uniform i.i.d. sampling with the EBGStop rule (Mnih et al. 2008), as in BlazeIt.

    Draws are i.i.d. uniform over the N records (the regime of the published proof); a
    record drawn twice is labeled once. Every interval of the run holds simultaneously with
    probability ``1 - delta``, so stopping at the target or at the budget is valid.
    """
    n = oracle.n
    cap = n if budget is None else min(budget, n)
    notes = {
        "assumes": f"every oracle value lies in [{oracle.lo!r}, {oracle.hi!r}]",
        "rule": "EBGStop (Mnih, Szepesvari and Audibert 2008)",
        "p": p,
        "beta": beta,
    }
    ebs, stopped = _ebs_loop(
        _iid_draws(n, oracle, cap, rng),
        oracle,
        oracle.hi - oracle.lo,
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
    diag = {"draws": ebs.t}
    if stopped == "exhausted":
        return _exact_run(oracle, "finite-sample", True, notes, diag)
    lower = max(ebs.lower, oracle.lo)
    upper = min(ebs.upper, oracle.hi)
    return _Run(ebs.mean, lower, upper, stopped, "finite-sample", True, notes, diag)
