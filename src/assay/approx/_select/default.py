"""``assay``: assay's own selection method (the default), finite-sample valid for any labels:
the top of the proxy ranking is labeled exhaustively, the rest is covered by a simple random
sample, exact hypergeometric bounds certify candidate cutoffs, and fixed-sequence testing
over the nested candidates removes any multiplicity correction. No paper to cite: the design
and its validity argument are in :func:`assay_select`'s docstring (Notes).

The candidate cutoffs live on a fixed grid of proxy values (the float64 bucket grid below).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..._validation import check_random_state
from ...exceptions import InvalidParameterError
from .._select_bounds import hypergeom_lower, hypergeom_upper, misses_critical, region_pvalues
from .common import (
    LabelFn,
    SelectionOutcome,
    _Labeler,
    _outcome,
    _rank_order,
    _srs,
    _top_k,
    _top_k_mask,
)

# Candidate cutoffs live on a fixed grid of proxy values: the float64 bit pattern of a
# non-negative number is monotone in the number, so its top 20 bits (sign, exponent and 8
# mantissa bits) index ~2.6e5 buckets with 0.4% relative resolution at every scale, and the
# records at or above any bucket edge are counted exactly with one bincount, without sorting.
_SHIFT = np.uint64(44)
_N_BUCKETS = int(np.array(1.0).view(np.uint64) >> _SHIFT) + 1


def _bucket(values: np.ndarray) -> np.ndarray:
    """Monotone bucket of each (non-negative, non-NaN) value; ``v >= edge(b)`` iff bucket >= b."""
    return (np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) >> _SHIFT).astype(
        np.intp
    )


def _bucket_edge(b: np.ndarray) -> np.ndarray:
    """Smallest value of each bucket."""
    return (np.asarray(b, dtype=np.uint64) << _SHIFT).view(np.float64)


def _histogram(values: np.ndarray) -> np.ndarray:
    return np.bincount(_bucket(values), minlength=_N_BUCKETS)


def _cutoff_grid(hist: np.ndarray, n_grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate cutoffs for a region with bucket histogram ``hist`` (label-free).

    Returns bucket indices in decreasing order (growing prefixes) and, for each, the number of
    region records at or above its edge. The prefix sizes aimed at are spaced geometrically
    (fine near the top) and linearly; the last candidate holds the whole region.
    """
    ge = np.cumsum(hist[::-1])[::-1]  # ge[b] = records with bucket >= b
    m = int(ge[0])
    if m == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int64)
    half = max(n_grid // 2, 1)
    targets = np.unique(
        np.concatenate([np.geomspace(1, m, half), np.linspace(0, m, half + 1)[1:]]).round()
    )
    targets = targets[targets >= 1]
    b = np.searchsorted(-ge, -targets, side="right") - 1  # largest bucket with ge >= target
    b = np.unique(b)[::-1]
    return b, ge[b].astype(np.int64)


#: The recall target uses the head design when the budget is at least this many times what
#: the head design needs by the proxy's reading (:func:`_head_pays`); chosen leaving tasks out
#: (docs/benchmarks.md, "select-design").
HEAD_SCALE = 1.75

#: Uniform design: widest range of positive counts searched for the worst case before
#: bounds on that count (at 1% of delta) narrow it.
UNIFORM_P_RANGE = 200_000

#: Uniform design: the unconditional test (:func:`_uniform_unconditional`) is used when the
#: sample is expected to hold fewer than this many times the ``ln(1/delta) / -ln(recall)``
#: positives the conditional test needs (by the proxy's reading); chosen leaving tasks out
#: (docs/benchmarks.md, "select-design").
UNCONDITIONAL_SCALE = 1.5

#: The unconditional test's candidate regions: about the lowest 5%, 6%, ..., 99% of the records
#: by proxy (each the records below the first edge of the proxy's bucket grid with at least that
#: share under it), tested in that order (fixed before sampling; set a priori, not tuned).
UNCONDITIONAL_GRID = np.round(np.arange(0.05, 0.995, 0.01), 2)

#: Uniform design, conditional test: once the sample holds this many times the
#: ``ln(1/delta) / -ln(recall)`` positives the test needs, it may stop and leave the labels
#: left to verifying the returned records (:func:`_verification_pays`); chosen leaving tasks
#: out (docs/benchmarks.md, "select-design").
VERIFY_SCALE = 2.5

#: Share of the labels left after the head that the recall target's pilot sample takes.
PILOT_SHARE = 0.1


def _sample_counts(
    proxy: np.ndarray, sample: np.ndarray, y: np.ndarray, buckets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate bucket: sampled records at or above its edge, and their positives."""
    sb = np.sort(_bucket(proxy[sample]))
    pb = np.sort(_bucket(proxy[sample[y == 1]]))
    n_ge = sb.size - np.searchsorted(sb, buckets, side="left")
    k_ge = pb.size - np.searchsorted(pb, buckets, side="left")
    return n_ge.astype(np.int64), k_ge.astype(np.int64)


def _head_phase(
    proxy: np.ndarray,
    labeler: _Labeler,
    max_head: int,
    batch: int,
    expected_positives: float,
    min_rate: float,
    rate_scale: float = 1.0,
) -> np.ndarray:
    """Label the top of the ranking in batches while it pays; return the head (rank order).

    Keeps labeling while the positive rate of the last batch is at least
    ``max(min_rate, max(found, expected_positives) / remaining_budget)``: a head label is worth
    about its positive rate, a label of the random sample about the share of the positives it
    helps bound per label. Only efficiency depends on this rule, never validity.
    """
    order = _top_k(proxy, max_head)
    h = 0
    found = 0
    while h < order.size and labeler.remaining > 0:
        b = min(batch, order.size - h, labeler.remaining)
        y = labeler.query(order[h : h + b])
        h += b
        found += int(y.sum())
        rate = float(y.mean())
        bar = max(min_rate, rate_scale * max(found, expected_positives) / max(labeler.remaining, 1))
        if rate < bar:
            break
    return order[:h]


def assay_select(
    proxy: np.ndarray,
    label: LabelFn,
    *,
    target: str = "recall",
    value: float = 0.9,
    delta: float = 0.05,
    budget: int = 1000,
    seed: Any = None,
    head_fraction: float = 0.5,
    head_batches: int = 40,
    delta_split: float | None = None,
    n_grid: int = 256,
    head_rate_scale: float = 0.25,
    focus: bool = True,
    design: str = "auto",
    design_scale: float | None = None,
    uniform_test: str = "auto",
    uniform_scale: float | None = None,
    verify_scale: float | None = None,
) -> SelectionOutcome:
    """assay's selection: finite-sample valid for any labels, whatever the proxy.

    Recall target: one of two designs, chosen before any label is asked
    (``design="auto"``: the head design when the budget is at least ``design_scale`` times
    what it needs by the proxy's reading, ``2 P + B*`` with ``P`` the sum of the proxy scores
    and ``B*`` below; only efficiency depends on the choice).

    *Uniform design* (budgets too small to label the top):

    1. A simple random sample, without replacement, of ``budget`` records from all of them.
    2. Given the number ``k`` of positives it holds, they are a simple random sample of all
       ``P`` positives, so the number ``b`` of them below a cutoff fixed in advance is
       hypergeometric. The returned cutoff is the proxy score of the ``(b* + 1)``-th lowest
       sampled positive, ``b*`` the largest count with probability at most ``delta`` under
       every ``P`` the sample allows and every split that misses the target
       (:func:`~assay.approx._select_bounds.misses_critical`): the largest set whose sampled
       positives below it are few enough to reject "recall below the target".
    3. The set: every record at or above the cutoff, minus those labeled negative, plus
       every labeled positive.
    4. *Verification* (conditional test only): the sample is drawn in a uniformly random
       order, in batches. Once it holds ``verify_scale`` times the ``ln(1/delta) / -ln(R)``
       positives step 2 needs, it stops if the labels left could check every negative the
       returned set is expected to hold (estimated from the sampled negatives above the
       cutoff the proxy's scores predict), and the labels left go to the returned records
       not yet labeled, lowest proxy first; the negatives found are dropped. Removing
       records labeled negative cannot lower recall, and the stop depends only on the
       number of sampled positives and on the sampled negatives, never on which positives
       were drawn, so step 2 stays valid (Notes).

    Step 2 needs about ``ln(1/delta) / -ln(R)`` sampled positives (29 at ``R = 0.9``,
    ``delta = 0.05``) to leave anything out. When the sample is expected to hold fewer
    (``uniform_test="auto"``: ``budget P / N`` below ``uniform_scale`` times that, by the
    proxy's reading; chosen before any label), step 2 is replaced by the *unconditional*
    test: candidate regions, about the lowest 5%, 6%, ..., 99% of the records by proxy (cut
    at edges of the bucket grid below), are tested in that order and the largest region
    before the first one not rejected is left out. A
    region is rejected when no sampled positive lies in it and the p-value of "it holds more
    than ``1 - R`` of the positives" is at most ``delta``
    (:func:`~assay.approx._select_bounds.region_pvalues`: the sampled positives outside it
    bound the positives from below, so about 23 suffice).

    *Head design*:

    1. *Head*: label the highest-proxy records top-down in batches (at most
       ``head_fraction * budget``), stopping when a batch's positive rate drops below a
       fraction of the value of a label spent on the random sample (see ``_head_phase``; head
       labels also remove negatives from the answer, hence the fraction).
    2. *Pilot* (``focus``): a simple random sample of ``PILOT_SHARE`` of the labels left, from
       every record outside the head. Its records become known ones like the head's.
    3. *Random sample*: a simple random sample, without replacement, of the remaining budget
       from the *region*: every unknown record, or, when the pilot predicts that a sample
       spread over all of them cannot leave much out (``B U' / q`` below their number, ``B``
       labels left, ``U' = (1 - R) / R`` times the known positives plus the pilot's estimate
       of the others, ``q`` the Poisson upper limit at ``delta_A`` for one count), the
       ``M = B max(U / q, 1)`` lowest-proxy unknown records (``U`` from the known positives
       only): about the most records ``B`` labels can show to hold fewer positives than the
       target allows to miss, even when the sample holds one. Records above the region are
       then kept whatever the labels say, so no label is spent on them.
    4. *Candidates*: proxy cutoffs ``c`` inside the region chosen without looking at its sample;
       the candidate set for ``c`` is the known records, the records above the region and every
       region record with proxy >= ``c``. The sets are nested.
    5. *Test*: for the prefix above ``c`` the recall is at least ``value`` iff
       ``G(c) = (1 - value) * Y_above(c) - value * Y_below(c) >= 0`` (``Y``: positives). The
       known records count exactly, the records above the region as holding no positive (a
       lower bound); the region's positives above ``c`` get an exact hypergeometric lower bound at
       level ``delta_B`` and those below ``c`` an exact upper bound at level
       ``delta_A = delta - delta_B``, from the random sample's records on each side (each a
       simple random sample of its side given its size).
    6. *Fixed-sequence testing*: cutoffs are tested from the largest set down, and the
       smallest set reached before the first failed test is returned, minus the records the
       oracle labeled negative, plus every labeled positive.

    Precision target: the top of the ranking is labeled first. When it is sparse (positive rate
    of the first ``budget / 10`` records below ``value``) every label goes top-down and only
    oracle-confirmed positives are returned (precision 1, recall as high as the budget
    allows). When it is dense, a pilot random sample estimates how far down the precision
    stays above ``value``, a second random sample covers that window, and prefixes are tested
    from the smallest up (fixed-sequence testing, exact hypergeometric lower bounds),
    returning the largest prefix passed plus every labeled positive, minus labeled negatives.

    Parameters
    ----------
    proxy : numpy.ndarray of float, shape (N,)
        Proxy scores in [0, 1]. Only their order matters for validity.
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
    head_fraction : float
        Recall target: largest share of the budget spent on the head.
    head_batches : int
        The head (and, for the precision target, the top-down labeling) is labeled in
        batches of ``ceil(budget / head_batches)`` records: fewer, larger batches mean fewer
        rounds for people labeling, at some cost in labels.
    delta_split : float or None
        Recall target: share of ``delta`` spent on the lower bound of the positives above the
        cutoff outside the head (the rest bounds the positives below it). ``None`` chooses it
        from the proxy scores (the proxy-expected share of positives outside the head, clipped
        to [0.1, 0.5]), before any random sample is drawn.
    n_grid : int
        About how many candidate cutoffs are tested.
    head_rate_scale : float
        Recall target: the head stops when a batch's positive rate falls below
        ``head_rate_scale * max(positives found, sum(proxy)) / remaining budget``.
    focus : bool
        Head design: take a pilot and, when it allows, draw the random sample from the
        lowest-proxy region only (steps 2-3). ``False``: no pilot, and the sample spreads over
        every record outside the head.
    design : {"auto", "uniform", "head"}
        Recall target: which design; ``"auto"`` chooses by the budget (see above).
    design_scale : float or None
        ``"auto"``'s threshold; ``None`` is ``HEAD_SCALE`` (1.75), chosen leaving tasks out
        (``benchmarks/bench_select_design.py``).
    uniform_test : {"auto", "conditional", "unconditional"}
        The uniform design's test (see above); ``"auto"`` chooses by the expected number of
        sampled positives.
    uniform_scale : float or None
        ``uniform_test="auto"``'s threshold; ``None`` is ``UNCONDITIONAL_SCALE``, chosen
        leaving tasks out (``benchmarks/bench_select_design.py``).
    verify_scale : float or None
        Uniform design: the sample may stop once it holds ``verify_scale * ln(1/delta) /
        -ln(value)`` positives, the rest of the budget verifying the returned records (step
        4). ``None`` is ``VERIFY_SCALE`` (2.5), chosen leaving tasks out
        (``benchmarks/bench_select_design.py``); ``math.inf`` spends every label on the
        sample.

    Returns
    -------
    SelectionOutcome
        ``guarantee.kind == "finite-sample"``.

    Notes
    -----
    Why the uniform design's guarantee holds for any data: let ``c*`` be the lowest cutoff
    whose set misses the target (every set missing it lies inside ``c*``'s; it is fixed by
    the data, not the sample). Returning a set that misses means at most ``b*`` sampled
    positives lie below the returned cutoff, hence at most ``b*`` below ``c*``; given ``k``,
    that has probability at most ``delta`` (``b*``'s definition, ``P`` being in the range
    the sample allows: at least ``k``, at most the records not seen to be negative), so at
    most ``delta`` overall. Every cutoff is allowed, with no grid and no multiplicity cost,
    because the count below a cutoff only grows as the cutoff rises. On millions of records
    the range of ``P`` is first narrowed by exact lower and upper bounds at ``delta / 200``
    each (``delta / (200 L)`` when the sample may stop early, at every one of its ``L``
    batch ends), and ``b*`` is taken at ``0.99 delta`` (a union bound over those events and
    the test's).
    Stopping the sample early (step 4) keeps this: in a uniformly random order of the
    records, the order of the positives among themselves is independent of where positives
    fall in the sequence and of the order of the negatives; the stop depends on those two
    only, so the positives drawn by then are a simple random sample of all positives given
    their number, which is all the argument above uses.
    With the unconditional test: the regions are nested and fixed before sampling, and
    region ``i`` fails the target exactly when it holds more than ``1 - R`` of the
    positives, so the failing regions are those from a fixed one on; leaving out a failing
    region requires rejecting that first failing one, whose p-value is valid (given the
    number of sampled records inside it, the samples inside and outside are independent
    simple random samples; the p-value is the largest, over every count of positives, of
    the probability of data at least as extreme in a fixed order), so at most ``delta``.

    Why the head design's guarantee holds for any data: condition on everything decided before the
    random sample (the head, the pilot and their labels, ``delta_split``, the region, and the
    candidate cutoffs, which depend on the proxy scores and those labels only). For a fixed
    cutoff, the sampled records on each side form a simple random sample of that side given
    their number, so the two hypergeometric
    bounds fail together with probability at most ``delta``. ``G`` grows as the cutoff moves
    down, so the candidates whose prefix misses the target are exactly those above a fixed
    ``c*``; returning one of them requires passing the test at ``c*`` itself (every candidate
    below the returned one passed), which has probability at most ``delta``. Adding labeled
    positives and removing labeled negatives cannot lower recall. The precision argument is
    the same with fixed-sequence testing in an order fixed before the main sample (nulls need
    not be nested), the null at each cutoff being "the already-known positives plus every
    unlabeled window record above it have precision below ``value``"; removing labeled
    negatives and adding labeled positives cannot lower precision.

    The price of validity for any labels: certifying that a region of ``M`` unlabeled
    records holds at most ``U`` positives needs about ``M ln(1/delta) / U`` labels inside it,
    whatever the sampling design (a random placement of ``U + 1`` positives would otherwise
    go unseen with probability above ``delta``). A recall target ``R`` with ``P`` positives
    allows ``U ~ (1 - R) P / R`` misses, so with a budget ``B`` at most about a fraction
    ``B / B*`` of the records can be left out, ``B* = R ln(1/delta) N / ((1 - R) P)``, and less
    once labels are also needed to find the positives. On the SUPG release data at ``R = 0.9``,
    ``delta = 0.05``, ``B*`` is about 27,000 (imagenet), 1,100 (onto) and 1,150 (tacred)
    labels; with 1000 labels the head design returns 98% / 71% / 83% of the records
    (imagenet / onto / tacred), which is why smaller budgets take the uniform design
    (docs/benchmarks.md, "Reading the recall-target redesign").
    ``diagnostics["min_budget_hint"]`` estimates ``B*`` from the labels seen.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(5000); y = (rng.random(5000) < p ** 8).astype(int)
    >>> out = assay_select(p, lambda i: y[i], value=0.9, budget=1500, seed=1)
    >>> out.guarantee.kind, out.oracle_calls <= 1500
    ('finite-sample', True)
    >>> bool(y[out.selected].sum() >= 0.9 * y.sum())
    True
    """
    rng = check_random_state(seed)
    n = proxy.size
    labeler = _Labeler(label, n, budget)
    if design not in ("auto", "uniform", "head"):
        raise InvalidParameterError(f"design must be 'auto', 'uniform' or 'head', got {design!r}")
    if uniform_test not in ("auto", "conditional", "unconditional"):
        raise InvalidParameterError(
            f"uniform_test must be 'auto', 'conditional' or 'unconditional', got {uniform_test!r}"
        )
    scale = HEAD_SCALE if design_scale is None else design_scale
    u_scale = UNCONDITIONAL_SCALE if uniform_scale is None else uniform_scale
    v_scale = VERIFY_SCALE if verify_scale is None else float(verify_scale)
    if not v_scale > 0:
        raise InvalidParameterError(f"verify_scale must be positive, got {verify_scale!r}")
    unconditional = uniform_test == "unconditional" or (
        uniform_test == "auto" and _unconditional_pays(proxy, budget, value, delta, u_scale)
    )
    if target == "recall" and (
        design == "uniform"
        or (design == "auto" and not _head_pays(proxy, budget, value, delta, scale))
    ):
        mask, thr, diag = _assay_recall_uniform(
            proxy, labeler, value, delta, rng, head_batches, unconditional,
            v_scale * math.log(1.0 / delta) / -math.log(value),
        )
    elif target == "recall":
        mask, thr, diag = _assay_recall(
            proxy,
            labeler,
            value,
            delta,
            rng,
            head_fraction,
            head_batches,
            delta_split,
            n_grid,
            head_rate_scale,
            focus,
        )
    else:
        mask, thr, diag = _assay_precision(proxy, labeler, value, delta, rng, n_grid, head_batches)
    return _outcome(
        method="assay",
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
            "multiplicity": "fixed-sequence testing over pre-declared cutoffs",
            "assumptions": "none on the proxy or the labels",
        },
        diagnostics=diag,
    )


def _assay_recall(
    proxy: np.ndarray,
    labeler: _Labeler,
    recall: float,
    delta: float,
    rng: np.random.Generator,
    head_fraction: float,
    head_batches: int,
    delta_split: float | None,
    n_grid: int,
    head_rate_scale: float,
    focus: bool = True,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    n = proxy.size
    budget = labeler.budget
    expected = float(proxy.sum())
    head = _head_phase(
        proxy,
        labeler,
        max_head=int(head_fraction * budget),
        batch=max(1, math.ceil(budget / head_batches)),
        expected_positives=expected,
        min_rate=0.0,
        rate_scale=head_rate_scale,
    )
    in_head = np.zeros(n, dtype=bool)
    in_head[head] = True
    if delta_split is None:
        share = (expected - float(proxy[head].sum())) / expected if expected > 0 else 1.0
        delta_split = float(np.clip(share, 0.1, 0.5))
    delta_b = delta * delta_split
    delta_a = delta - delta_b

    # pilot (focus only): a small simple random sample of the records outside the head,
    # to see whether the head already holds most positives; its records become known ones
    # like the head's (their positives are returned, their negatives left out)
    known = in_head.copy()
    pilot = np.empty(0, dtype=np.int64)
    if focus and labeler.remaining > 0:
        pilot = _srs(rng, n, in_head, max(1, math.ceil(PILOT_SHARE * labeler.remaining)))
        labeler.query(pilot)
        known[pilot] = True
    y_pilot = int(labeler.known[pilot].sum())
    y_known = int(labeler.known[known].sum())
    rest = ~known
    n_rest = int(np.count_nonzero(rest))
    bucket = _bucket(proxy)
    hist = np.bincount(bucket[rest], minlength=_N_BUCKETS)

    # the region the main sample covers. Leaving M records out needs about M q / U labels
    # inside them (U: misses allowed; q: the Poisson upper limit at delta_a for one count, so
    # that one positive in the sample does not sink the test). Spread over every unknown
    # record, B labels leave much out only when B U / q reaches their number (U counting the
    # positives the sample finds too); when the pilot says it will not, the sample goes to
    # the B U / q lowest-proxy records instead (U from the known positives: records above the
    # region are kept whatever the labels say and count as holding none). Never fewer
    # records than labels: a region labeled in full is known exactly.
    top_bucket = None  # the region: rest records with bucket <= top_bucket (None: all)
    if pilot.size and y_known > 0:
        q = float(stats.gamma.ppf(1.0 - delta_a, 2.0))
        odds = (1.0 - recall) / recall
        est_rest = float(y_pilot) / pilot.size * n_rest
        spread_works = labeler.remaining * odds * (y_known + est_rest) / q >= n_rest
        m_target = labeler.remaining * max(odds * y_known / q, 1.0)
        if not spread_works and m_target < 0.9 * n_rest:
            top_bucket = int(np.searchsorted(np.cumsum(hist), m_target, side="left"))
    region = rest
    if top_bucket is not None:
        region = rest & (bucket <= top_bucket)
        hist[top_bucket + 1 :] = 0
    sample = _srs(rng, n, ~region, labeler.remaining)
    y = labeler.query(sample)
    n_region = int(np.count_nonzero(region))

    # candidate j >= 1: the head, the records above the region and the region's records with
    # proxy >= edge(buckets[j - 1]); candidate 0: the head and the records above the region;
    # after the last candidate: everything
    buckets, m_b = _cutoff_grid(hist, n_grid)
    n_b, k_b = _sample_counts(proxy, sample, y, buckets)
    m_b = np.concatenate([[0], m_b])
    n_b = np.concatenate([[0], n_b])
    k_b = np.concatenate([[0], k_b])
    m_a = n_region - m_b
    n_a = sample.size - n_b
    k_a = int(y.sum()) - k_b
    ub_a = hypergeom_upper(k_a, n_a, m_a, delta_a)
    lb_b = hypergeom_lower(k_b, n_b, m_b, delta_b)
    g_lcb = (1.0 - recall) * (y_known + lb_b) - recall * ub_a
    ok = g_lcb >= 0.0
    # fixed-sequence testing from the largest candidate set (last) towards the smallest
    chosen = ok.size  # index ok.size means "everything"
    for j in range(ok.size - 1, -1, -1):
        if not ok[j]:
            break
        chosen = j
    # positives: the head's, the region's (from the sample), and above the region the proxy's
    # own expectation (nothing was sampled there)
    est_pos = y_known + (float(y.sum()) * n_region / sample.size if sample.size else 0.0)
    if top_bucket is not None:
        est_pos += float(proxy[rest & ~region].sum())
    diag: dict[str, Any] = {
        "design": "head",
        "head_size": int(head.size),
        "head_positives": int(labeler.known[head].sum()),
        "pilot_size": int(pilot.size),
        "pilot_positives": y_pilot,
        "n_random_sample": int(sample.size),
        "sampled_region": n_region,
        "random_sample_positives": int(y.sum()),
        "delta_split": delta_split,
        "n_candidates": int(ok.size),
        # rough budget below which little short of everything can be certified (necessary,
        # far from sufficient when positives lie deep in the ranking; see Notes)
        "min_budget_hint": int(
            math.ceil(recall * math.log(1.0 / delta) / (1.0 - recall) * n / max(est_pos, 1.0))
        ),
    }
    known_neg = labeler.known == 0
    if chosen == ok.size:
        mask = np.ones(n, dtype=bool)
        thr = float(proxy.min())
        diag["reason"] = "no candidate cutoff certified below the full set"
    else:
        if chosen == 0 and top_bucket is not None:
            thr = float(_bucket_edge(np.array([top_bucket + 1]))[0])
            mask = in_head | (proxy >= thr)
        elif chosen == 0:
            mask = in_head.copy()
            thr = float(proxy[head].min()) if head.size else math.inf
        else:
            c = float(_bucket_edge(buckets[chosen - 1]))
            mask = in_head | (proxy >= c)
            thr = float(c)
        diag.update(
            {
                "chosen_candidate": int(chosen),
                "ub_positives_below": int(ub_a[chosen]),
                "lb_positives_above_outside_head": int(lb_b[chosen]),
                "records_below": int(m_a[chosen]),
            }
        )
        mask &= ~known_neg
        mask |= labeler.known == 1
    return mask, thr, diag


def _assay_precision(
    proxy: np.ndarray,
    labeler: _Labeler,
    precision: float,
    delta: float,
    rng: np.random.Generator,
    n_grid: int,
    head_batches: int,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    n = proxy.size
    budget = labeler.budget
    first = max(1, math.ceil(budget / 10))
    probe = max(10, math.ceil(budget / 50))
    order = _top_k(proxy, min(n, budget + probe))
    y0 = labeler.query(order[:first])
    diag: dict[str, Any] = {"first_batch_rate": float(y0.mean())}
    dense = (
        bool(y0.mean() >= precision)
        and order.size == budget + probe
        and budget >= 4 * (first + probe)
    )
    if dense:
        # does the dense top reach past what the budget could label? probe just below it
        yp = labeler.query(order[budget:])
        diag["probe_rate"] = float(yp.mean())
        dense = bool(yp.mean() >= precision)
    if not dense:
        # the positives the budget can reach are best found by labeling top-down: return the
        # confirmed positives (precision 1)
        h = first
        batch = max(1, math.ceil(budget / head_batches))
        while labeler.remaining > 0 and h < order.size:
            b = min(batch, order.size - h)
            if b > labeler.remaining:
                fresh = order[h : h + b][labeler.known[order[h : h + b]] < 0]
                labeler.query(fresh[: labeler.remaining])
                break
            labeler.query(order[h : h + b])
            h += b
        diag.update({"mode": "label top-down", "head_size": int(h)})
        return labeler.known == 1, math.inf, diag

    # dense top: certify an unlabeled prefix. Pilot: a random sample of the unlabeled records
    rest = labeler.known < 0
    n_rest = int(np.count_nonzero(rest))
    pilot = _srs(rng, n, ~rest, max(1, labeler.remaining // 4))
    yp = labeler.query(pilot)
    # estimated extent of the dense region: the largest pilot cutoff whose estimated precision
    # (with the positives already known) stays >= precision; window = 1.5x as many records
    po = _rank_order(proxy, pilot)
    scale = n_rest / max(pilot.size, 1)
    known_pos = int(np.count_nonzero(labeler.known == 1))
    est_pos = known_pos + np.cumsum(yp[po].astype(float)) * scale
    est_size = known_pos + np.arange(1, pilot.size + 1) * scale
    good = np.flatnonzero(est_pos >= precision * est_size)
    w_rest = int(min(n_rest, math.ceil(1.5 * (good[-1] + 1) * scale))) if good.size else 0
    w_rest = max(w_rest, min(n_rest, 4 * labeler.remaining))
    window = _top_k_mask(proxy, n - n_rest + w_rest) & rest
    diag.update({"mode": "certify prefix", "pilot": int(pilot.size), "window": int(w_rest)})

    known_pos_total = int(np.count_nonzero(labeler.known == 1))
    unl = window & (labeler.known < 0)
    main = _srs(rng, n, ~unl, labeler.remaining)
    ym = labeler.query(main)
    # candidates: from a quarter of the pilot's estimated extent down to the window's end,
    # tested in that (pre-declared) order; tiny prefixes hold too few sampled records to pass
    buckets, m_b = _cutoff_grid(_histogram(proxy[unl]), n_grid)
    start = 0.25 * (good[-1] + 1) * scale if good.size else 0.0
    keep = m_b >= min(start, float(m_b[-1])) if m_b.size else m_b.astype(bool)
    buckets, m_b = buckets[keep], m_b[keep]
    n_b, k_b = _sample_counts(proxy, main, ym, buckets)
    lb = hypergeom_lower(k_b, n_b, m_b, delta)
    # null at cutoff c: known positives (fixed before the main sample) plus every unlabeled
    # window record above c has precision < target
    ok = known_pos_total + lb >= precision * (known_pos_total + m_b)
    chosen = -1
    for j in range(ok.size):  # smallest prefix first
        if not ok[j]:
            break
        chosen = j
    mask = labeler.known == 1
    thr = math.inf
    if chosen >= 0:
        c = float(_bucket_edge(buckets[chosen]))
        mask = mask | (unl & (proxy >= c))
        mask &= ~(labeler.known == 0)
        thr = float(c)
        diag.update({"lb_positives": int(lb[chosen]), "prefix_unlabeled": int(m_b[chosen])})
    diag["n_candidates"] = int(ok.size)
    return mask, thr, diag



def _assay_recall_uniform(
    proxy: np.ndarray,
    labeler: _Labeler,
    recall: float,
    delta: float,
    rng: np.random.Generator,
    batches: int,
    unconditional: bool = False,
    stop_positives: float = math.inf,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """The recall design for budgets too small to label the top: one simple random sample of
    every record, and the cutoff placed by the positives it finds (see :func:`assay_select`).

    The sample is asked for in ``batches`` parts, in a uniformly random order, so answers are
    kept as they arrive. With the conditional test, once it holds ``stop_positives``
    positives, sampling stops if the labels left could check every negative the returned set
    is expected to hold (:func:`_verification_pays`), and they then verify the returned
    records from the lowest proxy up (:func:`_verify_lowest`)."""
    n = proxy.size
    sample = _srs(rng, n, None, labeler.remaining)  # a uniformly random order
    sample_size = sample.size
    step = max(1, math.ceil(sample.size / batches))
    parts: list[np.ndarray] = []
    k, used, decided = 0, 0, unconditional or not math.isfinite(stop_positives)
    while used < sample.size:
        part = labeler.query(sample[used : used + step])
        parts.append(part)
        used += part.size
        k += int(part.sum())
        if not decided and k >= stop_positives and labeler.remaining > 0:
            decided = True  # decided once, from the count and the negatives only
            y_so_far = np.concatenate(parts)
            if _verification_pays(proxy, sample[:used][y_so_far == 0], used, k, recall, delta,
                                  labeler.remaining):
                break
    sample = sample[:used]
    y = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    if unconditional:
        mask, thr, diag = _uniform_unconditional(proxy, labeler, sample, y, recall, delta)
    else:
        # every batch end is a sample size the test may be taken at when the sample may stop
        looks = math.ceil(max(sample_size, 1) / step) if math.isfinite(stop_positives) else 1
        mask, thr, diag = _uniform_conditional(proxy, labeler, sample, y, recall, delta, looks)
    if used < sample_size:  # stopped early: the labels left verify the answer
        mask, checked, dropped = _verify_lowest(proxy, labeler, mask, batches)
        diag["verified"] = checked
        diag["verified_negatives"] = dropped
    return mask, thr, diag


def _verification_pays(
    proxy: np.ndarray,
    negatives: np.ndarray,
    sampled: int,
    k: int,
    recall: float,
    delta: float,
    remaining: int,
) -> bool:
    """Whether the labels left could check every negative the returned set is expected to
    hold, so that stopping the sample here and verifying beats sampling on.

    The cutoff is read from the proxy (records weighted by their scores stand for the
    positives; the test's cutoff, the ``(b* + 1)``-th lowest sampled positive, ``b*`` its
    binomial critical count at ``k`` sampled positives, sits near their ``(b* + 1) / (k + 1)``
    quantile) and the negatives above it are estimated from the sampled
    negatives. Only the count of sampled positives and the sampled negatives are used, never
    which positives were drawn, so the test that follows stays valid (see
    :func:`assay_select`); on millions of records the scores' reading uses every ``N / 2^18``-th
    record."""
    # the binomial count is misses_critical's for many positives, without its search over
    # every count of positives (only a prediction is needed here)
    b = int(stats.binom.ppf(delta, k, 1.0 - recall))
    while b >= 0 and stats.binom.cdf(b, k, 1.0 - recall) > delta:
        b -= 1
    if b < 0:
        return False
    sub = proxy[:: max(1, proxy.size // 2**18)]  # a fixed subset reads the scores well enough
    mass = np.bincount(_bucket(sub), weights=sub, minlength=_N_BUCKETS)
    cum = np.cumsum(mass)
    # the (b* + 1)-th lowest of k sampled positives sits near their (b* + 1) / (k + 1) quantile
    cut = int(np.searchsorted(cum, (b + 1) / (k + 1) * cum[-1], side="left"))  # first kept
    above = int(np.count_nonzero(_bucket(proxy[negatives]) >= cut))
    return above * proxy.size / max(sampled, 1) <= remaining


def _verify_lowest(
    proxy: np.ndarray, labeler: _Labeler, mask: np.ndarray, batches: int
) -> tuple[np.ndarray, int, int]:
    """Spend the labels left on the returned records not yet labeled, lowest proxy first
    (the likeliest negatives; ties by index), and drop the negatives found. Removing
    records labeled negative cannot lower recall, so this needs no part of ``delta``.
    Returns the new mask, the records labeled and the negatives dropped."""
    cand = np.flatnonzero(mask & (labeler.known < 0))
    k = min(cand.size, labeler.remaining)
    if k == 0:
        return mask, 0, 0
    if k < cand.size:  # the k lowest without sorting them all
        kth = np.partition(proxy[cand], k - 1)[k - 1]
        cand = cand[proxy[cand] <= kth]
    cand = cand[np.lexsort((cand, proxy[cand]))][:k]
    step = max(1, math.ceil(labeler.budget / batches))
    y = np.concatenate([labeler.query(cand[i : i + step]) for i in range(0, k, step)])
    out = mask.copy()
    out[cand[y == 0]] = False
    return out, int(k), int(np.count_nonzero(y == 0))


def _uniform_conditional(
    proxy: np.ndarray,
    labeler: _Labeler,
    sample: np.ndarray,
    y: np.ndarray,
    recall: float,
    delta: float,
    looks: int = 1,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """The uniform design's conditional test (see :func:`assay_select`): given the number of
    sampled positives, the cutoff at the ``(b* + 1)``-th lowest of them. ``looks``: the
    sample sizes the test could have been taken at (the batch ends, when the sample may
    stop early); the bounds that narrow the range of positives hold at all of them at once."""
    n = proxy.size
    k = int(y.sum())
    # the positives P range over [k, records not seen negative]; past UNIFORM_P_RANGE of
    # them (millions of records), 1% of delta buys exact lower and upper bounds on P instead,
    # so the worst case is searched over a far narrower range (split over the looks: a
    # union bound makes them hold whichever look the sample stopped at)
    p_lo, p_hi, delta_test = k, n - (sample.size - k), delta
    if p_hi - p_lo > UNIFORM_P_RANGE:
        p_lo = int(hypergeom_lower(k, sample.size, n, delta / (200 * looks)))
        p_hi = int(hypergeom_upper(k, sample.size, n, delta / (200 * looks)))
        delta_test = delta - delta / 100
    b_star = misses_critical(k, 0, recall, delta_test, p_lo, p_hi)
    diag: dict[str, Any] = {
        "design": "uniform",
        "test": "conditional",
        "positives_range": (int(p_lo), int(p_hi)),
        "n_random_sample": int(sample.size),
        "random_sample_positives": k,
        "misses_allowed_in_sample": int(b_star),
        # leaving anything out takes about ln(1/delta) / -ln(recall) sampled positives; the
        # labels that takes at the positive rate seen
        "min_budget_hint": int(
            math.ceil(math.log(delta) / math.log(recall) * sample.size / max(k, 1))
        ),
    }
    known_neg = labeler.known == 0
    if b_star < 0:
        diag["reason"] = "no cutoff certified below the full set"
        return ~known_neg, float(proxy.min()), diag
    if b_star >= k:  # only when every record was labeled
        return labeler.known == 1, math.inf, diag
    thr = float(np.sort(proxy[sample[y == 1]])[b_star])
    above = proxy >= thr
    diag["records_at_or_above_cutoff"] = int(np.count_nonzero(above))
    mask = above & ~known_neg
    mask |= labeler.known == 1
    return mask, thr, diag


def _uniform_unconditional(
    proxy: np.ndarray,
    labeler: _Labeler,
    sample: np.ndarray,
    y: np.ndarray,
    recall: float,
    delta: float,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """The uniform design's unconditional test (see :func:`assay_select`): the regions of
    ``UNCONDITIONAL_GRID`` in order, until the first that is not rejected."""
    n = proxy.size
    k = int(y.sum())
    # region i: the records in buckets below the first bucket edge with at least q_i N
    # records under it (the bucket grid keeps ties together and needs no sort)
    buckets = _bucket(proxy)
    below = np.concatenate([[0], np.cumsum(np.bincount(buckets, minlength=_N_BUCKETS))])
    edges = np.searchsorted(below, np.ceil(UNCONDITIONAL_GRID * n), side="left")
    edges = edges[(edges > 0) & (edges < below.size)]
    sizes = below[edges]
    keep = (sizes > 0) & (sizes < n)
    # one region per size (the edges rise with the grid; equal sizes: empty buckets between)
    sizes, first = np.unique(sizes[keep], return_index=True)
    edges = edges[keep][first]
    sampled = np.searchsorted(np.sort(buckets[sample]), edges, side="left")
    pos = buckets[sample[y == 1]]
    lowest = int(pos.min()) if pos.size else _N_BUCKETS
    # a region holding a sampled positive is not rejected (its p-value is taken as 1)
    clean = edges <= lowest
    last = int(np.argmin(clean)) if not clean.all() else edges.size
    pv = np.ones(edges.size)
    done = 0
    while done < last:  # in chunks: the walk stops at the first region not rejected
        hi = min(last, done + 16)
        pv[done:hi] = region_pvalues(sizes[done:hi], sampled[done:hi], k, sample.size, n, recall,
                                     alpha=delta)
        if np.any(pv[done:hi] > delta):
            break
        done = hi
    fail = np.flatnonzero(pv > delta)
    j = int(fail[0]) if fail.size else edges.size  # regions 0..j-1 rejected
    diag: dict[str, Any] = {
        "design": "uniform",
        "test": "unconditional",
        "n_random_sample": int(sample.size),
        "random_sample_positives": k,
        "regions_rejected": j,
        # about ln(1/(2 delta)) / -ln(recall) sampled positives (22 at 0.9 / 0.05) let the
        # first regions go; the labels that takes at the positive rate seen
        "min_budget_hint": int(
            math.ceil(
                max(math.log(2.0 * delta) / math.log(recall), 1.0) * sample.size / max(k, 1)
            )
        ),
    }
    known_neg = labeler.known == 0
    if j == 0:
        diag["reason"] = "no cutoff certified below the full set"
        return ~known_neg, float(proxy.min()), diag
    cut = float(_bucket_edge(edges[j - 1 : j])[0])
    above = buckets >= edges[j - 1]
    diag["records_at_or_above_cutoff"] = int(np.count_nonzero(above))
    mask = (above & ~known_neg) | (labeler.known == 1)
    return mask, cut, diag


def _unconditional_pays(
    proxy: np.ndarray, budget: int, recall: float, delta: float, scale: float
) -> bool:
    """Whether the uniform sample is expected to hold too few positives for the conditional
    test: ``budget P / N`` (``P`` the sum of the proxy scores) below ``scale`` times the
    ``ln(1/delta) / -ln(recall)`` it needs to leave anything out (label-free; only
    efficiency depends on it)."""
    n = proxy.size
    expected = budget * float(proxy.sum()) / max(n, 1)
    return expected < scale * math.log(1.0 / delta) / -math.log(recall)


def _head_pays(proxy: np.ndarray, budget: int, recall: float, delta: float, scale: float) -> bool:
    """Whether the budget is large enough for the head design (label-free).

    Reading the proxy as probabilities (``P`` = their sum), the head design needs about
    ``2 P`` labels to find the positives top-down (a top labeled at half precision) plus
    ``B* = recall ln(1/delta) N / ((1 - recall) P)`` to certify what it leaves out. It is
    chosen when the budget is at least ``scale`` times that; below, the uniform design wins.
    Only efficiency depends on this choice, never validity.
    """
    n = proxy.size
    p_hat = max(float(proxy.sum()), 1.0)
    b_star = recall * math.log(1.0 / delta) * n / ((1.0 - recall) * p_hat)
    return budget >= scale * (2.0 * p_hat + b_star)
