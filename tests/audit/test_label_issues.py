"""find_label_issues on small exact cases and on the CIFAR-10 release data."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from assay.audit import find_label_issues
from assay.audit.classification import confident_joint
from assay.exceptions import AssayWarning, InvalidParameterError


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


def test_probabilities_off_by_1e5_are_clipped_renormalised_and_reported():
    clean = np.array([[0.9, 0.1], [0.8, 0.2], [0.15, 0.85], [0.1, 0.9], [1.0, 0.0], [0.3, 0.7]])
    y = np.array([0, 0, 1, 1, 1, 0])
    off = clean.copy()
    off[4] = [1.0 + 1e-5, -1e-5]  # outside [0, 1] by 1e-5, sums to 1
    off[0] = [0.9 + 1e-5, 0.1]  # sums to 1 + 1e-5
    off[2] = [0.15, 0.85 - 1e-5]  # sums to 1 - 1e-5
    given = off.copy()
    with pytest.warns(AssayWarning) as record:
        issues = find_label_issues(off, y)
    assert len(record) == 1 and record[0].filename == __file__
    text = str(record[0].message)
    assert "1 row with values outside [0, 1] (by up to 1e-05) clipped" in text
    assert "2 rows not summing to 1 (by up to 1e-05) renormalised" in text  # row 4 sums to 1 once clipped
    assert np.array_equal(off, given)  # the caller's array is not touched
    expected = find_label_issues(clean, y)
    assert issues["obs_ids"].tolist() == expected["obs_ids"].tolist() == [[4], [5]]
    assert issues["severity"].to_numpy() == pytest.approx(expected["severity"].to_numpy(), abs=1e-4)
    with pytest.raises(InvalidParameterError, match=r"within tolerance=1e-06. Got \[1.00001, -1e-05\] in row 4"):
        find_label_issues(off, y, tolerance=1e-6)


def test_float32_rounding_is_not_reported():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 10)).astype(np.float32)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # float32 softmax
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        find_label_issues(p.astype(np.float64), rng.integers(0, 10, 200))


def test_probabilities_far_off_are_an_error():
    y = np.array([0, 1])
    with pytest.raises(InvalidParameterError, match=r"in \[0, 1\] .* within tolerance=0.001. Got \[1.2, -0.2\] in row 1"):
        find_label_issues(np.array([[0.5, 0.5], [1.2, -0.2]]), y)
    with pytest.raises(InvalidParameterError, match=r"rows that sum to 1, within tolerance=0.001. Row 0 sums to 1.1"):
        find_label_issues(np.array([[0.6, 0.5], [0.5, 0.5]]), y)
    with pytest.raises(InvalidParameterError, match=r"finite probabilities. Got \[nan, 0.5\] in row 1"):
        find_label_issues(np.array([[0.5, 0.5], [np.nan, 0.5]]), y)
    with pytest.raises(InvalidParameterError, match="'tolerance' parameter"):
        find_label_issues(np.full((2, 2), 0.5), y, tolerance=-1.0)


def test_cleanlab_argument_order_is_read_as_meant():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.15, 0.85], [0.1, 0.9], [0.95, 0.05]])
    y = [0, 0, 1, 1, 1]
    ours = find_label_issues(p, y)
    for issues in (find_label_issues(y, p),  # cleanlab's positional order
                   find_label_issues(labels=y, pred_probs=p),
                   find_label_issues(pred_probs=p, labels=y)):
        assert issues["obs_ids"].tolist() == ours["obs_ids"].tolist() == [[4]]
        assert issues["evidence"].tolist() == ours["evidence"].tolist()
    assert confident_joint(y, p)[0].tolist() == confident_joint(p, y)[0].tolist()
    with pytest.raises(TypeError, match="multiple values for argument 'pred_probs'"):
        find_label_issues(y, pred_probs=p)  # Python's own error: one argument given twice
