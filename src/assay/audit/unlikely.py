"""Implausible tracks: model or label tracks a learned prior finds unlikely."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .._validation import Interval, Options, validate_params
from ..assertions._findings import empty_findings
from ..learned.prior import DensityPrior
from ..learned.rank import scored_tracks, tracks_to_findings
from ..tables import validate
from ..tracking import associate

__all__ = ["find_unlikely_tracks"]


@validate_params(
    {
        "observations": [pd.DataFrame],
        "prior": [DensityPrior],
        "weights": [Mapping, None],
        "track_iou": [Interval(float, 0, 1, closed="right"), None],
        "max_gap": [Interval(float, 0, None, closed="neither")],
        "min_track_length": [Interval(int, 1, None)],
        "box": [Options(("auto", "2d", "bev"))],
        "aggregate": [Options(("mean", "min")), Interval(float, 0, 1), None],
        "ego_poses": [pd.DataFrame, None],
        "top": [Interval(int, 1, None), None],
        "engine": [Options(("local", "ray"))],
        "address": [str, None],
    }
)
def find_unlikely_tracks(
    observations: pd.DataFrame,
    prior: DensityPrior,
    *,
    weights: Mapping[str, float] | None = None,
    track_iou: float | None = None,
    max_gap: float = 1.0,
    min_track_length: int = 1,
    box: str = "auto",
    aggregate: str | float | None = None,
    ego_poses: pd.DataFrame | None = None,
    top: int | None = None,
    engine: str = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """Rank tracks from least to most plausible under a prior (the paper's "unlikely"
    learned observation assertion: erroneous predictions, or labels that cannot be right).

    Parameters
    ----------
    observations : pandas.DataFrame
        Model outputs or labels. Rows without ``track`` are linked first
        (:func:`assay.tracking.associate` with ``track_iou``: default 0.1 for 3-D boxes
        seen from above, 0.5 for 2-D boxes).
    prior : DensityPrior
        Fitted on trusted tracks, usually labels of other streams.
    weights : mapping, optional
        Feature name -> weight of its factor (default 1 each).
    track_iou, max_gap : float
        Linking parameters (see :func:`assay.tracking.associate`).
    min_track_length : int, default 1
        Ignore tracks with fewer boxes.
    box : {"auto", "2d", "bev"}, default "auto"
        Box to link by.
    aggregate : {"min", "mean"} or float, optional
        How a feature's values over a track make its factor; default the prior's (the
        worst value, unless the prior says otherwise: one impossible moment is enough; see
        :mod:`assay.learned.score`).
    ego_poses : pandas.DataFrame, optional
        The car's pose per frame, for 3-D boxes in its frame: motion features are then
        measured in the world frame (see :func:`~assay.learned.compute_features`). Without
        them, a prior's motion features measured on such boxes warn.
    top : int, optional
        Keep only the first ``top`` findings.
    engine : {"local", "ray"}, default "local"
        Link and score here, or on a Ray cluster, a group of streams per task (the prior is
        sent to every worker once); the findings are the same.
    address : str, optional
        The Ray cluster for ``engine="ray"`` (see :class:`~assay.engine.RayEngine`).

    Returns
    -------
    pandas.DataFrame
        Findings (assertion ``unlikely_track``, scope ``track``), least plausible first;
        the evidence names every factor and the worst observation (``worst_feature``,
        ``worst_obs_id``, ``worst_frame`` (-1 for a track-level feature such as
        ``duration``), ``worst_value``, ``worst_ll``), so the reason
        (a 40 m car, a 90 m/s jump at frame 212) can be read off.

    Examples
    --------
    >>> from assay.io import read_mot, demo_path
    >>> from assay.learned import DensityPrior
    >>> from assay.audit import find_unlikely_tracks
    >>> gt = read_mot(demo_path("TUD-Stadtmitte", "gt"), kind="gt", fps=25)
    >>> tracker = read_mot(demo_path("TUD-Stadtmitte", "tracker"), kind="gt", fps=25,
    ...                    source="model:tracker")
    >>> prior = DensityPrior(["area", "aspect", "speed", "duration"]).fit(gt)
    >>> found = find_unlikely_tracks(tracker, prior, top=5)
    >>> found["assertion"].unique().tolist(), len(found)
    (['unlikely_track'], 5)
    """
    obs = validate(observations, "observations")
    if len(obs) == 0:
        return empty_findings()
    if "track" not in obs.columns or obs["track"].isna().any():
        has3 = all(c in obs.columns for c in ("x", "y", "l", "w", "yaw")) and not obs[
            ["x", "y", "l", "w", "yaw"]].isna().any(axis=None)
        link = box if box != "auto" else ("bev" if prior.box_ == "3d" and has3 else "auto")
        tiou = track_iou if track_iou is not None else (0.1 if link == "bev" else 0.5)
        linked = associate(obs, iou=tiou, max_gap=max_gap, box=link, engine=engine, address=address)
        linked.attrs.update(obs.attrs)  # where the 3-D boxes are (frame_3d)
        obs = linked
    options = {"prior": prior, "weights": weights, "aggregate": aggregate, "ego_poses": ego_poses,
               "attrs": dict(obs.attrs)}
    if engine == "local":
        tracks = scored_tracks(obs, prior, weights=weights, aggregate=aggregate, ego_poses=ego_poses)
    else:
        from ..engine import Streams, get_engine

        runner = get_engine(engine, address, caller="find_unlikely_tracks")
        streams = Streams.from_frame(obs)
        parts = runner.map(_score_group, streams, streams.groups(at_least=2 * runner.workers()), options)
        tracks = pd.concat(parts, ignore_index=True)
    tracks = tracks.loc[tracks["n_obs"].to_numpy() >= min_track_length].reset_index(drop=True)
    found = tracks_to_findings(tracks, list(prior.feature_names_), direction="unlikely",
                               assertion="unlikely_track")
    return found.head(top).reset_index(drop=True) if top else found


def _score_group(obs: pd.DataFrame, options: dict) -> pd.DataFrame:
    """The scored tracks of some streams (an engine's task: the prior comes with ``options``)."""
    obs = validate(obs, "observations")
    obs.attrs.update(options["attrs"])
    return scored_tracks(obs, options["prior"], weights=options["weights"],
                         aggregate=options["aggregate"], ego_poses=options["ego_poses"])
