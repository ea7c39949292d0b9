"""Densities, bandwidth selection, class-conditional priors, serialization, rankings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assay.exceptions import AssayError, InvalidParameterError
from assay.learned import (
    POOLED,
    DensityPrior,
    KernelDensity1D,
    compute_features,
    feature,
    rank_tracks,
    select_bandwidth,
)
from assay.tables import as_observations

WORLD = "world: hand-made boxes, fixed to the ground"


def test_silverman_and_scott_formulas():
    x = np.random.default_rng(1).normal(0, 3.0, size=500)
    sd = x.std(ddof=1)
    iqr = (np.percentile(x, 75) - np.percentile(x, 25)) / 1.349
    assert select_bandwidth(x, "scott") == pytest.approx(1.059 * sd * 500 ** -0.2)
    assert select_bandwidth(x, "silverman") == pytest.approx(0.9 * min(sd, iqr) * 500 ** -0.2)


def test_bandwidth_scales_with_the_data_and_shrinks_with_n():
    rng = np.random.default_rng(2)
    x = rng.normal(size=400)
    assert select_bandwidth(10 * x) == pytest.approx(10 * select_bandwidth(x))
    assert select_bandwidth(rng.normal(size=40000)) < select_bandwidth(x)


def test_silverman_is_robust_to_two_modes():
    # parked and moving cars: two humps; the robust scale keeps them apart
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 0.3, 500), rng.normal(12, 1.0, 500)])
    assert select_bandwidth(x, "silverman") < select_bandwidth(x, "scott")
    kde = KernelDensity1D("silverman").fit(x)
    assert kde.log_density([6.0])[0] < kde.log_density([0.0])[0] - 5


def test_constant_sample_gets_a_narrow_positive_bandwidth():
    assert select_bandwidth(np.full(10, 10.0)) == pytest.approx(0.01)
    kde = KernelDensity1D().fit([3.0])
    assert kde.bandwidth_ > 0
    assert np.isfinite(kde.log_density([3.0, 100.0])).all()


def test_kde_matches_a_known_density():
    rng = np.random.default_rng(4)
    x = rng.normal(5.0, 2.0, size=20000)
    kde = KernelDensity1D().fit(x)
    grid = np.linspace(0, 10, 21)
    assert np.allclose(np.exp(kde.log_density(grid)), stats.norm(5, 2).pdf(grid), atol=0.01)


def test_log_transform_and_tail():
    x = np.random.default_rng(5).lognormal(1.0, 0.5, size=2000)
    kde = KernelDensity1D(transform="log").fit(x)
    assert kde.log_likelihood([np.e])[0] > 0  # the mode is more likely than typical
    far = kde.log_density([1e9, 1e30])
    # past the data the density keeps falling (no two extremes tie), one nat per bandwidth
    assert far[1] < far[0] < kde.floor_
    h = kde.bandwidth_
    assert far[0] - far[1] == pytest.approx((np.log(1e30) - np.log(1e9)) / h)


def test_tail_is_continuous_and_decreasing_past_the_range():
    x = np.random.default_rng(6).normal(0.0, 1.0, size=500)
    kde = KernelDensity1D().fit(x)
    hi, h = x.max(), kde.bandwidth_
    t = hi + np.linspace(0.0, 40.0, 4001) * h
    ld = kde.log_density(t)
    assert (np.diff(ld) <= 1e-9).all()                      # never rises past the data
    assert np.abs(np.diff(ld)).max() < 0.5                  # no jump (steps of 0.01 bandwidths)
    lo_side = kde.log_density(x.min() - np.array([10.0, 20.0]) * h)
    assert lo_side[1] < lo_side[0] < kde.floor_
    # within the range the floor still holds: a gap between clusters is not a bottomless pit
    gap = KernelDensity1D(0.1).fit(np.r_[np.zeros(50), np.full(50, 100.0)])
    assert gap.log_density([50.0])[0] == pytest.approx(gap.floor_)


def test_kde_bad_inputs():
    with pytest.raises(InvalidParameterError, match="'bandwidth' parameter"):
        KernelDensity1D(bandwidth="wide")
    with pytest.raises(InvalidParameterError, match="at least one finite value"):
        KernelDensity1D().fit([np.nan])
    with pytest.raises(AssayError, match="not fitted"):
        KernelDensity1D().log_density([1.0])


def _tracks(n_tracks, cls, length, speed, seed, stream="s", fps=10.0, first_id=0):
    rng = np.random.default_rng(seed)
    frame = np.tile(np.arange(5), n_tracks)
    track = np.repeat(np.arange(n_tracks), 5) + first_id
    return pd.DataFrame({
        "stream": stream, "frame": frame, "time": frame / fps, "track": track, "cls": cls,
        "x": frame * speed / fps + track * 20.0, "y": 0.0, "z": 0.0,
        "l": rng.normal(length, 0.1 * length, 5 * n_tracks), "w": length / 2, "h": 1.5,
        "yaw": 0.0, "source": "labels",
    })


@pytest.fixture(scope="module")
def labels():
    df = pd.concat([_tracks(40, "Car", 4.0, 10.0, 0),
                    _tracks(40, "Pedestrian", 0.8, 1.5, 1, first_id=100)], ignore_index=True)
    df["obs_id"] = np.arange(len(df))
    obs = as_observations(df)
    obs.attrs["frame_3d"] = WORLD  # positions fixed to the ground: speeds are real speeds
    return obs


def test_class_conditional_densities(labels):
    prior = DensityPrior(["volume", "speed"]).fit(labels)
    assert prior.classes_ == ["Car", "Pedestrian"]
    assert set(prior.densities_["volume"]) == {"Car", "Pedestrian", POOLED}
    # a car-sized pedestrian is unlikely for a pedestrian, likely for a car
    car_sized = labels[labels["cls"] == "Car"].head(5).assign(cls="Pedestrian", track=999)
    ll = prior.factor_log_likelihoods(car_sized)
    assert ll["ll_volume"].iloc[0] < -5
    assert prior.factor_log_likelihoods(labels[labels["cls"] == "Car"].head(5))["ll_volume"].iloc[0] > -1


def test_unseen_and_rare_classes_fall_back_to_pooled(labels):
    prior = DensityPrior(["volume", "speed"], min_samples=30).fit(labels)
    tram = labels.head(5).assign(cls="Tram")
    out = prior.factor_log_likelihoods(tram)
    assert out["fallback"].iloc[0] == "volume,speed"
    assert np.isfinite(out["ll_volume"].iloc[0])
    # a class with fewer values than min_samples has no density of its own
    few = pd.concat([labels, _tracks(2, "Van", 5.0, 8.0, 9, first_id=500).assign(obs_id=np.arange(10) + 10_000)],
                    ignore_index=True)
    p2 = DensityPrior(["volume"], min_samples=30).fit(few)
    assert "Van" not in p2.densities_["volume"]
    assert p2.density_for("volume", "Van")[1] is True


def test_fit_on_empty_feature_is_allowed_and_scores_nan(labels):
    # labels have no score: the score factor has no density, tracks get NaN for it
    prior = DensityPrior(["volume", "score"]).fit(labels)
    assert prior.densities_["score"] == {}
    out = prior.score_tracks(labels.head(5))
    assert np.isnan(out["ll_score"].iloc[0]) and np.isfinite(out["score"].iloc[0])


def test_serialization_round_trip_is_exact(labels):
    prior = DensityPrior(["volume", "speed", "duration"], bandwidth="scott").fit(labels)
    text = json.dumps(prior.to_dict())
    again = DensityPrior.from_dict(json.loads(text))
    a, b = prior.score_tracks(labels), again.score_tracks(labels)
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert again.classes_ == prior.classes_ and again.bandwidth == "scott"


def test_serialization_of_user_features(labels):
    @feature("obs", transform="log")
    def footprint(obs):
        return obs["l"].to_numpy() * obs["w"].to_numpy()

    prior = DensityPrior([footprint, "speed"]).fit(labels)
    data = json.loads(json.dumps(prior.to_dict()))
    with pytest.raises(InvalidParameterError, match="user feature 'footprint'"):
        DensityPrior.from_dict(data)
    again = DensityPrior.from_dict(data, features=[footprint])
    assert np.allclose(again.score_tracks(labels)["score"], prior.score_tracks(labels)["score"])


def test_weights_and_rankings(labels):
    prior = DensityPrior(["volume", "speed"]).fit(labels)
    odd = labels[labels["cls"] == "Car"].head(5).assign(l=40.0, track=777)
    obs = pd.concat([labels, odd], ignore_index=True).assign(obs_id=lambda d: np.arange(len(d)))
    unlikely = rank_tracks(obs, prior, direction="unlikely")
    assert unlikely["track"].iloc[0] == 777
    ev = json.loads(unlikely["evidence"].iloc[0])
    assert ev["ll_volume"] < -5 and ev["cls"] == "Car" and ev["volume"] == pytest.approx(120.0)
    likely = rank_tracks(obs, prior, direction="likely")
    assert likely["track"].iloc[-1] == 777
    assert (np.diff(likely["severity"].to_numpy()) <= 0).all()
    # weight 0 on volume: the giant car is no longer the most unlikely
    no_vol = rank_tracks(obs, prior, direction="unlikely", weights={"volume": 0.0})
    assert no_vol["track"].iloc[0] != 777
    with pytest.raises(InvalidParameterError, match="does not have"):
        rank_tracks(obs, prior, weights={"colour": 1.0})


def test_not_fitted(labels):
    with pytest.raises(AssayError, match="not fitted"):
        DensityPrior().score_tracks(labels)


def test_features_object_can_be_reused(labels):
    fv = compute_features(labels, ["volume", "speed", "duration"])
    prior = DensityPrior(["volume", "speed"]).fit(fv)
    assert prior.feature_names_ == ["volume", "speed"]
    assert len(prior.score_tracks(fv)) == len(fv.tracks)


def test_background_contrast_is_a_bounded_ratio(labels):
    cars = labels[labels["cls"] == "Car"]
    fg = DensityPrior(["volume"]).fit(cars)
    bg = DensityPrior(["volume"]).fit(cars.assign(l=cars["l"] * 3))  # "false alarms" are long
    odd = cars.head(5).assign(l=12.0, track=555)
    obs = pd.concat([cars.iloc[5:10], odd], ignore_index=True).assign(obs_id=range(10))
    ranked = rank_tracks(obs, fg, direction="likely", background=bg, max_ratio=20.0)
    ev = [json.loads(e) for e in ranked["evidence"]]
    assert ranked["track"].tolist()[-1] == 555
    assert all(abs(e["ll_volume"]) <= np.log(20.0) + 1e-6 for e in ev)
    assert all("fg_volume" in e and "bg_volume" in e for e in ev)
