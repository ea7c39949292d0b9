"""Named oracles: a short name a person gives an oracle spec once, then uses in queries.

``ws.add_oracle("truth", "column:label", value_range=(0, 1))`` stores the spec (and, for an
oracle whose values are numbers, the least and greatest value it returns) under ``truth``;
``aggregate(..., oracle="truth", workspace=ws)`` and ``assay query ... -o truth`` then use it.
The name is a label for people: answers stay cached under the spec's own identity (see
:mod:`assay.store.identity`), so renaming or removing a name loses no answer, and two names for
one spec share their answers.

The names live in the bookkeeping table ``_assay.named_oracles``, created by the first
:meth:`~NamedOraclesMixin.add_oracle` (a workspace of format 2 written before it existed has
none, and reads as having no names).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from .._validation import validate_params
from ..exceptions import InvalidParameterError, WorkspaceError
from ._schema import META
from ._util import now

__all__ = ["NamedOraclesMixin", "is_oracle_name"]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TABLE = f"{META}.named_oracles"
_CREATE = f"""CREATE TABLE IF NOT EXISTS {_TABLE} (
    name VARCHAR PRIMARY KEY,
    spec VARCHAR NOT NULL,
    lo DOUBLE,
    hi DOUBLE,
    created TIMESTAMP NOT NULL
)"""
#: Spec prefixes an oracle name can stand for (``review:`` is answered on the review page).
SPEC_KINDS = ("column", "python", "human", "review", "ray")


def is_oracle_name(text: Any) -> bool:
    """Whether ``text`` has the form of an oracle name (an identifier: a spec has a ``:``).

    >>> is_oracle_name("truth"), is_oracle_name("column:label")
    (True, False)
    """
    return isinstance(text, str) and _NAME_RE.fullmatch(text) is not None


def _check_spec(spec: str) -> None:
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in SPEC_KINDS or not rest.strip():
        raise InvalidParameterError(
            f"An oracle spec is column:COL, python:module:function[@VERSION], "
            f"human:FOLDER[#LABEL_SET], review:QUESTION[#LABEL_SET] or "
            f"ray:python:module:function[@VERSION][?OPTIONS]; got {spec!r}.")
    if kind in ("column", "python", "human", "ray"):
        from ..approx.oracle import as_oracle

        as_oracle(spec, param="spec", caller="add_oracle")  # loads a python: oracle, or says why not


class NamedOraclesMixin:
    """Named-oracle methods of :class:`~assay.store.Workspace` (see its documentation)."""

    _lock: Any
    _where: str

    def _has_named_table(self) -> bool:
        rows = self._query(  # type: ignore[attr-defined]
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [META, "named_oracles"])
        return bool(rows[0][0])

    @validate_params({"name": [str], "spec": [str], "value_range": [tuple, list, None], "replace": [bool]})
    def add_oracle(self, name: str, spec: str, *, value_range: tuple[float, float] | None = None,
                   replace: bool = False) -> None:
        """Give an oracle spec a name, usable wherever a query takes an oracle.

        Parameters
        ----------
        name : str
            Letters, digits and ``_``, starting with a letter or ``_``; at most 64
            characters; case-sensitive.
        spec : str
            ``column:COL``, ``python:module:function[@VERSION]``, ``human:FOLDER[#LABEL_SET]``
            or ``review:QUESTION[#LABEL_SET]`` (a question answered on ``assay review``'s page),
            or ``ray:python:module:function[@VERSION][?OPTIONS]`` (the Python oracle on Ray
            actors, see :func:`~assay.approx.as_oracle`). A ``python:`` spec is imported now,
            so a typo fails here rather than in a query.
        value_range : (float, float), optional
            The least and greatest value the oracle returns: the default ``range`` of
            ``aggregate`` with this oracle. Leave it out for a yes/no oracle.
        replace : bool, default False
            Point an existing name at a new spec. Cached answers are kept either way: they
            belong to the spec, not the name.

        Raises
        ------
        InvalidParameterError
            A bad name, spec or range.
        WorkspaceError
            The name is taken and ``replace`` is False, or the workspace is read-only.

        Examples
        --------
        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add_oracle("truth", "column:label", value_range=(0, 1))
        >>> ws.named_oracles()[["name", "spec", "lo", "hi"]]
            name          spec   lo   hi
        0  truth  column:label  0.0  1.0
        """
        if not is_oracle_name(name):
            raise InvalidParameterError(
                f"An oracle name is letters, digits and '_', starting with a letter or '_', at most "
                f"64 characters (so that a query can call it as NAME(...)); got {name!r}.")
        _check_spec(spec)
        lo = hi = None
        if value_range is not None:
            if len(value_range) != 2:
                raise InvalidParameterError(f"value_range is (LO, HI); got {value_range!r}.")
            lo, hi = (float(v) for v in value_range)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InvalidParameterError(f"value_range needs finite LO < HI; got {value_range!r}.")
        self._check_writable(f"add oracle {name!r}")  # type: ignore[attr-defined]
        with self._lock, self._write() as con:  # type: ignore[attr-defined]
            con.execute(_CREATE)
            taken = con.execute(f"SELECT spec FROM {_TABLE} WHERE name = ?", [name]).fetchall()
            if taken and not replace:
                raise WorkspaceError(
                    f"Workspace {self._where} already names an oracle {name!r} ({taken[0][0]}); pass "
                    "replace=True to point it at another spec.")
            con.execute(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?)", [name, spec, lo, hi, now()])

    def named_oracles(self) -> pd.DataFrame:
        """The oracle names of the workspace: ``name``, ``spec``, ``lo`` and ``hi`` (the value
        range, missing for a yes/no oracle) and ``created`` (UTC), sorted by name."""
        cols = {"name": [], "spec": [], "lo": [], "hi": [], "created": []}
        if not self._has_named_table():
            return pd.DataFrame(cols).astype({"lo": float, "hi": float, "created": "datetime64[us]"})
        rows = self._query(f"SELECT name, spec, lo, hi, created FROM {_TABLE} ORDER BY name")  # type: ignore[attr-defined]
        return pd.DataFrame(rows, columns=list(cols)).astype({"lo": float, "hi": float})

    def oracle_named(self, name: str) -> tuple[str, tuple[float, float] | None] | None:
        """The spec and value range a name stands for, or None when no oracle has that name.

        >>> from assay.store import Workspace
        >>> ws = Workspace()
        >>> ws.add_oracle("is_car", "column:car")
        >>> ws.oracle_named("is_car"), ws.oracle_named("nope")
        (('column:car', None), None)
        """
        if not is_oracle_name(name) or not self._has_named_table():
            return None
        rows = self._query(f"SELECT spec, lo, hi FROM {_TABLE} WHERE name = ?", [name])  # type: ignore[attr-defined]
        if not rows:
            return None
        spec, lo, hi = rows[0]
        return spec, (None if lo is None else (float(lo), float(hi)))

    @validate_params({"name": [str]})
    def remove_oracle(self, name: str) -> None:
        """Remove an oracle name (its cached answers stay: they belong to the spec).

        Raises
        ------
        WorkspaceError
            No oracle has that name, or the workspace is read-only.
        """
        self._check_writable(f"remove oracle {name!r}")  # type: ignore[attr-defined]
        if self.oracle_named(name) is None:
            known = self.named_oracles()["name"].tolist()
            raise WorkspaceError(
                f"Workspace {self._where} names no oracle {name!r}; "
                + (f"its oracle names are {', '.join(map(repr, known))}." if known else "it has no oracle names."))
        with self._lock, self._write() as con:  # type: ignore[attr-defined]
            con.execute(f"DELETE FROM {_TABLE} WHERE name = ?", [name])

    def resolve_oracle(self, oracle: Any, value_range: Any = None) -> tuple[Any, Any]:
        """``(spec, value_range)`` for a query's oracle argument: a registered name becomes its
        spec, and its range fills a missing ``value_range``; a spec, a callable or an
        :class:`~assay.approx.Oracle` comes back as given.

        Raises
        ------
        InvalidParameterError
            ``oracle`` has the form of a name (no ``:``) but no oracle has that name.
        """
        if not is_oracle_name(oracle):
            return oracle, value_range
        found = self.oracle_named(oracle)
        if found is None:
            known = self.named_oracles()["name"].tolist()
            raise InvalidParameterError(
                f"{oracle!r} is neither an oracle spec (column:COL, python:module:function, "
                f"human:FOLDER, review:QUESTION) nor an oracle name of workspace {self._where} ("
                + (f"its names: {', '.join(map(repr, known))}" if known else "it has none")
                + "; `assay oracle add NAME SPEC` gives one).")
        spec, rng = found
        return spec, (value_range if value_range is not None else rng)
