"""The simulation harness: same initial frames per seed, determinism, learning-curve tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import Flicker
from assay.curate import ERROR_ORACLE, SimulationResult, simulate
from assay.exceptions import InvalidParameterError

FRAMES = pd.DataFrame({"stream": "cam", "frame": np.arange(1, 41)})
# isolated boxes at every 4th frame: each one flickers
PREDS = assay.as_observations(pd.DataFrame({
    "frame": np.arange(2, 41, 4), "cls": "car", "x1": np.arange(10) * 50.0, "y1": 0.0,
    "x2": np.arange(10) * 50.0 + 20, "y2": 20.0, "score": np.linspace(0.5, 0.95, 10)}),
    stream="cam", source="model", fps=1)
TRUTH = assay.as_observations(pd.DataFrame({"frame": np.arange(1, 41), "cls": "car"}),
                              stream="cam", source="labels", fps=1)
USEFUL = set(PREDS["frame"].tolist())


def retrain(labeled, revealed, rng):
    # the revealed truth is exactly the labeled frames' rows
    assert sorted(revealed["frame"]) == sorted(labeled["frame"])
    return frozenset(labeled["frame"].tolist())


def predict(model):
    return PREDS.loc[~PREDS["frame"].isin(model)]


def evaluate(model):
    return len(model & USEFUL) / len(USEFUL)


def run(truth=TRUTH, **kw):
    args = dict(frames=FRAMES, retrain=retrain, predict=predict, evaluate=evaluate, assertions=[Flicker()],
                rounds=3, budget=3, initial=2, seeds=[0, 1])
    args.update(kw)
    return simulate(truth, **args)


@pytest.fixture(scope="module")
def result():
    return run()


def test_curves_and_determinism(result):
    a = result
    b = run(strategies=["bal"], seeds=[1])
    pd.testing.assert_frame_equal(
        a.curves.query("strategy == 'bal' and seed == 1").drop(columns="seconds").reset_index(drop=True),
        b.curves.drop(columns="seconds"))
    c = a.curves
    assert len(c) == 4 * 2 * 4
    assert c.groupby(["strategy", "seed"])["labels"].apply(list).map(lambda v: v == [2, 5, 8, 11]).all()
    # every strategy of a seed starts from the same initial frames, hence the same round-0 model
    r0 = c.loc[c["round"] == 0].pivot(index="seed", columns="strategy", values="quality")
    assert (r0.nunique(axis=1) == 1).all()
    s = a.summary()
    assert list(s.columns) == ["strategy", "round", "labels", "mean", "std", "min", "max", "seeds", "firings"]
    # the assertion strategies label the flagged (useful) frames: they learn fastest here
    last = s.loc[s["round"] == 3].set_index("strategy")["mean"]
    assert last["bal"] == last["assertions-uniform"] > last["random"]
    assert last["bal"] == pytest.approx(min(1.0, (3 * 3 + 0) / 10), abs=0.21)
    # firings drop as flagged frames get labeled
    bal = s.loc[s["strategy"] == "bal", "firings"].to_numpy()
    assert np.all(np.diff(bal) < 0)


def test_labels_to_reach(result):
    r = result
    reach = r.labels_to_reach(0.5).set_index("strategy")
    assert reach.loc["bal", "labels"] < reach.loc["random", "labels"] or np.isnan(reach.loc["random", "labels"])
    assert reach.loc["bal", "seeds_reaching"] == 2
    never = r.labels_to_reach(2.0)
    assert never["labels"].isna().all() and (never["seeds_reaching"] == 0).all()


def test_plot_writes_a_file(tmp_path):
    pytest.importorskip("matplotlib")
    r = SimulationResult(pd.DataFrame({"strategy": "bal", "seed": 0, "round": [0, 1], "labels": [1, 2],
                                       "quality": [0.1, 0.2], "firings": 0, "seconds": 0.0}),
                         ("bal",), (0,), 1, 1, 1)
    r.plot(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_bad_arguments():
    with pytest.raises(InvalidParameterError, match="strategies"):
        run(strategies=["bandit"])
    with pytest.raises(InvalidParameterError, match="pool has 40"):
        run(budget=20)
    one = run(seeds=1, strategies=["random"], rounds=1)
    assert isinstance(one, SimulationResult) and one.seeds == (0,)


# ground truth with boxes: the predictions are right, and every 8th frame (3, 11, ...) has a
# box the model missed
BOXED_TRUTH = assay.as_observations(pd.concat([
    PREDS[["frame", "cls", "x1", "y1", "x2", "y2"]],
    pd.DataFrame({"frame": np.arange(3, 41, 8), "cls": "car", "x1": 500.0, "y1": 0.0, "x2": 520.0, "y2": 20.0}),
], ignore_index=True), stream="cam", source="labels", fps=1)


def test_error_oracle_and_labeled_variants():
    r = run(strategies={"random": {"strategy": "random"}, "oracle": {"strategy": ERROR_ORACLE},
                        "bal-ucb": {"strategy": "bal", "policy": "ucb"},
                        "bal+arms": {"strategy": "bal", "extra_arms": ["random"]}},
            truth=BOXED_TRUTH, initial=0, retrain=lambda labeled, revealed, rng: frozenset(labeled["frame"]))
    assert r.strategies == ("random", "oracle", "bal-ucb", "bal+arms")
    assert r.params["strategies"]["bal-ucb"] == {"strategy": "bal", "policy": "ucb"}
    c = r.curves
    assert list(c.columns) == ["strategy", "seed", "round", "labels", "boxes", "quality", "firings",
                               "picked_errors", "picked_streams", "seconds"]
    # the cost in boxes: the truth rows of the labeled frames; the oracle's first 3 frames
    # each hold one (missed) box
    assert (c.loc[c["round"] == 0, "boxes"] == 0).all()
    assert (c.loc[(c["strategy"] == "oracle") & (c["round"] == 1), "boxes"] == 3).all()
    assert (c.groupby(["strategy", "seed"])["boxes"].diff().dropna() >= 0).all()
    # the oracle queues the frames with a missed box: one error each; random mostly finds none
    first = c.loc[c["round"] == 0].set_index(["strategy", "seed"])["picked_errors"]
    assert (first.loc["oracle"] == 1.0).all()
    assert (first.loc["oracle"] > first.loc["random"]).all()
    # nothing is picked after the last round
    assert c.loc[c["round"] == 3, "picked_errors"].isna().all()


def test_error_oracle_needs_boxes_and_labels_need_known_strategies():
    with pytest.raises(InvalidParameterError, match="x1, y1, x2, y2"):
        run(strategies=[ERROR_ORACLE])
    with pytest.raises(InvalidParameterError, match="strategies"):
        run(strategies={"x": {"strategy": "bandit"}})
    with pytest.raises(InvalidParameterError, match="strategies"):
        run(strategies={"x": {"strategy": "bal", "gamma": 2}})
    with pytest.raises(InvalidParameterError, match="extra_arms"):
        run(strategies={"x": {"strategy": "bal", "extra_arms": ["oracle"]}})


def test_a_model_that_predicts_nothing_still_gets_frames_from_the_assertion_strategies():
    # no predictions -> no findings: BAL and assertions-uniform fill with random pool frames
    r = run(predict=lambda model: PREDS.iloc[:0], strategies=["bal", "assertions-uniform"], rounds=2)
    c = r.curves
    assert (c["firings"] == 0).all()
    assert c.groupby(["strategy", "seed"])["labels"].apply(list).map(lambda v: v == [2, 5, 8]).all()
