"""Ranking strategies: BAL's rule on hand-made findings, empty arms, budgets past the pool,
uncertainty and round-robin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.curate import GAP_RELAXED, bal_rewards, flagged_frames, rank_frames
from assay.exceptions import InvalidParameterError


def findings(rows):
    """Findings from (assertion, frame, severity, obs_ids) tuples on stream 'cam'."""
    return pd.DataFrame({
        "assertion": [r[0] for r in rows], "stream": "cam",
        "frame_start": [r[1] for r in rows], "frame_end": [r[1] for r in rows],
        "obs_ids": [list(r[3]) for r in rows], "severity": [float(r[2]) for r in rows],
    })


POOL = pd.DataFrame({"stream": "cam", "frame": np.arange(1, 31)})

# three arms: flicker fires at 1, 2, 3; appear at 10, 11; multibox at 20
ROUND0 = findings([
    ("flicker", 1, 0.9, [1]), ("flicker", 2, 0.5, [2]), ("flicker", 3, 0.1, [3]),
    ("appear", 10, 2.0, [10]), ("appear", 11, 1.0, [11]), ("multibox", 20, 3.0, [20, 21, 22]),
])


def replay(found: pd.DataFrame, rewards: dict[str, float], epsilon: float, budget: int,
           seed, min_gap: int = 3) -> list[tuple[str, int, str]]:
    """An independent implementation of the documented BAL rule (one stream), to compare with."""
    rng = np.random.default_rng(seed)
    flagged = flagged_frames(found)
    # one tie key per flagged frame, in the order of flagged_frames; then severity, key
    tie = rng.random(len(flagged))
    rows = sorted(zip(flagged["arm"], flagged["frame"], flagged["severity"], tie, strict=True),
                  key=lambda r: (r[0], -r[2], r[3]))
    pending: dict[str, list[int]] = {}
    for arm, frame, _, _ in rows:
        pending.setdefault(arm, []).append(int(frame))
    taken: list[int] = []
    picked = []
    while len(picked) < budget:
        for a in pending:
            pending[a] = [f for f in pending[a] if f not in taken]
        live = sorted(a for a in pending if pending[a])
        if not live:
            break
        improving = [a for a in live if rewards.get(a, 0.0) > 0]
        if not improving:
            arm, why = live[int(rng.integers(len(live)))], "bal:uniform"
        elif rng.random() < epsilon:
            arm, why = live[int(rng.integers(len(live)))], "bal:explore"
        else:
            best = max(rewards[a] for a in improving)
            tied = [a for a in improving if rewards[a] == best]
            arm = tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]
            why = "bal:exploit"
        far = [f for f in pending[arm] if all(abs(f - g) >= min_gap for g in taken)]
        frame = far[0] if far else pending[arm][0]
        taken.append(frame)
        picked.append((arm, frame, why + ("" if far else GAP_RELAXED)))
    return picked


def as_tuples(q: pd.DataFrame) -> list[tuple[str, int, str]]:
    return list(zip(q["arm"].astype(str), q["frame"].astype(int), q["reason"].astype(str), strict=True))


def test_flagged_frames_groups_by_arm_and_middle_frame():
    f = findings([("gap", 4, 0.3, [1, 2]), ("gap", 4, 0.7, [2, 5])])
    f.loc[0, "frame_end"] = 6  # frames 4..6: labeled at 5
    got = flagged_frames(f)
    assert got[["arm", "frame", "severity", "findings"]].values.tolist() == [["gap", 4, 0.7, 1], ["gap", 5, 0.3, 1]]
    assert got["obs_ids"].tolist() == [[2, 5], [1, 2]]


def test_rewards_known_values():
    before = {"flicker": 3, "appear": 2, "multibox": 1}
    after = {"flicker": 2, "appear": 3}
    assert bal_rewards(before, after) == pytest.approx({"appear": -0.5, "flicker": 1 / 3, "multibox": 1.0})
    assert bal_rewards(before, after, kind="absolute") == {"appear": -1.0, "flicker": 1.0, "multibox": 1.0}
    assert bal_rewards({}, {"new": 4}) == {"new": 0.0}


def test_first_round_draws_arms_uniformly_most_severe_first():
    q = rank_frames(None, ROUND0, strategy="bal", budget=4, fill=False, seed=7)
    assert as_tuples(q) == replay(ROUND0, {}, 0.1, 4, 7)
    assert {r.removesuffix(GAP_RELAXED) for r in q["reason"]} == {"bal:uniform"}
    # within each arm, frames come most severe first
    for _, part in q.groupby("arm"):
        assert part["priority"].is_monotonic_decreasing


def test_known_rewards_give_known_choices():
    # after retraining flicker fires less (reward 1/3), appear more (-0.5); multibox, the best
    # reward, no longer fires at all, so it is an empty arm and cannot be chosen
    round1 = findings([("flicker", 2, 0.5, [2]), ("flicker", 3, 0.1, [3]), ("flicker", 5, 0.4, [5]),
                       ("appear", 10, 2.0, [10]), ("appear", 11, 1.0, [11]), ("appear", 12, 1.0, [12])])
    rewards = bal_rewards({"flicker": 3, "appear": 2, "multibox": 1}, {"flicker": 2, "appear": 3})
    greedy = rank_frames(None, round1, strategy="bal", budget=3, rewards=rewards, epsilon=0.0, fill=False, seed=0)
    # frame 3 lies within min_gap=3 of frame 2: taken only because flicker has nothing else
    assert as_tuples(greedy) == [("flicker", 2, "bal:exploit"), ("flicker", 5, "bal:exploit"),
                                 ("flicker", 3, "bal:exploit" + GAP_RELAXED)]
    # with exploration, the fixed seed fixes which slots explore
    q = rank_frames(None, round1, strategy="bal", budget=5, rewards=rewards, epsilon=0.5, fill=False, seed=3)
    expect = replay(round1, rewards, 0.5, 5, 3)
    assert as_tuples(q) == expect
    assert {"bal:explore", "bal:exploit"} <= {e[2] for e in expect}  # the seed exercises both


def test_no_improving_arm_falls_back_to_uniform():
    q = rank_frames(None, ROUND0, strategy="bal", budget=6, rewards={"flicker": -1.0, "appear": 0.0},
                    epsilon=0.0, fill=False, seed=1)
    assert {r.removesuffix(GAP_RELAXED) for r in q["reason"]} == {"bal:uniform"}
    assert sorted(q["frame"]) == [1, 2, 3, 10, 11, 20]


def test_empty_arms_are_skipped():
    # every flicker frame is already labeled: flicker has the best reward but nothing to give
    done = pd.DataFrame({"stream": "cam", "frame": [1, 2, 3]})
    q = rank_frames(None, ROUND0, strategy="bal", budget=2, rewards={"flicker": 5.0, "appear": 1.0},
                    epsilon=0.0, exclude=done, fill=False, seed=0)
    assert as_tuples(q) == [("appear", 10, "bal:exploit"), ("appear", 11, "bal:exploit" + GAP_RELAXED)]
    # no findings at all: nothing flagged, the budget goes to the fill (or nowhere)
    empty = ROUND0.iloc[:0]
    assert len(rank_frames(None, empty, strategy="bal", budget=5, fill=False)) == 0
    filled = rank_frames(None, empty, strategy="bal", budget=5, frames=POOL, seed=0)
    assert len(filled) == 5 and set(filled["reason"]) == {"fill"} and filled["arm"].isna().all()


def test_a_frame_flagged_by_two_arms_is_queued_once():
    f = findings([("flicker", 4, 1.0, [1]), ("appear", 4, 1.0, [2]), ("appear", 6, 0.5, [3])])
    q = rank_frames(None, f, strategy="bal", budget=10, fill=False, seed=0)
    assert sorted(q["frame"]) == [4, 6]
    q = rank_frames(None, f, strategy="assertions-uniform", budget=10, fill=False)
    assert sorted(q["frame"]) == [4, 6]


@pytest.mark.parametrize("strategy", ["bal", "assertions-uniform"])
def test_budget_larger_than_flagged_pool(strategy):
    q = rank_frames(None, ROUND0, strategy=strategy, budget=50, fill=False, seed=0)
    assert sorted(q["frame"]) == [1, 2, 3, 10, 11, 20]
    q = rank_frames(None, ROUND0, strategy=strategy, budget=50, frames=POOL, seed=0)
    assert len(q) == 30 and not q.duplicated(["stream", "frame"]).any()
    assert q["rank"].tolist() == list(range(30))
    # 30 frames cannot all lie 3 apart: the fill relaxes the gap once the pool runs out
    assert q["reason"].str.startswith("fill").sum() == 24
    # flagged frames come before the fill
    assert (~q["reason"].iloc[:6].str.startswith("fill")).all()


def test_round_robin_order():
    q = rank_frames(None, ROUND0, strategy="assertions-uniform", budget=6, fill=False)
    relaxed = "round-robin" + GAP_RELAXED  # 11 is next to 10, 2 and 3 next to 1
    assert as_tuples(q) == [("appear", 10, "round-robin"), ("flicker", 1, "round-robin"),
                            ("multibox", 20, "round-robin"), ("appear", 11, relaxed),
                            ("flicker", 2, relaxed), ("flicker", 3, relaxed)]
    q = rank_frames(None, ROUND0, strategy="assertions-uniform", budget=6, fill=False, min_gap=0)
    assert set(q["reason"]) == {"round-robin"}


def _scored():
    return pd.DataFrame({"stream": "cam", "frame": [1, 1, 2, 3, 3, 3], "obs_id": range(6),
                         "score": [0.95, 0.6, 0.5, 0.8, 0.8, 0.8]})


@pytest.mark.parametrize("method", ["least_confidence", "margin", "entropy"])
def test_uncertainty_max_ranks_the_least_sure_box(method):
    q = rank_frames(_scored(), strategy="uncertainty", method=method, budget=3)
    assert q["frame"].tolist() == [2, 1, 3]
    assert q["priority"].is_monotonic_decreasing


def test_uncertainty_sum_and_values():
    q = rank_frames(_scored(), strategy="uncertainty", aggregate="sum", budget=3)
    assert q["frame"].tolist() == [3, 2, 1]
    assert q["priority"].tolist() == pytest.approx([0.6, 0.5, 0.45])
    ent = rank_frames(_scored(), strategy="uncertainty", method="entropy", budget=1)
    assert ent["priority"].iloc[0] == pytest.approx(1.0)  # p = 0.5 is one bit


def test_random_is_seeded_and_respects_exclusions():
    a = rank_frames(None, strategy="random", frames=POOL, budget=10, seed=4)
    b = rank_frames(None, strategy="random", frames=POOL, budget=10, seed=4)
    assert a.equals(b)
    c = rank_frames(None, strategy="random", frames=POOL, budget=100, exclude=a, seed=4)
    assert len(c) == 20 and not set(c["frame"]) & set(a["frame"])


def test_errors_name_the_argument():
    with pytest.raises(InvalidParameterError, match="'budget' parameter of rank_frames"):
        rank_frames(None, ROUND0, budget=-1)
    with pytest.raises(InvalidParameterError, match="needs findings"):
        rank_frames(POOL, None, strategy="bal")
    with pytest.raises(InvalidParameterError, match="needs the pool"):
        rank_frames(None, ROUND0, strategy="bal", fill=True)
    with pytest.raises(InvalidParameterError, match="'score' column"):
        rank_frames(POOL, strategy="uncertainty")
