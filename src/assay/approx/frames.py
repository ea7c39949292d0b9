"""Records for queries about frames: one record per frame, counting observations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import Options, validate_params
from ..exceptions import InvalidParameterError

_KEYS = ["stream", "frame"]


@validate_params({"frames": [pd.DataFrame, None], "engine": [Options(("local", "ray"))],
                  "address": [str, None]})
def frame_counts(frames: pd.DataFrame | None = None, /, *, engine: str = "local",
                 address: str | None = None, **tables: pd.DataFrame) -> pd.DataFrame:
    """One record per (stream, frame), with the number of rows of each table in that frame.

    The usual records of an aggregation or selection query over video: the count of a cheap
    model's boxes as the proxy, the count of labeled (or expensive-model) boxes as the oracle.

    Parameters
    ----------
    frames : DataFrame with ``stream`` and ``frame`` columns, optional
        Every frame to include, also those where no table has a row (a frame nobody saw
        anything in still counts towards a mean per frame). Without it, the frames where at
        least one table has a row.
    **tables : DataFrame with ``stream`` and ``frame`` columns
        One count column per keyword, named after it. Filter a table before passing it
        (``labels[labels["cls"] == "Car"]``) to count one class. ``engine`` and ``address``
        name options, not tables.
    engine : {"local", "ray"}, default "local"
        Count here, or on a Ray cluster, a group of streams per task (the same records).
    address : str, optional
        The Ray cluster for ``engine="ray"``.

    Returns
    -------
    DataFrame
        Columns ``id`` (0, 1, ...), ``stream``, ``frame``, then one integer count column per
        table; sorted by stream and frame; frames listed twice in ``frames`` appear once.

    Examples
    --------
    >>> import pandas as pd
    >>> labels = pd.DataFrame({"stream": ["a", "a", "a"], "frame": [1, 1, 3]})
    >>> boxes = pd.DataFrame({"stream": ["a", "a"], "frame": [1, 2]})
    >>> every = pd.DataFrame({"stream": "a", "frame": [1, 2, 3, 4]})
    >>> frame_counts(every, people=labels, detections=boxes)
       id stream  frame  people  detections
    0   0      a      1       2           1
    1   1      a      2       0           1
    2   2      a      3       1           0
    3   3      a      4       0           0
    """
    if not tables:
        raise InvalidParameterError("frame_counts needs at least one table to count, as name=table.")
    for name, t in {"frames": frames, **tables}.items():
        if t is None:
            continue
        if not isinstance(t, pd.DataFrame):
            raise InvalidParameterError(f"frame_counts: {name} must be a DataFrame, got {type(t).__name__}.")
        missing = [c for c in _KEYS if c not in t.columns]
        if missing:
            raise InvalidParameterError(f"frame_counts: {name} has no column {missing[0]!r}.")
    reserved = {"id", *_KEYS} & set(tables)
    if reserved:
        raise InvalidParameterError(f"frame_counts: {sorted(reserved)[0]!r} is a column of the result; "
                                    "name the table otherwise.")
    if engine != "local":
        return _by_groups(frames, tables, engine, address)
    return _counts(frames, tables)


def _counts(frames: pd.DataFrame | None, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [t[_KEYS] for t in ([frames] if frames is not None else list(tables.values()))]
    keys = pd.concat(parts, ignore_index=True).drop_duplicates().sort_values(_KEYS, ignore_index=True)
    out = keys.assign(**{name: np.zeros(len(keys), dtype=np.int64) for name in tables})
    index = pd.MultiIndex.from_frame(keys)
    for name, t in tables.items():
        counts = t.groupby(_KEYS, sort=False, observed=True).size()
        pos = index.get_indexer(counts.index)
        if frames is not None and (pos < 0).any():
            s, f = counts.index[int(np.flatnonzero(pos < 0)[0])]
            raise InvalidParameterError(
                f"frame_counts: {name} has rows in stream {s!r}, frame {f}, which frames does not list."
            )
        out.loc[pos, name] = counts.to_numpy()
    out.insert(0, "id", np.arange(len(out)))
    return out


def _count_group(rows: pd.DataFrame, shared: tuple[list[str], bool]) -> pd.DataFrame:
    """An engine's task: :func:`frame_counts` of one group of streams (``_table`` says which
    table each key came from: -1 for ``frames``)."""
    names, has_frames = shared
    code = rows["_table"].to_numpy()
    keys = rows[_KEYS]
    return _counts(keys[code == -1] if has_frames else None,
                   {n: keys[code == k] for k, n in enumerate(names)})


def _by_groups(frames: pd.DataFrame | None, tables: dict[str, pd.DataFrame], engine: str,
               address: str | None) -> pd.DataFrame:
    """:func:`_counts` a group of streams per task of ``engine``, concatenated in stream order."""
    from ..engine import Streams, get_engine

    runner = get_engine(engine, address, caller="frame_counts")
    parts = [t[_KEYS].assign(_table=k) for k, t in enumerate(tables.values())]
    if frames is not None:
        parts.append(frames[_KEYS].assign(_table=-1))
    keys = pd.concat(parts, ignore_index=True)
    streams = Streams.from_frame(keys)
    groups = streams.groups(at_least=2 * runner.workers())
    out = pd.concat(runner.map(_count_group, streams, groups, (list(tables), frames is not None)),
                    ignore_index=True)
    out["id"] = np.arange(len(out))
    return out.astype({"stream": keys["stream"].dtype, "frame": keys["frame"].dtype})
