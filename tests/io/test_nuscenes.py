"""nuScenes / Lyft Level 5 layout: the hand-made set of tests/data/nuscenes_layout.py read
back exactly, ego poses, world- and ego-frame speeds, submissions, and the Lyft variant."""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import (
    AssayWarning,
    DataFileNotFoundError,
    DataFormatError,
    InvalidParameterError,
)
from assay.io import NuScenesTables, read_nuscenes, to_ego_frame, to_world_frame
from assay.io.ego import EGO_FRAME
from assay.io.nuscenes import WORLD_FRAME

_spec = importlib.util.spec_from_file_location(
    "nuscenes_layout", Path(__file__).resolve().parents[1] / "data" / "nuscenes_layout.py")
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)


@pytest.fixture()
def root(tmp_path):
    return layout.write(tmp_path / "nuscenes")


def speeds(obs: pd.DataFrame) -> pd.DataFrame:
    """Per observation after a track's first: the speed (m/s) since its previous frame."""
    obs = obs.sort_values(["stream", "track", "time"])
    g = obs.groupby(["stream", "track"])
    d = np.hypot(g["x"].diff(), g["y"].diff()) / g["time"].diff()
    return obs.assign(speed=d).dropna(subset=["speed"])


def test_reads_the_hand_made_set_exactly(root):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tables = read_nuscenes(root, version="v1.0-mini")
    assert isinstance(tables, NuScenesTables)
    obs, poses = tables  # unpacks
    assert obs is tables.observations and poses is tables.ego_poses
    assert obs.groupby("stream")["frame"].max().to_dict() == {"scene-0001": 4, "scene-0002": 2}
    assert len(obs) == 5 + 5 + 3 + 3
    assert obs.attrs["frame_3d"] == WORLD_FRAME
    assert obs.attrs["frame_rates"] == {"scene-0001": 2.0, "scene-0002": 2.0}
    assert obs.attrs["locations"] == {"scene-0001": "singapore-onenorth", "scene-0002": "singapore-onenorth"}
    assert obs.attrs["sources"]["scene-0001"] == str(root / "v1.0-mini")
    # every annotation as generated: centre, size [w, l, h] -> l, w, h, heading, instance -> track
    for name, spec in layout.SCENES.items():
        for obj, o in spec["objects"].items():
            rows = obs[(obs["stream"] == name) & (obs["instance_token"] == f"inst-{obj}")]
            assert rows["frame"].tolist() == list(o["samples"])
            assert rows["time"].tolist() == pytest.approx([k * 0.5 for k in o["samples"]])
            assert rows["track"].nunique() == 1 and (rows["cls"] == o["category"]).all()
            expected = np.array([layout.position(o["start"], o["speed"], o["yaw"], k * 0.5) for k in o["samples"]])
            assert rows[["x", "y", "z"]].to_numpy() == pytest.approx(expected)
            assert rows[["l", "w", "h"]].to_numpy().tolist() == [[o["size"][1], o["size"][0], o["size"][2]]] * len(rows)
            assert rows["yaw"].to_numpy() == pytest.approx(np.full(len(rows), math.remainder(o["yaw"], 2 * math.pi)))
    assert obs["track"].nunique() == 4 and obs["score"].isna().all() and (obs["source"] == "labels").all()
    assert obs.set_index("cls")["detection_name"].to_dict() == {
        "vehicle.car": "car", "human.pedestrian.adult": "pedestrian", "vehicle.truck": "truck"}
    assert set(obs["attributes"]) == {"vehicle.parked", "vehicle.moving", "pedestrian.moving"}
    assert (obs["visibility"] == "v80-100").all() and obs["num_lidar_pts"].max() == 40
    # ego poses: the LIDAR_TOP key frames (not the camera's, not the sweeps between samples)
    assert len(poses) == 8 and poses.attrs["frame_rates"] == obs.attrs["frame_rates"]
    for name, spec in layout.SCENES.items():
        ego = spec["ego"]
        rows = poses[poses["stream"] == name]
        expected = np.array([layout.position(ego["start"], ego["speed"], ego["yaw"], k * 0.5) for k in range(spec["n"])])
        assert rows[["x", "y", "z"]].to_numpy() == pytest.approx(expected)
        assert rows["yaw"].to_numpy() == pytest.approx(np.full(spec["n"], ego["yaw"]))
        assert rows["time"].tolist() == pytest.approx([k * 0.5 for k in range(spec["n"])])


def test_world_speeds_and_ego_frame_speeds(root):
    obs, poses = read_nuscenes(root)
    world = speeds(obs).groupby("instance_token")["speed"]
    assert world.max()["inst-parked_car"] < 1e-9 and world.max()["inst-parked_truck"] < 1e-9
    assert world.mean()["inst-moving_car"] == pytest.approx(12.0)
    assert world.mean()["inst-pedestrian"] == pytest.approx(1.4)

    ego = to_ego_frame(obs, poses)
    assert ego.attrs["frame_3d"] == EGO_FRAME
    in_ego = speeds(ego).groupby("instance_token")["speed"]
    # seen from the moving car, a parked object moves at the car's own speed
    assert in_ego.min()["inst-parked_car"] == pytest.approx(8.0)
    assert in_ego.max()["inst-parked_car"] == pytest.approx(8.0)
    assert in_ego.mean()["inst-parked_truck"] == pytest.approx(5.0)
    assert abs(in_ego.mean()["inst-moving_car"] - 12.0) > 1.0  # and a moving one does not keep its speed
    # the truck, parked 20 m north of a car driving north, comes 2.5 m nearer each frame
    truck = ego[ego["instance_token"] == "inst-parked_truck"]
    assert truck["x"].tolist() == pytest.approx([20.0, 17.5, 15.0])
    assert truck["y"].tolist() == pytest.approx([-5.0, -5.0, -5.0]) and truck["yaw"].abs().max() < 1e-12
    # and back
    back = to_world_frame(ego, poses)
    assert back[["x", "y", "z", "yaw"]].to_numpy() == pytest.approx(obs[["x", "y", "z", "yaw"]].to_numpy())
    with pytest.raises(InvalidParameterError, match="already in the ego frame"):
        to_ego_frame(ego, poses)
    with pytest.raises(InvalidParameterError, match="already in the world frame"):
        to_world_frame(obs, poses)
    with pytest.raises(InvalidParameterError, match="no pose for stream 'scene-0002', frame 0"):
        to_ego_frame(obs, poses[poses["stream"] == "scene-0001"])


@pytest.mark.parametrize("tracking", [False, True])
def test_submission_boxes_share_streams_and_frames(root, tmp_path, tracking):
    sub = tmp_path / "results.json"
    sub.write_text(json.dumps(layout.results(root, tracking=tracking)))
    labels, _ = read_nuscenes(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred, poses = read_nuscenes(root, results=sub, source="model:centerpoint")
    assert len(pred) == len(labels) and (pred["source"] == "model:centerpoint").all()
    assert pred[["stream", "frame", "time"]].equals(labels[["stream", "frame", "time"]])
    assert sorted(pred["cls"].unique()) == ["car", "pedestrian", "truck"]
    assert pred["score"].between(0.5, 0.9).all()
    assert pred["x"].to_numpy() == pytest.approx(labels["x"].to_numpy() + 0.1)
    assert pred[["l", "w", "h", "yaw"]].to_numpy() == pytest.approx(labels[["l", "w", "h", "yaw"]].to_numpy())
    assert pred.attrs["frame_3d"] == WORLD_FRAME and len(poses) == 8
    assert (pred["vx"] == 0).all()
    if tracking:
        assert pred["tracking_id"].tolist() == labels["instance_token"].tolist()
        assert pred.groupby("tracking_id")["track"].nunique().eq(1).all() and pred["track"].nunique() == 4
    else:
        assert pred["track"].isna().all()


def test_submission_errors_and_unknown_names(root, tmp_path):
    doc = layout.results(root)
    token = next(iter(doc["results"]))
    doc["results"][token][0]["detection_name"] = "hovercraft"
    sub = tmp_path / "results.json"
    sub.write_text(json.dumps(doc))
    with pytest.warns(AssayWarning, match=rf"'hovercraft' \(1 row, first at {sub}, results\['{token}'\]\[0\]\)"):
        pred, _ = read_nuscenes(root, results=sub)
    assert "hovercraft" in set(pred["cls"])
    doc["results"][token][0]["rotation"] = [0, 0, 0, 0]
    sub.write_text(json.dumps(doc))
    with pytest.raises(DataFormatError, match=rf"results\['{token}'\]\[0\].rotation: expected a quaternion"):
        read_nuscenes(root, results=sub)
    doc["results"][token][0]["rotation"] = [1, 0, 0, 0]
    doc["results"]["no-such-sample"] = []
    sub.write_text(json.dumps(doc))
    with pytest.raises(DataFormatError, match="expected the token of a sample of the data set; got 'no-such-sample'"):
        read_nuscenes(root, results=sub)
    sub.write_text(json.dumps([1, 2]))
    with pytest.raises(DataFormatError, match=r'top level: expected an object \{"meta"'):
        read_nuscenes(root, results=sub)


def test_lyft_level5_layout(root):
    """Lyft: tables in train_data/, its own category names, no visibility or attribute tables."""
    lyft = root.parent / "lyft"
    (root / "v1.0-mini").rename(root / "train_data")
    root.rename(lyft)
    tables = lyft / "train_data"
    cats = json.loads((tables / "category.json").read_text())
    lyft_names = {"vehicle.car": "car", "vehicle.truck": "truck", "human.pedestrian.adult": "pedestrian"}
    for c in cats:
        c["name"] = lyft_names[c["name"]]
    (tables / "category.json").write_text(json.dumps(cats))
    (tables / "visibility.json").unlink()
    (tables / "attribute.json").write_text("[]")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obs, poses = read_nuscenes(lyft)  # the tables folder is found
    assert sorted(obs["cls"].unique()) == ["car", "pedestrian", "truck"]
    assert obs["detection_name"].isna().all()  # Lyft's names are its detection classes already
    assert "visibility" not in obs and "attributes" not in obs and len(poses) == 8


def test_layout_errors(root):
    folder = root / "v1.0-mini"
    with pytest.raises(DataFileNotFoundError, match="v1.0-trainval: no sample.json"):
        read_nuscenes(root, version="v1.0-trainval")
    (root / "v1.0-test").mkdir()
    (root / "v1.0-test" / "sample.json").write_text("[]")
    with pytest.raises(DataFormatError, match=r"holds the tables of 2 versions \(v1.0-mini, v1.0-test\); pass version="):
        read_nuscenes(root)
    # a sample without a LIDAR_TOP key frame: the error names the channels there are
    data = json.loads((folder / "sample_data.json").read_text())
    kept = [d for d in data if d["token"] != "sd-0-2-lidar"]
    (folder / "sample_data.json").write_text(json.dumps(kept))
    with pytest.raises(DataFormatError, match=r"sample 'sample-0-2' \(1 of 8 samples\) has no LIDAR_TOP key frame .* "
                                              r"pass reference= one of the channels \(CAM_FRONT, LIDAR_TOP\)"):
        read_nuscenes(root, version="v1.0-mini")
    obs, poses = read_nuscenes(root, version="v1.0-mini", reference="CAM_FRONT")
    # the camera's poses are 10 ms later: 8 cm further along at 8 m/s
    first = poses.iloc[0]
    assert math.hypot(first["x"] - 100.0, first["y"] - 200.0) == pytest.approx(0.08)
    (folder / "sample_data.json").write_text(json.dumps(data))
    anns = json.loads((folder / "sample_annotation.json").read_text())
    anns[3]["size"] = [1.9, -4.5, 1.6]
    (folder / "sample_annotation.json").write_text(json.dumps(anns))
    with pytest.raises(DataFormatError, match=r"sample_annotation.json: \[3\].size: expected 3 sizes >= 0"):
        read_nuscenes(root, version="v1.0-mini")
    anns[3]["size"] = [1.9, 4.5, 1.6]
    anns[3]["instance_token"] = "inst-gone"
    (folder / "sample_annotation.json").write_text(json.dumps(anns))
    with pytest.raises(DataFormatError, match=r"\[3\].instance_token: expected the token of a record of the instance table; got 'inst-gone'"):
        read_nuscenes(root, version="v1.0-mini")
