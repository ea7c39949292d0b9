"""The interface every strategy shares: :class:`Strategy`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..._validation import Interval, validate_params
from ...exceptions import InvalidParameterError
from ._machinery import empty_queue, frame_keys, make_queue, round_rng

__all__ = ["Strategy"]

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
            pool = frame_keys(frames, "frames").unique()
        elif observations is not None:
            pool = frame_keys(observations, "observations").unique()
        excluded = frame_keys(exclude, "exclude").unique() if exclude is not None else None
        if pool is not None and excluded is not None and len(excluded):
            pool = pool[~pool.isin(excluded)]
        if budget == 0:
            return empty_queue()
        return self._rank(observations, findings, pool=pool, excluded=excluded, budget=budget,
                          rewards=dict(rewards or {}), history=history, rng=rng)

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng) -> pd.DataFrame:
        keys, priority = self._ordered(observations, pool, rng)
        return make_queue(keys[:budget], None, priority[:budget], self.reason, None)

    def _ordered(self, observations, pool, rng) -> tuple[pd.MultiIndex, np.ndarray]:
        raise NotImplementedError
