"""``supg``: SUPG (Kang et al., "Approximate selection with guarantees using proxies",
PVLDB vol. 13, 2020; the prior algorithm of the seed paper's Section 5.3.2), reproduced as a
baseline: importance sampling proportional to ``sqrt(proxy)`` mixed with 10% uniform
(defensive mixing), drawn with replacement until the budget of distinct labels is spent;
recall target through an adjusted target, precision target by SUPG's two-stage rule.
Asymptotic (normal bounds).

The weighted procedure (``_supg_family``) is shared with :mod:`.supgpp`, and SUPG's recall
rule with the uniform baseline (:mod:`.uniform`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._validation import check_random_state
from .._select_bounds import clt_lower, clt_upper
from .common import (
    LabelFn,
    SelectionOutcome,
    _known_positive_mask,
    _Labeler,
    _outcome,
    _prefix_mask,
    _rank_order,
    _top_k_mask,
)

#: Fraction of the sampling distribution that SUPG spreads uniformly (defensive mixing).
SUPG_MIX = 0.10


class _MixtureSampler:
    """SUPG's defensive mixture ``q = (1 - mix) * w / sum(w) + mix / N``, sampled lazily.

    Only one cumulative sum of ``w`` is built; ``q`` is evaluated at the drawn records.
    ``restrict(mask)`` gives the same distribution conditioned on a subset of records.
    """

    def __init__(self, weights: np.ndarray, mix: float = SUPG_MIX) -> None:
        self.w = weights
        self.n = weights.size
        total = float(weights.sum())
        self.mix = mix if total > 0.0 else 1.0
        self.total = total if total > 0.0 else 1.0
        self._support: np.ndarray | None = None
        self._cw = np.cumsum(weights) if total > 0.0 else None
        self._p_uniform = self.mix  # probability that a draw is uniform over the support

    def q(self, idx: np.ndarray) -> np.ndarray:
        """Unrestricted mixture probability of each record in ``idx``."""
        return (1.0 - self.mix) * self.w[idx] / self.total + self.mix / self.n

    def mass(self, mask: np.ndarray) -> float:
        """Total unrestricted probability of the records in ``mask``."""
        w_in = float(np.sum(self.w, where=mask))
        return (1.0 - self.mix) * w_in / self.total + self.mix * np.count_nonzero(mask) / self.n

    def restrict(self, mask: np.ndarray) -> _MixtureSampler:
        """The mixture conditioned on the records of ``mask``."""
        sub = _MixtureSampler.__new__(_MixtureSampler)
        sub.w, sub.n, sub.mix, sub.total = self.w, self.n, self.mix, self.total
        sub._support = np.flatnonzero(mask)
        w_sub = self.w[sub._support]
        sub._cw = np.cumsum(w_sub) if self.mix < 1.0 else None
        uniform_mass = self.mix * sub._support.size / self.n
        sub._p_uniform = uniform_mass / self.mass(mask)
        return sub

    def support_size(self) -> int:
        return self.n if self._support is None else int(self._support.size)

    def unlabeled(self, known: np.ndarray) -> int:
        if self._support is None:
            return int(np.count_nonzero(known < 0))
        return int(np.count_nonzero(known[self._support] < 0))

    def draw(self, rng: np.random.Generator, m: int) -> np.ndarray:
        size = self.support_size()
        uniform = rng.random(m) < self._p_uniform
        pos = rng.integers(0, size, size=m)
        k = int(np.count_nonzero(~uniform))
        if k and self._cw is not None:
            cw = self._cw
            hit = np.searchsorted(cw, rng.random(k) * cw[-1], side="right")
            pos[~uniform] = np.minimum(hit, size - 1)
        return pos if self._support is None else self._support[pos]


def _draw_until_distinct(
    rng: np.random.Generator,
    sampler: _MixtureSampler,
    labeler: _Labeler,
    n_new: int,
    max_draw_factor: int = 200,
) -> np.ndarray:
    """Draw records with replacement from ``sampler`` until ``n_new`` new records are labeled.

    Repeated draws of a labeled record are free. Stops early when every record of the
    sampler's support is labeled, or after ``max_draw_factor * n_new`` draws. Returns the draws
    (record indices), in draw order.
    """
    draws: list[np.ndarray] = []
    need = int(n_new)
    n_drawn = 0
    cap = max_draw_factor * max(need, 1) + 1000
    unlabeled = sampler.unlabeled(labeler.known)
    while need > 0 and unlabeled > 0 and n_drawn < cap:
        m = int(min(cap - n_drawn, max(2 * need, 64)))
        d = sampler.draw(rng, m)
        fresh = labeler.known[d] < 0
        if fresh.any():
            _, first = np.unique(d, return_index=True)
            first = np.sort(first[fresh[first]])
            if first.size >= need:
                d = d[: first[need - 1] + 1]
                first = first[:need]
            labeler.query(d[first])
            need -= int(first.size)
            unlabeled -= int(first.size)
        draws.append(d)
        n_drawn += d.size
    if not draws:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(draws)


def _supg_recall_from_sample(
    proxy: np.ndarray,
    labeler: _Labeler,
    draws: np.ndarray,
    masses: np.ndarray,
    recall: float,
    delta: float,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """SUPG's recall rule on a weighted sample; returns (mask, threshold, diagnostics)."""
    n = proxy.size
    y = labeler.known[draws].astype(float)
    order = _rank_order(proxy, draws)
    d, y, m = draws[order], y[order], masses[order]
    z = y * m
    total = float(z.sum())
    diag: dict[str, Any] = {"n_draws": int(d.size), "n_sampled_positive_draws": int(y.sum())}
    if total <= 0.0:
        diag["reason"] = "no positive sampled"
        return np.ones(n, dtype=bool), float(proxy.min()), diag
    cum = np.cumsum(z)
    tau = int(np.searchsorted(cum, recall * total, side="left"))
    tau = min(tau, d.size - 1)
    above = np.arange(d.size) <= tau
    ub1 = clt_upper(z * above, delta / 2)
    lb2 = clt_lower(z * ~above, delta / 2)
    diag.update({"tau_sample_pos": tau, "ub_above": ub1, "lb_below": lb2})
    if lb2 <= 0.0:
        gamma = 1.0
    else:
        gamma = ub1 / (ub1 + lb2)
    diag["adjusted_target"] = gamma
    if gamma >= 1.0:
        diag["reason"] = "adjusted target >= 1"
        return np.ones(n, dtype=bool), float(proxy.min()), diag
    cut_pos = int(np.searchsorted(cum, gamma * total, side="left"))
    cut_pos = min(cut_pos, d.size - 1)
    cut = int(d[cut_pos])
    mask = _prefix_mask(proxy, cut)
    mask |= _known_positive_mask(labeler)
    diag["cut_record"] = cut
    return mask, float(proxy[cut]), diag


def _supg_precision_two_stage(
    proxy: np.ndarray,
    labeler: _Labeler,
    sampler: _MixtureSampler,
    precision: float,
    delta: float,
    rng: np.random.Generator,
    start: int,
    step: int,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """SUPG's two-stage importance-sampling precision rule (union bound over cutoffs)."""
    n = proxy.size
    budget = labeler.remaining
    b1 = budget // 2
    b2 = budget - b1
    n_cand = max(0, (b2 - start) // step + 1) if b2 >= start else 0
    t_tests = 1 + n_cand
    dlt = delta / t_tests
    diag: dict[str, Any] = {"n_tests": t_tests}

    # stage 1: upper-bound the number of positives, hence the largest prefix worth testing
    d1 = _draw_until_distinct(rng, sampler, labeler, b1)
    m1 = (1.0 / n) / sampler.q(d1)
    pos_frac_ub = clt_upper(labeler.known[d1] * m1, dlt)
    if math.isfinite(pos_frac_ub):
        cutoff = int(min(n, math.ceil(pos_frac_ub * n / precision)))
    else:  # no stage-1 sample
        cutoff = n
    diag.update({"stage1_draws": int(d1.size), "positive_fraction_ub": pos_frac_ub})
    diag["stage2_prefix"] = cutoff
    if cutoff <= 0:
        mask = _known_positive_mask(labeler)
        return mask, math.inf, diag

    # stage 2: sample inside the prefix, test cutoffs at every `step`-th sample
    sub = sampler.restrict(_top_k_mask(proxy, cutoff))
    d2 = _draw_until_distinct(rng, sub, labeler, labeler.remaining)
    diag["stage2_draws"] = int(d2.size)
    order = _rank_order(proxy, d2)
    d2 = d2[order]
    y2 = labeler.known[d2].astype(float)
    best_cut = -1
    best_lb = math.nan
    for s in range(start + (n_cand - 1) * step, start - 1, -step) if n_cand else ():
        if s >= d2.size:
            continue
        cut = int(d2[s])
        end = s + 1
        while end < d2.size and d2[end] == cut:  # repeated draws of the cutoff record
            end += 1
        pm = _prefix_mask(proxy, cut)
        size = int(np.count_nonzero(pm))
        q_in = sampler.mass(pm)
        masses = (1.0 / size) / (sampler.q(d2[:end]) / q_in)
        lb = clt_lower(y2[:end] * masses, dlt)
        if lb > precision:
            best_cut, best_lb = cut, lb
            break
    diag["precision_lb"] = best_lb
    mask = _known_positive_mask(labeler).copy()
    if best_cut < 0:
        return mask, math.inf, diag
    mask |= _prefix_mask(proxy, best_cut)
    diag["cut_record"] = best_cut
    return mask, float(proxy[best_cut]), diag


def _supg_family(
    proxy: np.ndarray,
    label: LabelFn,
    weights: np.ndarray,
    *,
    method: str,
    target: str,
    value: float,
    delta: float,
    budget: int,
    seed: Any,
    start: int,
    step: int,
    notes: dict[str, Any],
) -> SelectionOutcome:
    rng = check_random_state(seed)
    n = proxy.size
    labeler = _Labeler(label, n, budget)
    sampler = _MixtureSampler(weights)
    if target == "recall":
        draws = _draw_until_distinct(rng, sampler, labeler, budget)
        masses = (1.0 / n) / sampler.q(draws)
        mask, thr, diag = _supg_recall_from_sample(proxy, labeler, draws, masses, value, delta)
    else:
        mask, thr, diag = _supg_precision_two_stage(
            proxy, labeler, sampler, value, delta, rng, start, step
        )
    return _outcome(
        method=method,
        target=target,
        value=value,
        delta=delta,
        budget=budget,
        mask=mask,
        threshold=thr,
        labeler=labeler,
        kind="asymptotic",
        seed=seed,
        notes={"bounds": "normal approximation, sqrt(2 ln(1/delta)) * sd / sqrt(n)", **notes},
        diagnostics=diag,
    )


def supg_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    start: int = 100,
    step: int = 100,
) -> SelectionOutcome:
    """SUPG (Kang et al., PVLDB 2020), reproduced as a baseline.

    Importance sampling with probability ``0.9 * sqrt(p) / sum(sqrt(p)) + 0.1 / N``, drawn
    with replacement until ``budget`` distinct records are labeled; masses ``(1/N) / q``.
    Recall target: the sample cutoff ``tau`` reaching ``value`` of the weighted positive mass;
    an upper bound on the mass above it and a lower bound on the mass below (``delta/2`` each)
    give the adjusted target ``UB / (UB + LB)``; the prefix reaching it plus every sampled
    positive is returned (everything when the lower bound is not positive). Precision target:
    SUPG's two-stage rule with a union bound over the cutoffs tested. Ties in the proxy are
    broken by record index. Guarantee: asymptotic (normal-approximation bounds).

    Parameters
    ----------
    proxy : numpy.ndarray of float, shape (N,)
        Proxy scores in [0, 1].
    label : callable
        ``label(idx) -> 0/1 array``; called with distinct, never-asked indices.
    target : {"recall", "precision"}
    value : float
        Target level in (0, 1).
    delta : float
        Failure probability in (0, 1).
    budget : int
        Distinct oracle labels.
    seed : int, numpy.random.Generator or None
    start, step : int
        Precision target: the first stage-2 sample position tested and the spacing of the
        tested positions.

    Returns
    -------
    SelectionOutcome

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000); y = (rng.random(2000) < p ** 4).astype(int)
    >>> out = supg_select(p, lambda i: y[i], value=0.9, budget=300, seed=1)
    >>> out.oracle_calls, out.guarantee.kind
    (300, 'asymptotic')
    """
    return _supg_family(
        proxy,
        label,
        np.sqrt(proxy),
        method="supg",
        target=target,
        value=value,
        delta=delta,
        budget=budget,
        seed=seed,
        start=start,
        step=step,
        notes={"sampling": "sqrt(proxy), 10% uniform"},
    )
