"""A small hand-made data set in the nuScenes / Lyft Level 5 layout (the official mini set
cannot be downloaded here): the JSON tables of two scenes, written by :func:`write`.

Scene ``scene-0001``: 5 samples at 2 Hz; the ego car drives straight at 8 m/s on a heading of
30 degrees; a car is parked, another drives at 12 m/s, a pedestrian walks at 1.4 m/s in
samples 1-3. Scene ``scene-0002``: 3 samples at 2 Hz; the ego car drives north at 5 m/s past
a parked truck. Every sample has a LIDAR_TOP and a CAM_FRONT key frame (with their own ego
poses, 10 ms apart) and LIDAR_TOP sweeps between samples, which are not key frames.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

T0 = 1_532_402_927_647_951  # microseconds, as nuScenes timestamps are
DT = 500_000  # 2 Hz key frames


def quat(yaw: float) -> list[float]:
    """The quaternion [w, x, y, z] of a heading about z."""
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


#: scene name -> ego motion and objects; positions at sample k are start + k * DT * velocity
SCENES = {
    "scene-0001": {
        "n": 5, "ego": {"start": (100.0, 200.0, 0.0), "speed": 8.0, "yaw": math.pi / 6},
        "objects": {
            "parked_car": {"category": "vehicle.car", "start": (120.0, 215.0, 0.8), "speed": 0.0,
                           "yaw": 1.0, "size": [1.9, 4.5, 1.6], "samples": range(5)},
            "moving_car": {"category": "vehicle.car", "start": (90.0, 190.0, 0.9), "speed": 12.0,
                           "yaw": -0.5, "size": [2.0, 4.8, 1.7], "samples": range(5)},
            "pedestrian": {"category": "human.pedestrian.adult", "start": (110.0, 195.0, 0.9),
                           "speed": 1.4, "yaw": 2.0, "size": [0.6, 0.7, 1.8], "samples": range(1, 4)},
        },
    },
    "scene-0002": {
        "n": 3, "ego": {"start": (500.0, 800.0, 0.0), "speed": 5.0, "yaw": math.pi / 2},
        "objects": {
            "parked_truck": {"category": "vehicle.truck", "start": (505.0, 820.0, 1.5), "speed": 0.0,
                             "yaw": math.pi / 2, "size": [2.5, 9.0, 3.2], "samples": range(3)},
        },
    },
}


def position(start, speed: float, yaw: float, seconds: float) -> list[float]:
    return [start[0] + speed * seconds * math.cos(yaw), start[1] + speed * seconds * math.sin(yaw), start[2]]


def write(root: Path, *, version: str = "v1.0-mini") -> Path:
    """Write the tables under ``root / version``; returns ``root``."""
    folder = root / version
    folder.mkdir(parents=True)
    t: dict[str, list[dict]] = {name: [] for name in (
        "scene", "sample", "sample_data", "sample_annotation", "instance", "category", "ego_pose",
        "calibrated_sensor", "sensor", "log", "attribute", "visibility")}
    t["sensor"] = [{"token": "sensor-lidar", "channel": "LIDAR_TOP", "modality": "lidar"},
                   {"token": "sensor-cam", "channel": "CAM_FRONT", "modality": "camera"}]
    t["visibility"] = [{"token": "4", "level": "v80-100", "description": "visibility of whole object is between 80 and 100%"}]
    t["attribute"] = [{"token": "attr-parked", "name": "vehicle.parked", "description": ""},
                      {"token": "attr-moving", "name": "vehicle.moving", "description": ""},
                      {"token": "attr-walking", "name": "pedestrian.moving", "description": ""}]
    categories = sorted({o["category"] for s in SCENES.values() for o in s["objects"].values()})
    t["category"] = [{"token": f"cat-{c}", "name": c, "description": ""} for c in categories]
    t["log"] = [{"token": "log-1", "logfile": "n015-2018-07-24-11-22-45+0800", "vehicle": "n015",
                 "date_captured": "2018-07-24", "location": "singapore-onenorth"}]
    for scene_index, (name, spec) in enumerate(SCENES.items()):
        scene_token = f"scene-token-{scene_index}"
        t["calibrated_sensor"] += [
            {"token": f"cs-lidar-{scene_index}", "sensor_token": "sensor-lidar", "translation": [0.94, 0.0, 1.84],
             "rotation": quat(-math.pi / 2), "camera_intrinsic": []},
            {"token": f"cs-cam-{scene_index}", "sensor_token": "sensor-cam", "translation": [1.7, 0.0, 1.5],
             "rotation": [0.5, -0.5, 0.5, -0.5], "camera_intrinsic": [[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]]}]
        samples = [f"sample-{scene_index}-{k}" for k in range(spec["n"])]
        t0 = T0 + scene_index * 60_000_000
        ego = spec["ego"]
        # tables are written out of time order, as nothing promises it
        for k in reversed(range(spec["n"])):
            ts = t0 + k * DT
            t["sample"].append({"token": samples[k], "timestamp": ts, "scene_token": scene_token,
                                "prev": samples[k - 1] if k else "", "next": samples[k + 1] if k + 1 < spec["n"] else ""})
            for channel, offset in (("lidar", 0), ("cam", 10_000)):
                pose = f"ego-{scene_index}-{k}-{channel}"
                when = ts + offset
                t["ego_pose"].append({"token": pose, "timestamp": when, "rotation": quat(ego["yaw"]),
                                      "translation": position(ego["start"], ego["speed"], ego["yaw"], (when - t0) / 1e6)})
                t["sample_data"].append({
                    "token": f"sd-{scene_index}-{k}-{channel}", "sample_token": samples[k], "ego_pose_token": pose,
                    "calibrated_sensor_token": f"cs-{channel}-{scene_index}", "timestamp": when,
                    "fileformat": "pcd" if channel == "lidar" else "jpg", "is_key_frame": True,
                    "height": 0 if channel == "lidar" else 900, "width": 0 if channel == "lidar" else 1600,
                    "filename": f"samples/{channel}/{name}-{k}", "prev": "", "next": ""})
            if k + 1 < spec["n"]:  # a lidar sweep between key frames, with its own pose
                sweep = ts + DT // 2
                t["ego_pose"].append({"token": f"ego-{scene_index}-{k}-sweep", "timestamp": sweep,
                                      "rotation": quat(ego["yaw"] + 0.3), "translation": [0.0, 0.0, 0.0]})
                t["sample_data"].append({
                    "token": f"sd-{scene_index}-{k}-sweep", "sample_token": samples[k],
                    "ego_pose_token": f"ego-{scene_index}-{k}-sweep", "calibrated_sensor_token": f"cs-lidar-{scene_index}",
                    "timestamp": sweep, "fileformat": "pcd", "is_key_frame": False, "height": 0, "width": 0,
                    "filename": f"sweeps/lidar/{name}-{k}", "prev": "", "next": ""})
        t["scene"].append({"token": scene_token, "name": name, "description": "hand-made", "log_token": "log-1",
                           "nbr_samples": spec["n"], "first_sample_token": samples[0], "last_sample_token": samples[-1]})
        for obj, o in spec["objects"].items():
            inst = f"inst-{obj}"
            anns = [f"ann-{obj}-{k}" for k in o["samples"]]
            t["instance"].append({"token": inst, "category_token": f"cat-{o['category']}", "nbr_annotations": len(anns),
                                  "first_annotation_token": anns[0], "last_annotation_token": anns[-1]})
            attr = "attr-parked" if o["speed"] == 0 else ("attr-walking" if "pedestrian" in o["category"] else "attr-moving")
            for j, k in enumerate(o["samples"]):
                t["sample_annotation"].append({
                    "token": anns[j], "sample_token": samples[k], "instance_token": inst,
                    "visibility_token": "4", "attribute_tokens": [attr],
                    "translation": position(o["start"], o["speed"], o["yaw"], k * DT / 1e6),
                    "size": o["size"], "rotation": quat(o["yaw"]), "prev": anns[j - 1] if j else "",
                    "next": anns[j + 1] if j + 1 < len(anns) else "", "num_lidar_pts": 40 - 5 * k, "num_radar_pts": k})
    for name, rows in t.items():
        (folder / f"{name}.json").write_text(json.dumps(rows, indent=1))
    return root


def results(root: Path, *, tracking: bool = False) -> dict:
    """A submission for the data set written under ``root``: each label as a predicted box,
    moved by 10 cm, with a score (and the ground-truth velocity)."""
    anns = json.loads(next(root.glob("*/sample_annotation.json")).read_text())
    instances = {i["token"]: i for i in json.loads(next(root.glob("*/instance.json")).read_text())}
    names = {"cat-vehicle.car": "car", "cat-vehicle.truck": "truck", "cat-human.pedestrian.adult": "pedestrian"}
    out: dict[str, list] = {}
    for i, a in enumerate(anns):
        kind = "tracking" if tracking else "detection"
        box = {"sample_token": a["sample_token"], "translation": [a["translation"][0] + 0.1, *a["translation"][1:]],
               "size": a["size"], "rotation": a["rotation"], "velocity": [0.0, 0.0],
               f"{kind}_name": names[instances[a["instance_token"]]["category_token"]],
               f"{kind}_score": round(0.5 + 0.4 * ((i * 7) % 10) / 10, 2), "attribute_name": ""}
        if tracking:
            box["tracking_id"] = a["instance_token"]
        out.setdefault(a["sample_token"], []).append(box)
    meta = {"use_camera": False, "use_lidar": True, "use_radar": False, "use_map": False, "use_external": False}
    return {"meta": meta, "results": out}
