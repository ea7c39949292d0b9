"""engine="ray" on a real two-node cluster (see conftest.py): the same findings as the local
engine on every shared MOT15 and KITTI table, from a DataFrame and from a Parquet dataset
read by the workers; a worker node killed mid-job changes nothing, and no oracle answer is
paid twice."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from _engine_helpers import (
    SlowFlicker,
    assertions_for,
    cli_check_runs,
    counted_people,
    to_parquet_by_stream,
)

from assay.approx import FunctionOracle, aggregate, frame_counts
from assay.assertions import Flicker, check
from assay.engine import RayOracle
from assay.store import Workspace

pytestmark = [pytest.mark.shared_data, pytest.mark.timeout(300)]

TABLES = ["mot15-det", "mot15-gt", "kitti-labels", "kitti-pointrcnn"]


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs.get("notes") == b.attrs.get("notes")


@pytest.mark.parametrize("name", TABLES)
def test_ray_finds_what_local_finds(name, real_observations, ray_cluster, tmp_path):
    obs = real_observations[name]
    local = check(obs, assertions_for(name))
    same(local, check(obs, assertions_for(name), engine="ray", address=ray_cluster.address))
    folder = to_parquet_by_stream(obs, tmp_path / "obs")
    same(local, check(folder, assertions_for(name), engine="ray", rows_per_group=3000))


def _worker_node(ray) -> str:
    me = ray.get_runtime_context().get_node_id()
    others = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != me]
    assert len(others) == 1, ray.nodes()
    return others[0]


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _in_thread(fn):
    """Start ``fn`` in a thread; the returned function waits for it and gives its value."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result():
        t.join(timeout=240)
        assert not t.is_alive(), "the job did not finish"
        if "error" in out:
            raise out["error"]
        return out["value"]

    return result


def _restart_worker(cluster, ray) -> None:
    cluster.wait_nodes(ray, 1)
    cluster.start_worker()
    cluster.wait_nodes(ray, 2)


def test_check_survives_losing_a_worker_node(real_observations, ray_cluster, tmp_path):
    import ray

    name = "kitti-labels"
    obs = real_observations[name]
    others = [a for a in assertions_for(name) if a.name != "flicker"]
    local = check(obs, [Flicker(), *others])
    folder = to_parquet_by_stream(obs, tmp_path / "obs")
    worker = _worker_node(ray)
    marks = Path(ray_cluster.tmp) / "nodes"
    result = _in_thread(lambda: check(folder, [SlowFlicker(seconds=0.4), *others], engine="ray",
                                      rows_per_group=1))
    _wait_for(lambda: marks.is_dir() and any(p.name.startswith(worker) for p in marks.iterdir()),
              "a group running on the worker node")
    ray_cluster.kill_worker()
    same(local, result())
    _restart_worker(ray_cluster, ray)


def test_a_ray_oracle_survives_losing_a_worker_node_and_pays_once(
        real_observations, ray_cluster, tmp_path, monkeypatch):
    import ray

    records = frame_counts(people=real_observations["mot15-gt"],
                           detections=real_observations["mot15-det"])
    query = dict(proxy="detections", stat="mean", budget=48, seed=3, batch_size=24, range=(0, 60),
                 name="frames")
    # the local engine, its own workspace and log
    monkeypatch.setenv("ASSAY_ORACLE_LOG", str(tmp_path / "local.log"))
    local = aggregate(records, oracle=FunctionOracle(counted_people, fields=["people"]),
                      workspace=Workspace(), **query)
    monkeypatch.delenv("ASSAY_ORACLE_LOG")

    log = Path(ray_cluster.tmp) / "oracle.log"
    ws = Workspace(tmp_path / "ws.duckdb")
    oracle = RayOracle(counted_people, actors=2, num_cpus=0.25, batch_size=6, fields=["people"])
    assert oracle.identity("x") == FunctionOracle(counted_people).identity("x")
    worker = _worker_node(ray)
    calls = Path(ray_cluster.tmp) / "calls"
    result = _in_thread(lambda: aggregate(records, oracle=oracle, workspace=ws, **query))
    # kill the worker node while its actor is answering a batch, after some answers are stored
    _wait_for(lambda: log.exists() and len(log.read_text().split()) >= 6
              and calls.is_dir() and len([p for p in calls.iterdir() if p.name.startswith(worker)]) >= 2,
              "a second batch on the worker node")
    ray_cluster.kill_worker()
    got = result()
    for field in ("estimate", "lower", "upper", "oracle_calls", "labels_paid", "stopped"):
        assert getattr(got, field) == getattr(local, field), field
    paid = collections.Counter(log.read_text().split())
    assert len(paid) == got.labels_paid
    assert max(paid.values()) == 1, (
        "an answer was paid twice; calls (pid, first id, start, end):\n"
        + (Path(ray_cluster.tmp) / "events.log").read_text())
    # a rerun finds every answer in the workspace: nothing is paid again
    before = log.read_text()
    again = aggregate(records, oracle=oracle, workspace=ws, **query)
    assert again.estimate == got.estimate and log.read_text() == before
    oracle.shutdown()
    _restart_worker(ray_cluster, ray)


@pytest.mark.parametrize("source", ["mot15-gt", "kitti-labels"])
def test_ray_links_and_counts_what_local_does(source, real_observations, ray_cluster):
    from assay.tracking import associate

    obs = real_observations[source].assign(track=pd.NA)
    local = associate(obs, iou=0.3)
    pd.testing.assert_frame_equal(local, associate(obs, iou=0.3, engine="ray"))
    other = real_observations["mot15-det" if source == "mot15-gt" else "kitti-pointrcnn"]
    every = pd.concat([obs, other])[["stream", "frame"]].drop_duplicates()
    for frames in (None, every):
        args = () if frames is None else (frames,)
        pd.testing.assert_frame_equal(frame_counts(*args, labels=obs, model=other),
                                      frame_counts(*args, labels=obs, model=other, engine="ray"))


def test_cli_check_on_ray_stores_the_same_findings(real_observations, ray_cluster, tmp_path):
    import ray

    ray.shutdown()  # --address connects anew (with the token in the environment)
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.add("gt", real_observations["mot15-gt"])
    a, b = cli_check_runs(path, "gt", [], ["--engine", "ray", "--address", ray_cluster.address])
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0
    assert ray.is_initialized() and len(ray.nodes()) >= 2


@pytest.mark.parametrize("data", ["kitti"])  # MOT15: the missing-labels test below
def test_ray_finds_the_unlikely_tracks_local_finds(data, real_observations, ray_cluster):
    from assay.audit import find_unlikely_tracks
    from assay.learned import DensityPrior

    if data == "mot15":
        labels, pred = real_observations["mot15-gt"], real_observations["mot15-det"]
        prior, options = DensityPrior(["area", "aspect", "speed", "duration"]), {}
    else:
        labels, pred = real_observations["kitti-labels"], real_observations["kitti-pointrcnn"]
        prior, options = DensityPrior(), {"box": "bev"}
    train = sorted(labels["stream"].unique())[::2]
    prior.fit(labels[labels["stream"].isin(train)])
    audited = pred[~pred["stream"].isin(train)]
    local = find_unlikely_tracks(audited, prior, **options)
    same(local, find_unlikely_tracks(audited, prior, engine="ray", **options))


@pytest.mark.parametrize("data", ["mot15"])  # KITTI: the unlikely-tracks test above
def test_ray_finds_the_missing_labels_local_finds(data, real_observations, ray_cluster):
    from assay.audit import find_missing_labels

    if data == "mot15":
        labels, pred, options = real_observations["mot15-gt"], real_observations["mot15-det"], {}
    else:
        labels, pred = real_observations["kitti-labels"], real_observations["kitti-pointrcnn"]
        options = {"box": "bev"}
    # a fifth of the label tracks removed: what fixy should find
    keep = labels["track"].to_numpy() % 5 != 0
    audited = labels[keep]
    local = find_missing_labels(pred, audited, **options)
    found = find_missing_labels(pred, audited, engine="ray", **options)
    same(local, found)
    assert found.attrs["candidates"] == local.attrs["candidates"]
