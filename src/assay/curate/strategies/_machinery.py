"""The machinery the strategies share: queues, the seeded generator of a round, the
``min_gap`` rule, arms taken one frame at a time and the random fill."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import InvalidParameterError, SchemaError
from ...tables import STRING

#: Suffix of ``reason`` when a pick lies closer than ``min_gap`` to another pick of its
#: stream because its arm had nothing else left.
GAP_RELAXED = ":gap-relaxed"

#: Columns of a queue, in order.
QUEUE_COLUMNS: dict[str, Any] = {
    "rank": np.dtype("int64"),
    "stream": STRING,
    "frame": np.dtype("int64"),
    "arm": STRING,
    "priority": np.dtype("float64"),
    "reason": STRING,
    "obs_ids": np.dtype("object"),
}


def round_rng(seed: Any, round: int = 0) -> np.random.Generator:
    """The random generator of one round: ``numpy.random.default_rng([seed, round])``.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        An int seeds the round's generator with ``[seed, round]`` (round 0 gives the same
        generator as ``default_rng(seed)``); a Generator is used as it is (``round`` is then
        ignored); None draws fresh entropy.
    round : int, default 0

    Examples
    --------
    >>> from assay.curate import round_rng
    >>> int(round_rng(3, 1).integers(1000)) == int(round_rng(3, 1).integers(1000))
    True
    >>> import numpy as np
    >>> int(round_rng(3, 0).integers(1000)) == int(np.random.default_rng(3).integers(1000))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, int(round))))
    return np.random.default_rng([int(seed), int(round)])


def empty_queue() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in QUEUE_COLUMNS.items()})


def frame_keys(table: pd.DataFrame, what: str) -> pd.MultiIndex:
    missing = [c for c in ("stream", "frame") if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{what}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            "a table of frames needs 'stream' and 'frame'."
        )
    return pd.MultiIndex.from_arrays(
        [table["stream"].astype(str).to_numpy(dtype=object), table["frame"].to_numpy(dtype="int64")],
        names=["stream", "frame"],
    )




# ---------------------------------------------------------------------- shared machinery


def make_queue(keys: pd.MultiIndex, arm: Any, priority: np.ndarray, reason: Any, obs_ids: Any) -> pd.DataFrame:
    n = len(keys)
    arms = np.full(n, None, dtype=object) if arm is None else np.asarray(arm, dtype=object)
    reasons = np.full(n, reason, dtype=object) if isinstance(reason, str) else np.asarray(reason, dtype=object)
    ids = pd.Series([[] for _ in range(n)], dtype=object) if obs_ids is None else pd.Series(list(obs_ids), dtype=object)
    return pd.DataFrame({
        "rank": np.arange(n, dtype="int64"),
        "stream": pd.array(keys.get_level_values(0).to_numpy(dtype=object), dtype=STRING),
        "frame": keys.get_level_values(1).to_numpy(dtype="int64"),
        "arm": pd.array(arms, dtype=STRING),
        "priority": np.asarray(priority, dtype="float64"),
        "reason": pd.array(reasons, dtype=STRING),
        "obs_ids": ids,
    })


def frame_index(streams: Sequence[Any], frames: Sequence[Any]) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([np.asarray(streams, dtype=object), np.asarray(frames, dtype="int64")],
                                     names=["stream", "frame"])


def random_order(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions by ``priority`` descending, ties in random order (one key drawn per row)."""
    tie = rng.random(len(priority))
    return np.lexsort((tie, -np.asarray(priority, dtype="float64")))


class Picks:
    """Frames queued so far, per stream, for the ``min_gap`` rule."""

    def __init__(self, min_gap: int) -> None:
        self.min_gap = min_gap
        self.taken: set[tuple[str, int]] = set()
        self.by_stream: dict[str, list[int]] = {}
        self.streams: list[str] = []
        self.frames: list[int] = []

    def __len__(self) -> int:
        return len(self.frames)

    def near(self, stream: str, frame: int) -> bool:
        if self.min_gap <= 1:
            return False
        picked = self.by_stream.get(stream)
        if not picked:
            return False
        i = bisect_left(picked, frame)
        return ((i < len(picked) and picked[i] - frame < self.min_gap)
                or (i > 0 and frame - picked[i - 1] < self.min_gap))

    def add(self, stream: str, frame: int) -> None:
        self.taken.add((stream, frame))
        insort(self.by_stream.setdefault(stream, []), frame)
        self.streams.append(stream)
        self.frames.append(frame)


class Arm:
    """One arm's frames in the order it prefers them, taken one at a time."""

    def __init__(self, name: str, streams: np.ndarray, frames: np.ndarray, priority: np.ndarray,
                 obs_ids: Sequence[Any] | None) -> None:
        self.name = name
        self.streams = [str(s) for s in streams]
        self.frames = [int(f) for f in frames]
        self.priority = np.asarray(priority, dtype="float64")
        self.obs_ids = obs_ids
        self.start = 0  # every frame before it is taken

    def next(self, picks: Picks) -> tuple[int, bool] | None:
        """(position, relaxed) of the arm's next frame: its first frame not taken and not
        within the gap of a pick, else (relaxed) its first frame not taken; None when every
        frame of the arm is taken."""
        n = len(self.frames)
        while self.start < n and (self.streams[self.start], self.frames[self.start]) in picks.taken:
            self.start += 1
        if self.start == n:
            return None
        for p in range(self.start, n):
            key = (self.streams[p], self.frames[p])
            if key not in picks.taken and not picks.near(*key):
                return p, False
        return self.start, True


def picks_queue(arms: list[Arm], choices: list[tuple[int, int, str]]) -> pd.DataFrame:
    """The queue of ``(arm index, position, reason)`` picks."""
    if not choices:
        return empty_queue()
    streams = [arms[a].streams[p] for a, p, _ in choices]
    frames = [arms[a].frames[p] for a, p, _ in choices]
    names = [None if arms[a].name == "" else arms[a].name for a, _, _ in choices]
    priority = np.array([arms[a].priority[p] for a, p, _ in choices], dtype="float64")
    ids = [list(arms[a].obs_ids[p]) if arms[a].obs_ids is not None else [] for a, p, _ in choices]
    return make_queue(frame_index(streams, frames), names, priority, [r for _, _, r in choices], ids)


def spread_picks(arm: Arm, picks: Picks, count: int, reason: str) -> list[tuple[int, int, str]]:
    """Up to ``count`` frames of one arm in its order, each added to ``picks``: the ``min_gap``
    rule of ``picks`` holds until the arm has nothing else (``reason`` + :data:`GAP_RELAXED`)."""
    choices: list[tuple[int, int, str]] = []
    while len(choices) < count:
        nxt = arm.next(picks)
        if nxt is None:
            break
        p, relaxed = nxt
        picks.add(arm.streams[p], arm.frames[p])
        choices.append((0, p, reason + (GAP_RELAXED if relaxed else "")))
    return choices


def fill_at_random(picked: pd.DataFrame, pool: pd.MultiIndex, budget: int, min_gap: int,
          rng: np.random.Generator) -> pd.DataFrame:
    """Add unflagged frames of the pool at random (``fill``), spread by ``min_gap``."""
    taken = frame_keys(picked, "queue")
    rest = pool[~pool.isin(taken)]
    rest = rest[rng.permutation(len(rest))]
    picks = Picks(min_gap)
    for s, f in zip(picked["stream"].astype(str), picked["frame"].astype(int), strict=True):
        picks.add(s, int(f))
    arm = Arm("", rest.get_level_values(0).to_numpy(dtype=object), rest.get_level_values(1).to_numpy(),
               np.full(len(rest), np.nan), None)
    choices = spread_picks(arm, picks, budget - len(picked), "fill")
    if not choices:
        return picked
    out = pd.concat([picked, picks_queue([arm], choices)], ignore_index=True) if len(picked) else picks_queue([arm], choices)
    out["rank"] = np.arange(len(out), dtype="int64")
    return out


def param_error(owner: str, name: str, expected: str, value: Any) -> InvalidParameterError:
    return InvalidParameterError(f"The {name!r} parameter of {owner} must be {expected}. Got {value!r}.")
