"""``abae``: ABAE (Kang et al., "Accelerating approximate aggregation queries with
expensive predicates", PVLDB 2021): proxy-quantile strata, two stages, allocation
proportional to ``sqrt(p_k) sigma_k``, stratified bootstrap interval. Asymptotic. Unlike the
published code, the proxy is sorted before stratifying.
"""

from __future__ import annotations

import math

import numpy as np

from ...exceptions import InvalidParameterError
from .common import _exact_run, _Oracle, _Run, _Strata, _target_met


def _abae(
    proxy: np.ndarray | None,
    oracle: _Oracle,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    budget: int | None,
    rng: np.random.Generator,
    strata: int = 5,
    stage1: float = 0.5,
    pilot_per_stratum: int = 100,
    n_boot: int = 1000,
    growth: float = 0.1,
    min_batch: int = 50,
) -> _Run:
    """ABAE (Kang et al., PVLDB 2021): proxy-quantile strata (the proxy is sorted before
    stratifying), stage 1 spends ``stage1`` of the budget evenly over the strata, stage 2
    allocates the rest proportionally to ``W_k sqrt(p_k) sigma_k``; the estimate is
    ``sum W_k p_k mu_k / sum W_k p_k`` with a stratified percentile bootstrap interval.
    Without ``where`` every record passes (``p_k = 1``). Asymptotic. In error-target mode,
    stage 1 takes ``pilot_per_stratum`` labels per stratum and stage 2 goes on in batches
    until the bootstrap interval meets the target (not anytime-valid)."""
    if proxy is None:
        raise InvalidParameterError("Method 'abae' needs a proxy.")
    n = oracle.n
    cap = n if budget is None else min(budget, n)
    st = _Strata(proxy, n, strata, rng)
    k = st.k
    weights = st.sizes / n
    samples: list[list[np.ndarray]] = [[] for _ in range(k)]

    def take(j: int, m: int) -> None:
        m = int(min(m, st.remaining[j]))
        if m > 0:
            idx = st.draw(j, m)
            oracle.fetch(idx)
            samples[j].append(idx)

    def stratum_data(j: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.concatenate(samples[j]) if samples[j] else np.zeros(0, dtype=np.int64)
        if oracle.kind == "ratio":
            return oracle.pairs(idx)
        return np.ones(idx.size), oracle.values(idx)

    def estimate_ci(boot: bool) -> tuple[float, float, float]:
        num = den = 0.0
        boot_num = np.zeros(n_boot)
        boot_den = np.zeros(n_boot)
        for j in range(k):
            passes, vals = stratum_data(j)
            m = passes.size
            if m == 0:
                continue
            num += weights[j] * float((passes * vals).sum()) / m
            den += weights[j] * float(passes.sum()) / m
            if boot:
                pairs = np.stack([passes, passes * vals], axis=1)
                uniq, counts = np.unique(pairs, axis=0, return_counts=True)
                draws = rng.multinomial(m, counts / m, size=n_boot)
                boot_den += weights[j] * (draws @ uniq[:, 0]) / m
                boot_num += weights[j] * (draws @ uniq[:, 1]) / m
        if den <= 0:
            return float("nan"), oracle.lo, oracle.hi
        est = num / den
        if not boot:
            return est, est, est
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = np.where(boot_den > 0, boot_num / np.where(boot_den > 0, boot_den, 1), np.nan)
        reps = reps[np.isfinite(reps)]
        if reps.size == 0:
            return est, oracle.lo, oracle.hi
        lower, upper = np.quantile(reps, [delta / 2.0, 1.0 - delta / 2.0])
        return est, float(lower), float(upper)

    def allocation() -> np.ndarray:
        score = np.zeros(k)
        for j in range(k):
            passes, vals = stratum_data(j)
            if passes.size == 0:
                continue
            p_hat = float(passes.mean())
            pos = vals[passes > 0]
            sd = float(np.std(pos, ddof=1)) if pos.size > 1 else 0.0
            score[j] = weights[j] * math.sqrt(p_hat) * sd
        score = np.where(st.remaining > 0, score, 0.0)
        if score.sum() <= 0:
            score = np.where(st.remaining > 0, weights, 0.0)
        if score.sum() <= 0:  # every record is labeled
            return np.full(k, 1.0 / k)
        return score / score.sum()

    def spend(total: int, share: np.ndarray) -> None:
        """Take ``total`` labels split by ``share`` (largest-remainder rounding); what an
        exhausted stratum cannot take goes to the others."""
        total = int(min(total, st.remaining.sum()))
        while total > 0:
            live = st.remaining > 0
            s = np.where(live, share, 0.0)
            if s.sum() <= 0:
                s = st.remaining.astype(float)
            want = s / s.sum() * total
            base = np.floor(want).astype(int)
            extra = total - base.sum()
            if extra > 0:
                base[np.argsort(-(want - base))[:extra]] += 1
            before = oracle.calls
            for j in range(k):
                take(j, base[j])
            got = oracle.calls - before
            if got == 0:
                break
            total -= got

    notes = {"interval": "stratified percentile bootstrap", "strata": k}
    if error is None:
        n1 = int(stage1 * cap / k)
        for j in range(k):
            take(j, n1)
        left = cap - oracle.calls
        if left > 0:
            spend(left, allocation())
        stopped = "budget"
    else:
        spend(min(pilot_per_stratum * k, cap), np.full(k, 1.0 / k))
        share = allocation()
        stopped = "budget"
        while True:
            if oracle.exhausted:
                stopped = "exhausted"
                break
            est, lower, upper = estimate_ci(True)
            if _target_met(lower, upper, error, relative):
                stopped = "error"
                break
            left = cap - oracle.calls
            if left <= 0:
                break
            spend(min(max(min_batch, int(growth * oracle.calls)), left), share)
    diag = {"strata": k, "labels_per_stratum": [int(sum(a.size for a in s)) for s in samples]}
    if oracle.exhausted:
        return _exact_run(oracle, "asymptotic", False, notes, diag)
    est, lower, upper = estimate_ci(True)
    return _Run(est, lower, upper, stopped, "asymptotic", False, notes, diag)
