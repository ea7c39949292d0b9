"""Label errors in classification data: confident disagreement between out-of-sample
predicted probabilities and the given labels (confident learning, Northcutt et al. 2021)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..assertions._findings import make_findings
from ..exceptions import AssayWarning, InvalidParameterError

__all__ = ["confident_joint", "find_label_issues"]


def _ordered(pred_probs: Any, labels: Any) -> tuple[Any, Any]:
    """The two data arguments in assay's order. cleanlab's ``find_label_issues(labels,
    pred_probs)`` puts them the other way round; a 1-D first argument with a 2-D second is
    that order, and is read as it was meant."""
    if np.ndim(pred_probs) == 1 and np.ndim(labels) == 2:
        return labels, pred_probs
    return pred_probs, labels


def _check(pred_probs: Any, labels: Any, tolerance: float, caller: str) -> tuple[np.ndarray, np.ndarray]:
    pred_probs, labels = _ordered(pred_probs, labels)
    p = np.array(pred_probs, dtype=np.float64)  # a copy: clipping never touches the caller's array
    y = np.asarray(labels)
    if p.ndim != 2 or p.shape[1] < 2:
        raise InvalidParameterError(
            f"The 'pred_probs' parameter of {caller} must be an (n, k) array of "
            f"predicted probabilities with k >= 2 classes. Got shape {p.shape}."
        )
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise InvalidParameterError(
            f"The 'labels' parameter of {caller} must be a 1-D array with one label "
            f"per row of pred_probs ({p.shape[0]}). Got shape {y.shape}."
        )
    if not np.issubdtype(y.dtype, np.integer) or (y.size and (y.min() < 0 or y.max() >= p.shape[1])):
        raise InvalidParameterError(
            f"The 'labels' parameter of {caller} must hold integer class indices in "
            f"[0, {p.shape[1] - 1}]. Got values {np.unique(y)[:10].tolist()}."
        )
    _to_probabilities(p, tolerance, caller)
    return p, y.astype(np.int64)


def _to_probabilities(p: np.ndarray, tolerance: float, caller: str) -> None:
    """Clip values within ``tolerance`` of [0, 1] and renormalise rows whose sum is within
    ``tolerance`` of 1, in place, with one warning saying how many and by how much; anything
    further off is an error. Row sums off by float32 rounding (``k`` float32 epsilons) are
    neither changed nor reported: a softmax computed in float32 is a probability vector."""
    if not np.all(np.isfinite(p)):
        row = int(np.flatnonzero(~np.isfinite(p).all(axis=1))[0])
        raise InvalidParameterError(
            f"The 'pred_probs' parameter of {caller} must hold finite probabilities. Got "
            f"{p[row].tolist()} in row {row}."
        )
    if p.size == 0:
        return
    below, above = -p.min(), p.max() - 1.0
    if below > tolerance or above > tolerance:
        row = int(np.argmin(p.min(axis=1)) if below >= above else np.argmax(p.max(axis=1)))
        raise InvalidParameterError(
            f"The 'pred_probs' parameter of {caller} must hold probabilities in [0, 1] "
            f"(out-of-sample, e.g. from cross-validation), within tolerance={tolerance:g}. Got "
            f"{p[row].tolist()[:10]} in row {row}. Pass scores through a softmax first."
        )
    off_range = (p < 0) | (p > 1)
    np.clip(p, 0.0, 1.0, out=p)
    sums = p.sum(axis=1)
    dev = np.abs(sums - 1.0)
    if dev.max() > tolerance:
        row = int(np.argmax(dev))
        raise InvalidParameterError(
            f"The 'pred_probs' parameter of {caller} must have rows that sum to 1, within "
            f"tolerance={tolerance:g}. Row {row} sums to {sums[row]:.6g}. Normalise scores "
            "(p / p.sum(axis=1, keepdims=True)) or pass them through a softmax first."
        )
    rounding = p.shape[1] * float(np.finfo(np.float32).eps)
    renorm = dev > rounding
    n_clip = int(off_range.any(axis=1).sum())
    if not (n_clip or renorm.any()):
        return
    p[renorm] /= sums[renorm, None]
    parts = []
    if n_clip:
        parts.append(f"{n_clip:,} row{'s' if n_clip > 1 else ''} with values outside [0, 1] "
                     f"(by up to {max(below, above, 0.0):.3g}) clipped")
    if renorm.any():
        n = int(renorm.sum())
        parts.append(f"{n:,} row{'s' if n > 1 else ''} not summing to 1 (by up to "
                     f"{dev[renorm].max():.3g}) renormalised")
    warnings.warn(
        f"{caller}: pred_probs are probabilities only within tolerance={tolerance:g}: "
        f"{' and '.join(parts)}. Rounding in the model's output is the usual "
        "cause; pass a smaller tolerance to refuse it.",
        AssayWarning, stacklevel=5,  # the user's call: through _check, the function, its wrapper
    )


@validate_params({"tolerance": [Interval(float, 0, 1, closed="left")]})
def confident_joint(pred_probs: Any, labels: Any, *, tolerance: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """The confident joint of given and true labels.

    An example with given label ``i`` counts towards ``C[i, j]`` when its probability of
    class ``j`` is at least the per-class threshold ``t_j`` (the mean probability of ``j``
    over examples labeled ``j``), ``j`` being the most probable of the classes above their
    threshold. Examples above no threshold are not counted.

    Parameters
    ----------
    pred_probs, labels
        As in :func:`find_label_issues` (either order; probabilities within ``tolerance``
        are accepted and clipped / renormalised, with an :class:`~assay.exceptions.AssayWarning`).
    tolerance : float, default 1e-3
        As in :func:`find_label_issues`.

    Returns
    -------
    (C, assigned) : (numpy.ndarray, numpy.ndarray)
        The ``(k, k)`` count matrix, and per example the ``j`` it counted towards (-1 when
        none).

    Examples
    --------
    >>> import numpy as np
    >>> from assay.audit.classification import confident_joint
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.88, 0.12]])
    >>> C, j = confident_joint(p, np.array([0, 0, 1, 1, 1]))
    >>> C
    array([[1, 0],
           [1, 2]])
    >>> j
    array([ 0, -1,  1,  1,  0])
    """
    return _confident_joint(*_check(pred_probs, labels, tolerance, "confident_joint"))


def _confident_joint(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = p.shape[1]
    thresholds = np.array([p[y == j, j].mean() if np.any(y == j) else np.inf for j in range(k)])
    above = p >= thresholds[None, :] - 1e-12
    masked = np.where(above, p, -np.inf)
    j = masked.argmax(axis=1)
    assigned = np.where(above.any(axis=1), j, -1)
    C = np.zeros((k, k), np.int64)
    ok = assigned >= 0
    np.add.at(C, (y[ok], assigned[ok]), 1)
    return C, assigned


@validate_params(
    {
        "filter_by": [Options(("prune_by_noise_rate", "confident_joint", "predicted_neq_given"))],
        "rank_by": [Options(("self_confidence", "normalized_margin"))],
        "stream": [str],
        "tolerance": [Interval(float, 0, 1, closed="left")],
    }
)
def find_label_issues(
    pred_probs: Any,
    labels: Any,
    *,
    filter_by: str = "prune_by_noise_rate",
    rank_by: str = "self_confidence",
    stream: str = "items",
    tolerance: float = 1e-3,
) -> pd.DataFrame:
    """Find classification examples whose given label is probably wrong.

    Parameters
    ----------
    pred_probs : array-like of shape (n, k)
        *Out-of-sample* predicted probabilities (cross-validated, or from a model that did
        not train on these examples): in-sample probabilities memorize the errors.
    labels : array-like of shape (n,)
        Given labels, integers in ``[0, k)``. The two may also come in cleanlab's order,
        ``find_label_issues(labels, pred_probs)``: a 1-D first argument and a 2-D second are
        told apart by shape and read as meant (the keywords ``labels=`` and ``pred_probs=``
        work in any order).
    filter_by : {"prune_by_noise_rate", "confident_joint", "predicted_neq_given"}
        Which examples are issues. ``"confident_joint"``: the off-diagonal of the confident
        joint (see :func:`confident_joint`). ``"prune_by_noise_rate"`` (default): the
        confident joint is calibrated to the class counts, then for every pair (given ``i``,
        true ``j``) the ``round(C_cal[i, j])`` examples labeled ``i`` with the largest margin
        ``p_j - p_i`` are issues. ``"predicted_neq_given"``: the arg-max disagrees. In every
        case an example whose given label is also the most probable class is not an issue.
    rank_by : {"self_confidence", "normalized_margin"}
        Issues first by lowest probability of the given label, or by largest margin of the
        most probable other class over it.
    stream : str, default "items"
        Written in the ``stream`` column of the findings.
    tolerance : float, default 1e-3
        How far from probabilities ``pred_probs`` may be: values within ``tolerance`` of
        [0, 1] are clipped into it and rows whose sum is within ``tolerance`` of 1 are
        renormalised, with one
        :class:`~assay.exceptions.AssayWarning` saying how many rows and by how much; a
        value or row sum further off is an error. Row sums off by float32 rounding only are
        left as they are, unreported.

    Returns
    -------
    pandas.DataFrame
        Findings (assertion ``label_issue``, scope ``obs``), most likely error first: the
        example's index is ``frame_start``, ``frame_end`` and ``obs_ids``; severity is
        ``1 - p_given``; evidence holds ``given``, ``suggested``, ``p_given``,
        ``p_suggested`` and ``margin``; ``fix`` proposes the suggested label.

    Examples
    --------
    >>> import numpy as np
    >>> from assay.audit import find_label_issues
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.15, 0.85], [0.1, 0.9], [0.95, 0.05]])
    >>> issues = find_label_issues(p, [0, 0, 1, 1, 1])
    >>> issues["frame_start"].tolist(), issues["severity"].round(2).tolist()
    ([4], [0.95])
    """
    p, y = _check(pred_probs, labels, tolerance, "find_label_issues")
    n, k = p.shape
    pred = p.argmax(axis=1)
    C, assigned = _confident_joint(p, y)
    if filter_by == "predicted_neq_given":
        issue = pred != y
    elif filter_by == "confident_joint":
        issue = (assigned >= 0) & (assigned != y)
    else:
        counts = np.bincount(y, minlength=k).astype(np.float64)
        rows = C.sum(axis=1, keepdims=True).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            cal = np.where(rows > 0, C / np.maximum(rows, 1) * counts[:, None], 0.0)
        issue = np.zeros(n, bool)
        for i in range(k):
            members = np.flatnonzero(y == i)
            if members.size == 0:
                continue
            for j in range(k):
                m = int(round(cal[i, j]))
                if j == i or m <= 0:
                    continue
                margin = p[members, j] - p[members, i]
                take = members[np.argsort(-margin, kind="stable")[:m]]
                issue[take] = True
    issue &= pred != y
    idx = np.flatnonzero(issue)
    p_given = p[idx, y[idx]]
    others = p[idx].copy()
    others[np.arange(idx.size), y[idx]] = -np.inf
    suggested = others.argmax(axis=1)
    p_sugg = p[idx, suggested]
    margin = p_sugg - p_given
    key = p_given if rank_by == "self_confidence" else -margin
    order = np.argsort(key, kind="stable")
    idx, p_given, suggested, p_sugg, margin = (a[order] for a in (idx, p_given, suggested, p_sugg, margin))
    fixes = [f'{{"action": "relabel", "label": {int(s)}}}' for s in suggested]
    return make_findings(
        "label_issue", "obs", np.full(idx.size, stream, dtype=object), idx, idx,
        idx[:, None], np.maximum(1.0 - p_given, 1e-12),
        evidence={"given": y[idx], "suggested": suggested, "p_given": p_given,
                  "p_suggested": p_sugg, "margin": margin},
        fix=fixes,
    )
