"""Campaign bookkeeping in the workspace: firings -> rewards -> choices, resume after an
interruption, parameters fixed at the first round."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay import Workspace
from assay.curate import FRAME_ORACLE, Campaign, frame_label_ids
from assay.exceptions import InvalidParameterError, WorkspaceError

from .test_strategies import POOL, ROUND0, as_tuples, findings

ROUND1 = findings([("flicker", 2, 0.5, [2]), ("flicker", 5, 0.4, [5]), ("flicker", 6, 0.3, [6]),
                   ("appear", 10, 2.0, [10]), ("appear", 11, 1.0, [11]), ("appear", 12, 1.0, [12])])
ROUND2 = findings([("flicker", 7, 0.5, [7]), ("appear", 13, 1.0, [13]), ("multibox", 25, 2.0, [1, 2, 3])])
ROUNDS = [ROUND0, ROUND1, ROUND2]


def drop_run(q: pd.DataFrame) -> pd.DataFrame:
    return q.drop(columns=["run_id"]).reset_index(drop=True)


def test_hand_made_campaign_bookkeeping():
    ws = Workspace()
    camp = Campaign(ws, "hand", strategy="bal", seed=11, epsilon=0.0, fill=False)
    q0 = camp.next_round(None, ROUND0, budget=2)
    assert set(q0["reason"]) == {"bal:uniform"} and q0["round"].eq(0).all()
    # firings 3 -> 3 flicker, 2 -> 3 appear, 1 -> 0 multibox
    q1 = camp.next_round(None, ROUND1, budget=2)
    r = camp.rounds()
    got = r.loc[r["round"] == 1].set_index("arm")
    assert got["firings"].to_dict() == {"appear": 3, "flicker": 3, "multibox": 0}
    assert got["reward"].to_dict() == pytest.approx({"appear": -0.5, "flicker": 0.0, "multibox": 1.0})
    # no live arm improved (multibox improved but is empty now): uniform fallback
    assert set(q1["reason"]) == {"bal:uniform"}
    assert got["chosen"].sum() == 2
    q2 = camp.next_round(None, ROUND2, budget=3)
    got = camp.rounds().query("round == 2").set_index("arm")
    assert got["reward"].to_dict() == pytest.approx({"appear": 2 / 3, "flicker": 2 / 3, "multibox": 0.0})
    # flicker and appear tie at 2/3 (ties broken by the seeded generator); once both are
    # exhausted, the last live arm has no positive reward: uniform
    assert as_tuples(q2)[2] == ("multibox", 25, "bal:uniform")
    assert sorted(as_tuples(q2)[:2]) == [("appear", 13, "bal:exploit"), ("flicker", 7, "bal:exploit")]
    queued = camp.queue()
    assert len(queued) == 2 + 2 + len(q2)
    assert not queued.duplicated(["stream", "frame"]).any()
    runs = ws.runs()
    assert (runs["kind"] == "curate").sum() == 3 and (runs["status"] == "ok").all()
    assert runs["summary"].iloc[1]["rewards"]["multibox"] == 1.0


def run_rounds(ws: Workspace, rounds, **kw) -> list[pd.DataFrame]:
    camp = Campaign(ws, "c", **kw)
    return [camp.next_round(None, f, budget=3, frames=POOL) for f in rounds]


def test_resume_after_interruption_chooses_what_an_uninterrupted_run_would(tmp_path):
    with Workspace(tmp_path / "a.duckdb") as ws:
        straight = run_rounds(ws, ROUNDS, strategy="bal", seed=5, epsilon=0.3)
    path = tmp_path / "b.duckdb"
    with Workspace(path) as ws:
        first = run_rounds(ws, ROUNDS[:1], strategy="bal", seed=5, epsilon=0.3)
    # the process dies in the middle of storing round 1: nothing of it is kept
    with Workspace(path) as ws:
        camp = Campaign(ws, "c")
        real_add = ws.add

        def dying_add(name, *a, **k):
            if name.endswith(".queue"):
                raise KeyboardInterrupt
            return real_add(name, *a, **k)

        ws.add = dying_add
        with pytest.raises(KeyboardInterrupt):
            camp.next_round(None, ROUND1, budget=3, frames=POOL)
        ws.add = real_add
        assert camp.round == 1 and len(camp.queue()) == 3
        assert (ws.runs()["status"] == "ok").all()
    # reopened (another day, another process): parameters come from the workspace
    with Workspace(path) as ws:
        camp = Campaign(ws, "c")
        assert camp.params["seed"] == 5 and camp.params["epsilon"] == 0.3
        rest = [camp.next_round(None, f, budget=3, frames=POOL) for f in ROUNDS[1:]]
    for a, b in zip(straight, first + rest, strict=True):
        pd.testing.assert_frame_equal(drop_run(a), drop_run(b))


def test_reopening_with_other_parameters_is_an_error():
    ws = Workspace()
    Campaign(ws, "x", strategy="bal", seed=1).next_round(None, ROUND0, budget=1, frames=POOL)
    with pytest.raises(InvalidParameterError, match=r"started with strategy='bal' \(got 'random'\)"):
        Campaign(ws, "x", strategy="random")
    assert Campaign(ws, "x", seed=1).params["strategy"] == "bal"
    with pytest.raises(InvalidParameterError, match="'name' parameter of Campaign"):
        Campaign(ws, "bad name")


def test_labeled_frames_are_never_queued_again():
    ws = Workspace()
    ws.put_labels(FRAME_ORACLE, frame_label_ids(["cam"] * 3, [1, 10, 20]), np.ones(3))
    camp = Campaign(ws, "y", strategy="assertions-uniform", fill=False)
    q = camp.next_round(None, ROUND0, budget=10)
    assert sorted(q["frame"]) == [2, 3, 11]
    assert camp.next_round(None, ROUND0, budget=10).empty
    assert sorted(camp.labeled_frames()["frame"]) == [1, 2, 3, 10, 11, 20]


@pytest.mark.parametrize("strategy", ["random", "uncertainty"])
def test_baseline_campaigns_record_firings(strategy):
    ws = Workspace()
    obs = pd.DataFrame({"stream": "cam", "frame": np.arange(1, 31), "obs_id": np.arange(30),
                        "score": np.linspace(0.05, 0.95, 30)})
    camp = Campaign(ws, "b", strategy=strategy)
    q = camp.next_round(obs, ROUND0, budget=4)
    assert len(q) == 4 and q["arm"].isna().all()
    assert camp.firings() == {"appear": 2, "flicker": 3, "multibox": 1}
    assert camp.rounds()["reward"].isna().all()


def test_rounds_without_findings_are_counted():
    ws = Workspace()
    camp = Campaign(ws, "r", strategy="random")
    q0 = camp.next_round(None, None, budget=5, frames=POOL)
    q1 = camp.next_round(None, None, budget=5, frames=POOL)
    assert camp.round == 2 and camp.rounds().empty
    assert q0["round"].eq(0).all() and q1["round"].eq(1).all()
    assert not set(q0["frame"]) & set(q1["frame"])


def state(ws: Workspace, camp: Campaign):
    return camp.round, len(camp.queue()), len(ws.runs()), ws.tables()["name"].tolist()


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_a_failing_export_records_nothing(error, tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        camp = Campaign(ws, "c", strategy="bal", seed=3, epsilon=0.3)
        camp.next_round(None, ROUND0, budget=3, frames=POOL)
        before = state(ws, camp)
        seen = []

        def export(queue, observations):
            seen.append(queue)
            raise error("the export failed")

        with pytest.raises(error):
            camp.next_round(None, ROUND1, budget=3, frames=POOL, export=export)
        assert state(ws, camp) == before and seen[0]["round"].eq(1).all()
    with Workspace(path) as ws:  # reopened: still nothing of round 1, and it queues the same
        camp = Campaign(ws, "c")
        assert state(ws, camp) == before
        again = camp.next_round(None, ROUND1, budget=3, frames=POOL, export=lambda q, o: {"n": len(q)})
        pd.testing.assert_frame_equal(drop_run(again), drop_run(seen[0]))
        assert ws.runs()["summary"].iloc[-1]["export"] == {"n": 3}


def test_export_round_uses_the_recorded_table():
    ws = Workspace()
    obs = pd.DataFrame({"stream": "cam", "frame": np.arange(1, 31), "obs_id": np.arange(30),
                        "cls": "car", "source": "model", "time": np.arange(30.0),
                        "score": np.linspace(0.05, 0.95, 30)})
    ws.add("preds", obs)
    camp = Campaign(ws, "u", strategy="uncertainty")
    q0 = camp.next_round(ws.read("preds"), ROUND0, budget=4, table="PREDS")
    camp.next_round(obs, None, budget=4)  # no table recorded
    params = camp.round_params(0)
    assert params["observations"] == "preds" and params["round"] == 0 and "observations_created" in params
    back = camp.export_round(0, lambda q, o: (q, o))
    pd.testing.assert_frame_equal(back[0], q0)
    pd.testing.assert_frame_equal(back[1], ws.read("preds"))
    with pytest.raises(InvalidParameterError, match="does not record the observations table"):
        camp.export_round(1, lambda q, o: None)
    assert camp.export_round(1, lambda q, o: len(q), observations=obs) == 4
    with pytest.raises(InvalidParameterError, match=r"stored round of campaign 'u' \(rounds 0 to 1\)\. Got 2"):
        camp.export_round(2, lambda q, o: None)
    with pytest.raises(InvalidParameterError, match="'table' parameter of next_round"):
        camp.next_round(obs, budget=1, table="nope")
    ws.add("preds", obs.iloc[:10], replace=True)
    with pytest.warns(UserWarning, match="'preds' was replaced after round 0"):
        camp.export_round(0, lambda q, o: None)
    ws.delete("preds")
    with pytest.raises(WorkspaceError, match="used the observations table 'preds', which is no longer"):
        camp.export_round(0, lambda q, o: None)


def test_extra_arm_rewards_given_by_the_caller_are_recorded():
    # a simulation passes the extra arms' rewards from ground truth instead of verdicts
    ws = Workspace()
    camp = Campaign(ws, "arms", strategy="bal", seed=3, extra_arms=["random"], epsilon=0.0)
    camp.next_round(None, ROUND0, budget=2, frames=POOL)
    q = camp.next_round(None, ROUND1, budget=3, frames=POOL, arm_rewards={"random": 0.9, "flicker": 5.0})
    got = camp.rounds().query("round == 1").set_index("arm")["reward"]
    # flicker's reward is its drop in firings, not the caller's; random earns the caller's 0.9
    assert got["random"] == pytest.approx(0.9) and got["flicker"] == pytest.approx(0.0)
    assert set(q["arm"]) == {"random"} and set(q["reason"]) == {"bal:exploit"}
