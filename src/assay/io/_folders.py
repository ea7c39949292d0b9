"""Reading a folder of files of one format: which files, and where their keys collide."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataFileNotFoundError


def folder_files(folder: Path, suffixes: Sequence[str], what: str) -> list[Path]:
    """The files directly in ``folder`` whose names end in one of ``suffixes`` (any case),
    sorted by name; an error naming the suffixes when there are none."""
    ends = tuple(s.lower() for s in suffixes)
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.name.lower().endswith(ends))
    if not files:
        raise DataFileNotFoundError(
            f"{folder}: no {', '.join(suffixes)} files in this folder (expected {what})."
        )
    return files


def absolute(path: Path) -> str:
    """The absolute path, ``..`` resolved lexically (symbolic links are kept)."""
    return os.path.abspath(path)


def first_shared(keys: Sequence[Any]) -> tuple[Any, int, int] | None:
    """The first key (in file order) found in two of the per-file key arrays, with the
    indices of the first two files holding it; None when the files share no key."""
    if len(keys) < 2:
        return None
    lengths = [len(k) for k in keys]
    pairs = pd.DataFrame({
        "key": pd.concat([pd.Series(np.asarray(k, dtype=object)) for k in keys], ignore_index=True),
        "file": np.repeat(np.arange(len(keys)), lengths),
    }).drop_duplicates()
    shared = pairs["key"].duplicated(keep=False).to_numpy()
    if not shared.any():
        return None
    value = pairs["key"].to_numpy()[np.argmax(shared)]
    holders = pairs.loc[pairs["key"] == value, "file"].to_numpy()
    return value, int(holders[0]), int(holders[1])


def merge_attrs(parts: Sequence[pd.DataFrame]) -> dict[str, Any]:
    """The ``attrs`` of several tables as one: mapping entries are merged key by key, other
    entries keep the first table's value."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.attrs.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = {**value, **out[key]}
            else:
                out.setdefault(key, value)
    return out
