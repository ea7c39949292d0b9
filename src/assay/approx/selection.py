"""Approximate selection with guarantees: return records meeting a recall or precision target
with probability at least 1 - delta, paying the oracle for as few records as possible."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import counting
from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError
from ._labeling import Labeler, QueryRun, records_of, seed_repr
from ._result import Guarantee
from ._select import METHODS, run_selection
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
    "target": [Options(["recall", "precision"])],
    "value": [Interval(float, 0, 1, closed="neither")],
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
    target : {"recall", "precision"}
    value : float
        Target level in (0, 1).
    delta : float
        Failure probability in (0, 1).
    budget : int
        Most distinct records to label (at most the number of records).
    method : {"assay", "assay-pilot", "supg", "supg++", "uniform", "joint"}
        ``"assay"`` (default) is finite-sample valid for any data (its recall target picks one
        of two designs from the budget: :func:`assay.approx._select.default.assay_select`);
        ``"assay-pilot"`` too,
        spending a stratified pilot on learning where the positives are before it plans what
        to leave out (far better when the proxy ranks almost perfectly, not yet better
        everywhere: ``docs/benchmarks.md``); ``supg`` / ``supg++`` are the published methods
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
    if budget > len(table):
        raise InvalidParameterError(
            f"The 'budget' parameter of select must be at most the number of records ({len(table)}). Got {budget}.")
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
    params = {"verb": "select", "proxy": proxy, "oracle": orc.name, "target": target, "value": value,
              "delta": delta, "budget": budget, "method": method, "seed": seed_repr(seed),
              "labels": labels, "batch_size": batch_size}
    label = Labeler(orc, table, records=records_identity, proxy=[proxy], workspace=workspace,
                    key=labels, run_id=None, check=binary)
    with QueryRun(workspace, params, [lineage, label.lineage()], [label]) as run:
        with counting("oracle labels paid", total=budget):
            out = run_selection(scores, label, method=method, target=target, value=value,
                                delta=delta, budget=budget, seed=seed, **options)
        run.summary = {"selected": int(len(out.selected)), "threshold": _finite(out.threshold),
                       "oracle_calls": int(out.oracle_calls), "labels_paid": label.paid,
                       "guarantee": out.guarantee.kind}
    return SelectionResult(
        ids=ids[out.selected], threshold=float(out.threshold), oracle_calls=int(out.oracle_calls),
        labels_paid=label.paid, verification_calls=int(out.verification_calls), guarantee=out.guarantee,
        method=out.method, target=target, value=value, delta=delta, budget=budget, seed=seed,
        diagnostics={**out.diagnostics, "n_records": len(table)}, run_id=run.run_id,
    )


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
