"""3-D boxes between the world frame and the moving car's (ego) frame, given its poses.

A box seen from a moving car moves with the car: in the ego frame a parked car drives past
at the car's own speed, and a car driving alongside stands still. In the world frame it is
the other way round, which is what speed and track assertions want. nuScenes and Lyft give
boxes in the world frame with the car's pose per frame (:func:`~assay.io.read_nuscenes`); a
detector running on the car gives them in its ego frame. These two functions move boxes
between the two, frame by frame, so a consumer can compensate the car's motion (or undo it).

The poses are planar, as the ``ego_poses`` table is (``x, y, z`` and ``yaw`` about z):

    world -> ego:  (dx, dy) = (x - px, y - py) turned by -pyaw,  z - pz,  yaw - pyaw
    ego -> world:  (x, y) turned by pyaw, plus (px, py),  z + pz,  yaw + pyaw

with yaw wrapped to [-pi, pi). Roll and pitch of the car are not modelled (a car on a slope
of a few degrees moves a box by a few centimetres per metre of height).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError, SchemaError
from ..tables import validate

__all__ = ["EGO_FRAME", "to_ego_frame", "to_world_frame"]

#: What ``attrs["frame_3d"]`` says of boxes :func:`to_ego_frame` expressed in the ego frame.
EGO_FRAME = ("ego: x forward, y left, z up, metres, (x, y, z) = box centre; from world-frame "
             "boxes and the ego poses")


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _poses_of(observations: pd.DataFrame, ego_poses: pd.DataFrame, caller: str) -> pd.DataFrame:
    obs = validate(observations, "observations", name="observations")
    poses = validate(ego_poses, "ego_poses", name="ego_poses")
    if "x" not in obs.columns:
        raise SchemaError(f"{caller}: the observations have no 3-D boxes (x y z l w h yaw).")
    keys = pd.MultiIndex.from_arrays([poses["stream"].astype(object), poses["frame"]])
    want = pd.MultiIndex.from_arrays([obs["stream"].astype(object), obs["frame"]])
    pos = keys.get_indexer(want)
    missing = pos < 0
    if missing.any():
        i = int(np.argmax(missing))
        raise InvalidParameterError(
            f"The 'ego_poses' parameter of {caller} has no pose for stream "
            f"{obs['stream'].iloc[i]!r}, frame {int(obs['frame'].iloc[i])} ({int(missing.sum())} "
            "observations lack one); pass the poses of every frame the observations have."
        )
    return obs, poses.iloc[pos].reset_index(drop=True)


def _check_frame(obs: pd.DataFrame, refuse: str, caller: str) -> None:
    said = obs.attrs.get("frame_3d")
    if isinstance(said, str) and said.startswith(refuse + ":"):
        raise InvalidParameterError(
            f"The 'observations' parameter of {caller} holds boxes already in the {refuse} frame "
            f"(attrs['frame_3d'] = {said!r})."
        )


def to_ego_frame(observations: pd.DataFrame, ego_poses: pd.DataFrame) -> pd.DataFrame:
    """World-frame 3-D boxes expressed in the car's frame at their frame.

    Parameters
    ----------
    observations : pandas.DataFrame
        Observations with 3-D boxes in the world frame (as :func:`~assay.io.read_nuscenes`
        gives them).
    ego_poses : pandas.DataFrame
        The car's pose at every ``(stream, frame)`` of the observations.

    Returns
    -------
    pandas.DataFrame
        A copy with ``x y z yaw`` in the ego frame (``l w h`` unchanged) and
        ``attrs["frame_3d"] = EGO_FRAME``. Velocity columns ``vx vy``, when present, are
        turned into the ego frame's axes too (still relative to the world, not to the car).

    Raises
    ------
    InvalidParameterError
        A frame without a pose, or boxes whose ``attrs["frame_3d"]`` says they are in the
        ego frame already.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.io import to_ego_frame, to_world_frame
    >>> boxes = pd.DataFrame({"stream": "s", "frame": [0, 1], "time": [0.0, 0.5], "obs_id": [0, 1],
    ...                       "cls": "car", "source": "labels", "x": 20.0, "y": 0.0, "z": 1.0,
    ...                       "l": 4.0, "w": 2.0, "h": 1.5, "yaw": 0.0})
    >>> poses = pd.DataFrame({"stream": "s", "frame": [0, 1], "time": [0.0, 0.5], "x": [0.0, 5.0],
    ...                       "y": 0.0, "z": 0.0, "yaw": 0.0})
    >>> ego = to_ego_frame(boxes, poses)  # a parked car, the ego car driving at 10 m/s
    >>> ego[["frame", "x", "y", "yaw"]]
       frame     x    y  yaw
    0      0  20.0  0.0  0.0
    1      1  15.0  0.0  0.0
    >>> to_world_frame(ego, poses)["x"].tolist()
    [20.0, 20.0]
    """
    _check_frame(observations, "ego", "to_ego_frame")
    obs, pose = _poses_of(observations, ego_poses, "to_ego_frame")
    px, py, pz, pyaw = (pose[c].to_numpy(np.float64) for c in ("x", "y", "z", "yaw"))
    c, s = np.cos(pyaw), np.sin(pyaw)
    out = obs.copy()
    dx, dy = obs["x"].to_numpy(np.float64) - px, obs["y"].to_numpy(np.float64) - py
    out["x"], out["y"] = c * dx + s * dy, -s * dx + c * dy
    out["z"] = obs["z"].to_numpy(np.float64) - pz
    out["yaw"] = _wrap(obs["yaw"].to_numpy(np.float64) - pyaw)
    if {"vx", "vy"} <= set(obs.columns):
        vx, vy = obs["vx"].to_numpy(np.float64), obs["vy"].to_numpy(np.float64)
        out["vx"], out["vy"] = c * vx + s * vy, -s * vx + c * vy
    out.attrs["frame_3d"] = EGO_FRAME
    return out


def to_world_frame(observations: pd.DataFrame, ego_poses: pd.DataFrame) -> pd.DataFrame:
    """Ego-frame 3-D boxes placed in the world by the car's pose at their frame: the inverse
    of :func:`to_ego_frame` (see its example).

    Parameters
    ----------
    observations : pandas.DataFrame
        Observations with 3-D boxes in the car's frame (a detector's, or
        :func:`to_ego_frame`'s output).
    ego_poses : pandas.DataFrame
        The car's pose at every ``(stream, frame)`` of the observations, in the world frame.

    Returns
    -------
    pandas.DataFrame
        A copy with ``x y z yaw`` (and ``vx vy`` when present) in the world frame and
        ``attrs["frame_3d"]`` saying so.
    """
    _check_frame(observations, "world", "to_world_frame")
    obs, pose = _poses_of(observations, ego_poses, "to_world_frame")
    px, py, pz, pyaw = (pose[c].to_numpy(np.float64) for c in ("x", "y", "z", "yaw"))
    c, s = np.cos(pyaw), np.sin(pyaw)
    out = obs.copy()
    x, y = obs["x"].to_numpy(np.float64), obs["y"].to_numpy(np.float64)
    out["x"], out["y"] = c * x - s * y + px, s * x + c * y + py
    out["z"] = obs["z"].to_numpy(np.float64) + pz
    out["yaw"] = _wrap(obs["yaw"].to_numpy(np.float64) + pyaw)
    if {"vx", "vy"} <= set(obs.columns):
        vx, vy = obs["vx"].to_numpy(np.float64), obs["vy"].to_numpy(np.float64)
        out["vx"], out["vy"] = c * vx - s * vy, s * vx + c * vy
    out.attrs["frame_3d"] = ("world: x y z in metres, z up, (x, y, z) = box centre; placed by "
                             "the ego poses")
    return out
