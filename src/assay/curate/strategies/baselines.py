"""The baselines that need no assertions: :class:`RandomFrames` and :class:`Uncertainty`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._validation import Options, validate_params
from ...exceptions import InvalidParameterError
from ._machinery import frame_keys, random_order
from .base import Strategy

__all__ = ["AGGREGATES", "UNCERTAINTY_METHODS", "RandomFrames", "Uncertainty"]

#: How a box's uncertainty is measured from its probability of being right (``score``).
UNCERTAINTY_METHODS = ("least_confidence", "margin", "entropy")
#: How box uncertainties combine into a frame's.
AGGREGATES = ("max", "mean", "sum")


def _uncertainty(p: np.ndarray, method: str) -> np.ndarray:
    p = np.clip(p, 0.0, 1.0)
    if method == "least_confidence":
        return 1.0 - np.maximum(p, 1.0 - p)
    if method == "margin":
        return 1.0 - np.abs(2.0 * p - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(h, nan=0.0)



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
        keys = frame_keys(observations, "observations")
        per = pd.Series(u, index=keys).groupby(level=[0, 1], sort=False).agg(self.aggregate)
        per = per.reindex(pool, fill_value=0.0).to_numpy(dtype="float64")
        order = random_order(per, rng)
        return pool[order], per[order]
