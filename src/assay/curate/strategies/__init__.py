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

from ._machinery import GAP_RELAXED, QUEUE_COLUMNS, round_rng
from .bandit import BAL, EXTRA_ARMS, POLICIES, REWARDS, bal_rewards
from .base import Strategy
from .baselines import AGGREGATES, UNCERTAINTY_METHODS, RandomFrames, Uncertainty
from .by_name import STRATEGIES, make_strategy, rank_frames
from .oracle import ErrorOracle
from .uniform import AssertionsUniform, flagged_frames

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
