"""``uniform``: the uniform-sampling baselines of the SUPG paper (its U-CI baselines; Kang et
al., PVLDB vol. 13, 2020), with SUPG's normal-approximation bounds and with the lower bound
used where a lower bound is meant (the published precision baseline used the upper bound).
Asymptotic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._validation import check_random_state
from .._select_bounds import clt_lower
from .common import (
    LabelFn,
    SelectionOutcome,
    _known_positive_mask,
    _Labeler,
    _outcome,
    _prefix_mask,
    _rank_order,
    _srs,
)
from .supg import _supg_recall_from_sample


def uniform_select(
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
) -> SelectionOutcome:
    """Uniform-sampling baselines with SUPG's normal bounds (asymptotic).

    A simple random sample of ``budget`` records. Recall target: SUPG's adjusted-target rule
    with unit masses. Precision target: the sample sorted by proxy; the precision of the
    prefix holding the top ``start``, ``start + step``, ... samples is lower-bounded (normal
    bound, union bound over the cutoffs tested) and the largest prefix whose *lower* bound
    exceeds ``value`` is returned, with every sampled positive.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000); y = (rng.random(2000) < p ** 4).astype(int)
    >>> out = uniform_select(p, lambda i: y[i], target="precision", value=0.5, budget=300, seed=1)
    >>> out.oracle_calls
    300
    """
    rng = check_random_state(seed)
    n = proxy.size
    labeler = _Labeler(label, n, budget)
    sample = _srs(rng, n, None, budget)
    labeler.query(sample)
    if target == "recall":
        mask, thr, diag = _supg_recall_from_sample(
            proxy, labeler, sample, np.ones(sample.size), value, delta
        )
    else:
        order = _rank_order(proxy, sample)
        s = sample[order]
        y = labeler.known[s].astype(float)
        n_cand = max(0, (s.size - start) // step + 1) if s.size >= start else 0
        dlt = delta / max(n_cand, 1)
        best = -1
        best_lb = math.nan
        for k in range(start, s.size + 1, step):
            lb = clt_lower(y[:k], dlt)
            if lb > value:
                best, best_lb = k, lb
        mask = _known_positive_mask(labeler).copy()
        thr = math.inf
        diag = {"n_tests": n_cand, "precision_lb": best_lb, "n_top_samples": best}
        if best > 0:
            if best < s.size:
                # every record ranked before the first sample left out of the prefix
                nxt = int(s[best])
                pm = _prefix_mask(proxy, nxt)
                pm[nxt] = False
                thr = float(proxy[s[best - 1]])
            else:
                pm = np.ones(n, dtype=bool)
                thr = float(proxy.min())
            mask |= pm
    return _outcome(
        method="uniform",
        target=target,
        value=value,
        delta=delta,
        budget=budget,
        mask=mask,
        threshold=thr,
        labeler=labeler,
        kind="asymptotic",
        seed=seed,
        notes={"sampling": "uniform, without replacement", "bounds": "normal approximation"},
        diagnostics=diag,
    )
