"""The workspace's run log: every check, audit, curate round and query, with what it used.

A run records its parameters, its summary, the exact inputs it rested on (tables by identity
and revision, files by path and size, oracles by identity) and the versions of the software
that produced it, so ``assay runs`` can say what an answer rests on. :class:`RunsMixin` gives
:class:`~assay.store.Workspace` its run methods.
"""

from __future__ import annotations

import json
import platform
import re
import secrets
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import duckdb
import pandas as pd

from .. import tables as _tables
from .._validation import Options, validate_params
from ..exceptions import InvalidParameterError, WorkspaceError
from ._schema import META
from ._util import now, to_json

__all__ = ["RUN_STATUSES", "RunsMixin", "software_versions"]

#: Statuses a finished run can have (a run that has not finished is ``"running"``).
RUN_STATUSES = ("ok", "failed", "cancelled")

_RUN_KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_VERSIONS: dict[str, str] = {}


def software_versions() -> dict[str, str]:
    """Versions of assay, Python and the libraries a result depends on (computed once)."""
    if not _VERSIONS:
        _VERSIONS["python"] = platform.python_version()
        for dist in ("assay", "numpy", "pandas", "pyarrow", "duckdb", "scipy"):
            try:
                _VERSIONS[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
                _VERSIONS[dist] = "unknown"
    return dict(_VERSIONS)


class RunsMixin:
    """Run methods of :class:`~assay.store.Workspace` (see its documentation)."""

    _lock: Any
    _where: str

    @validate_params({"kind": [str], "params": [Mapping, None], "inputs": [Sequence, None]})
    def start_run(
        self,
        kind: str,
        params: Mapping[str, Any] | None = None,
        *,
        inputs: Sequence[Mapping[str, Any]] | None = None,
    ) -> str:
        """Record the start of a run and return its id.

        Parameters
        ----------
        kind : str
            What runs, e.g. ``"check"``, ``"audit"``, ``"curate"``, ``"query"``: lowercase
            letters, digits and ``_``, starting with a letter.
        params : mapping, optional
            The run's parameters; stored as JSON (numpy scalars and arrays, paths, dates and
            sets are converted).
        inputs : sequence of mapping, optional
            What the run reads, one mapping per input, each with a ``role`` (``"observations"``,
            ``"records"``, ``"oracle"``, ...) and an ``identity``, and whatever pins it down:
            a table's ``name``, ``revision`` and ``rows``, a file's ``path``, ``bytes`` and
            ``mtime`` (see :func:`assay.store.identity.describe_input`). The versions of
            assay, Python and its libraries are recorded with every run.

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
        params_json = to_json(dict(params or {}), "params", "start_run")
        inputs_list = [dict(i) for i in (inputs or [])]
        for i, item in enumerate(inputs_list):
            if "role" not in item or "identity" not in item:
                raise InvalidParameterError(
                    "Each entry of the 'inputs' parameter of start_run needs a 'role' and an "
                    f"'identity'. Entry {i} is {item!r}."
                )
        inputs_json = to_json(inputs_list, "inputs", "start_run")
        versions_json = json.dumps(software_versions())
        with self._lock:
            stamp = now()
            for _ in range(100):
                run_id = f"{kind}-{stamp:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
                if not self._query(f"SELECT 1 FROM {META}.runs WHERE run_id = ?", [run_id]):
                    break
            else:  # pragma: no cover - 65536 ids in one second
                raise WorkspaceError("Could not find a free run id; try again in a second.")
            with self._write() as con:
                try:
                    con.execute(
                        f"INSERT INTO {META}.runs VALUES (?, ?, 'running', ?, NULL, ?, NULL, ?, ?)",
                        [run_id, kind, stamp, params_json, inputs_json, versions_json],
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
        summary_json = to_json(dict(summary or {}), "summary", "finish_run")
        with self._lock:
            rows = self._query(f"SELECT status FROM {META}.runs WHERE run_id = ?", [run_id])
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
                        f"UPDATE {META}.runs SET status = ?, finished = ?, summary = ? "
                        "WHERE run_id = ?",
                        [status, now(), summary_json, run_id],
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
            ``summary`` (dicts; ``summary`` is None until finished), ``inputs`` (a list of
            dicts, see :meth:`start_run`) and ``versions`` (a dict).
        """
        rows = self._query(
            f"SELECT run_id, kind, status, started, finished, params, summary, inputs, versions "
            f"FROM {META}.runs ORDER BY started, run_id"
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
                "inputs": pd.Series([json.loads(r[7]) for r in rows], dtype=object),
                "versions": pd.Series([json.loads(r[8]) for r in rows], dtype=object),
            }
        )
