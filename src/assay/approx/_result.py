"""Result conventions shared by aggregation and selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Guarantee"]


@dataclass(frozen=True)
class Guarantee:
    """What a query's answer promises, and of which kind.

    Attributes
    ----------
    kind : {"finite-sample", "asymptotic", "conditional", "none"}
        ``finite-sample``: holds for any N and any data within the stated range (for example
        empirical-Bernstein or betting confidence sequences). ``asymptotic``: holds as the
        sample grows (CLT, bootstrap, prediction-powered inference). ``conditional``: holds
        for any finite sample *if* the assumption stated in ``notes["assumption"]`` holds
        (``select(assume=...)``). ``none``: a baseline without a guarantee.
    target : str
        What is guaranteed: ``"recall"``, ``"precision"``, ``"joint"`` (both; the precision
        target in ``notes["precision"]``), ``"coverage"``.
    value : float or None
        The target level (recall 0.9), or for aggregation the error target (half-width).
    delta : float
        Failure probability: the guarantee holds with probability at least ``1 - delta``.
    anytime : bool
        True when the guarantee holds at every stopping time (confidence sequences), so the
        labeling may stop whenever.
    notes : dict
        Anything else that qualifies the guarantee (range assumed for the oracle output, ...).
    """

    kind: Literal["finite-sample", "asymptotic", "conditional", "none"]
    target: str
    value: float | None
    delta: float
    anytime: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
