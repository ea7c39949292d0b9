"""How well assigned track ids agree with true ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..exceptions import InvalidParameterError

__all__ = ["identity_purity"]


def identity_purity(assigned: ArrayLike, truth: ArrayLike) -> float:
    """Fraction of observations whose assigned track's most common true id is their own.

    A track that follows one object throughout is pure; a track that jumps from one object
    to another makes the observations of every object but its majority one impure. Cutting
    an object's track into pieces does not lower it, so read it together with
    ``identity_purity(truth, assigned)``: the same measure with the roles swapped, which
    falls when an object is split over several tracks (it is the share of each true
    object's observations on that object's most common assigned track).

    Parameters
    ----------
    assigned : array_like of shape (N,)
        Assigned track id of each observation (any hashable values, no missing values).
    truth : array_like of shape (N,)
        True object id of each observation.

    Returns
    -------
    float
        In [0, 1]; 1.0 for no observations. Ties for the most common true id of a track are
        counted as pure once.

    Raises
    ------
    InvalidParameterError
        If the inputs differ in length or hold missing values.

    Examples
    --------
    >>> from assay.tracking import identity_purity
    >>> assigned = [1, 1, 1, 2, 2]
    >>> truth    = [7, 7, 8, 8, 8]
    >>> identity_purity(assigned, truth)  # track 1 is mostly object 7: its 8 is impure
    0.8
    >>> identity_purity(truth, assigned)  # object 8 is split over tracks 1 and 2
    0.8
    """
    a = pd.Series(np.asarray(assigned).ravel())
    t = pd.Series(np.asarray(truth).ravel())
    if len(a) != len(t):
        raise InvalidParameterError(
            f"The 'assigned' and 'truth' parameters of identity_purity must have the same length. "
            f"Got {len(a)} and {len(t)}."
        )
    if a.isna().any() or t.isna().any():
        raise InvalidParameterError(
            "The 'assigned' and 'truth' parameters of identity_purity must not hold missing values."
        )
    if len(a) == 0:
        return 1.0
    counts = pd.DataFrame({"a": a, "t": t}).value_counts(sort=False)
    majority = counts.groupby(level="a", sort=False).max()
    return float(majority.sum() / len(a))
