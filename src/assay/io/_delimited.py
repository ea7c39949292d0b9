"""Strict, fast reading of delimited text files.

The fast path parses with pyarrow's multithreaded CSV reader. When pyarrow refuses a file, or
a later check finds a bad value, a slow path walks the file line by line, only then, to name
the first bad line and column and say what was expected. Nothing is silently dropped: the
only lines skipped are empty ones (and, where a format has them, comment lines).

For ingest into a workspace, :func:`scan_sql` and :func:`well_formed_sql` read a layout with
DuckDB's own parallel CSV reader, as strictly as the pyarrow path: a row that path would refuse
fails the DuckDB query, and the caller then reads the file the pyarrow way, to name the line.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..exceptions import DataFileNotFoundError, DataFormatError

_ARROW = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
_NOUN = {"int": "an integer", "float": "a number", "str": "a text value"}


@dataclass(frozen=True)
class Field:
    """One column of a delimited layout."""

    name: str
    kind: str  # "int" | "float" | "str"


def check_file(path: str | Path, what: str) -> Path:
    """Resolve ``path`` and fail clearly when it is missing, a folder, or empty."""
    p = Path(path)
    if not p.exists():
        raise DataFileNotFoundError(f"{p}: no such file (expected {what}).")
    if p.is_dir():
        raise DataFormatError(f"is a folder; expected {what} file.", path=p)
    if p.stat().st_size == 0:
        raise DataFormatError(f"file is empty; expected {what}.", path=p)
    return p


def _check_encoding(p: Path, raw: bytes) -> None:
    for bom, name in ((codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
                      (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32")):
        if raw.startswith(bom):
            raise DataFormatError(
                f"file is {name} encoded; expected UTF-8 or ASCII text "
                f"(convert it, e.g. `iconv -f {name} -t UTF-8`).",
                path=p, line=1,
            )
    if b"\x00" in raw[:4096]:
        raise DataFormatError("file contains NUL bytes; expected a text file.", path=p)


def _lines(raw: bytes) -> list[tuple[int, bytes]]:
    """(1-based line number, content) for every non-empty line."""
    out = []
    for i, line in enumerate(raw.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if line:
            out.append((i, line))
    return out


def _parse_value(text: str, kind: str) -> bool:
    if kind == "str":
        return True
    try:
        if kind == "int":
            int(text)
        else:
            float(text)
    except ValueError:
        return False
    return True


def diagnose(
    p: Path, raw: bytes, fields: list[Field] | list[list[Field]], delimiter: str, what: str,
    comment: bytes | None = None,
) -> DataFormatError:
    """Walk the file and build the error for its first bad line (slow path, errors only)."""
    layouts = fields if isinstance(fields[0], list) else [fields]
    counts = sorted({len(f) for f in layouts})
    expected_n = " or ".join(str(n) for n in counts)
    sep_name = {",": "commas", " ": "single spaces", "\t": "tabs"}.get(delimiter, repr(delimiter))
    layout: list[Field] | None = None
    for lineno, line in _lines(raw):
        if comment is not None and line.lstrip().startswith(comment):
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            col = line[: e.start].decode("utf-8", "replace").count(delimiter) + 1
            return DataFormatError(
                f"byte 0x{line[e.start]:02x} is not valid UTF-8; expected UTF-8 or ASCII "
                f"text ({what}).",
                path=p, line=lineno, column=col,
            )
        parts = text.split(delimiter)
        if layout is None:
            matching = [f for f in layouts if len(f) == len(parts)]
            if not matching:
                return DataFormatError(
                    f"expected {expected_n} fields separated by {sep_name} ({what}); "
                    f"got {len(parts)}: {text[:120]!r}.",
                    path=p, line=lineno,
                )
            layout = matching[0]
        if len(parts) != len(layout):
            return DataFormatError(
                f"expected {len(layout)} fields separated by {sep_name} like the lines "
                f"before ({what}); got {len(parts)}: {text[:120]!r}.",
                path=p, line=lineno,
            )
        for col, (value, field) in enumerate(zip(parts, layout, strict=True), start=1):
            # pyarrow trims spaces around numbers; so does this check
            if not _parse_value(value.strip(), field.kind):
                return DataFormatError(
                    f"field {field.name!r}: expected {_NOUN[field.kind]}, got {value!r}.",
                    path=p, line=lineno, column=col,
                )
    return DataFormatError(f"could not be parsed as {what}.", path=p)


class Source:
    """A file being read: its path, and its bytes loaded only when an error is reported."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: bytes | None = None

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self.path.read_bytes()
        return self._raw


def first_layout(
    p: Path, fields: list[Field] | list[list[Field]], delimiter: str
) -> tuple[list[Field] | None, bytes]:
    """The layout chosen by the first non-empty line's field count (None if none fits), and
    the file's first 64 KiB; raises as :func:`read_delimited` does on a bad encoding."""
    with open(p, "rb") as f:
        head = f.read(65536)
    _check_encoding(p, head)
    layouts = fields if isinstance(fields[0], list) else [fields]
    first = next((line for _, line in _lines(head + b"\n")), b"")
    n_first = first.count(delimiter.encode()) + 1
    return next((f for f in layouts if len(f) == n_first), None), head


def read_delimited(
    path: str | Path,
    fields: list[Field] | list[list[Field]],
    *,
    delimiter: str,
    what: str,
) -> tuple[pa.Table, Source]:
    """Parse a delimited file with one of the given layouts (chosen by the first line's
    field count). Returns the table and the :class:`Source` (for error reports)."""
    p = check_file(path, what)
    src = Source(p)
    layout, _ = first_layout(p, fields, delimiter)
    if layout is None:
        raise diagnose(p, src.raw, fields, delimiter, what)
    try:
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(column_names=[f.name for f in layout]),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: _ARROW[f.kind] for f in layout},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        raise diagnose(p, src.raw, [layout], delimiter, what) from None
    return table, src


def numpy_columns(table: pa.Table) -> dict[str, np.ndarray]:
    """Each column of a parsed table as a writable numpy array.

    A column of many parse blocks converts by one concatenating copy (writable); a column of
    one block converts without a copy, as a read-only view of Arrow's memory, and a table
    handed to users must accept ``df.loc[...] = ...``, so that view is copied.
    """
    out = {}
    for name in table.column_names:
        a = table.column(name).to_numpy()
        out[name] = a if a.flags.writeable else a.copy()
    return out


def line_of_row(raw: bytes, row: int) -> int:
    """1-based line number of the ``row``-th (0-based) non-empty line."""
    return _lines(raw)[row][0]


def fail_rows(
    src: Source, mask: np.ndarray, column: int, name: str, values: np.ndarray, expected: str
) -> None:
    """Raise for the first row where ``mask`` is true, naming its line and column."""
    bad = np.flatnonzero(mask)
    if bad.size == 0:
        return
    row = int(bad[0])
    value = values[row]
    value = value.item() if isinstance(value, np.generic) else value
    more = f" ({bad.size} bad rows in all)" if bad.size > 1 else ""
    raise DataFormatError(
        f"field {name!r}: expected {expected}, got {value!r}{more}.",
        path=src.path, line=line_of_row(src.raw, row), column=column,
    )


# ---------------------------------------------------------------- the same layouts in DuckDB

#: What pyarrow reads as an integer (digits, an optional minus, spaces or tabs around them);
#: DuckDB's reader also takes ``1.0``, ``1e3`` and ``+1`` as integers, so integer fields are
#: read as text and checked against this.
_INTEGER_RE = "[ \\t]*-?[0-9]+[ \\t]*"
#: Read for a field past the layout's last: set only on a line with too many fields.
_MORE = "_assay_more"
#: ``nullstr`` of :func:`scan_sql`: no field is read as NULL.
_NO_NULL = "(assay:never-null)"
_SQL_TYPES = {"int": "VARCHAR", "float": "DOUBLE", "str": "VARCHAR"}
#: ``buffer_size`` of :func:`scan_sql`. Given explicitly, DuckDB (2.0) writes the rows it
#: inserts as final row groups; with its default, the checkpoint after a commit rewrites them,
#: which costs half as much again as the insert (benchmarks/bench_ingest.py).
_BUFFER = 64 * 2**20


@dataclass(frozen=True)
class IngestPlan:
    """A reader's table as DuckDB queries, for :meth:`assay.store.Workspace.add_query`.

    Attributes
    ----------
    queries : list of str
        One ``SELECT`` per file, in the reader's row order, failing on a row the reader
        refuses; ``obs_id`` is left to number the rows stored (``numbered="obs_id"``).
    like : pandas.DataFrame
        The reader's table without rows: its columns, dtypes and ``attrs``.
    streams : list of str
        The streams read, in order.
    computed : dict
        Column to ``(column, function)``: columns the reader computes in numpy from another
        column, bit for bit as DuckDB would not (``tanh``), set after the rows are stored
        (``computed=`` of :meth:`~assay.store.Workspace.add_query`).
    """

    queries: list[str]
    like: pd.DataFrame
    streams: list[str]
    computed: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = dataclass_field(default_factory=dict)


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_column(field: Field) -> str:
    """The column :func:`scan_sql` reads ``field`` into (quoted)."""
    return f'"f_{field.name}"'


def sql_value(field: Field) -> str:
    """SQL for the value of ``field`` (typed) in the rows of :func:`scan_sql`."""
    col = sql_column(field)
    return f"CAST({col} AS BIGINT)" if field.kind == "int" else col


def scan_sql(path: Path, layout: list[Field], delimiter: str) -> str:
    """A ``read_csv`` of ``path`` in ``layout``, as strict as :func:`read_delimited` once the
    rows pass :func:`well_formed_sql` (and the file holds no ``_``: see :func:`duckdb_can_read`).

    No quotes, no header, no sniffing; an empty field is text, never NULL (``nullstr`` is a
    text no data file holds), so it fails a number's parse as in pyarrow; a missing field is
    NULL (``null_padding``) and a field too many lands in one more column.
    """
    columns = ", ".join(f"{sql_string('f_' + f.name)}: '{_SQL_TYPES[f.kind]}'" for f in layout)
    return (
        f"read_csv({sql_string(str(path))}, header = false, auto_detect = false, "
        f"delim = {sql_string(delimiter)}, quote = '', escape = '', nullstr = '{_NO_NULL}', "
        f"null_padding = true, strict_mode = true, buffer_size = {_BUFFER}, "
        f"columns = {{{columns}, '{_MORE}': 'VARCHAR'}})"
    )


def well_formed_sql(layout: list[Field]) -> str:
    """SQL true for a row of :func:`scan_sql` that pyarrow reads the same: every field
    present, none too many, integers written as integers."""
    checks = [f"{_MORE} IS NULL", f"{sql_column(layout[-1])} IS NOT NULL"]
    # an integer written as DuckDB writes it back needs no regular expression (most do)
    checks += [f"(CAST({c} AS BIGINT)::VARCHAR = {c} OR regexp_full_match({c}, '{_INTEGER_RE}'))"
               for f in layout if f.kind == "int" for c in [sql_column(f)]]
    return " AND ".join(checks)


def duckdb_can_read(p: Path, words: tuple[bytes, ...] = ()) -> bool:
    """Whether :func:`scan_sql` reads ``p`` as pyarrow does, given rows that pass
    :func:`well_formed_sql`: DuckDB's numbers also take ``_`` between digits (``1_000``),
    pyarrow's do not, so a file holding ``_`` is left to pyarrow, unless each ``_`` is in one
    of ``words`` (text values such as ``Person_sitting``)."""
    import mmap

    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if not words or m.find(b"_") < 0:
            return m.find(b"_") < 0
        data = m[:]
    return data.count(b"_") == sum(data.count(w) * w.count(b"_") for w in words)
