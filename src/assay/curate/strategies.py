"""Choosing which frames to label next: random, uncertainty, assertions round-robin and BAL.

Every strategy answers the same question the same way: given a model's predictions over a
pool of unlabeled frames (and, for the assertion strategies, the findings of assertions run
over those predictions), which frames should a person label next, most useful first, within
a budget? The answer is a *queue*: one row per frame, ranked.

The labeling unit is a frame ``(stream, frame)``: a reviewer labels every object of the
frame. A finding covering frames ``frame_start .. frame_end`` is labeled at its middle frame
``frame_start + (frame_end - frame_start) // 2`` (for the t / t+2 gap assertion that is the
frame where the box is missing; for a short track, its middle).

BAL (bandit active learning, Kang et al., MLSys 2020; the paper, section 4.1) treats each
assertion as an arm of a bandit. An arm's reward is how much that assertion's firings dropped
after the model was retrained on the previous round's labels; the arm with the largest reward
is exploited, with probability ``epsilon`` a random arm is explored, and when no arm improved
(or in the first round) arms are drawn uniformly. Within an arm, the most severe findings are
labeled first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, Options, check_random_state, validate_params
from ..exceptions import InvalidParameterError, SchemaError
from ..tables import STRING

__all__ = [
    "AGGREGATES",
    "QUEUE_COLUMNS",
    "REWARDS",
    "STRATEGIES",
    "UNCERTAINTY_METHODS",
    "bal_rewards",
    "flagged_frames",
    "rank_frames",
]

#: The strategies :func:`rank_frames` implements.
STRATEGIES = ("random", "uncertainty", "assertions-uniform", "bal")
#: How a box's uncertainty is measured from its probability of being right (``score``).
UNCERTAINTY_METHODS = ("least_confidence", "margin", "entropy")
#: How box uncertainties combine into a frame's.
AGGREGATES = ("max", "mean", "sum")
#: How BAL turns firings into rewards.
REWARDS = ("relative", "absolute")

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


@validate_params({
    "observations": [pd.DataFrame, None],
    "findings": [pd.DataFrame, None],
    "strategy": [Options(STRATEGIES)],
    "budget": [Interval(int, 0, None)],
    "frames": [pd.DataFrame, None],
    "exclude": [pd.DataFrame, None],
    "rewards": [Mapping, None],
    "epsilon": [Interval(float, 0, 1)],
    "method": [Options(UNCERTAINTY_METHODS)],
    "aggregate": [Options(AGGREGATES)],
    "fill": [bool],
    "seed": ["random_state"],
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
    epsilon: float = 0.1,
    method: str = "least_confidence",
    aggregate: str = "max",
    fill: bool = True,
    seed: Any = None,
) -> pd.DataFrame:
    """Rank the frames to label next, within a budget.

    Parameters
    ----------
    observations : pandas.DataFrame or None
        The model's predictions over the pool (observations with ``stream``, ``frame`` and,
        for ``"uncertainty"``, ``score`` as the probability that a box is right). Their
        frames are the pool unless ``frames`` is given. May be None for the assertion
        strategies with ``fill=False``.
    findings : pandas.DataFrame, optional
        Findings of assertions over ``observations`` (from :func:`assay.check`); needed by
        ``"assertions-uniform"`` and ``"bal"``.
    strategy : {"random", "uncertainty", "assertions-uniform", "bal"}, default "bal"
        ``random``: frames of the pool uniformly at random. ``uncertainty``: frames whose
        boxes the model is least sure of, by ``method`` and ``aggregate``.
        ``assertions-uniform``: round-robin over assertions (in name order), each taking its
        most severe frame not yet taken. ``bal``: per slot, an arm (assertion) chosen from
        ``rewards`` by the epsilon-greedy rule below, then that arm's most severe frame not
        yet taken.
    budget : int, default 100
        Most frames to return.
    frames : pandas.DataFrame, optional
        The pool as ``stream, frame`` rows (frames with no predictions can be labeled too).
        Default: the frames of ``observations``.
    exclude : pandas.DataFrame, optional
        Frames (``stream, frame``) already labeled or queued; never returned.
    rewards : mapping of str to float, optional
        BAL's reward per arm (see :func:`bal_rewards`). None (the first round) or no positive
        reward: arms are drawn uniformly.
    epsilon : float, default 0.1
        BAL's exploration probability.
    method : {"least_confidence", "margin", "entropy"}, default "least_confidence"
        Uncertainty of a box with probability ``p``: ``1 - max(p, 1 - p)``,
        ``1 - |2p - 1|`` or the binary entropy in bits.
    aggregate : {"max", "mean", "sum"}, default "max"
        How the uncertainties of a frame's boxes combine into the frame's.
    fill : bool, default True
        When the assertion strategies run out of flagged frames before the budget, fill the
        rest with unflagged frames of the pool at random (``reason == "fill"``).
    seed : int, numpy.random.Generator or None
        Randomness of ``random``, of BAL's draws and of the fill.

    Returns
    -------
    pandas.DataFrame
        The queue, best first: ``rank`` (0, 1, ...), ``stream``, ``frame``, ``arm`` (the
        assertion that chose the frame; missing for random, uncertainty and fill),
        ``priority`` (the severity or the uncertainty that ranked it; NaN for random picks),
        ``reason`` (``random``, ``uncertainty``, ``round-robin``, ``bal:exploit``,
        ``bal:explore``, ``bal:uniform`` or ``fill``) and ``obs_ids`` (the observations the
        arm's findings name in that frame). At most ``budget`` rows; fewer when the pool runs
        out.

    Notes
    -----
    BAL's rule, per slot of the budget, with ``live`` the arms (in name order) that still
    have a flagged frame not yet taken: if no live arm has a positive reward, take
    ``live[rng.integers(len(live))]`` (``bal:uniform``); otherwise draw ``u = rng.random()``:
    if ``u < epsilon`` take ``live[rng.integers(len(live))]`` (``bal:explore``), else the live
    arm with the largest reward, ties broken by ``rng.integers`` among them
    (``bal:exploit``). A frame flagged by several arms is labeled once, by the first arm to
    take it.

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
    rng = check_random_state(seed)
    if strategy in ("random", "uncertainty") or fill:
        if observations is None and frames is None:
            raise InvalidParameterError(
                f"rank_frames with strategy={strategy!r}"
                + (" and fill=True" if strategy not in ("random", "uncertainty") else "")
                + " needs the pool: pass observations (the model's predictions) or frames=. "
                "Got neither."
            )
    if strategy in ("assertions-uniform", "bal") and findings is None:
        raise InvalidParameterError(
            f"rank_frames with strategy={strategy!r} needs findings (from assay.check over the "
            "predictions). Got None."
        )
    if strategy == "uncertainty" and (observations is None or "score" not in observations.columns):
        raise InvalidParameterError(
            "rank_frames with strategy='uncertainty' needs observations with a 'score' column "
            "(the probability that each box is right)."
        )
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

    if strategy == "random":
        assert pool is not None
        take = rng.permutation(len(pool))[:budget]
        return _queue(pool[take], None, np.full(len(take), np.nan), "random", None)
    if strategy == "uncertainty":
        assert observations is not None and pool is not None
        return _rank_uncertainty(observations, pool, budget, method, aggregate)

    cands = flagged_frames(findings)
    if len(cands) and excluded is not None and len(excluded):
        cands = cands.loc[~_frame_keys(cands, "findings").isin(excluded)].reset_index(drop=True)
    if strategy == "assertions-uniform":
        picked = _round_robin(cands, budget)
    else:
        picked = _bal(cands, budget, dict(rewards or {}), epsilon, rng)
    if fill and len(picked) < budget and pool is not None:
        taken = _frame_keys(picked, "queue")
        rest = pool[~pool.isin(taken)]
        take = rng.permutation(len(rest))[: budget - len(picked)]
        extra = _queue(rest[take], None, np.full(len(take), np.nan), "fill", None)
        picked = pd.concat([picked, extra], ignore_index=True)
        picked["rank"] = np.arange(len(picked), dtype="int64")
    return picked


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


def _rank_uncertainty(obs: pd.DataFrame, pool: pd.MultiIndex, budget: int, method: str,
                      aggregate: str) -> pd.DataFrame:
    score = obs["score"].to_numpy(dtype="float64", na_value=np.nan)
    u = _uncertainty(np.nan_to_num(score, nan=1.0), method)
    keys = _frame_keys(obs, "observations")
    per = pd.Series(u, index=keys).groupby(level=[0, 1], sort=False).agg(aggregate)
    per = per.reindex(pool, fill_value=0.0)
    # most uncertain first; ties by stream, frame
    order = np.lexsort((pool.get_level_values(1).to_numpy(), pool.get_level_values(0).to_numpy(dtype=object).astype(str),
                        -per.to_numpy()))[:budget]
    return _queue(pool[order], None, per.to_numpy()[order], "uncertainty", None)


def _round_robin(cands: pd.DataFrame, budget: int) -> pd.DataFrame:
    if len(cands) == 0:
        return _empty_queue()
    # cands are sorted by arm, then severity: the position within its arm is the turn
    arm_code = pd.factorize(cands["arm"], sort=True)[0]
    turn = cands.groupby(arm_code, sort=False).cumcount().to_numpy()
    order = np.lexsort((arm_code, turn))
    ordered = cands.iloc[order]
    keys = _frame_keys(ordered, "findings")
    first = ~keys.duplicated()
    ordered = ordered.loc[first].head(budget)
    return _queue(_frame_keys(ordered, "findings"), ordered["arm"].to_numpy(dtype=object),
                  ordered["severity"].to_numpy(), "round-robin", ordered["obs_ids"].tolist())


def _bal(cands: pd.DataFrame, budget: int, rewards: dict[str, float], epsilon: float,
         rng: np.random.Generator) -> pd.DataFrame:
    if len(cands) == 0:
        return _empty_queue()
    arms = sorted(cands["arm"].astype(str).unique().tolist())
    keys = _frame_keys(cands, "findings")
    frame_code = pd.factorize(keys)[0]
    arm_of = cands["arm"].astype(str).to_numpy(dtype=object)
    bounds = {a: (int(lo), int(hi)) for a, lo, hi in zip(
        arms, np.searchsorted(arm_of, arms, side="left"), np.searchsorted(arm_of, arms, side="right"),
        strict=True)}
    pointer = {a: bounds[a][0] for a in arms}
    taken = np.zeros(int(frame_code.max()) + 1, dtype=bool)
    live = list(arms)
    rows, reasons = [], []

    def next_row(arm: str) -> int | None:
        p, hi = pointer[arm], bounds[arm][1]
        while p < hi and taken[frame_code[p]]:
            p += 1
        pointer[arm] = p
        return p if p < hi else None

    while len(rows) < budget and live:
        # drop arms whose frames have all been taken (by themselves or by other arms)
        live = [a for a in live if next_row(a) is not None]
        if not live:
            break
        improving = [a for a in live if rewards.get(a, 0.0) > 0]
        if not improving:
            arm, reason = live[int(rng.integers(len(live)))], "bal:uniform"
        elif rng.random() < epsilon:
            arm, reason = live[int(rng.integers(len(live)))], "bal:explore"
        else:
            best = max(rewards[a] for a in improving)
            tied = [a for a in improving if rewards[a] == best]
            arm = tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]
            reason = "bal:exploit"
        row = next_row(arm)
        assert row is not None
        taken[frame_code[row]] = True
        rows.append(row)
        reasons.append(reason)
    sel = cands.iloc[rows]
    return _queue(_frame_keys(sel, "findings"), sel["arm"].to_numpy(dtype=object),
                  sel["severity"].to_numpy(), reasons, sel["obs_ids"].tolist())
