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
from ._findings import sort_findings

__all__ = ["assertion_weights", "order_by", "prioritize", "verdict_precision"]


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
    out = findings.copy()
    out.attrs = dict(findings.attrs)
    if out.empty:
        out["priority"] = np.zeros(0)
        return out.reset_index(drop=True)
    name = out["assertion"].astype(str)
    rank = out["severity"].groupby(name.to_numpy()).rank(method="average", ascending=False).to_numpy()
    n = name.map(name.value_counts()).to_numpy(dtype=np.float64)
    weights = assertion_weights(list(name.unique()), precision=precision)
    out["priority"] = name.map(weights).to_numpy(dtype=np.float64) * (1.0 - (rank - 1.0) / n)
    out = sort_findings(out)
    out = out.sort_values("priority", ascending=False, kind="stable", ignore_index=True)
    out.attrs = dict(findings.attrs)
    return out


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
