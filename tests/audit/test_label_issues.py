"""find_label_issues on small exact cases and on the CIFAR-10 release data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assay.audit import find_label_issues
from assay.audit.classification import confident_joint
from assay.exceptions import InvalidParameterError


def test_confident_joint_small_exact_case():
    p = np.array([
        [0.9, 0.1, 0.0],
        [0.7, 0.2, 0.1],
        [0.1, 0.8, 0.1],
        [0.2, 0.6, 0.2],
        [0.8, 0.1, 0.1],  # labeled 1, confidently class 0
        [0.1, 0.1, 0.8],
        [0.0, 0.3, 0.7],
    ])
    y = np.array([0, 0, 1, 1, 1, 2, 2])
    # thresholds: t0 = 0.8, t1 = (0.8 + 0.6 + 0.1) / 3 = 0.5, t2 = 0.75
    C, assigned = confident_joint(p, y)
    assert assigned.tolist() == [0, -1, 1, 1, 0, 2, -1]
    assert C.tolist() == [[1, 0, 0], [1, 2, 0], [0, 0, 1]]
    issues = find_label_issues(p, y)
    assert issues["obs_ids"].tolist() == [[4]]
    ev = json.loads(issues["evidence"].iloc[0])
    assert ev == {"given": 1, "suggested": 0, "p_given": 0.1, "p_suggested": 0.8, "margin": 0.7}
    assert json.loads(issues["fix"].iloc[0]) == {"action": "relabel", "label": 0}
    assert issues["severity"].iloc[0] == pytest.approx(0.9)


def test_ranking_and_filters():
    p = np.array([[0.9, 0.1], [0.85, 0.15], [0.3, 0.7], [0.45, 0.55], [0.2, 0.8], [0.1, 0.9]])
    y = np.array([0, 0, 0, 0, 1, 1])
    by_self = find_label_issues(p, y, filter_by="predicted_neq_given")
    assert [i[0] for i in by_self["obs_ids"]] == [2, 3]  # p_given 0.3 before 0.45
    assert (np.diff(by_self["severity"].to_numpy()) <= 0).all()
    margin = find_label_issues(p, y, filter_by="predicted_neq_given", rank_by="normalized_margin")
    assert [i[0] for i in margin["obs_ids"]] == [2, 3]
    # an example whose given label is also the arg-max is never an issue
    assert len(find_label_issues(np.array([[0.6, 0.4], [0.4, 0.6]]), [0, 1])) == 0


def test_bad_inputs():
    with pytest.raises(InvalidParameterError, match="'pred_probs' parameter"):
        find_label_issues(np.ones(3), [0, 1, 2])
    with pytest.raises(InvalidParameterError, match="one label per row"):
        find_label_issues(np.full((3, 2), 0.5), [0, 1])
    with pytest.raises(InvalidParameterError, match=r"integer class indices in \[0, 1\]"):
        find_label_issues(np.full((2, 2), 0.5), [0, 2])
    with pytest.raises(InvalidParameterError, match="'filter_by' parameter"):
        find_label_issues(np.full((2, 2), 0.5), [0, 1], filter_by="magic")


def test_empty_input():
    out = find_label_issues(np.empty((0, 3)), np.empty(0, dtype=int))
    assert len(out) == 0 and "severity" in out.columns


@pytest.mark.shared_data
def test_cifar10_precision_against_crowd_verified_errors(shared_data):
    d = shared_data / "label_errors" / "cifar10"
    p = np.load(d / "pred_probs.npy")
    y = np.load(d / "given_labels.npy")
    mturk = json.loads((d / "mturk.json").read_text())
    issues = find_label_issues(p, y)
    ranked = [i[0] for i in issues["obs_ids"]]
    verified = _verified(mturk)
    assert len(verified) == 37
    hits = sum(i in verified for i in ranked[:50])
    # the verified set holds 37 errors among 275 checked candidates; a ranking by
    # confident learning should find many of them in its first 50
    assert hits >= 9


def _verified(mturk) -> set[int]:
    """Items at least 3 of 5 workers marked 'guessed' or 'neither' (the data README)."""
    return {int(m["id"]) for m in mturk if m["mturk"]["guessed"] + m["mturk"]["neither"] >= 3}
