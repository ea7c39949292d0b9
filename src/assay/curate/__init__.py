"""Choosing what to label: bandit active learning over assertions (BAL), uncertainty and
random baselines, campaigns that persist in a workspace, a seeded simulation harness, and
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
from .simulate import SimulationResult, simulate
from .strategies import (
    AGGREGATES,
    QUEUE_COLUMNS,
    REWARDS,
    STRATEGIES,
    UNCERTAINTY_METHODS,
    bal_rewards,
    flagged_frames,
    rank_frames,
)
from .verdicts import (
    VERDICT_ORACLE,
    VERDICT_VALUES,
    assertion_precision,
    import_verdicts,
    read_verdicts,
    verdict_oracle,
)

__all__ = [
    "AGGREGATES",
    "DEFAULT_IMAGE",
    "FRAME_ORACLE",
    "QUEUE_COLUMNS",
    "REWARDS",
    "STRATEGIES",
    "UNCERTAINTY_METHODS",
    "VERDICT_ORACLE",
    "VERDICT_VALUES",
    "Campaign",
    "SimulationResult",
    "assertion_precision",
    "bal_rewards",
    "flagged_frames",
    "frame_label_ids",
    "import_verdicts",
    "labelstudio_config",
    "rank_frames",
    "read_verdicts",
    "simulate",
    "to_cvat",
    "to_labelstudio",
    "to_mot",
    "verdict_oracle",
]
