"""Rank tracks by a prior: "likely" first (candidate missing labels) or "unlikely" first
(candidate errors), as a findings table with every factor in the evidence."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..assertions._findings import empty_findings, make_findings
from .features import FeatureValues
from .prior import DensityPrior
from .score import score_feature_values

__all__ = ["rank_tracks", "scored_tracks"]


def scored_tracks(
    data: pd.DataFrame | FeatureValues,
    prior: DensityPrior,
    *,
    weights: Mapping[str, float] | None = None,
    background: DensityPrior | None = None,
    max_ratio: float = 20.0,
    aggregate: str | float | None = None,
    ego_poses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per track with its factors, worst value and ``score`` (not sorted): the
    prior's features of ``data`` scored by :func:`~assay.learned.score.score_feature_values`.

    With a ``background`` prior (fit, for example, on model tracks that match no label),
    each value's log-likelihood is the log density *ratio* ``log p_prior(x) -
    log p_background(x)``, clipped to ``[-log max_ratio, log max_ratio]``; the mean log
    densities are kept as ``fg_<f>`` and ``bg_<f>``.
    """
    fv = prior.feature_values(data, ego_poses=ego_poses)
    return score_feature_values(fv, prior, background=background, weights=weights,
                                max_ratio=max_ratio, aggregate=aggregate)


def json_floats(x: np.ndarray) -> list:
    """Floats for JSON evidence, rounded to 6 significant digits, NaN as None (vectorized)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    digits = np.where(np.isfinite(mag), 5 - mag, 0).astype(np.int64)
    out = x.copy()
    for d in np.unique(digits):
        m = digits == d
        out[m] = np.round(x[m], int(d))
    values = out.tolist()
    if np.isfinite(x).all():
        return values
    bad = np.flatnonzero(~np.isfinite(x)).tolist()
    for i in bad:
        values[i] = None
    return values


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def tracks_to_findings(
    tracks: pd.DataFrame,
    names: list[str],
    *,
    direction: str,
    assertion: str,
    extra: Mapping[str, np.ndarray] | None = None,
    demote: np.ndarray | None = None,
) -> pd.DataFrame:
    """Findings (scope ``track``) from scored tracks, sorted most severe first. Severity is
    ``softplus(score)`` for "likely" and ``softplus(-score)`` for "unlikely" (> 0, monotone).
    Tracks marked in ``demote`` come after all others (their severity is below every
    other's): likely duplicates of a higher-ranked finding."""
    if len(tracks) == 0:
        return empty_findings()
    score = tracks["score"].to_numpy(np.float64)
    signed = score if direction == "likely" else -score
    demote = np.zeros(len(tracks), bool) if demote is None else np.asarray(demote, bool)
    order = np.lexsort((-signed, demote))
    t = tracks.iloc[order].reset_index(drop=True)
    evidence: dict[str, object] = {
        "direction": np.full(len(t), direction, dtype=object),
        "score": t["score"].to_numpy(np.float64),
        "cls": t["cls"].to_numpy(dtype=object),
        "n_obs": t["n_obs"].to_numpy(np.int64),
        "duration_s": (t["time_end"] - t["time_start"]).to_numpy(np.float64),
    }
    if "worst_feature" in t.columns:  # the least likely value of the track, and where it is
        evidence["worst_feature"] = t["worst_feature"].to_numpy(dtype=object)
        for col in ("worst_obs_id", "worst_frame"):  # exact integers; -1 for a track-level value
            evidence[col] = t[col].to_numpy(np.int64)
        evidence["worst_value"] = t["worst_value"].to_numpy(np.float64)
        evidence["worst_ll"] = t["worst_ll"].to_numpy(np.float64)
    for name in names:
        evidence[f"ll_{name}"] = t[f"ll_{name}"].to_numpy(np.float64)
        for part in ("fg", "bg"):
            if f"{part}_{name}" in t.columns:
                evidence[f"{part}_{name}"] = t[f"{part}_{name}"].to_numpy(np.float64)
        if name in t.columns:
            evidence[name] = t[name].to_numpy(np.float64)
    for k, v in (extra or {}).items():
        evidence[k] = np.asarray(v)[order]
    for k, v in evidence.items():  # pre-rounded lists: much faster than per-value formatting
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            evidence[k] = json_floats(v)
    if "fallback" in t.columns:
        evidence["fallback"] = t["fallback"].to_numpy(dtype=object)
    severity = np.maximum(_softplus(signed[order]), np.finfo(float).tiny)
    dem = demote[order]
    if dem.any() and (~dem).any():
        severity[~dem] += severity[dem].max()
    return make_findings(
        assertion, "track", t["stream"].to_numpy(dtype=object),
        t["frame_start"].to_numpy(np.int64), t["frame_end"].to_numpy(np.int64),
        t["obs_ids"].tolist(), severity, track=t["track"], evidence=evidence,
    )


@validate_params(
    {
        "observations": [pd.DataFrame, FeatureValues],
        "prior": [DensityPrior],
        "direction": [Options(("likely", "unlikely"))],
        "weights": [Mapping, None],
        "background": [DensityPrior, None],
        "max_ratio": [Interval(float, 1, None, closed="neither")],
        "aggregate": [Options(("mean", "min")), Interval(float, 0, 1), None],
        "ego_poses": [pd.DataFrame, None],
        "assertion": [str],
        "top": [Interval(int, 1, None), None],
    }
)
def rank_tracks(
    observations: pd.DataFrame | FeatureValues,
    prior: DensityPrior,
    *,
    direction: str = "unlikely",
    weights: Mapping[str, float] | None = None,
    background: DensityPrior | None = None,
    max_ratio: float = 20.0,
    aggregate: str | float | None = None,
    ego_poses: pd.DataFrame | None = None,
    assertion: str = "fixy",
    top: int | None = None,
) -> pd.DataFrame:
    """Rank the tracks of ``observations`` by how (un)likely ``prior`` finds them.

    Parameters
    ----------
    observations : pandas.DataFrame or FeatureValues
        Observations with ``track`` filled (see :func:`assay.tracking.associate`).
    prior : DensityPrior
        A fitted prior (usually fit on labels of *other* streams than these).
    direction : {"likely", "unlikely"}, default "unlikely"
        ``"likely"``: most plausible tracks first (e.g. model tracks no label covers:
        candidate missing labels). ``"unlikely"``: least plausible first (errors).
    weights : mapping, optional
        Feature name -> weight of its factor (default 1 each).
    background : DensityPrior, optional
        A prior of what the tracks look like when they are *not* real objects; factors
        become log-likelihood ratios (see :func:`scored_tracks`).
    max_ratio : float, default 20.0
        Bound of each value's density ratio against ``background``.
    aggregate : {"min", "mean"} or float, optional
        How a feature's values over a track make its factor (see
        :mod:`assay.learned.score`); default the prior's (``DensityPrior(aggregate=...)``).
    ego_poses : pandas.DataFrame, optional
        The car's pose per frame, for 3-D boxes in its frame: motion features are then
        measured in the world frame (see :func:`~assay.learned.compute_features`).
    assertion : str, default "fixy"
        Name written in the ``assertion`` column.
    top : int, optional
        Keep only the first ``top`` findings.

    Returns
    -------
    pandas.DataFrame
        Findings (scope ``track``), most severe first; ``evidence`` holds ``score``, every
        factor ``ll_<feature>``, the worst value of the track (``worst_feature``,
        ``worst_obs_id`` and ``worst_frame``, -1 when it is a track-level feature such as
        ``duration``, ``worst_value``, ``worst_ll``), the track's
        median feature values, its class, length and duration, and the features that fell
        back to the pooled density.

    Examples
    --------
    >>> from assay.learned import DensityPrior, rank_tracks
    >>> from assay.io import read_mot, demo_path
    >>> gt = read_mot(demo_path("TUD-Stadtmitte", "gt"), kind="gt", fps=25)
    >>> prior = DensityPrior(["area", "speed", "duration"]).fit(gt)
    >>> top = rank_tracks(gt, prior, direction="unlikely", top=3)
    >>> len(top), top["scope"].iloc[0]
    (3, 'track')
    """
    tracks = scored_tracks(observations, prior, weights=weights, background=background,
                           max_ratio=max_ratio, aggregate=aggregate, ego_poses=ego_poses)
    findings = tracks_to_findings(tracks, list(prior.feature_names_), direction=direction,
                                  assertion=assertion)
    return findings.head(top).reset_index(drop=True) if top else findings
