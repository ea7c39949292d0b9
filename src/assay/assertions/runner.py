"""Running assertions: the batch runner ``check`` and the streaming ``Monitor``."""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._arrow import release_memory
from .._progress import progress
from .._validation import Interval, validate_params
from ..exceptions import InvalidParameterError, SchemaError, UserCodeError
from ..tables import validate
from ._findings import SORT_COLUMNS, canonical_order, empty_findings, make_findings, python_lists
from ._frames import StreamInfo, layout, stream_info
from ._rows import row_keys
from .base import Assertion, Frame, Outputs, PointAssertion, TemporalAssertion
from .priority import assertion_weights, priorities, prioritize, verdict_precision

__all__ = ["check", "run_assertion"]


def _column_array(s: pd.Series) -> np.ndarray:
    """A column as a numpy array: strings and nullable values as objects (None when missing)."""
    masked = getattr(pd.core.dtypes.dtypes, "BaseMaskedDtype", ())
    if isinstance(s.dtype, (pd.StringDtype, masked)) or s.dtype == object:
        return s.to_numpy(dtype=object, na_value=None)
    return s.to_numpy()


class _Columns(Mapping):
    """The column arrays of a table (all, or ``columns``), each converted on first use: a
    user's assertion that reads two columns does not pay for twenty."""

    def __init__(self, df: pd.DataFrame, columns: Sequence[str] | None, name: str) -> None:
        self._df = df
        self._names = list(df.columns) if columns is None else list(columns)
        self._arrays: dict[str, np.ndarray] = {}
        missing = [c for c in self._names if c not in df.columns]
        if missing:
            raise SchemaError(f"assertion {name!r} needs columns {missing}.")

    def __getitem__(self, column: str) -> np.ndarray:
        arr = self._arrays.get(column)
        if arr is None:
            if column not in self._names:
                raise KeyError(column)
            arr = self._arrays[column] = _column_array(self._df[column])
        return arr

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _severities(value: Any, n: int, name: str) -> tuple[float, np.ndarray | None]:
    """A user assertion's return value: one float for the unit, or one per output."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if not np.isfinite(v) or v < 0:
            raise InvalidParameterError(f"assertion {name!r} returned {value!r}; expected a finite float >= 0.")
        return v, None
    if isinstance(value, bool):
        return float(value), None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidParameterError(
            f"assertion {name!r} returned {type(value).__name__} of shape {arr.shape}; expected a "
            f"float, or one float per output ({n}).")
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise InvalidParameterError(f"assertion {name!r} returned negative or non-finite severities.")
    return 0.0, arr


def _run_point_frames(a: PointAssertion, obs: pd.DataFrame, info: StreamInfo) -> pd.DataFrame:
    lay = layout(obs, info)
    sorted_obs = obs.iloc[lay.order]
    cols = _Columns(sorted_obs, a.columns, a.name)
    oid = sorted_obs["obs_id"].to_numpy()
    times = sorted_obs["time"].to_numpy()
    streams, f0, ids, sev, scope = [], [], [], [], []
    for k in range(len(lay.frame_keys)):
        lo = int(lay.frame_start[k])
        hi = lo + int(lay.frame_count[k])
        stream = lay.streams[lay.stream_code[lo]]
        frame = int(lay.frame[lo])
        s, per = _severities(_call(a, f"stream {stream!r}, frame {frame}",
                                   Frame(stream, frame, float(times[lo])), Outputs(cols, lo, hi)),
                             hi - lo, a.name)
        if per is not None:
            for j in np.flatnonzero(per > 0):
                streams.append(stream)
                f0.append(frame)
                ids.append([int(oid[lo + j])])
                sev.append(per[j])
                scope.append("obs")
        elif s > 0:
            streams.append(stream)
            f0.append(frame)
            ids.append(oid[lo:hi].tolist())
            sev.append(s)
            scope.append("frame")
    return _user_findings(a.name, scope, streams, f0, f0, ids, sev)


def _call(a: PointAssertion | TemporalAssertion, where: str, *args: Any) -> Any:
    """Call a user's assertion; an exception in it names the user's line and what was checked."""
    try:
        return a.func(*args)
    except Exception as exc:
        raise UserCodeError.from_exception(exc, f"assertion {a.name!r} at {where}") from exc


def _user_findings(name, scope, streams, f0, f1, ids, sev) -> pd.DataFrame:
    if not sev:
        return empty_findings()
    out = make_findings(name, "frame", np.array(streams, dtype=object), np.array(f0), np.array(f1), ids,
                        np.array(sev, dtype=np.float64))
    out["scope"] = pd.array(scope, dtype=out["scope"].dtype)
    return out


def _run_point_rows(a: PointAssertion, table: pd.DataFrame) -> pd.DataFrame:
    inputs = a.inputs or []
    outputs = a.columns or [c for c in table.columns if c not in inputs]
    missing = [c for c in (*inputs, *outputs) if c not in table.columns]
    if missing:
        raise SchemaError(f"assertion {a.name!r} needs columns {missing}.")
    in_rows = table[inputs].to_dict("records") if inputs else [{}] * len(table)
    out_vals = table[outputs[0]].tolist() if len(outputs) == 1 else table[outputs].to_dict("records")
    sev = np.array([_severities(_call(a, f"row {r}", i, o), 0, a.name)[0]
                    for r, (i, o) in enumerate(zip(in_rows, out_vals, strict=True))])
    rows = np.flatnonzero(sev > 0)
    streams, frames, ids = (k[rows] for k in row_keys(table))
    return make_findings(a.name, "obs", streams, frames, frames, [[i] for i in ids], sev[rows])


def _run_temporal(a: TemporalAssertion, obs: pd.DataFrame, info: StreamInfo) -> pd.DataFrame:
    lay = layout(obs, info)
    sorted_obs = obs.iloc[lay.order]
    cols = _Columns(sorted_obs, a.columns, a.name)
    oid = sorted_obs["obs_id"].to_numpy()
    times = sorted_obs["time"].to_numpy()
    _, first, _, period = info.arrays(lay.streams)
    streams, f0, f1, ids, sev = [], [], [], [], []
    empty = _Columns(sorted_obs.iloc[:0], a.columns, a.name)
    keys = lay.frame_keys
    for k in range(len(keys)):
        lo = int(lay.frame_start[k])
        code = int(lay.stream_code[lo])
        slot = int(lay.slot[lo])
        stride = int(lay.stride[code])
        first_slot = max(0, slot - a.slots_before(float(period[code])))
        frames_in, outs_in = [], []
        for s in range(first_slot, slot + 1):
            key = code * (2**40) + s
            pos = int(np.searchsorted(keys, key))
            fnum = int(first[code] + s * stride)
            if pos < len(keys) and keys[pos] == key:
                flo = int(lay.frame_start[pos])
                fhi = flo + int(lay.frame_count[pos])
                frames_in.append(Frame(lay.streams[code], fnum, float(times[flo])))
                outs_in.append(Outputs(cols, flo, fhi))
            else:
                t = float(times[lo] - (slot - s) * period[code])
                frames_in.append(Frame(lay.streams[code], fnum, t))
                outs_in.append(Outputs(empty, 0, 0))
        value, _ = _severities(
            _call(a, f"stream {lay.streams[code]!r}, frames {frames_in[0].frame}-{frames_in[-1].frame}",
                  frames_in, outs_in), 0, a.name)
        if value > 0:
            hi = lo + int(lay.frame_count[k])
            streams.append(lay.streams[code])
            f0.append(frames_in[0].frame)
            f1.append(int(lay.frame[lo]))
            ids.append(oid[lo:hi].tolist())
            sev.append(value)
    return _user_findings(a.name, ["window"] * len(sev), streams, f0, f1, ids, sev)


def run_assertion(assertion: Assertion, observations: pd.DataFrame, info: StreamInfo | None) -> pd.DataFrame:
    """Findings of one assertion (user-written or built in) on a table."""
    if isinstance(assertion, PointAssertion):
        if assertion.unit == "row":
            return _run_point_rows(assertion, observations)
        return _run_point_frames(assertion, observations, info or stream_info(observations))
    if isinstance(assertion, TemporalAssertion):
        return _run_temporal(assertion, observations, info or stream_info(observations))
    return assertion.run(observations, info=info)


def _is_observations(table: pd.DataFrame) -> bool:
    return all(c in table.columns for c in ("stream", "frame", "time", "obs_id", "cls", "source"))


def _check_group(table: pd.DataFrame, shared: tuple[list[Assertion], int | dict | None]
                 ) -> tuple[pa.Table | None, list[Any], int]:
    """Findings of the assertions on one group of streams (a task of an engine), as Arrow
    (no Python object per finding: the driver holding many groups' findings stays cheap for
    the garbage collector, and a worker ships them as buffers), the assertions'
    blind-spot parts, and the rows checked."""
    items, stride = shared
    table = validate(table, "observations")
    info = stream_info(table, stride=stride) if len(table) else None
    parts = [p for a in items if len(p := run_assertion(a, table, info))]
    found = pa.Table.from_pandas(pd.concat(parts, ignore_index=True), preserve_index=False) if parts else None
    spots = [a.blind_spot_part(table) for a in items]
    rows = len(table)
    del table, info, parts
    release_memory()  # the group's working memory, before the next group's
    return found, spots, rows


def _finished(tables: list[pa.Table], precision: pd.DataFrame | None) -> pd.DataFrame:
    """The findings of several groups as one table, prioritized and most important first (as
    :func:`prioritize` gives them). Prioritized and sorted as Arrow columns (no Python object
    per finding until the ``obs_ids`` lists of the DataFrame returned); each column is put in
    order and its unordered copy let go, and ``tables`` is emptied: the findings are held
    about once, not once per step."""
    if not tables:
        return prioritize(empty_findings(), precision=precision)
    both = pa.concat_tables(tables, promote_options="permissive")  # a column all null in a group
    tables.clear()
    assertion = both.column("assertion").combine_chunks().dictionary_encode()
    priority = priorities(assertion.indices.to_numpy(zero_copy_only=False),
                          assertion.dictionary.to_pylist(),
                          both.column("severity").to_numpy(), precision=precision)
    del assertion
    order = canonical_order(both.select(list(SORT_COLUMNS)), priority)
    taken = pa.array(order)
    names, metadata = both.column_names, both.schema.metadata  # metadata: the pandas dtypes
    columns = []
    for name in names:  # each column in order, then the unordered one let go
        columns.append(both.column(name).take(taken))
        both = both.drop_columns([name])
        release_memory()
    position = names.index("obs_ids")
    ids = python_lists(columns.pop(position))
    rest = pa.Table.from_arrays(columns, names=[c for c in names if c != "obs_ids"],
                                metadata=metadata)
    del columns
    findings = rest.to_pandas(self_destruct=True, split_blocks=True)
    del rest
    findings.insert(position, "obs_ids", pd.Series(ids, dtype=object))
    findings["priority"] = priority[order]
    return findings


def _check_streams(source: Any, items: list[Assertion], stride: int | dict | None, engine: Any,
                   rows_per_group: int | None) -> tuple[list[pa.Table], list[str], int]:
    """Findings (as Arrow, a table per group with any), notes and rows of a table checked a
    group of streams at a time."""
    from ..engine.streams import ROWS_PER_GROUP

    workers = engine.workers() if engine.distributed else 1
    groups = source.groups(rows_per_group=rows_per_group or ROWS_PER_GROUP, at_least=2 * workers
                           if engine.distributed else 1, multiple_of=workers)
    results = engine.map(_check_group, source, groups, (items, stride))
    notes = [note for k, a in enumerate(items)
             if (note := a.blind_spot_of([r[1][k] for r in results])) is not None]
    rows = sum(r[2] for r in results)
    tables = [r[0] for r in results if r[0] is not None]
    del results
    return tables, notes, rows


@validate_params({"precision": [pd.DataFrame, None],
                  "rows_per_group": [Interval(int, 1, None), None]})
def check(
    observations: Any,
    assertions: Iterable[Assertion] | Assertion,
    *,
    workspace: Any = None,
    name: str | None = None,
    stride: int | dict | None = None,
    precision: pd.DataFrame | None = None,
    engine: Any = "local",
    address: str | None = None,
    rows_per_group: int | None = None,
) -> pd.DataFrame:
    """Run assertions over a table and return their findings, most important first.

    Parameters
    ----------
    observations : pandas.DataFrame, path or assay.engine.Streams
        Canonical observations (validated here), or, when every assertion works on rows
        (``needs_observations`` False, such as :class:`~assay.assertions.OutputRange`), any
        table of model inputs and outputs. Also the path of a Parquet dataset of
        observations (a folder partitioned by stream, or files with a ``stream`` column) or
        an :class:`~assay.engine.Streams` (a workspace table): read a group of streams at a
        time, so it may be far larger than memory.
    assertions : Assertion or list of Assertion
        Built-ins, declared consistency assertions, or user functions decorated with
        :func:`point_assertion` / :func:`temporal_assertion`.
    workspace : assay.Workspace, optional
        When given, the findings are stored there under a new run (see
        :meth:`~assay.Workspace.runs`); its id is in the ``run_id`` column.
    name : str, optional
        Name of the observations (recorded with the run).
    stride : int or dict, optional
        Frames between consecutive frames of each stream; inferred by default (the greatest
        common divisor of the gaps between frame numbers).
    precision : pandas.DataFrame, optional
        Reviewers' precision per assertion (``arm``, ``reviewed``, ``confirmed``, as
        :func:`assay.curate.assertion_precision` returns) to weight priorities with; by
        default the workspace's verdicts when a workspace is given, else none.
    engine : {"local", "ray"}, default "local"
        Where the assertions run: in this process, or as tasks of a Ray cluster, one group
        of streams per task (``pip install 'assay[ray]'``). The findings are the same.
    address : str, optional
        The Ray cluster to use with ``engine="ray"`` (see :class:`~assay.engine.RayEngine`).
    rows_per_group : int, optional
        Rows read at once when the table is checked a group of streams at a time (a Parquet
        dataset, a :class:`~assay.engine.Streams`, ``engine="ray"``, or a DataFrame of
        observations with more rows than this); default 2,000,000.

    Returns
    -------
    pandas.DataFrame
        The findings table (``run_id``, ``assertion``, ``scope``, ``stream``,
        ``frame_start``, ``frame_end``, ``obs_ids``, ``track``, ``severity``, ``evidence``,
        ``fix``, then ``priority``), sorted by priority (descending: see
        :func:`~assay.assertions.prioritize`), ties in the order of
        :func:`~assay.assertions.sort_findings`. ``severity`` is each assertion's own
        value; ``priority``, in (0, 1], compares findings across assertions.
        ``attrs["notes"]`` says why an assertion could not find anything when the input
        rules it out (a track-level assertion on observations without track ids).

    Examples
    --------
    >>> import assay
    >>> from assay.assertions import Flicker, Gap, check
    >>> from assay.io import read_mot, demo_path
    >>> from assay.assertions import Appear
    >>> tracker = read_mot(demo_path("TUD-Stadtmitte", "tracker"), kind="gt", fps=25)
    >>> findings = check(tracker, [Flicker(), Gap(), Appear(min_duration=0.5)])
    >>> findings[["assertion", "scope", "frame_start", "frame_end", "track", "priority"]]
      assertion  scope  frame_start  frame_end  track  priority
    0    appear  track          ...        ...    ...       1.0
    """
    items = [assertions] if isinstance(assertions, Assertion) else list(assertions)
    for a in items:
        if not isinstance(a, Assertion):
            raise InvalidParameterError(
                f"check takes Assertion objects (built-ins such as Flicker(), or functions decorated "
                f"with @point_assertion / @temporal_assertion). Got {a!r}.")
    from ..engine import Streams, as_streams, get_engine
    from ..engine.streams import ROWS_PER_GROUP

    runner = get_engine(engine, address)
    started = _time.time()
    rows_in_memory = isinstance(observations, pd.DataFrame) and not runner.distributed
    tables = findings = None
    if rows_in_memory:
        needs_obs = any(a.needs_observations for a in items)
        table = (validate(observations, "observations") if needs_obs or _is_observations(observations)
                 else observations.reset_index(drop=True))
        rows = len(table)
        if _is_observations(table) and rows > (rows_per_group or ROWS_PER_GROUP):
            # a large table a group of streams at a time too: the same findings (each depends
            # on one stream's rows), the working memory of a group, not of the whole table
            tables, notes, _ = _check_streams(Streams.from_frame(table, name=name), items, stride,
                                              runner, rows_per_group)
        else:
            info = stream_info(table, stride=stride) if _is_observations(table) and rows else None
            notes = [note for a in items if (note := a.blind_spot(table)) is not None]
            parts = [run_assertion(a, table, info) for a in progress(items, "running assertions")]
            parts = [p for p in parts if len(p)]
            findings = pd.concat(parts, ignore_index=True) if parts else empty_findings()
        del table
    else:
        source = as_streams(observations, name=name)
        tables, notes, rows = _check_streams(source, items, stride, runner, rows_per_group)
    precision = verdict_precision(workspace, precision)
    findings = (_finished(tables, precision) if findings is None
                else prioritize(findings, precision=precision))
    if workspace is not None:
        from ..store.identity import describe_input

        run_id = workspace.start_run("check", {
            "observations": name, "rows": rows, "engine": runner.name,
            "assertions": [repr(a) for a in items],
        }, inputs=[describe_input("observations", observations, name=name) if rows_in_memory
                   else source.describe("observations")])
        findings["run_id"] = pd.array([run_id] * len(findings), dtype=findings["run_id"].dtype)
        workspace.add_findings(findings, run_id=run_id)
        workspace.finish_run(run_id, "ok", {
            "findings": len(findings), "seconds": round(_time.time() - started, 3), "notes": notes,
            "per_assertion": findings["assertion"].value_counts().to_dict(),
            "priority_weights": assertion_weights([a.name for a in items], precision=precision),
        })
        findings.attrs["run_id"] = run_id
    if notes:
        findings.attrs["notes"] = notes
    return findings
