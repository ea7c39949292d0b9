"""``joint``: a recall-target method, then every returned candidate is sent to the oracle and
only the positives are kept (precision 1, the base method's recall guarantee; the
verification labels are counted separately, ``verification_calls``). Any of the other
methods can be the base (:func:`joint_select`'s ``base``); the default is ``assay``.

:func:`joint_targets_select` is ``target="joint"`` (issue 17, item 5): recall and precision
targets together with one finite-sample guarantee (union bound, delta split in half).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._validation import check_random_state
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


def joint_targets_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    value: tuple[float, float] = (0.9, 0.9),
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    recall_method: Callable[..., SelectionOutcome] | None = None,
    recall_share: float = 0.5,
    weight: np.ndarray | None = None,
) -> SelectionOutcome:
    """Recall >= ``R`` and precision >= ``P`` together, with one guarantee (``target="joint"``).

    1. A recall-certified set ``S`` at ``delta / 2`` from ``recall_method`` (the default
       method, or the weighted / assumption designs) with ``recall_share`` of the budget.
    2. Precision of ``S`` at ``delta / 2``, with the rest of the budget: when it covers every
       unlabeled record of ``S`` they are all verified and the negatives dropped (precision 1,
       nothing spent from delta); otherwise a simple random sample of them certifies
       ``precision(S) >= P`` by the betting test of :mod:`.certify`, counting the labels
       already known exactly, and the negatives seen are dropped (which keeps the recall and
       can only raise the precision).

    By the union bound both targets hold together with probability at least ``1 - delta``
    (of the recall method's kind). When the precision cannot be certified an
    :class:`~assay.exceptions.InvalidParameterError` says which budget would verify every
    candidate.

    ``recall_method(proxy, label, target=, value=, delta=, budget=, seed=)`` returns a recall
    outcome; its labels are remembered, so the precision step pays for none twice. With
    ``weight`` both targets are weighted (the recall method must be weighted too).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(4000); y = (rng.random(4000) < p ** 12).astype(int)
    >>> out = joint_targets_select(p, lambda i: y[i], value=(0.8, 0.6), budget=1500, seed=1)
    >>> out.target, out.guarantee.notes["precision_by"] in ("verification", "certified")
    ('joint', True)
    """
    from .certify import wor_mean_at_most
    from .dispatch import METHODS  # dispatch imports this module: resolve at call time

    recall, precision = (float(v) for v in value)
    rng = check_random_state(seed)
    n = proxy.size
    known = np.full(n, -1, dtype=np.int8)

    def remembered(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        todo = idx[known[idx] < 0]
        if todo.size:
            known[todo] = _check_labels(label(todo), todo.size)
        return known[idx].astype(np.int64)

    method = recall_method or METHODS["assay"]
    b_recall = max(1, int(budget * recall_share))
    first = method(proxy, remembered, target="recall", value=recall, delta=delta / 2,
                   budget=b_recall, seed=rng)
    w = np.ones(n) if weight is None else weight
    chosen = np.zeros(n, dtype=bool)
    chosen[first.selected] = True
    spent = int(first.oracle_calls)
    left = budget - spent
    cand = np.flatnonzero(chosen & (known < 0))
    if cand.size <= left:
        if cand.size:
            remembered(cand)
        by, spent = "verification", spent + int(cand.size)
        ok = True
    else:
        sample = cand[rng.permutation(cand.size)[:left]]
        ys = remembered(sample).astype(float)
        spent += int(sample.size)
        fresh = np.zeros(n, dtype=bool)
        fresh[sample] = True
        k = chosen & (known >= 0) & ~fresh
        exact = float((w[k] * (known[k] - precision)).sum())
        ok = bool(wor_mean_at_most(-(w[sample] * (ys - precision)), cand.size,
                                   exact / cand.size, -(1.0 - precision) * float(w[cand].max()),
                                   precision * float(w[cand].max()), delta / 2)[0])
        by = "certified"
    if not ok:
        raise InvalidParameterError(
            f"select: the budget of {budget} cannot certify recall >= {recall:g} and precision "
            f">= {precision:g} together: the recall-certified set holds {int(chosen.sum())} "
            f"records, {cand.size} of them unlabeled, and the {left} labels left did not "
            f"certify its precision at delta {delta / 2:g}. A budget of about "
            f"{spent - left + cand.size} would verify every candidate (precision 1); or lower "
            "the precision target.")
    keep = chosen & (known != 0)
    return SelectionOutcome(
        method=f"joint({first.method})",
        target="joint",
        value=recall,
        delta=float(delta),
        budget=int(budget),
        selected=np.flatnonzero(keep),
        threshold=first.threshold,
        oracle_calls=spent,
        guarantee=Guarantee(
            kind=first.guarantee.kind,
            target="joint",
            value=recall,
            delta=float(delta),
            notes={**first.guarantee.notes, "recall": recall, "precision": precision,
                   "precision_by": by,
                   "delta_split": {"recall": delta / 2, "precision": delta / 2}},
        ),
        seed=seed,
        diagnostics={**first.diagnostics, "recall_labels": int(first.oracle_calls),
                     "precision_labels": spent - int(first.oracle_calls),
                     "candidates": int(chosen.sum())},
    )
