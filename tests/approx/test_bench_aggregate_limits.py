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
    assert len(rows) == 2 and all(len(row) == 2 * len(bench.TUNED_CONFIGS) for row in rows)
    assert all(0 < row[j] <= 11165 for row in rows for j in range(0, len(row), 2))
