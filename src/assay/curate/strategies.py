"""Choosing which frames to label next: strategies sharing one interface.

Every strategy answers the same question the same way: given a model's predictions over a
pool of unlabeled frames (and, for the assertion strategies, the findings of assertions run
over those predictions), which frames should a person label next, most useful first, within
a budget? The answer is a *queue*: one row per frame, ranked (:data:`QUEUE_COLUMNS`).

A strategy is a small object: its parameters are given to the constructor, and its one
method :meth:`Strategy.rank` takes the data and returns the queue (as scikit-learn's
estimators and modAL's query strategies do). :class:`RandomFrames`, :class:`Uncertainty`,
:class:`AssertionsUniform`, :class:`BAL` and the positive control :class:`ErrorOracle`;
:func:`rank_frames` builds one from its name and calls it.

The labeling unit is a frame ``(stream, frame)``: a reviewer labels every object of the
frame. A finding covering frames ``frame_start .. frame_end`` is labeled at its middle frame
``frame_start + (frame_end - frame_start) // 2`` (for the t / t+2 gap assertion that is the
frame where the box is missing; for a short track, its middle).

BAL (bandit active learning, Kang et al., MLSys 2020; the paper, section 4.1) treats each
assertion as an arm of a bandit. An arm's reward is how much that assertion's firings dropped
after the model was retrained on the previous round's labels; arms are chosen by
epsilon-greedy or UCB over the rewards, and when no arm improved (or in the first round)
uniformly. Other strategies (random, uncertainty) can be arms too (TAILOR-style).

Randomness comes from ``(seed, round)``: ``numpy.random.default_rng([seed, round])``, so a
rerun of a round queues the same frames and another seed breaks ties differently. Within an
assertion's arm frames come most severe first, ties in random order; two frames picked in one
stream are at least ``min_gap`` frames apart unless the arm has nothing else left.
"""

from __future__ import annotations

import inspect
from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError, SchemaError
from ..tables import STRING

__all__ = [
    "AGGREGATES",
    "BAL",
    "EXTRA_ARMS",
    "GAP_RELAXED",
    "POLICIES",
    "QUEUE_COLUMNS",
    "REWARDS",
    "STRATEGIES",
    "UNCERTAINTY_METHODS",
    "AssertionsUniform",
    "ErrorOracle",
    "RandomFrames",
    "Strategy",
    "Uncertainty",
    "bal_rewards",
    "flagged_frames",
    "make_strategy",
    "rank_frames",
    "round_rng",
]

#: The strategies :func:`rank_frames` and :class:`~assay.curate.Campaign` build by name.
STRATEGIES = ("random", "uncertainty", "assertions-uniform", "bal")
#: How a box's uncertainty is measured from its probability of being right (``score``).
UNCERTAINTY_METHODS = ("least_confidence", "margin", "entropy")
#: How box uncertainties combine into a frame's.
AGGREGATES = ("max", "mean", "sum")
#: How BAL turns firings into rewards.
REWARDS = ("relative", "absolute")
#: How BAL chooses an arm per slot.
POLICIES = ("epsilon-greedy", "ucb")
#: Strategies BAL can take as extra arms by name.
EXTRA_ARMS = ("random", "uncertainty")
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


def _empty_queue() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in QUEUE_COLUMNS.items()})


def _frame_keys(table: pd.DataFrame, what: str) -> pd.MultiIndex:
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


def flagged_frames(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per (assertion, frame) that assertions flagged: the frames BAL chooses from.

    Parameters
    ----------
    findings : pandas.DataFrame
        A findings table (see :data:`assay.tables.FINDING_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        Columns ``arm`` (the assertion), ``stream``, ``frame`` (the middle frame of each
        finding), ``severity`` (the largest severity of the arm's findings there),
        ``findings`` (how many) and ``obs_ids`` (the observations they name, sorted), sorted
        by arm, then severity (descending), stream and frame.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import flagged_frames
    >>> f = pd.DataFrame({"assertion": ["flicker", "flicker", "gap"], "stream": "cam",
    ...                   "frame_start": [4, 4, 7], "frame_end": [4, 4, 9],
    ...                   "obs_ids": [[1], [2], [5, 6]], "severity": [0.5, 0.9, 0.3]})
    >>> flagged_frames(f)
           arm stream  frame  severity  findings obs_ids
    0  flicker    cam      4       0.9         2  [1, 2]
    1      gap    cam      8       0.3         1  [5, 6]
    """
    cols = {"arm": STRING, "stream": STRING, "frame": np.dtype("int64"),
            "severity": np.dtype("float64"), "findings": np.dtype("int64"), "obs_ids": np.dtype("object")}
    if len(findings) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in cols.items()})
    missing = [c for c in ("assertion", "stream", "frame_start", "frame_end", "severity")
               if c not in findings.columns]
    if missing:
        raise SchemaError(f"findings: missing column(s) {', '.join(missing)}.")
    start = findings["frame_start"].to_numpy(dtype="int64")
    end = findings["frame_end"].to_numpy(dtype="int64")
    df = pd.DataFrame({
        "arm": findings["assertion"].astype(str).to_numpy(dtype=object),
        "stream": findings["stream"].astype(str).to_numpy(dtype=object),
        "frame": start + (end - start) // 2,
        "severity": findings["severity"].to_numpy(dtype="float64"),
        "obs_ids": (findings["obs_ids"] if "obs_ids" in findings.columns
                    else pd.Series([[]] * len(findings))).to_numpy(dtype=object),
    })
    keys = ["arm", "stream", "frame"]
    g = df.groupby(keys, sort=True)
    out = g["severity"].agg(["max", "size"]).rename(columns={"max": "severity", "size": "findings"})
    # the union of each group's obs ids: one flat sort, then split at group boundaries
    code = g.ngroup().to_numpy()
    lengths = np.fromiter((len(v) for v in df["obs_ids"]), dtype=np.int64, count=len(df))
    flat = np.fromiter((int(x) for v in df["obs_ids"] for x in v), dtype=np.int64, count=int(lengths.sum()))
    owner = np.repeat(code, lengths)
    order = np.lexsort((flat, owner))
    owner, flat = owner[order], flat[order]
    keep = np.r_[True, (owner[1:] != owner[:-1]) | (flat[1:] != flat[:-1])] if len(flat) else np.zeros(0, bool)
    owner, flat = owner[keep], flat[keep]
    cuts = np.searchsorted(owner, np.arange(1, len(out)))
    out["obs_ids"] = [part.tolist() for part in np.split(flat, cuts)]
    out = out.reset_index()
    out = out.sort_values(["arm", "severity", "stream", "frame"], ascending=[True, False, True, True],
                          kind="stable", ignore_index=True)
    return pd.DataFrame({
        "arm": pd.array(out["arm"].to_numpy(dtype=object), dtype=STRING),
        "stream": pd.array(out["stream"].to_numpy(dtype=object), dtype=STRING),
        "frame": out["frame"].to_numpy(dtype="int64"),
        "severity": out["severity"].to_numpy(dtype="float64"),
        "findings": out["findings"].to_numpy(dtype="int64"),
        "obs_ids": out["obs_ids"].astype(object),
    })


@validate_params({"previous": [Mapping], "current": [Mapping], "kind": [Options(REWARDS)]})
def bal_rewards(
    previous: Mapping[str, float], current: Mapping[str, float], *, kind: str = "relative"
) -> dict[str, float]:
    """Each arm's reward: how much its assertion's firings dropped from one round to the next.

    Parameters
    ----------
    previous, current : mapping of str to number
        Firings (findings) per assertion before and after retraining. An assertion missing
        from one of them fired 0 times there.
    kind : {"relative", "absolute"}, default "relative"
        ``"absolute"``: ``previous - current``. ``"relative"``: ``(previous - current) /
        previous`` (0 when ``previous`` is 0), so arms that fire thousands of times and arms
        that fire a handful are compared on one scale.

    Returns
    -------
    dict of str to float
        One reward per assertion in either mapping, sorted by name. Positive means the
        assertion fires less now: labeling what it flagged helped.

    Examples
    --------
    >>> from assay.curate import bal_rewards
    >>> bal_rewards({"flicker": 10, "appear": 20}, {"flicker": 4, "appear": 25})
    {'appear': -0.25, 'flicker': 0.6}
    >>> bal_rewards({"flicker": 10, "appear": 20}, {"flicker": 4, "appear": 25}, kind="absolute")
    {'appear': -5.0, 'flicker': 6.0}
    """
    out = {}
    for arm in sorted(set(previous) | set(current)):
        before = float(previous.get(arm, 0))
        now = float(current.get(arm, 0))
        if kind == "absolute":
            out[arm] = before - now
        else:
            out[arm] = (before - now) / before if before > 0 else 0.0
    return out


def _uncertainty(p: np.ndarray, method: str) -> np.ndarray:
    p = np.clip(p, 0.0, 1.0)
    if method == "least_confidence":
        return 1.0 - np.maximum(p, 1.0 - p)
    if method == "margin":
        return 1.0 - np.abs(2.0 * p - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(h, nan=0.0)


# ---------------------------------------------------------------------- shared machinery


def _queue(keys: pd.MultiIndex, arm: Any, priority: np.ndarray, reason: Any, obs_ids: Any) -> pd.DataFrame:
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


def _keys(streams: Sequence[Any], frames: Sequence[Any]) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([np.asarray(streams, dtype=object), np.asarray(frames, dtype="int64")],
                                     names=["stream", "frame"])


def _random_order(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions by ``priority`` descending, ties in random order (one key drawn per row)."""
    tie = rng.random(len(priority))
    return np.lexsort((tie, -np.asarray(priority, dtype="float64")))


class _Picks:
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


class _Arm:
    """One arm's frames in the order it prefers them, taken one at a time."""

    def __init__(self, name: str, streams: np.ndarray, frames: np.ndarray, priority: np.ndarray,
                 obs_ids: Sequence[Any] | None) -> None:
        self.name = name
        self.streams = [str(s) for s in streams]
        self.frames = [int(f) for f in frames]
        self.priority = np.asarray(priority, dtype="float64")
        self.obs_ids = obs_ids
        self.start = 0  # every frame before it is taken

    def next(self, picks: _Picks) -> tuple[int, bool] | None:
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


def _take(arms: list[_Arm], choices: list[tuple[int, int, str]]) -> pd.DataFrame:
    """The queue of ``(arm index, position, reason)`` picks."""
    if not choices:
        return _empty_queue()
    streams = [arms[a].streams[p] for a, p, _ in choices]
    frames = [arms[a].frames[p] for a, p, _ in choices]
    names = [None if arms[a].name == "" else arms[a].name for a, _, _ in choices]
    priority = np.array([arms[a].priority[p] for a, p, _ in choices], dtype="float64")
    ids = [list(arms[a].obs_ids[p]) if arms[a].obs_ids is not None else [] for a, p, _ in choices]
    return _queue(_keys(streams, frames), names, priority, [r for _, _, r in choices], ids)


def _spread(arm: _Arm, picks: _Picks, count: int, reason: str) -> list[tuple[int, int, str]]:
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


def _fill(picked: pd.DataFrame, pool: pd.MultiIndex, budget: int, min_gap: int,
          rng: np.random.Generator) -> pd.DataFrame:
    """Add unflagged frames of the pool at random (``fill``), spread by ``min_gap``."""
    taken = _frame_keys(picked, "queue")
    rest = pool[~pool.isin(taken)]
    rest = rest[rng.permutation(len(rest))]
    picks = _Picks(min_gap)
    for s, f in zip(picked["stream"].astype(str), picked["frame"].astype(int), strict=True):
        picks.add(s, int(f))
    arm = _Arm("", rest.get_level_values(0).to_numpy(dtype=object), rest.get_level_values(1).to_numpy(),
               np.full(len(rest), np.nan), None)
    choices = _spread(arm, picks, budget - len(picked), "fill")
    if not choices:
        return picked
    out = pd.concat([picked, _take([arm], choices)], ignore_index=True) if len(picked) else _take([arm], choices)
    out["rank"] = np.arange(len(out), dtype="int64")
    return out


def _param_error(owner: str, name: str, expected: str, value: Any) -> InvalidParameterError:
    return InvalidParameterError(f"The {name!r} parameter of {owner} must be {expected}. Got {value!r}.")


# ---------------------------------------------------------------------- the interface


class Strategy:
    """Base of the strategies: parameters in ``__init__``, one method :meth:`rank`.

    A subclass sets ``name`` (the value of ``arm`` when it is an arm of :class:`BAL`),
    ``needs_findings``, and implements ``_rank`` (and ``_ordered`` when it can rank the whole
    pool, which makes it usable as an extra arm of BAL).
    """

    #: Name of the strategy (its ``arm`` when it is an extra arm of BAL).
    name: ClassVar[str] = ""
    #: Whether :meth:`rank` needs findings.
    needs_findings: ClassVar[bool] = False
    #: ``reason`` of the frames the strategy ranks (strategies that rank the pool).
    reason: ClassVar[str] = ""

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters and their values."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self"}

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.get_params().items() if not isinstance(v, pd.DataFrame)}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def _needs_pool(self) -> bool:
        return True

    def _check(self, observations: pd.DataFrame | None, findings: pd.DataFrame | None,
               frames: pd.DataFrame | None, caller: str) -> None:
        if self._needs_pool() and observations is None and frames is None:
            raise InvalidParameterError(
                f"{caller} needs the pool: pass observations (the model's predictions) or frames=. "
                "Got neither."
            )
        if self.needs_findings and findings is None:
            raise InvalidParameterError(
                f"{caller} needs findings (from assay.check over the predictions). Got None."
            )

    @validate_params({
        "observations": [pd.DataFrame, None], "findings": [pd.DataFrame, None],
        "budget": [Interval(int, 0, None)], "frames": [pd.DataFrame, None],
        "exclude": [pd.DataFrame, None], "rewards": [Mapping, None], "history": [pd.DataFrame, None],
        "seed": ["random_state"], "round": [Interval(int, 0, None)],
    })
    def rank(
        self,
        observations: pd.DataFrame | None,
        findings: pd.DataFrame | None = None,
        *,
        budget: int = 100,
        frames: pd.DataFrame | None = None,
        exclude: pd.DataFrame | None = None,
        rewards: Mapping[str, float] | None = None,
        history: pd.DataFrame | None = None,
        seed: Any = None,
        round: int = 0,
    ) -> pd.DataFrame:
        """Rank the frames to label next, within a budget.

        Parameters
        ----------
        observations : pandas.DataFrame or None
            The model's predictions over the pool (``stream``, ``frame`` and, for
            uncertainty, ``score`` as the probability that a box is right). Their frames are
            the pool unless ``frames`` is given. May be None for the assertion strategies
            without fill.
        findings : pandas.DataFrame, optional
            Findings of assertions over ``observations`` (from :func:`assay.check`); needed
            by the assertion strategies.
        budget : int, default 100
            Most frames to return.
        frames : pandas.DataFrame, optional
            The pool as ``stream, frame`` rows (default: the frames of ``observations``).
        exclude : pandas.DataFrame, optional
            Frames (``stream, frame``) already labeled or queued; never returned.
        rewards : mapping of str to float, optional
            BAL's reward per arm this round (see :func:`bal_rewards`); other strategies
            ignore it.
        history : pandas.DataFrame, optional
            BAL's earlier rounds, one row per round and arm: ``arm``, ``reward`` (NaN when
            none was observed) and ``chosen`` (frames the arm queued), as
            :meth:`Campaign.rounds <assay.curate.Campaign.rounds>` holds them; read by the
            UCB policy.
        seed : int, numpy.random.Generator or None
            With ``round``, the randomness of the ranking (see :func:`round_rng`).
        round : int, default 0
            The round of a campaign: ``(seed, round)`` seed the tie-breaks and draws, so a
            rerun queues the same frames.

        Returns
        -------
        pandas.DataFrame
            The queue, best first (:data:`QUEUE_COLUMNS`): ``rank`` (0, 1, ...), ``stream``,
            ``frame``, ``arm`` (the arm that chose the frame; missing for random,
            uncertainty, the oracle and fill), ``priority`` (the severity, uncertainty or
            error count that ranked it; NaN for random picks), ``reason`` and ``obs_ids``
            (the observations the arm's findings name in that frame). At most ``budget``
            rows; fewer when the pool runs out.
        """
        return self._run(observations, findings, budget=budget, frames=frames, exclude=exclude,
                         rewards=rewards, history=history, rng=round_rng(seed, round),
                         caller=f"{type(self).__name__}.rank")

    def _run(self, observations, findings, *, budget, frames, exclude, rewards, history, rng,
             caller) -> pd.DataFrame:
        self._check(observations, findings, frames, caller)
        pool = None
        if frames is not None:
            pool = _frame_keys(frames, "frames").unique()
        elif observations is not None:
            pool = _frame_keys(observations, "observations").unique()
        excluded = _frame_keys(exclude, "exclude").unique() if exclude is not None else None
        if pool is not None and excluded is not None and len(excluded):
            pool = pool[~pool.isin(excluded)]
        if budget == 0:
            return _empty_queue()
        return self._rank(observations, findings, pool=pool, excluded=excluded, budget=budget,
                          rewards=dict(rewards or {}), history=history, rng=rng)

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng) -> pd.DataFrame:
        keys, priority = self._ordered(observations, pool, rng)
        return _queue(keys[:budget], None, priority[:budget], self.reason, None)

    def _ordered(self, observations, pool, rng) -> tuple[pd.MultiIndex, np.ndarray]:
        raise NotImplementedError


class RandomFrames(Strategy):
    """Frames of the pool uniformly at random (``reason == "random"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import RandomFrames
    >>> pool = pd.DataFrame({"stream": "cam", "frame": range(100)})
    >>> q = RandomFrames().rank(None, frames=pool, budget=3, seed=0)
    >>> q["frame"].tolist() == RandomFrames().rank(None, frames=pool, budget=3, seed=0)["frame"].tolist()
    True
    >>> q["reason"].tolist()
    ['random', 'random', 'random']
    """

    name = "random"
    reason = "random"

    def __init__(self) -> None:
        pass

    def _ordered(self, observations, pool, rng):
        take = rng.permutation(len(pool))
        return pool[take], np.full(len(take), np.nan)


class Uncertainty(Strategy):
    """Frames whose boxes the model is least sure of (``reason == "uncertainty"``).

    Parameters
    ----------
    method : {"least_confidence", "margin", "entropy"}, default "least_confidence"
        Uncertainty of a box with probability ``p`` (the ``score`` column):
        ``1 - max(p, 1 - p)``, ``1 - |2p - 1|`` or the binary entropy in bits.
    aggregate : {"max", "mean", "sum"}, default "max"
        How the uncertainties of a frame's boxes combine into the frame's (a frame of the pool
        without boxes has uncertainty 0). Ties are broken at random.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import Uncertainty
    >>> obs = pd.DataFrame({"stream": "cam", "frame": [1, 2, 3], "score": [0.9, 0.5, 0.7]})
    >>> Uncertainty().rank(obs, budget=2, seed=0)[["frame", "priority"]]
       frame  priority
    0      2       0.5
    1      3       0.3
    """

    name = "uncertainty"
    reason = "uncertainty"

    @validate_params({"method": [Options(UNCERTAINTY_METHODS)], "aggregate": [Options(AGGREGATES)]})
    def __init__(self, method: str = "least_confidence", aggregate: str = "max") -> None:
        self.method = method
        self.aggregate = aggregate

    def _check(self, observations, findings, frames, caller) -> None:
        super()._check(observations, findings, frames, caller)
        if observations is None or "score" not in observations.columns:
            raise InvalidParameterError(
                f"{caller} needs observations with a 'score' column (the probability that each "
                "box is right)."
            )

    def _ordered(self, observations, pool, rng):
        score = observations["score"].to_numpy(dtype="float64", na_value=np.nan)
        u = _uncertainty(np.nan_to_num(score, nan=1.0), self.method)
        keys = _frame_keys(observations, "observations")
        per = pd.Series(u, index=keys).groupby(level=[0, 1], sort=False).agg(self.aggregate)
        per = per.reindex(pool, fill_value=0.0).to_numpy(dtype="float64")
        order = _random_order(per, rng)
        return pool[order], per[order]


class ErrorOracle(Strategy):
    """The positive control: frames with the most errors against ground truth first.

    A frame's errors are its false positives plus its misses: predictions and truth boxes of
    the frame are matched one to one, greedily by IoU (highest first, classes ignored), a pair
    counting when its IoU is at least ``iou``; every unmatched prediction and every unmatched
    truth box is an error. Ties are broken at random; ``reason == "oracle"``. No selection rule
    that sees only predictions can find errors faster: if the oracle does not beat random in
    an experiment, the experiment cannot show a gain.

    Parameters
    ----------
    truth : pandas.DataFrame
        Ground-truth boxes (``stream``, ``frame``, ``x1``, ``y1``, ``x2``, ``y2``) of the pool.
    iou : float, default 0.5
        Least IoU of a prediction with a truth box to count as right.
    min_gap : int, default 0
        As in :class:`AssertionsUniform`: picks of one stream at least this many frames
        apart unless nothing else is left (``reason`` then ends in ``:gap-relaxed``). 0 takes
        the frames with the most errors wherever they are.
    balance : bool, default False
        Take the streams in turn (each its next frame with the most errors), so that a stream
        whose frames all have many errors does not take every pick. With ``min_gap`` this is
        a positive control that spreads its labels like the other strategies do: the most
        errors per frame is not the most useful set of frames when the frames of one scene
        look alike.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import ErrorOracle
    >>> truth = pd.DataFrame({"stream": "cam", "frame": [1, 2, 2, 2], "x1": [0.0, 0, 50, 80],
    ...                       "y1": 0.0, "x2": [10.0, 10, 60, 90], "y2": 10.0})
    >>> pred = pd.DataFrame({"stream": "cam", "frame": [1, 2, 3], "x1": [0.0, 0, 20],
    ...                      "y1": 0.0, "x2": [10.0, 10, 30], "y2": 10.0})
    >>> ErrorOracle(truth).rank(pred, budget=3, seed=0)[["frame", "priority", "reason"]]
       frame  priority  reason
    0      2       2.0  oracle
    1      3       1.0  oracle
    2      1       0.0  oracle
    """

    name = "oracle"
    reason = "oracle"

    @validate_params({"truth": [pd.DataFrame], "iou": [Interval(float, 0, 1, closed="right")],
                      "min_gap": [Interval(int, 0, None)], "balance": [bool]})
    def __init__(self, truth: pd.DataFrame, iou: float = 0.5, min_gap: int = 0, balance: bool = False) -> None:
        missing = [c for c in ("stream", "frame", "x1", "y1", "x2", "y2") if c not in truth.columns]
        if missing:
            raise SchemaError(f"ErrorOracle: truth is missing column(s) {', '.join(missing)}; it needs "
                              "stream, frame and the image box x1, y1, x2, y2.")
        self.truth = truth
        self.iou = iou
        self.min_gap = min_gap
        self.balance = balance

    def _check(self, observations, findings, frames, caller) -> None:
        super()._check(observations, findings, frames, caller)
        if observations is not None and len(observations):
            missing = [c for c in ("x1", "y1", "x2", "y2") if c not in observations.columns]
            if missing:
                raise SchemaError(f"{caller}: observations are missing the box column(s) {', '.join(missing)}.")

    def errors(self, observations: pd.DataFrame | None, pool: pd.MultiIndex) -> np.ndarray:
        """Errors (false positives + misses) of ``observations`` in each frame of ``pool``."""
        from ..geometry import kernels

        box = ["x1", "y1", "x2", "y2"]
        obs = observations if observations is not None else self.truth.iloc[:0]
        pk = _frame_keys(obs, "observations") if len(obs) else _keys([], [])
        tk = _frame_keys(self.truth, "truth")
        p_in, t_in = pk.isin(pool), tk.isin(pool)
        pred = pd.DataFrame({"stream": pk.get_level_values(0)[p_in], "frame": pk.get_level_values(1)[p_in],
                             "i": np.flatnonzero(p_in)})
        gt = pd.DataFrame({"stream": tk.get_level_values(0)[t_in], "frame": tk.get_level_values(1)[t_in],
                           "j": np.flatnonzero(t_in)})
        pairs = pred.merge(gt, on=["stream", "frame"])
        matched = pd.Series(0, index=pool, dtype="int64")
        if len(pairs):
            i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
            a = np.ascontiguousarray(obs[box].to_numpy(dtype="float64")[i])
            b = np.ascontiguousarray(self.truth[box].to_numpy(dtype="float64")[j])
            overlap = kernels.iou_2d_paired(a, b)
            ok = overlap >= self.iou
            i, j, overlap = i[ok], j[ok], overlap[ok]
            used_i: set[int] = set()
            used_j: set[int] = set()
            hits = []
            for k in np.argsort(-overlap, kind="stable"):
                if i[k] not in used_i and j[k] not in used_j:
                    used_i.add(int(i[k]))
                    used_j.add(int(j[k]))
                    hits.append(int(i[k]))
            if hits:
                matched = pd.Series(1, index=pk[np.array(hits)]).groupby(level=[0, 1]).sum().reindex(pool, fill_value=0)
        n_pred = pd.Series(1, index=pk[p_in]).groupby(level=[0, 1]).sum().reindex(pool, fill_value=0)
        n_truth = pd.Series(1, index=tk[t_in]).groupby(level=[0, 1]).sum().reindex(pool, fill_value=0)
        return (n_pred.to_numpy() + n_truth.to_numpy() - 2 * matched.to_numpy()).astype("float64")

    def _ordered(self, observations, pool, rng):
        err = self.errors(observations, pool)
        order = _random_order(err, rng)
        if self.balance and len(order):
            # streams in turn: the k-th pick of every stream before any (k+1)-th
            streams = pool.get_level_values(0).to_numpy(dtype=object)[order]
            turn = pd.Series(streams).groupby(streams, sort=False).cumcount().to_numpy()
            order = order[np.lexsort((np.arange(len(order)), turn))]
        return pool[order], err[order]

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng) -> pd.DataFrame:
        keys, priority = self._ordered(observations, pool, rng)
        if self.min_gap <= 1:
            return _queue(keys[:budget], None, priority[:budget], self.reason, None)
        arm = _Arm("", keys.get_level_values(0).to_numpy(dtype=object), keys.get_level_values(1).to_numpy(),
                   priority, None)
        return _take([arm], _spread(arm, _Picks(self.min_gap), budget, self.reason))


# ---------------------------------------------------------------------- assertion strategies


def _assertion_arms(findings: pd.DataFrame, excluded: pd.MultiIndex | None,
                    rng: np.random.Generator) -> list[_Arm]:
    """One arm per assertion: its flagged frames, most severe first, ties in random order."""
    cands = flagged_frames(findings)
    if len(cands) and excluded is not None and len(excluded):
        cands = cands.loc[~_frame_keys(cands, "findings").isin(excluded)].reset_index(drop=True)
    if not len(cands):
        return []
    # one tie key per flagged frame, drawn in the order of flagged_frames
    tie = rng.random(len(cands))
    arm = cands["arm"].astype(str).to_numpy(dtype=object)
    order = np.lexsort((tie, -cands["severity"].to_numpy(), arm))
    cands = cands.iloc[order].reset_index(drop=True)
    arm = arm[order]
    out = []
    for name in sorted(set(arm.tolist())):
        part = cands.loc[arm == name]
        out.append(_Arm(name, part["stream"].astype(str).to_numpy(dtype=object), part["frame"].to_numpy(),
                        part["severity"].to_numpy(), part["obs_ids"].tolist()))
    return out


class AssertionsUniform(Strategy):
    """Round-robin over assertions (in name order), each taking its most severe frame left.

    Each assertion is an arm holding the frames it flagged (see :func:`flagged_frames`),
    most severe first with ties in random order. In turn, each arm with frames left takes its
    first frame that is not queued and lies at least ``min_gap`` frames from every frame
    queued in its stream; when every frame it has left is closer, it takes the first of them
    anyway and ``reason`` says so (``"round-robin" + GAP_RELAXED``).

    Parameters
    ----------
    min_gap : int, default 3
        Least distance in frames between two picks of one stream (0 or 1: no constraint).
    fill : bool, default True
        When the flagged frames run out before the budget, fill the rest with unflagged
        frames of the pool at random, spread by ``min_gap`` too (``reason == "fill"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import AssertionsUniform
    >>> f = pd.DataFrame({"assertion": ["flicker", "flicker", "appear"], "stream": "cam",
    ...                   "frame_start": [3, 4, 9], "frame_end": [3, 4, 9],
    ...                   "obs_ids": [[1], [2], [4]], "severity": [0.9, 0.5, 1.0]})
    >>> AssertionsUniform(fill=False).rank(None, f, budget=3, seed=0)[["frame", "arm", "reason"]]
       frame      arm                    reason
    0      9   appear               round-robin
    1      3  flicker               round-robin
    2      4  flicker  round-robin:gap-relaxed
    """

    name = "assertions-uniform"
    needs_findings = True

    @validate_params({"min_gap": [Interval(int, 0, None)], "fill": [bool]})
    def __init__(self, min_gap: int = 3, fill: bool = True) -> None:
        self.min_gap = min_gap
        self.fill = fill

    def _needs_pool(self) -> bool:
        return self.fill

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng):
        arms = _assertion_arms(findings, excluded, rng)
        picks = _Picks(self.min_gap)
        choices: list[tuple[int, int, str]] = []
        live = list(range(len(arms)))
        while live and len(choices) < budget:
            still = []
            for a in live:
                if len(choices) >= budget:
                    break
                nxt = arms[a].next(picks)
                if nxt is None:
                    continue
                p, relaxed = nxt
                picks.add(arms[a].streams[p], arms[a].frames[p])
                choices.append((a, p, "round-robin" + (GAP_RELAXED if relaxed else "")))
                still.append(a)
            live = still
        picked = _take(arms, choices)
        if self.fill and len(picked) < budget and pool is not None:
            picked = _fill(picked, pool, budget, self.min_gap, rng)
        return picked


def _extra_arm(spec: Any) -> Strategy:
    if isinstance(spec, Strategy):
        return spec
    return RandomFrames() if spec == "random" else Uncertainty()


class BAL(Strategy):
    """Bandit active learning over assertions: per slot an arm, then that arm's best frame.

    Each assertion is an arm holding the frames it flagged (see :func:`flagged_frames`),
    most severe first with ties in random order; each extra arm (a strategy such as
    :class:`RandomFrames` or :class:`Uncertainty`) holds the pool in its own order. For every
    slot of the budget the policy chooses an arm among those with frames left, and the arm
    gives its first frame that is not queued and lies at least ``min_gap`` frames from every
    frame queued in its stream (when all it has left are closer, the first of them, with
    :data:`GAP_RELAXED` appended to ``reason``).

    Parameters
    ----------
    policy : {"epsilon-greedy", "ucb"}, default "epsilon-greedy"
        How arms are chosen (see Notes).
    epsilon : float, default 0.1
        Exploration probability of epsilon-greedy.
    c : float, default 1.0
        Weight of UCB's exploration bonus.
    extra_arms : sequence of {"random", "uncertainty"} or Strategy, default ()
        Strategies that are arms too (TAILOR-style), named by their ``name`` (``"random"``,
        ``"uncertainty"``). They need the pool (and ``score`` for uncertainty). Their reward
        cannot be a drop in firings: it is the share of their reviewed frames in which the
        reviewer found an error, which :class:`~assay.curate.Campaign` passes in ``rewards``
        once verdicts are imported (see :func:`~assay.curate.error_rates`); without it an
        extra arm has reward 0 and is drawn only in uniform and explore steps (and by UCB's
        bonus).
    min_gap : int, default 3
        Least distance in frames between two picks of one stream (0 or 1: no constraint).
    fill : bool, default True
        When every arm runs out before the budget, fill the rest with unflagged frames of the
        pool at random, spread by ``min_gap`` too (``reason == "fill"``).

    Notes
    -----
    Randomness: ``rng = round_rng(seed, round)``. First one tie key ``rng.random()`` per
    flagged frame (in the order of :func:`flagged_frames`, after exclusions); within an
    assertion's arm frames go by severity descending, then key ascending. Extra arms rank the
    pool next, in the order given, with the same ``rng``.

    Epsilon-greedy, per slot, with ``live`` the arms (in name order) that have a frame left:
    if no live arm has a positive reward in ``rewards``, take ``live[rng.integers(len(live))]``
    (``bal:uniform``); otherwise draw ``u = rng.random()``: if ``u < epsilon`` take
    ``live[rng.integers(len(live))]`` (``bal:explore``), else the live arm with the largest
    reward, ties broken by ``rng.integers`` among them (``bal:exploit``).

    UCB (``bal:ucb``), per slot: arm ``a`` has been pulled ``n_a`` times (the frames it queued
    in earlier rounds, the sum of its ``chosen`` in ``history``, plus its picks so far in this
    queue) and has mean reward ``m_a`` (the mean of its non-missing ``reward`` entries in
    ``history`` and of ``rewards[a]`` when given; 0 when none). With ``t = 1 + sum of n_a``
    over all arms, an arm's value is ``m_a + c * sqrt(ln(t) / n_a)``, infinite when
    ``n_a = 0``; the live arm of largest value is taken, ties broken by ``rng.integers``
    among them. So every arm is pulled once before any is pulled twice, and then the arm of
    best mean reward is favoured, less so the more it was pulled.

    A frame flagged by several arms is labeled once, by the first arm to take it. Then the
    fill: the unqueued frames of the pool in the order of ``rng.permutation``.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import BAL
    >>> f = pd.DataFrame({"assertion": ["flicker", "flicker", "appear"], "stream": "cam",
    ...                   "frame_start": [3, 9, 5], "frame_end": [3, 9, 5],
    ...                   "obs_ids": [[1], [7], [4]], "severity": [0.2, 0.9, 1.0]})
    >>> q = BAL(epsilon=0.0, fill=False).rank(None, f, budget=2, rewards={"flicker": 0.5}, seed=0)
    >>> q[["rank", "frame", "arm", "priority", "reason"]]
       rank  frame      arm  priority       reason
    0     0      9  flicker       0.9  bal:exploit
    1     1      3  flicker       0.2  bal:exploit
    """

    name = "bal"
    needs_findings = True

    @validate_params({
        "policy": [Options(POLICIES)], "epsilon": [Interval(float, 0, 1)], "c": [Interval(float, 0, None)],
        "extra_arms": [list, tuple], "min_gap": [Interval(int, 0, None)], "fill": [bool],
    })
    def __init__(self, policy: str = "epsilon-greedy", epsilon: float = 0.1, c: float = 1.0,
                 extra_arms: Sequence[Any] = (), min_gap: int = 3, fill: bool = True) -> None:
        for spec in extra_arms:
            ok = spec in EXTRA_ARMS if isinstance(spec, str) else (
                isinstance(spec, Strategy) and not spec.needs_findings)
            if not ok:
                raise _param_error("BAL", "extra_arms", "a list of 'random', 'uncertainty' or strategies "
                                   "that rank the pool without findings (RandomFrames(), Uncertainty(...), "
                                   "ErrorOracle(...))", list(extra_arms))
        names = [_extra_arm(s).name for s in extra_arms]
        if len(set(names)) < len(names):
            raise _param_error("BAL", "extra_arms", "strategies of distinct names", names)
        self.policy = policy
        self.epsilon = epsilon
        self.c = c
        self.extra_arms = tuple(extra_arms)
        self.min_gap = min_gap
        self.fill = fill

    def _needs_pool(self) -> bool:
        return self.fill or bool(self.extra_arms)

    def _check(self, observations, findings, frames, caller) -> None:
        super()._check(observations, findings, frames, caller)
        for spec in self.extra_arms:
            _extra_arm(spec)._check(observations, None, frames, f"{caller} with the extra arm {spec!r}")

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng):
        arms = _assertion_arms(findings, excluded, rng)
        for spec in self.extra_arms:
            strategy = _extra_arm(spec)
            keys, priority = strategy._ordered(observations, pool, rng)
            arms.append(_Arm(strategy.name, keys.get_level_values(0).to_numpy(dtype=object),
                             keys.get_level_values(1).to_numpy(), priority, None))
        arms.sort(key=lambda a: a.name)
        names = [a.name for a in arms]
        if self.policy == "ucb":
            pulls, means = self._ucb_state(names, rewards, history)
        picks = _Picks(self.min_gap)
        choices: list[tuple[int, int, str]] = []
        live = list(range(len(arms)))
        while len(choices) < budget:
            nexts = {a: arms[a].next(picks) for a in live}
            live = [a for a in live if nexts[a] is not None]
            if not live:
                break
            if self.policy == "ucb":
                a, reason = self._ucb(live, pulls, means, rng), "bal:ucb"
                pulls[a] += 1
            else:
                a, reason = self._epsilon_greedy(live, names, rewards, rng)
            p, relaxed = nexts[a]
            picks.add(arms[a].streams[p], arms[a].frames[p])
            choices.append((a, p, reason + (GAP_RELAXED if relaxed else "")))
        picked = _take(arms, choices)
        if self.fill and len(picked) < budget and pool is not None:
            picked = _fill(picked, pool, budget, self.min_gap, rng)
        return picked

    def _epsilon_greedy(self, live, names, rewards, rng) -> tuple[int, str]:
        improving = [a for a in live if rewards.get(names[a], 0.0) > 0]
        if not improving:
            return live[int(rng.integers(len(live)))], "bal:uniform"
        if rng.random() < self.epsilon:
            return live[int(rng.integers(len(live)))], "bal:explore"
        best = max(rewards[names[a]] for a in improving)
        tied = [a for a in improving if rewards[names[a]] == best]
        return (tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]), "bal:exploit"

    @staticmethod
    def _ucb_state(names, rewards, history) -> tuple[np.ndarray, np.ndarray]:
        pulls = np.zeros(len(names))
        means = np.zeros(len(names))
        for k, name in enumerate(names):
            seen: list[float] = []
            if history is not None and len(history):
                mine = history.loc[history["arm"].astype(str) == name]
                if "chosen" in mine.columns:
                    pulls[k] = float(pd.to_numeric(mine["chosen"], errors="coerce").fillna(0).sum())
                if "reward" in mine.columns:
                    r = pd.to_numeric(mine["reward"], errors="coerce").to_numpy(dtype="float64")
                    seen.extend(r[~np.isnan(r)].tolist())
            if name in rewards and rewards[name] is not None and not np.isnan(rewards[name]):
                seen.append(float(rewards[name]))
            means[k] = float(np.mean(seen)) if seen else 0.0
        return pulls, means

    def _ucb(self, live, pulls, means, rng) -> int:
        t = 1.0 + pulls.sum()
        idx = np.array(live)
        n = pulls[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(n > 0, means[idx] + self.c * np.sqrt(np.log(t) / np.where(n > 0, n, 1)), np.inf)
        tied = idx[value == value.max()]
        return int(tied[int(rng.integers(len(tied)))]) if len(tied) > 1 else int(tied[0])


_CLASSES: dict[str, type[Strategy]] = {"random": RandomFrames, "uncertainty": Uncertainty,
                                        "assertions-uniform": AssertionsUniform, "bal": BAL}


def make_strategy(name: str, **params: Any) -> Strategy:
    """The strategy of a name (one of :data:`STRATEGIES`) with the parameters it takes.

    Parameters not taken by that strategy are ignored, so one set of campaign settings
    builds any of them.

    Examples
    --------
    >>> from assay.curate import make_strategy
    >>> make_strategy("bal", policy="ucb", method="margin")
    BAL(policy='ucb', epsilon=0.1, c=1.0, extra_arms=(), min_gap=3, fill=True)
    >>> make_strategy("uncertainty", method="margin", min_gap=5)
    Uncertainty(method='margin', aggregate='max')
    """
    if name not in _CLASSES:
        raise _param_error("make_strategy", "name", "one of {" + ", ".join(map(repr, STRATEGIES)) + "}", name)
    cls = _CLASSES[name]
    taken = [k for k in inspect.signature(cls.__init__).parameters if k != "self"]
    return cls(**{k: v for k, v in params.items() if k in taken})


@validate_params({
    "observations": [pd.DataFrame, None],
    "findings": [pd.DataFrame, None],
    "strategy": [Options(STRATEGIES)],
    "budget": [Interval(int, 0, None)],
    "frames": [pd.DataFrame, None],
    "exclude": [pd.DataFrame, None],
    "rewards": [Mapping, None],
    "history": [pd.DataFrame, None],
    "epsilon": [Interval(float, 0, 1)],
    "policy": [Options(POLICIES)],
    "c": [Interval(float, 0, None)],
    "extra_arms": [list, tuple],
    "min_gap": [Interval(int, 0, None)],
    "method": [Options(UNCERTAINTY_METHODS)],
    "aggregate": [Options(AGGREGATES)],
    "fill": [bool],
    "seed": ["random_state"],
    "round": [Interval(int, 0, None)],
})
def rank_frames(
    observations: pd.DataFrame | None,
    findings: pd.DataFrame | None = None,
    *,
    strategy: str = "bal",
    budget: int = 100,
    frames: pd.DataFrame | None = None,
    exclude: pd.DataFrame | None = None,
    rewards: Mapping[str, float] | None = None,
    history: pd.DataFrame | None = None,
    epsilon: float = 0.1,
    policy: str = "epsilon-greedy",
    c: float = 1.0,
    extra_arms: Sequence[Any] = (),
    min_gap: int = 3,
    method: str = "least_confidence",
    aggregate: str = "max",
    fill: bool = True,
    seed: Any = None,
    round: int = 0,
) -> pd.DataFrame:
    """Rank the frames to label next, within a budget: a strategy built by name.

    ``rank_frames(obs, findings, strategy="bal", epsilon=0.2, budget=10)`` is
    ``BAL(epsilon=0.2).rank(obs, findings, budget=10)``; the strategy takes the parameters
    that are its own (see :func:`make_strategy`) and ignores the others.

    Parameters
    ----------
    observations, findings, budget, frames, exclude, rewards, history, seed, round
        See :meth:`Strategy.rank`.
    strategy : {"random", "uncertainty", "assertions-uniform", "bal"}, default "bal"
        :class:`RandomFrames`, :class:`Uncertainty`, :class:`AssertionsUniform` or
        :class:`BAL`.
    epsilon, policy, c, extra_arms
        See :class:`BAL`.
    min_gap, fill
        See :class:`AssertionsUniform` and :class:`BAL`.
    method, aggregate
        See :class:`Uncertainty`.

    Returns
    -------
    pandas.DataFrame
        The queue (:data:`QUEUE_COLUMNS`); ``reason`` is ``random``, ``uncertainty``,
        ``round-robin``, ``bal:exploit``, ``bal:explore``, ``bal:uniform``, ``bal:ucb`` or
        ``fill``, with :data:`GAP_RELAXED` appended when a pick had to lie within
        ``min_gap`` of another.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import rank_frames
    >>> f = pd.DataFrame({"assertion": ["flicker", "flicker", "appear"], "stream": "cam",
    ...                   "frame_start": [3, 9, 5], "frame_end": [3, 9, 5],
    ...                   "obs_ids": [[1], [7], [4]], "severity": [0.2, 0.9, 1.0]})
    >>> q = rank_frames(None, f, strategy="bal", budget=2, rewards={"flicker": 0.5},
    ...                 epsilon=0.0, fill=False, seed=0)
    >>> q[["rank", "frame", "arm", "priority", "reason"]]
       rank  frame      arm  priority       reason
    0     0      9  flicker       0.9  bal:exploit
    1     1      3  flicker       0.2  bal:exploit
    """
    chosen = make_strategy(strategy, epsilon=epsilon, policy=policy, c=c, extra_arms=extra_arms,
                           min_gap=min_gap, method=method, aggregate=aggregate, fill=fill)
    return chosen._run(observations, findings, budget=budget, frames=frames, exclude=exclude,
                       rewards=rewards, history=history, rng=round_rng(seed, round),
                       caller=f"rank_frames with strategy={strategy!r}"
                       + (" and fill=True" if fill and strategy in ("bal", "assertions-uniform") else ""))
