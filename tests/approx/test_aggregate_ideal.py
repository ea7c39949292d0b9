"""benchmarks/_aggregate_ideal.py: the labels two classes of designs would need when told every
stratum's mean (section ``aggregation-ideal``), checked against brute force on small cases.
The full run is ``python benchmarks/bench_aggregate_limits.py --ideal``."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
THR = math.log(20.0)


@pytest.fixture(scope="module")
def ideal():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import _aggregate_ideal

    return _aggregate_ideal


def _grid_growth(x: np.ndarray, prob: np.ndarray, cap: float) -> float:
    """The best fixed bet by brute force over a fine grid up to ``cap``."""
    lam = np.linspace(0.0, cap, 200_001)
    return float(np.max(np.log1p(lam[:, None] * x[None, :]) @ prob))


@pytest.mark.parametrize("p", [0.3, 0.05, 0.9])
def test_one_stratum_matches_brute_force(ideal, p):
    """One stratum (uniform sampling): the best bets by brute force, and the split that
    equalises the two sides (each side's need is monotone in the split) by bisection."""
    dev, prob = np.array([-p, 1 - p]), np.array([1 - p, p])

    def needs(frac: float) -> tuple[float, float]:
        e_lo, e_hi = 0.02 * (1 - frac), 0.02 * frac
        up = e_hi - dev
        hi_need = THR / _grid_growth(up, prob, 0.95 / np.max(-up))
        if p - e_lo <= 0:  # nothing below the lower end is possible
            return 0.0, hi_need
        low = dev + e_lo
        return THR / _grid_growth(low, prob, 0.95 / np.max(-low)), hi_need

    a, b = 0.01, 0.99
    for _ in range(40):
        mid = 0.5 * (a + b)
        lo_need, hi_need = needs(mid)
        a, b = (mid, b) if hi_need > lo_need else (a, mid)
    best = max(needs(0.5 * (a + b)))
    got = ideal.betting_ideal(np.ones(1), np.array([p]), error=0.01, delta=0.05)["labels"]
    assert got == pytest.approx(best, rel=2e-3)
    fam = ideal.betting_ideal(np.ones(1), np.array([p]), error=0.01, delta=0.05,
                              family_only=True)["labels"]
    assert got <= fam + 1e-9


def test_range_price_caps_the_upper_bet(ideal):
    """A stratum without positives drawn less often than its share caps the upper side's bet:
    its growth is at most the cap times the upper distance (log1p(z) <= z), and a looser
    truncation only helps."""
    w, p = np.array([0.9, 0.1]), np.array([0.0, 0.5])
    pi = np.array([0.5, 0.5])
    e_lo, e_hi = 0.008, 0.012
    g = ideal.betting_growth(pi, w, p, e_lo, e_hi, 0.95)
    loss = w[0] / pi[0] * (1 - p[0]) - e_hi  # a positive drawn from the first stratum
    assert g[1] <= 0.95 / loss * e_hi + 1e-12
    assert ideal.betting_growth(pi, w, p, e_lo, e_hi, 0.999)[1] > g[1]


def test_min_capital_is_the_weakest_split(ideal):
    """Two strata: the minimum over splits of the summed Kullback-Leibler capitals, by brute
    force over the first stratum's mean."""
    w, p, shares = np.array([0.7, 0.3]), np.array([0.01, 0.4]), np.array([0.6, 0.4])
    for target in (w @ p + 0.03, w @ p - 0.02):
        m0 = np.linspace(1e-9, 1 - 1e-9, 400_001)
        m1 = (target - w[0] * m0) / w[1]
        ok = (m1 > 0) & (m1 < 1)
        cap = (shares[0] * ideal._kl(np.full(ok.sum(), p[0]), m0[ok])
               + shares[1] * ideal._kl(np.full(ok.sum(), p[1]), m1[ok]))
        assert ideal.min_capital(shares, w, p, target) == pytest.approx(cap.min(), rel=1e-4)
    assert ideal.min_capital(shares, w, p, 1.2) == math.inf


def test_union_one_stratum_is_the_kl_rate(ideal):
    """With one stratum the union-intersection figure is ln(1/delta) over the KL rate at the
    best split."""
    p = 0.2
    fr = np.linspace(0.05, 0.95, 9001)
    e_lo, e_hi = 0.02 * (1 - fr), 0.02 * fr
    kl_hi = ideal._kl(np.full(fr.size, p), p + e_hi)
    kl_lo = ideal._kl(np.full(fr.size, p), p - e_lo)
    best = float(np.min(np.maximum(THR / kl_hi, THR / kl_lo)))
    got = ideal.union_ideal(np.ones(1), np.array([p]), error=0.01, delta=0.05)["labels"]
    assert got == pytest.approx(best, rel=2e-3)


def test_without_replacement_correction(ideal):
    """Given N, the figure is corrected as a normal interval's, n / (1 + n / N)."""
    w, p = np.array([0.8, 0.2]), np.array([0.01, 0.5])
    plain = ideal.betting_ideal(w, p, error=0.01, delta=0.05, family_only=True)["labels"]
    small = ideal.betting_ideal(w, p, error=0.01, delta=0.05, family_only=True,
                                n_records=1000)["labels"]
    assert small == pytest.approx(plain / (1 + plain / 1000))


def test_ratio_with_every_record_passing_is_the_mean(ideal):
    """The `where` version with every record passing is the 0/1 mean's computation (relative
    error turned into the same absolute width)."""
    rng = np.random.default_rng(3)
    strata = np.repeat(np.arange(4), [500, 300, 150, 50])
    p_true = np.repeat([0.0, 0.02, 0.2, 0.7], [500, 300, 150, 50])
    y = (rng.random(strata.size) < p_true).astype(float)
    w = np.bincount(strata) / strata.size
    p = np.bincount(strata, weights=y) / np.bincount(strata)
    mean = ideal.betting_ideal(w, p, error=0.02, delta=0.05, family_only=True,
                               n_records=strata.size)["labels"]
    ratio = ideal.ratio_ideal(strata, np.ones(strata.size, bool), y, lo=0.0, hi=1.0,
                              error=0.02 / y.mean(), delta=0.05, family_only=True)["labels"]
    assert ratio == pytest.approx(mean, rel=1e-9)


def test_ratio_range_price_grows_with_the_cap(ideal):
    """A wider stated range for the passing values costs labels: the cap's price."""
    rng = np.random.default_rng(4)
    strata = np.repeat(np.arange(3), [600, 300, 100])
    passes = rng.random(strata.size) < np.repeat([0.02, 0.2, 0.8], [600, 300, 100])
    values = rng.integers(0, 8, strata.size).astype(float)
    opts = {"lo": 0.0, "error": 0.1, "delta": 0.05, "family_only": True}
    small = ideal.ratio_ideal(strata, passes, values, hi=8.0, **opts)["labels"]
    large = ideal.ratio_ideal(strata, passes, values, hi=50.0, **opts)["labels"]
    assert large > 1.1 * small
