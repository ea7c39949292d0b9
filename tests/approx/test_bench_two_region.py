"""benchmarks/bench_aggregate_two_region.py (an experiment): its exact two-region bounds
cover the total at 1 - delta on small populations where a shortfall would show, including
positives hidden in the region sampled thinly. The full run is
``python benchmarks/bench_aggregate_two_region.py --trials 200``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def two():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_aggregate_two_region

    return bench_aggregate_two_region


@pytest.mark.statistical
@pytest.mark.parametrize("t_h, t_l", [(20, 0), (12, 4), (3, 15)])
def test_two_region_bounds_cover_at_one_minus_delta(two, t_h: int, t_l: int) -> None:
    big_h, big_l, d_h, d_l, delta, trials = 40, 200, 12, 25, 0.2, 400
    total, ok = t_h + t_l, 0
    lows, ups = [], []
    for ss in np.random.SeedSequence(t_h * 100 + t_l).spawn(trials):
        rng = np.random.default_rng(ss)
        x_h = int(stats.hypergeom.rvs(big_h, t_h, d_h, random_state=rng))
        x_l = int(stats.hypergeom.rvs(big_l, t_l, d_l, random_state=rng))
        up = two._upper(x_l, x_h, big_h, big_l, d_h, d_l, delta / 2)
        lo = two._lower(x_l, x_h, big_h, big_l, d_h, d_l, delta / 2)
        lows.append(lo)
        ups.append(up)
        ok += lo <= total <= up
    assert ok >= stats.binom.ppf(1e-3, trials, 1 - delta)
    # the bounds are not vacuous: the interval is narrower than the population
    assert np.median(np.array(ups) - np.array(lows)) < big_h + big_l - 20
