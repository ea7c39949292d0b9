"""Approximate queries with guarantees: selection (and, in progress, aggregation) with a cheap
proxy and an expensive oracle."""

from __future__ import annotations

from ._result import Guarantee
from .oracle import ColumnOracle, FunctionOracle, HumanOracle, LabelsPending, Oracle, as_oracle
from .selection import SelectionResult, select

__all__ = [
    "ColumnOracle",
    "FunctionOracle",
    "Guarantee",
    "HumanOracle",
    "LabelsPending",
    "Oracle",
    "SelectionResult",
    "as_oracle",
    "select",
]
