"""Assumption mode (issue 17, item 4): a recall target whose guarantee holds *conditionally* on
a stated minimum-density assumption, for users who accept it in exchange for far fewer
wasted records.

The assumption (:class:`MinDensity`) is the idea of BARGAIN's ``beta > 0`` mode (Zeighami,
Shankar, Parameswaran, SIGMOD 2026), stated here as: *in the proxy ranking (highest score
first), no positive lies below a run of ``window`` consecutive records that holds fewer than
``beta * window`` positives.* Positives thin out down the ranking and do not reappear after a
sparse stretch.

:func:`assume_select`:

1. **Search** (at most half the budget): windows of ``window`` records at depths ``window``,
   ``2 window``, ``4 window``, ... down the ranking. Each window is labeled in random order
   until it shows ``ceil(beta * window)`` positives (dense: go deeper) or is labeled entirely
   (sparse: a stop). The decision is exact, so no part of delta is spent on it.
2. **Check** (``check`` of the budget): a simple random sample below the stop. A positive
   there contradicts the assumption: the result says so (``notes["contradicted"]``) and a
   warning is issued; the positives found are returned.
3. **Certify** (the rest, all of delta): the region above the stop, with every label seen so
   far counted exactly, and a simple random sample of its unlabeled records; a cutoff is
   certified by the betting test of :mod:`.certify` (weighted recall when weights are given)
   at the region target ``value / (1 - tail)``, so that the share ``tail`` the assumption
   allows below the stop cannot take the recall below ``value``. The answer is the certified
   prefix less the records labeled negative, plus every positive found.

If the assumption holds, the returned set reaches the recall target with probability at least
``1 - delta`` (kind ``"conditional"``). When the search finds no sparse window the region is
every record and the guarantee is finite-sample without the assumption (likewise when the
sparse window is the last one).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._validation import check_random_state
from ...exceptions import AssayWarning, InvalidParameterError
from .._select_bounds import hypergeom_lower, hypergeom_upper
from .common import LabelFn, SelectionOutcome, _Labeler, _outcome
from .ranking import Ranking
from .weighted import recall_from_sample

__all__ = ["MinDensity", "assume_select"]


@dataclass(frozen=True)
class MinDensity:
    """The minimum-positive-density assumption of :func:`~assay.approx.select`'s ``assume=``.

    *In the proxy ranking (highest score first), at most a share ``tail`` of the positives
    (by weight, for a weighted target) lies below the first run of ``window`` consecutive
    records holding fewer than ``beta * window`` positives.* With ``tail=0`` no positive lies
    below it (the strict form of BARGAIN's assumption).

    Parameters
    ----------
    beta : float
        Density in (0, 1) below which a window counts as sparse (BARGAIN's ``beta``).
    window : int
        Records per window (BARGAIN's resolution ``r``).
    tail : float
        Share in [0, 1) of the positives allowed below the sparse window. The default 0.04
        is the smallest whole percent covering the share measured on every selection task
        the project holds (imagenet, onto, tacred and ten CIFAR-10 class predicates: 2.0%,
        2.5%, 3.7% and at most 0.7%); chosen leaving each task out, it holds on every task
        but tacred (docs/benchmarks.md, "select-modes", measures both and what a larger
        tail costs in precision).

    Examples
    --------
    >>> MinDensity(0.01, 150).statement()
    'at most 4% of the positives lie below the first 150 consecutive records (proxy ranking) holding fewer than 1.5 positives'
    """

    beta: float = 0.01
    window: int = 150
    tail: float = 0.04

    def __post_init__(self) -> None:
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) or not 0 < self.beta < 1:
            raise InvalidParameterError(
                f"The 'beta' parameter of MinDensity must be a float in (0, 1). Got {self.beta!r}.")
        if isinstance(self.window, bool) or not isinstance(self.window, (int, np.integer)) or self.window < 1:
            raise InvalidParameterError(
                f"The 'window' parameter of MinDensity must be an int >= 1. Got {self.window!r}.")
        if isinstance(self.tail, bool) or not isinstance(self.tail, (int, float)) or not 0 <= self.tail < 1:
            raise InvalidParameterError(
                f"The 'tail' parameter of MinDensity must be a float in [0, 1). Got {self.tail!r}.")

    @property
    def needed(self) -> int:
        """Positives that make a window dense: ``ceil(beta * window)``."""
        return max(1, math.ceil(self.beta * self.window - 1e-12))

    def statement(self) -> str:
        """The assumption in words (stored in the result's guarantee)."""
        share = "no positive lies" if self.tail == 0 else f"at most {self.tail:.0%} of the positives lie"
        return (f"{share} below the first {self.window} consecutive records (proxy ranking) "
                f"holding fewer than {self.beta * self.window:g} positives")


def assume_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    assume: MinDensity,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    weight: np.ndarray | None = None,
    check: float = 0.05,
    search: float = 0.5,
) -> SelectionOutcome:
    """Recall target under the :class:`MinDensity` assumption (guarantee ``"conditional"``).

    Parameters
    ----------
    assume : MinDensity
    weight : numpy.ndarray, optional
        Weighted recall (see :mod:`.weighted`); record counts by default.
    check : float
        Share of the budget spent below the stop, checking the assumption.
    search : float
        Most of the budget the window search may spend.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(20000); y = (p > 0.99).astype(int)
    >>> out = assume_select(p, lambda i: y[i], assume=MinDensity(0.01, 100), budget=600, seed=0)
    >>> out.guarantee.kind, bool(y[out.selected].sum() >= 0.9 * y.sum())
    ('conditional', True)
    """
    if target != "recall":
        raise InvalidParameterError(
            f"assume= supports target='recall' only. Got target={target!r}.")
    rng = check_random_state(seed)
    n = proxy.size
    labeler = _Labeler(label, n, budget)
    win, need = int(assume.window), assume.needed
    ranking = Ranking(proxy)
    search_budget = int(budget * search)
    stop, depth, windows = None, win, []
    while depth + win <= n:
        recs = ranking.slice(depth, depth + win)[rng.permutation(win)]
        found, spent = 0, 0
        for a in range(0, win, 10):
            chunk = recs[a:a + 10]
            new = int(np.count_nonzero(labeler.known[chunk] < 0))
            if labeler.calls + new > search_budget:
                spent = -1
                break
            found += int(labeler.query(chunk).sum())
            spent = a + chunk.size
            if found >= need:
                break
        if spent < 0:  # out of search budget before deciding
            break
        windows.append((int(depth), found))
        if found < need:  # the whole window is labeled and sparse: stop here
            stop = depth
            break
        depth *= 2
    n_region = n if stop is None else stop + win
    used = n_region < n  # the assumption leaves records out
    search_labels = labeler.calls
    n_check = 0
    below = np.zeros(n, dtype=bool)
    if used:
        below = ~ranking.mask(n_region)
        n_check = min(int(budget * check), labeler.remaining, n - n_region)
        pool = np.flatnonzero(below)  # none labeled yet: the search stays inside the region
        labeler.query(pool[rng.choice(pool.size, n_check, replace=False)])
    region_value = min(1.0, value / (1.0 - assume.tail)) if used else value
    mask, diag = recall_from_sample(labeler, rng, ranking, weight, n_region, region_value, delta,
                                    labeler.remaining)
    found_below = int(np.count_nonzero(below & (labeler.known == 1)))
    contradicted = False
    if found_below:
        # what the check proves (at level delta) against what the assumption allows
        low = int(hypergeom_lower(found_below, n_check, n - n_region, delta))
        high = diag["known_positives"] + int(hypergeom_upper(
            diag["sample_positives"], diag["sample_size"], diag["unknown"], delta))
        contradicted = low > assume.tail / (1.0 - assume.tail) * high
    if contradicted:
        warnings.warn(
            f"select(assume={assume!r}): the check sample found {found_below} positive(s) "
            f"below the sparse window at rank {stop}, more than the assumption allows (at "
            f"least {low} below against at most {high} above, delta {delta:g}); the recall "
            "guarantee does not hold for this data. The positives found are returned.",
            AssayWarning, stacklevel=3)
    cut = diag["cut"]
    threshold = ranking.value_at(cut - 1) if cut else np.inf
    kind = "conditional" if used else "finite-sample"
    notes = {
        "assumption": assume.statement(), "beta": float(assume.beta), "window": win,
        "sparse_window": None if stop is None else [int(stop), int(stop + win)],
        "tail": float(assume.tail), "region": int(n_region), "region_target": region_value,
        "check_labels": int(n_check), "check_positives": found_below,
        "contradicted": bool(contradicted), "weighted": weight is not None,
        "delta_split": "all of delta certifies the cutoff; the window search is exact",
    }
    diag.update({"windows": windows, "search_labels": int(search_labels)})
    return _outcome(method="assay-assume", target="recall", value=value, delta=delta,
                    budget=budget, mask=mask, threshold=threshold, labeler=labeler, kind=kind,
                    seed=seed, notes=notes, diagnostics=diag)
