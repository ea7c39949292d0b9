"""The workspace's oracle label cache: every answer an oracle was paid for, kept once.

A label is keyed by ``(oracle, id, content)``: the oracle's identity, the record id as text,
and the hash of the fields the oracle saw (:func:`assay.store.identity.record_keys`; empty for
answers shared by id alone). :class:`LabelsMixin` gives :class:`~assay.store.Workspace` its
label methods.
"""

from __future__ import annotations

import json
import reprlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import tables as _tables
from .._validation import Interval, validate_params
from ..exceptions import InvalidParameterError, WorkspaceError
from ._schema import META
from ._util import now, py_scalar, to_json

__all__ = ["COMMIT_EVERY", "LabelMemory", "LabelsMixin"]

#: Up to this many ids, a lookup passes them as a list parameter instead of a registered view.
_LIST_LOOKUP = 4096
#: Answers an oracle streams (see :meth:`LabelsMixin.fetch_labels`) are committed at least this
#: often, in seconds: an answer slower than this is committed as soon as it arrives.
COMMIT_EVERY = 0.05


class LabelsMixin:
    """Label methods of :class:`~assay.store.Workspace` (see its documentation)."""

    # provided by Workspace
    _lock: Any
    _depth: int
    _where: str
    _release: Callable[[], None]

    @validate_params({"oracle": [str], "run_id": [str, None]})
    def put_labels(
        self,
        oracle: str,
        ids: Any,
        values: Any,
        *,
        content: Any = None,
        run_id: str | None = None,
    ) -> int:
        """Store oracle labels, in one transaction.

        Outside a :meth:`transaction` block the labels are committed before this returns, and a
        committed label survives a crash of the process. Call this as soon as the oracle has
        answered (or use :meth:`fetch_labels`, which does it as answers arrive); inside a
        transaction block, the labels are lost if the block rolls back.

        Parameters
        ----------
        oracle : str
            The oracle's identity (see :mod:`assay.store.identity`), for example
            ``"column:label@file:/data/day1.csv"``: a label is looked up by it, a record id and
            the record's content key.
        ids : array-like of int or of str
            Record ids, all integers or all strings. Ids are keyed by their text, so ``7`` and
            ``"7"`` name the same record; :meth:`get_labels` gives integer ids back as integers.
        values : array-like of float
            The oracle's answers, one per id, not NaN.
        content : array-like of str, optional
            The content key of each record (:func:`~assay.store.identity.record_keys` of the
            fields the oracle saw). Default: none, the answer is shared by id alone. An
            ``(id, content)`` pair may not repeat.
        run_id : str, optional
            The run that paid for the labels (see :meth:`start_run`), kept for tracing.

        Returns
        -------
        int
            The number of labels written. A label already stored for the same
            ``(oracle, id, content)`` is replaced by the new value.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.put_labels("is_bird", ["clip-3", "clip-9"], [1.0, 0.0])
        2
        """
        self._check_writable("store labels")
        _check_oracle(oracle, "put_labels")
        index, text, is_int = _normalize_ids(ids, "put_labels")
        keys = _content(content, len(index), "put_labels")
        vals = _label_values(values, len(index), "put_labels")
        pairs = pd.MultiIndex.from_arrays([index.astype(str), keys])
        if pairs.has_duplicates:
            dup = index[pairs.duplicated()][0]
            raise InvalidParameterError(
                f"The 'ids' parameter of put_labels must not repeat an id. Got {py_scalar(dup)!r} "
                "more than once (with the same content key)."
            )
        if len(index) == 0:
            return 0
        self._insert_labels(oracle, text, is_int, keys, vals, run_id)
        return len(index)

    def _insert_labels(
        self, oracle: str, text: pa.Array, is_int: bool, keys: np.ndarray, vals: np.ndarray,
        run_id: str | None, *, fresh: bool = False,
    ) -> None:
        """Store labels; ``fresh`` when the keys were just looked up and found missing (a plain
        insert, about twice as fast; on a conflict, another thread stored one meanwhile, and
        the insert is redone as a replace)."""
        n = len(text)
        batch = pa.table(
            {
                "oracle": pa.array(np.full(n, oracle, dtype=object), pa.string()),
                "id": text,
                "id_is_int": pa.array(np.full(n, is_int)),
                "content": pa.array(keys, pa.string()),
                "value": pa.array(vals),
                "time": pa.array(np.full(n, np.datetime64(now(), "us"))),
                "run_id": pa.array([run_id] * n, pa.string()),
            }
        )
        view = f"_assay_labels_{secrets.token_hex(6)}"
        if fresh and not self.in_transaction:
            with self._lock:
                con = self._connection()
                con.register(view, batch)
                try:
                    con.begin()
                    con.execute(f"INSERT INTO {META}.labels SELECT * FROM {view}")
                    con.commit()
                    return
                except duckdb.ConstraintException:
                    self._rollback(con)
                except duckdb.Error as exc:
                    self._rollback(con)
                    raise self._store_error(oracle, exc) from exc
                finally:
                    con.unregister(view)
                    # a workspace that does not hold its file lets it go again: an answer
                    # streamed while an oracle thinks (inside _let_go) must not keep it open
                    self._release()
        with self._write() as con:
            con.register(view, batch)
            try:
                con.execute(f"INSERT OR REPLACE INTO {META}.labels SELECT * FROM {view}")
            except duckdb.Error as exc:
                raise self._store_error(oracle, exc) from exc
            finally:
                con.unregister(view)

    def _store_error(self, oracle: str, exc: Exception) -> WorkspaceError:
        return WorkspaceError(
            f"Storing labels of oracle {oracle!r} in workspace {self._where} failed, nothing was "
            f"saved: {exc}"
        )

    @validate_params({"oracle": [str]})
    def get_labels(self, oracle: str, ids: Any = None, *, content: Any = None) -> pd.Series:
        """The labels already known for an oracle.

        Parameters
        ----------
        oracle : str
            The oracle identity given to :meth:`put_labels`.
        ids : array-like of int or of str, optional
            Look up only these ids. Default: every label of the oracle.
        content : array-like of str, optional
            With ``ids``: the content key of each record; a label counts only when its key
            matches. Default: labels shared by id alone.

        Returns
        -------
        pandas.Series
            Label values (float64) indexed by id (index name ``"id"``), series name the oracle.
            With ``ids``: only the known ones, in the order asked (a repeated id appears each
            time it was asked), index of the ids as given. Without: all labels, sorted by id
            (an id labeled for several contents appears once per content).

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.put_labels("o", [1, 2], [0.5, 1.5])
        2
        >>> ws.get_labels("o", [2, 5, 1])
        id
        2    1.5
        1    0.5
        Name: o, dtype: float64
        """
        if ids is None:
            got = self._arrow(
                f"SELECT id, id_is_int, value FROM {META}.labels WHERE oracle = ?", [oracle]
            )
            index = _ids_index(got)
            series = pd.Series(got.column("value").to_numpy(), index=index, name=oracle,
                               dtype="float64")
            is_int = got.column("id_is_int").to_numpy(zero_copy_only=False).astype(bool)
            if is_int.all() or not is_int.any():
                series = series.sort_index(kind="stable")
            return series
        index, text, _ = _normalize_ids(ids, "get_labels")
        keys = _content(content, len(index), "get_labels")
        pos, values = self._known(oracle, text, keys)
        return pd.Series(values, index=index.take(pos), name=oracle, dtype="float64")

    def _known(self, oracle: str, text: pa.Array, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``text`` that have a label, and their values, in position order."""
        if len(text) == 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float64")
        if len(text) > _LIST_LOOKUP:
            req = pa.table({"pos": pa.array(np.arange(len(text), dtype="int64")), "id": text,
                            "content": pa.array(keys, pa.string())})
            view = f"_assay_req_{secrets.token_hex(6)}"
            with self._lock:
                con = self._connection()
                con.register(view, req)
                try:
                    got = self._arrow(
                        f"SELECT r.pos, l.value FROM {view} r JOIN {META}.labels l "
                        "ON l.oracle = ? AND l.id = r.id AND l.content = r.content ORDER BY r.pos",
                        [oracle],
                    )
                finally:
                    con.unregister(view)
            return got.column("pos").to_numpy(), got.column("value").to_numpy()
        # a short list is cheaper as a query parameter than as a registered view
        got = self._arrow(
            f"SELECT id, content, value FROM {META}.labels WHERE oracle = ? AND id IN "
            "(SELECT unnest(?::VARCHAR[]))", [oracle, text.to_pylist()])
        if got.num_rows == 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float64")
        stored = pd.Index(_joined(got.column("id"), got.column("content").to_numpy(zero_copy_only=False)))
        where = stored.get_indexer(_joined(text, keys))
        pos = np.flatnonzero(where >= 0)
        return pos, got.column("value").to_numpy()[where[pos]]

    @validate_params(
        {
            "oracle": [str],
            "fn": [callable],
            "batch_size": [Interval(int, 1, None)],
            "run_id": [str, None],
        }
    )
    def fetch_labels(
        self,
        oracle: str,
        ids: Any,
        fn: Callable[[np.ndarray], Any],
        *,
        content: Any = None,
        batch_size: int = 256,
        run_id: str | None = None,
        memory: LabelMemory | None = None,
    ) -> pd.Series:
        """Labels for ``ids``, calling the oracle only for records it has not labeled yet.

        Known labels come from the workspace. The missing records (each once, in first-seen
        order) go to ``fn`` in batches of at most ``batch_size`` ids. ``fn`` may answer a batch
        at once (an array, committed when it returns) or stream its answers: return an
        iterator (a generator, say) of ``(positions, values)`` pairs (positions into the batch),
        and each answer
        is committed as it arrives (answers arriving faster than every
        :data:`COMMIT_EVERY` seconds are grouped), also when the iteration then fails. So a
        crash or an exception loses at most the answers in flight, and a rerun pays only for
        what is still missing.

        Parameters
        ----------
        oracle : str
            The oracle identity (see :meth:`put_labels`).
        ids : array-like of int or of str
            Record ids; repeats are allowed (sampling with replacement) and are paid for once.
        fn : callable
            ``fn(batch_ids: numpy.ndarray)`` returning one float per id (array-like), or an
            iterator of ``(positions, values)`` pairs that answers every id of the batch.
        content : array-like of str, optional
            Content key of each record (see :meth:`put_labels`).
        batch_size : int, default 256
            Most ids per call of ``fn``.
        run_id : str, optional
            Recorded with every new label.
        memory : LabelMemory, optional
            This oracle's answers held in memory (see :meth:`label_memory`), for a query that
            fetches many small batches: lookups skip the database, and a deferring memory keeps
            new answers until its ``flush()``.

        Returns
        -------
        pandas.Series
            One float64 value per id asked, in order, indexed by the ids as given.

        Raises
        ------
        WorkspaceError
            Inside a :meth:`transaction` block, where paid labels could be rolled back.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> calls = []
        >>> def oracle(batch):
        ...     calls.append(batch.tolist())
        ...     return batch * 10.0
        >>> ws.fetch_labels("x10", [1, 2, 2, 3], oracle).tolist()
        [10.0, 20.0, 20.0, 30.0]
        >>> ws.fetch_labels("x10", [3, 4], oracle).tolist()
        [30.0, 40.0]
        >>> calls
        [[1, 2, 3], [4]]
        """
        self._check_writable("fetch labels")
        with self._lock:  # waits for another thread's transaction; sees this thread's own
            inside = self._depth > 0
        if inside:
            raise WorkspaceError(
                "fetch_labels cannot run inside a transaction() block: labels paid for there "
                "would be lost if the transaction rolled back. Call it outside the block."
            )
        _check_oracle(oracle, "fetch_labels")
        index, text, is_int = _normalize_ids(ids, "fetch_labels")
        keys = _content(content, len(index), "fetch_labels")
        result = np.full(len(index), np.nan)
        if memory is not None and memory.known is not None:
            pos, values = memory.lookup(text, keys)
        else:
            pos, values = self._known(oracle, text, keys)
        result[pos] = values
        todo_pos = np.flatnonzero(np.isnan(result))  # labels are never NaN, so NaN = unknown
        if len(todo_pos):
            pairs = pd.Index(_joined(text.take(pa.array(todo_pos)), keys[todo_pos]))
            first = ~pairs.duplicated()
            unique_pos = todo_pos[first]
            paid = np.empty(len(unique_pos))
            for start in range(0, len(unique_pos), batch_size):
                chunk = unique_pos[start : start + batch_size]
                answers = self._ask(oracle, fn, index.take(chunk), text.take(pa.array(chunk)),
                                    is_int, keys[chunk], run_id, memory)
                paid[start : start + len(chunk)] = answers
            result[todo_pos] = (
                pd.Series(paid, index=pairs[first]).reindex(pairs).to_numpy()
            )
        return pd.Series(result, index=index, name=oracle, dtype="float64")

    def _ask(
        self, oracle: str, fn: Callable[[np.ndarray], Any], batch: pd.Index, text: pa.Array,
        is_int: bool, keys: np.ndarray, run_id: str | None, memory: LabelMemory | None,
    ) -> np.ndarray:
        """Call the oracle on one batch and commit its answers as they arrive."""
        with self._let_go():  # a workspace that does not hold its file lets it go meanwhile
            return self._ask_released(oracle, fn, batch, text, is_int, keys, run_id, memory)

    def _ask_released(
        self, oracle: str, fn: Callable[[np.ndarray], Any], batch: pd.Index, text: pa.Array,
        is_int: bool, keys: np.ndarray, run_id: str | None, memory: LabelMemory | None,
    ) -> np.ndarray:
        n = len(batch)
        answer = fn(batch.to_numpy())

        def store(text: pa.Array, keys: np.ndarray, vals: np.ndarray) -> None:
            if memory is None:
                self._insert_labels(oracle, text, is_int, keys, vals, run_id, fresh=True)
            else:
                memory.add(text, is_int, keys, vals, run_id)

        if not _streamed(answer):
            vals = _label_values(answer, n, "fetch_labels", what="fn")
            store(text, keys, vals)
            return vals
        out = np.full(n, np.nan)
        pending: list[np.ndarray] = []
        last = time.monotonic()

        def flush() -> None:
            nonlocal last
            if pending:
                p = np.unique(np.concatenate(pending))
                pending.clear()
                store(text.take(pa.array(p)), keys[p], out[p])
            last = time.monotonic()

        try:
            for item in answer:
                p, v = _chunk(item, n)
                out[p] = v
                pending.append(p)
                if time.monotonic() - last >= COMMIT_EVERY:
                    flush()
        finally:
            flush()
        if np.isnan(out).any():
            miss = int(np.isnan(out).sum())
            raise InvalidParameterError(
                f"The oracle (fn of fetch_labels) streamed answers for {n - miss} of the {n} "
                f"records asked; it must answer every one (first unanswered id: "
                f"{py_scalar(batch[int(np.flatnonzero(np.isnan(out))[0])])!r})."
            )
        return out

    @validate_params({"oracle": [str], "defer": [bool], "limit": [Interval(int, 0, None)]})
    def label_memory(self, oracle: str, *, defer: bool = False, limit: int = 200_000) -> LabelMemory:
        """This oracle's stored answers in memory, for :meth:`fetch_labels` calls of one query.

        Loads the answers when there are at most ``limit`` (else lookups stay in the
        database). With ``defer``, new answers are kept in memory until ``flush()`` writes them
        in one commit: for an oracle whose answers cost nothing (a column of the records),
        where a commit per batch would cost more than the answers.

        Examples
        --------
        >>> import numpy as np
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> mem = ws.label_memory("x10", defer=True)
        >>> ws.fetch_labels("x10", [1, 2], lambda b: b * 10.0, memory=mem).tolist()
        [10.0, 20.0]
        >>> len(ws.get_labels("x10")), mem.flush(), len(ws.get_labels("x10"))
        (0, 2, 2)
        """
        n = self._query(f"SELECT count(*) FROM {META}.labels WHERE oracle = ?", [oracle])[0][0]
        known = None
        if n <= limit:
            got = self._arrow(
                f"SELECT id, content, value FROM {META}.labels WHERE oracle = ?", [oracle])
            known = dict(zip(_joined(got.column("id"), got.column("content").to_numpy(
                zero_copy_only=False)).tolist(), got.column("value").to_pylist(), strict=True))
        return LabelMemory(self, oracle, known, defer)

    @validate_params({"oracle": [str], "kind": [str], "spec": [str], "detail": [dict, None]})
    def register_oracle(
        self, oracle: str, *, kind: str, spec: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Record what an oracle identity stands for (kept once; later calls change nothing).

        Parameters
        ----------
        oracle : str
            The identity labels are stored under.
        kind : str
            ``"column"``, ``"python"``, ``"human"``, ``"key"`` or a component's own kind.
        spec : str
            How the user named it (``"column:label"``, ``"human:labels"``, ...).
        detail : dict, optional
            What the identity rests on (file, folder, source hash, version), as JSON.
        """
        if self.read_only:
            return
        _check_oracle(oracle, "register_oracle")
        text = to_json(detail or {}, "detail", "register_oracle")
        with self._write() as con:
            con.execute(
                f"INSERT OR IGNORE INTO {META}.oracles VALUES (?, ?, ?, ?, ?)",
                [oracle, kind, spec, text, now()],
            )

    def oracles(self) -> pd.DataFrame:
        """One row per oracle identity that has labels or was registered.

        Returns
        -------
        pandas.DataFrame
            ``oracle``, ``kind`` and ``spec`` (missing for labels stored without
            :meth:`register_oracle`), ``labels`` (count), ``first`` and ``last`` (UTC, when
            answers were stored), ``detail`` (dict).

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> _ = ws.put_labels("o", [1, 2], [0.0, 1.0])
        >>> ws.oracles()[["oracle", "labels"]]
          oracle  labels
        0      o       2
        """
        got = self._arrow(
            f"""
            SELECT coalesce(l.oracle, o.oracle) AS oracle, o.kind, o.spec,
                   coalesce(l.labels, 0) AS labels, l.first, l.last, o.detail
            FROM (SELECT oracle, count(*) AS labels, min(time) AS first, max(time) AS last
                  FROM {META}.labels GROUP BY oracle) l
            FULL OUTER JOIN {META}.oracles o ON o.oracle = l.oracle
            ORDER BY 1
            """
        )
        return pd.DataFrame(
            {
                "oracle": pd.array(got.column("oracle").to_pylist(), dtype=_tables.STRING),
                "kind": pd.array(got.column("kind").to_pylist(), dtype=_tables.STRING),
                "spec": pd.array(got.column("spec").to_pylist(), dtype=_tables.STRING),
                "labels": got.column("labels").to_numpy().astype("int64"),
                "first": got.column("first").to_numpy(zero_copy_only=False).astype("datetime64[us]"),
                "last": got.column("last").to_numpy(zero_copy_only=False).astype("datetime64[us]"),
                "detail": pd.Series([None if d is None else json.loads(d)
                                     for d in got.column("detail").to_pylist()], dtype=object),
            }
        )

    @validate_params({"oracle": [str]})
    def labels(self, oracle: str) -> pd.DataFrame:
        """Every stored answer of one oracle: ``id``, ``content``, ``value``, ``time`` (UTC) and
        ``run_id``, oldest first (then by id).

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> _ = ws.put_labels("o", [3, 1], [1.0, 0.0], content=["a1", "b2"])
        >>> ws.labels("o")[["id", "content", "value"]]
           id content  value
        0   1      b2    0.0
        1   3      a1    1.0
        """
        got = self._arrow(
            f"SELECT id, id_is_int, content, value, time, run_id FROM {META}.labels "
            "WHERE oracle = ? ORDER BY time, id, content", [oracle]
        )
        return pd.DataFrame(
            {
                "id": _ids_index(got).to_numpy(),
                "content": pd.array(got.column("content").to_pylist(), dtype=_tables.STRING),
                "value": got.column("value").to_numpy(),
                "time": got.column("time").to_numpy(zero_copy_only=False).astype("datetime64[us]"),
                "run_id": pd.array(got.column("run_id").to_pylist(), dtype=_tables.STRING),
            }
        )

    @validate_params({"run_id": [str]})
    def paid_by(self, run_id: str) -> dict[str, int]:
        """How many answers a run paid for, per oracle (the answers stored with its id).

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> _ = ws.put_labels("o", [1, 2], [0.0, 1.0], run_id="query-1")
        >>> ws.paid_by("query-1")
        {'o': 2}
        """
        rows = self._query(
            f"SELECT oracle, count(*) FROM {META}.labels WHERE run_id = ? GROUP BY oracle "
            "ORDER BY oracle", [run_id])
        return {o: int(n) for o, n in rows}

    @validate_params({"oracle": [str]})
    def clear_labels(self, oracle: str) -> int:
        """Delete every stored answer of one oracle, in one transaction; returns how many.

        The answers are gone: a query that needs them pays for them again.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> _ = ws.put_labels("o", [1, 2], [0.0, 1.0])
        >>> ws.clear_labels("o"), len(ws.get_labels("o"))
        (2, 0)
        """
        self._check_writable("clear labels")
        with self._lock:
            n = self._query(f"SELECT count(*) FROM {META}.labels WHERE oracle = ?", [oracle])[0][0]
            with self._write() as con:
                con.execute(f"DELETE FROM {META}.labels WHERE oracle = ?", [oracle])
        return int(n)


class LabelMemory:
    """One oracle's answers held in memory during a query (see
    :meth:`LabelsMixin.label_memory`)."""

    def __init__(self, workspace: Any, oracle: str, known: dict[str, float] | None,
                 defer: bool) -> None:
        self.workspace = workspace
        self.oracle = oracle
        #: ``{"<id>\x00<content>": value}``, or None when too many answers to hold.
        self.known = known
        self.defer = defer
        self._pending: list[tuple[pa.Array, bool, np.ndarray, np.ndarray, str | None]] = []

    def lookup(self, text: pa.Array, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions that have an answer, and the answers."""
        assert self.known is not None
        got = [self.known.get(k) for k in _joined(text, keys).tolist()]
        pos = np.array([i for i, v in enumerate(got) if v is not None], dtype="int64")
        return pos, np.array([got[i] for i in pos], dtype="float64")

    def add(self, text: pa.Array, is_int: bool, keys: np.ndarray, vals: np.ndarray,
            run_id: str | None) -> None:
        """New answers: stored now (or at :meth:`flush` when deferring) and remembered."""
        if self.defer:
            self._pending.append((text, is_int, keys, vals, run_id))
        else:
            self.workspace._insert_labels(self.oracle, text, is_int, keys, vals, run_id, fresh=True)
        if self.known is not None:
            self.known.update(zip(_joined(text, keys).tolist(), vals.tolist(), strict=True))

    def flush(self) -> int:
        """Write the deferred answers in one commit; returns how many."""
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        with self.workspace._write():
            for text, is_int, keys, vals, run_id in pending:
                self.workspace._insert_labels(self.oracle, text, is_int, keys, vals, run_id)
        return sum(len(p[0]) for p in pending)


def _streamed(answer: Any) -> bool:
    """Whether an oracle's answer is a stream of chunks (an iterator, e.g. a generator)."""
    return isinstance(answer, Iterator)


def _chunk(item: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        positions, values = item
    except (TypeError, ValueError):
        raise InvalidParameterError(
            "A streaming oracle (fn of fetch_labels) must yield (positions, values) pairs. Got "
            f"{reprlib.repr(item)}."
        ) from None
    p = np.atleast_1d(np.asarray(positions))
    if p.dtype.kind not in "iu" or ((p < 0) | (p >= n)).any():
        raise InvalidParameterError(
            f"A streaming oracle yielded positions {reprlib.repr(p.tolist())}; they must be "
            f"integer positions into the batch of {n} ids."
        )
    v = _label_values(np.atleast_1d(np.asarray(values, dtype=object)), len(p), "fetch_labels",
                      what="fn")
    return p.astype("int64"), v


def _content(content: Any, n: int, caller: str) -> np.ndarray:
    if content is None:
        return np.full(n, "", dtype=object)
    if isinstance(content, (str, bytes)) or np.ndim(content) != 1 or len(content) != n:
        raise InvalidParameterError(
            f"The 'content' parameter of {caller} must give one content key (a string) per id "
            f"({n}). Got {reprlib.repr(content)}."
        )
    keys = np.asarray(content, dtype=object)
    if not all(isinstance(k, str) for k in keys):
        raise InvalidParameterError(
            f"The 'content' parameter of {caller} must hold strings. Got {reprlib.repr(keys.tolist())}."
        )
    return keys


def _ids_index(got: pa.Table) -> pd.Index:
    text = got.column("id").to_numpy(zero_copy_only=False).astype(object)
    is_int = got.column("id_is_int").to_numpy(zero_copy_only=False).astype(bool)
    if len(text) and is_int.all():
        return pd.Index(text.astype("int64"), name="id")
    if is_int.any():
        mixed = [int(t) if i else t for t, i in zip(text, is_int, strict=True)]
        return pd.Index(mixed, dtype=object, name="id")
    return pd.Index(text.tolist(), name="id")


def _joined(ids: pa.Array | pa.ChunkedArray, keys: np.ndarray) -> np.ndarray:
    """``id NUL content`` per label: one string naming the pair (content keys hold no NUL)."""
    text = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    return text + "\x00" + np.asarray(keys, dtype=object)


def _check_oracle(oracle: str, caller: str) -> None:
    if not oracle.strip():
        raise InvalidParameterError(
            f"The 'oracle' parameter of {caller} must be a non-empty key. Got {oracle!r}."
        )


def _normalize_ids(ids: Any, caller: str) -> tuple[pd.Index, pa.Array, bool]:
    """Ids as a pandas Index, their text keys, and whether they are integers."""
    if ids is None or isinstance(ids, (str, bytes)) or np.ndim(ids) != 1:
        raise InvalidParameterError(
            f"The 'ids' parameter of {caller} must be a 1-D array-like of integer or string "
            f"ids. Got {reprlib.repr(ids)}."
        )
    index = pd.Index(ids, name="id")
    if len(index) == 0:
        return index, pa.array([], pa.string()), False
    if index.hasnans:
        pos = int(np.flatnonzero(index.isna())[0])
        raise InvalidParameterError(
            f"The 'ids' parameter of {caller} must not have missing ids. Got a missing id at "
            f"position {pos}."
        )
    dtype = index.dtype
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return index, _text_of(index), True
    if index.inferred_type == "string":
        return index, _text_of(index), False
    raise InvalidParameterError(
        f"The 'ids' parameter of {caller} must hold integers or strings, one kind per call. "
        f"Got values of type {index.inferred_type!r} (dtype {dtype})."
    )


def _text_of(index: pd.Index) -> pa.Array:
    """The text key of each id: ``str(int)`` for integer ids, the string itself otherwise."""
    if pd.api.types.is_integer_dtype(index.dtype):
        text = pc.cast(pa.array(index.to_numpy()), pa.string())
    else:
        text = pa.array(index.to_numpy(dtype=object), pa.string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _label_values(values: Any, n: int, caller: str, *, what: str = "values") -> np.ndarray:
    try:
        vals = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The {what!r} of {caller} must be numbers. Got {reprlib.repr(values)}."
        ) from None
    if vals.ndim != 1 or len(vals) != n:
        raise InvalidParameterError(
            f"The {what!r} of {caller} must give one number per id ({n}). Got shape {vals.shape}."
        )
    if np.isnan(vals).any():
        bad = int(np.flatnonzero(np.isnan(vals))[0])
        raise InvalidParameterError(
            f"The {what!r} of {caller} must not be NaN (a label must be a value). Got NaN at "
            f"position {bad}."
        )
    return vals

