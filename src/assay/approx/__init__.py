"""Approximate queries with guarantees over records with a cheap proxy and an expensive
oracle: :func:`aggregate` (mean, sum, count within an error target or a label budget) and
:func:`select` (records meeting a recall or precision target); :func:`frame_counts` makes
one record per video frame from observation tables."""

from __future__ import annotations

from ._result import Guarantee
from .aggregation import AggregateResult, aggregate
from .frames import frame_counts
from .language import QueryPlan, SqlResult, explain, sql
from .oracle import ColumnOracle, FunctionOracle, HumanOracle, LabelsPending, Oracle, as_oracle
from .selection import MinDensity, SelectionResult, select

__all__ = [
    "AggregateResult",
    "ColumnOracle",
    "FunctionOracle",
    "Guarantee",
    "HumanOracle",
    "LabelsPending",
    "MinDensity",
    "Oracle",
    "QueryPlan",
    "SelectionResult",
    "SqlResult",
    "aggregate",
    "as_oracle",
    "explain",
    "frame_counts",
    "select",
    "sql",
]
