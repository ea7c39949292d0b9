"""Records for queries about frames: one record per frame, counting observations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import validate_params
from ..exceptions import InvalidParameterError

_KEYS = ["stream", "frame"]


@validate_params({"frames": [pd.DataFrame, None]})
def frame_counts(frames: pd.DataFrame | None = None, /, **tables: pd.DataFrame) -> pd.DataFrame:
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
        (``labels[labels["cls"] == "Car"]``) to count one class.

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
