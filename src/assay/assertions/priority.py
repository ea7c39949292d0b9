"""How much a finding matters next to the others of its run: the ``priority`` column.

``severity`` is each assertion's own raw value (a flicker's IoU shortfall in [0, 1], a
multibox's count of triples, a speed ratio, a price's distance below zero): it is computed
from the finding's own rows, so batch, stream and subset runs agree on it, but it cannot
be compared across assertions. ``priority`` can::

    priority = weight[assertion] * quantile

- ``quantile`` is ``1 - (r - 1) / n``: ``r`` is the finding's rank by severity among the
  ``n`` findings of its assertion in the run (1 is the most severe; tied severities share
  their mean rank). Each assertion's most severe finding has 1, its least severe ``1 / n``:
  an assertion with large raw values, or with many findings, buries no other.
- ``weight`` calibrates assertions by how often reviewers found them right: ``p = (confirmed
  + 1) / (reviewed + 2)``, the mean of the Beta posterior of the assertion's precision from
  a uniform prior (``reviewed`` frames it chose, ``confirmed`` of them where something was
  indeed wrong: :func:`assay.curate.assertion_precision`), divided by the largest ``p``
  among the run's assertions. Without verdicts every weight is 1; an assertion no reviewer
  has judged counts as a coin flip, ``p = 1/2``.

So priority is in (0, 1], and 1 marks the most severe finding of the assertion reviewers
trust most. Unlike severity it depends on the whole run (on the other findings of the
assertion, and on the verdicts at the time), so it is not part of what batch, stream and
subset runs must agree on.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validation import validate_params
from ..exceptions import InvalidParameterError
from ._findings import canonical_order, sort_keys

__all__ = ["assertion_weights", "order_by", "prioritize", "priorities", "verdict_precision"]


def _counts(precision: pd.DataFrame | None) -> Mapping[str, tuple[int, int]]:
    """Per assertion name, (reviewed, confirmed) from an assertion-precision table."""
    if precision is None or len(precision) == 0:
        return {}
    key = "arm" if "arm" in precision.columns else "assertion"
    missing = [c for c in (key, "reviewed", "confirmed") if c not in precision.columns]
    if missing:
        raise InvalidParameterError(
            "The 'precision' parameter must be a table with columns 'arm' (or 'assertion'), "
            f"'reviewed' and 'confirmed', as assay.curate.assertion_precision returns. It lacks "
            f"{', '.join(repr(c) for c in missing)}.")
    return {str(a): (int(r), int(c)) for a, r, c in zip(precision[key], precision["reviewed"],
                                                        precision["confirmed"], strict=True)}


@validate_params({"assertions": [list, tuple, np.ndarray, pd.Index, pd.Series],
                  "precision": [pd.DataFrame, None]})
def assertion_weights(assertions, *, precision: pd.DataFrame | None = None) -> dict[str, float]:
    """Each assertion's weight in :func:`prioritize`: its posterior mean precision over the
    largest among ``assertions`` (all 1 without verdicts).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.assertions import assertion_weights
    >>> reviews = pd.DataFrame({"arm": ["flicker", "gap"], "reviewed": [8, 8], "confirmed": [7, 1]})
    >>> assertion_weights(["flicker", "gap", "multibox"], precision=reviews)
    {'flicker': 1.0, 'gap': 0.25, 'multibox': 0.625}
    """
    counts = _counts(precision)
    names = sorted({str(a) for a in assertions})
    p = {a: (counts[a][1] + 1.0) / (counts[a][0] + 2.0) if a in counts else 0.5 for a in names}
    top = max(p.values(), default=1.0)
    return {a: p[a] / top for a in names}


@validate_params({"findings": [pd.DataFrame], "precision": [pd.DataFrame, None]})
def prioritize(findings: pd.DataFrame, *, precision: pd.DataFrame | None = None) -> pd.DataFrame:
    """Findings with their ``priority``, most important first.

    Parameters
    ----------
    findings : pandas.DataFrame
        The findings of one run (``assertion`` and ``severity`` columns at least).
    precision : pandas.DataFrame, optional
        Reviewers' verdicts per assertion: columns ``arm`` (or ``assertion``), ``reviewed``
        and ``confirmed``, as :func:`assay.curate.assertion_precision` returns.

    Returns
    -------
    pandas.DataFrame
        A copy with a ``priority`` column (see the module's description), sorted by priority
        (descending); ties (the top findings of several assertions, say) in the canonical
        order of :func:`sort_findings`. ``attrs`` are kept.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.assertions import prioritize
    >>> f = pd.DataFrame({"assertion": ["multibox", "multibox", "flicker", "flicker"],
    ...                   "stream": "cam", "frame_start": [1, 2, 3, 4], "frame_end": [1, 2, 3, 4],
    ...                   "obs_ids": [[1], [2], [3], [4]], "scope": "obs",
    ...                   "severity": [40.0, 3.0, 1.0, 0.5], "evidence": "{}"})
    >>> prioritize(f)[["assertion", "severity", "priority"]]
      assertion  severity  priority
    0   flicker       1.0       1.0
    1  multibox      40.0       1.0
    2   flicker       0.5       0.5
    3  multibox       3.0       0.5
    """
    if findings.empty:
        out = findings.copy()
        out["priority"] = np.zeros(0)
        out.attrs = dict(findings.attrs)
        return out.reset_index(drop=True)
    codes, names = pd.factorize(findings["assertion"].astype(str), use_na_sentinel=False)
    priority = priorities(codes, list(names), findings["severity"].to_numpy(dtype=np.float64),
                          precision=precision)
    order = canonical_order(sort_keys(findings), priority)
    out = findings.take(order).reset_index(drop=True)
    out["priority"] = priority[order]
    out.attrs = dict(findings.attrs)
    return out


def priorities(codes: np.ndarray, names: list[str], severity: np.ndarray, *,
               precision: pd.DataFrame | None = None) -> np.ndarray:
    """The ``priority`` of each finding (see the module's description), from its assertion
    (``names[codes[i]]``) and its ``severity``; a missing severity has a missing priority.

    Vectorized over findings: the average rank of each severity (descending) among its
    assertion's findings comes from one sort, as ``pandas`` ranks with ``method="average"``.

    Examples
    --------
    >>> import numpy as np
    >>> priorities(np.array([0, 0, 0, 1]), ["multibox", "flicker"], np.array([4.0, 2.0, 2.0, 0.3]))
    array([1. , 0.5, 0.5, 1. ])
    """
    codes = np.asarray(codes, dtype=np.int64)
    severity = np.asarray(severity, dtype=np.float64)
    n = len(codes)
    if n == 0:
        return np.zeros(0)
    order = np.lexsort((-severity, codes))  # by assertion, most severe first, missing last
    c, s = codes[order], severity[order]
    at = np.arange(n, dtype=np.int64)
    starts_group = np.r_[True, c[1:] != c[:-1]]
    starts_tie = starts_group | np.r_[True, s[1:] != s[:-1]]
    place = at - np.maximum.accumulate(np.where(starts_group, at, 0)) + 1  # 1 = most severe
    first = np.flatnonzero(starts_tie)
    last = np.r_[first[1:], n] - 1
    tie = np.cumsum(starts_tie) - 1
    rank = np.empty(n, dtype=np.float64)
    rank[order] = ((place[first] + place[last]) / 2.0)[tie]
    rank[np.isnan(severity)] = np.nan
    count = np.bincount(codes, minlength=len(names)).astype(np.float64)[codes]
    weights = assertion_weights(list(names), precision=precision)
    weight = np.array([weights[str(a)] for a in names], dtype=np.float64)[codes]
    return weight * (1.0 - (rank - 1.0) / count)


def verdict_precision(workspace, precision: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The reviewers' precision per assertion that weights priorities: ``precision`` when
    given, else what the workspace's verdicts say (:func:`assay.curate.assertion_precision`),
    else None."""
    if precision is not None or workspace is None:
        return precision
    from ..curate.verdicts import assertion_precision

    return assertion_precision(workspace)


def order_by(columns) -> str:
    """SQL ``ORDER BY`` terms that put the findings a person should see first on top, for a
    findings table with these ``columns``: by ``priority`` when the table has it (findings
    stored before it existed have none and come after), then ``severity``, stream and frames.

    Examples
    --------
    >>> order_by(["assertion", "severity", "priority"])
    'priority DESC NULLS LAST, severity DESC, stream, frame_start, frame_end, assertion'
    """
    first = "priority DESC NULLS LAST, " if "priority" in set(columns) else ""
    return first + "severity DESC, stream, frame_start, frame_end, assertion"
