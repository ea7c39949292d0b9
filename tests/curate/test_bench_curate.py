"""A reduced run of the MOT15 active-learning benchmark (benchmarks/bench_curate.py, issue
20): the first 60 frames of each sequence, 2 seeds, 1 round. It checks the read-out's shape
and that the positive control does what it is for: error-oracle's first picks hold more
ground-truth errors than random's (this fails if the oracle or the truth it reads breaks)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_curate.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_curate", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="module")
def reduced(bench, shared_data):
    task, result, _ = bench.experiment(shared_data, seeds=2, rounds=1, budget=10, initial=10, max_frames=60)
    return task, result, bench.readout(result, boot=200)


@pytest.mark.shared_data
def test_the_tables_have_every_strategy_and_round(bench, reduced):
    task, result, ro = reduced
    names = list(bench.STRATEGIES)
    assert list(ro.table["strategy"]) == names and "error-oracle" in names
    assert list(ro.curve.index) == names and list(ro.curve.columns) == ["r0", "r1"]
    # the same initial frames and training seed: one round-0 model for every strategy
    assert ro.curve["r0"].nunique() == 1
    assert len(ro.paired) == (len(names) - 1) * 2
    assert {"diff", "lo", "hi", "mde80", "frames", "saving", "picked_errors"} <= set(ro.table.columns)
    rnd = ro.table.set_index("strategy").loc["random"]
    assert np.isnan(rnd["diff"]) and rnd["final"] == pytest.approx(ro.target)
    # the model's candidates include proposals it can keep, and the pool lies before the test frames
    assert (task.cand["src"] >= 2).any()
    assert (task.frames.groupby("stream")["frame"].max() <= 36).all()
    text = bench.verdict(ro)
    assert "Positive control" in text and "paper's claim" in text


@pytest.mark.shared_data
def test_error_oracle_picks_more_errors_than_random(reduced):
    _, result, _ = reduced
    first = result.curves.query("round == 0").set_index(["strategy", "seed"])["picked_errors"]
    assert (first.loc["error-oracle"] > first.loc["random"]).all()
    assert first.loc["error-oracle"].mean() > 1.5 * first.loc["random"].mean()
