"""The Fixy track score: one path from per-value densities to a track's factors and score,
shared by :meth:`DensityPrior.score_tracks`, :func:`~assay.learned.rank_tracks` and the label
audits (:func:`~assay.audit.find_missing_labels`, :func:`~assay.audit.find_unlikely_tracks`).

Every value of a feature (an observation's volume, a transition's speed, a track's
duration) gets a log-likelihood under the prior of its track's class: relative to a typical
training value, or, with a *background* prior (what the tracks look like when they are not
real objects), the log density ratio ``log p_prior(x) - log p_background(x)`` clipped to
``[-log max_ratio, log max_ratio]``. A feature's *factor* is an aggregate of its values over
the track:

- ``"mean"``: the average (the paper's; a long track with one impossible moment still
  averages to typical);
- ``"min"``: the worst value (one impossible moment decides);
- a float ``q`` in [0, 1]: the ``q``-quantile of the track's values (``0`` is the minimum,
  ``0.5`` the median), between the two.

The score is the weighted sum of the factors (a missing factor counts 0). Whatever the
aggregate, the worst value of the track (the least weighted log-likelihood over all its
features) is named: its feature, observation (``obs_id`` and ``frame``: a transition's
later observation; none for a track-level feature), value and log-likelihood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..exceptions import AssayError, InvalidParameterError
from .features import FeatureValues

if TYPE_CHECKING:
    from .prior import DensityPrior

__all__ = ["AGGREGATES", "aggregate_by_track", "combine_factors", "score_feature_values"]

#: Aggregates by name (besides a float quantile in [0, 1]).
AGGREGATES = ("mean", "min")


def aggregate_by_track(idx: np.ndarray, values: np.ndarray, n: int, how: str | float) -> np.ndarray:
    """Per track ``0..n-1``, the aggregate (``"mean"``, ``"min"`` or a quantile in [0, 1],
    linearly interpolated) of the ``values`` whose track is ``idx``; NaN for a track with none.

    Examples
    --------
    >>> import numpy as np
    >>> from assay.learned.score import aggregate_by_track
    >>> idx, v = np.array([0, 0, 0, 2]), np.array([1.0, -9.0, 2.0, 5.0])
    >>> aggregate_by_track(idx, v, 3, "mean").tolist()
    [-2.0, nan, 5.0]
    >>> aggregate_by_track(idx, v, 3, "min").tolist(), aggregate_by_track(idx, v, 3, 0.5).tolist()
    ([-9.0, nan, 5.0], [1.0, nan, 5.0])
    """
    idx = np.asarray(idx, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    out = np.full(n, np.nan)
    if values.size == 0:
        return out
    if how == "mean":
        total = np.bincount(idx, values, minlength=n)
        count = np.bincount(idx, minlength=n)
        has = count > 0
        out[has] = total[has] / count[has]
        return out
    q = 0.0 if how == "min" else float(how)
    order = np.lexsort((values, idx))
    c, v = idx[order], values[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    counts = np.diff(np.r_[starts, c.size])
    pos = q * (counts - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, counts - 1)
    frac = pos - lo
    out[c[starts]] = v[starts + lo] * (1.0 - frac) + v[starts + hi] * frac
    return out


def combine_factors(
    tracks: pd.DataFrame,
    names: Sequence[str],
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Weighted sum of the ``ll_<name>`` columns (a NaN factor counts 0)."""
    weights = _check_weights(weights, names)
    total = np.zeros(len(tracks))
    for name in names:
        w = float(weights.get(name, 1.0))
        total += w * np.nan_to_num(tracks[f"ll_{name}"].to_numpy(np.float64), nan=0.0)
    return total


def _check_weights(weights: Mapping[str, float] | None, names: Sequence[str]) -> dict[str, float]:
    weights = dict(weights or {})
    unknown = set(weights) - set(names)
    if unknown:
        raise InvalidParameterError(
            f"The 'weights' parameter names features the prior does not have: {sorted(unknown)}. "
            f"Its features are {list(names)}."
        )
    return weights


def _has_density(prior: DensityPrior, name: str) -> bool:
    return bool(prior.densities_.get(name))


def score_feature_values(
    fv: FeatureValues,
    prior: DensityPrior,
    *,
    background: DensityPrior | None = None,
    weights: Mapping[str, float] | None = None,
    max_ratio: float = 20.0,
    aggregate: str | float | None = None,
) -> pd.DataFrame:
    """Factors, worst value and score of every track of ``fv`` (the module docstring says
    how).

    Parameters
    ----------
    fv : FeatureValues
        The tracks, with (at least) the prior's features.
    prior : DensityPrior
        Fitted; its features are the factors.
    background : DensityPrior, optional
        With it, each value's log-likelihood is the clipped log density ratio against it; a
        feature it has no density of keeps the prior's relative log-likelihood.
    weights : mapping, optional
        Feature name -> weight of its factor (default 1 each).
    max_ratio : float, default 20.0
        Bound of each value's density ratio.
    aggregate : {"mean", "min"} or float, optional
        How a feature's values over a track make its factor; default the prior's.

    Returns
    -------
    pandas.DataFrame
        ``fv.tracks`` (same order) with ``ll_<feature>`` per feature (NaN when the track
        has no value of it), ``fg_<feature>`` and ``bg_<feature>`` (the track's mean log
        densities, with a background), ``fallback`` (features scored with the pooled
        density), ``worst_feature``, ``worst_obs_id``, ``worst_frame`` (-1 for a
        track-level feature), ``worst_value``, ``worst_ll`` and ``score``.
    """
    for p in (prior, background):
        if p is not None and not hasattr(p, "densities_"):
            raise AssayError("This DensityPrior is not fitted yet; call fit(labels) first.")
    names = list(prior.feature_names_)
    weights = _check_weights(weights, names)
    how = prior.aggregate if aggregate is None else aggregate
    tracks = fv.tracks.copy()
    n = len(tracks)
    fallback: dict[str, np.ndarray] = {}
    parts: list[tuple] = []  # per feature: idx, ll, weighted ll, value, obs_id, frame
    for k, name in enumerate(names):
        if name not in fv.values:
            raise InvalidParameterError(
                f"The tracks have no values of the prior's feature {name!r}; compute them with "
                "the prior's features (DensityPrior.feature_values)."
            )
        idx, v = fv.values[name]
        oid, frame = fv.where.get(name, (np.full(v.size, -1, np.int64), np.full(v.size, -1, np.int64)))
        contrast = background is not None and _has_density(background, name)
        if contrast:
            _, lf, okf, pooled = prior.value_log_likelihoods(fv, name, relative=False)
            _, lb, okb, _ = background.value_log_likelihoods(fv, name, relative=False)
            tracks[f"fg_{name}"] = aggregate_by_track(idx[okf], lf[okf], n, "mean")
            tracks[f"bg_{name}"] = aggregate_by_track(idx[okb], lb[okb], n, "mean")
            ok = okf & okb
            bound = np.log(max_ratio)
            ll = np.clip(lf - lb, -bound, bound)
        else:
            _, ll, ok, pooled = prior.value_log_likelihoods(fv, name)
        if pooled.any():
            fb = fallback.setdefault(name, np.zeros(n, bool))
            fb[idx[pooled]] = True
        tracks[f"ll_{name}"] = aggregate_by_track(idx[ok], ll[ok], n, how)
        w = float(weights.get(name, 1.0))
        parts.append((np.full(int(ok.sum()), k), idx[ok], ll[ok], w * ll[ok], v[ok], oid[ok], frame[ok]))
    # which features fell back to the pooled density (unseen or rare classes)
    text = np.full(n, "", dtype=object)
    for name, fb in fallback.items():
        text[fb] = np.where(text[fb] == "", name, text[fb] + "," + name)
    tracks["fallback"] = text
    _worst(tracks, parts, names)
    tracks["score"] = combine_factors(tracks, names, weights)
    return tracks


def _worst(tracks: pd.DataFrame, parts: list[tuple], names: list[str]) -> None:
    """Add the worst value of each track (least weighted log-likelihood over its features)."""
    n = len(tracks)
    feat = np.full(n, None, dtype=object)
    obs_id = np.full(n, -1, np.int64)
    frame = np.full(n, -1, np.int64)
    value = np.full(n, np.nan)
    ll = np.full(n, np.nan)
    if parts:
        k, idx, raw, weighted, v, oid, fr = (np.concatenate(p) for p in zip(*parts, strict=True))
        if idx.size:
            order = np.lexsort((weighted, idx))
            first = order[np.r_[True, idx[order][1:] != idx[order][:-1]]]
            t = idx[first]
            feat[t] = np.asarray(names, dtype=object)[k[first].astype(np.int64)]
            obs_id[t], frame[t], value[t], ll[t] = oid[first], fr[first], v[first], raw[first]
    tracks["worst_feature"] = feat
    tracks["worst_obs_id"] = obs_id
    tracks["worst_frame"] = frame
    tracks["worst_value"] = value
    tracks["worst_ll"] = ll
