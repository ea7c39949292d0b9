"""The entry point of the selection core: :data:`METHODS` (method name -> function) and
:func:`run_selection`, which validates the inputs and runs one method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._validation import Interval, Options, validate_params
from ...exceptions import InvalidParameterError
from .common import LabelFn, SelectionOutcome
from .default import assay_select
from .joint import joint_select
from .pilot import pilot_select
from .supg import supg_select
from .supgpp import supgpp_select
from .uniform import uniform_select

METHODS: dict[str, Callable[..., SelectionOutcome]] = {
    "assay": assay_select,
    "assay-pilot": pilot_select,
    "supg": supg_select,
    "supg++": supgpp_select,
    "uniform": uniform_select,
    "joint": joint_select,
}


def _check_proxy(proxy: Any) -> np.ndarray:
    arr = np.asarray(proxy)
    if arr.ndim != 1:
        raise InvalidParameterError(
            f"The 'proxy' parameter of run_selection must be a 1-D array of scores. "
            f"Got an array of shape {arr.shape}."
        )
    if arr.size == 0:
        raise InvalidParameterError(
            "The 'proxy' parameter of run_selection is empty: there are no records to select from."
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidParameterError(
            f"The 'proxy' parameter of run_selection must hold real numbers in [0, 1]. "
            f"Got dtype {arr.dtype}."
        )
    arr = arr.astype(np.float64, copy=False)
    bad = np.flatnonzero(~((arr >= 0.0) & (arr <= 1.0)))
    if bad.size:
        i = int(bad[0])
        raise InvalidParameterError(
            f"The 'proxy' parameter of run_selection must hold scores in [0, 1]; record {i} has "
            f"{float(arr[i])!r} ({bad.size} bad value{'s' if bad.size > 1 else ''} in all). "
            "Rescale the scores (e.g. a sigmoid) or drop the records without a score."
        )
    if np.signbit(arr).any():  # -0.0 would sort above 1.0 in the bucket grid
        arr = np.abs(arr)
    return arr


@validate_params(
    {
        "label": [callable],
        "method": [Options(METHODS)],
        "target": [Options(("recall", "precision"))],
        "value": [Interval(float, 0, 1, closed="neither")],
        "delta": [Interval(float, 0, 1, closed="neither")],
        "budget": [Interval(int, 1, None)],
        "seed": ["random_state"],
    }
)
def run_selection(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    method: str = "assay",
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    **options: Any,
) -> SelectionOutcome:
    """Validate the inputs, then run one selection method.

    Parameters
    ----------
    proxy : array-like of float, shape (N,)
        Proxy scores in [0, 1], no NaN.
    label : callable
        ``label(idx) -> 0/1 array`` (booleans accepted), one label per index.
    method : {"assay", "assay-pilot", "supg", "supg++", "uniform", "joint"}
    target : {"recall", "precision"}
    value : float
        Target level in (0, 1).
    delta : float
        Failure probability in (0, 1).
    budget : int
        Distinct oracle labels, between 1 and N.
    seed : int, numpy.random.Generator or None
    **options
        Passed to the method (see each ``*_select`` function).

    Returns
    -------
    SelectionOutcome

    Examples
    --------
    >>> p = np.linspace(0, 1, 1000); y = (p > 0.95).astype(int)
    >>> out = run_selection(p, lambda i: y[i], value=0.9, budget=400, seed=0)
    >>> out.method, out.guarantee.kind
    ('assay', 'finite-sample')
    """
    arr = _check_proxy(proxy)
    if budget > arr.size:
        raise InvalidParameterError(
            f"The 'budget' parameter of run_selection must be at most the number of records "
            f"({arr.size}). Got {budget}."
        )
    if method == "joint" and target != "recall":
        raise InvalidParameterError(
            f"The 'target' parameter of run_selection must be 'recall' when method='joint'. "
            f"Got {target!r}."
        )
    return METHODS[method](
        arr,
        label,
        target=target,
        value=float(value),
        delta=float(delta),
        budget=int(budget),
        seed=seed,
        **options,
    )
