"""``supg++``: SUPG++, the seed paper's Algorithm 2 (Kang et al., "Data management for
ML-based analytics and beyond", Section 5.3.3): SUPG with the sampling weight of the top
``3 * sum(proxy)`` records set to 1, then :mod:`.supg`'s procedure. Asymptotic, as SUPG.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .common import LabelFn, SelectionOutcome, _top_k_mask
from .supg import _supg_family


def supgpp_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    start: int = 100,
    step: int = 100,
    upweight_factor: float = 3.0,
) -> SelectionOutcome:
    """SUPG++ (the seed paper's Algorithm 2): SUPG with the top ``3A`` records up-weighted.

    ``A = sum(proxy)`` estimates the number of positives; the sampling weight of the
    ``ceil(upweight_factor * A)`` highest-proxy records (ties by index) is set to 1 (as if
    their proxy were 1), every other weight stays ``sqrt(proxy)``; then :func:`supg_select`'s
    procedure runs. Guarantee: asymptotic, as SUPG.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000); y = (rng.random(2000) < p ** 4).astype(int)
    >>> out = supgpp_select(p, lambda i: y[i], value=0.9, budget=300, seed=1)
    >>> out.method, out.oracle_calls
    ('supg++', 300)
    """
    n = proxy.size
    top = int(min(n, math.ceil(upweight_factor * float(proxy.sum()))))
    weights = np.sqrt(proxy)
    weights[_top_k_mask(proxy, top)] = 1.0
    return _supg_family(
        proxy,
        label,
        weights,
        method="supg++",
        target=target,
        value=value,
        delta=delta,
        budget=budget,
        seed=seed,
        start=start,
        step=step,
        notes={"sampling": f"weight 1 on the top {top} records, sqrt(proxy) elsewhere"},
    )
