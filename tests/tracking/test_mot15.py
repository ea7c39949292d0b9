"""Recovery of known tracks on real data: MOT15 ground truth with the ids removed."""

from __future__ import annotations

import pytest

from assay.io import read_mot
from assay.tracking import associate, identity_purity

pytestmark = pytest.mark.shared_data


@pytest.mark.parametrize("sequence", ["TUD-Campus", "PETS09-S2L1"])
def test_identity_purity_on_mot15_ground_truth(shared_data, sequence):
    gt = read_mot(shared_data / "mot15" / sequence / "gt.txt", kind="gt")
    linked = associate(gt.drop(columns="track"))
    assigned, truth = linked["track"].to_numpy(), gt["track"].to_numpy()
    # Tracks do not jump between people...
    assert identity_purity(assigned, truth) >= 0.95
    # ...and not by cutting every person into many short tracks either.
    assert identity_purity(truth, assigned) >= 0.9
