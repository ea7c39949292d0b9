"""benchmarks/bench_aggregate_limits.py: the floor a stated range sets on a `where` query
(exact small cases, and the default on KITTI never below it while covering), and the
diagnostic that tells the default the truth of every stratum leaves the default as it was.
The full runs are ``python benchmarks/bench_aggregate_limits.py --where --trials 1000`` and
``--tuned --trials 1000``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from assay.approx._aggregate import betting, estimate_aggregate
from assay.approx._aggregate.common import _Strata

REPO = Path(__file__).resolve().parents[2]
DELTA = 0.05


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_aggregate_limits

    return bench_aggregate_limits


@pytest.mark.parametrize(("pool", "planted", "n"),
                         [(10, 2, 3), (950, 3, 493), (4000, 9, 1), (50, 5, 45)])
def test_miss_probability_is_the_hypergeometric(bench, pool, planted, n):
    want = stats.hypergeom(pool, planted, n).pmf(0)
    assert np.exp(bench.log_miss(pool, planted, n)) == pytest.approx(want, rel=1e-9)


def test_miss_probability_is_zero_when_the_draws_cannot_avoid_the_planted(bench):
    assert bench.log_miss(10, 8, 3) == -np.inf


def test_floor_by_hand_and_monotone_in_the_cap(bench):
    passes = np.r_[np.ones(50), np.zeros(950)]
    values = np.full(1000, 2.0)
    f = bench.where_floor(passes, values, 10.0, error=0.1, delta=DELTA)
    # 3 frames at the cap lift the mean 2 past 2 (1.1 / 0.9): (100 + 30) / 53 = 2.45
    assert f["planted"] == 3
    # the median run stops no sooner than where missing all 3 has probability
    # <= delta / (1/2 - delta)
    n = int(f["median"])
    assert stats.hypergeom(950, 3, n).pmf(0) <= DELTA / (0.5 - DELTA)
    assert stats.hypergeom(950, 3, n - 1).pmf(0) > DELTA / (0.5 - DELTA)
    wider = bench.where_floor(passes, values, 40.0, error=0.1, delta=DELTA)
    assert wider["planted"] == 1 and wider["median"] > f["median"] and wider["mean"] > f["mean"]
    normal = bench.where_floor(passes, values, 10.0, error=0.1, delta=DELTA, spread=1.0)
    assert normal["normal"] >= 1 and normal["median"] == f["median"]


@pytest.mark.statistical
@pytest.mark.shared_data
def test_default_where_query_covers_and_stays_above_the_proven_floor(bench, shared_data,
                                                                     monkeypatch):
    """Error mode (10% relative) on the KITTI `where` query at the stated cap of 50: the
    default covers (finite-sample) and its median labels are not below the proven floor (a
    valid method cannot be; a broken floor or an invalid stop would show here)."""
    monkeypatch.setenv("ASSAY_SHARED_DATA", str(shared_data))
    ds = bench.base.load("kitti-where", shared_data)
    floor = bench.where_floor(ds.passes, ds.y, ds.hi, error=ds.error, delta=DELTA)
    trials, covered, calls = 30, 0, []
    for s in np.random.SeedSequence(11).spawn(trials):
        r = estimate_aggregate(
            "betting", n_records=ds.n, label=lambda i: (ds.passes[i], ds.y[i]), lo=ds.lo,
            hi=ds.hi, proxy=ds.proxy, where=True, error=ds.error, relative=True, delta=DELTA,
            seed=np.random.default_rng(s))
        covered += r.lower <= ds.truth <= r.upper
        calls.append(r.oracle_calls)
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)
    assert np.median(calls) >= floor["median"]


@pytest.mark.shared_data
def test_telling_the_default_the_truth_is_undone_after_each_run(bench, shared_data, monkeypatch):
    monkeypatch.setenv("ASSAY_SHARED_DATA", str(shared_data))
    prepare = betting._MeanTarget.prepare
    configs = tuple(bench.TUNED_CONFIGS)
    rows = bench._tuned_chunk(("onto", np.random.SeedSequence(3).spawn(2), configs))
    assert betting._Strata is _Strata and betting._MeanTarget.prepare is prepare
    assert len(rows) == 2 and all(len(row) == 3 * len(bench.TUNED_CONFIGS) for row in rows)
    assert all(0 < row[j] <= 11165 for row in rows for j in range(0, len(row), 3))
    assert all(0.0 <= row[j] <= 1.0 for row in rows for j in range(2, len(row), 3))


def test_proxy_tail_holds_the_last_share_of_the_value(bench):
    rng = np.random.default_rng(5)
    proxy = rng.random(5000)
    y = (rng.random(5000) < proxy**6).astype(float)
    tail = bench.proxy_tail(proxy, y, 0.05)
    assert y[tail].sum() <= 0.05 * y.sum() < y[tail].sum() + 1  # the prefix stops at 95%
    assert proxy[tail].max() <= proxy[~tail].min()  # the tail is the bottom of the ranking


def _mean_floor_by_hand(values, error, delta):
    """mean_floor's median, from scipy's hypergeometric: the first n at which every split of
    the changed records gives a bound on P(stopped by n) of at least 1/2."""
    n_rec = values.size
    planted = int(np.floor(2 * error * n_rec)) + 1
    pool_lo, pool_hi = int((values == 0).sum()), int((values == 1).sum())

    def miss(pool, m, n):
        return 1.0 if m == 0 else stats.hypergeom(pool, m, n).pmf(0)

    for n in range(n_rec):
        bounds = []
        for down in range(min(planted, pool_hi) + 1):
            up = planted - down
            if up > pool_lo:
                continue
            p_lo, p_hi = miss(pool_lo, up, n), miss(pool_hi, down, n)
            bounds.append(np.inf if min(p_lo, p_hi) == 0 else delta / p_lo + delta / p_hi)
        if min(bounds) >= 0.5:
            return n, planted
    return n_rec, planted


@pytest.mark.parametrize(("ones", "zeros", "error"), [(20, 980, 0.01), (3, 297, 0.02),
                                                      (150, 850, 0.01)])
def test_mean_floor_by_hand(bench, ones, zeros, error):
    values = np.r_[np.ones(ones), np.zeros(zeros)]
    f = bench.mean_floor(values, 0.0, 1.0, error=error, delta=DELTA)
    assert (f["median"], f["planted"]) == _mean_floor_by_hand(values, error, DELTA)
    assert 0 < f["mean"] <= f["median"] + 1


def test_mean_floor_falls_as_the_target_widens_and_with_the_range(bench):
    values = np.r_[np.ones(50), np.zeros(4950)]
    tight = bench.mean_floor(values, 0.0, 1.0, error=0.005, delta=DELTA)
    loose = bench.mean_floor(values, 0.0, 1.0, error=0.02, delta=DELTA)
    assert tight["planted"] < loose["planted"] and tight["median"] > loose["median"]
    # a stated range twice as wide: half the records move the mean as far
    wide = bench.mean_floor(values * 2.0, 0.0, 2.0, error=0.01, delta=DELTA)
    narrow = bench.mean_floor(values, 0.0, 1.0, error=0.01, delta=DELTA)
    assert wide["planted"] < narrow["planted"] and wide["median"] > narrow["median"]


def test_heuristic_floors_rise_with_the_lower_end_multiplier(bench):
    values = np.r_[np.ones(50), np.zeros(4950)]
    normal = bench.mean_floor(values, 0.0, 1.0, error=0.01, delta=DELTA, spread=0.1)
    kelly = bench.mean_floor(values, 0.0, 1.0, error=0.01, delta=DELTA, spread=0.1, z=2.45)
    assert kelly["normal"] > normal["normal"] > 0
    assert kelly["median"] == normal["median"]  # the proven floor does not use the spread
    passes = np.r_[np.ones(50), np.zeros(950)]
    w_normal = bench.where_floor(passes, np.full(1000, 2.0), 10.0, error=0.1, delta=DELTA,
                                 spread=5.0)
    w_same = bench.where_floor(passes, np.full(1000, 2.0), 10.0, error=0.1, delta=DELTA,
                               spread=5.0, z=float(stats.norm.ppf(1 - DELTA)))
    w_kelly = bench.where_floor(passes, np.full(1000, 2.0), 10.0, error=0.1, delta=DELTA,
                                spread=5.0, z=2.45)
    assert w_same == w_normal and w_kelly["normal"] > w_normal["normal"]


def test_kelly_labels_by_hand(bench):
    # n0 = 2 ln(20) (0.5 / 0.05)^2 = 599.1, then the finite-population correction
    n0 = 2 * np.log(1 / DELTA) * 100
    assert bench.kelly_labels(0.5, 0.05, 1000, DELTA) == pytest.approx(n0 / (1 + n0 / 1000))


@pytest.mark.statistical
@pytest.mark.shared_data
def test_default_on_onto_stays_above_the_proven_mean_floor(bench, shared_data, monkeypatch):
    """±0.01 on onto: the default covers and its median labels are not below the proven
    floor of any finite-sample method (a floor set too high, or an invalid stop, shows)."""
    monkeypatch.setenv("ASSAY_SHARED_DATA", str(shared_data))
    ds = bench.base.load("onto", shared_data)
    floor = bench.mean_floor(ds.y, ds.lo, ds.hi, error=ds.error, delta=DELTA)
    trials, covered, calls = 30, 0, []
    for s in np.random.SeedSequence(12).spawn(trials):
        r = estimate_aggregate("betting", n_records=ds.n, label=lambda i: ds.y[i], lo=ds.lo,
                               hi=ds.hi, proxy=ds.proxy, error=ds.error, delta=DELTA,
                               seed=np.random.default_rng(s))
        covered += r.lower <= ds.truth <= r.upper
        calls.append(r.oracle_calls)
    assert covered >= stats.binom.ppf(1e-3, trials, 1 - DELTA)
    assert floor["planted"] == 224 and np.median(calls) >= floor["median"]


@pytest.fixture(scope="module")
def union():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import _union_strata

    return _union_strata


def test_union_dual_bound_is_below_the_brute_force_minimum(union):
    """Two strata with labels and bets: the dual lower bound on the smallest summed
    log-capital over stratum means with N_1 t_1 + N_2 t_2 >= N m never exceeds the minimum
    found on a fine grid, and is close to it (the capitals are convex)."""
    rng = np.random.default_rng(5)
    sides = []
    for size, p in ((40, 0.05), (25, 0.6)):
        side = union._Side(size, 0.0, 1.0, True)
        for _ in range(3):
            side.add((rng.random(4) < p).astype(float), float(rng.uniform(0.1, 0.8)))
        sides.append(side)
    n = 65
    nus = np.exp(np.linspace(np.log(1e-3), np.log(1e3), 401))
    h = sides[0].dual(nus) + sides[1].dual(nus)
    (a1, b1), (a2, b2) = sides[0].box(), sides[1].box()
    t1 = np.linspace(a1, b1, 2001)
    g1, _ = sides[0].value_slope(t1)
    for m in (0.2, 0.3, 0.45):
        # for each t1, the smallest feasible t2 (the capital rises with t2)
        t2 = np.clip((n * m - 40 * t1) / 25, a2, None)
        ok = t2 <= b2
        g2, _ = sides[1].value_slope(t2[ok])
        brute = float(np.min(g1[ok] + g2))
        dual = float(np.max(nus * n * m + h))
        assert dual <= brute + 1e-9
        assert dual >= brute - 0.05


@pytest.mark.statistical
def test_union_experiment_covers_rare_positives_where_the_proxy_is_lowest(union):
    """Adversarial: the only positives sit in the lowest-proxy stratum. At a fixed budget of
    half the records the experiment's interval is narrow (mean width under 0.03 around a
    truth of 0.0067) and covers (finite-sample, one-sided binomial test at 1e-3)."""
    n = 300
    proxy = np.linspace(0.0, 1.0, n)
    values = np.zeros(n)
    values[[3, 40]] = 1.0
    truth = values.mean()
    trials, covered, widths = 20, 0, []
    for s in np.random.SeedSequence(21).spawn(trials):
        r = union.union_strata(proxy, values, 0.0, 1.0, error=0.01, relative=False,
                               delta=0.2, rng=np.random.default_rng(s), strata=4,
                               tail_min=64, budget=150)
        covered += r["lower"] <= truth <= r["upper"]
        widths.append(r["upper"] - r["lower"])
    assert np.mean(widths) < 0.03
    assert covered >= stats.binom.ppf(1e-3, trials, 0.8)
