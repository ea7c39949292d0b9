"""Choosing what to label: bandit active learning over assertions (BAL), uncertainty and
random baselines and an error-oracle control (strategies sharing one ``rank`` method), campaigns that persist in a workspace, a seeded simulation harness, and
labeling-queue export (Label Studio, CVAT, MOT) and verdict import.

Examples
--------
>>> import assay
>>> from assay.assertions import Flicker, Multibox
>>> from assay.curate import rank_frames
>>> from assay.io import read_mot, demo_path
>>> tracker = read_mot(demo_path("TUD-Campus", "tracker"), kind="gt", fps=25)
>>> findings = assay.check(tracker, [Flicker(), Multibox(iou=0.1)])
>>> queue = rank_frames(tracker, findings, strategy="assertions-uniform", budget=5, seed=0)
>>> queue.columns.tolist()
['rank', 'stream', 'frame', 'arm', 'priority', 'reason', 'obs_ids']
>>> len(queue)
5
"""

from __future__ import annotations

from .campaign import FRAME_ORACLE, Campaign, frame_label_ids
from .export import DEFAULT_IMAGE, labelstudio_config, to_cvat, to_labelstudio, to_mot
from .simulate import ERROR_ORACLE, SimulationResult, simulate
from .strategies import (
    AGGREGATES,
    BAL,
    EXTRA_ARMS,
    GAP_RELAXED,
    POLICIES,
    QUEUE_COLUMNS,
    REWARDS,
    STRATEGIES,
    UNCERTAINTY_METHODS,
    AssertionsUniform,
    ErrorOracle,
    RandomFrames,
    Strategy,
    Uncertainty,
    bal_rewards,
    flagged_frames,
    make_strategy,
    rank_frames,
    round_rng,
)
from .verdicts import (
    VERDICT_ORACLE,
    VERDICT_VALUES,
    assertion_precision,
    error_rates,
    import_verdicts,
    read_verdicts,
    verdict_oracle,
)

__all__ = [
    "AGGREGATES",
    "BAL",
    "DEFAULT_IMAGE",
    "ERROR_ORACLE",
    "EXTRA_ARMS",
    "FRAME_ORACLE",
    "GAP_RELAXED",
    "POLICIES",
    "QUEUE_COLUMNS",
    "REWARDS",
    "STRATEGIES",
    "UNCERTAINTY_METHODS",
    "VERDICT_ORACLE",
    "VERDICT_VALUES",
    "AssertionsUniform",
    "Campaign",
    "ErrorOracle",
    "RandomFrames",
    "SimulationResult",
    "Strategy",
    "Uncertainty",
    "assertion_precision",
    "bal_rewards",
    "error_rates",
    "flagged_frames",
    "frame_label_ids",
    "import_verdicts",
    "labelstudio_config",
    "make_strategy",
    "rank_frames",
    "read_verdicts",
    "round_rng",
    "simulate",
    "to_cvat",
    "to_labelstudio",
    "to_mot",
    "verdict_oracle",
]
