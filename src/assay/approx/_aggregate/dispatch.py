"""The entry point of the aggregation core: :data:`METHODS` (method name -> function) and
:func:`estimate_aggregate`, which wraps the ``label`` callback in the oracle for the query
(mean, sum or count, with or without ``where``), runs one method and returns an
:class:`AggregateOutcome` on the scale of the statistic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._validation import check_random_state
from ...exceptions import InvalidParameterError
from .._result import Guarantee
from .abae import _abae
from .betting import _betting
from .blazeit import _blazeit
from .blazeit_pp import _blazeit_pp
from .clt import _clt
from .common import _Oracle, _Run
from .ppi import _ppi
from .uniform import _uniform

DEFAULT_METHOD = "betting"


@dataclass(frozen=True)
class AggregateOutcome:
    """The answer of an aggregation query and what it promises.

    Attributes
    ----------
    estimate : float
        The point answer. In error-target mode it is the point the guarantee is about: with
        probability at least ``1 - delta`` it lies within ``error`` (absolute) or within
        ``error * |truth|`` (relative) of the truth whenever ``stopped == "error"``.
    lower, upper : float
        Confidence interval for the truth (level ``1 - delta``).
    oracle_calls : int
        Distinct records sent to the oracle.
    guarantee : Guarantee
        Kind (finite-sample or asymptotic), delta, error target, anytime validity.
    method : str
        Method name (a key of :data:`METHODS`).
    stat : str
        ``"mean"``, ``"sum"`` or ``"count"``.
    n_records : int
        N, the number of records queried.
    stopped : str
        Why sampling ended: ``"error"`` (target reached), ``"budget"``, ``"exhausted"``
        (every record labeled: the answer is exact) or ``"trivial"`` (no label needed).
    seed : int or None
        The integer seed, when one was given.
    diagnostics : dict
        Method-specific details (draws, strata, pilot, coefficient, timing ...).
    """

    estimate: float
    lower: float
    upper: float
    oracle_calls: int
    guarantee: Guarantee
    method: str
    stat: str
    n_records: int
    stopped: str
    seed: int | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def half_width(self) -> float:
        """``(upper - lower) / 2``."""
        return 0.5 * (self.upper - self.lower)


def _guaranteed_point(lower: float, upper: float, relative: bool, error: float | None) -> float:
    """The point within ``error`` of every value of ``[lower, upper]`` (Mnih et al.)."""
    if relative and error is not None and (lower > 0 or upper < 0):
        sign = 1.0 if lower > 0 else -1.0
        a, b = sorted((abs(lower), abs(upper)))
        return sign * 0.5 * ((1.0 + error) * a + (1.0 - error) * b)
    return 0.5 * (lower + upper)


METHODS: dict[str, Callable[..., _Run]] = {
    "betting": _betting,
    "uniform": _uniform,
    "blazeit": _blazeit,
    "blazeit++": _blazeit_pp,
    "abae": _abae,
    "ppi": _ppi,
    "clt": _clt,
}
_RATIO_METHODS = {"betting", "abae", "clt"}


def estimate_aggregate(
    method: str,
    *,
    n_records: int,
    label: Callable[[np.ndarray], Any],
    lo: float,
    hi: float,
    proxy: np.ndarray | None = None,
    stat: str = "mean",
    where: bool = False,
    error: float | None = None,
    relative: bool = False,
    delta: float = 0.05,
    budget: int | None = None,
    seed: int | np.random.Generator | None = None,
    on_batch: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> AggregateOutcome:
    """Run one aggregation method over plain arrays (no validation: callers validate).

    ``on_batch`` (default method only) is called after each batch with ``labels``,
    ``estimate``, ``lower`` and ``upper``: the anytime-valid interval as it tightens; when it
    returns True the query stops there (``stopped == "stopped"``; the guarantee holds at any
    stopping time).

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    n_records : int
        N.
    label : callable
        ``label(idx) -> values`` (or ``(passes, values)`` when ``where``), called in batches
        with distinct, never-asked indices.
    lo, hi : float
        Range of the oracle's value (for ``where`` queries: of the value among records that
        pass).
    proxy : numpy.ndarray or None
        Cheap score for every record, shape ``(N,)``.
    stat : {"mean", "sum", "count"}
        ``sum = N * mean``; ``count`` counts records passing ``where`` (N without it).
    where : bool
        Whether the oracle also answers an expensive predicate.
    error : float or None
        Error target: absolute (in the unit of ``stat``) or relative.
    relative : bool
        Whether ``error`` is relative to the truth.
    delta : float
        Failure probability.
    budget : int or None
        Maximum number of distinct records to label.
    seed : int, numpy.random.Generator or None
        Randomness.
    **options
        Method-specific options.

    Returns
    -------
    AggregateOutcome

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> proxy = rng.random(20_000)
    >>> truth = (rng.random(20_000) < proxy**3).astype(float)  # what the oracle would say
    >>> r = estimate_aggregate("betting", n_records=20_000, label=lambda idx: truth[idx],
    ...                        lo=0.0, hi=1.0, proxy=proxy, error=0.02, seed=0)
    >>> r.stopped, r.guarantee.kind, r.guarantee.anytime
    ('error', 'finite-sample', True)
    >>> bool(r.lower <= truth.mean() <= r.upper), bool(abs(r.estimate - truth.mean()) <= 0.02)
    (True, True)
    >>> r.oracle_calls < 2_000
    True
    """
    if method not in METHODS:
        raise InvalidParameterError(
            f"The 'method' parameter must be one of {sorted(METHODS)}. Got {method!r}."
        )
    n = int(n_records)
    rng = check_random_state(seed)
    int_seed = int(seed) if isinstance(seed, (int, np.integer)) else None
    t0 = time.perf_counter()
    if stat == "count" and not where:
        return AggregateOutcome(
            estimate=float(n),
            lower=float(n),
            upper=float(n),
            oracle_calls=0,
            guarantee=Guarantee("finite-sample", "coverage", error, delta, anytime=True),
            method=method,
            stat=stat,
            n_records=n,
            stopped="trivial",
            seed=int_seed,
            diagnostics={"note": "count without 'where' is the number of records"},
        )
    scale = 1.0 if stat == "mean" else float(n)
    if where and stat == "mean":
        if method not in _RATIO_METHODS:
            raise InvalidParameterError(
                f"Method {method!r} cannot average over records passing 'where'; use one of "
                f"{sorted(_RATIO_METHODS)}."
            )
        oracle = _Oracle(n, label, lo, hi, kind="ratio")
    elif where and stat == "count":
        oracle = _Oracle(n, label, 0.0, 1.0, transform="passes", value_lo=-np.inf, value_hi=np.inf)
    elif where:  # sum over passing records
        oracle = _Oracle(
            n, label, min(lo, 0.0), max(hi, 0.0), transform="product", value_lo=lo, value_hi=hi
        )
    else:
        oracle = _Oracle(n, label, lo, hi)
    err = None if error is None else (float(error) if relative else float(error) / scale)
    if on_batch is not None:
        if method != "betting":
            raise InvalidParameterError(
                f"on_batch reports the interval after each batch of the default method only "
                f"(an anytime-valid confidence sequence); method {method!r} has no such interval.")
        options["watch"] = lambda calls, point, lower, upper: bool(on_batch(
            {"labels": calls, "estimate": point * scale, "lower": lower * scale,
             "upper": upper * scale}))
    run = METHODS[method](
        proxy,
        oracle,
        error=err,
        relative=relative,
        delta=delta,
        budget=budget,
        rng=rng,
        **options,
    )
    # the truth lies in the stated range whatever the sample: clip (and mend undefined ends)
    if run.stopped != "exhausted":
        run.lower = max(run.lower, oracle.lo) if np.isfinite(run.lower) else oracle.lo
        run.upper = min(run.upper, oracle.hi) if np.isfinite(run.upper) else oracle.hi
        if not np.isfinite(run.point):
            run.point = 0.5 * (run.lower + run.upper)
    if run.stopped == "error":
        estimate = _guaranteed_point(run.lower, run.upper, relative, err)
    elif run.stopped == "exhausted":
        estimate = run.point
    else:
        estimate = float(np.clip(run.point, run.lower, run.upper))
    guarantee = Guarantee(
        kind=run.kind,
        target="coverage",
        value=error,
        delta=delta,
        anytime=run.anytime,
        notes=dict(run.notes, relative=relative),
    )
    diagnostics = dict(run.diagnostics)
    diagnostics["point"] = run.point * scale
    if "path" in diagnostics:
        diagnostics["path"] = [(c, p * scale, lo_ * scale, hi_ * scale)
                               for c, p, lo_, hi_ in diagnostics["path"]]
    diagnostics["oracle_batches"] = oracle.batches
    diagnostics["seconds_excluding_oracle"] = time.perf_counter() - t0 - oracle.oracle_seconds
    return AggregateOutcome(
        estimate=estimate * scale,
        lower=run.lower * scale,
        upper=run.upper * scale,
        oracle_calls=oracle.calls,
        guarantee=guarantee,
        method=method,
        stat=stat,
        n_records=n,
        stopped=run.stopped,
        seed=int_seed,
        diagnostics=diagnostics,
    )
