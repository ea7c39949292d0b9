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
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from .. import tables as _tables
from .._validation import Interval, Options, check_param, validate_params
from ..exceptions import InvalidParameterError, WorkspaceError, WorkspaceLockedError
from . import _dtypes, _schema
from ._labels import LabelsMixin
from ._oracles import NamedOraclesMixin
from ._runs import RunsMixin
from ._util import json_default as _json_default
from ._util import now as _now
from ._util import py_scalar as _py
from ._util import quote as _quote
from ._util import to_json as _to_json

__all__ = ["Workspace"]

#: Version of the metadata layout; a workspace written by a newer layout is refused, an older
#: one is migrated when opened for writing.
FORMAT_VERSION = _schema.FORMAT_VERSION

#: Kinds of named table: the three canonical kinds, validated on add, and free-form tables.
TABLE_KINDS = ("observations", "records", "findings", "ego_poses", "table")

#: What :meth:`Workspace.summary` can group an observations table by.
SUMMARY_BY = ("stream", "cls", "source")

#: Key of ``DataFrame.attrs`` under which :meth:`Workspace.read` records where a frame came
#: from (workspace, table name, uid, revision, rows); never stored with a table.
TABLE_ATTR = "workspace_table"

_META = _schema.META
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")

#: Connecting to a file and closing a connection are serialised in a process: DuckDB (2.0)
#: loses its Python table functions ("python_arrow_scan does not exist") on a connection made
#: while another thread closes the last connection to the same file, as two workspaces of one
#: server do when they open the file for each call (``hold=False``, one per request).
_CONNECTING = threading.Lock()


def _disconnect(con: duckdb.DuckDBPyConnection) -> None:
    with _CONNECTING:
        con.close()


class Workspace(LabelsMixin, RunsMixin, NamedOraclesMixin):
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
    hold : bool, default True
        Keep the file open until :meth:`close`. With ``hold=False`` the file is opened for
        each call and closed after it (and while :meth:`fetch_labels` waits for an oracle),
        so other processes can open the workspace between calls: what a long-running server
        such as ``assay review`` needs. Each call then pays for opening the file (a few tens
        of milliseconds).
    wait : float, default 0
        Seconds to keep trying while another process has the file open, before
        :class:`~assay.exceptions.WorkspaceLockedError`.

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

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        read_only: bool = False,
        hold: bool = True,
        wait: float = 0.0,
    ) -> None:
        check_param("path", path, ["path"], "Workspace")
        check_param("read_only", read_only, [bool], "Workspace")
        check_param("hold", hold, [bool], "Workspace")
        check_param("wait", wait, [Interval(float, 0, None)], "Workspace")
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._uses = 0
        self._depth = 0
        self._doomed = False
        self._read_only = read_only
        self._hold = hold
        self._wait = float(wait)
        self._id = ""
        #: The format version this workspace was migrated from when it was opened, else None.
        self.migrated_from: int | None = None
        memory = os.fspath(path) == ":memory:"
        self._path = None if memory else Path(path).expanduser().absolute()
        if memory and read_only:
            raise InvalidParameterError(
                "The 'read_only' parameter of Workspace must be False for an in-memory "
                "workspace (path=':memory:'), which starts empty. Got True."
            )
        if memory and not hold:
            raise InvalidParameterError(
                "The 'hold' parameter of Workspace must be True for an in-memory workspace "
                "(path=':memory:'): closing it would lose everything. Got False."
            )
        if self.path is not None:
            self._check_path()
        self._open()
        try:
            self._init_metadata()
        except BaseException:
            _disconnect(self._con)  # type: ignore[arg-type]
            self._con = None
            raise
        self._release()

    def _open(self) -> None:
        """Connect to the file, waiting up to ``wait`` seconds while another process has it."""
        memory = self.path is None
        deadline = time.monotonic() + self._wait
        pause = 0.02
        while True:
            try:
                with _CONNECTING:
                    self._con = duckdb.connect(":memory:" if memory else str(self.path),
                                               read_only=self.read_only)
                break
            except duckdb.Error as exc:
                locked = "Could not set lock" in str(exc) or "Conflicting lock" in str(exc)
                if not locked or time.monotonic() + pause > deadline:
                    raise self._open_error(exc) from exc
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
        # a library prints nothing: DuckDB's own progress bar would write to stdout
        self._con.execute("SET enable_progress_bar = false")
        # Strings come out of DuckDB as Arrow large_string, what pandas' Arrow-backed strings
        # hold, so reading them needs no copy.
        self._con.execute("SET arrow_large_buffer_size = true")

    @contextmanager
    def _held(self) -> Iterator[None]:
        """Keep the file open for the block (a workspace with ``hold=False`` opens it for each
        call and closes it after, so other processes can use it between calls)."""
        with self._lock:
            self._uses += 1
        try:
            yield
        finally:
            with self._lock:
                self._uses -= 1
                self._release()

    def _release(self) -> None:
        if (not self._hold and self._uses == 0 and self._depth == 0 and self._con is not None):
            _disconnect(self._con)
            self._con = None

    @contextmanager
    def _let_go(self) -> Iterator[None]:
        """Close the file for the block even inside a call (while an oracle thinks), when the
        workspace does not hold it; reopened on the next use."""
        with self._lock:
            uses, self._uses = self._uses, 0
            self._release()
        try:
            yield
        finally:
            with self._lock:
                self._uses += uses

    @property
    def hold(self) -> bool:
        """Whether the file stays open from creation to :meth:`close` (``hold=False``: only
        during each call)."""
        return self._hold

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
                    con.execute(_schema.SCHEMA_SQL)
                    con.execute(
                        f"INSERT INTO {_META}.meta VALUES ('format_version', ?), ('created', ?), "
                        "('workspace_id', ?)",
                        [str(FORMAT_VERSION), _now().isoformat(), _schema.new_uid()],
                    )
                    con.commit()
                except BaseException:
                    con.rollback()
                    raise
            meta = dict(con.execute(f"SELECT key, value FROM {_META}.meta").fetchall())
        except duckdb.Error as exc:
            raise WorkspaceError(
                f"Cannot open workspace {self._where}: reading its metadata failed ({exc}). "
                "The file may be damaged; restore it from a copy, or start a new workspace at "
                "another path."
            ) from exc
        version = int(meta.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise WorkspaceError(
                f"Workspace {self._where} has format version {version}, written by a newer "
                f"assay; this one reads up to version {FORMAT_VERSION}. Upgrade assay."
            )
        if version < FORMAT_VERSION:
            self._migrate(version)
            meta = dict(con.execute(f"SELECT key, value FROM {_META}.meta").fetchall())
        self._id = meta["workspace_id"]

    def _migrate(self, version: int) -> None:
        """Bring a workspace of an older format up to :data:`FORMAT_VERSION`, all or nothing."""
        if self.read_only:
            raise WorkspaceError(
                f"Workspace {self._where} has format version {version}; this assay uses "
                f"version {FORMAT_VERSION} and migrates a workspace when it opens it for "
                "writing. Open it once for writing (Workspace(path), or on the command line "
                f"`assay migrate {self.path}`), then read it."
            )
        con = self._connection()
        start = version
        con.begin()
        try:
            while version < FORMAT_VERSION:
                step = _schema.MIGRATIONS.get(version)
                if step is None:
                    raise WorkspaceError(
                        f"Workspace {self._where} has format version {version}, which this "
                        "assay cannot migrate. Export its tables with an older assay."
                    )
                step(con)
                version += 1
            con.execute(
                f"INSERT OR REPLACE INTO {_META}.meta VALUES ('format_version', ?), "
                "('migrated_from', ?), ('migrated', ?)",
                [str(version), str(start), _now().isoformat()],
            )
            con.execute(
                f"INSERT OR IGNORE INTO {_META}.meta VALUES ('workspace_id', ?)", [_schema.new_uid()]
            )
            con.commit()
        except BaseException:
            self._rollback(con)
            raise
        self.migrated_from = start

    @property
    def id(self) -> str:
        """The workspace's own id (16 hex digits), fixed when the file was created."""
        return self._id

    def checkpoint(self) -> None:
        """Write everything committed into the workspace file itself.

        A commit makes data durable in DuckDB's write-ahead log (``<file>.wal``); a checkpoint
        moves it into the file. Commands that report success (``assay ingest`` ...) call this
        first, so that "stored" means stored in the file.

        Raises
        ------
        WorkspaceError
            The checkpoint failed (a full disk, a file-size limit). The committed data is still
            in the write-ahead log, and DuckDB finishes writing it the next time the workspace
            is opened with room to do so; the message says this.
        """
        if self.path is None or self.read_only:
            return
        with self._lock:
            try:
                self._connection().execute("CHECKPOINT")
            except duckdb.Error as exc:
                raise WorkspaceError(
                    f"The data is committed to the write-ahead log {self.path}.wal but could not "
                    f"be written into {self.path} ({exc}). It is not lost: free disk space, and "
                    "the next time the workspace is opened DuckDB finishes writing it. Until then "
                    f"keep {self.path.name}.wal next to the workspace."
                ) from exc

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
            self._closed = True
            if self._con is not None:
                _disconnect(self._con)
                self._con = None
                self._depth = 0

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

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
        if self._closed:
            raise WorkspaceError(f"Workspace {self._where} is closed; open a new Workspace.")
        if self._con is None:  # hold=False: opened for this call
            self._open()
        return self._con  # type: ignore[return-value]

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
            finally:
                self._release()

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
        {
            "name": [str],
            "table": [pd.DataFrame],
            "kind": [Options(TABLE_KINDS)],
            "replace": [bool],
            "discard_results": [bool],
            "writer": [str, None],
        }
    )
    def add(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        kind: str = "observations",
        replace: bool = False,
        discard_results: bool = False,
        writer: str | None = None,
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
            ``table.attrs`` is stored (as JSON) and restored by :meth:`read` (except
            ``attrs["workspace_table"]``, which :meth:`read` sets).
        kind : {"observations", "records", "findings", "ego_poses", "table"}, default "observations"
            The canonical schema to validate against, or ``"table"`` for any frame.
        replace : bool, default False
            Overwrite a table of the same name. Without it an existing name is an error. The
            new table gets a new identity (see :meth:`table_info`): answers cached for the old
            one are not reused for it unless the records match them field for field.
        discard_results : bool, default False
            Needed, with ``replace``, to overwrite a table that holds the results of runs
            (findings, a campaign's rounds): replacing it discards them. The error without it
            says what would be lost.
        writer : str, optional
            The component that owns the table (``"findings"``, ``"curate"``, ...); set by
            assay's own components, which may then rewrite their table without
            ``discard_results``.

        Raises
        ------
        SchemaError
            The table does not follow its canonical schema.
        InvalidParameterError
            A bad name, a column that cannot be stored (the message says which and why), or
            ``attrs`` that are not JSON.
        WorkspaceError
            The name is taken and ``replace`` is False; the table holds results of runs and
            ``discard_results`` is False; or the workspace is read-only.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add("scores", pd.DataFrame({"id": [1, 2], "proxy": [0.1, 0.7]}), kind="records")
        >>> ws.add("scores", pd.DataFrame({"id": [3], "proxy": [0.2]}), kind="records")
        Traceback (most recent call last):
        ...
        assay.exceptions.WorkspaceError: Workspace ':memory:' already has a table named 'scores'; pass replace=True to overwrite it, append to add rows, or pick another name. Its tables are 'scores'.
        """
        self._check_writable(f"add table {name!r}")
        _check_name(name, "add")
        df = self._validated(table, name, kind)
        prepared = _prepare(df, name, kind)
        with self._lock:
            existing = self._replaced(name, replace, discard_results, writer)
            self._create(name, kind, prepared, replace=existing, writer=writer)

    def _replaced(self, name: str, replace: bool, discard_results: bool, writer: str | None
                  ) -> str | None:
        """The stored table that table ``name`` will replace (None if new), or the error
        saying why it may not."""
        existing = self._lookup(name)
        if existing is not None and not replace:
            raise WorkspaceError(
                f"Workspace {self._where} already has a table named {existing!r}; pass "
                "replace=True to overwrite it, append to add rows, or pick another name. "
                f"Its tables are {', '.join(repr(n) for n in self._names())}."
            )
        if existing is not None and not discard_results:
            self._check_discard(existing, writer)
        return existing

    @validate_params(
        {
            "name": [str],
            "query": [str, list],
            "like": [pd.DataFrame],
            "kind": [Options(TABLE_KINDS)],
            "numbered": [str, None],
            "computed": [Mapping, None],
            "replace": [bool],
            "discard_results": [bool],
        }
    )
    def add_query(
        self,
        name: str,
        query: str | list[str],
        *,
        like: pd.DataFrame,
        kind: str = "observations",
        numbered: str | None = None,
        computed: Mapping[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] | None = None,
        replace: bool = False,
        discard_results: bool = False,
    ) -> int:
        """Store the rows of a DuckDB query as a table, typed as ``like``, in one transaction.

        The rows go from the query into the workspace inside DuckDB, never through Python:
        the way to store what DuckDB reads (``read_csv``, ``read_parquet``) at its own speed.
        The table gets the columns, dtypes, column order and ``attrs`` of ``like`` (validated
        as ``kind``, as :meth:`add` does), and reads back with them.

        Parameters
        ----------
        name : str
            As for :meth:`add`.
        query : str or list of str
            A ``SELECT`` whose result columns are named as ``like``'s (in any order; a column
            it lacks is NULL); each value is cast to its column's type. Several are inserted
            one after the other. The rows are **not** checked against the schema of ``kind``:
            the query must produce valid rows (put the checks in it, for example
            ``CASE WHEN ok THEN value ELSE error('...') END``).
        like : pandas.DataFrame
            The table's columns, dtypes and ``attrs``; its rows are not stored.
        kind : str
            As for :meth:`add`.
        numbered : str, optional
            A column set to 0, 1, 2, ... in the order the rows come from the queries (as
            ``obs_id`` numbers the rows read from files). Numbering here, rather than with
            ``row_number() OVER ()`` in the query, keeps DuckDB's reading parallel: a window
            over all rows runs the whole query on one thread.
        computed : mapping, optional
            Column to ``(column, function)``: once the rows are stored, the first column is
            set to ``function`` of the second's values (a numpy array, in row order; NaN for
            missing). For what Python must compute as it always has, bit for bit (numpy's
            ``tanh``, which DuckDB's differs from in the last bit).
        replace, discard_results : bool
            As for :meth:`add`.

        Returns
        -------
        int
            Rows stored.

        Raises
        ------
        WorkspaceError
            The query failed (nothing was stored; inside a :meth:`transaction` the whole
            transaction is then rolled back, as DuckDB cannot keep part of it), or as for
            :meth:`add`.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> like = pd.DataFrame({"id": pd.Series([], dtype="int64"),
        ...                      "proxy": pd.Series([], dtype="float64")})
        >>> ws.add_query("squares", "SELECT i AS id, i * i / 10 AS proxy FROM range(3) t(i)",
        ...              like=like, kind="records")
        3
        >>> ws.read("squares")
           id  proxy
        0   0    0.0
        1   1    0.1
        2   2    0.4
        """
        self._check_writable(f"add table {name!r}")
        _check_name(name, "add_query")
        df = self._validated(like.iloc[:0], name, kind)
        df.attrs = {k: v for k, v in like.attrs.items() if k != TABLE_ATTR}
        prepared = _prepare(df, name, kind)
        with self._lock:
            existing = self._replaced(name, replace, discard_results, None)
            queries = [query] if isinstance(query, str) else query
            return self._create(name, kind, prepared, replace=existing, queries=queries,
                                numbered=numbered, computed=computed)

    def _validated(self, table: pd.DataFrame, name: str, kind: str) -> pd.DataFrame:
        if kind == "table":
            df = _drop_index(table, name)
        else:
            df = _tables.validate(table, kind, name=name)
        if TABLE_ATTR in df.attrs:
            if df is table:
                df = df.copy(deep=False)
            df.attrs = {k: v for k, v in table.attrs.items() if k != TABLE_ATTR}
        return df

    def _check_discard(self, stored: str, writer: str | None) -> None:
        """Refuse to replace a table holding results of runs, saying what would be lost."""
        kind, owner, rows = self._query(
            f"SELECT kind, writer, rows FROM {_META}.tables WHERE name = ?", [stored]
        )[0]
        if owner is None or owner == writer:
            return
        if kind == "findings":
            runs = [r[0] for r in self._query(
                f"SELECT DISTINCT run_id FROM {_quote(stored)} ORDER BY run_id")]
            shown = ", ".join(runs[:3]) + (", ..." if len(runs) > 3 else "")
            what = f"the {rows:,} findings of {len(runs)} run(s) ({shown})"
        else:
            what = f"{rows:,} rows of results written by assay's {owner} runs"
        raise WorkspaceError(
            f"Table {stored!r} in workspace {self._where} holds {what}; replacing it discards "
            "them. Pass discard_results=True as well to replace it, or store the new table "
            "under another name."
        )

    def _create(
        self, name: str, kind: str, prepared: _Prepared, *, replace: str | None,
        writer: str | None = None, queries: list[str] | None = None,
        numbered: str | None = None,
        computed: Mapping[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] | None = None,
    ) -> int:
        """Create table ``name`` and its metadata in one transaction, dropping ``replace``.

        The rows are ``prepared.arrow``'s, then those of the DuckDB ``queries`` (inserted in
        order, by column name, into a table typed as ``prepared.arrow``), column ``numbered``
        then set to each row's number in that order. Returns the rows stored."""
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
                rows = prepared.arrow.num_rows
                for one in queries or ():
                    rows += con.execute(f"INSERT INTO {_quote(name)} BY NAME {one}").fetchall()[0][0]
                if numbered is not None and rows:
                    self._number(con, _quote(name), _quote(numbered))
                for column, (of, function) in (computed or {}).items():
                    self._compute(con, _quote(name), column, of, function)
                now = _now()
                summary, stats = None, [None, None, None]
                if kind == "observations":
                    columns, stats = self._summary_and_stats(con, _quote(name), prepared.specs)
                    summary = json.dumps(columns)
                con.execute(
                    f"INSERT INTO {_META}.tables VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        name, kind, rows, json.dumps(prepared.specs),
                        prepared.schema_blob, prepared.attrs, now, *stats,
                        _schema.new_uid(), 1, now, writer, summary,
                    ],
                )
            except duckdb.Error as exc:
                raise WorkspaceError(
                    f"Storing table {name!r} in workspace {self._where} failed, nothing was "
                    f"saved: {exc}"
                ) from exc
        return rows

    @staticmethod
    def _number(con: duckdb.DuckDBPyConnection, table: str, column: str) -> None:
        """Set ``column`` of the new ``table`` to 0, 1, 2, ... in the order of its rows.

        The column is rewritten from a sequence (``ALTER ... USING nextval``), which DuckDB
        (2.0) evaluates over the rows in their order, on one thread: cheaper than an
        ``UPDATE`` of every row, whose commit and checkpoint rewrite what was just written
        (``benchmarks/bench_ingest.py --breakdown`` shows what numbering costs). The order is then
        checked against the row ids (a new table's row ids follow its rows' order, from a base
        that inside a transaction is not 0); should it differ, an ``UPDATE`` numbers them.

        The sequence is the database's own, not a temporary one, though it is dropped at once:
        a commit not yet checkpointed keeps the ``ALTER`` in the write-ahead log as a statement,
        which DuckDB replays when the file is next opened, after the sequence's creation.
        """
        sequence = f"_assay_number_{secrets.token_hex(6)}"
        kind = con.execute(f"SELECT typeof({column}) FROM {table} LIMIT 1").fetchall()[0][0]
        con.execute(f"CREATE SEQUENCE {sequence} MINVALUE 0 START 0")
        con.execute(f"ALTER TABLE {table} ALTER {column} SET DATA TYPE {kind} "
                    f"USING nextval('{sequence}')")
        con.execute(f"DROP SEQUENCE {sequence}")
        low, high, first = con.execute(
            f"SELECT min({column} - rowid), max({column} - rowid), min({column}) FROM {table}"
        ).fetchall()[0]
        if low != high or first != 0:
            con.execute(f"UPDATE {table} SET {column} = rowid - first "
                        f"FROM (SELECT min(rowid) AS first FROM {table})")

    @staticmethod
    def _compute(con: duckdb.DuckDBPyConnection, table: str, column: str, of: str,
                 function: Callable[[np.ndarray], np.ndarray]) -> None:
        """Set ``column`` of ``table`` to ``function`` of column ``of`` (see ``add_query``)."""
        got = con.sql(f"SELECT rowid AS r, {_quote(of)} AS v FROM {table} ORDER BY rowid"
                      ).to_arrow_table()
        values = got.column("v").to_numpy(zero_copy_only=False)
        view = f"_assay_computed_{secrets.token_hex(6)}"
        con.register(view, pa.table({"r": got.column("r"), "v": function(values)}))
        try:
            con.execute(f"UPDATE {table} SET {_quote(column)} = {view}.v FROM {view} "
                        f"WHERE {table}.rowid = {view}.r")
        finally:
            con.unregister(view)

    @staticmethod
    def _stats(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> list[Any]:
        if kind != "observations":
            return [None, None, None]
        return list(
            con.execute(
                "SELECT count(DISTINCT stream), count(DISTINCT cls), "
                f"count(DISTINCT source) FROM {_quote(name)}"
            ).fetchall()[0]
        )

    @validate_params(
        {"name": [str], "table": [pd.DataFrame], "kind": [Options(TABLE_KINDS), None],
         "renumber": [bool]}
    )
    def append(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        kind: str | None = None,
        renumber: bool = False,
    ) -> int:
        """Append rows to a table, in one transaction (creating the table if it is new).

        The rows must have the columns and dtypes the table has. An observations table refuses
        rows of a stream it already holds (append whole streams; replace the table to change
        one) and ``obs_id`` values it already uses; a records table refuses ``id`` values it
        already uses. The table keeps its identity (cached answers for its records stay
        valid), and its revision goes up by one. ``attrs`` are merged: a mapping entry (such as
        per-stream image sizes) gains the new keys, other entries keep the stored value.

        Parameters
        ----------
        name : str
        table : pandas.DataFrame
        kind : {"observations", "records", "findings", "ego_poses", "table"}, optional
            Default: the stored table's kind (``"observations"`` for a new table). Must match
            the stored kind.
        renumber : bool, default False
            Shift the new rows' ``obs_id`` so they follow the stored ones (observations read
            from files number their rows from 0).

        Returns
        -------
        int
            Rows appended.

        Examples
        --------
        >>> import pandas as pd
        >>> import assay
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> cam = lambda s: assay.as_observations(
        ...     pd.DataFrame({"frame": [0, 1], "cls": "car"}), stream=s, source="labels", fps=10)
        >>> ws.append("obs", cam("cam1"))
        2
        >>> ws.append("obs", cam("cam2"), renumber=True)
        2
        >>> ws.read("obs")[["stream", "obs_id"]].values.tolist()
        [['cam1', 0], ['cam1', 1], ['cam2', 2], ['cam2', 3]]
        >>> ws.append("obs", cam("cam2"), renumber=True)
        Traceback (most recent call last):
        ...
        assay.exceptions.WorkspaceError: Cannot append to 'obs': it already holds stream 'cam2'. Append whole streams under new names, or replace the table.
        """
        self._check_writable(f"append to table {name!r}")
        _check_name(name, "append")
        return self._append(name, table, kind=kind, renumber=renumber, writer=None,
                            verb="append rows")

    def _append(
        self, name: str, table: pd.DataFrame, *, kind: str | None, renumber: bool,
        writer: str | None, verb: str,
    ) -> int:
        with self._lock:
            existing = self._lookup(name)
            if existing is None:
                kind = kind or "observations"
                df = self._validated(table, name, kind)
                self._create(name, kind, _prepare(df, name, kind), replace=None, writer=writer)
                return len(df)
            stored_kind, columns, stored_attrs = self._query(
                f"SELECT kind, columns, attrs FROM {_META}.tables WHERE name = ?", [existing]
            )[0]
            if kind is not None and kind != stored_kind:
                raise WorkspaceError(
                    f"Cannot {verb} to {existing!r} in workspace {self._where}: it holds "
                    f"{stored_kind}. Pass another name."
                )
            df = self._validated(table, name, stored_kind)
            if len(df) == 0:
                return 0
            if renumber and "obs_id" in df.columns:
                top = self._query(f"SELECT max(obs_id) FROM {_quote(existing)}")[0][0]
                if top is not None:
                    df = df.assign(obs_id=df["obs_id"].to_numpy() - int(df["obs_id"].min()) + int(top) + 1)
            stored = json.loads(columns)
            added: list[dict[str, Any]] = []
            if stored_kind == "findings":
                df, added = _fit_optional_findings(df, stored)
                stored = stored + added
            prepared = _prepare(df, name, stored_kind)
            if stored != prepared.specs:
                have = ", ".join(f"{c['name']} ({c['dtype']})" for c in stored)
                got = ", ".join(f"{c['name']} ({c['dtype']})" for c in prepared.specs)
                raise InvalidParameterError(
                    f"Rows appended to {existing!r} must have the columns it has: {have}. Got "
                    f"{got}. Store them under another name, or convert them first."
                )
            attrs = _merge_attrs(json.loads(stored_attrs), json.loads(prepared.attrs))
            view = f"_assay_ingest_{secrets.token_hex(6)}"
            con = self._connection()
            con.register(view, prepared.arrow)
            try:
                self._check_append_keys(existing, stored_kind, view)
                with self._write() as con:
                    try:
                        summary = None
                        if stored_kind == "observations":
                            before = self._query(
                                f"SELECT stream_summary FROM {_META}.tables WHERE name = ?",
                                [existing])[0][0]
                            if before is not None:
                                summary = self._stream_summary(con, view, stored, before)
                        if added:
                            self._add_columns(con, existing, view, stored, added, prepared.arrow.schema)
                        con.execute(f"INSERT INTO {_quote(existing)} SELECT * FROM {view}")
                        stats = self._stats(con, existing, stored_kind)
                        con.execute(
                            f"UPDATE {_META}.tables SET rows = rows + ?, revision = revision + 1, "
                            "modified = ?, attrs = ?, streams = ?, classes = ?, sources = ?, "
                            "stream_summary = ? WHERE name = ?",
                            [len(df), _now(), _to_json(attrs, "table.attrs", "append"), *stats,
                             summary, existing],
                        )
                    except duckdb.Error as exc:
                        raise WorkspaceError(
                            f"Appending to {existing!r} in workspace {self._where} failed, "
                            f"nothing was saved: {exc}"
                        ) from exc
            finally:
                con.unregister(view)
        return len(df)

    @staticmethod
    def _add_columns(con: duckdb.DuckDBPyConnection, stored: str, view: str,
                     specs: list[dict[str, Any]], added: list[dict[str, Any]], schema: pa.Schema) -> None:
        """Give a stored table the ``added`` columns (rows already there read as missing),
        typed as ``view``'s, and record its new ``specs`` and Arrow ``schema``."""
        blob = con.execute(f"SELECT arrow_schema FROM {_META}.tables WHERE name = ?", [stored]).fetchall()[0][0]
        old = pa.ipc.read_schema(pa.py_buffer(blob))
        for spec in added:
            col = spec["name"]
            sql_type = con.execute(f"SELECT column_type FROM (DESCRIBE SELECT {_quote(col)} FROM {view})").fetchall()[0][0]
            con.execute(f"ALTER TABLE {_quote(stored)} ADD COLUMN {_quote(col)} {sql_type}")
            old = old.append(schema.field(col))
        con.execute(f"UPDATE {_META}.tables SET columns = ?, arrow_schema = ? WHERE name = ?",
                    [json.dumps(specs), old.serialize().to_pybytes(), stored])

    def _check_append_keys(self, stored: str, kind: str, view: str) -> None:
        checks = []
        if kind == "observations":
            checks = [("stream", "stream", "Append whole streams under new names, or replace "
                       "the table."),
                      ("obs_id", "obs_id", "Pass renumber=True to number the new rows after "
                       "the stored ones.")]
        elif kind == "records":
            checks = [("id", "record id", "Records of one table need distinct ids.")]
        for col, what, advice in checks:
            hit = self._query(
                f"SELECT n.{col} FROM (SELECT DISTINCT {col} FROM {view}) n "
                f"SEMI JOIN {_quote(stored)} t ON t.{col} = n.{col} ORDER BY n.{col} LIMIT 1"
            )
            if hit:
                raise WorkspaceError(
                    f"Cannot append to {stored!r}: it already holds {what} {_py(hit[0][0])!r}. "
                    f"{advice}"
                )

    @validate_params({"name": [str]})
    def table_info(self, name: str) -> dict[str, Any]:
        """What identifies a table: ``name``, ``kind``, ``rows``, ``uid``, ``revision``,
        ``identity`` (``"table:<uid>"``, what cached answers and run lineage refer to),
        ``created``, ``modified`` (UTC) and ``writer``.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add("t", pd.DataFrame({"x": [1]}), kind="table")
        >>> info = ws.table_info("t")
        >>> info["identity"] == "table:" + info["uid"], info["revision"]
        (True, 1)
        """
        with self._lock:
            stored = self._require(name)
            kind, rows, uid, revision, created, modified, writer = self._query(
                f"SELECT kind, rows, uid, revision, created, modified, writer FROM {_META}.tables "
                "WHERE name = ?", [stored]
            )[0]
        return {"name": stored, "kind": kind, "rows": int(rows), "uid": uid,
                "revision": int(revision), "identity": f"table:{uid}", "created": created,
                "modified": modified, "writer": writer}

    @validate_params({"name": [str], "stream": [str, list, tuple, None], "frames": [tuple, list, None]})
    def read(self, name: str, *, stream: str | Sequence[str] | None = None,
             frames: tuple[int, int] | list[int] | None = None) -> pd.DataFrame:
        """Read a named table back, with the dtypes, column order and ``attrs`` it was added with.

        Parameters
        ----------
        name : str
            The table's name (case-insensitive).
        stream : str or list of str, optional
            Only rows of this stream (or these streams; the table needs a ``stream`` column).
            Filtered in DuckDB, so reading one stream of a large table reads little.
        frames : (first, last), optional
            Only rows with ``first <= frame <= last`` (the table needs a ``frame`` column).

        Returns
        -------
        pandas.DataFrame
            The rows in the order they were added, with a fresh ``RangeIndex``. Columns of
            ``object`` dtype come back as Python objects (``str``, ``int``, ``list``, ``dict``;
            missing values as ``None``). ``attrs["workspace_table"]`` says where the frame came
            from (``workspace`` id, ``name``, ``uid``, ``revision``, ``rows``), so queries and
            runs given the frame can key cached answers and record lineage by it.

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
            stored = self._require(name)
            if stream is None and frames is None:
                return self._read(stored)
            conditions, params = [], []
            if isinstance(stream, str):
                conditions.append('"stream" = ?')
                params.append(stream)
            elif stream is not None:
                streams = list(stream)
                conditions.append(f'"stream" IN ({", ".join("?" * len(streams))})' if streams else "FALSE")
                params += streams
            if frames is not None:
                if len(frames) != 2:
                    raise InvalidParameterError(
                        f"The 'frames' parameter of read must be (first, last). Got {frames!r}.")
                conditions.append('"frame" BETWEEN ? AND ?')
                params += [int(frames[0]), int(frames[1])]
            try:
                return self._read(stored, "WHERE " + " AND ".join(conditions), params)
            except WorkspaceError as exc:
                raise WorkspaceError(
                    f"Cannot read {stored!r} by stream or frames: {exc}. Only tables with "
                    "'stream' and 'frame' columns (observations, findings) can be filtered."
                ) from exc

    def _read(self, stored: str, where: str = "", params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            columns, schema_blob, attrs, uid, revision, rows = self._query(
                f"SELECT columns, arrow_schema, attrs, uid, revision, rows FROM {_META}.tables "
                "WHERE name = ?", [stored]
            )[0]
            specs = json.loads(columns)
            cols = ", ".join(_quote(s["name"]) for s in specs)
            arrow = self._arrow(f"SELECT {cols} FROM {_quote(stored)} {where}", params)
        schema = pa.ipc.read_schema(pa.py_buffer(schema_blob))
        df = _dtypes.from_arrow(arrow, specs, schema)
        df.attrs.update(json.loads(attrs))
        if not where:
            df.attrs[TABLE_ATTR] = {"workspace": self._id, "name": stored, "uid": uid,
                                    "revision": int(revision), "rows": int(rows)}
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
            :func:`assay.tables.validate`; extra columns must be the same in every append,
            except the optional ones (:data:`assay.tables.OPTIONAL_FINDING_COLUMNS`, such as
            the ``priority`` of :func:`~assay.check`): findings without one the table has
            read it as missing, and a table without one gains it (its rows read as missing).
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
        return self._append(name, df, kind="findings", renumber=False, writer="findings",
                            verb="add findings")

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
            ``columns`` (how many), ``created`` (UTC), for observations tables the number of
            distinct ``streams``, ``classes`` and ``sources`` (missing for other kinds), then
            ``revision`` (1, plus one per append), ``modified`` (UTC) and ``writer`` (the
            component whose results the table holds, missing for tables a user added).

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
            f"SELECT name, kind, rows, columns, created, streams, classes, sources, revision, "
            f"modified, writer FROM {_META}.tables ORDER BY name"
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
                "revision": np.array([r[8] for r in rows], dtype="int64"),
                "modified": pd.to_datetime([r[9] for r in rows]).astype("datetime64[us]"),
                "writer": pd.array([r[10] for r in rows], dtype=_tables.STRING),
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
            kind, columns, kept = self._query(
                f"SELECT kind, columns, stream_summary FROM {_META}.tables WHERE name = ?", [stored]
            )[0]
            if kind != "observations":
                raise WorkspaceError(
                    f"summary() needs an observations table; {stored!r} in workspace "
                    f"{self._where} holds {kind}. Use read() to look at it."
                )
            if by == "stream" and kept is not None:
                got = pa.table(json.loads(kept))  # stored when the rows were added
            else:
                got = self._arrow(self._summary_sql(_quote(stored), json.loads(columns), by))
        return _summary_frame(got, by)

    @validate_params({"query": [str], "params": [list, tuple, dict, None]})
    def sql(self, query: str, params: list[Any] | tuple[Any, ...] | dict[str, Any] | None = None
            ) -> pd.DataFrame:
        """Run one read-only SQL query on the workspace's tables, in DuckDB.

        Only the result comes into Python, so this is how to count, group or pick the top
        rows of a table too large to :meth:`read` whole. Each named table is a DuckDB table
        of the same name: double-quote names holding ``.`` or ``-``
        (``"curate.night-shift.rounds"``).

        Parameters
        ----------
        query : str
            One ``SELECT`` statement (``WITH ... SELECT`` included). Nothing that writes.
        params : list, tuple or dict, optional
            Values of its ``?`` placeholders (a list or tuple) or ``$name`` ones (a dict).

        Returns
        -------
        pandas.DataFrame
            The result; list columns hold Python lists, missing values are None or NaN.

        Raises
        ------
        InvalidParameterError
            ``query`` is not exactly one ``SELECT`` statement.
        WorkspaceError
            DuckDB could not run it (the message says why: an unknown table or column ...).

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add("t", pd.DataFrame({"cls": ["car", "car", "bus"], "x": [1, 2, 3]}), kind="table")
        >>> ws.sql("SELECT cls, count(*) AS n FROM t WHERE x >= ? GROUP BY cls ORDER BY n DESC",
        ...        [1])
           cls  n
        0  car  2
        1  bus  1
        >>> ws.sql("DROP TABLE t")
        Traceback (most recent call last):
        ...
        assay.exceptions.InvalidParameterError: The 'query' parameter of sql must be one SELECT statement...
        """
        with self._lock:
            con = self._connection()
            try:
                statements = con.extract_statements(query)
            except duckdb.Error as exc:
                raise InvalidParameterError(
                    f"The 'query' parameter of sql must be valid SQL: {exc}") from None
            kinds = [s.type for s in statements]
            if kinds != [duckdb.StatementType.SELECT]:
                shown = ", ".join(k.name for k in kinds) or "nothing"
                raise InvalidParameterError(
                    "The 'query' parameter of sql must be one SELECT statement (the workspace's "
                    f"tables are changed through its methods, never by sql). Got {shown}.")
            got = self._arrow(query, params)
        out = {}
        for name, column in zip(got.column_names, got.columns, strict=True):
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                out[name] = pd.Series(column.to_pylist(), dtype=object)
            else:
                out[name] = column.to_pandas()
        return pd.DataFrame(out, columns=got.column_names)

    @staticmethod
    def _summary_sql(source: str, specs: list[dict[str, Any]], by: str) -> str:
        """The GROUP BY behind :meth:`summary`, over a table or a registered view."""
        has_track = any(spec["name"] == "track" for spec in specs)
        # grouped by stream, a frame or track number is one per stream: no pairs to count
        pair = "{}" if by == "stream" else "(stream, {})"
        tracks = (f"count(DISTINCT CASE WHEN track IS NOT NULL THEN {pair.format('track')} END)"
                  if has_track else "0")
        counts = {
            "rows": "count(*)",
            "frames": f"count(DISTINCT {pair.format('frame')})",
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
        return f"SELECT {by}, {select} FROM {source} GROUP BY {by} ORDER BY {order}"

    def _stream_summary(
        self, con: duckdb.DuckDBPyConnection, source: str, specs: list[dict[str, Any]],
        before: str | None = None,
    ) -> str:
        """The per-stream summary of ``source`` as stored JSON, after the ``before`` one (an
        append adds new streams only, so the two never share a stream)."""
        columns, _ = self._summary_and_stats(con, source, specs)
        if before is not None:
            old = json.loads(before)
            columns = {k: old[k] + columns[k] for k in columns}
            order = sorted(range(len(columns["stream"])), key=lambda i: columns["stream"][i])
            columns = {k: [v[i] for i in order] for k, v in columns.items()}
        return json.dumps(columns)

    @staticmethod
    def _summary_and_stats(
        con: duckdb.DuckDBPyConnection, source: str, specs: list[dict[str, Any]]
    ) -> tuple[dict[str, list[Any]], list[Any]]:
        """The per-stream summary of observations ``source`` (column to values, one per
        stream, as :meth:`summary` by stream), and its counts of streams, classes and sources.

        A source of one stream (as each file an ingest reads) is summarised without grouping,
        its distinct counts in one query and its other aggregates in another, which DuckDB
        (2.0) runs faster than the two kinds mixed in one query.
        """
        tracks = "count(DISTINCT track)" if any(s["name"] == "track" for s in specs) else "0"
        streams, classes, sources, frames, n_tracks = con.execute(
            "SELECT count(DISTINCT stream), count(DISTINCT cls), count(DISTINCT source), "
            f"count(DISTINCT frame), {tracks} FROM {source}").fetchall()[0]
        if streams != 1:
            got = con.sql(Workspace._summary_sql(source, specs, "stream")).to_arrow_table()
            columns = {name: got.column(name).to_pylist() for name in got.column_names}
            return columns, [streams, classes, sources]
        stream, rows, first, last, seconds = con.execute(
            "SELECT any_value(stream), count(*), min(frame), max(frame), max(time) - min(time) "
            f"FROM {source}").fetchall()[0]
        values = [stream, rows, frames, n_tracks, classes, sources, first, last, seconds]
        names = ["stream", "rows", "frames", "tracks", "classes", "sources", "first_frame",
                 "last_frame", "seconds"]
        return {k: [v] for k, v in zip(names, values, strict=True)}, [streams, classes, sources]


def _each_call_holds(cls: type) -> type:
    """Wrap every public method so that the file stays open for the whole call (see
    ``hold``)."""
    import functools
    import inspect

    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, fn in vars(klass).items():
            if name.startswith("_") or not inspect.isfunction(fn) or name in ("transaction", "close"):
                continue
            if getattr(cls, name) is not fn:
                continue  # overridden further down

            def make(fn: Callable[..., Any]) -> Callable[..., Any]:
                @functools.wraps(fn)
                def call(self: Workspace, *args: Any, **kwargs: Any) -> Any:
                    with self._held():
                        return fn(self, *args, **kwargs)

                return call

            setattr(cls, name, make(fn))
    return cls


_each_call_holds(Workspace)


# ---------------------------------------------------------------------- helpers


def _summary_frame(got: pa.Table, by: str) -> pd.DataFrame:
    out = {by: pd.array(got.column(by).to_pylist(), dtype=_tables.STRING)}
    for col in got.column_names[1:]:
        dtype = "float64" if col == "seconds" else "int64"
        out[col] = np.asarray(got.column(col).to_pylist(), dtype=dtype)
    return pd.DataFrame(out)


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


def _fit_optional_findings(
    df: pd.DataFrame, stored: list[dict[str, Any]]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Findings appended to a stored findings table, with the optional findings columns
    (:data:`assay.tables.OPTIONAL_FINDING_COLUMNS`) reconciled: rows without one the table
    has get it missing; one the table lacks is returned in ``added`` (the table gains it);
    columns are put in the table's order."""
    names = [c["name"] for c in stored]
    attrs = dict(df.attrs)
    added: list[dict[str, Any]] = []
    for col, dtype in _tables.OPTIONAL_FINDING_COLUMNS.items():
        if col in names and col not in df.columns:
            df = df.assign(**{col: pd.Series([None] * len(df), index=df.index, dtype=dtype)})
        elif col in df.columns and col not in names:
            added.append({"name": col, **_dtypes.encode_dtype(df[col].dtype)})
    order = names + [c["name"] for c in added]
    if set(order) == set(df.columns) and list(df.columns) != order:
        df = df[order]
    df.attrs = attrs
    return df, added


def _merge_attrs(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(stored)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**value, **out[key]}
        else:
            out.setdefault(key, value)
    return out


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
