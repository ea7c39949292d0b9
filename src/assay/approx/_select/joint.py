"""``joint``: a recall-target method, then every returned candidate is sent to the oracle and
only the positives are kept (precision 1, the base method's recall guarantee; the
verification labels are counted separately, ``verification_calls``). Any of the other
methods can be the base (:func:`joint_select`'s ``base``); the default is ``assay``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import InvalidParameterError
from .._result import Guarantee
from .common import LabelFn, SelectionOutcome, _check_labels


def joint_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    base: str = "assay",
) -> SelectionOutcome:
    """Recall target with ``base``, then verify every candidate with the oracle.

    The returned set holds only oracle-confirmed positives (precision 1); its recall is that
    of the base method's set, with the base method's guarantee. ``oracle_calls`` counts the
    base method's labels; ``verification_calls`` the extra distinct labels of the
    verification.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(3000); y = (rng.random(3000) < p ** 8).astype(int)
    >>> out = joint_select(p, lambda i: y[i], value=0.9, budget=1000, seed=1)
    >>> bool(y[out.selected].all()), out.verification_calls > 0
    (True, True)
    """
    if target != "recall":
        raise InvalidParameterError(
            f"The 'target' parameter of joint_select must be 'recall'. Got {target!r}. "
            "(joint verifies every candidate, so its precision is always 1.)"
        )
    if base not in ("assay", "supg", "supg++", "uniform"):
        raise InvalidParameterError(
            f"The 'base' parameter of joint_select must be one of {{'assay', 'supg', 'supg++', "
            f"'uniform'}}. Got {base!r}."
        )
    from .dispatch import METHODS  # dispatch imports this module: resolve at call time

    n = proxy.size
    cache = np.full(n, -1, dtype=np.int8)

    def caching_label(idx: np.ndarray) -> np.ndarray:
        out = _check_labels(label(idx), idx.size)
        cache[idx] = out
        return out

    first = METHODS[base](
        proxy, caching_label, target="recall", value=value, delta=delta, budget=budget, seed=seed
    )
    cand = first.selected
    todo = cand[cache[cand] < 0]
    if todo.size:
        cache[todo] = _check_labels(label(todo), todo.size)
    keep = cand[cache[cand] == 1]
    diag = dict(first.diagnostics)
    diag.update({"base": base, "candidates": int(cand.size)})
    return SelectionOutcome(
        method="joint",
        target="recall",
        value=float(value),
        delta=float(delta),
        budget=int(budget),
        selected=np.sort(keep).astype(np.int64),
        threshold=first.threshold,
        oracle_calls=first.oracle_calls,
        guarantee=Guarantee(
            kind=first.guarantee.kind,
            target="recall",
            value=float(value),
            delta=float(delta),
            notes={**first.guarantee.notes, "base": base, "precision": 1.0},
        ),
        verification_calls=int(todo.size),
        seed=seed,
        diagnostics=diag,
    )
