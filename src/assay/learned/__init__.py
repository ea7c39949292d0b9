"""Learned observation assertions (Fixy): features over observations, transitions and
tracks; class-conditional density priors fit on labels; track scores with per-factor
evidence; "likely" and "unlikely" rankings.

Examples
--------
>>> from assay.learned import DensityPrior, rank_tracks
>>> from assay.io import read_mot, demo_path
>>> gt = read_mot(demo_path("TUD-Campus", "gt"), kind="gt", fps=25)
>>> prior = DensityPrior(["area", "aspect", "speed", "duration"]).fit(gt)
>>> findings = rank_tracks(gt, prior, direction="unlikely")
>>> list(findings.columns[:4])
['run_id', 'assertion', 'scope', 'stream']
"""

from __future__ import annotations

from .density import KernelDensity1D, select_bandwidth
from .features import (
    BUILTIN_FEATURES,
    Feature,
    FeatureValues,
    compute_features,
    default_features,
    feature,
)
from .prior import POOLED, DensityPrior, combine_factors
from .rank import rank_tracks

__all__ = [
    "BUILTIN_FEATURES",
    "POOLED",
    "DensityPrior",
    "Feature",
    "FeatureValues",
    "KernelDensity1D",
    "combine_factors",
    "compute_features",
    "default_features",
    "feature",
    "rank_tracks",
    "select_bandwidth",
]
