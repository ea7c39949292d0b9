"""Bandit active learning over assertions: :class:`BAL` and its rewards, :func:`bal_rewards`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..._validation import Interval, Options, validate_params
from ._machinery import GAP_RELAXED, Arm, Picks, fill_at_random, param_error, picks_queue
from .base import Strategy
from .baselines import RandomFrames, Uncertainty
from .uniform import assertion_arms

__all__ = ["BAL", "EXTRA_ARMS", "POLICIES", "REWARDS", "bal_rewards"]

#: How BAL turns firings into rewards.
REWARDS = ("relative", "absolute")
#: How BAL chooses an arm per slot.
POLICIES = ("epsilon-greedy", "ucb")
#: Strategies BAL can take as extra arms by name.
EXTRA_ARMS = ("random", "uncertainty")


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



def extra_arm(spec: Any) -> Strategy:
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
                raise param_error("BAL", "extra_arms", "a list of 'random', 'uncertainty' or strategies "
                                   "that rank the pool without findings (RandomFrames(), Uncertainty(...), "
                                   "ErrorOracle(...))", list(extra_arms))
        names = [extra_arm(s).name for s in extra_arms]
        if len(set(names)) < len(names):
            raise param_error("BAL", "extra_arms", "strategies of distinct names", names)
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
            extra_arm(spec)._check(observations, None, frames, f"{caller} with the extra arm {spec!r}")

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng):
        arms = assertion_arms(findings, excluded, rng)
        for spec in self.extra_arms:
            strategy = extra_arm(spec)
            keys, priority = strategy._ordered(observations, pool, rng)
            arms.append(Arm(strategy.name, keys.get_level_values(0).to_numpy(dtype=object),
                             keys.get_level_values(1).to_numpy(), priority, None))
        arms.sort(key=lambda a: a.name)
        names = [a.name for a in arms]
        if self.policy == "ucb":
            pulls, means = self._ucb_state(names, rewards, history)
        picks = Picks(self.min_gap)
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
        picked = picks_queue(arms, choices)
        if self.fill and len(picked) < budget and pool is not None:
            picked = fill_at_random(picked, pool, budget, self.min_gap, rng)
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
