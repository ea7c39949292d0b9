"""``assay-pilot``: a recall-target design that learns where the positives are before it
decides what to leave out. Finite-sample valid for any labels; the argument is in
:func:`pilot_select`'s docstring (Notes). The precision target is assay's own
(:func:`.default.assay_select`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..._validation import check_random_state
from .._select_bounds import hypergeom_lower, hypergeom_upper
from .common import LabelFn, SelectionOutcome, _Labeler, _outcome, _rank_order
from .default import _assay_precision

#: Share of the labels left after the head that the planning pilot takes.
PILOT_SHARE = 0.15
#: Largest planning pilot: ten strata of 25 records locate the positives well enough.
PILOT_MAX = 250
#: Strata of the planning pilot (equal shares of its sampling weight).
PILOT_STRATA = 10
#: Shares of the certification labels the plan may give to the kept region ``T``.
T_SHARES = (0.0, 0.1, 0.25)
#: Shares of ``delta`` the plan may give to the lower bound on ``T``'s positives.
DELTA_T_SHARES = (0.25, 0.5)
#: Shares of the rest of ``delta`` the plan may spend, candidate by candidate, on the lower
#: bound of the left-out region's positives above the cutoff (only candidates that keep part
#: of that region spend any).
DELTA_B_SHARES = (0.05, 0.15, 0.35)


def pilot_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    pilot_share: float = PILOT_SHARE,
    head_fraction: float = 0.5,
    head_batches: int = 40,
    n_grid: int = 96,
) -> SelectionOutcome:
    """Recall target: label the head, pilot, plan, then certify with fresh labels.

    1. *Head*: the highest-proxy records are labeled top-down in batches while a batch's
       positive rate stays above ``head_rate_scale * max(found, sum(proxy)) / labels left``
       (at most ``head_fraction * budget``).
    2. *Pilot* (``pilot_share`` of the labels left): a stratified random sample of the
       unlabeled records, strata cut by proxy rank so that each holds an equal share of the
       weight ``sqrt(proxy)`` mixed half and half with uniform; each stratum's positive rate
       (shrunk to its mean proxy) gives an estimate of the positives at every rank.
    3. *Plan* (pilot labels only): the unlabeled records, ranked by proxy, are split at a rank
       ``r0`` into a kept region ``T`` (above) and a region ``L`` (below) that may be left out;
       the certification labels are split ``n_T + n_L``; the candidate cutoffs are ranks
       ``c >= r0`` (candidate set: every labeled positive, ``T``, and ``L``'s records ranked
       above ``c``); ``delta`` is split per candidate between a lower bound on ``T``'s
       positives (``delta_T``, only when ``n_T > 0``), a lower bound on the positives of ``L``
       above ``c`` (``delta_B``, only for ``c > r0``) and an upper bound on those below
       (``delta_A``, the rest). ``(r0, n_T, delta_T)`` are chosen from small grids to make the
       smallest candidate predicted to pass (plug-in Clopper-Pearson bounds at the pilot's
       rates, pessimistic by one standard deviation on the left-out side) as small as
       possible.
    4. *Certify*: fresh simple random samples of ``n_T`` records of ``T`` and ``n_L`` of
       ``L``. Candidate ``c`` passes when ``(1 - value) * (Y_known + LB_T + LB_B(c)) >=
       value * UB_A(c)`` (exact hypergeometric bounds). Candidates are tested from the largest
       set down (fixed-sequence); the smallest set reached before the first failure is
       returned, minus the records labeled negative, plus every record labeled positive.
       When none passes, every record not labeled negative is returned.

    Parameters are those of :func:`.default.assay_select` plus ``pilot_share``; the
    precision target is :func:`.default.assay_select`'s.

    Returns
    -------
    SelectionOutcome
        ``guarantee.kind == "finite-sample"``.

    Notes
    -----
    Why the recall guarantee holds for any labels: condition on the head, the pilot and their
    labels. Everything the certification uses besides its own samples (the regions ``T`` and
    ``L``, the sample sizes, the candidate cutoffs, their order and each candidate's split of
    ``delta``) is a function of the proxy scores, these labels and the seed, so it is fixed
    given them, and the two certification samples are independent simple random samples of
    ``T`` and ``L``. For a fixed candidate ``c``, the ``L`` sample's records on each side of
    ``c`` form a simple random sample of that side given their number, so each of the (at most
    three) exact bounds fails with at most its share of ``delta`` and the test of ``c`` passes
    while the candidate set misses the target with probability at most ``delta`` (union
    bound). The candidate sets are nested and recall grows with the set, so the candidates
    that miss the target are the smallest ones, up to a fixed ``c*``; returning one of them
    requires passing the test at ``c*`` (fixed-sequence testing from the largest set), which
    has probability at most ``delta``. Adding labeled positives and removing labeled negatives
    cannot lower recall. No part of ``delta`` goes to a bound a candidate does not use.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(5000); y = (rng.random(5000) < p ** 8).astype(int)
    >>> out = pilot_select(p, lambda i: y[i], value=0.9, budget=1500, seed=1)
    >>> out.guarantee.kind, out.oracle_calls <= 1500
    ('finite-sample', True)
    >>> bool(y[out.selected].sum() >= 0.9 * y.sum())
    True
    """
    rng = check_random_state(seed)
    n = proxy.size
    labeler = _Labeler(label, n, budget)
    if target == "recall":
        mask, thr, diag = _pilot_recall(
            proxy,
            labeler,
            value,
            delta,
            rng,
            pilot_share,
            head_fraction,
            n_grid,
        )
    else:
        mask, thr, diag = _assay_precision(proxy, labeler, value, delta, rng, 256, head_batches)
    return _outcome(
        method="assay-pilot",
        target=target,
        value=value,
        delta=delta,
        budget=budget,
        mask=mask,
        threshold=thr,
        labeler=labeler,
        kind="finite-sample",
        seed=seed,
        notes={
            "bounds": "exact hypergeometric (sampling without replacement)",
            "multiplicity": "fixed-sequence testing over cutoffs chosen before the "
            "certification sample",
            "assumptions": "none on the proxy or the labels",
        },
        diagnostics=diag,
    )


def _grid(m: int, size: int) -> np.ndarray:
    """About ``size`` integers in [0, m], geometric near 0 and linear, with 0 and m."""
    if m <= 0:
        return np.zeros(1, dtype=np.int64)
    half = max(size // 2, 2)
    g = np.concatenate([[0], np.geomspace(1, m, half), np.linspace(0, m, half + 1)])
    return np.unique(np.clip(g.round(), 0, m)).astype(np.int64)


def _wilson(k: np.ndarray, nn: np.ndarray, alpha: np.ndarray, upper: bool) -> np.ndarray:
    """One-sided Wilson score bound on a rate (planning only: fast, close to Clopper-Pearson)."""
    z = stats.norm.isf(np.maximum(alpha, 1e-300))
    nn_ = np.maximum(nn, 1e-9)
    p = np.clip(k / nn_, 0.0, 1.0)
    den = 1.0 + z * z / nn_
    center = (p + z * z / (2.0 * nn_)) / den
    half = z * np.sqrt(p * (1.0 - p) / nn_ + z * z / (4.0 * nn_ * nn_)) / den
    if upper:
        return np.where(nn > 0, np.minimum(center + half, 1.0), 1.0)
    return np.where((nn > 0) & (alpha > 0), np.maximum(center - half, 0.0), 0.0)


def _plan(
    est: np.ndarray,
    y_known: float,
    b2: int,
    recall: float,
    delta: float,
    n_grid: int,
    h_grid: np.ndarray,
) -> tuple[float, int, int, int, float, np.ndarray]:
    """Choose (head size, r0, n_T, delta_T share) from estimated per-rank positive rates.

    Returns (predicted kept records, h, r0, n_T, s_T, each candidate's delta_B share). Ranks are positions in ``est`` (the
    unlabeled records by proxy, descending); the head is the first ``h`` of them, ``T`` the
    next ``r0``, ``L`` the rest. The prediction is the smallest candidate that passes with
    plug-in (Wilson) bounds at the estimated rates, pessimistic by one standard deviation on
    the left-out side, under fixed-sequence testing from the largest set.
    """
    m_all = est.size
    cpos_all = np.concatenate([[0.0], np.cumsum(est)])
    best: tuple = (math.inf, 0, 0, 0, 0.0, np.zeros(0))
    for h in h_grid:
        h = int(min(h, m_all, b2))
        m_u = m_all - h
        bb = b2 - h
        if m_u <= 0 or bb <= 0:
            continue
        y_head = cpos_all[h]
        cpos = cpos_all[h:] - y_head
        total = cpos[-1]
        cands = _grid(m_u, n_grid)
        cands = cands[cands < m_u].astype(float)
        r0s = cands[:: max(1, cands.size // 40)][:, None]  # rows: r0, columns: candidates
        cc = np.broadcast_to(cands[None, :], (r0s.shape[0], cands.size))
        valid = cc >= r0s
        first_valid = np.searchsorted(cands, r0s[:, 0])
        m_l = m_u - r0s
        y_t = cpos[r0s.astype(int)]
        y_b = cpos[cc.astype(int)] - y_t
        y_a = total - cpos[cc.astype(int)]
        for f_t in T_SHARES:
            n_t = np.minimum(np.round(f_t * bb), r0s)
            n_l = np.minimum(bb - n_t, m_l)
            for s_t in DELTA_T_SHARES if f_t > 0 else (0.0,):
                d_t = np.where(n_t > 0, s_t * delta, 0.0)
                d_rest = delta - d_t
                lb_t = r0s * _wilson(n_t * y_t / np.maximum(r0s, 1), n_t, d_t, upper=False)
                n_b = n_l * (cc - r0s) / m_l
                n_a = n_l - n_b
                k_b = n_l * y_b / m_l
                k_a = n_l * y_a / m_l
                k_a = k_a + np.sqrt(k_a)  # pessimistic by a standard deviation
                margins = []
                for s_b in DELTA_B_SHARES:
                    d_b = np.where(cc > r0s, s_b * d_rest, 0.0)
                    lb_b = (cc - r0s) * _wilson(k_b, n_b, d_b, upper=False)
                    ub_a = (m_u - cc) * _wilson(k_a, n_a, d_rest - d_b, upper=True)
                    margins.append(
                        (1.0 - recall) * (y_known + y_head + lb_t + lb_b) - recall * ub_a
                    )
                margin = np.stack(margins)
                pick = margin.argmax(axis=0)  # each candidate's own split of delta
                ok = margin.max(axis=0) >= 0.0
                ok |= ~valid
                # fixed sequence from the largest set down: smallest set before a failure
                last_fail = np.where(~ok, np.arange(cands.size)[None, :], -1).max(axis=1)
                first = np.maximum(last_fail + 1, first_valid)
                size = np.where(first < cands.size, cands[np.minimum(first, cands.size - 1)], m_u)
                size = size + y_head
                i = int(np.argmin(size))
                if size[i] < best[0]:
                    s_b = np.asarray(DELTA_B_SHARES)[pick[i]][valid[i]]
                    best = (float(size[i]), h, int(r0s[i, 0]), int(n_t[i, 0]), s_t, s_b)
    return best


def _pilot_sample(
    rng: np.random.Generator, proxy: np.ndarray, ranked: np.ndarray, size: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Stratified pilot over the records ``ranked`` (proxy descending); returns the per-stratum
    samples and the stratum edges (positions in ``ranked``)."""
    m = ranked.size
    w = np.sqrt(proxy[ranked])
    tot = float(w.sum())
    w = 0.5 * (w / tot if tot > 0 else 1.0 / m) + 0.5 / m
    k = int(min(PILOT_STRATA, max(1, size // 8), m))
    cw = np.cumsum(w)
    edges = np.searchsorted(cw, np.linspace(0, cw[-1], k + 1)[1:-1], side="left")
    edges = np.unique(np.concatenate([[0], edges, [m]]))
    sizes = np.diff(edges)
    k = sizes.size
    per = np.full(k, size // k)
    per[: size - per.sum()] += 1
    samples = []
    for s in range(k):
        take = min(int(per[s]), int(sizes[s]))
        pos = rng.choice(int(sizes[s]), size=take, replace=False) + edges[s]
        samples.append(ranked[pos])
    return samples, edges


def _pilot_recall(
    proxy: np.ndarray,
    labeler: _Labeler,
    recall: float,
    delta: float,
    rng: np.random.Generator,
    pilot_share: float,
    head_fraction: float,
    n_grid: int,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    n = proxy.size
    budget = labeler.budget
    diag: dict[str, Any] = {}

    # pilot: stratified by proxy rank; for planning only
    ranked = _rank_order(proxy, np.arange(n)).astype(np.int64)
    pilot_n = min(int(math.ceil(pilot_share * budget)), PILOT_MAX, n)
    est_all = proxy[ranked].astype(float)
    if 0 < pilot_n < budget:
        samples, edges = _pilot_sample(rng, proxy, ranked, pilot_n)
        labeler.query(np.concatenate(samples))
        # per-stratum positive rate, shrunk towards the stratum's mean proxy (one record's worth)
        rate = np.array(
            [
                (labeler.known[smp].sum() + proxy[ranked[edges[j] : edges[j + 1]]].mean())
                / (smp.size + 1.0)
                for j, smp in enumerate(samples)
            ]
        )
        est_all = np.repeat(rate, np.diff(edges))
        diag.update({"pilot_size": int(pilot_n), "pilot_strata": int(rate.size)})

    def unlabeled() -> tuple[np.ndarray, np.ndarray]:
        still = labeler.known[ranked] < 0
        return ranked[still], est_all[still]

    # plan the head (top-down labels: exact counts, and its negatives leave the answer)
    rk, est = unlabeled()
    b2 = labeler.remaining
    h_max = int(min(head_fraction * budget, b2, rk.size))
    h_grid = np.unique(np.concatenate([[0], np.geomspace(1, max(h_max, 1), 10).round()]))
    h_grid = h_grid[h_grid <= h_max].astype(np.int64)
    y_known = float(np.count_nonzero(labeler.known == 1))
    _, h, _, _, _, _ = _plan(est, y_known, b2, recall, delta, n_grid, h_grid)
    if h > 0:
        labeler.query(rk[:h])
    diag["head_size"] = int(h)

    # plan the certification with the head's labels known
    rk, est = unlabeled()
    y_known = int(np.count_nonzero(labeler.known == 1))
    b2 = labeler.remaining
    m_u = rk.size
    diag.update({"known_positives_before_certification": y_known, "n_unlabeled": int(m_u)})
    if m_u == 0 or b2 <= 0:
        mask = labeler.known == 1 if m_u == 0 else labeler.known != 0
        diag["reason"] = "every record labeled" if m_u == 0 else "no labels left to certify"
        return mask, (math.inf if m_u == 0 else float(proxy.min())), diag
    if b2 >= m_u:
        labeler.query(rk)
        diag["reason"] = "every record labeled"
        return labeler.known == 1, math.inf, diag
    planned, _, r0, n_t, s_t, s_b = _plan(est, y_known, b2, recall, delta, n_grid, np.zeros(1, int))
    diag.update({"r0": r0, "n_T": n_t, "delta_T_share": s_t, "planned_size": planned})

    # certify: fresh simple random samples of T (ranks [0, r0)) and L (the rest)
    cands = _grid(m_u, n_grid)
    t_rec, l_rec = rk[:r0], rk[r0:]
    n_l = min(b2 - n_t, l_rec.size)
    t_pos = rng.choice(t_rec.size, size=n_t, replace=False) if n_t else np.empty(0, np.int64)
    l_pos = rng.choice(l_rec.size, size=n_l, replace=False) if n_l else np.empty(0, np.int64)
    y_t = labeler.query(t_rec[t_pos]) if n_t else np.empty(0, np.int64)
    y_l = labeler.query(l_rec[l_pos]) if n_l else np.empty(0, np.int64)
    d_t = s_t * delta if n_t else 0.0
    lb_t = int(hypergeom_lower(int(y_t.sum()), n_t, r0, d_t)) if n_t else 0
    cut = cands[(cands >= r0) & (cands < m_u)] - r0  # cutoffs as positions in L
    m_l = l_rec.size
    n_b = np.searchsorted(np.sort(l_pos), cut, side="left")  # sampled L records above each
    k_b = np.searchsorted(np.sort(l_pos[y_l == 1]), cut, side="left")
    k_a = int(y_l.sum()) - k_b
    n_a = n_l - n_b
    d_rest = delta - d_t
    d_b = s_b * d_rest if s_b.size == cut.size else np.full(cut.size, DELTA_B_SHARES[0] * d_rest)
    inner = cut > 0
    lb_b = np.zeros(cut.size, dtype=np.int64)
    ub_a = np.zeros(cut.size, dtype=np.int64)
    if inner.any():
        for db in np.unique(d_b[inner]):  # each candidate's own split, fixed by the plan
            sel = inner & (d_b == db)
            lb_b[sel] = hypergeom_lower(k_b[sel], n_b[sel], cut[sel], db)
            ub_a[sel] = hypergeom_upper(k_a[sel], n_a[sel], m_l - cut[sel], d_rest - db)
    if (~inner).any():
        ub_a[~inner] = hypergeom_upper(k_a[~inner], n_a[~inner], m_l - cut[~inner], d_rest)
    ok = (1.0 - recall) * (y_known + lb_t + lb_b) >= recall * ub_a
    chosen = cut.size  # "everything"
    for j in range(cut.size - 1, -1, -1):
        if not ok[j]:
            break
        chosen = j
    diag.update({"n_random_sample": int(n_t + n_l), "lb_T": lb_t, "n_candidates": int(cut.size)})
    known_neg = labeler.known == 0
    if chosen == cut.size:
        diag["reason"] = "no candidate cutoff certified below the full set"
        return ~known_neg, float(proxy.min()), diag
    keep = rk[: r0 + int(cut[chosen])]
    mask = np.zeros(n, dtype=bool)
    mask[keep] = True
    mask &= ~known_neg
    mask |= labeler.known == 1
    diag.update(
        {
            "chosen_candidate": int(chosen),
            "ub_positives_below": int(ub_a[chosen]),
            "lb_positives_above_in_L": int(lb_b[chosen]),
            "records_below": int(m_l - cut[chosen]),
        }
    )
    return mask, (float(proxy[keep[-1]]) if keep.size else math.inf), diag
