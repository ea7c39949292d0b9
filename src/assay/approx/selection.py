"""Approximate selection with guarantees: return records meeting a recall or precision target
with probability at least 1 - delta, paying the oracle for as few records as possible."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import counting
from .._validation import Interval, Options, check_param, validate_params
from ..exceptions import InvalidParameterError
from ._labeling import Labeler, QueryRun, records_of, seed_repr
from ._result import Guarantee
from ._select import METHODS
from ._select.assume import MinDensity
from ._select.events import EventUnits
from ._select.modes import run_mode
from .oracle import Oracle, as_oracle

__all__ = ["MinDensity", "SelectionResult", "select"]


@dataclass(frozen=True)
class SelectionResult:
    """The answer of :func:`select`.

    Attributes
    ----------
    ids : numpy.ndarray
        Record ids (from the records' ``id`` column) of the returned set, in record order.
    threshold : float
        Proxy cutoff: unlabeled records at or above it are returned (``inf``: none).
    oracle_calls : int
        Distinct records the query needed labels for (its cost, whether or not a cache
        already held them). ``labels_paid`` counts the ones actually asked of the oracle now.
    guarantee : Guarantee
        Kind (finite-sample, asymptotic, or conditional on ``assume=``), target, level and
        delta; ``guarantee.notes`` states the assumption, the delta split of a joint target
        and whether the weights were used.
    method, target, value, delta, budget, seed
        ``value`` is ``(recall, precision)`` for ``target="joint"``.
        How the query was run; the same seed and records reproduce it exactly.
    diagnostics : dict
        Method internals (sample, bounds, chosen cutoff).
    run_id : str or None
        The query's run in the workspace (its inputs, oracle and answers are recorded there),
        None without a workspace.
    """

    ids: np.ndarray
    threshold: float
    oracle_calls: int
    labels_paid: int
    verification_calls: int
    guarantee: Guarantee
    method: str
    target: str
    value: float
    delta: float
    budget: int
    seed: Any
    diagnostics: dict = field(repr=False, default_factory=dict)
    run_id: str | None = None

    def __len__(self) -> int:
        return len(self.ids)


@validate_params({
    "proxy": [str],
    "target": [Options(["recall", "precision", "joint"])],
    "assume": [MinDensity, None],
    "delta": [Interval(float, 0, 1, closed="neither")],
    "budget": [Interval(int, 1, None)],
    "method": [Options(list(METHODS))],
    "seed": ["random_state"],
    "name": [str, None],
    "labels": [str, None],
    "batch_size": [Interval(int, 1, None), None],
})
def select(
    records: pd.DataFrame | str | Path,
    *,
    proxy: str,
    oracle: Oracle | str | Any,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    method: str = "assay",
    seed: Any = None,
    workspace: Any = None,
    name: str | None = None,
    labels: str | None = None,
    batch_size: int | None = None,
    weight: str | Any = None,
    events: str | Any = None,
    assume: MinDensity | None = None,
) -> SelectionResult:
    """Select records so that recall (or precision) meets ``value`` with probability >= 1 - delta.

    Parameters
    ----------
    records : pandas.DataFrame or path
        Records with an ``id`` column and the ``proxy`` column (CSV / Parquet path accepted).
    proxy : str
        Column of cheap proxy scores in [0, 1] (higher: more likely to match).
    oracle : Oracle or str or callable
        The expensive truth (0/1 per record): ``"column:label"``, ``"python:mod:fn"``,
        ``"human:FOLDER"``, a callable on rows, an :class:`~assay.approx.Oracle`, or the
        name of an oracle of ``workspace`` (:meth:`~assay.store.Workspace.add_oracle`).
    target : {"recall", "precision", "joint"}
        ``"joint"``: recall and precision targets together, ``value=(R, P)``, with one
        guarantee: a recall-certified set at ``delta / 2`` from half the budget, then its
        precision certified at ``delta / 2`` (or every candidate verified when the budget
        allows: precision 1). When the budget cannot certify both the error says which
        budget would.
    value : float or (float, float)
        Target level in (0, 1); a pair ``(recall, precision)`` for ``target="joint"``.
    delta : float
        Failure probability in (0, 1).
    budget : int
        Most distinct records to label (at most the number of records).
    method : {"assay", "assay-pilot", "supg", "supg++", "uniform", "joint"}
        ``"assay"`` (default) is finite-sample valid for any data; its recall target picks one
        of two designs from the budget before asking anything (a uniform sample that places
        the cutoff by the positives it finds, or labeling the top and certifying the rest:
        :func:`assay.approx._select.default.assay_select`). ``"assay-pilot"`` is finite-sample
        too, spending a stratified pilot on learning where the positives are before it plans
        what to leave out (opt-in; both are measured side by side in ``docs/benchmarks.md``). ``supg`` / ``supg++`` are the published methods
        (normal approximations: asymptotic).
    seed : int or numpy.random.Generator, optional
        Makes the query reproducible; pass the same seed to resume an interrupted query.
    workspace : assay.Workspace, optional
        Caches every oracle answer as soon as it arrives (a rerun pays nothing twice) and
        records the query as a run with its inputs. An answer is reused only for a record
        with the same id and the same values in the fields the oracle reads, asked of the
        same oracle (see :mod:`assay.store.identity`).
    name : str, optional
        Names the records (default: the file's path, the workspace table a frame was read
        from, or ``df.attrs["name"]``).
    labels : str, optional
        Share cached answers under this key by record id alone, whatever the records' other
        fields: the explicit opt-in to reuse answers across data sets whose ids name the same
        things (and to reuse answers stored by a workspace of format 1, under their old key).
    batch_size : int, optional
        For the default method: label the top of the ranking in batches of about this many
        records (default ``budget / 40``). People labeling through a human oracle want few,
        large batches; each batch is one round of request files.
    weight : str or array-like, optional
        Measure recall and precision in this non-negative weight (a column name, or one
        number per record: duration, box count, value) instead of record counts: weighted
        recall is ``sum(weight of returned positives) / sum(weight of all positives)``. The
        weights must be known for every record (a cheap column). Finite-sample: a betting
        test on the bounded weighted terms (exact hypergeometric bounds count records and do
        not apply to weighted sums).
    events : str or array-like, optional
        Group contiguous records with the same key (a column name, or one key per record, in
        record order: e.g. a track or scene id along a video's frames) into events; the
        targets then count events (or their summed ``weight``), an event is positive when any
        of its records is, and the returned ids are every record of the returned events.
        ``budget`` counts events labeled (each asks the oracle about all its records).
    assume : MinDensity, optional
        Accept the minimum-density assumption (:class:`MinDensity`) for a recall or joint
        target: far fewer records returned when the proxy is good, and the guarantee's kind
        is ``"conditional"``, stated in ``guarantee.notes["assumption"]``. A check sample
        below the sparse window warns (and sets ``notes["contradicted"]``) when the labels
        contradict it.

    Returns
    -------
    SelectionResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from assay.approx import select
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=5000)
    >>> recs = pd.DataFrame({"id": np.arange(5000), "score": p, "truth": (rng.uniform(size=5000) < p**8).astype(int)})
    >>> r = select(recs, proxy="score", oracle="column:truth", target="precision", value=0.9, budget=500, seed=1)
    >>> r.guarantee.kind, r.oracle_calls <= 500
    ('finite-sample', True)

    Recall and precision together, and a recall measured in a weight column:

    >>> recs["seconds"] = rng.uniform(1, 3, size=5000)
    >>> j = select(recs, proxy="score", oracle="column:truth", target="joint", value=(0.8, 0.7), budget=2000, seed=1)
    >>> j.guarantee.target, j.guarantee.notes["delta_split"]
    ('joint', {'recall': 0.025, 'precision': 0.025})
    >>> w = select(recs, proxy="score", oracle="column:truth", weight="seconds", value=0.8, budget=1000, seed=1)
    >>> w.guarantee.notes["weighted"]
    True

    Under the minimum-density assumption:

    >>> from assay.approx import MinDensity
    >>> a = select(recs, proxy="score", oracle="column:truth", assume=MinDensity(0.01, 150), budget=1000, seed=1)
    >>> a.guarantee.kind in ("conditional", "finite-sample"), "assumption" in a.guarantee.notes
    (True, True)
    """
    value = _target_value(target, value)
    table, records_identity, lineage = records_of(records, "select", name)
    if proxy not in table.columns:
        raise InvalidParameterError(
            f"The 'proxy' parameter of select must name a column of the records. Got {proxy!r}; "
            f"the columns are {', '.join(map(str, table.columns))}.")
    scores = pd.to_numeric(table[proxy], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(scores) | (scores < 0) | (scores > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rid, val = table["id"].iloc[i], table[proxy].iloc[i]
        rid, val = (v.item() if isinstance(v, np.generic) else v for v in (rid, val))
        raise InvalidParameterError(
            f"select: proxy column {proxy!r} must hold numbers in [0, 1]; record id "
            f"{rid!r} has {val!r} ({int(bad.sum())} bad in all).")
    weights = None if weight is None else _per_record(table, weight, "weight", numeric=True)
    units = None if events is None else EventUnits(_per_record(table, events, "events"))
    n_units = len(table) if units is None else units.n_events
    if budget > n_units:
        what = "the number of records" if units is None else "the number of events"
        raise InvalidParameterError(
            f"The 'budget' parameter of select must be at most {what} ({n_units}). Got {budget}.")
    if workspace is not None:  # an oracle name of the workspace stands for its spec
        oracle, _ = workspace.resolve_oracle(oracle)
    orc = as_oracle(oracle, param="oracle", caller="select")
    ids = table["id"].to_numpy()

    def binary(values: Any, n: int) -> np.ndarray:
        out = np.asarray(values, dtype=np.float64)
        if out.shape != (n,):
            raise InvalidParameterError(
                f"the oracle returned {out.shape[0] if out.ndim else 'a scalar'} values for "
                f"{n} records; it must return one per record.")
        if not np.isin(out, (0.0, 1.0)).all():
            raise InvalidParameterError(
                f"the oracle must answer 0 or 1 for selection; got {out[~np.isin(out, (0.0, 1.0))][:5].tolist()}.")
        return out

    options = {}
    if batch_size is not None:
        if method != "assay":
            raise InvalidParameterError(f"select: method {method!r} does not take batch_size.")
        options["head_batches"] = max(1, -(-budget // batch_size))
    params = {"verb": "select", "proxy": proxy, "oracle": orc.name, "target": target,
              "value": list(value) if isinstance(value, tuple) else value,
              "delta": delta, "budget": budget, "method": method, "seed": seed_repr(seed),
              "labels": labels, "batch_size": batch_size}
    if weight is not None or events is not None or assume is not None:
        params.update({"weight": weight if isinstance(weight, str) or weight is None else "array",
                       "events": events if isinstance(events, str) or events is None else "array",
                       "assume": None if assume is None else
                       {"beta": assume.beta, "window": assume.window, "tail": assume.tail}})
    label = Labeler(orc, table, records=records_identity, proxy=[proxy], workspace=workspace,
                    key=labels, run_id=None, check=binary)
    with QueryRun(workspace, params, [lineage, label.lineage()], [label]) as run:
        unit_scores, unit_label, unit_weights = scores, label, weights
        if units is not None:
            unit_scores, unit_label = units.max_of(scores), units.label(label)
            unit_weights = None if weights is None else units.sum_of(weights)
        with counting("oracle labels paid", total=budget):
            out = run_mode(unit_scores, unit_label, method=method, target=target, value=value,
                           delta=delta, budget=budget, seed=seed, weight=unit_weights,
                           assume=assume, **options)
        selected, calls = out.selected, out.oracle_calls
        if units is not None:
            selected, calls = units.records(out.selected), int(units.asked.sum())
            out.diagnostics.update({"events": units.n_events, "events_labeled": out.oracle_calls,
                                    "events_selected": int(out.selected.size)})
        run.summary = {"selected": int(len(selected)), "threshold": _finite(out.threshold),
                       "oracle_calls": int(calls), "labels_paid": label.paid,
                       "guarantee": out.guarantee.kind}
        if out.guarantee.kind == "conditional":
            run.summary["assumption"] = out.guarantee.notes.get("assumption")
            run.summary["assumption_contradicted"] = out.guarantee.notes.get("contradicted")
    return SelectionResult(
        ids=ids[selected], threshold=float(out.threshold), oracle_calls=int(calls),
        labels_paid=label.paid, verification_calls=int(out.verification_calls), guarantee=out.guarantee,
        method=out.method, target=target, value=value, delta=delta, budget=budget, seed=seed,
        diagnostics={**out.diagnostics, "n_records": len(table)}, run_id=run.run_id,
    )


def _target_value(target: str, value: Any) -> Any:
    """``value`` checked against ``target``: a float, or ``(recall, precision)`` for joint."""
    if target == "joint":
        ok = (isinstance(value, (tuple, list)) and len(value) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1
                      for v in value))
        if not ok:
            raise InvalidParameterError(
                "The 'value' parameter of select must be a pair (recall, precision) of floats "
                f"in (0, 1) when target='joint'. Got {value!r}.")
        return (float(value[0]), float(value[1]))
    check_param("value", value, [Interval(float, 0, 1, closed="neither")], "select")
    return value


def _per_record(table: pd.DataFrame, spec: Any, param: str, *, numeric: bool = False) -> np.ndarray:
    """One value per record: a column of ``table`` named by ``spec``, or ``spec`` itself."""
    if isinstance(spec, str):
        if spec not in table.columns:
            raise InvalidParameterError(
                f"The {param!r} parameter of select must name a column of the records. Got "
                f"{spec!r}; the columns are {', '.join(map(str, table.columns))}.")
        arr = table[spec].to_numpy()
    else:
        arr = np.asarray(spec)
        if arr.shape != (len(table),):
            raise InvalidParameterError(
                f"The {param!r} parameter of select must be a column name or one value per "
                f"record ({len(table)}). Got an array of shape {arr.shape}.")
    if not numeric:
        return arr
    vals = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rid, val = table["id"].iloc[i], arr[i]
        rid, val = (v.item() if isinstance(v, np.generic) else v for v in (rid, val))
        raise InvalidParameterError(
            f"select: {param} must be finite and non-negative for every record; record id "
            f"{rid!r} has {val!r} ({int(bad.sum())} bad in all).")
    if not vals.any():
        raise InvalidParameterError(f"select: every {param} is 0; nothing can be measured in it.")
    return vals


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
