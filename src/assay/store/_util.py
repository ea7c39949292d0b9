"""Small helpers shared by the workspace's modules: time, quoting, JSON."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError

__all__ = ["json_default", "now", "py_scalar", "quote", "to_json"]


def now() -> datetime:
    """The current UTC time as a naive datetime (how the workspace stores times)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def quote(name: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def py_scalar(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` for numpy values, dates, paths and sets."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serializable")


def to_json(value: Any, param: str, caller: str) -> str:
    """``value`` as JSON text; an :class:`InvalidParameterError` naming ``param`` if it is not."""
    try:
        return json.dumps(value, default=json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {param!r} parameter of {caller} must be JSON-serializable: {exc}."
        ) from None
