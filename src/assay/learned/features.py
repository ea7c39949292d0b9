"""Features over observations, transitions between consecutive observations of a track, and
whole tracks.

A :class:`Feature` is a named function with a *level*:

- ``"obs"``: one value per observation (box volume, area, height, aspect ratio, score);
- ``"transition"``: one value per pair of consecutive observations of a track (speed,
  acceleration, yaw rate, IoU with the previous box), always per second of real time;
- ``"track"``: one value per track (duration in seconds, number of observations).

Every feature also declares the coordinate *frame* it needs: ``"any"`` for what does not
depend on where the boxes are measured from (sizes, shapes, durations, scores), ``"world"``
for motion (speed, acceleration, yaw rate, IoU with the previous box), which means what it
says only when positions are fixed in the world. 3-D boxes in the moving car's frame (KITTI's,
a detector's on the car) are not: there a parked car moves at the car's own speed. Given the
car's poses (``ego_poses``, :data:`assay.tables.EGO_POSE_COLUMNS`), :func:`compute_features`
measures motion in the world frame (:func:`assay.io.to_world_frame`); without them, motion
features are left out of every default, and asking for them by name issues an
:class:`~assay.exceptions.AssayWarning` that says why. Image boxes move in the image: a fixed
camera's image is a fixed frame, a moving camera's is not (assay cannot tell them apart), so
2-D motion keeps its place in the defaults and its meaning is the user's call.

:func:`compute_features` evaluates a list of features over an observations table whose
``track`` column is filled (see :func:`assay.tracking.associate`) and returns a
:class:`FeatureValues`: one row per track plus every obs / transition value tagged with its
track, ready for a prior to fit or score. Users add features with the :func:`feature`
decorator.

Examples
--------
A box moving 1 m per frame at 10 frames per second moves at 10 m/s:

>>> import pandas as pd
>>> from assay.tables import as_observations
>>> from assay.learned import compute_features
>>> obs = as_observations(pd.DataFrame({
...     "frame": [0, 1, 2], "track": 7, "cls": "Car",
...     "x": [0.0, 1.0, 2.0], "y": 0.0, "z": 0.0, "l": 4.0, "w": 2.0, "h": 1.5, "yaw": 0.0}),
...     stream="s", source="labels", fps=10)
>>> obs.attrs["frame_3d"] = "world: x y z fixed to the ground"  # else: the car's frame
>>> fv = compute_features(obs, ["speed", "volume", "duration"])
>>> fv.values["speed"][1]
array([10., 10.])
>>> fv.tracks[["track", "cls", "n_obs", "volume", "speed", "duration"]]
   track  cls  n_obs  volume  speed  duration
0      7  Car      3    12.0   10.0       0.2
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Options, validate_params
from ..exceptions import AssayWarning, InvalidParameterError, SchemaError
from ..geometry import _kernels
from ..tables import BOX2D, validate

__all__ = [
    "BUILTIN_FEATURES",
    "MOTION_FEATURES",
    "Feature",
    "FeatureValues",
    "compute_features",
    "default_features",
    "feature",
    "motion_frame",
    "resolve_features",
]

LEVELS = ("obs", "transition", "track")
FRAMES = ("any", "world")
_BEV = ("x", "y", "l", "w", "yaw")


@dataclass(frozen=True)
class Feature:
    """A named feature function.

    Parameters
    ----------
    name : str
        Column name of the feature.
    func : callable
        ``level="obs"``: ``func(obs) -> array`` of one value per row of ``obs`` (a
        DataFrame sorted by stream, source, track and time, with a ``box`` attribute in
        ``obs.attrs``: ``"3d"`` or ``"2d"``). ``level="transition"``: ``func(prev, cur, dt)``
        where ``prev`` and ``cur`` are DataFrames of aligned consecutive observations and
        ``dt`` the seconds between them (> 0). ``level="track"``: ``func(obs, track_code)``
        returning one value per track, ``track_code`` numbering the tracks 0.. in order.
        Return NaN where the feature is undefined.
    level : {"obs", "transition", "track"}
    transform : {"none", "log"}
        Scale its density is estimated on (``"log"`` for positive, skewed features).
    unit : str
        For evidence and documentation (``"m/s"``, ``"m^3"``, ...).
    offset : float
        With ``transform="log"``, the density is estimated on ``log(value + offset)``; give
        features that can be exactly 0 an offset of the size of their resolution.
    frame : {"any", "world"}
        The coordinate frame the feature needs: ``"any"`` when its value does not depend on
        where the boxes are measured from (size, shape, duration, score); ``"world"`` for
        motion, which is only meaningful in a frame fixed to the world (see the module
        docstring): left out of defaults, and warned about when asked for, on 3-D boxes in a
        moving car's frame without its poses.
    """

    name: str
    func: Callable[..., Any] = field(repr=False)
    level: str = "obs"
    transform: str = "none"
    unit: str = ""
    offset: float = 0.0
    frame: str = "any"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise InvalidParameterError(
                f"The 'level' parameter of Feature must be one of {LEVELS}. Got {self.level!r}."
            )
        if self.transform not in ("none", "log"):
            raise InvalidParameterError(
                f"The 'transform' parameter of Feature must be one of ('none', 'log'). Got {self.transform!r}."
            )
        if self.frame not in FRAMES:
            raise InvalidParameterError(
                f"The 'frame' parameter of Feature must be one of {FRAMES}. Got {self.frame!r}."
            )


def feature(
    level: str = "obs", *, name: str | None = None, transform: str = "none", unit: str = "",
    offset: float = 0.0, frame: str = "any",
) -> Callable[[Callable[..., Any]], Feature]:
    """Turn a function into a :class:`Feature` (a decorator).

    Examples
    --------
    >>> import numpy as np
    >>> from assay.learned import feature
    >>> @feature("obs", transform="log", unit="m^2")
    ... def footprint(obs):
    ...     return obs["l"].to_numpy() * obs["w"].to_numpy()
    >>> footprint.name, footprint.level, footprint.frame
    ('footprint', 'obs', 'any')
    """

    def wrap(func: Callable[..., Any]) -> Feature:
        return Feature(name or func.__name__, func, level, transform, unit, offset, frame)

    return wrap


# ---------------------------------------------------------------- built-in functions


def _is3d(obs: pd.DataFrame) -> bool:
    return obs.attrs.get("box") == "3d"


def _col(obs: pd.DataFrame, c: str) -> np.ndarray:
    return obs[c].to_numpy(dtype=np.float64, na_value=np.nan)


def _volume(obs: pd.DataFrame) -> np.ndarray:
    if _is3d(obs):
        return _col(obs, "l") * _col(obs, "w") * _col(obs, "h")
    return np.full(len(obs), np.nan)


def _area(obs: pd.DataFrame) -> np.ndarray:
    if all(c in obs.columns for c in BOX2D):
        return (_col(obs, "x2") - _col(obs, "x1")) * (_col(obs, "y2") - _col(obs, "y1"))
    return np.full(len(obs), np.nan)


def _height(obs: pd.DataFrame) -> np.ndarray:
    if _is3d(obs):
        return _col(obs, "h")
    return _col(obs, "y2") - _col(obs, "y1")


def _aspect(obs: pd.DataFrame) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if _is3d(obs):
            r = _col(obs, "l") / _col(obs, "w")
        else:
            r = (_col(obs, "x2") - _col(obs, "x1")) / (_col(obs, "y2") - _col(obs, "y1"))
    return np.where(np.isfinite(r), r, np.nan)


def _score(obs: pd.DataFrame) -> np.ndarray:
    if "score" not in obs.columns:
        return np.full(len(obs), np.nan)
    return _col(obs, "score")


def _centre(obs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and a length scale: ground-plane metres (3-D) or pixels over box height (2-D)."""
    if _is3d(obs):
        return _col(obs, "x"), _col(obs, "y"), np.ones(len(obs))
    cx = 0.5 * (_col(obs, "x1") + _col(obs, "x2"))
    cy = 0.5 * (_col(obs, "y1") + _col(obs, "y2"))
    return cx, cy, np.maximum(_col(obs, "y2") - _col(obs, "y1"), 1e-9)


def _velocity(prev: pd.DataFrame, cur: pd.DataFrame, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    px, py, ps = _centre(prev)
    cx, cy, cs = _centre(cur)
    scale = 0.5 * (ps + cs)
    return (cx - px) / scale / dt, (cy - py) / scale / dt


def _speed(prev: pd.DataFrame, cur: pd.DataFrame, dt: np.ndarray) -> np.ndarray:
    vx, vy = _velocity(prev, cur, dt)
    return np.hypot(vx, vy)


def _yaw_rate(prev: pd.DataFrame, cur: pd.DataFrame, dt: np.ndarray) -> np.ndarray:
    if not _is3d(cur):
        return np.full(len(cur), np.nan)
    d = _col(cur, "yaw") - _col(prev, "yaw")
    return np.abs((d + np.pi) % (2 * np.pi) - np.pi) / dt


def _iou_prev(prev: pd.DataFrame, cur: pd.DataFrame, dt: np.ndarray) -> np.ndarray:
    if _is3d(cur):
        a = np.ascontiguousarray(prev[list(_BEV)].to_numpy(np.float64))
        b = np.ascontiguousarray(cur[list(_BEV)].to_numpy(np.float64))
        return _kernels.iou_bev_paired(a, b)
    a = np.ascontiguousarray(prev[list(BOX2D)].to_numpy(np.float64))
    b = np.ascontiguousarray(cur[list(BOX2D)].to_numpy(np.float64))
    return _kernels.iou_2d_paired(a, b)


def _duration(obs: pd.DataFrame, code: np.ndarray) -> np.ndarray:
    t = obs["time"].to_numpy(np.float64)
    n = int(code.max()) + 1 if code.size else 0
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, code, t)
    np.maximum.at(last, code, t)
    return last - first


def _n_obs(obs: pd.DataFrame, code: np.ndarray) -> np.ndarray:
    n = int(code.max()) + 1 if code.size else 0
    return np.bincount(code, minlength=n).astype(np.float64)


def _acceleration(prev: pd.DataFrame, cur: pd.DataFrame, dt: np.ndarray) -> np.ndarray:
    """|change of velocity| / time between the midpoints of two consecutive transitions,
    given at the second one (NaN where a transition has no predecessor in its track: the
    observation it starts from must be where the previous one ended)."""
    vx, vy = _velocity(prev, cur, dt)
    out = np.full(len(cur), np.nan)
    if len(cur) < 2:
        return out
    oid_prev = prev["obs_id"].to_numpy()
    i = np.flatnonzero(oid_prev[1:] == cur["obs_id"].to_numpy()[:-1])
    span = 0.5 * (dt[i] + dt[i + 1])
    out[i + 1] = np.hypot(vx[i + 1] - vx[i], vy[i + 1] - vy[i]) / span
    return out


BUILTIN_FEATURES: dict[str, Feature] = {
    f.name: f
    for f in (
        Feature("volume", _volume, "obs", "log", "m^3"),
        Feature("area", _area, "obs", "log", "px^2"),
        Feature("height", _height, "obs", "log", "m (3-D) or px (2-D)"),
        Feature("aspect", _aspect, "obs", "log", "length/width (3-D) or width/height (2-D)"),
        Feature("score", _score, "obs", "none", "model confidence"),
        Feature("speed", _speed, "transition", "none", "m/s (3-D) or box heights/s (2-D)",
                frame="world"),
        Feature("acceleration", _acceleration, "transition", "log",
                "m/s^2 (3-D) or box heights/s^2 (2-D)", 0.1, "world"),
        Feature("yaw_rate", _yaw_rate, "transition", "log", "rad/s", 0.01, "world"),
        Feature("iou_prev", _iou_prev, "transition", "none", "IoU with the previous box",
                frame="world"),
        Feature("duration", _duration, "track", "log", "s", 0.1),
        Feature("n_obs", _n_obs, "track", "log", "observations"),
    )
}


#: The built-in features that describe how a track moves (``frame="world"``).
MOTION_FEATURES = tuple(n for n, f in BUILTIN_FEATURES.items() if f.frame == "world")


def default_features(box: str = "3d", *, motion: bool = True) -> list[str]:
    """Names of the default features for 3-D (``"3d"``) or 2-D (``"2d"``) boxes.

    Parameters
    ----------
    box : {"3d", "2d"}, default "3d"
        Box kind the features use.
    motion : bool, default True
        Include the motion features (``speed``, ``iou_prev``). Without them the features
        are the ones that do not depend on how the sensor moves: box size, shape and track
        duration. The estimators take motion out themselves when it would be measured in a
        moving car's frame (see :func:`motion_frame`).

    Returns
    -------
    list of str
        The paper's box size, velocity and track length, plus shape and the IoU with the
        previous box. ``acceleration`` and ``yaw_rate`` are built in but not default: on
        detector output they measure the jitter of the boxes more than the motion of the
        objects.

    Examples
    --------
    >>> from assay.learned import default_features
    >>> default_features("3d")
    ['volume', 'aspect', 'speed', 'iou_prev', 'duration']
    >>> default_features("2d", motion=False)
    ['area', 'aspect', 'duration']
    """
    size = "volume" if box == "3d" else "area"
    names = [size, "aspect", "speed", "iou_prev", "duration"]
    return names if motion else [f for f in names if f not in MOTION_FEATURES]


def resolve_features(features: Iterable[str | Feature] | None, box: str = "3d") -> list[Feature]:
    """Feature objects from names of built-ins and/or :class:`Feature` objects."""
    items = default_features(box) if features is None else list(features)
    out: list[Feature] = []
    for f in items:
        if isinstance(f, Feature):
            out.append(f)
        elif isinstance(f, str) and f in BUILTIN_FEATURES:
            out.append(BUILTIN_FEATURES[f])
        else:
            raise InvalidParameterError(
                f"Unknown feature {f!r}: pass a built-in name ({', '.join(BUILTIN_FEATURES)}) "
                "or an assay.learned.Feature."
            )
    names = [f.name for f in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InvalidParameterError(f"Feature names must be unique; {sorted(dup)} repeat.")
    return out


def box_kind(obs: pd.DataFrame, box: str = "auto") -> str:
    """``"3d"`` when every row has a 3-D box (and ``box`` allows it), else ``"2d"``."""
    has3 = all(c in obs.columns for c in ("x", "y", "z", "l", "w", "h", "yaw")) and (
        len(obs) == 0 or not obs[["x", "y", "l", "w", "h"]].isna().any(axis=None)
    )
    has2 = all(c in obs.columns for c in BOX2D) and (
        len(obs) == 0 or not obs[list(BOX2D)].isna().any(axis=None)
    )
    if box == "3d" or (box in ("auto", "bev") and has3):
        if not has3:
            raise SchemaError("3-D features need every observation to have x, y, z, l, w, h, yaw.")
        return "3d"
    if not has2:
        raise SchemaError(
            "features need boxes: every observation needs a 3-D box (x, y, z, l, w, h, yaw) or "
            "a 2-D box (x1, y1, x2, y2)."
        )
    return "2d"


def motion_frame(observations: pd.DataFrame, box: str = "3d", ego_poses: pd.DataFrame | None = None) -> str:
    """The frame motion features of ``observations`` are measured in.

    Parameters
    ----------
    observations : pandas.DataFrame
        Canonical observations; ``attrs["frame_3d"]`` says where their 3-D boxes are
        (``"world: ..."`` from :func:`~assay.io.read_nuscenes`, ``"ego: ..."`` from the
        KITTI readers). Without it, 3-D boxes are taken to be in the ego frame, as the
        canonical schema documents them.
    box : {"3d", "2d"}
        The box kind the features use.
    ego_poses : pandas.DataFrame, optional
        The car's pose per frame: ego-frame boxes are then placed in the world.

    Returns
    -------
    str
        ``"world"`` (3-D boxes in the world frame, or ego-frame boxes with poses to put
        them there), ``"ego"`` (3-D boxes in a moving car's frame, no poses: motion
        includes the car's own), or ``"image"`` (2-D boxes: motion in the image).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.learned.features import motion_frame
    >>> boxes = pd.DataFrame()
    >>> boxes.attrs["frame_3d"] = "ego: x forward, y left, z up"
    >>> motion_frame(boxes), motion_frame(boxes, "2d")
    ('ego', 'image')
    """
    if box == "2d":
        return "image"
    said = observations.attrs.get("frame_3d")
    if isinstance(said, str) and said.startswith("world"):
        return "world"
    return "world" if ego_poses is not None else "ego"


def check_motion_frame(features: Sequence[Feature], frame: str, *, stacklevel: int = 4) -> None:
    """Warn (:class:`~assay.exceptions.AssayWarning`) when world-frame features are asked for
    on boxes whose motion is measured in a moving car's frame (``frame == "ego"``).
    ``stacklevel`` counts from this function to the user's call (4: through a public
    function and its parameter check)."""
    moving = [f.name for f in features if f.frame == "world"]
    if frame != "ego" or not moving:
        return
    many = len(moving) > 1
    warnings.warn(
        f"The feature{'s' if many else ''} {', '.join(moving)} measure{'' if many else 's'} motion, and "
        "these 3-D boxes are in the moving car's frame (attrs['frame_3d'] does not say 'world'), "
        "so a parked car moves at the car's own speed there and a car driving alongside stands "
        "still. Pass ego_poses= (the car's pose per frame: stream, frame, time, x, y, z, yaw; "
        "assay.tables.EGO_POSE_COLUMNS) to measure motion in the world frame, or leave these "
        "features out (the defaults do).",
        AssayWarning, stacklevel=stacklevel,
    )


@dataclass
class FeatureValues:
    """Feature values of a set of tracks.

    Attributes
    ----------
    tracks : pandas.DataFrame
        One row per track: ``stream``, ``source``, ``track``, ``cls``, ``frame_start``,
        ``frame_end``, ``n_obs``, ``obs_ids`` (list) and, per feature, the track's median
        value (track-level features: the value itself).
    values : dict
        Feature name -> ``(track_index, values)``: every obs / transition / track value with
        the row of ``tracks`` it belongs to. NaN values (undefined) are dropped.
    features : list of Feature
    box : str
        ``"3d"`` or ``"2d"``.
    frame : str
        Where motion was measured: ``"world"``, ``"ego"`` or ``"image"`` (see
        :func:`motion_frame`).
    where : dict
        Feature name -> ``(obs_id, frame)`` of every value in ``values``: the observation it
        was measured on (a transition's: the later of its two; a track-level value's: -1).
    """

    tracks: pd.DataFrame
    values: dict[str, tuple[np.ndarray, np.ndarray]]
    features: list[Feature]
    box: str
    frame: str = "ego"
    where: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def subset(self, keep: np.ndarray) -> FeatureValues:
        """The tracks where ``keep`` (one bool per track) is true, renumbered in order."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.cumsum(keep) - 1
        values, where = {}, {}
        for name, (idx, v) in self.values.items():
            m = keep[idx]
            values[name] = (new_index[idx[m]], v[m])
            if name in self.where:
                oid, fr = self.where[name]
                where[name] = (oid[m], fr[m])
        return FeatureValues(self.tracks.loc[keep].reset_index(drop=True), values, self.features,
                             self.box, self.frame, where)

    @classmethod
    def concat(cls, parts: Sequence[FeatureValues]) -> FeatureValues:
        """The tracks of every part, in order (the parts of disjoint streams, computed
        apart, make what one call over all of them makes when given in stream order)."""
        if not parts:
            raise InvalidParameterError("FeatureValues.concat needs at least one part.")
        offsets = np.cumsum([0, *[len(p.tracks) for p in parts[:-1]]])
        first = parts[0]
        values, where = {}, {}
        for name in first.values:
            values[name] = (np.concatenate([p.values[name][0] + off for p, off in zip(parts, offsets, strict=True)]),
                            np.concatenate([p.values[name][1] for p in parts]))
            if name in first.where:
                where[name] = (np.concatenate([p.where[name][0] for p in parts]),
                               np.concatenate([p.where[name][1] for p in parts]))
        tracks = pd.concat([p.tracks for p in parts], ignore_index=True)
        return cls(tracks, values, first.features, first.box, first.frame, where)


@validate_params({"observations": [pd.DataFrame], "box": [Options(("auto", "3d", "2d"))],
                  "ego_poses": [pd.DataFrame, None]})
def compute_features(
    observations: pd.DataFrame,
    features: Sequence[str | Feature] | None = None,
    *,
    box: str = "auto",
    ego_poses: pd.DataFrame | None = None,
    engine: Any = "local",
    address: str | None = None,
) -> FeatureValues:
    """Evaluate features over the tracks of an observations table.

    Parameters
    ----------
    observations : pandas.DataFrame
        Canonical observations. Rows with the same ``stream``, ``source`` and ``track`` form
        a track; a row without ``track`` is a track of its own.
    features : list of str or Feature, optional
        Built-in names (see ``BUILTIN_FEATURES``) and/or user features; default
        :func:`default_features` for the box kind, without the motion features when motion
        would be measured in a moving car's frame (see :func:`motion_frame`). Motion
        features asked for by name on such boxes are computed, with an
        :class:`~assay.exceptions.AssayWarning`.
    box : {"auto", "3d", "2d"}, default "auto"
        Which box the geometric features use; ``"auto"``: 3-D when every row has one.
    ego_poses : pandas.DataFrame, optional
        The car's pose at every frame of ``observations`` (``kind="ego_poses"``): 3-D boxes
        in the car's frame are placed in the world (:func:`assay.io.to_world_frame`) before
        motion is measured, so a parked car stands still. Not needed for boxes already in
        the world frame (``attrs["frame_3d"]`` starting with ``"world"``).
    engine : {"local", "ray"}, default "local"
        Compute here, or on a Ray cluster, a group of streams per task (the same values).
    address : str, optional
        The Ray cluster for ``engine="ray"``.

    Returns
    -------
    FeatureValues

    Examples
    --------
    A parked car seen from a car driving at 10 m/s: 10 m/s in the car's frame, still once
    the poses place it in the world.

    >>> import pandas as pd
    >>> from assay.tables import as_observations
    >>> from assay.learned import compute_features
    >>> seen = as_observations(pd.DataFrame({
    ...     "frame": [0, 1, 2], "track": 1, "cls": "Car", "x": [30.0, 29.0, 28.0], "y": 0.0,
    ...     "z": 0.0, "l": 4.0, "w": 2.0, "h": 1.5, "yaw": 0.0}), stream="s", source="labels", fps=10)
    >>> poses = pd.DataFrame({"stream": "s", "frame": [0, 1, 2], "time": [0.0, 0.1, 0.2],
    ...                       "x": [0.0, 1.0, 2.0], "y": 0.0, "z": 0.0, "yaw": 0.0})
    >>> compute_features(seen, ["volume"]).frame                 # no poses: no motion by default
    'ego'
    >>> fv = compute_features(seen, ["speed"], ego_poses=poses)
    >>> fv.frame, fv.values["speed"][1].round(6).tolist()
    ('world', [0.0, 0.0])
    """
    obs = validate(observations, "observations")
    kind = box_kind(obs, box)
    if engine != "local" and len(obs):
        from ..engine import Streams, get_engine

        runner = get_engine(engine, address, caller="compute_features")
        if runner.distributed:
            streams = Streams.from_frame(obs)
            return FeatureValues.concat(runner.map(
                _features_of_group, streams, streams.groups(at_least=2 * runner.workers()),
                (features, kind, ego_poses, dict(obs.attrs))))
    frame = motion_frame(obs, kind, ego_poses)
    if kind == "3d" and ego_poses is not None and frame == "world" and not str(
            obs.attrs.get("frame_3d", "")).startswith("world"):
        from ..io.ego import to_world_frame

        obs = to_world_frame(obs, ego_poses)
    if features is None:
        feats = resolve_features(default_features(kind, motion=frame != "ego"), kind)
    else:
        feats = resolve_features(features, kind)
        check_motion_frame(feats, frame)
    n = len(obs)
    if "track" not in obs.columns:
        obs["track"] = pd.array([pd.NA] * n, dtype="Int64")
    trk = obs["track"].to_numpy(dtype=np.float64, na_value=np.nan)
    # rows without a track get a unique negative id so each is a track of its own
    missing = np.isnan(trk)
    trk = np.where(missing, -1.0 - np.arange(n), trk)
    stream_code, _ = pd.factorize(obs["stream"], sort=True)
    source_code, _ = pd.factorize(obs["source"], sort=True)
    time = obs["time"].to_numpy(np.float64)
    order = np.lexsort((obs["obs_id"].to_numpy(), time, trk, source_code, stream_code))
    s = obs.iloc[order].reset_index(drop=True)
    s.attrs["box"] = kind
    key = np.stack([stream_code[order], source_code[order], trk[order]])
    new = np.ones(n, bool)
    if n:
        new[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
    code = np.cumsum(new) - 1
    n_tracks = int(code[-1]) + 1 if n else 0
    starts = np.flatnonzero(new)
    t = s["time"].to_numpy(np.float64)

    frames = s["frame"].to_numpy(np.int64)
    track_ids = s["track"].to_numpy(dtype=np.float64, na_value=np.nan)[starts]
    ends = np.append(starts[1:], n) - 1 if n else starts
    obs_ids = s["obs_id"].to_numpy(np.int64)
    counts = np.bincount(code, minlength=n_tracks)
    tracks = pd.DataFrame(
        {
            "stream": s["stream"].iloc[starts].to_numpy(dtype=object),
            "source": s["source"].iloc[starts].to_numpy(dtype=object),
            "track": pd.array(
                np.where(np.isnan(track_ids), 0, track_ids).astype(np.int64), dtype="Int64"
            ),
            "cls": _majority(s["cls"].to_numpy(dtype=object), code, n_tracks),  # one per track
            "frame_start": frames[starts] if n else np.empty(0, np.int64),
            "frame_end": frames[ends] if n else np.empty(0, np.int64),
            "time_start": t[starts] if n else np.empty(0),
            "time_end": t[ends] if n else np.empty(0),
            "n_obs": counts,
            "obs_ids": np.split(obs_ids, starts[1:]) if n else [],
        }
    )
    if n:
        tracks.loc[np.isnan(track_ids), "track"] = pd.NA

    # consecutive pairs within a track with time moving forward
    pair = np.flatnonzero((~new[1:]) & (t[1:] > t[:-1])) if n > 1 else np.empty(0, np.int64)
    prev = s.iloc[pair].reset_index(drop=True)
    cur = s.iloc[pair + 1].reset_index(drop=True)
    prev.attrs["box"] = cur.attrs["box"] = kind
    dt = t[pair + 1] - t[pair]
    pair_code = code[pair + 1]

    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    where: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    structural = set(tracks.columns)
    for f in feats:
        if f.name in structural and f.name != "n_obs":
            raise InvalidParameterError(
                f"A feature may not be called {f.name!r}: that is a column of the tracks table "
                f"({', '.join(sorted(structural))})."
            )
        if f.level == "obs":
            v, c = _as_array(f.func(s), n, f.name), code
            oid, fr = obs_ids, frames
        elif f.level == "transition":
            v, c = _as_array(f.func(prev, cur, dt), len(pair), f.name), pair_code
            oid, fr = obs_ids[pair + 1], frames[pair + 1]
        else:
            v = _as_array(f.func(s, code), n_tracks, f.name)
            c = np.arange(n_tracks)
            oid = fr = np.full(n_tracks, -1, np.int64)
        ok = np.isfinite(v)
        values[f.name] = (c[ok], v[ok])
        where[f.name] = (oid[ok], fr[ok])
        if f.name != "n_obs":  # the built-in n_obs equals the (integer) column already there
            tracks[f.name] = _group_median(c[ok], v[ok], n_tracks)
    return FeatureValues(tracks, values, feats, kind, frame, where)


def _features_of_group(rows: pd.DataFrame, shared: tuple) -> FeatureValues:
    """An engine's task: :func:`compute_features` of a group of streams."""
    features, kind, ego_poses, attrs = shared
    rows = validate(rows, "observations")
    rows.attrs.update(attrs)
    return compute_features(rows, features, box=kind, ego_poses=ego_poses)


def _as_array(v: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(v, dtype=np.float64).ravel()
    if arr.size != n:
        raise InvalidParameterError(
            f"Feature {name!r} returned {arr.size} values; expected {n} (one per row / "
            "transition / track of its level)."
        )
    return arr


def _majority(cls: np.ndarray, code: np.ndarray, n_tracks: int) -> np.ndarray:
    if n_tracks == 0:
        return np.empty(0, dtype=object)
    inv, values = pd.factorize(cls)
    if len(values) == 1:
        return np.full(n_tracks, values[0], dtype=object)
    counts = np.bincount(code * len(values) + inv, minlength=n_tracks * len(values))
    counts = counts.reshape(n_tracks, len(values))
    return np.asarray(values, dtype=object)[counts.argmax(axis=1)]


def _group_median(code: np.ndarray, v: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.full(n_groups, np.nan)
    if v.size == 0:
        return out
    order = np.lexsort((v, code))
    c, sv = code[order], v[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    ends = np.append(starts[1:], c.size)
    lo = starts + (ends - starts - 1) // 2
    hi = starts + (ends - starts) // 2
    out[c[starts]] = 0.5 * (sv[lo] + sv[hi])
    return out
