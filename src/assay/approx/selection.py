"""Approximate selection with guarantees: return records meeting a recall or precision target
with probability at least 1 - delta, paying the oracle for as few records as possible."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError
from ..tables import validate
from ._result import Guarantee
from ._select_methods import METHODS, run_selection
from .oracle import Oracle, as_oracle

__all__ = ["SelectionResult", "select"]


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
        Kind (finite-sample or asymptotic), target, level and delta.
    method, target, value, delta, budget, seed
        How the query was run; the same seed and records reproduce it exactly.
    diagnostics : dict
        Method internals (sample, bounds, chosen cutoff).
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

    def __len__(self) -> int:
        return len(self.ids)


def _records(records: Any, verb: str = "select") -> tuple[pd.DataFrame, str]:
    if isinstance(records, (str, Path)):
        from ..io import read_records

        return read_records(records), Path(records).stem
    if not isinstance(records, pd.DataFrame):
        raise InvalidParameterError(
            f"The 'records' parameter of {verb} must be a pandas.DataFrame or a path. Got {type(records).__name__}.")
    if len(records) == 0:
        raise InvalidParameterError(f"{verb}: the records table is empty.")
    return validate(records, "records"), str(records.attrs.get("name", "records"))


@validate_params({
    "proxy": [str],
    "target": [Options(["recall", "precision"])],
    "value": [Interval(float, 0, 1, closed="neither")],
    "delta": [Interval(float, 0, 1, closed="neither")],
    "budget": [Interval(int, 1, None)],
    "method": [Options(list(METHODS))],
    "seed": ["random_state"],
    "name": [str, None],
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
    batch_size: int | None = None,
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
        ``"human:FOLDER"``, a callable on rows, or an :class:`~assay.approx.Oracle`.
    target : {"recall", "precision"}
    value : float
        Target level in (0, 1).
    delta : float
        Failure probability in (0, 1).
    budget : int
        Most distinct records to label (at most the number of records).
    method : {"assay", "supg", "supg++", "uniform", "joint"}
        ``"assay"`` (default) is finite-sample valid for any data; ``supg`` / ``supg++`` are
        the published methods (normal approximations: asymptotic).
    seed : int or numpy.random.Generator, optional
        Makes the query reproducible; pass the same seed to resume an interrupted query.
    workspace : assay.Workspace, optional
        Caches every oracle answer as soon as it is paid for (a rerun pays nothing twice).
    name : str, optional
        Names the records in the label cache (default: the file stem or ``"records"``).
    batch_size : int, optional
        For the default method: label the top of the ranking in batches of about this many
        records (default ``budget / 40``). People labeling through a human oracle want few,
        large batches; each batch is one round of request files.

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
    """
    table, default_name = _records(records)
    if proxy not in table.columns:
        raise InvalidParameterError(f"select: no proxy column {proxy!r}; columns are {', '.join(map(str, table.columns))}.")
    scores = pd.to_numeric(table[proxy], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(scores) | (scores < 0) | (scores > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rid, val = table["id"].iloc[i], table[proxy].iloc[i]
        rid, val = (v.item() if isinstance(v, np.generic) else v for v in (rid, val))
        raise InvalidParameterError(
            f"select: proxy column {proxy!r} must hold numbers in [0, 1]; record id "
            f"{rid!r} has {val!r} ({int(bad.sum())} bad in all).")
    if budget > len(table):
        raise InvalidParameterError(
            f"The 'budget' parameter of select must be at most the number of records ({len(table)}). Got {budget}.")
    orc = as_oracle(oracle)
    key = f"{orc.name}@{name or default_name}"
    ids = table["id"].to_numpy()
    memo: dict = {}
    paid = [0]

    def ask(batch_ids: np.ndarray) -> np.ndarray:
        rows = table.set_index("id", drop=False).loc[batch_ids]
        values = np.asarray(orc(rows), dtype=np.float64)
        if values.shape != (len(batch_ids),):
            raise InvalidParameterError(
                f"the oracle returned {values.shape[0] if values.ndim else 'a scalar'} values for "
                f"{len(batch_ids)} records; it must return one per record.")
        if not np.isin(values, (0.0, 1.0)).all():
            raise InvalidParameterError(
                f"the oracle must answer 0 or 1 for selection; got {values[~np.isin(values, (0.0, 1.0))][:5].tolist()}.")
        paid[0] += len(batch_ids)
        return values

    def label(positions: np.ndarray) -> np.ndarray:
        batch = ids[np.asarray(positions, dtype=np.int64)]
        if workspace is not None:
            return workspace.fetch_labels(key, batch, ask).to_numpy()
        todo = [i for i in batch if i not in memo]
        if todo:
            memo.update(zip(todo, ask(np.asarray(todo)), strict=True))
        return np.array([memo[i] for i in batch], dtype=np.float64)

    options = {}
    if batch_size is not None:
        if method != "assay":
            raise InvalidParameterError(f"select: method {method!r} does not take batch_size.")
        options["head_batches"] = max(1, -(-budget // batch_size))
    out = run_selection(scores, label, method=method, target=target, value=value, delta=delta,
                        budget=budget, seed=seed, **options)
    return SelectionResult(
        ids=ids[out.selected], threshold=float(out.threshold), oracle_calls=int(out.oracle_calls),
        labels_paid=paid[0], verification_calls=int(out.verification_calls), guarantee=out.guarantee,
        method=out.method, target=target, value=value, delta=delta, budget=budget, seed=seed,
        diagnostics={**out.diagnostics, "n_records": len(table)},
    )
