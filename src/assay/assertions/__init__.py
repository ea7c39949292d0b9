"""Model assertions: point, temporal and consistency assertions over structured outputs."""

from __future__ import annotations

from ._findings import sort_findings
from ._frames import StreamInfo, stream_info
from .base import (
    Assertion,
    Frame,
    Outputs,
    PointAssertion,
    TemporalAssertion,
    point_assertion,
    temporal_assertion,
)
from .builtin import (
    Appear,
    ClassSwitch,
    Flicker,
    Flying,
    Gap,
    Multibox,
    NoRepeatedWords,
    OutputRange,
    TooFast,
)
from .consistency import ConsistencyAssertion
from .fixes import apply_fixes, diff_findings, diff_runs
from .monitor import Monitor
from .priority import assertion_weights, prioritize
from .runner import check, run_assertion

__all__ = [
    "Appear",
    "Assertion",
    "ClassSwitch",
    "ConsistencyAssertion",
    "Flicker",
    "Flying",
    "Frame",
    "Gap",
    "Monitor",
    "Multibox",
    "NoRepeatedWords",
    "OutputRange",
    "Outputs",
    "PointAssertion",
    "StreamInfo",
    "TemporalAssertion",
    "TooFast",
    "apply_fixes",
    "assertion_weights",
    "check",
    "diff_findings",
    "diff_runs",
    "point_assertion",
    "prioritize",
    "run_assertion",
    "sort_findings",
    "stream_info",
    "temporal_assertion",
]
