"""Strategies built by name: :func:`make_strategy` and :func:`rank_frames`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..._validation import Interval, Options, validate_params
from ._machinery import param_error, round_rng
from .bandit import BAL, POLICIES
from .base import Strategy
from .baselines import AGGREGATES, UNCERTAINTY_METHODS, RandomFrames, Uncertainty
from .uniform import AssertionsUniform

__all__ = ["STRATEGIES", "make_strategy", "rank_frames"]

#: The strategies :func:`rank_frames` and :class:`~assay.curate.Campaign` build by name.
STRATEGIES = ("random", "uncertainty", "assertions-uniform", "bal")


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
        raise param_error("make_strategy", "name", "one of {" + ", ".join(map(repr, STRATEGIES)) + "}", name)
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
