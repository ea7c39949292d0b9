"""Approximate aggregation with guarantees: the mean (sum, count) of an expensive oracle over
records, within an error target or a label budget, with probability at least 1 - delta."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import counting
from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError
from ._aggregate import METHODS, estimate_aggregate
from ._labeling import Labeler, QueryRun, records_of, seed_repr
from ._result import Guarantee
from .oracle import ColumnOracle, Oracle, as_oracle

__all__ = ["AggregateResult", "aggregate"]

#: ``"assay"`` is the default method's public name; ``"betting"`` names the same method.
_ALIASES = {"assay": "betting"}
_BATCHED = {"betting", "uniform", "blazeit", "ppi", "clt"}


@dataclass(frozen=True)
class AggregateResult:
    """The answer of :func:`aggregate`.

    Attributes
    ----------
    estimate : float
        The answer. When ``stopped == "error"`` it lies within ``error`` of the truth (or
        within ``error * |truth|`` when ``relative``) with probability at least ``1 - delta``.
    lower, upper : float
        Confidence interval for the truth, level ``1 - delta``.
    oracle_calls : int
        Distinct records the query needed labels for (its cost, whether or not a cache
        already held them). ``labels_paid`` counts the ones actually asked of the oracle now.
    guarantee : Guarantee
        Kind (``finite-sample`` or ``asymptotic``), delta, error target, and whether it is
        anytime valid (the labeling could have stopped at any batch).
    stopped : str
        ``"error"`` (target reached), ``"budget"``, ``"exhausted"`` (every record labeled:
        the answer is exact), ``"stopped"`` (``on_batch`` stopped it) or ``"trivial"`` (no
        label needed).
    method, stat, error, relative, delta, budget, range, n_records, seed
        How the query was run; the same seed and records reproduce it exactly.
    diagnostics : dict
        Method internals (strata, pilot, coefficients, time spent outside the oracle); not
        compared by ``==``.
    run_id : str or None
        The query's run in the workspace (its inputs, oracles and answers are recorded there),
        None without a workspace; not compared by ``==``.
    certain : (float, float)
        What the labels seen prove for certain, whatever the other records hold (each within
        ``range``, passing ``where`` or not): no probability involved. It contains the truth
        always, the interval ``lower, upper`` with probability ``1 - delta``; it is wide
        until most records are labeled and equals the answer when all are.
    """

    estimate: float
    lower: float
    upper: float
    oracle_calls: int
    labels_paid: int
    guarantee: Guarantee
    stopped: str
    method: str
    stat: str
    error: float | None
    relative: bool
    delta: float
    budget: int | None
    range: tuple[float, float]
    n_records: int
    seed: Any
    diagnostics: dict = field(repr=False, compare=False, default_factory=dict)
    run_id: str | None = field(default=None, compare=False)
    certain: tuple[float, float] = (-np.inf, np.inf)

    @property
    def half_width(self) -> float:
        """``(upper - lower) / 2``."""
        return 0.5 * (self.upper - self.lower)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no diagnostics)."""
        g = self.guarantee
        return {
            "estimate": self.estimate, "lower": self.lower, "upper": self.upper,
            "oracle_calls": self.oracle_calls, "labels_paid_now": self.labels_paid,
            "stopped": self.stopped, "method": self.method, "stat": self.stat,
            "error": self.error, "relative": self.relative, "delta": self.delta,
            "budget": self.budget, "range": list(self.range), "n_records": self.n_records,
            "seed": self.seed if isinstance(self.seed, (int, type(None))) else repr(self.seed),
            "guarantee": {"kind": g.kind, "target": g.target, "value": g.value,
                          "delta": g.delta, "anytime": g.anytime},
            "certain": [float(self.certain[0]), float(self.certain[1])],
        }


def _numeric_column(table: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in table.columns:
        raise InvalidParameterError(
            f"The {what!r} parameter of aggregate must name a column of the records. Got "
            f"{column!r}; the columns are {', '.join(map(str, table.columns))}.")
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rid, val = (v.item() if isinstance(v, np.generic) else v
                    for v in (table["id"].iloc[i], table[column].iloc[i]))
        raise InvalidParameterError(
            f"aggregate: {what} column {column!r} must hold finite numbers; record id {rid!r} has "
            f"{val!r} ({int(bad.sum())} bad in all).")
    return values


def _implied_range(orc: Oracle | None, table: pd.DataFrame, stat: str, where: bool) -> tuple[float, float]:
    if stat == "count" or orc is None:
        return (0.0, 1.0)
    if isinstance(orc, ColumnOracle) and orc.column in table.columns and pd.api.types.is_bool_dtype(table[orc.column]):
        return (0.0, 1.0)
    raise InvalidParameterError(
        "aggregate needs range=(lo, hi): the least and greatest value the oracle can return "
        "(for example (0, 1) for a yes/no label, (0, 60) for 'at most 60 people per frame'). "
        "Every finite-sample interval rests on it, so it is never estimated from the sample; "
        "the query stops with an error if the oracle ever answers outside it.")


def _answers(values: Any, n: int, who: str) -> np.ndarray:
    out = np.asarray(values)
    if out.shape != (n,):
        raise InvalidParameterError(
            f"the {who} returned {out.shape[0] if out.ndim else 'a scalar'} values for {n} records; "
            "it must return one per record.")
    try:
        return out.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"the {who} must answer numbers; got {out[:5].tolist()}.") from None


@validate_params({
    "proxy": [str, None],
    "stat": [Options(["mean", "sum", "count"])],
    "error": [Interval(float, 0, None, closed="neither"), None],
    "relative": [bool],
    "delta": [Interval(float, 0, 1, closed="neither")],
    "budget": [Interval(int, 1, None), None],
    "method": [Options(["assay", *METHODS])],
    "seed": ["random_state"],
    "batch_size": [Interval(int, 1, None), None],
    "name": [str, None],
    "labels": [str, None],
    "on_batch": [callable, None],
})
def aggregate(
    records: pd.DataFrame | str | Path,
    *,
    oracle: Oracle | str | Any = None,
    proxy: str | None = None,
    stat: str = "mean",
    where: Oracle | str | Any = None,
    error: float | None = None,
    relative: bool = False,
    delta: float = 0.05,
    budget: int | None = None,
    method: str = "assay",
    range: tuple[float, float] | None = None,
    seed: Any = None,
    workspace: Any = None,
    name: str | None = None,
    batch_size: int | None = None,
    labels: str | None = None,
    on_batch: Any = None,
) -> AggregateResult:
    """Estimate the mean, sum or count of an expensive oracle over records, with a guarantee.

    Two modes: with ``error``, label until the interval is within ``+-error`` (error-target
    mode); with ``budget``, label at most ``budget`` distinct records and return the tightest
    interval they give (fixed-budget mode). With both, stop at whichever comes first.

    Parameters
    ----------
    records : pandas.DataFrame or path
        Records with an ``id`` column (CSV / Parquet path accepted).
    oracle : Oracle or str or callable
        The expensive value per record: ``"column:COL"``, ``"python:mod:fn"``,
        ``"human:FOLDER"``, a callable on rows, an :class:`~assay.approx.Oracle`, or the
        name of an oracle of ``workspace`` (:meth:`~assay.store.Workspace.add_oracle`; its
        value range is then the default ``range``). Not needed for ``stat="count"`` with
        ``where``.
    proxy : str, optional
        Column of cheap scores correlated with the oracle (any finite numbers; for example
        the number of detections in a frame). Every method but ``uniform`` and ``clt``
        uses it.
    stat : {"mean", "sum", "count"}
        ``mean`` of the oracle (over records passing ``where``, when given); ``sum`` over
        records (passing ``where``); ``count`` of records passing ``where``.
    where : Oracle or str or callable, optional
        An expensive yes/no predicate, answered like ``oracle`` (``"column:has_bus"``): the
        query is about records that pass it (ABAE's setting). A record's cost is counted
        once, whichever oracles it needed.
    error : float, optional
        Error target (half-width of the interval), absolute in the unit of ``stat``, or
        relative to the truth when ``relative=True``.
    relative : bool, default False
    delta : float, default 0.05
        Failure probability: the interval misses the truth with probability at most delta.
    budget : int, optional
        Most distinct records to label.
    method : str, default "assay"
        ``"assay"`` (= ``"betting"``): proxy-stratified betting confidence sequence, finite
        sample and anytime valid. Baselines: ``"uniform"`` (EBGStop), ``"blazeit"``
        (control variates + EBGStop), ``"blazeit++"``, ``"abae"``, ``"ppi"``, ``"clt"``; the
        result's guarantee says which are only asymptotic.
    range : (float, float), optional
        Least and greatest value the oracle can return (required unless the oracle is a
        boolean column or ``stat="count"``). Never estimated from the sample.
    seed : int or numpy.random.Generator, optional
        Makes the query reproducible; rerun with the same seed to resume an interrupted query.
    workspace : assay.Workspace, optional
        Caches every oracle answer as soon as it arrives (a rerun pays nothing twice) and
        records the query as a run with its inputs. An answer is reused only for a record
        with the same id and the same values in the fields the oracle reads, asked of the
        same oracle (see :mod:`assay.store.identity`).
    name : str, optional
        Names the records (default: the file's path, the workspace table a frame was read
        from, or ``df.attrs["name"]``).
    batch_size : int, optional
        Records sent to the oracle per batch (people label in batches); default grows with
        the sample. Not used by ``blazeit++`` and ``abae``.
    labels : str, optional
        Share cached answers under this key by record id alone, whatever the records' other
        fields: the explicit opt-in to reuse answers across data sets whose ids name the same
        things (and answers a workspace of format 1 stored under that key). With ``where``,
        the predicate's answers are shared under ``KEY/where``.
    on_batch : callable, optional
        Default method only: called after each batch with a dict of ``labels`` (spent so
        far), ``estimate``, ``lower`` and ``upper``, the interval as it tightens. The interval
        is valid at every batch, so a person may stop when it is tight enough: when
        ``on_batch`` returns True, the query ends there with that interval
        (``stopped == "stopped"``). The whole path is also in ``diagnostics["path"]`` and in
        the run's summary.

    Returns
    -------
    AggregateResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from assay.approx import aggregate
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=20_000)
    >>> recs = pd.DataFrame({"id": np.arange(20_000), "score": p,
    ...                      "cars": rng.binomial(6, p)})  # what an expensive detector would count
    >>> r = aggregate(recs, oracle="column:cars", proxy="score", error=0.1, range=(0, 6), seed=1)
    >>> r.guarantee.kind, r.stopped, bool(r.lower <= recs["cars"].mean() <= r.upper)
    ('finite-sample', 'error', True)
    >>> r.oracle_calls  # uniform sampling with EBGStop needs 10,056 (method="uniform")
    700
    """
    if error is None and budget is None:
        raise InvalidParameterError(
            "aggregate needs an error target (error=...), a label budget (budget=...), or both.")
    if relative and error is None:
        raise InvalidParameterError("aggregate: relative=True needs an error target (error=...).")
    core = _ALIASES.get(method, method)
    if batch_size is not None and core not in _BATCHED:
        raise InvalidParameterError(f"aggregate: method {method!r} does not take batch_size.")
    table, records_identity, lineage = records_of(records, "aggregate", name)
    n = len(table)
    if workspace is not None:  # an oracle name of the workspace stands for its spec (and range)
        oracle, range = workspace.resolve_oracle(oracle, range)
        where, _ = workspace.resolve_oracle(where)
    orc = None if oracle is None else as_oracle(oracle, param="oracle", caller="aggregate")
    pred = None if where is None else as_oracle(where, param="where", caller="aggregate")
    if orc is None and stat != "count":
        raise InvalidParameterError(
            "aggregate needs an oracle (oracle='column:COL', 'python:module:fn', 'human:FOLDER' "
            "or a callable); only stat='count' does without one.")
    if stat == "count" and pred is None:
        orc = None  # the count of all records needs no label
    if range is None:
        lo, hi = _implied_range(orc, table, stat, pred is not None)
    else:
        try:
            lo, hi = (float(v) for v in range)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"The 'range' parameter of aggregate must be a pair (lo, hi) of numbers. Got {range!r}.") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InvalidParameterError(
                f"The 'range' parameter of aggregate must be a pair (lo, hi) of finite numbers with lo < hi. Got {range!r}.")
    scores = None if proxy is None else _numeric_column(table, proxy, "proxy")
    if scores is None and core not in ("uniform", "clt", "betting"):
        raise InvalidParameterError(f"aggregate: method {method!r} needs a proxy column (proxy=...).")

    proxies = [] if proxy is None else [proxy]

    def numbers(who: str) -> Any:
        return lambda values, k: _answers(values, k, who)

    def yes_no(values: Any, k: int) -> np.ndarray:
        passes = _answers(values, k, "'where' oracle")
        if not np.isin(passes, (0.0, 1.0)).all():
            raise InvalidParameterError(
                "the 'where' oracle must answer 0 or 1 (or True / False); got "
                f"{passes[~np.isin(passes, (0.0, 1.0))][:5].tolist()}.")
        return passes

    value_of = None if orc is None else Labeler(
        orc, table, records=records_identity, proxy=proxies, workspace=workspace, key=labels,
        run_id=None, check=numbers("oracle"), first=pred is None)
    passes_of = None if pred is None else Labeler(
        pred, table, records=records_identity, proxy=proxies, workspace=workspace,
        key=None if labels is None else f"{labels}/where", run_id=None, check=yes_no)

    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (positions, passes, values) per call

    if pred is None:
        def label(positions: np.ndarray) -> np.ndarray:
            values = value_of(positions)
            seen.append((positions, np.ones(len(positions)), values))
            return values
    else:
        def label(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            passes = passes_of(positions)
            values = np.zeros(len(positions))
            if value_of is not None and passes.any():
                values[passes > 0] = value_of(positions[passes > 0])
            seen.append((positions, passes, values))
            return passes, values

    options = {} if batch_size is None else {"batch_size": batch_size}
    if pred is not None and stat == "count":
        lo, hi = 0.0, 1.0
    params = {"verb": "aggregate", "stat": stat, "oracle": None if orc is None else orc.name,
              "where": None if pred is None else pred.name, "proxy": proxy, "error": error,
              "relative": relative, "delta": delta, "budget": budget, "method": method,
              "range": [lo, hi], "seed": seed_repr(seed), "labels": labels,
              "batch_size": batch_size}
    inputs = [lineage] + [lab.lineage(role) for lab, role in
                          ((value_of, "oracle"), (passes_of, "where")) if lab is not None]
    labelers = [lab for lab in (value_of, passes_of) if lab is not None]
    with QueryRun(workspace, params, inputs, labelers) as run:
        with counting("oracle labels paid", total=None if budget is None else min(budget, n)):
            out = estimate_aggregate(
                core, n_records=n, label=label, lo=lo, hi=hi, proxy=scores, stat=stat,
                where=pred is not None, error=error, relative=relative, delta=delta,
                budget=None if budget is None else min(budget, n), seed=seed, on_batch=on_batch,
                **options)
        payer = passes_of if passes_of is not None else value_of  # counts each record once
        paid = 0 if payer is None else payer.paid
        certain = certain_bounds(*_distinct(seen), n, lo, hi, stat=stat, where=pred is not None)
        run.summary = {"estimate": out.estimate, "lower": out.lower, "upper": out.upper,
                       "certain": [float(certain[0]), float(certain[1])],
                       "oracle_calls": int(out.oracle_calls), "labels_paid": paid,
                       "stopped": out.stopped, "guarantee": out.guarantee.kind,
                       "anytime": out.guarantee.anytime,
                       "path": [list(p) for p in out.diagnostics.get("path", [])]}
    return AggregateResult(
        estimate=out.estimate, lower=out.lower, upper=out.upper, oracle_calls=out.oracle_calls,
        labels_paid=paid, guarantee=out.guarantee, stopped=out.stopped, method=method,
        stat=stat, error=error, relative=relative, delta=delta, budget=budget, range=(lo, hi),
        n_records=n, seed=seed, diagnostics=dict(out.diagnostics), run_id=run.run_id,
        certain=certain)


def _distinct(seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``(passes, values)`` of the distinct records labeled (a record drawn twice counts once)."""
    if not seen:
        return np.zeros(0), np.zeros(0)
    positions, passes, values = (np.concatenate([np.asarray(part[k], dtype=float) for part in seen])
                                 for k in range(3))
    _, first = np.unique(positions, return_index=True)
    return passes[first], values[first]


def certain_bounds(passes: np.ndarray, values: np.ndarray, n: int, lo: float, hi: float, *, stat: str,
                   where: bool) -> tuple[float, float]:
    """What the labeled records (``passes`` and ``values`` of distinct records) prove about the
    aggregate over ``n`` records whose values lie in ``[lo, hi]``, whatever the unlabeled ones hold.

    Examples
    --------
    >>> certain_bounds([1, 1], [1.0, 0.0], 4, 0.0, 1.0, stat="mean", where=False)
    (0.25, 0.75)
    >>> certain_bounds([1, 0], [5.0, 0.0], 3, 0.0, 10.0, stat="mean", where=True)  # mean over passing
    (2.5, 7.5)
    >>> certain_bounds([1, 0], [0.0, 0.0], 3, 0.0, 1.0, stat="count", where=True)
    (1.0, 2.0)
    """
    passes, values = np.asarray(passes, dtype=float), np.asarray(values, dtype=float)
    u = n - len(passes)  # records never labeled
    c, total = float(passes.sum()), float((passes * values).sum())
    if not where:
        if stat == "mean":
            return ((total + u * lo) / n, (total + u * hi) / n) if n else (lo, hi)
        return total + u * lo, total + u * hi  # sum
    if stat == "count":
        return c, c + u
    if stat == "sum":
        return total + u * min(0.0, lo), total + u * max(0.0, hi)
    # mean over the passing records: a ratio, extreme when no or every unlabeled record passes
    low = [(total + lo * k) / (c + k) for k in (0, u) if c + k > 0]
    high = [(total + hi * k) / (c + k) for k in (0, u) if c + k > 0]
    return (min(low), max(high)) if low else (lo, hi)
