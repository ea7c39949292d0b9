"""Feature units, levels, user features, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InvalidParameterError, SchemaError
from assay.learned import compute_features, feature
from assay.tables import as_observations, empty_observations

WORLD = "world: hand-made boxes, fixed to the ground"


def boxes3d(n=5, step=1.0, fps=10.0, track=0, stream="s", cls="Car", **over):
    frame = np.arange(n)
    df = pd.DataFrame({
        "frame": frame, "track": track, "cls": cls,
        "x": frame * step, "y": 0.0, "z": 0.0, "l": 4.0, "w": 2.0, "h": 1.5, "yaw": 0.0,
        "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 20.0,
    })
    for k, v in over.items():
        df[k] = v
    obs = as_observations(df, stream=stream, source="labels", fps=fps)
    obs.attrs["frame_3d"] = WORLD  # positions fixed to the ground: motion means motion
    return obs


def test_speed_is_metres_per_second():
    fv = compute_features(boxes3d(step=1.0, fps=10.0), ["speed"])
    idx, v = fv.values["speed"]
    assert np.allclose(v, 10.0)
    assert fv.tracks["speed"].iloc[0] == pytest.approx(10.0)


def test_speed_uses_real_timestamps_not_frames():
    obs = boxes3d(n=3, step=1.0, fps=10.0)
    obs["time"] = [0.0, 0.1, 0.3]  # a dropped frame: the second step took 0.2 s
    _, v = compute_features(obs, ["speed"]).values["speed"]
    assert np.allclose(v, [10.0, 5.0])


def test_acceleration_and_yaw_rate_units():
    obs = boxes3d(n=4, fps=10.0)
    obs["x"] = [0.0, 1.0, 3.0, 6.0]  # 10, 20, 30 m/s -> 100 m/s^2
    obs["yaw"] = [0.0, 0.1, 0.2, 0.3]  # 1 rad/s
    fv = compute_features(obs, ["acceleration", "yaw_rate"])
    assert np.allclose(fv.values["acceleration"][1], 100.0)
    assert np.allclose(fv.values["yaw_rate"][1], 1.0)


def test_yaw_rate_wraps_around_pi():
    obs = boxes3d(n=2)
    obs["yaw"] = [np.pi - 0.05, -np.pi + 0.05]
    _, v = compute_features(obs, ["yaw_rate"]).values["yaw_rate"]
    assert v[0] == pytest.approx(1.0)


def test_obs_and_track_features():
    fv = compute_features(boxes3d(n=5), ["volume", "aspect", "height", "duration", "n_obs", "iou_prev"])
    t = fv.tracks.iloc[0]
    assert t["volume"] == pytest.approx(12.0)
    assert t["aspect"] == pytest.approx(2.0)
    assert t["height"] == pytest.approx(1.5)
    assert t["duration"] == pytest.approx(0.4)
    assert t["n_obs"] == 5
    # 4 m long boxes moving 1 m: bird's-eye IoU 3/5
    assert t["iou_prev"] == pytest.approx(0.6)


def test_2d_features_when_no_3d_box():
    obs = as_observations(pd.DataFrame({
        "frame": [0, 1], "track": 1, "cls": "person",
        "x1": [0.0, 20.0], "y1": 0.0, "x2": [10.0, 30.0], "y2": 20.0}),
        stream="cam", source="labels", fps=10)
    fv = compute_features(obs, ["area", "aspect", "speed"])
    assert fv.box == "2d"
    assert fv.tracks["area"].iloc[0] == 200.0
    assert fv.tracks["aspect"].iloc[0] == 0.5
    # 20 px per 0.1 s with boxes 20 px tall: 10 box heights per second
    assert fv.tracks["speed"].iloc[0] == pytest.approx(10.0)


def test_tracks_are_per_stream_and_source():
    a = boxes3d(n=3, stream="a", track=1)
    b = boxes3d(n=2, stream="b", track=1)
    obs = pd.concat([a, b], ignore_index=True).assign(obs_id=range(5))
    fv = compute_features(obs, ["speed"])
    assert fv.tracks[["stream", "n_obs"]].values.tolist() == [["a", 3], ["b", 2]]


def test_rows_without_track_are_their_own_tracks():
    obs = boxes3d(n=3).assign(track=pd.array([pd.NA] * 3, dtype="Int64"))
    fv = compute_features(obs, ["speed", "duration"])
    assert len(fv.tracks) == 3
    assert fv.values["speed"][1].size == 0


def test_single_frame_stream():
    fv = compute_features(boxes3d(n=1), ["speed", "iou_prev", "duration", "volume"])
    assert len(fv.tracks) == 1
    assert np.isnan(fv.tracks["speed"].iloc[0])
    assert fv.tracks["duration"].iloc[0] == 0.0


def test_empty_observations():
    obs = empty_observations()
    for c in ("x1", "y1", "x2", "y2"):
        obs[c] = pd.Series([], dtype="float64")
    fv = compute_features(obs, ["area", "speed", "duration"])
    assert len(fv.tracks) == 0
    assert fv.values["speed"][1].size == 0


def test_user_features_at_every_level():
    @feature("obs", transform="log", unit="m^2")
    def footprint(obs):
        return obs["l"].to_numpy() * obs["w"].to_numpy()

    @feature("transition")
    def dx(prev, cur, dt):
        return (cur["x"].to_numpy() - prev["x"].to_numpy()) / dt

    @feature("track")
    def first_x(obs, code):
        return obs.groupby(code)["x"].first().to_numpy()

    fv = compute_features(boxes3d(n=3), [footprint, dx, first_x])
    assert fv.tracks[["footprint", "dx", "first_x"]].iloc[0].tolist() == [8.0, 10.0, 0.0]


def test_user_feature_with_wrong_length_is_an_error():
    @feature("obs")
    def bad(obs):
        return [1.0]

    with pytest.raises(InvalidParameterError, match="returned 1 values; expected 3"):
        compute_features(boxes3d(n=3), [bad])


def test_unknown_feature_name():
    with pytest.raises(InvalidParameterError, match="Unknown feature 'volumes'"):
        compute_features(boxes3d(), ["volumes"])


def test_feature_names_may_not_shadow_track_columns():
    @feature("track", name="cls")
    def cls_feature(obs, code):
        return np.zeros(int(code.max()) + 1)

    with pytest.raises(InvalidParameterError, match="may not be called 'cls'"):
        compute_features(boxes3d(), [cls_feature])
    # the built-in n_obs is the integer count column itself
    fv = compute_features(boxes3d(n=4), ["n_obs", "volume"])
    assert fv.tracks["n_obs"].tolist() == [4] and fv.tracks["n_obs"].dtype.kind == "i"
    assert fv.values["n_obs"][1].tolist() == [4.0]


def test_no_boxes_is_a_schema_error():
    obs = as_observations(pd.DataFrame({"frame": [0], "cls": "a"}), stream="s", source="l", fps=1)
    with pytest.raises(SchemaError, match="features need boxes"):
        compute_features(obs, ["speed"])


def test_default_features_with_and_without_motion():
    from assay.learned import default_features
    from assay.learned.features import MOTION_FEATURES

    assert default_features("3d") == ["volume", "aspect", "speed", "iou_prev", "duration"]
    assert default_features("2d") == ["area", "aspect", "speed", "iou_prev", "duration"]
    assert default_features("3d", motion=False) == ["volume", "aspect", "duration"]
    assert default_features("2d", motion=False) == ["area", "aspect", "duration"]
    assert not set(default_features("3d", motion=False)) & set(MOTION_FEATURES)
    # every default name is a built-in that compute_features evaluates
    fv = compute_features(boxes3d(), default_features("3d", motion=False))
    assert fv.tracks[["volume", "aspect", "duration"]].iloc[0].tolist() == pytest.approx([12.0, 2.0, 0.4])
