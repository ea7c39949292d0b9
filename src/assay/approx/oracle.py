"""Oracles: the expensive source of truth a query pays for, one record at a time.

An oracle maps records to values. Every query wraps its oracle in a cache: with a workspace,
each answer is committed to it as soon as it arrives, keyed by the oracle's *identity* and the
record's id and content (the values of the fields the oracle sees), so

* a query that is killed and rerun with the same seed asks for nothing twice, a partly
  answered batch included;
* an answer is never reused for a record it was not given for: another file, an edited row, a
  changed function or another folder of human answers is another key.

Cost is the number of distinct records labeled.
"""

from __future__ import annotations

import abc
import importlib
import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import AssayError, InvalidParameterError
from ..store.identity import function_identity, record_keys

__all__ = ["ColumnOracle", "FunctionOracle", "HumanOracle", "LabelsPending", "Oracle", "as_oracle"]

#: Column of a human oracle's request files holding each record's content key.
KEY_COLUMN = "assay_key"
#: Column of a human oracle's request files naming the label set the answers belong to.
SET_COLUMN = "assay_label_set"
#: A function oracle called without a fixed batch size is given batches that take about this
#: long (seconds): a slow model answers record by record, each answer saved as it arrives.
TARGET_CALL_SECONDS = 0.1


class LabelsPending(AssayError, RuntimeError):
    """A human oracle has written records to label; fill them in and run the query again."""


class Oracle(abc.ABC):
    """Base class: ``oracle(rows) -> values``, one value per row of the records table.

    A subclass implements :meth:`__call__`; it may override :meth:`identity` (what its cached
    answers are keyed by), :meth:`fields` (the columns it reads, which key each record) and
    :meth:`stream` (to hand over answers as they arrive).
    """

    #: A short name for messages (the spec the oracle was made from).
    name: str = "oracle"
    #: A version its author bumps when the oracle's answers change (new weights, a new prompt).
    version: str | None = None
    #: Whether answers cost nothing (a column of the records): a query then keeps new answers
    #: in memory and stores them once at its end, instead of committing every batch.
    free: bool = False

    @abc.abstractmethod
    def __call__(self, rows: pd.DataFrame) -> Any:
        """Values for these records (rows of the records table, ``id`` column included)."""

    def identity(self, records: str) -> str:
        """What the oracle's cached answers are keyed by, for records of identity ``records``.

        Default: the class (its module, name and a hash of its module's source, or
        :attr:`version`) and :attr:`name`.
        """
        return f"{function_identity(type(self), self.version)[0]}/{self.name}"

    def detail(self) -> dict[str, Any]:
        """What the identity rests on, recorded with the oracle in the workspace."""
        return function_identity(type(self), self.version)[1]

    #: The columns the oracle was told it reads (its ``fields=``), or None for the default rule
    #: of :meth:`fields`.
    _fields: list[str] | None = None

    def fields(self, columns: Sequence[str], *, proxy: Sequence[str] = ()) -> list[str]:
        """The columns this oracle reads, of ``columns``: the rows it is given hold ``id`` and
        these, and a record's cached answer is reused only while they keep their values.

        Default: the columns it was given as ``fields=`` (each must be one of ``columns``),
        else every column but ``id`` and the query's proxy columns.
        """
        if self._fields is not None:
            missing = [f for f in self._fields if f not in columns]
            if missing:
                raise InvalidParameterError(
                    f"the oracle {self.name} reads column {missing[0]!r}, which the records lack "
                    f"(columns: {', '.join(map(str, columns))}).")
            return list(self._fields)
        skip = {"id", *proxy}
        return [c for c in columns if c not in skip]

    def stream(self, rows: pd.DataFrame) -> Iterator[tuple[np.ndarray, Any]]:
        """Answers as they arrive: ``(positions, values)`` pairs, positions into ``rows``.

        Default: one pair with every answer, after one call.
        """
        yield np.arange(len(rows)), self(rows)


class ColumnOracle(Oracle):
    """Answers from a column of the records: for evaluating methods on labeled data.

    Its identity includes the records' identity: a column of another file (or of the same
    file after an edit, per record) is another oracle.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.approx import ColumnOracle
    >>> ColumnOracle("label")(pd.DataFrame({"id": [1, 2], "label": [0, 1]})).tolist()
    [0, 1]
    >>> ColumnOracle("label").identity("file:/data/day2/records.csv")
    'column:label@file:/data/day2/records.csv'
    """

    free = True

    def __init__(self, column: str) -> None:
        self.column = column
        self.name = f"column:{column}"

    def identity(self, records: str) -> str:
        return f"column:{self.column}@{records}"

    def detail(self) -> dict[str, Any]:
        return {"column": self.column}

    def fields(self, columns: Sequence[str], *, proxy: Sequence[str] = ()) -> list[str]:
        return [self.column]

    def __call__(self, rows: pd.DataFrame) -> Any:
        if self.column not in rows.columns:
            raise InvalidParameterError(
                f"the oracle reads column {self.column!r}, which the records lack "
                f"(columns: {', '.join(map(str, rows.columns))}).")
        return rows[self.column].to_numpy()


class FunctionOracle(Oracle):
    """A Python callable (a big model, an API): ``fn(rows: DataFrame) -> array-like``.

    Parameters
    ----------
    fn : callable
        Called with rows of the records (``id`` and the :meth:`fields` it reads); returns one
        value per row, or is a generator function yielding the values one by one (each saved
        as it comes).
    name : str, optional
        For messages (default ``python:<module>:<name>``).
    version : str, optional
        Names the function's answers: change it when they change (new weights, new prompt).
        Default: a hash of the source of the function's module, so any edit of the module
        makes a new oracle whose answers are paid for again.
    fields : sequence of str, optional
        The columns ``fn`` reads (default: all but ``id`` and the query's proxy).
    batch_size : int, optional
        Records per call. Default: adaptive, starting at one record and doubling while a call
        takes under 0.1 s, so a slow model answers record by record (a kill loses at most the
        record in flight) and a fast function gets large batches.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.approx import FunctionOracle
    >>> o = FunctionOracle(lambda rows: rows["n"] * 2, version="v1")
    >>> o.identity("file:/x.csv")
    'python:assay.approx.oracle:<lambda>#v1'
    >>> [v.tolist() for _, v in o.stream(pd.DataFrame({"id": [1, 2, 3], "n": [1, 2, 3]}))]
    [[2], [4, 6]]
    """

    def __init__(
        self,
        fn: Callable[[pd.DataFrame], Any],
        *,
        name: str | None = None,
        version: str | None = None,
        fields: Sequence[str] | None = None,
        batch_size: int | None = None,
    ) -> None:
        if not callable(fn):
            raise InvalidParameterError(f"FunctionOracle needs a callable; got {fn!r}.")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise InvalidParameterError(
                f"The 'batch_size' parameter of FunctionOracle must be an int >= 1 or None. Got {batch_size!r}.")
        self.fn = fn
        self.version = version if version is not None else getattr(fn, "version", None)
        self._identity, self._detail = function_identity(fn, self.version)
        self.name = name or self._identity.split("#")[0]
        self._fields = None if fields is None else list(fields)
        self.batch_size = batch_size

    def identity(self, records: str) -> str:
        return self._identity

    def detail(self) -> dict[str, Any]:
        return dict(self._detail)

    def __call__(self, rows: pd.DataFrame) -> Any:
        out = self.fn(rows)
        return np.asarray(list(out)) if isinstance(out, Iterator) else out

    def stream(self, rows: pd.DataFrame) -> Iterator[tuple[np.ndarray, Any]]:
        n = len(rows)
        if inspect.isgeneratorfunction(self.fn):
            for i, value in enumerate(self.fn(rows)):
                if i >= n:
                    break
                yield np.array([i]), np.array([value])
            return
        size = self.batch_size or 1
        start = 0
        while start < n:
            part = rows.iloc[start : start + size]
            began = time.monotonic()
            values = self.fn(part)
            if isinstance(values, Iterator):
                for j, value in enumerate(values):
                    yield np.array([start + j]), np.array([value])
            else:
                yield np.arange(start, start + len(part)), values
            start += len(part)
            if self.batch_size is None:
                took = time.monotonic() - began
                if took < TARGET_CALL_SECONDS / 2:
                    size *= 2
                elif took > 2 * TARGET_CALL_SECONDS and size > 1:
                    size //= 2


class StreamedOracle(Oracle):
    """An oracle whose answers arrive through :meth:`stream` (a person answering in turn):
    calling it collects every answer of the rows."""

    def __call__(self, rows: pd.DataFrame) -> Any:
        out = np.full(len(rows), np.nan)
        for p, v in self.stream(rows):
            out[p] = v
        return out


class HumanOracle(StreamedOracle):
    """People label records through files in a folder.

    When a query needs labels nobody has given yet, the oracle writes them to
    ``<folder>/request-<n>.csv`` (``id``, the fields people judge, ``assay_key`` and
    ``assay_label_set`` columns and an empty ``label`` column) and raises
    :class:`LabelsPending`. Fill in ``label`` (save the
    file under any name ending in ``.csv`` in the folder) and run the same query again: the
    answers given so far are read back, and with a workspace every one is saved there at once,
    also when others in the batch are still missing. An answer counts for the record it was
    asked about: when a record's fields changed since (its ``assay_key`` differs), it is asked
    again.

    Parameters
    ----------
    folder : str or Path
        Where requests and answers live. It is created if missing (its parent must exist);
        nothing else is created.
    label_set : str, default "default"
        Names these answers: two label sets in one folder are two oracles. Rows of a file
        without an ``assay_label_set`` column (answers written by hand) belong to the default
        set.
    fields : sequence of str, optional
        Columns people see and judge (default: all but ``id`` and the query's proxy).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assay.approx import HumanOracle
    >>> o = HumanOracle(Path(tempfile.mkdtemp()) / "birds", label_set="first-pass")
    >>> o.identity("file:/x.csv").endswith("birds#first-pass")
    True
    """

    def __init__(self, folder: str | Path, *, label_set: str = "default",
                 fields: Sequence[str] | None = None) -> None:
        if not isinstance(label_set, str) or not label_set or "#" in label_set:
            raise InvalidParameterError(
                f"The 'label_set' parameter of HumanOracle must be a non-empty name without '#'. "
                f"Got {label_set!r}.")
        self.folder = Path(folder).expanduser().resolve()
        self.label_set = label_set
        self.name = f"human:{self.folder}"
        self._fields = None if fields is None else list(fields)

    def identity(self, records: str) -> str:
        return f"human:{self.folder}#{self.label_set}"

    def detail(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "label_set": self.label_set}

    def fields(self, columns: Sequence[str], *, proxy: Sequence[str] = ()) -> list[str]:
        if self._fields is None:
            return [c for c in super().fields(columns, proxy=proxy)
                    if c not in (KEY_COLUMN, SET_COLUMN)]
        return list(self._fields)

    def _ensure_folder(self) -> None:
        if self.folder.is_dir():
            return
        if not self.folder.parent.is_dir():
            raise InvalidParameterError(
                f"the human oracle's folder {self.folder} cannot be created: its parent "
                f"{self.folder.parent} does not exist. Create it, or name a folder inside an "
                "existing one.")
        self.folder.mkdir()

    def answers(self) -> dict:
        """Answers given so far: ``{(id, key): label}``, ``key`` None where a file has no
        ``assay_key`` column (answers written by hand, matched by id alone)."""
        known: dict = {}
        if not self.folder.is_dir():
            return known
        for f in sorted(self.folder.glob("*.csv")):
            df = pd.read_csv(f)
            if {"id", "label"} - set(df.columns):
                raise InvalidParameterError(
                    f"{f}: an answers file needs 'id' and 'label' columns (got "
                    f"{', '.join(map(str, df.columns))}).")
            done = df[df["label"].notna()]
            if SET_COLUMN in done.columns:
                done = done[done[SET_COLUMN].astype(str) == self.label_set]
            elif self.label_set != "default":
                continue
            try:
                labels = done["label"].astype(float).tolist()
            except (TypeError, ValueError):
                bad = next(i for i, v in zip(done.index, done["label"], strict=True)
                           if not _is_number(v))
                raise InvalidParameterError(
                    f"{f}, line {bad + 2}: column 'label' must be a number, got "
                    f"{done['label'][bad]!r}.") from None
            keys = done[KEY_COLUMN].tolist() if KEY_COLUMN in done.columns else [None] * len(done)
            for i, k, v in zip(done["id"].tolist(), keys, labels, strict=True):
                known[(i, None if isinstance(k, float) else k)] = v
        return known

    def stream(self, rows: pd.DataFrame) -> Iterator[tuple[np.ndarray, Any]]:
        keys = (rows[KEY_COLUMN].tolist() if KEY_COLUMN in rows.columns
                else record_keys(rows, self.fields(list(rows.columns))).tolist())
        known = self.answers()
        ids = rows["id"].tolist()
        found = [(p, known.get((i, k), known.get((i, None))))
                 for p, (i, k) in enumerate(zip(ids, keys, strict=True))]
        have = [(p, v) for p, v in found if v is not None]
        if have:
            yield np.array([p for p, _ in have]), np.array([v for _, v in have])
        missing = [p for p, v in found if v is None]
        if missing:
            path = self._request(rows.iloc[missing].assign(
                **{KEY_COLUMN: [keys[p] for p in missing], SET_COLUMN: self.label_set}))
            raise LabelsPending(
                f"{len(missing)} records need labels: fill the 'label' column of {path} and run "
                f"the same query again (with the same seed).")

    def _request(self, todo: pd.DataFrame) -> Path:
        """The request file asking for ``todo``: an open one that already asks for all of
        them, else a new ``request-<n>.csv``."""
        self._ensure_folder()
        wanted = set(zip(todo["id"].tolist(), todo[KEY_COLUMN].tolist(), strict=True))
        for f in sorted(self.folder.glob("request-*.csv")):
            df = pd.read_csv(f)
            if {"id", KEY_COLUMN, SET_COLUMN} <= set(df.columns):
                open_ = df[df["label"].isna()] if "label" in df.columns else df
                open_ = open_[open_[SET_COLUMN].astype(str) == self.label_set]
                if wanted <= set(zip(open_["id"].tolist(), open_[KEY_COLUMN].tolist(), strict=True)):
                    return f
        n = 1 + max((int(p.stem.split("-")[1]) for p in self.folder.glob("request-*.csv")
                     if p.stem.split("-")[1].isdigit()), default=0)
        path = self.folder / f"request-{n}.csv"
        from ..io.paths import StagedFiles

        with StagedFiles() as stage:  # a person never opens half a request
            todo.assign(label=np.nan).to_csv(stage.path(path), index=False)
        return path


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def as_oracle(spec: Any, *, param: str = "oracle", caller: str = "as_oracle") -> Oracle:
    """An oracle from a spec: an :class:`Oracle`, a callable, or text ``column:COL``,
    ``python:module:function[@VERSION]``, ``human:FOLDER[#LABEL_SET]`` or
    ``ray:python:module:function[@VERSION][?OPTIONS]``.

    A ``ray:`` spec is the ``python:`` oracle answered by Ray actors
    (:class:`assay.engine.RayOracle`, which needs the ``ray`` extra); ``OPTIONS`` are
    ``key=value`` pairs joined by ``&``: ``actors``, ``num_cpus``, ``num_gpus``,
    ``batch_size``, ``max_restarts`` and ``address``. It has the ``python:`` oracle's identity,
    so answers cached by either are reused by the other.

    Examples
    --------
    >>> from assay.approx import as_oracle
    >>> as_oracle("column:label").name
    'column:label'
    >>> as_oracle("python:math:floor@v2").identity("file:/x.csv")
    'python:math:floor#v2'
    """
    if isinstance(spec, Oracle):
        return spec
    if callable(spec):
        return FunctionOracle(spec)
    if isinstance(spec, str):
        kind, _, rest = spec.partition(":")
        if kind == "column" and rest:
            return ColumnOracle(rest)
        if kind == "human" and rest:
            folder, _, label_set = rest.partition("#")
            return HumanOracle(folder, label_set=label_set or "default")
        if kind == "ray" and rest:
            return _ray_oracle(spec, rest, param, caller)
        if kind == "python" and ":" in rest:
            path, _, version = rest.partition("@")
            module, _, attr = path.rpartition(":")
            try:
                fn = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise InvalidParameterError(
                    f"The {param!r} parameter of {caller} names a Python oracle that cannot be "
                    f"loaded: {spec!r} ({e}).") from None
            return FunctionOracle(fn, name=path if not version else spec, version=version or None)
    raise InvalidParameterError(
        f"The {param!r} parameter of {caller} must be column:COL, python:module:function, "
        f"human:FOLDER or ray:python:module:function. Got {spec!r}; cannot read that oracle.")


#: options of a ``ray:`` oracle spec and how each is read
_RAY_OPTIONS: dict[str, type] = {"actors": int, "num_cpus": float, "num_gpus": float,
                                 "batch_size": int, "max_restarts": int, "address": str}


def _ray_oracle(spec: str, rest: str, param: str, caller: str) -> Oracle:
    """``ray:python:module:function[@VERSION][?key=value&...]`` as a RayOracle."""
    inner, _, query = rest.partition("?")
    if not inner.startswith("python:"):
        raise InvalidParameterError(
            f"The {param!r} parameter of {caller} runs only python: oracles on Ray: "
            f"ray:python:module:function[@VERSION][?actors=N&num_gpus=G...]. Got {spec!r}.")
    options: dict[str, Any] = {}
    for pair in query.split("&") if query else []:
        key, eq, value = pair.partition("=")
        if key not in _RAY_OPTIONS or not eq or not value:
            raise InvalidParameterError(
                f"The {param!r} parameter of {caller}: {pair!r} in {spec!r} is not an option of "
                f"a ray: oracle; expected key=value with key one of {', '.join(_RAY_OPTIONS)}.")
        if key in options:
            raise InvalidParameterError(
                f"The {param!r} parameter of {caller}: {key!r} is given twice in {spec!r}.")
        try:
            options[key] = _RAY_OPTIONS[key](value)
        except ValueError:
            raise InvalidParameterError(
                f"The {param!r} parameter of {caller}: {key}={value!r} in {spec!r} is not "
                f"{'an integer' if _RAY_OPTIONS[key] is int else 'a number'}.") from None
    base = as_oracle(inner, param=param, caller=caller)  # a module that cannot load is named here
    from ..engine.oracle import RayOracle  # the engine imports this module: import here

    return RayOracle(base.fn, name=base.name, version=base.version, **options)
