"""Exceptions raised by assay.

Every error assay raises derives from :class:`AssayError`; each subclass also inherits the
built-in exception it means, so ``except ValueError`` keeps working for callers that do not
know assay.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AssayError",
    "AssayWarning",
    "DataFileNotFoundError",
    "DataFormatError",
    "InvalidParameterError",
    "MissingDependencyError",
    "QueryError",
    "SchemaError",
    "UnsafePathError",
    "UserCodeError",
    "WorkspaceError",
    "WorkspaceLockedError",
]


class AssayError(Exception):
    """Root of every exception raised by assay."""


class AssayWarning(UserWarning):
    """Root of every warning assay issues: data that was read or used, but that the user
    should know about (class names outside a format's documented list, probabilities
    clipped into [0, 1]). Filter it with ``warnings.filterwarnings("ignore",
    category=AssayWarning)``; it is not an error."""


class InvalidParameterError(AssayError, ValueError):
    """A parameter of a public function has a bad value or type."""


class QueryError(InvalidParameterError):
    """A query of :func:`assay.sql` cannot be read or answered as written: the message says
    why and what was expected, and shows the query's line with a caret under the place.

    Attributes
    ----------
    reason : str
        What is wrong, without the place.
    query : str
        The query as given.
    position : int
        0-based offset of the place in ``query``.
    line, column : int
        1-based line and column of the place.
    """

    def __init__(self, reason: str, *, query: str, position: int) -> None:
        position = max(0, min(int(position), len(query)))
        before = query[:position]
        self.reason = reason
        self.query = query
        self.position = position
        self.line = before.count("\n") + 1
        self.column = position - (before.rfind("\n") + 1) + 1
        text = query.split("\n")[self.line - 1]
        caret = " " * (self.column - 1) + "^"
        super().__init__(f"{reason}\nline {self.line}, column {self.column}:\n  {text}\n  {caret}")


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


class UserCodeError(AssayError, RuntimeError):
    """A user's own code (an assertions file, an assertion, an oracle) raised an exception.

    The message names the user's file and line; the original exception is ``__cause__``.

    Attributes
    ----------
    path : Path or None
        The user's file where it happened (the innermost frame in the user's files).
    line : int or None
    user_traceback : str
        The traceback restricted to the user's frames, for printing.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 user_traceback: str = "") -> None:
        self.path = None if path is None else Path(path)
        self.line = line
        self.user_traceback = user_traceback
        super().__init__(message)

    @classmethod
    def from_exception(cls, exc: BaseException, what: str) -> UserCodeError:
        """Wrap an exception raised by user code; ``what`` says what assay was doing
        (``"assertion 'crowded' on stream 'cam1', frame 12"``)."""
        import traceback

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
        if isinstance(exc, SyntaxError) and exc.filename and is_user_file(exc.filename):
            path, line = exc.filename, exc.lineno
        elif frames:
            path, line = frames[-1].filename, frames[-1].lineno
        else:
            path, line = None, None
        where = f"{path}, line {line}: " if path else ""
        text = "".join(traceback.format_list(frames)) + "".join(
            traceback.format_exception_only(type(exc), exc))
        return cls(f"{where}{type(exc).__name__}: {exc} (in {what})", path=path, line=line,
                   user_traceback=text.rstrip())


def is_user_file(filename: str) -> bool:
    """Whether a traceback frame's file is the user's: not assay's own, not the Python
    installation's (standard library, installed packages)."""
    import sys

    if not filename:
        return False
    if filename.startswith("<"):  # code typed at a prompt or exec'd from a string
        return not filename.startswith("<frozen")
    package = Path(__file__).resolve().parent
    path = Path(filename).resolve()
    if path.is_relative_to(package):
        return False
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return not any(path.is_relative_to(r) for r in roots)
