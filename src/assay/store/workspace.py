"""The workspace: one DuckDB file holding every table, oracle label and run of a project.

A :class:`Workspace` keeps

* **named tables** -- observations, query records, findings, or any other frame -- stored
  through Arrow and read back with exactly the dtypes, column order and ``attrs`` they were
  added with; findings can also be appended run by run (:meth:`Workspace.add_findings`);
* **oracle labels** -- every answer an expensive oracle (a human, a large model) has given,
  keyed by ``(oracle, id)`` and committed as soon as it is paid for, so a query never pays for
  the same label twice, even across crashes;
* **runs** -- one row per ``assay check`` / ``audit`` / ``curate`` / ``query`` run, with its
  parameters and summary as JSON, so every finding can be traced to the run that made it.

Every write is one transaction; :meth:`Workspace.transaction` groups several. DuckDB lets one
process open a file for writing, or many for reading (``read_only=True``), never both.

Examples
--------
>>> import pandas as pd
>>> import assay
>>> from assay.store import Workspace
>>> obs = assay.as_observations(
...     pd.DataFrame({"frame": [0, 0, 1], "cls": ["car", "bus", "car"]}),
...     stream="cam1", source="labels", fps=30)
>>> with Workspace() as ws:
...     ws.add("labels", obs)
...     back = ws.read("labels")
...     ws.tables()[["name", "kind", "rows", "streams", "classes"]]
    name          kind  rows  streams  classes
0  labels  observations     3        1        2
>>> back.equals(obs)
True
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import tables as _tables
from .._validation import Interval, Options, check_param, validate_params
from ..exceptions import InvalidParameterError, WorkspaceError, WorkspaceLockedError
from . import _dtypes

__all__ = ["Workspace"]

#: Version of the metadata layout; a workspace written by a newer layout is refused.
FORMAT_VERSION = 1

#: Kinds of named table: the three canonical kinds, validated on add, and free-form tables.
TABLE_KINDS = ("observations", "records", "findings", "table")

#: What :meth:`Workspace.summary` can group an observations table by.
SUMMARY_BY = ("stream", "cls", "source")

#: Statuses a finished run can have (a run that has not finished is ``"running"``).
RUN_STATUSES = ("ok", "failed", "cancelled")

_META = "_assay"
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
_RUN_KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")

_SCHEMA_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {_META};
CREATE TABLE IF NOT EXISTS {_META}.meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS {_META}.tables (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    columns VARCHAR NOT NULL,
    arrow_schema BLOB NOT NULL,
    attrs VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL,
    streams BIGINT,
    classes BIGINT,
    sources BIGINT
);
CREATE TABLE IF NOT EXISTS {_META}.labels (
    oracle VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    id_is_int BOOLEAN NOT NULL,
    value DOUBLE NOT NULL,
    time TIMESTAMP NOT NULL,
    run_id VARCHAR,
    PRIMARY KEY (oracle, id)
);
CREATE TABLE IF NOT EXISTS {_META}.runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    started TIMESTAMP NOT NULL,
    finished TIMESTAMP,
    params VARCHAR NOT NULL,
    summary VARCHAR
);
"""


class Workspace:
    """A DuckDB file holding named tables, oracle labels and run metadata.

    Parameters
    ----------
    path : str or os.PathLike, default ":memory:"
        The workspace file; created (with its metadata tables) when it does not exist.
        ``":memory:"`` keeps everything in memory, for tests and notebooks.
    read_only : bool, default False
        Open for reading only. Many processes may read a workspace at once, but only while
        no process has it open for writing. Every write method then raises
        :class:`~assay.exceptions.WorkspaceError`.

    Raises
    ------
    WorkspaceLockedError
        Another process has the file open (for writing, or for reading when this one wants
        to write). The message names the file, the other process when DuckDB reports it, and
        what to do.
    WorkspaceError
        The file is not a DuckDB database, is corrupt, was written by a newer assay, or (with
        ``read_only=True``) does not exist.

    Notes
    -----
    Table names are case-insensitive, like DuckDB's (``"Obs"`` and ``"obs"`` are one table),
    and may use letters, digits, ``_``, ``-`` and ``.``. Each named table is a plain DuckDB
    table of that name in the file, so it can be queried with any DuckDB client; assay's own
    bookkeeping lives in the ``_assay`` schema. A workspace object may be shared between
    threads: calls are serialised, and an open :meth:`transaction` makes other threads wait
    until it ends.

    Oracle labels live in ``_assay.labels``, keyed by ``(oracle, id)`` where ``id`` is the
    record id as text (``str(7) == "7"``) and a flag remembers whether it was an integer, so
    :meth:`get_labels` returns integer ids as integers. Each :meth:`put_labels` commits on
    its own (outside a :meth:`transaction` block), so a label DuckDB has committed survives the
    process being killed; :meth:`fetch_labels` is the way to call an expensive oracle: it
    asks only for ids that have no label yet and commits each batch as soon as it is paid for.

    Examples
    --------
    >>> from assay.store import Workspace
    >>> ws = Workspace()
    >>> run = ws.start_run("query", {"delta": 0.05})
    >>> ws.put_labels("count_cars@cam1", [3, 7], [2.0, 5.0], run_id=run)
    2
    >>> ws.get_labels("count_cars@cam1")
    id
    3    2.0
    7    5.0
    Name: count_cars@cam1, dtype: float64
    >>> ws.finish_run(run, "ok", {"estimate": 3.5})
    >>> ws.runs()[["kind", "status", "params", "summary"]]
        kind status             params              summary
    0  query     ok  {'delta': 0.05}  {'estimate': 3.5}
    >>> ws.close()
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *, read_only: bool = False) -> None:
        check_param("path", path, ["path"], "Workspace")
        check_param("read_only", read_only, [bool], "Workspace")
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._doomed = False
        self._read_only = read_only
        memory = os.fspath(path) == ":memory:"
        self._path = None if memory else Path(path).expanduser().absolute()
        if memory and read_only:
            raise InvalidParameterError(
                "The 'read_only' parameter of Workspace must be False for an in-memory "
                "workspace (path=':memory:'), which starts empty. Got True."
            )
        if self.path is not None:
            self._check_path()
        try:
            self._con = duckdb.connect(":memory:" if memory else str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise self._open_error(exc) from exc
        # a library prints nothing: DuckDB's own progress bar would write to stdout
        self._con.execute("SET enable_progress_bar = false")
        try:
            self._init_metadata()
        except BaseException:
            self._con.close()
            self._con = None
            raise

    # ------------------------------------------------------------------ opening and closing

    @property
    def path(self) -> Path | None:
        """The workspace file as an absolute path; None for an in-memory workspace."""
        return self._path

    @property
    def read_only(self) -> bool:
        """Whether the workspace was opened with ``read_only=True``."""
        return self._read_only

    @property
    def _where(self) -> str:
        return "':memory:'" if self.path is None else f"'{self.path}'"

    def _check_path(self) -> None:
        assert self.path is not None
        if self.path.is_dir():
            raise WorkspaceError(
                f"Cannot open workspace {self._where}: it is a directory. Pass a file path "
                "such as ./assay.duckdb."
            )
        if not self.path.exists():
            if self.read_only:
                raise WorkspaceError(
                    f"No workspace at {self._where}: the file does not exist, and read_only=True "
                    "cannot create one. Check the path, or open it with read_only=False to "
                    "create a new workspace."
                )
            if not self.path.parent.is_dir():
                raise WorkspaceError(
                    f"Cannot create workspace {self._where}: directory '{self.path.parent}' "
                    "does not exist. Create it first or pass another path."
                )

    def _open_error(self, exc: duckdb.Error) -> WorkspaceError:
        text = str(exc)
        if "Could not set lock" in text or "Conflicting lock" in text:
            pid = re.search(r"PID (\d+)", text)
            holder = re.search(r"lock is held in (.+?) \(PID", text)
            who = "another process"
            if pid:
                who += f" (PID {pid.group(1)}"
                who += f", {holder.group(1)})" if holder else ")"
            if self.read_only:
                advice = (
                    f"{who} has it open for writing, and DuckDB allows no reader while a "
                    "process writes. Close that process (or wait for it to finish), then "
                    "open the workspace again."
                )
            else:
                advice = (
                    f"{who} has it open, and only one process at a time may open a "
                    "workspace for writing. Close that process (or wait for it to finish), or, "
                    "if this process only needs to read and the other only reads too, open it "
                    "with Workspace(path, read_only=True)."
                )
            return WorkspaceLockedError(f"Workspace {self._where} is locked: {advice}")
        if "different configuration" in text:
            return WorkspaceLockedError(
                f"Workspace {self._where} is already open in this process with "
                f"read_only={not self.read_only}. Close that Workspace first, or open this one "
                "with the same read_only setting."
            )
        if "not a valid DuckDB database file" in text:
            return WorkspaceError(
                f"Cannot open workspace {self._where}: the file is not a DuckDB database, so "
                "it is not an assay workspace. Pass the path of a workspace, or a path that "
                "does not exist yet to create one."
            )
        return WorkspaceError(
            f"Cannot open workspace {self._where}: {text}. The file may be damaged or written "
            "by an incompatible DuckDB version; restore it from a copy, or start a new "
            "workspace at another path."
        )

    def _init_metadata(self) -> None:
        con = self._con
        assert con is not None
        try:
            # Strings come out of DuckDB as Arrow large_string, what pandas' Arrow-backed
            # strings hold, so reading them needs no copy.
            con.execute("SET arrow_large_buffer_size = true")
            present = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND database_name = "
                "current_database()",
                [_META],
            ).fetchall()[0][0]
            if not present:
                if self.read_only:
                    raise WorkspaceError(
                        f"Cannot open workspace {self._where} read-only: it is a DuckDB database "
                        "but not an assay workspace (it has no _assay metadata). Open it once "
                        "with read_only=False to make it one."
                    )
                con.begin()
                try:
                    con.execute(_SCHEMA_SQL)
                    con.execute(
                        f"INSERT INTO {_META}.meta VALUES ('format_version', ?), ('created', ?)",
                        [str(FORMAT_VERSION), _now().isoformat()],
                    )
                    con.commit()
                except BaseException:
                    con.rollback()
                    raise
            rows = con.execute(
                f"SELECT value FROM {_META}.meta WHERE key = 'format_version'"
            ).fetchall()
        except duckdb.Error as exc:
            raise WorkspaceError(
                f"Cannot open workspace {self._where}: reading its metadata failed ({exc}). "
                "The file may be damaged; restore it from a copy, or start a new workspace at "
                "another path."
            ) from exc
        version = int(rows[0][0]) if rows else 0
        if version > FORMAT_VERSION:
            raise WorkspaceError(
                f"Workspace {self._where} has format version {version}, written by a newer "
                f"assay; this one reads up to version {FORMAT_VERSION}. Upgrade assay."
            )

    def close(self) -> None:
        """Close the workspace; an open transaction is rolled back. Closing twice is harmless.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.close()
        >>> ws.closed
        True
        """
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                self._depth = 0

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._con is None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        state = " (closed)" if self.closed else ""
        where = ":memory:" if self.path is None else str(self.path)
        return f"Workspace({where!r}{mode}){state}"

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise WorkspaceError(f"Workspace {self._where} is closed; open a new Workspace.")
        return self._con

    def _check_writable(self, action: str) -> None:
        self._connection()
        if self.read_only:
            raise WorkspaceError(
                f"Cannot {action}: workspace {self._where} is open read-only. Reopen it with "
                "Workspace(path) (read_only=False) to write; only one process may write at a time."
            )

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[Workspace]:
        """Group writes into one transaction: all of them are kept, or none.

        The transaction commits when the block ends normally and rolls back if an exception
        leaves it (the exception then propagates). Each write method is already one
        transaction on its own; use this to make several of them atomic.

        A ``transaction()`` block inside another joins the outer one. DuckDB has no partial
        rollback, so if an exception leaves the inner block, or a write inside fails, the whole
        outer transaction rolls back when it ends, even if the exception was caught, and
        :class:`~assay.exceptions.WorkspaceError` is raised there.

        Yields
        ------
        Workspace
            This workspace.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> try:
        ...     with ws.transaction():
        ...         ws.add("a", pd.DataFrame({"x": [1, 2]}), kind="table")
        ...         raise KeyboardInterrupt
        ... except KeyboardInterrupt:
        ...     pass
        >>> "a" in ws
        False
        """
        self._check_writable("start a transaction")
        with self._write():
            yield self

    @contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            con = self._connection()
            if self._depth:
                self._depth += 1
                try:
                    yield con
                except BaseException:
                    self._doomed = True
                    raise
                finally:
                    self._depth -= 1
                return
            try:
                con.begin()
            except duckdb.Error as exc:
                raise WorkspaceError(f"Cannot start a transaction in {self._where}: {exc}") from exc
            self._depth, self._doomed = 1, False
            try:
                yield con
            except BaseException:
                self._depth = 0
                self._rollback(con)
                raise
            self._depth = 0
            if self._doomed:
                self._rollback(con)
                raise WorkspaceError(
                    f"The transaction on {self._where} was rolled back: a write inside it "
                    "failed (or an exception left a nested transaction() block), and DuckDB "
                    "cannot keep part of a transaction. Nothing in it was saved."
                )
            try:
                con.commit()
            except duckdb.Error as exc:
                self._rollback(con)
                raise WorkspaceError(
                    f"Committing to workspace {self._where} failed, nothing was saved: {exc}"
                ) from exc

    @staticmethod
    def _rollback(con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.rollback()
        except duckdb.Error:
            pass  # the connection already rolled the transaction back

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` block is open."""
        return self._depth > 0

    def _query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except duckdb.Error as exc:
                raise self._read_error(exc) from exc

    def _arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        with self._lock:
            try:
                return self._connection().sql(sql, params=params).to_arrow_table()
            except duckdb.Error as exc:
                raise self._read_error(exc) from exc

    def _read_error(self, exc: duckdb.Error) -> WorkspaceError:
        text = str(exc)
        hint = ""
        if any(s in text for s in ("Corrupt", "checksum", "Could not read enough bytes")):
            hint = (
                " The file may be damaged; restore it from a copy, or start a new workspace "
                "at another path."
            )
        return WorkspaceError(f"Reading workspace {self._where} failed: {text}.{hint}")

    # ------------------------------------------------------------------ named tables

    def _lookup(self, name: str) -> str | None:
        rows = self._query(
            f"SELECT name FROM {_META}.tables WHERE lower(name) = lower(?)", [name]
        )
        return rows[0][0] if rows else None

    def _names(self) -> list[str]:
        return [r[0] for r in self._query(f"SELECT name FROM {_META}.tables ORDER BY name")]

    def _require(self, name: str) -> str:
        stored = self._lookup(name)
        if stored is None:
            names = self._names()
            have = (
                f"its tables are {', '.join(repr(n) for n in names)}"
                if names
                else "it has no tables yet (add one with Workspace.add)"
            )
            raise WorkspaceError(f"Workspace {self._where} has no table named {name!r}; {have}.")
        return stored

    @validate_params(
        {"name": [str], "table": [pd.DataFrame], "kind": [Options(TABLE_KINDS)], "replace": [bool]}
    )
    def add(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        kind: str = "observations",
        replace: bool = False,
    ) -> None:
        """Store a table under a name, in one transaction.

        Parameters
        ----------
        name : str
            Letters, digits, ``_``, ``-`` and ``.``, starting with a letter or ``_``; at most
            128 characters; case-insensitive.
        table : pandas.DataFrame
            The table. Canonical kinds are checked with :func:`assay.tables.validate` and stored
            as validated (canonical dtypes and column order). The index is not stored: an
            unnamed index is dropped, as :func:`~assay.tables.validate` does; a named index or
            a MultiIndex is refused (call ``reset_index()`` to keep it as columns).
            ``table.attrs`` is stored (as JSON) and restored by :meth:`read`.
        kind : {"observations", "records", "findings", "table"}, default "observations"
            The canonical schema to validate against, or ``"table"`` for any frame.
        replace : bool, default False
            Overwrite a table of the same name. Without it an existing name is an error.

        Raises
        ------
        SchemaError
            The table does not follow its canonical schema.
        InvalidParameterError
            A bad name, a column that cannot be stored (the message says which and why), or
            ``attrs`` that are not JSON.
        WorkspaceError
            The name is taken and ``replace`` is False, or the workspace is read-only.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add("scores", pd.DataFrame({"id": [1, 2], "proxy": [0.1, 0.7]}), kind="records")
        >>> ws.add("scores", pd.DataFrame({"id": [3], "proxy": [0.2]}), kind="records")
        Traceback (most recent call last):
        ...
        assay.exceptions.WorkspaceError: Workspace ':memory:' already has a table named 'scores'; pass replace=True to overwrite it, or pick another name. Its tables are 'scores'.
        """
        self._check_writable(f"add table {name!r}")
        _check_name(name, "add")
        if kind == "table":
            df = _drop_index(table, name)
        else:
            df = _tables.validate(table, kind, name=name)
        prepared = _prepare(df, name, kind)
        with self._lock:
            existing = self._lookup(name)
            if existing is not None and not replace:
                raise WorkspaceError(
                    f"Workspace {self._where} already has a table named {existing!r}; pass "
                    "replace=True to overwrite it, or pick another name. Its tables are "
                    f"{', '.join(repr(n) for n in self._names())}."
                )
            self._create(name, kind, prepared, replace=existing)

    def _create(self, name: str, kind: str, prepared: _Prepared, *, replace: str | None) -> None:
        """Create table ``name`` and its metadata in one transaction, dropping ``replace``."""
        view = f"_assay_ingest_{secrets.token_hex(6)}"
        with self._write() as con:
            try:
                if replace is not None:
                    con.execute(f"DROP TABLE {_quote(replace)}")
                    con.execute(f"DELETE FROM {_META}.tables WHERE name = ?", [replace])
                con.register(view, prepared.arrow)
                try:
                    con.execute(f"CREATE TABLE {_quote(name)} AS SELECT * FROM {view}")
                finally:
                    con.unregister(view)
                stats: list[Any] = [None, None, None]
                if kind == "observations":
                    stats = list(
                        con.execute(
                            "SELECT count(DISTINCT stream), count(DISTINCT cls), "
                            f"count(DISTINCT source) FROM {_quote(name)}"
                        ).fetchall()[0]
                    )
                con.execute(
                    f"INSERT INTO {_META}.tables VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        name, kind, prepared.arrow.num_rows, json.dumps(prepared.specs),
                        prepared.schema_blob, prepared.attrs, _now(), *stats,
                    ],
                )
            except duckdb.Error as exc:
                raise WorkspaceError(
                    f"Storing table {name!r} in workspace {self._where} failed, nothing was "
                    f"saved: {exc}"
                ) from exc

    @validate_params({"name": [str]})
    def read(self, name: str) -> pd.DataFrame:
        """Read a named table back, with the dtypes, column order and ``attrs`` it was added with.

        Parameters
        ----------
        name : str
            The table's name (case-insensitive).

        Returns
        -------
        pandas.DataFrame
            The rows in the order they were added, with a fresh ``RangeIndex``. Columns of
            ``object`` dtype come back as Python objects (``str``, ``int``, ``list``, ``dict``;
            missing values as ``None``).

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "ids": [[1, 2], []]})
        >>> ws.add("t", df, kind="table")
        >>> ws.read("t").dtypes.to_dict()
        {'n': Int64Dtype(), 'ids': dtype('O')}
        >>> ws.read("T")["ids"].tolist()
        [[1, 2], []]
        """
        with self._lock:
            return self._read(self._require(name))

    def _read(self, stored: str, where: str = "", params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            columns, schema_blob, attrs = self._query(
                f"SELECT columns, arrow_schema, attrs FROM {_META}.tables WHERE name = ?", [stored]
            )[0]
            specs = json.loads(columns)
            cols = ", ".join(_quote(s["name"]) for s in specs)
            arrow = self._arrow(f"SELECT {cols} FROM {_quote(stored)} {where}", params)
        schema = pa.ipc.read_schema(pa.py_buffer(schema_blob))
        df = _dtypes.from_arrow(arrow, specs, schema)
        df.attrs.update(json.loads(attrs))
        return df

    @validate_params({"name": [str]})
    def delete(self, name: str) -> None:
        """Delete a named table, in one transaction.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add("t", pd.DataFrame({"x": [1]}), kind="table")
        >>> ws.delete("t")
        >>> "t" in ws
        False
        """
        self._check_writable(f"delete table {name!r}")
        with self._lock:
            stored = self._require(name)
            with self._write() as con:
                try:
                    con.execute(f"DROP TABLE {_quote(stored)}")
                    con.execute(f"DELETE FROM {_META}.tables WHERE name = ?", [stored])
                except duckdb.Error as exc:
                    raise WorkspaceError(
                        f"Deleting table {stored!r} from workspace {self._where} failed: {exc}"
                    ) from exc

    @validate_params({"findings": [pd.DataFrame], "run_id": [str], "name": [str]})
    def add_findings(self, findings: pd.DataFrame, *, run_id: str, name: str = "findings") -> int:
        """Append a run's findings to a findings table, in one transaction.

        The table is created on first use. Every finding is stored with ``run_id`` (the
        ``run_id`` column is set to it), so a monitor can append as it goes and
        :meth:`findings` can give back one run's findings. An empty table appends nothing.

        Parameters
        ----------
        findings : pandas.DataFrame
            Findings (see :data:`assay.tables.FINDING_COLUMNS`), checked with
            :func:`assay.tables.validate`; extra columns must be the same in every append.
        run_id : str
            A run started with :meth:`start_run`.
        name : str, default "findings"
            The findings table to append to.

        Returns
        -------
        int
            The number of findings appended.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> run = ws.start_run("check", {})
        >>> found = pd.DataFrame({
        ...     "assertion": ["flicker"], "scope": ["track"], "stream": ["cam1"],
        ...     "frame_start": [3], "frame_end": [5], "obs_ids": [[10, 11]], "track": [4],
        ...     "severity": [1.0], "evidence": ['{"gap": 1}']})
        >>> ws.add_findings(found, run_id=run)
        1
        >>> ws.findings(run)[["assertion", "obs_ids", "severity"]]
          assertion   obs_ids  severity
        0   flicker  [10, 11]       1.0
        """
        self._check_writable("add findings")
        _check_name(name, "add_findings")
        if not self._query(f"SELECT 1 FROM {_META}.runs WHERE run_id = ?", [run_id]):
            raise WorkspaceError(
                f"Workspace {self._where} has no run {run_id!r}; start one with "
                "start_run() and pass its id."
            )
        if len(findings) == 0:
            return 0
        df = findings.reset_index(drop=True).assign(
            run_id=pd.array([run_id] * len(findings), dtype=_tables.STRING)
        )
        df.attrs.update(findings.attrs)
        df = _tables.validate(df, "findings", name=name)
        prepared = _prepare(df, name, "findings")
        with self._lock:
            existing = self._lookup(name)
            if existing is None:
                self._create(name, "findings", prepared, replace=None)
                return len(df)
            kind, columns = self._query(
                f"SELECT kind, columns FROM {_META}.tables WHERE name = ?", [existing]
            )[0]
            if kind != "findings":
                raise WorkspaceError(
                    f"Cannot add findings to {existing!r} in workspace {self._where}: it holds "
                    f"{kind}. Pass another name=..."
                )
            stored = json.loads(columns)
            if stored != prepared.specs:
                have = ", ".join(f"{c['name']} ({c['dtype']})" for c in stored)
                got = ", ".join(f"{c['name']} ({c['dtype']})" for c in prepared.specs)
                raise InvalidParameterError(
                    f"Findings appended to {existing!r} must have the columns it has: {have}. "
                    f"Got {got}. Store findings with other extra columns under another name=..."
                )
            view = f"_assay_ingest_{secrets.token_hex(6)}"
            with self._write() as con:
                try:
                    con.register(view, prepared.arrow)
                    try:
                        con.execute(f"INSERT INTO {_quote(existing)} SELECT * FROM {view}")
                    finally:
                        con.unregister(view)
                    con.execute(
                        f"UPDATE {_META}.tables SET rows = rows + ? WHERE name = ?",
                        [len(df), existing],
                    )
                except duckdb.Error as exc:
                    raise WorkspaceError(
                        f"Appending findings to {existing!r} in workspace {self._where} failed, "
                        f"nothing was saved: {exc}"
                    ) from exc
        return len(df)

    @validate_params({"run_id": [str, None], "name": [str]})
    def findings(self, run_id: str | None = None, *, name: str = "findings") -> pd.DataFrame:
        """Findings stored by :meth:`add_findings`: one run's, or all of them.

        Parameters
        ----------
        run_id : str, optional
            Only this run's findings. Default: all, in the order they were added.
        name : str, default "findings"
            The findings table.

        Returns
        -------
        pandas.DataFrame
            A findings table with the dtypes it was added with; empty if ``run_id`` has none,
            or if nothing was ever added under ``name``.
        """
        with self._lock:
            if name.lower() == "findings" and self._lookup(name) is None:
                return pd.DataFrame(
                    {c: pd.Series([], dtype=d) for c, d in _tables.FINDING_COLUMNS.items()}
                )
            stored = self._require(name)
            if run_id is None:
                return self._read(stored)
            return self._read(stored, "WHERE run_id = ?", [run_id])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None

    def tables(self) -> pd.DataFrame:
        """List the named tables.

        Returns
        -------
        pandas.DataFrame
            One row per table, sorted by name, with columns ``name``, ``kind``, ``rows``,
            ``columns`` (how many), ``created`` (UTC), and for observations tables the number
            of distinct ``streams``, ``classes`` and ``sources`` (missing for other kinds).

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add("t", pd.DataFrame({"x": [1, 2], "y": 0.5}), kind="table")
        >>> ws.tables()[["name", "kind", "rows", "columns", "streams"]]
          name   kind  rows  columns  streams
        0    t  table     2        2     <NA>
        """
        rows = self._query(
            f"SELECT name, kind, rows, columns, created, streams, classes, sources "
            f"FROM {_META}.tables ORDER BY name"
        )
        return pd.DataFrame(
            {
                "name": pd.array([r[0] for r in rows], dtype=_tables.STRING),
                "kind": pd.array([r[1] for r in rows], dtype=_tables.STRING),
                "rows": np.array([r[2] for r in rows], dtype="int64"),
                "columns": np.array([len(json.loads(r[3])) for r in rows], dtype="int64"),
                "created": pd.to_datetime([r[4] for r in rows]).astype("datetime64[us]"),
                "streams": pd.array([r[5] for r in rows], dtype="Int64"),
                "classes": pd.array([r[6] for r in rows], dtype="Int64"),
                "sources": pd.array([r[7] for r in rows], dtype="Int64"),
            }
        )

    @validate_params({"name": [str], "by": [Options(SUMMARY_BY)]})
    def summary(self, name: str, *, by: str = "stream") -> pd.DataFrame:
        """Summarise an observations table per stream, per class or per source.

        Computed in DuckDB without reading the table into Python. Totals over the whole table
        (rows and distinct streams, classes, sources) are in :meth:`tables`.

        Parameters
        ----------
        name : str
            An observations table.
        by : {"stream", "cls", "source"}, default "stream"
            What each row of the summary is about.

        Returns
        -------
        pandas.DataFrame
            One row per stream (sorted by stream), or per class or source (most observations
            first), with ``rows`` (observations), ``frames`` (distinct ``(stream, frame)``
            pairs with an observation), ``tracks`` (distinct ``(stream, track)`` ids, 0
            without a ``track`` column), and the number of distinct ``streams``, ``classes``
            and ``sources`` among them (except the one grouped by). Per stream also
            ``first_frame``, ``last_frame`` and ``seconds`` (time of the last observation
            minus that of the first).

        Examples
        --------
        >>> import pandas as pd
        >>> import assay
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> obs = assay.as_observations(
        ...     pd.DataFrame({"frame": [0, 0, 30], "cls": ["car", "bus", "car"], "track": [1, 2, 1]}),
        ...     stream="cam1", source="labels", fps=30)
        >>> ws.add("labels", obs)
        >>> print(ws.summary("labels").to_string(index=False))
        stream  rows  frames  tracks  classes  sources  first_frame  last_frame  seconds
          cam1     3       2       2        2        1            0          30      1.0
        >>> ws.summary("labels", by="cls")
           cls  rows  frames  tracks  streams  sources
        0  car     2       2       1        1        1
        1  bus     1       1       1        1        1
        """
        with self._lock:
            stored = self._require(name)
            kind, columns = self._query(
                f"SELECT kind, columns FROM {_META}.tables WHERE name = ?", [stored]
            )[0]
            if kind != "observations":
                raise WorkspaceError(
                    f"summary() needs an observations table; {stored!r} in workspace "
                    f"{self._where} holds {kind}. Use read() to look at it."
                )
            has_track = any(spec["name"] == "track" for spec in json.loads(columns))
            tracks = (
                "count(DISTINCT CASE WHEN track IS NOT NULL THEN (stream, track) END)"
                if has_track
                else "0"
            )
            counts = {
                "rows": "count(*)",
                "frames": "count(DISTINCT (stream, frame))",
                "tracks": tracks,
                "streams": "count(DISTINCT stream)",
                "classes": "count(DISTINCT cls)",
                "sources": "count(DISTINCT source)",
            }
            del counts[{"stream": "streams", "cls": "classes", "source": "sources"}[by]]
            if by == "stream":
                counts |= {
                    "first_frame": "min(frame)",
                    "last_frame": "max(frame)",
                    "seconds": "max(time) - min(time)",
                }
                order = "stream"
            else:
                order = f"rows DESC, {by}"
            select = ", ".join(f"{sql} AS {col}" for col, sql in counts.items())
            got = self._arrow(
                f"SELECT {by}, {select} FROM {_quote(stored)} GROUP BY {by} ORDER BY {order}"
            )
        out = {by: pd.array(got.column(by).to_pylist(), dtype=_tables.STRING)}
        for col in counts:
            dtype = "float64" if col == "seconds" else "int64"
            out[col] = got.column(col).to_numpy().astype(dtype)
        return pd.DataFrame(out)

    # ------------------------------------------------------------------ oracle labels

    @validate_params({"oracle": [str], "run_id": [str, None]})
    def put_labels(
        self,
        oracle: str,
        ids: Any,
        values: Any,
        *,
        run_id: str | None = None,
    ) -> int:
        """Store oracle labels, in one transaction.

        Outside a :meth:`transaction` block the labels are committed before this returns, and a
        committed label survives a crash of the process. Call this as soon as the oracle has
        answered (or use :meth:`fetch_labels`, which does it batch by batch); inside a
        transaction block, the labels are lost if the block rolls back.

        Parameters
        ----------
        oracle : str
            Key of the oracle *and* of the data it labels, for example
            ``"count_cars:yolov8x@traffic-2024"``: a label is looked up by this key and a
            record id, so two data sets whose ids overlap need two keys.
        ids : array-like of int or of str
            Record ids, all integers or all strings, no repeats. Ids are keyed by their text,
            so ``7`` and ``"7"`` name the same record; :meth:`get_labels` gives integer ids
            back as integers.
        values : array-like of float
            The oracle's answers, one per id, not NaN.
        run_id : str, optional
            The run that paid for the labels (see :meth:`start_run`), kept for tracing.

        Returns
        -------
        int
            The number of labels written. A label already stored for the same ``(oracle, id)``
            is replaced by the new value.

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
        vals = _label_values(values, len(index), "put_labels")
        if index.has_duplicates:
            dup = index[index.duplicated()][0]
            raise InvalidParameterError(
                f"The 'ids' parameter of put_labels must not repeat an id. Got {_py(dup)!r} "
                "more than once."
            )
        if len(index) == 0:
            return 0
        n = len(index)
        batch = pa.table(
            {
                "oracle": pa.array(np.full(n, oracle, dtype=object), pa.string()),
                "id": text,
                "id_is_int": pa.array(np.full(n, is_int)),
                "value": pa.array(vals),
                "time": pa.array(np.full(n, np.datetime64(_now(), "us"))),
                "run_id": pa.array([run_id] * n, pa.string()),
            }
        )
        view = f"_assay_labels_{secrets.token_hex(6)}"
        with self._write() as con:
            con.register(view, batch)
            try:
                con.execute(f"INSERT OR REPLACE INTO {_META}.labels SELECT * FROM {view}")
            except duckdb.Error as exc:
                raise WorkspaceError(
                    f"Storing labels of oracle {oracle!r} in workspace {self._where} failed, "
                    f"nothing was saved: {exc}"
                ) from exc
            finally:
                con.unregister(view)
        return n

    @validate_params({"oracle": [str]})
    def get_labels(self, oracle: str, ids: Any = None) -> pd.Series:
        """The labels already known for an oracle.

        Parameters
        ----------
        oracle : str
            The oracle key given to :meth:`put_labels`.
        ids : array-like of int or of str, optional
            Look up only these ids. Default: every label of the oracle.

        Returns
        -------
        pandas.Series
            Label values (float64) indexed by id (index name ``"id"``), series name the oracle
            key. With ``ids``: only the known ones, in the order asked (a repeated id appears
            each time it was asked), index of the ids as given. Without: all labels, sorted by id.

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
                f"SELECT id, id_is_int, value FROM {_META}.labels WHERE oracle = ?", [oracle]
            )
            text = got.column("id").to_numpy(zero_copy_only=False).astype(object)
            is_int = got.column("id_is_int").to_numpy(zero_copy_only=False).astype(bool)
            values = got.column("value").to_numpy()
            if len(text) and is_int.all():
                index = pd.Index(text.astype("int64"), name="id")
            elif is_int.any():
                mixed = [int(t) if i else t for t, i in zip(text, is_int, strict=True)]
                index = pd.Index(mixed, dtype=object, name="id")
            else:
                index = pd.Index(text.tolist(), name="id")
            series = pd.Series(values, index=index, name=oracle, dtype="float64")
            if is_int.all() or not is_int.any():
                series = series.sort_index()
            return series
        index, text, _ = _normalize_ids(ids, "get_labels")
        pos, values = self._known(oracle, text)
        return pd.Series(values, index=index.take(pos), name=oracle, dtype="float64")

    def _known(self, oracle: str, text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``text`` that have a label, and their values, in position order."""
        if len(text) == 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float64")
        req = pa.table({"pos": pa.array(np.arange(len(text), dtype="int64")), "id": text})
        view = f"_assay_req_{secrets.token_hex(6)}"
        with self._lock:
            con = self._connection()
            con.register(view, req)
            try:
                got = self._arrow(
                    f"SELECT r.pos, l.value FROM {view} r JOIN {_META}.labels l "
                    "ON l.oracle = ? AND l.id = r.id ORDER BY r.pos",
                    [oracle],
                )
            finally:
                con.unregister(view)
        return got.column("pos").to_numpy(), got.column("value").to_numpy()

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
        batch_size: int = 256,
        run_id: str | None = None,
    ) -> pd.Series:
        """Labels for ``ids``, calling the oracle only for ids it has not labelled yet.

        Known labels come from the workspace. The missing ids (each once, in first-seen order)
        go to ``fn`` in batches of at most ``batch_size``; each batch's answers are committed
        before the next call, so a crash or an exception loses at most the batch being paid
        for, and a rerun pays only for what is still missing.

        Parameters
        ----------
        oracle : str
            The oracle key (see :meth:`put_labels`).
        ids : array-like of int or of str
            Record ids; repeats are allowed (sampling with replacement) and are paid for once.
        fn : callable
            ``fn(batch_ids: numpy.ndarray) -> array-like of float`` with one answer per id.
        batch_size : int, default 256
            Most ids per call of ``fn``.
        run_id : str, optional
            Recorded with every new label.

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
        index, text, _ = _normalize_ids(ids, "fetch_labels")
        result = np.full(len(index), np.nan)
        pos, values = self._known(oracle, text)
        result[pos] = values
        todo_pos = np.flatnonzero(np.isnan(result))  # labels are never NaN, so NaN = unknown
        if len(todo_pos):
            keys = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
            todo_keys = pd.Index(keys[todo_pos])
            first = ~todo_keys.duplicated()
            unique_pos = todo_pos[first]
            paid = np.empty(len(unique_pos))
            for start in range(0, len(unique_pos), batch_size):
                batch = index.take(unique_pos[start : start + batch_size])
                answers = _label_values(
                    fn(batch.to_numpy()), len(batch), "fetch_labels", what="fn"
                )
                self.put_labels(oracle, batch, answers, run_id=run_id)
                paid[start : start + len(batch)] = answers
            result[todo_pos] = pd.Series(paid, index=todo_keys[first]).reindex(todo_keys).to_numpy()
        return pd.Series(result, index=index, name=oracle, dtype="float64")

    def oracles(self) -> pd.DataFrame:
        """One row per oracle key: ``oracle``, ``labels`` (count), ``first`` and ``last`` (UTC).

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
            f"SELECT oracle, count(*) AS labels, min(time) AS first, max(time) AS last "
            f"FROM {_META}.labels GROUP BY oracle ORDER BY oracle"
        )
        return pd.DataFrame(
            {
                "oracle": pd.array(got.column("oracle").to_pylist(), dtype=_tables.STRING),
                "labels": got.column("labels").to_numpy().astype("int64"),
                "first": got.column("first").to_numpy().astype("datetime64[us]"),
                "last": got.column("last").to_numpy().astype("datetime64[us]"),
            }
        )

    # ------------------------------------------------------------------ runs

    @validate_params({"kind": [str], "params": [Mapping, None]})
    def start_run(self, kind: str, params: Mapping[str, Any] | None = None) -> str:
        """Record the start of a run and return its id.

        Parameters
        ----------
        kind : str
            What runs, e.g. ``"check"``, ``"audit"``, ``"curate"``, ``"query"``: lowercase
            letters, digits and ``_``, starting with a letter.
        params : mapping, optional
            The run's parameters; stored as JSON (numpy scalars and arrays, paths, dates and
            sets are converted).

        Returns
        -------
        str
            ``"<kind>-<YYYYmmdd>-<HHMMSS>-<4 hex digits>"``, time in UTC, e.g.
            ``"check-20261126-234501-ab12"``; unique in the workspace.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> run_id = ws.start_run("check", {"window": 5})
        >>> run_id  # doctest: +SKIP
        'check-20261126-234501-ab12'
        >>> ws.runs().loc[0, "status"]
        'running'
        """
        self._check_writable("start a run")
        if not _RUN_KIND_RE.fullmatch(kind):
            raise InvalidParameterError(
                "The 'kind' parameter of start_run must be lowercase letters, digits and '_', "
                f"starting with a letter (at most 32), like 'check'. Got {kind!r}."
            )
        params_json = _to_json(dict(params or {}), "params", "start_run")
        with self._lock:
            now = _now()
            for _ in range(100):
                run_id = f"{kind}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
                if not self._query(f"SELECT 1 FROM {_META}.runs WHERE run_id = ?", [run_id]):
                    break
            else:  # pragma: no cover - 65536 ids in one second
                raise WorkspaceError("Could not find a free run id; try again in a second.")
            with self._write() as con:
                try:
                    con.execute(
                        f"INSERT INTO {_META}.runs VALUES (?, ?, 'running', ?, NULL, ?, NULL)",
                        [run_id, kind, now, params_json],
                    )
                except duckdb.Error as exc:
                    raise WorkspaceError(f"Recording run {run_id!r} failed: {exc}") from exc
        return run_id

    @validate_params(
        {"run_id": [str], "status": [Options(RUN_STATUSES)], "summary": [Mapping, None]}
    )
    def finish_run(
        self, run_id: str, status: str = "ok", summary: Mapping[str, Any] | None = None
    ) -> None:
        """Record the end of a run: its status and a JSON summary.

        Parameters
        ----------
        run_id : str
            An id returned by :meth:`start_run` whose run has not finished.
        status : {"ok", "failed", "cancelled"}, default "ok"
            How it ended.
        summary : mapping, optional
            What it produced (counts, estimates, file names), stored as JSON.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> run_id = ws.start_run("audit", {})
        >>> ws.finish_run(run_id, "failed", {"error": "no labels"})
        >>> ws.runs().loc[0, ["status", "summary"]].tolist()
        ['failed', {'error': 'no labels'}]
        """
        self._check_writable("finish a run")
        summary_json = _to_json(dict(summary or {}), "summary", "finish_run")
        with self._lock:
            rows = self._query(f"SELECT status FROM {_META}.runs WHERE run_id = ?", [run_id])
            if not rows:
                raise WorkspaceError(
                    f"Workspace {self._where} has no run {run_id!r}; use an id returned by "
                    "start_run (see runs())."
                )
            if rows[0][0] != "running":
                raise WorkspaceError(
                    f"Run {run_id!r} already finished with status {rows[0][0]!r}; start a new run."
                )
            with self._write() as con:
                try:
                    con.execute(
                        f"UPDATE {_META}.runs SET status = ?, finished = ?, summary = ? "
                        "WHERE run_id = ?",
                        [status, _now(), summary_json, run_id],
                    )
                except duckdb.Error as exc:
                    raise WorkspaceError(f"Recording the end of run {run_id!r} failed: {exc}") from exc

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``run_id``, ``kind``, ``status`` (``"running"`` until finished, also for a
            run whose process died), ``started`` and ``finished`` (UTC), ``params`` and
            ``summary`` (dicts; ``summary`` is None until finished).
        """
        rows = self._query(
            f"SELECT run_id, kind, status, started, finished, params, summary FROM {_META}.runs "
            "ORDER BY started, run_id"
        )
        return pd.DataFrame(
            {
                "run_id": pd.array([r[0] for r in rows], dtype=_tables.STRING),
                "kind": pd.array([r[1] for r in rows], dtype=_tables.STRING),
                "status": pd.array([r[2] for r in rows], dtype=_tables.STRING),
                "started": pd.to_datetime([r[3] for r in rows]).astype("datetime64[us]"),
                "finished": pd.to_datetime([r[4] for r in rows]).astype("datetime64[us]"),
                "params": pd.Series([json.loads(r[5]) for r in rows], dtype=object),
                "summary": pd.Series(
                    [None if r[6] is None else json.loads(r[6]) for r in rows], dtype=object
                ),
            }
        )


# ---------------------------------------------------------------------- helpers


def _now() -> datetime:
    """The current UTC time as a naive datetime (how the workspace stores times)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _check_name(name: str, caller: str) -> None:
    if not _NAME_RE.fullmatch(name):
        raise InvalidParameterError(
            f"The 'name' parameter of {caller} must be letters, digits, '_', '-' or '.', "
            f"starting with a letter or '_' (at most 128 characters). Got {name!r}."
        )


@dataclass(frozen=True)
class _Prepared:
    """A table converted for storage: column specs, Arrow data and what the metadata keeps."""

    specs: list[dict[str, Any]]
    arrow: pa.Table
    schema_blob: bytes
    attrs: str


#: Arrow types fixed per kind, so that every batch of a table stores the same column type
#: (an all-empty ``obs_ids`` column would otherwise be inferred as a list of nulls).
_ARROW_TYPES = {"findings": {"obs_ids": pa.list_(pa.int64())}}


def _prepare(df: pd.DataFrame, name: str, kind: str) -> _Prepared:
    specs, dtypes = _column_specs(df, name)
    attrs = _attrs_json(df.attrs, name)
    arrow = _dtypes.to_arrow(df, dtypes, types=_ARROW_TYPES.get(kind))
    return _Prepared(specs, arrow, arrow.schema.serialize().to_pybytes(), attrs)


def _check_oracle(oracle: str, caller: str) -> None:
    if not oracle.strip():
        raise InvalidParameterError(
            f"The 'oracle' parameter of {caller} must be a non-empty key. Got {oracle!r}."
        )


def _drop_index(table: pd.DataFrame, name: str) -> pd.DataFrame:
    index = table.index
    if isinstance(index, pd.MultiIndex) or index.name is not None:
        raise InvalidParameterError(
            f"Table {name!r} has a named index ({', '.join(map(str, index.names))}); a "
            "workspace stores columns only. Call table.reset_index() to keep the index as "
            "columns, or table.reset_index(drop=True) to drop it."
        )
    out = table.reset_index(drop=True)
    out.attrs.update(table.attrs)
    return out


def _column_specs(df: pd.DataFrame, name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    if df.shape[1] == 0:
        raise InvalidParameterError(f"Table {name!r} has no columns; a workspace cannot store it.")
    seen: dict[str, Any] = {}
    specs, dtypes = [], []
    for col, dtype in df.dtypes.items():
        if not isinstance(col, str) or not col:
            raise InvalidParameterError(
                f"Table {name!r}: column names must be non-empty strings; got {col!r}. Rename "
                "the columns, e.g. df.columns = df.columns.map(str)."
            )
        if col.lower() in seen:
            raise InvalidParameterError(
                f"Table {name!r}: columns {seen[col.lower()]!r} and {col!r} differ only in case, "
                "which DuckDB treats as the same name. Rename one of them."
            )
        seen[col.lower()] = col
        try:
            spec = _dtypes.encode_dtype(dtype)
        except _dtypes.UnsupportedDtype as exc:
            raise InvalidParameterError(
                f"Table {name!r}: column {col!r} cannot be stored: {exc}. Convert it first, "
                "for example to float64, Int64, a string dtype or object."
            ) from None
        specs.append({"name": col, **spec})
        dtypes.append(dtype)
    return specs, dtypes


def _attrs_json(attrs: Mapping[str, Any], name: str) -> str:
    try:
        return json.dumps(dict(attrs), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"Table {name!r}: table.attrs must be JSON-serializable to be stored ({exc}). "
            "Remove or convert the offending entry."
        ) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serializable")


def _to_json(value: dict[str, Any], param: str, caller: str) -> str:
    try:
        return json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {param!r} parameter of {caller} must be JSON-serializable: {exc}."
        ) from None


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

