"""Exceptions raised by assay.

Every error assay raises derives from :class:`AssayError`; each subclass also inherits the
built-in exception it means, so ``except ValueError`` keeps working for callers that do not
know assay.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AssayError",
    "DataFileNotFoundError",
    "DataFormatError",
    "InvalidParameterError",
    "MissingDependencyError",
    "SchemaError",
    "UnsafePathError",
    "WorkspaceError",
    "WorkspaceLockedError",
]


class AssayError(Exception):
    """Root of every exception raised by assay."""


class InvalidParameterError(AssayError, ValueError):
    """A parameter of a public function has a bad value or type."""


class SchemaError(AssayError, ValueError):
    """A table does not follow a canonical schema (missing column, bad value, bad dtype)."""


class DataFormatError(AssayError, ValueError):
    """A file could not be read: the message names the file, line and column.

    Attributes
    ----------
    path : Path
        The file.
    line : int or None
        1-based line number of the first bad value, when the file has lines.
    column : int or None
        1-based column (field) number of the first bad value.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")


class DataFileNotFoundError(AssayError, FileNotFoundError):
    """A file or folder that must exist does not: an input, or the folder an output goes in."""


class UnsafePathError(AssayError, ValueError):
    """A path built from data would resolve outside the folder it must stay in."""


class WorkspaceError(AssayError, RuntimeError):
    """A workspace operation failed (unknown table, wrong table kind, closed workspace)."""


class WorkspaceLockedError(WorkspaceError):
    """Another process holds the workspace open for writing."""


class MissingDependencyError(AssayError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""
