"""Weighted targets (issue 17, item 6): recall or precision measured in a weight column
(duration, box count, value) instead of a record count.

``weighted_select`` labels a simple random sample of the budget and certifies a proxy cutoff
with :mod:`.certify`: weighted recall ``sum_S w y / sum w y`` and weighted precision
``sum_S w y / sum_S w`` are sign conditions on population totals of bounded variables (the
weights are known for every record before any label: a cheap column), tested by betting
without replacement over a fixed grid of cutoffs in a fixed order. Exact hypergeometric bounds
count records and do not apply to weighted sums; the betting test needs only the bound on the
weights, so the guarantee is finite-sample for any labels.

:func:`recall_from_sample` is the step shared with the assumption mode (:mod:`.assume`): the
sample of a region's unlabeled records, the exact part of the records already labeled, the
certified cutoff. Neither design returns a record labeled negative: dropping one cannot lower
recall and can only raise precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import check_random_state
from .certify import certify_precision_cut, certify_recall_cut, cut_grid
from .common import LabelFn, SelectionOutcome, _Labeler, _outcome, _srs
from .ranking import Ranking


def recall_from_sample(
    labeler: _Labeler,
    rng: np.random.Generator,
    ranking: Ranking,
    weight: np.ndarray | None,
    n_region: int,
    value: float,
    alpha: float,
    n_sample: int,
    start: int = 1,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Certify weighted recall ``value`` over the top ``n_region`` records of ``ranking``.

    Labels a simple random sample of ``n_sample`` of the region's unlabeled records (all of
    them when the budget allows: then the answer is exact) and returns the mask of the
    returned set (the certified prefix less the records labeled negative, plus every known
    positive anywhere) and diagnostics.
    Every record labeled before the call counts exactly; none below the region is assumed
    positive unless already known (the caller states why). Candidate prefixes start at
    ``start`` records (a head labeled exhaustively needs no smaller one). ``weight=None``
    counts records.
    """
    n = ranking.n
    region = ranking.mask(n_region)
    unknown = region & (labeler.known < 0)
    n_u = int(np.count_nonzero(unknown))
    sample = _srs(rng, n, ~unknown, min(n_sample, n_u))
    labeler.query(sample)
    pos = labeler.known == 1
    ys = labeler.known[sample].astype(float)
    diag = {"region": n_region, "unknown": n_u, "sample_size": int(sample.size),
            "sample_positives": int(ys.sum()),
            "known_positives": int(np.count_nonzero(pos & region)) - int(ys.sum())}
    if sample.size >= n_u:  # the whole region is known: return its positives, nothing else
        return pos, {**diag, "exact": True, "cut": 0, "tests": 0}
    fresh = np.zeros(n, dtype=bool)
    fresh[sample] = True
    before = pos & ~fresh  # positives known before the sample
    known_wy = float(np.count_nonzero(before) if weight is None else weight[before].sum())
    cut, tests = certify_recall_cut(
        ranking.rank(sample), ys if weight is None else weight[sample] * ys, n_u, known_wy,
        cut_grid(n_region, start=start), value, alpha,
        lambda cuts: ranking.side_max(weight, unknown, cuts, within=n_region))
    mask = pos | ranking.mask(cut)
    mask &= labeler.known != 0  # records labeled negative leave: recall cannot drop
    return mask, {**diag, "exact": False, "cut": cut, "tests": tests}


def weighted_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    weight: np.ndarray,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    head: float = 0.5,
) -> SelectionOutcome:
    """Weighted recall or precision target, finite-sample valid for any labels.

    The top ``head`` share of the budget's records by proxy is labeled exhaustively (known
    exactly); a simple random sample of the rest, with the rest of the budget, certifies the
    cutoff below it.

    Parameters
    ----------
    proxy : numpy.ndarray
        Scores in [0, 1].
    label : callable
        ``label(idx) -> 0/1 array``.
    weight : numpy.ndarray
        Non-negative, finite weight of every record (known before any label).
    target, value, delta, budget, seed
        As for the other methods.
    head : float
        Share of the budget spent labeling the top of the ranking.

    Returns
    -------
    SelectionOutcome
        ``method="assay-weighted"``; the guarantee's notes say the weights' bound.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(3000); y = (rng.random(3000) < p ** 6).astype(int)
    >>> w = rng.integers(1, 5, 3000).astype(float)
    >>> out = weighted_select(p, lambda i: y[i], weight=w, value=0.8, budget=800, seed=1)
    >>> bool((w * y)[out.selected].sum() >= 0.8 * (w * y).sum()), out.guarantee.kind
    (True, 'finite-sample')
    """
    rng = check_random_state(seed)
    n = proxy.size
    labeler = _Labeler(label, n, budget)
    ranking = Ranking(proxy)
    n_head = min(int(budget * head), n)
    top = ranking.head(n_head)
    labeler.query(top)
    if target == "recall":
        mask, diag = recall_from_sample(labeler, rng, ranking, weight, n, value, delta,
                                        labeler.remaining, start=n_head)
    else:
        free = labeler.known < 0
        sample = _srs(rng, n, ~free, labeler.remaining)
        labeler.query(sample)
        if sample.size >= int(free.sum()):
            cut, tests = _exact_precision_cut(ranking.order(), weight, labeler.known, value), 0
        else:
            cut, tests = certify_precision_cut(
                ranking.rank(sample), weight[sample], labeler.known[sample].astype(float),
                int(free.sum()), np.arange(n_head), weight[top], labeler.known[top].astype(float),
                cut_grid(n, start=n_head + 1), value, delta, float(weight[free].max()))
            if cut == 0:  # nothing below the head certified: the head's own best prefix
                cut = _exact_precision_cut(top, weight, labeler.known, value)
        mask = (labeler.known == 1) | ranking.mask(cut)
        mask &= labeler.known != 0  # records labeled negative leave: precision can only rise
        diag = {"cut": cut, "tests": tests, "head": n_head}
    cut = diag.get("cut", 0)
    threshold = ranking.value_at(cut - 1) if cut else np.inf
    return _outcome(
        method="assay-weighted", target=target, value=value, delta=delta, budget=budget,
        mask=mask, threshold=threshold, labeler=labeler, kind="finite-sample", seed=seed,
        notes={"weighted": True, "weight_max": float(weight.max()),
               "bound": "betting test without replacement on bounded weighted terms, "
                        "fixed-sequence over a fixed cutoff grid"},
        diagnostics=diag,
    )


def _exact_precision_cut(order: np.ndarray, weight: np.ndarray, known: np.ndarray,
                         value: float) -> int:
    """Largest prefix whose weighted precision reaches ``value``, every label known."""
    wy = np.cumsum((weight * (known == 1))[order])
    ww = np.cumsum(weight[order])
    ok = np.flatnonzero(wy >= value * ww - 1e-12)
    return int(ok[-1]) + 1 if ok.size else 0
