"""identity_purity: exact values and errors."""

from __future__ import annotations

import numpy as np
import pytest

from assay.exceptions import InvalidParameterError
from assay.tracking import identity_purity


@pytest.mark.parametrize(
    ("assigned", "truth", "expected"),
    [
        ([1, 1, 2, 2], [5, 5, 6, 6], 1.0),
        ([1, 1, 1, 1], [5, 5, 6, 6], 0.5),  # one track over two people
        ([1, 2, 3, 4], [5, 5, 6, 6], 1.0),  # fragmentation is pure...
        ([1, 1, 1, 2, 2], [7, 7, 8, 8, 8], 0.8),
        (["a", "a", "b"], ["x", "y", "y"], 2 / 3),  # tie in track a: counted once
        ([], [], 1.0),
    ],
)
def test_exact_values(assigned, truth, expected):
    assert identity_purity(assigned, truth) == pytest.approx(expected)


def test_swapped_roles_measure_fragmentation():
    assert identity_purity([5, 5, 6, 6], [1, 2, 3, 4]) == 0.5  # ...but not complete


def test_label_values_do_not_matter():
    rng = np.random.default_rng(0)
    a, t = rng.integers(0, 5, 200), rng.integers(0, 4, 200)
    assert identity_purity(a, t) == identity_purity(a * 10 + 3, t.astype(str))


def test_errors():
    with pytest.raises(InvalidParameterError, match="same length. Got 2 and 1"):
        identity_purity([1, 2], [1])
    with pytest.raises(InvalidParameterError, match="must not hold missing values"):
        identity_purity([1.0, np.nan], [1, 2])
