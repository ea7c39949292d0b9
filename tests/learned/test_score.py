"""The one scoring path (assay.learned.score): aggregates, the worst observation, the union
of priors, and the cases it was built for: one impossible moment in a long track (planted in
the KITTI labels), extremes that no longer tie, and motion in the world frame (the hand-made
nuScenes-layout set)."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.audit import find_missing_labels, find_unlikely_tracks
from assay.exceptions import AssayWarning, InvalidParameterError
from assay.io import read_nuscenes, to_ego_frame
from assay.learned import DensityPrior, compute_features, rank_tracks
from assay.learned.score import aggregate_by_track
from assay.tables import as_observations

WORLD = "world: hand-made boxes, fixed to the ground"

_spec = importlib.util.spec_from_file_location(
    "nuscenes_layout", Path(__file__).resolve().parents[1] / "data" / "nuscenes_layout.py")
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)


def _cars(n_tracks=40, length=5, seed=0, fps=10.0, speed=10.0, first_id=0):
    rng = np.random.default_rng(seed)
    frame = np.tile(np.arange(length), n_tracks)
    track = np.repeat(np.arange(n_tracks), length) + first_id
    df = pd.DataFrame({
        "stream": "s", "frame": frame, "time": frame / fps, "track": track, "cls": "Car",
        "x": frame * speed / fps + track * 20.0 + rng.normal(0, 0.02, frame.size), "y": 0.0,
        "z": 0.0, "l": rng.normal(4.0, 0.2, frame.size), "w": 1.8, "h": 1.5, "yaw": 0.0,
        "source": "labels"})
    df["obs_id"] = np.arange(len(df)) + first_id * 1000
    obs = as_observations(df)
    obs.attrs["frame_3d"] = WORLD
    return obs


@pytest.fixture(scope="module")
def labels():
    return _cars()


def test_aggregates_by_track():
    idx = np.array([1, 1, 1, 1, 3])
    v = np.array([4.0, 1.0, 3.0, 2.0, -7.0])
    assert aggregate_by_track(idx, v, 4, "mean")[[1, 3]].tolist() == [2.5, -7.0]
    assert aggregate_by_track(idx, v, 4, "min")[[1, 3]].tolist() == [1.0, -7.0]
    assert np.isnan(aggregate_by_track(idx, v, 4, "min")[[0, 2]]).all()
    # linear interpolation between order statistics, as numpy's default quantile
    for q in (0.0, 0.1, 0.25, 0.5, 1.0):
        assert aggregate_by_track(idx, v, 4, q)[1] == pytest.approx(np.quantile(v[:4], q))


def test_one_bad_moment_is_seen_by_min_and_averaged_away_by_mean(labels):
    # a 100-box car with one 300 m/s jump, among 40 ordinary ones
    long = _cars(1, length=100, seed=1, first_id=500)
    long.loc[long["frame"] >= 50, "x"] += 30.0
    obs = pd.concat([labels, long], ignore_index=True)
    obs.attrs["frame_3d"] = WORLD
    worst = DensityPrior(["volume", "speed"]).fit(labels)   # default aggregate: the worst value
    mean = DensityPrior(["volume", "speed"], aggregate="mean").fit(labels)
    assert worst.aggregate == "min"
    top = rank_tracks(obs, worst, direction="unlikely")
    assert top["track"].iloc[0] == 500
    ev = json.loads(top["evidence"].iloc[0])
    jump = long.loc[long["frame"] == 50].iloc[0]
    assert ev["worst_feature"] == "speed"
    assert ev["worst_obs_id"] == int(jump["obs_id"]) and ev["worst_frame"] == 50
    assert ev["worst_value"] == pytest.approx(310.0, rel=0.01) and ev["worst_ll"] < -50
    ll_mean = mean.score_tracks(obs).set_index("track")["ll_speed"]
    assert ll_mean[500] > ev["worst_ll"] / 50   # 1 value in 99: the mean is diluted
    # the aggregate can also be set per call, and is validated
    per_call = rank_tracks(obs, worst, aggregate="mean")
    assert json.loads(per_call["evidence"].iloc[0])["ll_speed"] == pytest.approx(
        mean.score_tracks(obs)["ll_speed"].min(), rel=1e-4)
    with pytest.raises(InvalidParameterError, match="'aggregate' parameter of rank_tracks"):
        rank_tracks(obs, worst, aggregate="max")


def test_extremes_do_not_tie(labels):
    prior = DensityPrior(["volume"]).fit(labels)
    odd = [labels[labels["track"] == 0].assign(l=v, track=900 + i) for i, v in enumerate((12.0, 40.0, 400.0))]
    scored = prior.score_tracks(pd.concat(odd, ignore_index=True).assign(obs_id=lambda d: np.arange(len(d))))
    ll = scored.set_index("track")["ll_volume"]
    assert ll[900] > ll[901] > ll[902]
    assert (scored["worst_feature"] == "volume").all()


def test_track_level_worst_has_no_observation(labels):
    prior = DensityPrior(["duration"]).fit(labels)
    long = _cars(1, length=200, seed=2, first_id=700)
    out = prior.score_tracks(long)
    assert out["worst_feature"].iloc[0] == "duration" and out["worst_obs_id"].iloc[0] == -1
    ev = json.loads(rank_tracks(long, prior)["evidence"].iloc[0])
    assert ev["worst_obs_id"] == -1 and ev["worst_frame"] == -1


def test_union_of_priors(labels):
    det = labels.assign(source="model:det", score=np.linspace(0.5, 1.0, len(labels)))
    geo = DensityPrior(["volume", "speed"]).fit(labels)
    conf = DensityPrior(["score", "volume"]).fit(det)
    both = DensityPrior.union(geo, conf)
    assert both.feature_names_ == ["volume", "speed", "score"]
    assert both.densities_["volume"] is geo.densities_["volume"]   # the first prior's
    assert both.densities_["score"] is conf.densities_["score"]
    scored = both.score_tracks(det)
    assert {"ll_volume", "ll_speed", "ll_score"} <= set(scored.columns)
    flat = DensityPrior(["area"], box="2d").fit(labels.assign(x1=0.0, y1=0.0, x2=10.0, y2=20.0))
    with pytest.raises(InvalidParameterError, match="different box kinds"):
        DensityPrior.union(geo, flat)
    with pytest.raises(InvalidParameterError, match="at least one"):
        DensityPrior.union()


def test_serialization_keeps_aggregate_and_frame(labels):
    prior = DensityPrior(["volume", "speed"], aggregate=0.1).fit(labels)
    again = DensityPrior.from_dict(json.loads(json.dumps(prior.to_dict())))
    assert again.aggregate == 0.1 and again.frame_ == "world"
    assert np.array_equal(again.score_tracks(labels)["score"], prior.score_tracks(labels)["score"])


# ---------------------------------------------------------------- motion frames


@pytest.fixture(scope="module")
def nuscenes(tmp_path_factory):
    root = layout.write(tmp_path_factory.mktemp("nuscenes") / "nuscenes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssayWarning)
        tables = read_nuscenes(root)
    return tables.observations, tables.ego_poses


def test_parked_objects_stand_still_once_compensated(nuscenes):
    world, poses = nuscenes
    ego = to_ego_frame(world, poses)   # what a detector on the car would see
    names = world.groupby("track")["instance_token"].first()

    def speeds(fv):
        return {names[int(t)]: s for t, s in zip(fv.tracks["track"], fv.tracks["speed"], strict=True)}

    compensated = speeds(compute_features(ego, ["speed", "volume"], ego_poses=poses))
    assert compensated["inst-parked_car"] == pytest.approx(0.0, abs=1e-6)
    assert compensated["inst-parked_truck"] == pytest.approx(0.0, abs=1e-6)
    assert compensated["inst-moving_car"] == pytest.approx(12.0, abs=1e-6)
    assert compensated["inst-pedestrian"] == pytest.approx(1.4, abs=1e-6)
    # boxes already in the world frame need no poses
    assert speeds(compute_features(world, ["speed"]))["inst-parked_car"] == pytest.approx(0.0, abs=1e-6)
    # in the car's frame, without poses, the parked car moves at the car's own speed: asked
    # for by name, motion is computed, with a warning that says why it misleads
    with pytest.warns(AssayWarning, match="moving car's frame.*ego_poses="):
        raw = speeds(compute_features(ego, ["speed", "volume"]))
    assert raw["inst-parked_car"] == pytest.approx(8.0, abs=1e-6)
    assert raw["inst-parked_truck"] == pytest.approx(5.0, abs=1e-6)


def test_motion_is_off_by_default_without_poses(nuscenes):
    world, poses = nuscenes
    ego = to_ego_frame(world, poses)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AssayWarning)   # defaults never warn
        assert compute_features(ego).frame == "ego"
        assert [f.name for f in compute_features(ego).features] == ["volume", "aspect", "duration"]
        assert DensityPrior(min_samples=1).fit(ego).feature_names_ == ["volume", "aspect", "duration"]
        with_poses = DensityPrior(min_samples=1).fit(ego, ego_poses=poses)
        assert with_poses.frame_ == "world"
        assert "speed" in with_poses.feature_names_ and "iou_prev" in with_poses.feature_names_
        assert "speed" in DensityPrior(min_samples=1).fit(world).feature_names_
        found = find_unlikely_tracks(ego, DensityPrior(min_samples=1).fit(ego))
        assert not any(k.startswith("ll_speed") for k in json.loads(found["evidence"].iloc[0]))
        pred = ego.assign(source="model:det", score=0.9, track=pd.NA, x=ego["x"] + 0.05)
        pred.attrs.update(ego.attrs)
        audited = ego[ego["track"] != ego["track"].iloc[0]]
        missing = find_missing_labels(pred, audited, box="bev")
        assert "ll_speed" not in json.loads(missing["evidence"].iloc[0])
    # a prior with motion features, used on ego-frame boxes without poses: warned
    moving = DensityPrior(["speed"], min_samples=1).fit(world)
    with pytest.warns(AssayWarning, match="speed measures motion"):
        rank_tracks(ego, moving)
    with pytest.warns(AssayWarning, match="speed measures motion"):
        find_unlikely_tracks(ego, moving)
    with pytest.warns(AssayWarning, match="speed measures motion"):
        find_missing_labels(pred, audited, box="bev", features=["volume", "speed"])
    # with the poses, the parked car is typical again and nothing warns
    with warnings.catch_warnings():
        warnings.simplefilter("error", AssayWarning)
        ranked = rank_tracks(ego, moving, ego_poses=poses, direction="likely")
        assert len(ranked) == world.groupby(["stream", "track"]).ngroups


# ---------------------------------------------------------------- KITTI acceptance


@pytest.mark.shared_data
def test_kitti_teleport_ranks_in_the_top_percent(shared_data):
    """A long labeled KITTI car with one impossible jump (30 m in 0.1 s) planted halfway:
    find_unlikely_tracks puts it in the top 1% of all label tracks, and names the jump."""
    from assay.io import read_kitti_tracking

    labels = read_kitti_tracking(shared_data / "kitti" / "label_02")
    sizes = labels.groupby(["stream", "track"]).size()
    stream, track = "0005", int(sizes.loc["0005"].idxmax())
    assert sizes[(stream, track)] >= 200
    rows = np.flatnonzero((labels["stream"] == stream).to_numpy() & (labels["track"] == track).to_numpy())
    jump_at = rows[len(rows) // 2]
    planted = labels.copy()
    planted.loc[rows[rows >= jump_at], "x"] += 30.0
    # KITTI boxes are in the moving car's frame (no poses here): speed must be asked for, and
    # warns; a 300 m/s jump is impossible in any frame
    with pytest.warns(AssayWarning, match="moving car's frame"):
        prior = DensityPrior(["volume", "aspect", "speed", "iou_prev", "duration"]).fit(
            planted[planted["stream"] != stream])
    with pytest.warns(AssayWarning, match="moving car's frame"):
        found = find_unlikely_tracks(planted, prior)
    n = len(found)
    assert n == labels.groupby(["stream", "track"]).ngroups
    rank = int(np.flatnonzero((found["stream"] == stream).to_numpy() & (found["track"] == track).to_numpy())[0])
    assert rank < max(1, int(0.01 * n))
    ev = json.loads(found["evidence"].iloc[rank])
    assert ev["worst_feature"] == "speed" and ev["worst_value"] > 250
    assert ev["worst_obs_id"] == int(planted["obs_id"].iloc[jump_at])
