"""Tests of the statistical core of approximate aggregation.

Four layers (STYLE.md): exact small cases (bounds against numeric root-finding, the EBGStop
schedule against the published loop, the betting interval against a brute-force grid, the
martingale terms by enumeration, exact answers once every record is labeled); bad inputs;
Monte Carlo coverage on real data (``statistical`` + ``shared_data``); a property test.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from assay.approx import frame_counts
from assay.approx._aggregate import (
    METHODS,
    AggregateOutcome,
    OracleRangeError,
    estimate_aggregate,
)
from assay.approx._aggregate.betting import _plan_times, _stratified_terms
from assay.approx._aggregate.common import _Strata
from assay.approx._confseq import (
    BettingConfidenceSequence,
    EmpiricalBernsteinStopping,
    _ebgstop_schedule,
    bennett_radius,
    chi2_variance_upper,
    maurer_pontil_variance_upper,
)
from assay.exceptions import AssayError, InvalidParameterError
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot, read_seqinfo

REPO = Path(__file__).resolve().parents[2]
DELTA = 0.05
FINITE = ("betting", "uniform", "blazeit")
ALL = tuple(METHODS)


def shared_data_dir() -> Path:
    env = os.environ.get("ASSAY_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def data_root() -> Path:
    root = shared_data_dir()
    if not root.is_dir():
        msg = (
            f"real data not found at {root} (set ASSAY_SHARED_DATA or place the shared data "
            "next to the repository)"
        )
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


def small_population(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    proxy = rng.random(n)
    y = (rng.random(n) < proxy).astype(float)
    return y, proxy


class Recorder:
    """A label callback that checks the contract: distinct, never-asked indices."""

    def __init__(self, values: np.ndarray, passes: np.ndarray | None = None) -> None:
        self.values = values
        self.passes = passes
        self.asked: set[int] = set()
        self.calls = 0

    def __call__(self, idx: np.ndarray):
        idx = np.asarray(idx)
        assert idx.ndim == 1 and idx.size > 0
        assert np.unique(idx).size == idx.size, "indices repeated within a call"
        assert not self.asked.intersection(idx.tolist()), "index asked twice"
        self.asked.update(idx.tolist())
        self.calls += idx.size
        if self.passes is None:
            return self.values[idx]
        return self.passes[idx], self.values[idx]


# --------------------------------------------------------------------------------------
# Bounds: exact small cases
# --------------------------------------------------------------------------------------


def _bennett_exponent(t: float, n: int, v: float, c: float) -> float:
    u = c * t / v
    return (n * v / c**2) * ((1 + u) * math.log1p(u) - u)


@pytest.mark.parametrize(
    ("n", "v", "c", "delta"),
    [(10, 0.25, 1.0, 0.05), (1000, 0.01, 1.0, 0.025), (50, 4.0, 60.0, 0.001), (3, 1e-4, 2.0, 0.1)],
)
def test_bennett_radius_matches_numeric_root(n, v, c, delta):
    t = bennett_radius(n, v, c, delta)
    root = optimize.brentq(
        lambda s: _bennett_exponent(s, n, v, c) - math.log(1 / delta), 1e-15, 1e6, xtol=1e-15
    )
    assert t == pytest.approx(root, rel=1e-8)


def test_bennett_radius_shrinks_like_one_over_root_n_not_one_over_n():
    # the defect in AIDB's version: dividing a one-sample deviation by n
    r1 = bennett_radius(100, 0.1, 1.0, 0.05)
    r2 = bennett_radius(10_000, 0.1, 1.0, 0.05)
    assert 8 < r1 / r2 < 12


def test_variance_upper_bounds():
    assert chi2_variance_upper(0.5, 11, 0.05) == pytest.approx(10 * 0.5 / stats.chi2.ppf(0.05, 10))
    s = math.sqrt(0.04) + 2.0 * math.sqrt(2 * math.log(1 / 0.05) / 99)
    assert maurer_pontil_variance_upper(0.04, 100, 2.0, 0.05) == pytest.approx(s**2)


def _published_loop(beta: float, size: int) -> tuple[list[int], list[float]]:
    """EBGStop's epoch bookkeeping, written as in the paper's pseudo-code."""
    t, k, alpha = 1, 0, 1.0
    ks, alphas = [0], [1.0]
    while t < size:
        t += 1
        if t > math.floor(beta**k):
            k += 1
            alpha = math.floor(beta**k) / math.floor(beta ** (k - 1))
        ks.append(k)
        alphas.append(alpha)
    return ks, alphas


@pytest.mark.parametrize("beta", [1.1, 1.5, 2.0])
def test_ebgstop_schedule_matches_published_loop(beta):
    ks, alphas = _ebgstop_schedule(beta, 3000)
    ref_k, ref_a = _published_loop(beta, 3000)
    np.testing.assert_array_equal(ks, ref_k)
    np.testing.assert_allclose(alphas, ref_a)


def test_ebgstop_half_width_by_hand():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    ebs = EmpiricalBernsteinStopping(1.0, 0.05, p=1.1, beta=1.1)
    lower, upper = ebs.update(x)
    t = 5
    ks, alphas = _ebgstop_schedule(1.1, 1024)
    k = ks[t - 1]
    d_k = 0.05 * 0.1 / 1.1 / k**1.1
    xk = -alphas[t - 1] * math.log(d_k / 3)
    sigma = np.std(x)  # 1/t normalisation, as published
    c_t = sigma * math.sqrt(2 * xk / t) + 3 * xk / t
    assert upper[-1] <= x.mean() + c_t + 1e-12
    assert lower[-1] >= x.mean() - c_t - 1e-12
    assert lower[0] == -np.inf and upper[0] == np.inf  # no bound after one draw


# --------------------------------------------------------------------------------------
# Betting confidence sequence: exact small cases
# --------------------------------------------------------------------------------------


def _random_cs(rng: np.random.Generator) -> BettingConfidenceSequence:
    cs = BettingConfidenceSequence(0.05, 0.0, 1.0, truncation=float(rng.choice([0.5, 0.95])))
    t = int(rng.integers(5, 300))
    z = (rng.random(t) < 0.3 * rng.random()).astype(float) * rng.random(t)
    cs.append(z, rng.random(t) * 5, rng.random(t) * 5, -0.5 * rng.random(), 1 + rng.random(t))
    return cs


@pytest.mark.parametrize("seed", range(12))
def test_betting_interval_matches_brute_force_grid(seed):
    cs = _random_cs(np.random.default_rng(seed))
    lower, upper = cs.update_interval(1e-7)
    grid = np.linspace(0.0, 1.0, 20_001)
    up = cs.log_capital_up(grid) >= cs.threshold
    down = cs.log_capital_down(grid) >= cs.threshold
    grid_lower = grid[up][-1] if up.any() else 0.0
    grid_upper = grid[down][0] if down.any() else 1.0
    step = grid[1] - grid[0]
    # conservative: the reported bounds are themselves rejected (everything beyond is too)
    assert not up.any() or cs.log_capital_up(np.array([lower]))[0] >= cs.threshold
    assert not down.any() or cs.log_capital_down(np.array([upper]))[0] >= cs.threshold
    # and tight: within one grid step of the brute-force boundary
    assert grid_lower - 1e-6 <= lower <= grid_lower + step
    assert grid_upper - step <= upper <= grid_upper + 1e-6


def _random_directional(rng: np.random.Generator) -> BettingConfidenceSequence:
    cs = BettingConfidenceSequence(0.05, 0.0, 1.0, truncation=float(rng.choice([0.5, 0.95])),
                                   directional=True)
    for _ in range(int(rng.integers(1, 8))):  # batches, each with its own bets and centre
        t = int(rng.integers(5, 80))
        z = (rng.random(t) < 0.3 * rng.random()).astype(float) * rng.random(t)
        cs.append(z, rng.random() * 5, rng.random() * 5, -0.5 * rng.random(), 1 + rng.random(t),
                  centre=rng.random())
    return cs


@pytest.mark.parametrize("seed", range(12))
def test_directional_capital_is_the_product_of_its_factors(seed):
    cs = _random_directional(np.random.default_rng(200 + seed))
    z, lu, ld, zlo, zhi, _, centre = (np.concatenate(c) for c in cs._chunks)
    for m in (0.0, 0.13, 0.5, 0.77, 1.0):
        total = 0.0
        for zi, u, d, a, b, c in zip(z, lu, ld, zlo, zhi, centre, strict=True):
            if m < c:  # bet up, capped so the factor stays >= 1 - truncation
                lam = min(u, cs.c / (m - a)) if m - a > 0 else u
                total += math.log(1 + lam * (zi - m))
            else:
                lam = min(d, cs.c / (b - m)) if b - m > 0 else d
                total += math.log(1 - lam * (zi - m))
        assert cs.log_capital(np.array([m]))[0] == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert cs.threshold == pytest.approx(math.log(1 / 0.05))


@pytest.mark.parametrize("seed", range(12))
def test_directional_interval_holds_every_candidate_not_rejected(seed):
    cs = _random_directional(np.random.default_rng(300 + seed))
    lower, upper = cs.update_interval(1e-6)
    grid = np.linspace(0.0, 1.0, 20_001)
    kept = grid[cs.log_capital(grid) < cs.threshold]
    # valid: every candidate the capital does not reject lies in the interval
    assert kept.size == 0 or (lower <= kept.min() and kept.max() <= upper)
    # and useful: the interval ends near the candidates kept
    step = grid[1] - grid[0]
    if kept.size:
        assert lower >= kept.min() - 2 * step - 1e-6 and upper <= kept.max() + 2 * step + 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_betting_capitals_are_monotone(seed):
    cs = _random_cs(np.random.default_rng(100 + seed))
    grid = np.linspace(0.0, 1.0, 2001)
    assert np.all(np.diff(cs.log_capital_up(grid)) <= 1e-9)
    assert np.all(np.diff(cs.log_capital_down(grid)) >= -1e-9)


@pytest.mark.parametrize("shape", ["right", "left", "even", "right, both tails"])
def test_strata_refine_only_the_tails_the_proxy_spreads_over(shape):
    rng = np.random.default_rng(0)
    skewed = rng.exponential(size=20_000) ** 3  # most scores near 0, a long upper tail
    proxy = {"left": -skewed, "even": rng.random(20_000)}.get(shape, skewed)
    st = _Strata(proxy, proxy.size, 8, rng, 256, both_tails=shape.endswith("both tails"))
    base = proxy.size / 8
    fine = (bool(st.sizes[0] < base / 2), bool(st.sizes[-1] < base / 2))  # (bottom, top)
    expected = {"right": (False, True), "left": (True, False)}.get(shape, (True, True))
    assert fine == expected
    assert st.sizes.min() >= 250  # no stratum below tail_min (up to quantile ties)
    assert st.sizes.sum() == proxy.size


def test_plan_compares_windows_shifted_off_the_estimate():
    # symmetric deviations, nothing labeled yet: each side needs ln(1/delta) / growth at its
    # distance from the centre, so a window shifted by s costs what one shifted by -s costs,
    # and more than the centred one
    dev = np.array([[-0.3, -0.1, 0.1, 0.3]])
    prob = np.full((1, 4), 0.25)
    cs = BettingConfidenceSequence(0.05, 0.0, 1.0)
    e = 0.05
    shifts = e * np.array([0.0, -0.25, 0.25, -0.5, 0.5])
    lam, need = _plan_times(
        np.full(5, e), dev, prob, 0.5, 0.0, 1.0, False, cs, 1.0, shift=shifts
    )
    need = need[:, 0]
    assert need[1] == pytest.approx(need[2], rel=1e-4)
    assert need[3] == pytest.approx(need[4], rel=1e-4)
    assert need[0] < need[1] < need[3]
    # a lower target moved towards the centre is nearer: its (up) bet is smaller
    assert lam[0, 2, 0] < lam[0, 0, 0] < lam[0, 1, 0]


def test_betting_draws_no_more_than_the_plan_needs_near_the_stop():
    y, proxy = small_population(20_000, seed=5)
    mean_calls = {}
    for stop_batch in (0, 4):
        calls = [
            estimate_aggregate(
                "betting",
                n_records=y.size,
                label=Recorder(y),
                lo=0.0,
                hi=1.0,
                proxy=proxy,
                error=0.02,
                seed=seed,
                min_batch=500,
                stop_batch=stop_batch,
            ).oracle_calls
            for seed in range(12)
        ]
        mean_calls[stop_batch] = float(np.mean(calls))
    # batches of at least 500 overshoot the stop by about half a batch; capping a batch
    # at the draws the plan still needs (a pessimistic figure) saves part of that
    assert mean_calls[4] < mean_calls[0] - 30


def test_stratified_terms_have_the_mean_as_conditional_expectation():
    # enumerate every possible first and second draw of a batch on a tiny population
    y = np.array([0.0, 1.0, 3.0, 0.5, 2.0, 2.0, 0.0])
    stratum = np.array([0, 0, 0, 1, 1, 1, 1])
    labeled = {2, 5}  # labeled before the batch
    n, lo, hi = y.size, 0.0, 3.0
    mu = y.mean()
    r = np.array([2.0, 3.0])
    s_lab = float(y[list(labeled)].sum())
    f = np.array([0.4, 1.7])
    pi = np.array([0.3, 0.7])
    left = [[i for i in range(n) if stratum[i] == k and i not in labeled] for k in (0, 1)]
    first = 0.0
    for k in (0, 1):
        for i in left[k]:
            z, zlo, zhi = _stratified_terms(
                s_lab, r, f, pi, np.array([k]), np.array([0]), y[[i]], n, lo, hi
            )
            assert zlo[0] <= z[0] <= zhi[0]
            first += pi[k] / r[k] * z[0]
            # second draw of the same batch, given this first one
            second = 0.0
            for k2 in (0, 1):
                rest = [j for j in left[k2] if j != i]
                for j in rest:
                    occ = 1 if k2 == k else 0
                    z2, zlo2, zhi2 = _stratified_terms(
                        s_lab,
                        r,
                        f,
                        pi,
                        np.array([k, k2]),
                        np.array([0, occ]),
                        y[[i, j]],
                        n,
                        lo,
                        hi,
                    )
                    assert zlo2[1] <= z2[1] <= zhi2[1]
                    second += pi[k2] / len(rest) * z2[1]
            assert second == pytest.approx(mu)
    assert first == pytest.approx(mu)


# --------------------------------------------------------------------------------------
# Methods: exact answers, oracle contract, stat / where plumbing
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL)
def test_every_method_is_exact_once_every_record_is_labeled(method):
    y, proxy = small_population(40)
    rec = Recorder(y)
    r = estimate_aggregate(
        method, n_records=y.size, label=rec, lo=0.0, hi=1.0, proxy=proxy, budget=y.size, seed=3
    )
    assert isinstance(r, AggregateOutcome)
    if r.stopped == "exhausted":
        assert r.lower == r.upper == pytest.approx(y.mean())
        assert r.estimate == pytest.approx(y.mean())
    assert r.oracle_calls == rec.calls <= y.size
    assert r.lower <= y.mean() <= r.upper


def test_betting_interval_collapses_on_the_mean_at_n_equals_n():
    y, proxy = small_population(300, seed=4)
    r = estimate_aggregate(
        "betting",
        n_records=y.size,
        label=Recorder(y),
        lo=0,
        hi=1,
        proxy=proxy,
        budget=y.size,
        seed=0,
    )
    assert r.stopped == "exhausted"
    assert r.lower == r.upper == pytest.approx(y.mean())


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("mode", ["error", "budget"])
def test_label_is_called_with_distinct_never_asked_indices(method, mode):
    y, proxy = small_population(3000, seed=1)
    rec = Recorder(y)
    kwargs = {"error": 0.05} if mode == "error" else {"budget": 500}
    r = estimate_aggregate(
        method, n_records=y.size, label=rec, lo=0.0, hi=1.0, proxy=proxy, seed=7, **kwargs
    )
    assert r.oracle_calls == rec.calls == len(rec.asked)
    if mode == "budget":
        assert r.oracle_calls <= 500
    assert r.lower <= r.upper
    assert 0.0 <= r.lower and r.upper <= 1.0


def test_results_record_the_guarantee_and_are_frozen():
    y, proxy = small_population(2000, seed=2)
    kinds = {}
    for method in ALL:
        r = estimate_aggregate(
            method,
            n_records=y.size,
            label=lambda i: y[i],
            lo=0,
            hi=1,
            proxy=proxy,
            budget=300,
            seed=11,
        )
        kinds[method] = (r.guarantee.kind, r.guarantee.anytime)
        assert r.guarantee.delta == 0.05 and r.seed == 11 and r.method == method
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.estimate = 0.0  # type: ignore[misc]
    assert kinds["betting"] == ("finite-sample", True)
    assert kinds["uniform"][0] == kinds["blazeit"][0] == "finite-sample"
    assert {kinds[m][0] for m in ("abae", "ppi", "clt", "blazeit++")} == {"asymptotic"}


def test_blazeit_pp_with_a_proven_variance_bound_is_finite_sample():
    y, proxy = small_population(2000, seed=2)
    r = estimate_aggregate(
        "blazeit++",
        n_records=y.size,
        label=lambda i: y[i],
        lo=0,
        hi=1,
        proxy=proxy,
        budget=600,
        seed=1,
        variance_bound="maurer-pontil",
    )
    assert r.guarantee.kind == "finite-sample"


def test_count_without_where_is_the_number_of_records():
    r = estimate_aggregate(
        "betting",
        n_records=123,
        label=lambda i: pytest.fail("no label needed"),
        lo=0,
        hi=1,
        stat="count",
        error=1.0,
    )
    assert r.estimate == r.lower == r.upper == 123 and r.oracle_calls == 0


def test_sum_and_count_scale_the_mean():
    rng = np.random.default_rng(5)
    n = 400
    passes = (rng.random(n) < 0.3).astype(float)
    values = rng.integers(0, 10, n).astype(float)
    proxy = passes * 0.5 + rng.random(n) * 0.5
    kw = dict(n_records=n, lo=0.0, hi=10.0, proxy=proxy, where=True, budget=n, seed=0)
    count = estimate_aggregate("betting", label=Recorder(values, passes), stat="count", **kw)
    total = estimate_aggregate("betting", label=Recorder(values, passes), stat="sum", **kw)
    avg = estimate_aggregate("betting", label=Recorder(values, passes), stat="mean", **kw)
    assert count.estimate == pytest.approx(passes.sum())
    assert total.estimate == pytest.approx((passes * values).sum())
    assert avg.estimate == pytest.approx((passes * values).sum() / passes.sum())
    plain = estimate_aggregate(
        "betting",
        n_records=n,
        label=Recorder(values),
        lo=0,
        hi=10,
        proxy=proxy,
        stat="sum",
        budget=150,
        seed=1,
    )
    mean = estimate_aggregate(
        "betting",
        n_records=n,
        label=Recorder(values),
        lo=0,
        hi=10,
        proxy=proxy,
        stat="mean",
        budget=150,
        seed=1,
    )
    assert plain.lower == pytest.approx(n * mean.lower)
    assert plain.upper == pytest.approx(n * mean.upper)


@pytest.mark.parametrize("method", ["betting", "abae", "clt"])
def test_where_average_covers_on_a_small_population(method):
    rng = np.random.default_rng(9)
    n = 3000
    proxy = rng.random(n)
    passes = (rng.random(n) < 0.1 + 0.6 * proxy).astype(float)
    values = np.clip(np.round(rng.normal(2 + 4 * proxy, 1.0)), 0, 10)
    truth = (passes * values).sum() / passes.sum()
    r = estimate_aggregate(
        method,
        n_records=n,
        label=Recorder(values, passes),
        lo=0,
        hi=10,
        proxy=proxy,
        stat="mean",
        where=True,
        budget=800,
        seed=2,
    )
    assert r.lower <= truth <= r.upper


def test_relative_error_target_stops_with_the_guaranteed_point():
    rng = np.random.default_rng(3)
    y = rng.integers(2, 9, 5000).astype(float)
    proxy = y + rng.normal(0, 1, y.size)
    r = estimate_aggregate(
        "betting",
        n_records=y.size,
        label=lambda i: y[i],
        lo=0,
        hi=20,
        proxy=proxy,
        error=0.05,
        relative=True,
        seed=4,
    )
    assert r.stopped == "error"
    assert (1.05) * r.lower >= (1 - 0.05) * r.upper - 1e-9
    assert abs(r.estimate - y.mean()) <= 0.05 * y.mean()


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------


def test_out_of_range_oracle_value_stops_the_query():
    y = np.zeros(100)
    y[17] = 2.0
    with pytest.raises(OracleRangeError, match="record 17.*outside the stated range"):
        estimate_aggregate(
            "uniform", n_records=100, label=lambda i: y[i], lo=0, hi=1, budget=100, seed=0
        )


def test_nan_oracle_value_is_rejected():
    y = np.zeros(50)
    y[3] = np.nan
    with pytest.raises(OracleRangeError):
        estimate_aggregate(
            "betting", n_records=50, label=lambda i: y[i], lo=0, hi=1, budget=50, seed=0
        )


def test_wrong_number_of_labels_is_rejected():
    with pytest.raises(InvalidParameterError, match="returned 1 values"):
        estimate_aggregate(
            "clt", n_records=50, label=lambda i: np.zeros(1), lo=0, hi=1, budget=20, seed=0
        )


def test_where_callback_shape_and_predicate_are_checked():
    with pytest.raises(InvalidParameterError, match="shape"):
        estimate_aggregate(
            "betting",
            n_records=50,
            label=lambda i: np.zeros(i.size),
            lo=0,
            hi=1,
            where=True,
            stat="mean",
            budget=20,
            seed=0,
        )
    with pytest.raises(InvalidParameterError, match="0/1"):
        estimate_aggregate(
            "betting",
            n_records=50,
            label=lambda i: (np.full(i.size, 0.5), np.zeros(i.size)),
            lo=0,
            hi=1,
            where=True,
            stat="count",
            budget=20,
            seed=0,
        )


def test_unknown_method_and_unsupported_combinations():
    kw = dict(n_records=10, label=lambda i: np.zeros(i.size), lo=0, hi=1, budget=5)
    with pytest.raises(InvalidParameterError, match="'method'"):
        estimate_aggregate("nope", **kw)
    with pytest.raises(InvalidParameterError, match="cannot average over records passing"):
        estimate_aggregate("uniform", where=True, stat="mean", **kw)
    for method in ("blazeit", "blazeit++", "ppi", "abae"):
        with pytest.raises(InvalidParameterError, match="needs a proxy"):
            estimate_aggregate(method, **kw)
    with pytest.raises(InvalidParameterError, match="variance_bound"):
        estimate_aggregate("blazeit++", proxy=np.zeros(10), variance_bound="x", **kw)
    assert issubclass(OracleRangeError, AssayError) and issubclass(OracleRangeError, ValueError)


# --------------------------------------------------------------------------------------
# Monte Carlo: anytime validity of the engine, coverage on real data
# --------------------------------------------------------------------------------------


@pytest.mark.statistical
@pytest.mark.parametrize("directional", [False, True])
def test_betting_sequence_is_anytime_valid_on_iid_draws(directional):
    # i.i.d. skewed draws, fixed bets, the interval checked after every batch; the
    # directional sequence bets towards the running mean
    trials, mu = 120, 0.08
    seeds = np.random.SeedSequence(21).spawn(trials)
    ever_missed = 0
    for s in seeds:
        rng = np.random.default_rng(s)
        cs = BettingConfidenceSequence(DELTA, 0.0, 1.0, truncation=0.9, directional=directional)
        missed = False
        seen = []
        for _ in range(40):
            x = (rng.random(25) < mu).astype(float)
            centre = float(np.mean(seen)) if seen else 0.5
            cs.append(x, 3.0, 3.0, 0.0, 1.0, centre=centre)
            seen.extend(x)
            lower, upper = cs.update_interval(1e-5)
            missed |= not (lower <= mu <= upper)
        ever_missed += missed
    assert trials - ever_missed >= stats.binom.ppf(1e-3, trials, 1 - DELTA)


@pytest.mark.statistical
@pytest.mark.parametrize("offset", [0.0, 0.03])
def test_betting_with_a_centre_fixed_in_advance_is_valid(offset):
    # the bets turn at a value fixed before any label (the truth, or a wrong guess): the
    # guarantee must hold either way; a right guess stops sooner than the running estimate
    rng = np.random.default_rng(5)
    proxy = rng.random(20_000)
    y = (rng.random(proxy.size) < proxy**6).astype(float)
    trials = 150
    kw = {"lo": 0.0, "hi": 1.0, "budget": 400}
    covered, _ = _coverage("betting", y, proxy, trials, 9, centre=y.mean() + offset, **kw)
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)
    if offset == 0.0:
        _, calls_truth = _coverage("betting", y, proxy, 30, 9, centre=y.mean(), lo=0.0, hi=1.0,
                                   error=0.01)
        _, calls_running = _coverage("betting", y, proxy, 30, 9, lo=0.0, hi=1.0, error=0.01)
        assert calls_truth < calls_running


def _supg(root: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    df = pd.read_csv(root / "proxy" / "supg" / f"{name}.csv")
    return df["label"].astype(float).to_numpy(), df["proxy_score"].to_numpy(float)


def _mot15(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """People per frame and detections scoring >= 0.5, every frame of the six sequences."""
    gts, dets, frames = [], [], []
    for seq in sorted(p for p in (root / "mot15").iterdir() if p.is_dir()):
        gt, det = read_mot(seq, kind="gt"), read_mot(seq, kind="det")
        gts.append(gt)
        dets.append(det[det["score"] >= 0.5])
        length = read_seqinfo(seq / "seqinfo.ini")["length"]
        frames.append(pd.DataFrame({"stream": gt["stream"].iloc[0], "frame": np.arange(1, length + 1)}))
    rec = frame_counts(pd.concat(frames), people=pd.concat(gts), det=pd.concat(dets))
    return rec["people"].to_numpy(float), rec["det"].to_numpy(float)


def _coverage(method, y, proxy, trials, seed, **kwargs) -> tuple[int, float]:
    truth = y.mean()
    covered, calls = 0, []
    for s in np.random.SeedSequence(seed).spawn(trials):
        r = estimate_aggregate(
            method,
            n_records=y.size,
            label=lambda i: y[i],
            proxy=proxy,
            delta=DELTA,
            seed=np.random.default_rng(s),
            **kwargs,
        )
        covered += r.lower <= truth <= r.upper
        calls.append(r.oracle_calls)
    return covered, float(np.mean(calls))


@pytest.mark.statistical
@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["onto", "tacred"])
@pytest.mark.parametrize("mode", ["error", "budget"])
def test_default_covers_on_supg_data(data_root, name, mode):
    y, proxy = _supg(data_root, name)
    trials = 100
    kwargs = {"error": 0.01} if mode == "error" else {"budget": 1000}
    covered, calls = _coverage("betting", y, proxy, trials, 1, lo=0.0, hi=1.0, **kwargs)
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)
    if mode == "error":
        # far fewer labels than BlazeIt's published control variates (4,192 / 4,421)
        assert calls < 1400


@pytest.mark.statistical
@pytest.mark.shared_data
def test_default_covers_on_pedestrian_counts(data_root):
    y, proxy = _mot15(data_root)
    assert y.max() <= 60  # the stated cap must hold
    trials = 80
    covered, calls = _coverage(
        "betting", y, proxy, trials, 2, lo=0.0, hi=60.0, error=0.05, relative=True
    )
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)
    assert calls < y.size / 3


@pytest.mark.statistical
@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("method", "options"),
    [("uniform", {}), ("blazeit", {}), ("blazeit++", {"variance_bound": "maurer-pontil"})],
)
def test_finite_sample_baselines_cover_with_a_budget(data_root, method, options):
    y, proxy = _supg(data_root, "tacred")
    trials = 200
    covered, _ = _coverage(method, y, proxy, trials, 3, lo=0.0, hi=1.0, budget=1000, **options)
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)


def _kitti_where(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cars per frame, whether a pedestrian is labeled, PointRCNN pedestrian detections, over
    the frames where a label (DontCare included) or a detection appears."""
    lab, seen, ped = [], [], []
    for f in sorted((root / "kitti" / "label_02").glob("*.txt")):
        lab.append(read_kitti_tracking(f))
        ped.append(read_kitti_detections(root / "kitti" / "pointrcnn" / "Pedestrian" / f.name))
        seen += [read_kitti_tracking(f, dontcare="only"),
                 read_kitti_detections(root / "kitti" / "pointrcnn" / "Car" / f.name)]
    lab, ped = pd.concat(lab), pd.concat(ped)
    rec = frame_counts(cars=lab[lab["cls"] == "Car"], peds=lab[lab["cls"] == "Pedestrian"],
                       det=ped[ped["score_raw"] >= 0], seen=pd.concat(seen))
    return (rec["cars"].to_numpy(float), (rec["peds"] > 0).to_numpy(float),
            rec["det"].to_numpy(float))


@pytest.mark.statistical
@pytest.mark.shared_data
def test_default_covers_a_where_average_on_kitti(data_root):
    cars, passes, proxy = _kitti_where(data_root)
    truth = (passes * cars).sum() / passes.sum()
    trials, covered = 60, 0
    for s in np.random.SeedSequence(4).spawn(trials):
        r = estimate_aggregate(
            "betting",
            n_records=cars.size,
            label=lambda i: (passes[i], cars[i]),
            lo=0.0,
            hi=50.0,
            proxy=proxy,
            stat="mean",
            where=True,
            budget=1000,
            seed=np.random.default_rng(s),
        )
        covered += r.lower <= truth <= r.upper
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)


@pytest.mark.shared_data
def test_default_recovers_the_truth_with_a_large_budget(data_root):
    y, proxy = _supg(data_root, "onto")
    r = estimate_aggregate(
        "betting",
        n_records=y.size,
        label=lambda i: y[i],
        lo=0,
        hi=1,
        proxy=proxy,
        budget=6000,
        seed=0,
    )
    assert r.lower <= y.mean() <= r.upper
    assert r.upper - r.lower < 0.01


# --------------------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------------------


def test_intervals_stay_in_range_and_respect_the_budget():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=40, deadline=None)
    @hyp.given(
        n=st.integers(5, 200),
        budget=st.integers(1, 250),
        method=st.sampled_from(ALL),
        seed=st.integers(0, 2**16),
        binary=st.booleans(),
    )
    def check(n, budget, method, seed, binary):
        rng = np.random.default_rng(seed)
        y = (rng.random(n) < 0.3).astype(float) if binary else rng.integers(0, 5, n) * 1.0
        proxy = rng.random(n)
        rec = Recorder(y)
        r = estimate_aggregate(
            method,
            n_records=n,
            label=rec,
            lo=0.0,
            hi=4.0,
            proxy=proxy,
            budget=budget,
            seed=seed,
        )
        assert r.oracle_calls == rec.calls <= min(budget, n)
        assert 0.0 <= r.lower <= r.upper <= 4.0
        if r.stopped == "exhausted":
            assert r.lower == pytest.approx(y.mean()) == r.upper

    check()
