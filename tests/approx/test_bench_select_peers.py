"""Smoke tests of the peer benchmarks: benchmarks/bench_select_peers.py (assay's select beside
BARGAIN) runs on one CIFAR-10 task, bench_aggregate_peers.py (aggregate beside ppi_py) on onto,
and each returns the table the docs record. The full runs are
``python benchmarks/bench_select_peers.py`` and ``python benchmarks/bench_aggregate_peers.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip(
        "BARGAIN", reason="the peer benchmark needs BARGAIN: pip install -e '.[bench]'")
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_select_peers

    return bench_select_peers


@pytest.mark.shared_data
def test_peer_benchmark_table_on_one_cifar_task(bench, shared_data, monkeypatch):
    monkeypatch.setenv("ASSAY_SHARED_DATA", str(shared_data))
    df = bench.compare(["cifar10-cat"], budgets=[1000], trials=3)
    assert tuple(df.columns) == bench.COLUMNS
    assert sorted(df["method"]) == sorted(bench.METHODS)
    assert (df["trials"] == 3).all() and (df["mean_labels"] <= 1000).all()
    success = df.set_index("method").loc["assay", "success"]
    assert isinstance(success, (float, np.floating)) and 0.0 <= success <= 1.0
    for col in ("mean_precision", "median_precision", "precision_at_1_minus_delta"):
        assert df[col].between(0.0, 1.0).all()
    assert bench.summary_table(df, 0.9).count("| cifar10-cat | 1000 |") == 1


@pytest.mark.shared_data
def test_aggregate_peer_benchmark_table(shared_data, monkeypatch):
    pytest.importorskip(
        "ppi_py", reason="the aggregate peer benchmark needs ppi_py: pip install -e '.[bench]'")
    monkeypatch.setenv("ASSAY_SHARED_DATA", str(shared_data))
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_aggregate_peers as bench

    df = bench.compare(["onto"], budgets=[250], trials=3)
    assert tuple(df.columns) == bench.COLUMNS
    assert (df["mean_labels"] == 250).all()
    assert df["coverage"].between(0.0, 1.0).all()
