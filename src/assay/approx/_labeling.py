"""How a query pays its oracle: through the workspace's label cache when there is one.

:func:`records_of` turns what a user passed as records (a path, a workspace table read into a
frame, any DataFrame) into the table, its identity and its lineage entry; :class:`Labeler`
labels positions of that table with one oracle, keying every answer by the oracle's identity
and the record's id and content, and committing each as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import tick
from ..exceptions import InvalidParameterError
from ..store.identity import describe_input, file_identity, frame_identity, record_keys
from ..tables import validate
from .oracle import LabelsPending, Oracle

__all__ = ["Labeler", "QueryRun", "records_of", "seed_repr"]


def records_of(records: Any, verb: str, name: str | None = None) -> tuple[pd.DataFrame, str, dict]:
    """The records table, its identity and its lineage entry (see :mod:`assay.store.identity`)."""
    if isinstance(records, (str, Path)):
        from ..io import read_records

        table = read_records(records)
        ident = f"frame:{name}" if name is not None else file_identity(records)
        return table, ident, describe_input("records", records, name=name)
    if not isinstance(records, pd.DataFrame):
        raise InvalidParameterError(
            f"The 'records' parameter of {verb} must be a pandas.DataFrame or a path. Got "
            f"{type(records).__name__}.")
    if len(records) == 0:
        raise InvalidParameterError(f"{verb}: the records table is empty.")
    table = validate(records, "records")
    return table, frame_identity(records, name), describe_input("records", records, name=name)


def seed_repr(seed: Any) -> Any:
    """A seed as it is recorded with a run: an int as it is, a Generator by its repr."""
    return seed if seed is None or isinstance(seed, (int, np.integer)) else repr(seed)


class Labeler:
    """Labels positions of a records table with one oracle, paying each record once.

    Parameters
    ----------
    oracle : Oracle
    table : pandas.DataFrame
        The records (``id`` column first among what the oracle is given).
    records : str
        The records' identity.
    proxy : sequence of str
        The query's proxy columns, which oracles do not see by default.
    workspace : Workspace or None
        Where answers are cached; without one, answers live for this query only.
    key : str or None
        The user's explicit key (``labels=``): answers are shared under it by id alone.
    run_id : str or None
        Recorded with each answer.
    check : callable
        ``check(values) -> float array``; raises on answers the query cannot use. Runs before
        an answer is stored.
    first : bool
        Whether the records this oracle labels count as paid (a query with a ``where``
        predicate pays each record once, whichever oracles it needed).
    """

    def __init__(self, oracle: Oracle, table: pd.DataFrame, *, records: str,
                 proxy: Sequence[str], workspace: Any, key: str | None, run_id: str | None,
                 check: Callable[[Any, int], np.ndarray], first: bool = True) -> None:
        self.oracle = oracle
        self.table = table
        self.fields = oracle.fields(list(table.columns), proxy=list(proxy))
        self.columns = ["id", *[f for f in self.fields if f != "id"]]
        self.identity = key if key is not None else oracle.identity(records)
        self.workspace = workspace
        self.key = key
        self.run_id = run_id
        self.check = check
        self.first = first
        self.ids = table["id"].to_numpy()
        self.paid = 0
        self._memo: dict[int, float] = {}
        if workspace is not None and not workspace.read_only:
            detail = {**oracle.detail(), "spec": oracle.name}
            if key is not None:
                detail["shared_by"] = "id"
            workspace.register_oracle(self.identity, kind="key" if key is not None else
                                      oracle.name.split(":", 1)[0], spec=oracle.name, detail=detail)

    def lineage(self, role: str = "oracle") -> dict[str, Any]:
        """The oracle's entry in a run's inputs."""
        return {"role": role, "identity": self.identity, "spec": self.oracle.name,
                "fields": list(self.fields)}

    def _answers(self, positions: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rows = self.table.iloc[positions][self.columns]
        for p, values in self.oracle.stream(rows):
            p = np.atleast_1d(np.asarray(p, dtype=np.int64))
            checked = self.check(values, len(p))
            if self.first:
                self.paid += len(p)
                tick(len(p))
            yield p, checked

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        """Answers for these positions of the table (repeats are paid once)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.workspace is not None:
            batch = self.ids[positions]
            content = (None if self.key is not None
                       else record_keys(self.table.iloc[positions], self.fields))

            def ask(batch_ids: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
                # the records asked for are among this batch: find their rows without an
                # index over all N ids (building one costs more than a query on 10M records)
                where = positions[pd.Index(batch).get_indexer(batch_ids)]
                return self._answers(where)

            return self.workspace.fetch_labels(
                self.identity, batch, ask, content=content, batch_size=max(1, len(batch)),
                run_id=self.run_id).to_numpy(dtype=np.float64)
        todo = pd.unique(positions[[p not in self._memo for p in positions.tolist()]])
        if len(todo):
            got = np.full(len(todo), np.nan)
            for p, v in self._answers(todo):
                got[p] = v
            if np.isnan(got).any():
                raise InvalidParameterError(
                    f"the oracle {self.oracle.name} left {int(np.isnan(got).sum())} of "
                    f"{len(todo)} records unanswered.")
            self._memo.update(zip(todo.tolist(), got.tolist(), strict=True))
        return np.array([self._memo[p] for p in positions.tolist()], dtype=np.float64)


class QueryRun:
    """A query's run in the workspace (when there is one): started with its inputs, finished
    with its summary, or marked failed when an exception leaves the block.

    Use as ``with QueryRun(workspace, params, inputs) as run: ... run.summary = {...}``;
    ``run.run_id`` is None without a workspace.
    """

    def __init__(self, workspace: Any, params: dict[str, Any], inputs: list[dict[str, Any]]) -> None:
        self.workspace = workspace
        self.params = params
        self.inputs = inputs
        self.run_id: str | None = None
        self.summary: dict[str, Any] = {}

    def __enter__(self) -> QueryRun:
        if self.workspace is not None and not self.workspace.read_only:
            self.run_id = self.workspace.start_run("query", self.params, inputs=self.inputs)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.run_id is None:
            return
        if exc_type is None:
            self.workspace.finish_run(self.run_id, "ok", self.summary)
            return
        status = "cancelled" if issubclass(exc_type, (KeyboardInterrupt, LabelsPending)) else "failed"
        try:
            self.workspace.finish_run(self.run_id, status, {"error": str(exc)[:2000]})
        except Exception:
            pass
