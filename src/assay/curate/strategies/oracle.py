"""The positive control: :class:`ErrorOracle`, frames with the most errors against ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._validation import Interval, validate_params
from ...exceptions import SchemaError
from ._machinery import (
    Arm,
    Picks,
    frame_index,
    frame_keys,
    make_queue,
    picks_queue,
    random_order,
    spread_picks,
)
from .base import Strategy

__all__ = ["ErrorOracle"]

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
        from ...geometry import kernels

        box = ["x1", "y1", "x2", "y2"]
        obs = observations if observations is not None else self.truth.iloc[:0]
        pk = frame_keys(obs, "observations") if len(obs) else frame_index([], [])
        tk = frame_keys(self.truth, "truth")
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
        order = random_order(err, rng)
        if self.balance and len(order):
            # streams in turn: the k-th pick of every stream before any (k+1)-th
            streams = pool.get_level_values(0).to_numpy(dtype=object)[order]
            turn = pd.Series(streams).groupby(streams, sort=False).cumcount().to_numpy()
            order = order[np.lexsort((np.arange(len(order)), turn))]
        return pool[order], err[order]

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng) -> pd.DataFrame:
        keys, priority = self._ordered(observations, pool, rng)
        if self.min_gap <= 1:
            return make_queue(keys[:budget], None, priority[:budget], self.reason, None)
        arm = Arm("", keys.get_level_values(0).to_numpy(dtype=object), keys.get_level_values(1).to_numpy(),
                   priority, None)
        return picks_queue([arm], spread_picks(arm, Picks(self.min_gap), budget, self.reason))
