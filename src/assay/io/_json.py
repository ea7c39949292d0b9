"""Reading JSON data files: decoding errors with line and column, and checks on values that
name the file and the entry (``images[3].id``), since a parsed document keeps no positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataFormatError
from ._delimited import check_file


def load_json(path: Path, what: str = "a COCO JSON file") -> Any:
    """The parsed document; a :class:`DataFormatError` with line and column when the file is
    not UTF-8 or not JSON."""
    check_file(path, what)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataFormatError(
            f"byte 0x{raw[e.start]:02x} is not valid UTF-8; expected a UTF-8 JSON file.",
            path=path, line=line, column=col,
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(f"invalid JSON: {e.msg}.", path=path, line=e.lineno, column=e.colno) from None


def expect(cond: bool, path: Path, where: str, expected: str, got: Any) -> None:
    """Raise ``path: where: expected ...; got ...`` unless ``cond``."""
    if not cond:
        got_s = json.dumps(got)[:120] if not isinstance(got, str) else repr(got)
        raise DataFormatError(f"{where}: expected {expected}; got {got_s}.", path=path)


def is_num(v: Any) -> bool:
    """A finite JSON number (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
