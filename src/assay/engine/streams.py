"""Observations read a group of streams at a time: from a DataFrame in memory, a Parquet
dataset on disk, or a table of a workspace.

Per-stream work (assertions, tracking, counting frames) never needs two streams at once, so a
table far larger than memory is processed one group of streams after another, and a cluster
processes the groups side by side. A :class:`Streams` says which streams there are and how
many rows each has, and reads the rows of a group; :meth:`Streams.part` is what a worker of
the ``"ray"`` engine is given to read a group itself (the files' paths for a Parquet dataset,
read where it lies; an Arrow table shipped once through Ray's object store otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..exceptions import InvalidParameterError, SchemaError

__all__ = ["Streams", "as_streams"]

#: Rows of one group of streams read at once by default: about 1 GB of working memory for
#: the built-in assertions (a stream larger than this is still one group).
ROWS_PER_GROUP = 2_000_000


class Streams:
    """A table of observations (or any table with a ``stream`` column), by stream.

    Build one with :meth:`from_frame`, :meth:`from_parquet` or :meth:`from_workspace`, or
    let :func:`as_streams` pick (a DataFrame, or the path of a Parquet file or folder).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.engine import Streams
    >>> s = Streams.from_frame(pd.DataFrame({"stream": ["b", "a", "b"], "frame": [1, 1, 2]}))
    >>> s.counts().to_dict()
    {'a': 1, 'b': 2}
    >>> s.groups(rows_per_group=2)
    [['a'], ['b']]
    >>> s.read(["b"])["frame"].tolist()
    [1, 2]
    """

    def __init__(self, kind: str, source: Any, name: str | None) -> None:
        self.kind = kind
        self.source = source
        self.name = name
        self._counts: pd.Series | None = None
        self._ids_checked = False  # check_ids has passed (a Parquet dataset)
        # a Parquet dataset's (stream, smallest obs_id, largest obs_id), read in the same
        # pass as its counts; None: not read yet or no obs_id column
        self._ranges: list[tuple[str, Any, Any]] | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, name: str | None = None) -> Streams:
        """Streams of a DataFrame in memory (it needs a ``stream`` column)."""
        if "stream" not in frame.columns:
            raise SchemaError(f"{name or 'observations'}: no 'stream' column to group the rows by.")
        return cls("frame", frame, name)

    @classmethod
    def from_parquet(cls, path: str | os.PathLike, *, name: str | None = None) -> Streams:
        """Streams of a Parquet file, or of a folder of Parquet files: either partitioned by
        stream (``stream=NAME/*.parquet``, as ``pyarrow.dataset.write_dataset(...,
        partitioning=["stream"], partitioning_flavor="hive")`` writes it) or files holding a
        ``stream`` column. The files are read where they lie, a group of streams at a time."""
        p = Path(path).expanduser().resolve()
        if not p.exists():
            raise InvalidParameterError(
                f"No Parquet dataset at {str(p)!r}: give a .parquet file or a folder of them.")
        return cls("parquet", str(p), name or p.name)

    @classmethod
    def from_workspace(cls, workspace: Any, table: str) -> Streams:
        """Streams of a workspace table, read from DuckDB a group of streams at a time."""
        if table not in workspace:
            raise InvalidParameterError(f"The workspace has no table {table!r}.")
        return cls("workspace", workspace, table)

    # -- what there is ------------------------------------------------------------------

    def counts(self) -> pd.Series:
        """Rows per stream, by stream name (ascending)."""
        if self._counts is None:
            if self.kind == "frame":
                c = self.source["stream"].value_counts(sort=False)
            elif self.kind == "parquet":
                c = self._parquet_counts()
            else:
                c = self.source.sql(f'SELECT stream, count(*) AS n FROM "{self.name}" GROUP BY 1'
                                    ).set_index("stream")["n"]
            c.index = c.index.astype(object)
            self._counts = c.sort_index().astype(np.int64)
        return self._counts

    def _parquet_counts(self) -> pd.Series:
        """Rows per stream of a Parquet dataset, and each stream's id range for
        :meth:`check_ids` in the same pass (one read of the dataset for both)."""
        import duckdb

        scan = _scan(self.source)
        con = duckdb.connect()
        try:
            try:
                rows = con.execute(
                    f"SELECT CAST(stream AS VARCHAR), count(*), min(obs_id), max(obs_id) FROM {scan} "
                    "GROUP BY 1").fetchall()
                self._ranges = [(r[0], r[2], r[3]) for r in rows]
            except duckdb.Error:  # no obs_id: counts alone (the groups' validation names it)
                try:
                    rows = con.execute(
                        f"SELECT CAST(stream AS VARCHAR), count(*) FROM {scan} GROUP BY 1").fetchall()
                except duckdb.Error as exc:
                    raise SchemaError(f"{self.source}: cannot count rows by stream ({exc}).") from None
        finally:
            con.close()
        return pd.Series([r[1] for r in rows], index=pd.Index([r[0] for r in rows], name="stream"),
                         name="n", dtype=np.int64)

    def __len__(self) -> int:
        return int(self.counts().sum())

    def groups(self, *, rows_per_group: int = ROWS_PER_GROUP, at_least: int = 1,
               multiple_of: int = 1) -> list[list[str]]:
        """Consecutive streams (by name) packed into groups of at most ``rows_per_group`` rows
        (a larger stream is a group of its own); split further until there are ``at_least``
        groups when there are that many streams. With ``multiple_of`` (the workers of a
        cluster), the streams are split instead into as many groups of about equal rows,
        rounded up to a multiple of it, when that keeps every group within
        ``rows_per_group``: two workers given five groups of 2 M rows take three rounds of
        2 M, given six groups of 1.67 M three rounds of 1.67 M.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.engine import Streams
        >>> s = Streams.from_frame(pd.DataFrame({"stream": list("abcdefghij")}))
        >>> [len(g) for g in s.groups(rows_per_group=2)]
        [2, 2, 2, 2, 2]
        >>> [len(g) for g in s.groups(rows_per_group=2, multiple_of=2)]
        [2, 1, 2, 2, 1, 2]
        """
        if self.kind == "parquet":
            self.check_ids()
        counts = self.counts()
        total = int(counts.sum())
        limit = max(1, min(rows_per_group, -(-total // max(at_least, 1))))
        groups: list[list[str]] = []
        rows = 0
        for s, n in zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True):
            if groups and rows + n <= limit:
                groups[-1].append(s)
                rows += n
            else:
                groups.append([s])
                rows = n
        if multiple_of > 1:
            balanced = _balanced(counts, -(-len(groups) // multiple_of) * multiple_of, rows_per_group)
            if balanced is not None:
                return balanced
        return groups

    def check_ids(self) -> None:
        """Raise :class:`~assay.exceptions.SchemaError` when an ``obs_id`` of a Parquet
        dataset is on more than one row. Each group of streams is validated on its own, which
        catches a repeat inside a group but not across groups; this closes that gap. One pass
        reads each stream's smallest and largest id: when no two streams' ranges overlap (ids
        numbered stream by stream, as readers and the workspace number them), a repeat can
        only lie inside a stream, which its group's validation catches. Only when ranges
        overlap are the ids themselves compared, by DuckDB within a memory limit (spilling to
        a temporary folder), so a dataset larger than memory is still checked. Workspace
        tables and DataFrames are validated whole already; a dataset without ``obs_id`` is
        left to the validation of its groups (which names the missing column). The ranges
        come from the pass that counts the rows (:meth:`counts`)."""
        if self.kind != "parquet" or self._ids_checked:
            return
        import tempfile

        import duckdb

        self.counts()
        if self._ranges is None:
            return  # no obs_id: the groups' validation says what is wrong
        ranges = sorted((r for r in self._ranges if r[1] is not None), key=lambda r: r[1])
        lows = np.array([r[1] for r in ranges])
        highs = np.array([r[2] for r in ranges])
        if lows.size < 2 or not np.any(lows[1:] <= np.maximum.accumulate(highs)[:-1]):
            self._ids_checked = True  # no two ranges overlap: a repeat lies inside one stream
            return
        scan = _scan(self.source)
        con = duckdb.connect()
        try:
            with tempfile.TemporaryDirectory(prefix="assay-ids-") as spill:
                con.execute(f"SET temp_directory = '{_sql_text(spill)}'")
                con.execute("SET memory_limit = '1GB'")
                con.execute("SET preserve_insertion_order = false")
                twice = con.execute(
                    f"SELECT obs_id, list(DISTINCT CAST(stream AS VARCHAR) ORDER BY CAST(stream AS VARCHAR)) "
                    f"FROM {scan} GROUP BY obs_id HAVING count(*) > 1 ORDER BY obs_id LIMIT 1").fetchall()
            if twice:
                oid, streams = twice[0]
                raise SchemaError(
                    f"{self.source}: obs_id {oid} is on more than one row (stream "
                    f"{', '.join(map(repr, streams))}); expected a unique obs_id across the dataset.")
        finally:
            con.close()
        self._ids_checked = True

    # -- reading ------------------------------------------------------------------------

    def read(self, streams: Sequence[str]) -> pd.DataFrame:
        """The rows of these streams (in the source's order within each stream)."""
        return read_part(self.part(streams, shipped=False))

    def part(self, streams: Sequence[str], *, shipped: bool = True) -> tuple:
        """What a worker needs to read these streams: ``("parquet", path, streams)``, or
        ``("arrow", table)`` with the rows as Arrow (``shipped``) or ``("frame", frame)``."""
        streams = list(streams)
        if self.kind == "parquet":
            return ("parquet", self.source, streams)
        if self.kind == "frame":
            df = self.source
            rows = df[df["stream"].isin(streams)] if len(streams) < len(self.counts()) else df
        else:
            rows = self.source.read(self.name, stream=streams)
        if shipped:
            return ("arrow", pa.Table.from_pandas(rows, preserve_index=False))
        return ("frame", rows)

    def describe(self, role: str = "observations") -> dict[str, Any]:
        """The input as a run records it (see :func:`assay.store.identity.describe_input`)."""
        if self.kind == "workspace":
            info = self.source.table_info(self.name)
            return {"role": role, "identity": info["identity"], "table": info["name"],
                    "revision": info["revision"], "rows": info["rows"]}
        from ..store.identity import describe_input

        return describe_input(role, self.source, name=self.name)


def _balanced(counts: pd.Series, k: int, limit: int) -> list[list[str]] | None:
    """Consecutive streams in ``k`` groups of about equal rows (each stream in the group its
    middle row falls in), or None when that makes fewer groups or a group of several streams
    over ``limit`` rows."""
    n = counts.to_numpy(dtype=np.int64)
    total = int(n.sum())
    if total == 0 or len(n) < k:
        return None
    middle = 2 * (np.cumsum(n) - n) + n  # twice the offset of each stream's middle row
    label = (middle * k) // (2 * total)
    cuts = np.flatnonzero(np.diff(label)) + 1
    if len(cuts) + 1 != k:
        return None
    names = counts.index.to_numpy(dtype=object)
    for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(n)].tolist(), strict=True):
        if hi - lo > 1 and int(n[lo:hi].sum()) > limit:
            return None
    return [names[lo:hi].tolist() for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(n)].tolist(),
                                                     strict=True)]


def _scan(path: str) -> str:
    """DuckDB's scan of a Parquet file or folder (stream partitions read as text)."""
    p = Path(path)
    if p.is_file():
        return f"read_parquet('{_sql_text(str(p))}')"
    hive = any(c.is_dir() and c.name.startswith("stream=") for c in p.iterdir())
    glob = _sql_text(str(p / "**" / "*.parquet"))
    if hive:
        return f"read_parquet('{glob}', hive_partitioning = true, hive_types = {{'stream': VARCHAR}})"
    return f"read_parquet('{glob}')"


def _sql_text(s: str) -> str:
    return s.replace("'", "''")


def read_part(part: tuple) -> pd.DataFrame:
    """The rows a :meth:`Streams.part` stands for (run on a worker or the driver)."""
    if part[0] == "frame":
        return part[1]
    if part[0] == "arrow":
        return part[1].to_pandas(types_mapper=_string_types)
    _, path, streams = part
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET threads TO 1")  # one worker per core: parallelism is across groups
        placeholders = ", ".join("?" for _ in streams)
        table = con.sql(
            f"SELECT * FROM {_scan(path)} WHERE CAST(stream AS VARCHAR) IN ({placeholders})",
            params=streams).to_arrow_table()
    finally:
        con.close()
    if table.schema.field("stream").type != pa.string():
        table = table.set_column(table.schema.get_field_index("stream"), "stream",
                                 table["stream"].cast(pa.string()))
    return table.to_pandas(types_mapper=_string_types)


def _string_types(t: pa.DataType) -> Any:
    """Arrow strings as pandas' Arrow-backed strings (the dtype workspace tables use)."""
    if t in (pa.string(), pa.large_string()):
        return pd.ArrowDtype(pa.string())
    return None


def as_streams(source: Any, *, name: str | None = None, param: str = "observations",
               caller: str = "check") -> Streams:
    """A :class:`Streams` from a DataFrame, a Parquet path or a :class:`Streams`."""
    if isinstance(source, Streams):
        return source
    if isinstance(source, pd.DataFrame):
        return Streams.from_frame(source, name=name)
    if isinstance(source, (str, os.PathLike)):
        return Streams.from_parquet(source, name=name)
    raise InvalidParameterError(
        f"The {param!r} parameter of {caller} must be a DataFrame, the path of a Parquet "
        f"dataset or an assay.engine.Streams. Got {type(source).__name__}.")
