"""Machinery shared by the selection methods: the result (:class:`SelectionOutcome`), oracle
bookkeeping (``_Labeler``: distinct labels only, counted against the budget), ranking by
proxy without a full sort (10 million records must cost well under a second), and simple
random samples that leave out records already known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._arrays import unique_first
from ...exceptions import InvalidParameterError
from .._result import Guarantee

LabelFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class SelectionOutcome:
    """What a selection method returns.

    Attributes
    ----------
    method : str
        Method name (``"assay"``, ``"supg"``, ...).
    target : {"recall", "precision"}
        The guaranteed quantity.
    value : float
        The target level.
    delta : float
        Failure probability of the guarantee.
    budget : int
        Distinct oracle labels the method was allowed.
    selected : numpy.ndarray of int64
        Sorted indices (positions in ``proxy``) of the returned records.
    threshold : float
        Proxy cutoff of the returned prefix: the records above it (and, on a tie, the
        ones the prefix holds) are returned unless the oracle labeled them negative;
        records below it are returned only when the oracle labeled them positive. ``inf`` when
        no unlabeled record is returned, the smallest proxy when everything is.
    oracle_calls : int
        Distinct records labeled by the method (within ``budget``).
    guarantee : Guarantee
        Kind (finite-sample or asymptotic), target, value and delta.
    verification_calls : int
        Extra distinct labels spent verifying candidates (``joint`` only; else 0).
    seed : Any
        The seed the method was called with.
    diagnostics : dict
        Method-specific detail: the labeled sample, the bounds, the chosen cutoff, ...
    """

    method: str
    target: str
    value: float
    delta: float
    budget: int
    selected: np.ndarray
    threshold: float
    oracle_calls: int
    guarantee: Guarantee
    verification_calls: int = 0
    seed: Any = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def n_selected(self) -> int:
        """Number of returned records."""
        return int(self.selected.size)

    @property
    def returned_all(self) -> bool:
        """True when every record was returned (``diagnostics['n_records']`` records)."""
        return self.n_selected == int(self.diagnostics.get("n_records", -1))


class _Labeler:
    """Ask the oracle only for records never asked before; count distinct labels."""

    def __init__(self, label: LabelFn, n: int, budget: int) -> None:
        self._fn = label
        self.known = np.full(n, -1, dtype=np.int8)
        self.budget = int(budget)
        self.calls = 0
        self.verification_calls = 0
        self.order: list[np.ndarray] = []  # labeled indices, in the order they were asked

    @property
    def remaining(self) -> int:
        return self.budget - self.calls

    def query(self, idx: np.ndarray, *, verification: bool = False) -> np.ndarray:
        """Labels of ``idx`` (repeats allowed), asking the oracle for the unknown ones once."""
        idx = np.asarray(idx, dtype=np.int64)
        new = unique_first(idx[self.known[idx] < 0])[0]
        if new.size:
            if not verification and self.calls + new.size > self.budget:
                raise RuntimeError("internal error: a selection method overspent its budget")
            self.known[new] = _check_labels(self._fn(new), new.size)
            self.order.append(new)
            if verification:
                self.verification_calls += int(new.size)
            else:
                self.calls += int(new.size)
        return self.known[idx].astype(np.int64)

    def labeled(self) -> np.ndarray:
        if not self.order:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(self.order)


def _check_labels(out: Any, size: int) -> np.ndarray:
    arr = np.asarray(out)
    if arr.ndim != 1 or arr.shape[0] != size:
        raise InvalidParameterError(
            f"The oracle returned {arr.shape[0] if arr.ndim == 1 else 'an array of shape ' + str(arr.shape)} "
            f"labels for a batch of {size} records; it must return one 0/1 label per record."
        )
    if arr.dtype == bool:
        return arr.astype(np.int8)
    try:
        vals = arr.astype(float)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The oracle returned non-numeric labels ({arr.dtype}); it must return 0/1 labels."
        ) from None
    bad = ~((vals == 0.0) | (vals == 1.0))
    if bad.any():
        raise InvalidParameterError(
            f"The oracle returned a non-binary label {arr[np.flatnonzero(bad)[0]].item()!r}; "
            "selection needs 0/1 (or boolean) labels."
        )
    return vals.astype(np.int8)


def _rank_order(proxy: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Positions that sort ``idx`` by proxy descending, ties by index ascending (stable)."""
    return np.lexsort((idx, -proxy[idx]))


def _top_k(proxy: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest-proxy records in rank order (ties by index)."""
    n = proxy.size
    k = min(max(int(k), 0), n)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    if k == n:
        cand = np.arange(n)
    else:
        kth = np.partition(proxy, n - k)[n - k]  # k-th largest value
        cand = np.flatnonzero(proxy >= kth)
    return cand[_rank_order(proxy, cand)][:k].astype(np.int64)


def _top_k_mask(proxy: np.ndarray, k: int, kth: float | None = None) -> np.ndarray:
    """Boolean mask of the ``k`` highest-proxy records (ties by index), without sorting.
    ``kth``: the ``k``-th largest score when the caller knows it (else a partition finds it)."""
    n = proxy.size
    k = min(max(int(k), 0), n)
    if k == 0:
        return np.zeros(n, dtype=bool)
    if k == n:
        return np.ones(n, dtype=bool)
    if kth is None:
        kth = np.partition(proxy, n - k)[n - k]  # k-th largest value
    mask = proxy > kth
    need = k - int(np.count_nonzero(mask))
    mask[np.flatnonzero(proxy == kth)[:need]] = True
    return mask


def _prefix_mask(proxy: np.ndarray, cut: int) -> np.ndarray:
    """Records ranked at or before record ``cut`` (proxy descending, ties by index)."""
    v = proxy[cut]
    mask = proxy > v
    tied = np.flatnonzero(proxy == v)
    mask[tied[tied <= cut]] = True
    return mask


def _rank_of(proxy: np.ndarray, i: int) -> int:
    """0-based rank of record ``i`` (proxy descending, ties by index)."""
    v = proxy[i]
    return int(np.count_nonzero(proxy > v) + np.count_nonzero(proxy[:i] == v))


def _outcome(
    *,
    method: str,
    target: str,
    value: float,
    delta: float,
    budget: int,
    mask: np.ndarray,
    threshold: float,
    labeler: _Labeler,
    kind: str,
    seed: Any,
    notes: dict[str, Any] | None = None,
    diagnostics: dict[str, Any] | None = None,
) -> SelectionOutcome:
    labeled = labeler.labeled()
    diag = {
        "n_records": int(mask.size),
        "sampled": labeled,
        "sampled_labels": labeler.known[labeled].astype(np.int8),
    }
    diag.update(diagnostics or {})
    return SelectionOutcome(
        method=method,
        target=target,
        value=float(value),
        delta=float(delta),
        budget=int(budget),
        selected=np.flatnonzero(mask),
        threshold=float(threshold),
        oracle_calls=labeler.calls,
        guarantee=Guarantee(
            kind=kind,  # type: ignore[arg-type]
            target=target,
            value=float(value),
            delta=float(delta),
            notes=dict(notes or {}),
        ),
        verification_calls=labeler.verification_calls,
        seed=seed,
        diagnostics=diag,
    )


def _known_positive_mask(labeler: _Labeler) -> np.ndarray:
    return labeler.known == 1


def _srs(rng: np.random.Generator, n: int, exclude: np.ndarray | None, size: int) -> np.ndarray:
    """Simple random sample (without replacement) of ``size`` records outside ``exclude``."""
    excl = np.zeros(n, dtype=bool) if exclude is None else exclude
    free = n - int(np.count_nonzero(excl))
    size = min(int(size), free)
    if size <= 0:
        return np.empty(0, dtype=np.int64)
    n_excl = n - free
    if n_excl == 0:
        return rng.choice(n, size=size, replace=False).astype(np.int64)
    if size + n_excl <= n // 2:
        # a uniformly random ordered draw, keeping the first `size` admissible records, is a
        # simple random sample of the admissible records
        cand = rng.choice(n, size=size + n_excl, replace=False)
        return cand[~excl[cand]][:size].astype(np.int64)
    pool = np.flatnonzero(~excl)
    return rng.choice(pool, size=size, replace=False).astype(np.int64)
