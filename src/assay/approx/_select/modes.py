"""The selection modes beyond a plain recall or precision target (issue 17, items 4-6):
``assume=`` (:mod:`.assume`), ``weight=`` (:mod:`.weighted`) and ``target="joint"``
(:func:`.joint.joint_targets_select`). :func:`run_mode` picks the design; plain targets go
to :func:`.dispatch.run_selection` unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ...exceptions import InvalidParameterError
from .assume import MinDensity, assume_select
from .common import LabelFn, SelectionOutcome
from .dispatch import run_selection
from .joint import joint_targets_select
from .weighted import weighted_select

__all__ = ["run_mode"]


def run_mode(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    target: str,
    value: Any,
    delta: float,
    budget: int,
    seed: Any,
    method: str = "assay",
    weight: np.ndarray | None = None,
    assume: MinDensity | None = None,
    **options: Any,
) -> SelectionOutcome:
    """Run the design for this combination of target, weights and assumption.

    Examples
    --------
    >>> p = np.linspace(0, 1, 2000); y = (p > 0.97).astype(int)
    >>> out = run_mode(p, lambda i: y[i], target="recall", value=0.9, delta=0.05, budget=500,
    ...                seed=0, weight=np.full(2000, 2.0))
    >>> out.method, out.guarantee.kind
    ('assay-weighted', 'finite-sample')
    """
    plain = target != "joint" and weight is None and assume is None
    if plain:
        return run_selection(proxy, label, method=method, target=target, value=value,
                             delta=delta, budget=budget, seed=seed, **options)
    if method != "assay":
        what = ("target='joint'" if target == "joint" else
                "assume=" if assume is not None else "weight=")
        raise InvalidParameterError(
            f"select: {what} runs assay's own designs; method must be 'assay'. Got {method!r}.")
    if options:
        raise InvalidParameterError(
            f"select: {', '.join(sorted(options))} is not supported with weight=, assume= or "
            "target='joint'.")
    if assume is not None:
        recall = functools.partial(assume_select, assume=assume, weight=weight)
    elif weight is not None:
        recall = functools.partial(weighted_select, weight=weight)
    else:
        recall = None
    if target == "joint":
        return joint_targets_select(proxy, label, value=value, delta=delta, budget=budget,
                                    seed=seed, recall_method=recall, weight=weight)
    if assume is not None and target != "recall":
        raise InvalidParameterError(
            f"select: assume= supports target='recall' (or 'joint'). Got {target!r}.")
    if assume is not None:
        return recall(proxy, label, target=target, value=value, delta=delta, budget=budget,
                      seed=seed)
    return weighted_select(proxy, label, weight=weight, target=target, value=value,
                           delta=delta, budget=budget, seed=seed)
