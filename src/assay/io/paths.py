"""Safe file names from data, and files that appear whole or not at all.

A name that comes from data (a stream, a track, a file name inside a dataset) is never used
as a path as it is: ``"../../etc"``, ``"/tmp/x"``, ``"a/b"``, ``""`` or a 300-character name
would write outside the folder the user named, or fail half-way. :func:`safe_name` turns any
such name into one safe path component (reversibly, see :func:`original_name`), and
:func:`check_inside` checks that a final path, symbolic links followed, stays inside the
folder. :class:`StagedFiles` writes files under temporary names beside their targets and
renames them into place together when all are written, so a reader never sees half a file,
a failure leaves nothing behind, and no folder is created that the user did not name.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote

from .._validation import Interval, validate_params
from ..exceptions import DataFileNotFoundError, InvalidParameterError, UnsafePathError

__all__ = ["StagedFiles", "check_inside", "original_name", "safe_name"]

#: Characters :func:`safe_name` percent-encodes anywhere in a name: path separators, ``%``
#: itself, control characters (NUL included) and the characters Windows forbids in names.
ENCODED = '/\\%:*?"<>|' + "".join(map(chr, range(0x20))) + "\x7f"
#: Names Windows reserves for devices (also with an extension, in any case): :func:`safe_name`
#: encodes their first character, so an export copies to a Windows share intact.
WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)
#: Marks a name truncated by :func:`safe_name`: ``%~`` and 12 hex digits of its SHA-256 end it.
TRUNCATED = "%~"
_HASH_CHARS = 12

_ENCODE_RE = re.compile("[" + re.escape(ENCODED) + "]")
_UNIT_RE = re.compile("%[0-9A-F]{2}|.", re.DOTALL)


def _escape(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


@validate_params({"name": [str], "max_bytes": [Interval(int, 32, 255)], "reserved": [tuple, list]})
def safe_name(name: str, *, max_bytes: int = 150, reserved: tuple[str, ...] | list[str] = ()) -> str:
    """One safe path component for a name that comes from data.

    The result is never a separator, never ``.`` or ``..``, never empty, never absolute, and
    at most ``max_bytes`` bytes of UTF-8; distinct names give distinct components. It is
    readable (most names come back unchanged) and reversible with :func:`original_name`
    unless it had to be truncated.

    * ``/``, ``\\``, ``%``, control characters (NUL included) and the characters Windows
      forbids (``: * ? " < > |``) become ``%XX`` (their code in hex, upper case), as in a
      URL;
    * a leading ``.`` becomes ``%2E``, so ``.``, ``..`` and hidden names are never special;
    * the empty name becomes ``%`` (a ``%`` not followed by two hex digits never comes from
      an encoded character);
    * a name whose first part (before any ``.``) is a Windows device name (``con``, ``nul``,
      ``com1``, ...) or that equals one of ``reserved`` (ignoring case) gets its first
      character encoded, so it cannot take the place of a device or of a file the writer
      adds itself;
    * an encoded name longer than ``max_bytes`` keeps its longest prefix of whole characters
      that fits with a suffix ``%~`` and 12 hex digits of the SHA-256 of the full name.

    Parameters
    ----------
    name : str
        The name, from data.
    max_bytes : int, default 150
        Longest result in bytes of UTF-8, in [32, 255]. The default leaves room under the
        common 255-byte limit for a suffix a writer adds.
    reserved : tuple or list of str, default ()
        Names the writer uses itself in the same folder (e.g. ``("queue.csv",)``).

    Returns
    -------
    str
        The component.

    Examples
    --------
    >>> from assay.io import safe_name
    >>> [safe_name(n) for n in ["TUD-Campus", "../../etc", "a/b", "..", "", "100%", "C:\\\\x"]]
    ['TUD-Campus', '%2E.%2F..%2Fetc', 'a%2Fb', '%2E.', '%', '100%25', 'C%3A%5Cx']
    >>> safe_name("queue.csv", reserved=("queue.csv",))
    '%71ueue.csv'
    >>> long = safe_name("x" * 300)
    >>> len(long), long[-14:]
    (150, '%~0d4e2ca9e9cb')
    """
    text = _ENCODE_RE.sub(lambda m: _escape(m.group()), name)
    if not name:
        return "%"
    stem = name.split(".", 1)[0].casefold()
    if name[0] == "." or stem in WINDOWS_DEVICES or name.casefold() in {r.casefold() for r in reserved}:
        if text[0] != "%":
            text = _escape(text[0]) + text[1:]
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    room = max_bytes - len(TRUNCATED) - _HASH_CHARS
    units = _UNIT_RE.findall(text)
    sizes = [len(u.encode("utf-8")) for u in units]
    keep, used = 0, 0
    for size in sizes:
        if used + size > room:
            break
        used += size
        keep += 1
    return "".join(units[:keep]) + TRUNCATED + digest


@validate_params({"component": [str]})
def original_name(component: str) -> str:
    """The name :func:`safe_name` encoded as ``component``.

    Raises
    ------
    InvalidParameterError
        ``component`` was truncated (its end is lost: look the name up where the writer
        recorded it, e.g. the ``stream`` column of :func:`~assay.curate.to_mot`'s
        ``queue.csv``), or it is not a component :func:`safe_name` writes.

    Examples
    --------
    >>> from assay.io import original_name, safe_name
    >>> original_name("%2E.%2Fetc"), original_name("%")
    ('../etc', '')
    >>> all(original_name(safe_name(n)) == n for n in ["a/b", "..", "50%", "x\\x00y", "nul"])
    True
    """
    if component == "%":
        return ""
    if TRUNCATED in component:
        raise InvalidParameterError(
            f"The 'component' parameter of original_name was truncated by safe_name (it ends "
            f"with '{TRUNCATED}' and a hash), so the full name cannot be read from it. Got "
            f"{component!r}. Look the name up where the writer recorded it (to_mot: the "
            "'stream' column of queue.csv)."
        )
    try:
        name = unquote(component, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        name = ""
    if not name or safe_name(name, max_bytes=255) != component and not _reserved_form(name, component):
        raise InvalidParameterError(
            f"The 'component' parameter of original_name must be a name written by safe_name. "
            f"Got {component!r}."
        )
    return name


def _reserved_form(name: str, component: str) -> bool:
    """Whether ``component`` is ``name`` with its first character encoded (a reserved name)."""
    return component == _escape(name[0]) + safe_name(name, max_bytes=255)[1:] if name else False


def _realpath(path: Path, what: str) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (ValueError, OSError) as e:  # NUL byte, too many links
        raise UnsafePathError(f"Refusing to write {str(path)!r}: {what} is not a usable path ({e}).") from None


@validate_params({"path": ["path"], "root": ["path"]})
def check_inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
    """Check that ``path``, with ``..`` and symbolic links resolved, lies inside ``root``.

    Writers call it on every path whose parts come from data, after :func:`safe_name`; it also
    catches a symbolic link inside ``root`` that points out of it.

    Returns
    -------
    Path
        ``path``, unchanged.

    Raises
    ------
    UnsafePathError
        ``path`` resolves to ``root`` itself or outside it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assay.io import check_inside
    >>> root = Path(tempfile.mkdtemp())
    >>> check_inside(root / "cam" / "det.txt", root) == root / "cam" / "det.txt"
    True
    >>> check_inside(root / "cam" / ".." / ".." / "x", root)
    Traceback (most recent call last):
    ...
    assay.exceptions.UnsafePathError: Refusing to write ...: it resolves to ..., outside ...
    """
    p = Path(path)
    real = _realpath(p, "the path")
    base = _realpath(Path(root), "the folder")
    if base not in real.parents:
        raise UnsafePathError(
            f"Refusing to write {str(p)!r}: it resolves to {str(real)!r}, outside the folder "
            f"{str(root)!r} it must stay in (a name from the data, or a symbolic link inside the "
            "folder, points elsewhere). Nothing was written there."
        )
    return p


class StagedFiles:
    """Write files under temporary names and rename them into place together.

    :meth:`path` gives a temporary file beside each target (``.assay-<random>.tmp`` in the
    target's folder, which must exist); write it with any writer. When the ``with`` block ends
    normally, every staged file is flushed to disk and renamed over its target, in the order
    staged; when an exception leaves it, the temporary files and the folders made with
    :meth:`folder` are removed and the targets are untouched. A process killed with SIGKILL
    while writing leaves at most the hidden temporary files, never a half-written target;
    they are never read and are safe to delete.

    Attributes
    ----------
    written : list of Path
        The targets, once renamed into place.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assay.io import StagedFiles
    >>> d = Path(tempfile.mkdtemp())
    >>> with StagedFiles() as stage:
    ...     _ = stage.path(d / "a.txt").write_text("a")
    ...     _ = stage.path(d / "b.txt").write_text("b")
    ...     sorted(p.name for p in d.iterdir())  # nothing in place yet
    ['.assay-....tmp', '.assay-....tmp']
    >>> sorted(p.name for p in d.iterdir()), [p.name for p in stage.written]
    (['a.txt', 'b.txt'], ['a.txt', 'b.txt'])
    >>> stage.path(d / "missing" / "c.txt")
    Traceback (most recent call last):
    ...
    assay.exceptions.DataFileNotFoundError: Cannot write '.../missing/c.txt': the folder ...
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []
        self._made: list[Path] = []
        self.written: list[Path] = []

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def folder(self, path: str | os.PathLike[str]) -> Path:
        """Make the folder ``path`` unless it exists; its parent must exist.

        Removed again (when empty) if the block fails.
        """
        p = Path(path)
        if p.is_dir():
            return p
        _require_folder(p.parent, p)
        p.mkdir()
        self._made.append(p)
        return p

    def path(self, target: str | os.PathLike[str]) -> Path:
        """A new empty temporary file that will be renamed to ``target``.

        Raises
        ------
        DataFileNotFoundError
            The folder of ``target`` does not exist (nothing creates it).
        InvalidParameterError
            ``target`` is a folder.
        """
        t = Path(target)
        _require_folder(t.parent, t)
        if t.is_dir():
            raise InvalidParameterError(f"Cannot write {str(t)!r}: it is a folder. Pass a file path.")
        while True:
            tmp = t.parent / f".assay-{secrets.token_hex(6)}.tmp"
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except FileExistsError:
                continue
            break
        self._staged.append((tmp, t))
        return tmp

    def commit(self) -> list[Path]:
        """Flush every staged file to disk and rename it over its target."""
        try:
            for tmp, _ in self._staged:
                _fsync(tmp)
            folders = []
            for tmp, target in self._staged:
                os.replace(tmp, target)
                self.written.append(target)
                if target.parent not in folders:
                    folders.append(target.parent)
            for f in folders:
                _fsync_folder(f)
        except BaseException:
            self.discard()
            raise
        self._staged = []
        return self.written

    def discard(self) -> None:
        """Remove the temporary files not renamed yet and the folders made (when empty)."""
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []
        for p in reversed(self._made):
            try:
                p.rmdir()
            except OSError:
                pass  # not empty: something else was written there
        self._made = []


def _require_folder(folder: Path, target: Path) -> None:
    if not folder.is_dir():
        raise DataFileNotFoundError(
            f"Cannot write {str(target)!r}: the folder {str(folder)!r} does not exist. Create it "
            "first, or write into an existing folder (assay creates no folder you did not name)."
        )


def _fsync(path: Path) -> None:
    with open(path, "r+b") as f:
        os.fsync(f.fileno())


def _fsync_folder(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # Windows: a rename is durable without it
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
