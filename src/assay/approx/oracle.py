"""Oracles: the expensive source of truth a query pays for, one record at a time.

An oracle maps a batch of records to values. Every query wraps its oracle in a cache: with a
workspace, each answer is committed to it as soon as it is paid for, so a query that is
killed and rerun with the same seed asks for nothing twice; cost is the number of distinct
records labeled.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import AssayError, InvalidParameterError

__all__ = ["ColumnOracle", "FunctionOracle", "HumanOracle", "LabelsPending", "Oracle", "as_oracle"]


class LabelsPending(AssayError, RuntimeError):
    """A human oracle has written records to label; fill them in and run the query again."""


class Oracle(abc.ABC):
    """Base class: ``oracle(rows) -> values``, one value per row of the records table."""

    #: Names the oracle in the workspace's label cache (with the records' name).
    name: str = "oracle"

    @abc.abstractmethod
    def __call__(self, rows: pd.DataFrame) -> Any:
        """Values for these records (rows of the records table, ``id`` column included)."""


class ColumnOracle(Oracle):
    """Answers from a column of the records: for evaluating methods on labeled data.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.approx import ColumnOracle
    >>> ColumnOracle("label")(pd.DataFrame({"id": [1, 2], "label": [0, 1]})).tolist()
    [0, 1]
    """

    def __init__(self, column: str) -> None:
        self.column = column
        self.name = f"column:{column}"

    def __call__(self, rows: pd.DataFrame) -> Any:
        if self.column not in rows.columns:
            raise InvalidParameterError(
                f"the oracle reads column {self.column!r}, which the records lack "
                f"(columns: {', '.join(map(str, rows.columns))}).")
        return rows[self.column].to_numpy()


class FunctionOracle(Oracle):
    """A Python callable (a big model, an API): ``fn(rows: DataFrame) -> array-like``."""

    def __init__(self, fn: Callable[[pd.DataFrame], Any], *, name: str | None = None) -> None:
        if not callable(fn):
            raise InvalidParameterError(f"FunctionOracle needs a callable; got {fn!r}.")
        self.fn = fn
        self.name = name or f"python:{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"

    def __call__(self, rows: pd.DataFrame) -> Any:
        return self.fn(rows)


class HumanOracle(Oracle):
    """People label records through files in a folder.

    When a query needs labels nobody has given yet, the oracle writes them to
    ``<folder>/request-<n>.csv`` (the records' columns and an empty ``label`` column) and
    raises :class:`LabelsPending`. Fill in ``label`` (save the file under any name ending in
    ``.csv`` in the folder) and run the same query again: answered files are read back, and
    with a workspace every answer is kept there too.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.name = f"human:{self.folder.name}"

    def answers(self) -> dict:
        known: dict = {}
        for f in sorted(self.folder.glob("*.csv")):
            df = pd.read_csv(f)
            if {"id", "label"} - set(df.columns):
                raise InvalidParameterError(f"{f}: an answers file needs 'id' and 'label' columns.")
            done = df[df["label"].notna()]
            known.update(zip(done["id"].tolist(), done["label"].astype(float).tolist(), strict=True))
        return known

    def __call__(self, rows: pd.DataFrame) -> Any:
        self.folder.mkdir(parents=True, exist_ok=True)
        known = self.answers()
        ids = rows["id"].tolist()
        missing = [i for i in ids if i not in known]
        if missing:
            n = len(list(self.folder.glob("request-*.csv"))) + 1
            path = self.folder / f"request-{n}.csv"
            rows[rows["id"].isin(missing)].assign(label=np.nan).to_csv(path, index=False)
            raise LabelsPending(
                f"{len(missing)} records need labels: fill the 'label' column of {path} and run "
                f"the same query again (with the same seed).")
        return np.array([known[i] for i in ids], dtype=float)


def as_oracle(spec: Any) -> Oracle:
    """An oracle from a spec: an :class:`Oracle`, a callable, or text ``column:COL``,
    ``python:module:function`` or ``human:FOLDER``."""
    if isinstance(spec, Oracle):
        return spec
    if callable(spec):
        return FunctionOracle(spec)
    if isinstance(spec, str):
        kind, _, rest = spec.partition(":")
        if kind == "column" and rest:
            return ColumnOracle(rest)
        if kind == "human" and rest:
            return HumanOracle(rest)
        if kind == "python" and ":" in rest:
            module, _, attr = rest.rpartition(":")
            try:
                fn = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise InvalidParameterError(f"cannot load oracle {spec!r}: {e}") from None
            return FunctionOracle(fn, name=spec)
    raise InvalidParameterError(
        f"cannot read oracle {spec!r}: use column:COL, python:module:function or human:FOLDER.")
