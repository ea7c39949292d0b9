"""nuScenes and Lyft Level 5: the JSON tables of the data set, and detection or tracking
results in the nuScenes submission format.

The data set is a folder of JSON tables (``v1.0-mini/`` in nuScenes, ``train_data/`` in
Lyft Level 5), each a list of records keyed by ``token``: a ``scene`` is a run of
``sample`` s (annotated key frames, 2 Hz in nuScenes), each ``sample_data`` is one
sensor's reading and names the ``ego_pose`` of the car at its timestamp (microseconds), and
each ``sample_annotation`` is a 3-D box of an ``instance`` (an object followed through the
scene) of a ``category``. Boxes are in the **global frame** (the map's: metres, z up):
``translation`` is the box centre, ``size`` is ``[width, length, height]``, ``rotation`` a
quaternion ``[w, x, y, z]``.

Canonical tables
----------------
- one stream per scene (named by its ``name``, ``"scene-0061"``); frames are its samples in
  order of time, from 0; ``time`` is seconds since the scene's first sample;
- labels: ``x y z`` the translation, ``l w h`` = ``size[1], size[0], size[2]``, ``yaw`` the
  heading of the quaternion; ``track`` numbers the instance (``instance_token`` keeps the
  token); ``cls`` the category name as written (``vehicle.car``) and ``detection_name`` the
  nuScenes detection class it counts as (``car``; missing for categories the detection
  challenge ignores, and for Lyft's names, which are detection classes already);
- boxes stay in the global frame, as the data gives them: ``attrs["frame_3d"]`` says so (the
  key the KITTI readers set to their ego frame); :func:`~assay.io.to_ego_frame` expresses them
  in the car's frame;
- the car's pose at each frame is the ``ego_poses`` table (``stream, frame, time, x, y, z,
  yaw`` in the global frame), taken from the sample's ``LIDAR_TOP`` key frame (the sensor
  nuScenes times samples by; ``reference=`` names another).

Lyft Level 5 uses the same tables and fields; what differs and is handled here: the tables
folder's name (``train_data``: found, not assumed), its category names (``car``,
``pedestrian``, ``other_vehicle``, ...: known beside nuScenes' 23, and already its detection
classes, so ``detection_name`` stays missing), and the tables this reader treats as
optional (``visibility``, ``attribute``, ``log``): when one is absent or empty, the columns
it would give are left out rather than the read refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import validate_params
from ..exceptions import DataFileNotFoundError, DataFormatError
from ..tables import STRING, validate
from ._classes import UnknownClasses
from ._folders import absolute
from ._json import expect, is_num, load_json

__all__ = [
    "LYFT_CLASSES",
    "NUSCENES_CATEGORIES",
    "NUSCENES_DETECTION_CLASSES",
    "NuScenesTables",
    "WORLD_FRAME",
    "read_nuscenes",
]

#: What ``attrs["frame_3d"]`` says of boxes read from nuScenes / Lyft tables.
WORLD_FRAME = ("world: the data set's global (map) frame, x y z in metres, z up, (x, y, z) = "
               "box centre; the car's pose per frame is in the ego_poses table")

#: The 23 object categories of nuScenes (``category.json``).
NUSCENES_CATEGORIES = (
    "animal", "human.pedestrian.adult", "human.pedestrian.child",
    "human.pedestrian.construction_worker", "human.pedestrian.personal_mobility",
    "human.pedestrian.police_officer", "human.pedestrian.stroller",
    "human.pedestrian.wheelchair", "movable_object.barrier", "movable_object.debris",
    "movable_object.pushable_pullable", "movable_object.trafficcone",
    "static_object.bicycle_rack", "vehicle.bicycle", "vehicle.bus.bendy", "vehicle.bus.rigid",
    "vehicle.car", "vehicle.construction", "vehicle.emergency.ambulance",
    "vehicle.emergency.police", "vehicle.motorcycle", "vehicle.trailer", "vehicle.truck",
)
#: The 10 classes of the nuScenes detection and tracking challenges, each with the
#: categories that count as it (the devkit's mapping; other categories are not evaluated).
NUSCENES_DETECTION_CLASSES = {
    "car": ("vehicle.car",),
    "truck": ("vehicle.truck",),
    "bus": ("vehicle.bus.bendy", "vehicle.bus.rigid"),
    "trailer": ("vehicle.trailer",),
    "construction_vehicle": ("vehicle.construction",),
    "pedestrian": ("human.pedestrian.adult", "human.pedestrian.child",
                   "human.pedestrian.construction_worker", "human.pedestrian.police_officer"),
    "motorcycle": ("vehicle.motorcycle",),
    "bicycle": ("vehicle.bicycle",),
    "traffic_cone": ("movable_object.trafficcone",),
    "barrier": ("movable_object.barrier",),
}
#: The 9 classes of Lyft Level 5 (its category names and its detection classes).
LYFT_CLASSES = ("car", "pedestrian", "animal", "other_vehicle", "bus", "motorcycle", "truck",
                "emergency_vehicle", "bicycle")

_DETECTION_OF = {cat: det for det, cats in NUSCENES_DETECTION_CLASSES.items() for cat in cats}
_NEEDED = ("scene", "sample", "sample_data", "ego_pose", "calibrated_sensor", "sensor")
_LABEL_TABLES = ("sample_annotation", "instance", "category")


@dataclass(frozen=True)
class NuScenesTables:
    """What :func:`read_nuscenes` returns: ``observations`` (labels or a submission's boxes)
    and ``ego_poses``; unpacks as ``observations, ego_poses = read_nuscenes(...)``."""

    observations: pd.DataFrame
    ego_poses: pd.DataFrame

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.observations, self.ego_poses))


def yaw_of(q: np.ndarray) -> np.ndarray:
    """Heading (rotation about z, radians in [-pi, pi]) of quaternions ``[w, x, y, z]``
    (rows), normalised first."""
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def _tables_folder(root: Path, version: str | None) -> Path:
    if version is not None:
        folder = root / version
        if not (folder / "sample.json").is_file():
            raise DataFileNotFoundError(
                f"{folder}: no sample.json (expected the nuScenes / Lyft JSON tables of version "
                f"{version!r} under {root})."
            )
        return folder
    if (root / "sample.json").is_file():
        return root
    found = sorted(d for d in root.iterdir() if d.is_dir() and (d / "sample.json").is_file()) \
        if root.is_dir() else []
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataFileNotFoundError(
            f"{root}: no sample.json in this folder or a folder in it (expected the JSON tables "
            "of a nuScenes or Lyft Level 5 data set, e.g. ROOT/v1.0-mini/sample.json)."
        )
    raise DataFormatError(
        f"holds the tables of {len(found)} versions ({', '.join(d.name for d in found)}); pass "
        "version= the one to read.", path=root,
    )


def _table(folder: Path, name: str, fields: dict[str, str], *, required: bool = True) -> list[dict] | None:
    """A table as a list of records, each checked to have ``fields`` (name to a kind:
    ``str``, ``num``, ``vec3``, ``quat``, ``int``, ``strlist``)."""
    path = folder / f"{name}.json"
    if not path.is_file():
        if not required:
            return None
        raise DataFileNotFoundError(f"{path}: no such file (expected the {name} table).")
    rows = load_json(path, f"the {name} table")
    expect(isinstance(rows, list), path, "top level", "a JSON list of records", type(rows).__name__)
    for i, row in enumerate(rows):
        expect(isinstance(row, dict), path, f"[{i}]", "a JSON object", row)
        for field, kind in fields.items():
            v = row.get(field)
            ok = {
                "str": isinstance(v, str),
                "num": is_num(v),
                "int": isinstance(v, int) and not isinstance(v, bool),
                "vec3": isinstance(v, list) and len(v) == 3 and all(is_num(x) for x in v),
                "size": isinstance(v, list) and len(v) == 3 and all(is_num(x) and x >= 0 for x in v),
                "quat": isinstance(v, list) and len(v) == 4 and all(is_num(x) for x in v)
                        and any(x != 0 for x in v),
                "strlist": isinstance(v, list) and all(isinstance(x, str) for x in v),
                "bool": isinstance(v, bool),
            }[kind]
            expect(ok, path, f"[{i}].{field}", _KIND_TEXT[kind], v)
    return rows


_KIND_TEXT = {"str": "a string", "num": "a finite number", "int": "an integer",
              "vec3": "3 finite numbers [x, y, z]", "size": "3 sizes >= 0 [width, length, height]",
              "quat": "a quaternion of 4 finite numbers [w, x, y, z], not all 0",
              "strlist": "a list of strings", "bool": "true or false"}


def _index(rows: list[dict], path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for i, row in enumerate(rows):
        token = row.get("token")
        expect(isinstance(token, str), path, f"[{i}].token", "a string token", token)
        expect(token not in out, path, f"[{i}].token", "a token used once", token)
        out[token] = row
    return out


def _ref(table: dict, token: Any, path: Path, where: str, what: str) -> dict:
    expect(token in table, path, where, f"the token of a record of the {what} table", token)
    return table[token]


@validate_params({"root": ["path"], "version": [str, None], "results": ["path", None],
                  "source": [str, None], "reference": [str]})
def read_nuscenes(
    root: str | Path,
    *,
    version: str | None = None,
    results: str | Path | None = None,
    source: str | None = None,
    reference: str = "LIDAR_TOP",
) -> NuScenesTables:
    """Read a nuScenes / Lyft Level 5 data set's labels, or a submission's boxes, and the ego
    poses, as canonical tables (see this module's notes for the layout and the conversion).

    Parameters
    ----------
    root : str or Path
        The data root (holding ``v1.0-mini/`` or ``train_data/``...) or the tables folder.
    version : str, optional
        The tables folder under ``root`` (``"v1.0-mini"``, ``"v1.0-trainval"``); default: the
        only folder under ``root`` with a ``sample.json``, or ``root`` itself.
    results : str or Path, optional
        A submission JSON, ``{"meta": ..., "results": {sample_token: [box, ...]}}``, each box
        with ``translation``, ``size``, ``rotation`` and ``detection_name`` /
        ``detection_score`` (detection) or ``tracking_name`` / ``tracking_score`` /
        ``tracking_id`` (tracking). Then the observations are these boxes (``score`` from
        the file, ``track`` numbering ``tracking_id``, ``vx vy`` from ``velocity``), not
        the labels.
    source : str, optional
        Default ``"labels"``, or ``"model"`` for results.
    reference : str, default "LIDAR_TOP"
        The sensor channel whose key frame gives each sample's ego pose.

    Returns
    -------
    NuScenesTables
        ``observations`` (validated; 3-D boxes in the global frame, ``attrs["frame_3d"] =
        WORLD_FRAME``; attributes ``instance_token``, ``sample_token``, ``detection_name``,
        ``num_lidar_pts``, ``num_radar_pts``, ``visibility`` and ``attributes`` where the
        tables have them) and ``ego_poses`` (validated, one row per sample). Both carry
        ``attrs["sources"]`` (stream to the tables folder), ``attrs["frame_rates"]`` (stream
        to samples per second, from the median time step) and ``attrs["locations"]`` (stream
        to the log's location, when there is a ``log`` table).

    Raises
    ------
    DataFormatError
        Naming the table file and the record (``[12].rotation``) of the first bad value or
        dangling token.
    DataFileNotFoundError
        A table the read needs is missing.

    Examples
    --------
    >>> import json, math, pathlib, tempfile
    >>> from assay.io import read_nuscenes
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "v1.0-mini").mkdir()
    >>> def table(name, *rows):
    ...     _ = (root / "v1.0-mini" / f"{name}.json").write_text(json.dumps(list(rows)))
    >>> turn = [math.cos(0.25), 0, 0, math.sin(0.25)]  # a heading of 0.5 rad
    >>> table("scene", {"token": "sc", "name": "scene-0001", "log_token": "lg"})
    >>> table("log", {"token": "lg", "location": "boston-seaport"})
    >>> table("sample", {"token": "s0", "scene_token": "sc", "timestamp": 1_000_000},
    ...                 {"token": "s1", "scene_token": "sc", "timestamp": 1_500_000})
    >>> table("sensor", {"token": "li", "channel": "LIDAR_TOP", "modality": "lidar"})
    >>> table("calibrated_sensor", {"token": "cs", "sensor_token": "li"})
    >>> table("ego_pose", *[{"token": f"e{i}", "timestamp": t, "translation": [10 + 4 * i, 5, 0],
    ...                      "rotation": [1, 0, 0, 0]} for i, t in enumerate((1_000_000, 1_500_000))])
    >>> table("sample_data", *[{"token": f"d{i}", "sample_token": f"s{i}", "ego_pose_token": f"e{i}",
    ...                         "calibrated_sensor_token": "cs", "timestamp": t, "is_key_frame": True}
    ...                        for i, t in enumerate((1_000_000, 1_500_000))])
    >>> table("category", {"token": "ca", "name": "vehicle.car"})
    >>> table("instance", {"token": "in", "category_token": "ca"})
    >>> table("sample_annotation", {"token": "a0", "sample_token": "s1", "instance_token": "in",
    ...       "translation": [30, 8, 1], "size": [1.9, 4.6, 1.6], "rotation": turn})
    >>> obs, poses = read_nuscenes(root)
    >>> obs[["stream", "frame", "time", "track", "cls", "detection_name"]]
           stream  frame  time  track          cls detection_name
    0  scene-0001      1   0.5      0  vehicle.car            car
    >>> obs[["x", "y", "z", "l", "w", "h", "yaw"]]
          x    y    z    l    w    h  yaw
    0  30.0  8.0  1.0  4.6  1.9  1.6  0.5
    >>> poses
           stream  frame  time     x    y    z  yaw
    0  scene-0001      0   0.0  10.0  5.0  0.0  0.0
    1  scene-0001      1   0.5  14.0  5.0  0.0  0.0
    """
    folder = _tables_folder(Path(root), version)
    t = {name: _table(folder, name, fields) for name, fields in (
        ("scene", {"token": "str", "name": "str"}),
        ("sample", {"token": "str", "scene_token": "str", "timestamp": "num"}),
        ("sample_data", {"token": "str", "sample_token": "str", "ego_pose_token": "str",
                         "calibrated_sensor_token": "str", "is_key_frame": "bool"}),
        ("ego_pose", {"token": "str", "translation": "vec3", "rotation": "quat", "timestamp": "num"}),
        ("calibrated_sensor", {"token": "str", "sensor_token": "str"}),
        ("sensor", {"token": "str", "channel": "str"}),
    )}
    path = {name: folder / f"{name}.json" for name in (*_NEEDED, *_LABEL_TABLES, "log")}
    scenes = _index(t["scene"], path["scene"])
    samples = _index(t["sample"], path["sample"])
    logs = _table(folder, "log", {"token": "str"}, required=False)

    # frames: each scene's samples in order of time
    by_scene: dict[str, list[dict]] = {}
    for i, s in enumerate(t["sample"]):
        _ref(scenes, s["scene_token"], path["sample"], f"[{i}].scene_token", "scene")
        by_scene.setdefault(s["scene_token"], []).append(s)
    where: dict[str, tuple[str, int, float]] = {}  # sample token -> (stream, frame, time)
    rates, sources, locations = {}, {}, {}
    log_index = _index(logs, path["log"]) if logs is not None else {}
    for token, scene in sorted(scenes.items(), key=lambda kv: kv[1]["name"]):
        name = scene["name"]
        if name in sources:
            raise DataFormatError(f"two scenes are named {name!r}; a stream is one scene.", path=path["scene"])
        members = sorted(by_scene.get(token, []), key=lambda s: s["timestamp"])
        stamps = np.array([s["timestamp"] for s in members], dtype=np.float64)
        if len(stamps) > 1 and np.any(np.diff(stamps) <= 0):
            k = int(np.argmax(np.diff(stamps) <= 0))
            raise DataFormatError(
                f"samples {members[k]['token']!r} and {members[k + 1]['token']!r} of scene {name!r} "
                "have the same timestamp; frames need an order in time.", path=path["sample"])
        for frame, s in enumerate(members):
            where[s["token"]] = (name, frame, (s["timestamp"] - stamps[0]) / 1e6)
        sources[name] = absolute(folder)
        if len(stamps) > 1:
            rates[name] = float(1e6 / np.median(np.diff(stamps)))
        log = log_index.get(scene.get("log_token"))
        if log is not None and isinstance(log.get("location"), str):
            locations[name] = log["location"]

    poses = _ego_poses(t, path, where, samples, reference)
    attrs = {"sources": sources, "frame_rates": rates, "source_file": str(folder)}
    if locations:
        attrs["locations"] = locations
    if results is None:
        obs = _labels(folder, path, where, source or "labels")
    else:
        obs = _results(Path(results), where, source or "model")
    obs.attrs.update(attrs, frame_3d=WORLD_FRAME)
    poses.attrs.update(attrs)
    return NuScenesTables(validate(obs, "observations", name=str(results or folder)),
                          validate(poses, "ego_poses", name=str(path["ego_pose"])))


def _ego_poses(t: dict, path: dict, where: dict, samples: dict, reference: str) -> pd.DataFrame:
    channel_of = {s["token"]: s["channel"] for s in t["sensor"]}
    sensor_of = {}
    for i, c in enumerate(t["calibrated_sensor"]):
        sensor_of[c["token"]] = _ref(channel_of, c["sensor_token"], path["calibrated_sensor"],
                                     f"[{i}].sensor_token", "sensor")
    pose_index = _index(t["ego_pose"], path["ego_pose"])
    pose_of: dict[str, dict] = {}
    for i, d in enumerate(t["sample_data"]):
        channel = _ref(sensor_of, d["calibrated_sensor_token"], path["sample_data"],
                       f"[{i}].calibrated_sensor_token", "calibrated_sensor")
        if not d["is_key_frame"] or channel != reference:
            continue
        _ref(samples, d["sample_token"], path["sample_data"], f"[{i}].sample_token", "sample")
        expect(d["sample_token"] not in pose_of, path["sample_data"], f"[{i}]",
               f"one {reference} key frame per sample", d["sample_token"])
        pose_of[d["sample_token"]] = _ref(pose_index, d["ego_pose_token"], path["sample_data"],
                                          f"[{i}].ego_pose_token", "ego_pose")
    missing = [s for s in where if s not in pose_of]
    if missing:
        channels = sorted(set(sensor_of.values()))
        raise DataFormatError(
            f"sample {missing[0]!r} ({len(missing)} of {len(where)} samples) has no {reference} key "
            f"frame to take the ego pose from; pass reference= one of the channels "
            f"({', '.join(channels)}).", path=path["sample_data"],
        )
    tokens = list(where)
    pose = [pose_of[s] for s in tokens]
    xyz = np.array([p["translation"] for p in pose], dtype=np.float64).reshape(-1, 3)
    return pd.DataFrame({
        "stream": pd.array([where[s][0] for s in tokens], dtype=STRING),
        "frame": np.array([where[s][1] for s in tokens], dtype="int64"),
        "time": np.array([where[s][2] for s in tokens], dtype=np.float64),
        "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
        "yaw": yaw_of(np.array([p["rotation"] for p in pose], dtype=np.float64)),
    }).sort_values(["stream", "frame"], ignore_index=True)


def _boxes(rows: list[dict], where: dict, sample_tokens: list[str], cls: list[str], score: np.ndarray,
           track: pd.arrays.IntegerArray, source: str) -> pd.DataFrame:
    n = len(rows)
    xyz = np.array([r["translation"] for r in rows], dtype=np.float64).reshape(n, 3)
    size = np.array([r["size"] for r in rows], dtype=np.float64).reshape(n, 3)
    return pd.DataFrame({
        "stream": pd.array([where[s][0] for s in sample_tokens], dtype=STRING),
        "frame": np.array([where[s][1] for s in sample_tokens], dtype="int64"),
        "time": np.array([where[s][2] for s in sample_tokens], dtype=np.float64),
        "obs_id": np.arange(n, dtype="int64"),
        "track": track,
        "cls": pd.array(cls, dtype=STRING),
        "score": score,
        "source": pd.array([source] * n, dtype=STRING),
        "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
        "l": size[:, 1], "w": size[:, 0], "h": size[:, 2],
        "yaw": yaw_of(np.array([r["rotation"] for r in rows], dtype=np.float64)) if n else np.empty(0),
        "sample_token": pd.array(sample_tokens, dtype=STRING),
    })


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["stream", "frame"], kind="stable", ignore_index=True)
    df["obs_id"] = np.arange(len(df), dtype="int64")
    return df


def _labels(folder: Path, path: dict, where: dict, source: str) -> pd.DataFrame:
    anns = _table(folder, "sample_annotation", {
        "token": "str", "sample_token": "str", "instance_token": "str", "translation": "vec3",
        "size": "size", "rotation": "quat"})
    instances = _table(folder, "instance", {"token": "str", "category_token": "str"})
    categories = _index(_table(folder, "category", {"token": "str", "name": "str"}), path["category"])
    inst_index = _index(instances, path["instance"])
    track_of = {tok: i for i, tok in enumerate(inst_index)}
    cat_of = {tok: _ref(categories, inst["category_token"], path["instance"], f"[{i}].category_token",
                        "category")["name"]
              for i, (tok, inst) in enumerate(inst_index.items())}
    visibility = _table(folder, "visibility", {"token": "str"}, required=False)
    attribute = _table(folder, "attribute", {"token": "str", "name": "str"}, required=False)
    level_of = {v["token"]: str(v.get("level")) for v in visibility or []}
    attr_of = {a["token"]: a["name"] for a in attribute or []}
    cls, tokens, samples = [], [], []
    for i, a in enumerate(anns):
        _ref(where, a["sample_token"], path["sample_annotation"], f"[{i}].sample_token", "sample")
        _ref(inst_index, a["instance_token"], path["sample_annotation"], f"[{i}].instance_token", "instance")
        cls.append(cat_of[a["instance_token"]])
        tokens.append(a["instance_token"])
        samples.append(a["sample_token"])
    n = len(anns)
    df = _boxes(anns, where, samples, cls, np.full(n, np.nan),
                pd.array([track_of[s] for s in tokens], dtype="Int64"), source)
    df["detection_name"] = pd.array([_DETECTION_OF.get(c) for c in cls], dtype=STRING)
    df["instance_token"] = pd.array(tokens, dtype=STRING)
    df["ann_token"] = pd.array([a["token"] for a in anns], dtype=STRING)
    for field in ("num_lidar_pts", "num_radar_pts"):
        if n and all(isinstance(a.get(field), int) for a in anns):
            df[field] = np.array([a[field] for a in anns], dtype="int64")
    if visibility:
        df["visibility"] = pd.array([level_of.get(a.get("visibility_token")) for a in anns], dtype=STRING)
    if attribute:
        df["attributes"] = pd.array([",".join(attr_of.get(t, t) for t in a.get("attribute_tokens") or [])
                                     for a in anns], dtype=STRING)
    unknown = UnknownClasses((*NUSCENES_CATEGORIES, *LYFT_CLASSES), "nuScenes and Lyft categories")
    unknown.add(np.array(cls, dtype=object), path["sample_annotation"], lambda row: f"record [{row}]")
    unknown.warn("read_nuscenes", stacklevel=5)
    return _sorted(df)


def _results(p: Path, where: dict, source: str) -> pd.DataFrame:
    doc = load_json(p, "a nuScenes results JSON")
    expect(isinstance(doc, dict) and isinstance(doc.get("results"), dict), p, "top level",
           'an object {"meta": ..., "results": {sample_token: [box, ...]}}',
           type(doc).__name__ if not isinstance(doc, dict) else sorted(doc))
    rows, samples, names, scores, track_ids, velocity, locs = [], [], [], [], [], [], []
    tracking: bool | None = None
    for token, boxes in doc["results"].items():
        at = f"results[{token!r}]"
        expect(token in where, p, at, "the token of a sample of the data set", token)
        expect(isinstance(boxes, list), p, at, "a list of boxes", boxes)
        for j, b in enumerate(boxes):
            w = f"{at}[{j}]"
            expect(isinstance(b, dict), p, w, "a box object", b)
            is_tracking = "tracking_name" in b
            if tracking is None:
                tracking = is_tracking
            expect(is_tracking == tracking, p, w, f"a {'tracking' if tracking else 'detection'} box "
                   "like the boxes before it", sorted(b))
            kind = "tracking" if tracking else "detection"
            for field, check, text in (
                ("translation", lambda v: isinstance(v, list) and len(v) == 3 and all(map(is_num, v)),
                 "3 finite numbers [x, y, z]"),
                ("size", lambda v: isinstance(v, list) and len(v) == 3 and all(is_num(x) and x >= 0 for x in v),
                 "3 sizes >= 0 [width, length, height]"),
                ("rotation", lambda v: isinstance(v, list) and len(v) == 4 and all(map(is_num, v))
                 and any(x != 0 for x in v), "a quaternion of 4 finite numbers [w, x, y, z], not all 0"),
                (f"{kind}_name", lambda v: isinstance(v, str) and v != "", "a class name"),
                (f"{kind}_score", is_num, "a finite score"),
            ):
                expect(check(b.get(field)), p, f"{w}.{field}", text, b.get(field))
            if tracking:
                tid = b.get("tracking_id")
                expect(isinstance(tid, (str, int)) and not isinstance(tid, bool), p, f"{w}.tracking_id",
                       "a track id (string or integer)", tid)
                track_ids.append(str(tid))
            v = b.get("velocity")
            velocity.append(v[:2] if isinstance(v, list) and len(v) >= 2 and all(map(is_num, v[:2]))
                            else [np.nan, np.nan])
            rows.append(b)
            locs.append(w)
            samples.append(token)
            names.append(b[f"{kind}_name"])
            scores.append(float(b[f"{kind}_score"]))
    n = len(rows)
    if tracking:
        codes = {tid: k for k, tid in enumerate(dict.fromkeys(track_ids))}
        track = pd.array([codes[t] for t in track_ids], dtype="Int64")
    else:
        track = pd.array([pd.NA] * n, dtype="Int64")
    df = _boxes(rows, where, samples, names, np.array(scores, dtype=np.float64), track, source)
    vel = np.array(velocity, dtype=np.float64).reshape(n, 2)
    df["vx"], df["vy"] = vel[:, 0], vel[:, 1]
    if tracking:
        df["tracking_id"] = pd.array(track_ids, dtype=STRING)
    df["attribute_name"] = pd.array([b.get("attribute_name") if isinstance(b.get("attribute_name"), str)
                                     else None for b in rows], dtype=STRING)
    unknown = UnknownClasses((*NUSCENES_DETECTION_CLASSES, *LYFT_CLASSES),
                             "nuScenes and Lyft detection classes")
    unknown.add(np.array(names, dtype=object), p, lambda row: locs[row])
    unknown.warn("read_nuscenes", stacklevel=5)
    return _sorted(df)
