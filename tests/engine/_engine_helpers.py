"""Helpers of the engine tests, importable by the Ray cluster's workers too (the cluster's
PYTHONPATH holds this folder): the assertions each real table is checked with, a Parquet
writer, a slow assertion that says which node runs it, and an oracle that logs every record
it answers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from assay.assertions import Flicker


def assertions_for(name: str):
    """Every built-in that applies to the table: the video ones, and the 3-D ones on KITTI."""
    from assay.assertions.registry import resolve

    return resolve("builtin:video,builtin:3d" if name.startswith("kitti") else "builtin:video")


def to_parquet_by_stream(obs: pd.DataFrame, folder: Path) -> Path:
    """The table as a Parquet dataset partitioned by stream (``stream=NAME/...``)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    ds.write_dataset(pa.Table.from_pandas(obs, preserve_index=False), folder, format="parquet",
                     partitioning=["stream"], partitioning_flavor="hive")
    return folder


class SlowFlicker(Flicker):
    """Flicker (same name, same findings) that takes ``seconds`` per group of streams and
    leaves a file named after the node running it in ``$ASSAY_TEST_DIR/nodes``."""

    name = "flicker"

    def __init__(self, seconds: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def run(self, observations, *, info=None):
        import ray

        marks = Path(os.environ["ASSAY_TEST_DIR"]) / "nodes"
        marks.mkdir(exist_ok=True)
        (marks / f"{ray.get_runtime_context().get_node_id()}-{os.getpid()}").touch()
        time.sleep(self.seconds)
        return super().run(observations, info=info)


def counted_people(rows: pd.DataFrame) -> np.ndarray:
    """An oracle: the ``people`` column, slowly (0.05 s a record). When a call starts, a file
    named after its node and first id appears in ``$ASSAY_TEST_DIR/calls``; when it has
    answered, its ids are appended to ``$ASSAY_ORACLE_LOG`` (default
    ``$ASSAY_TEST_DIR/oracle.log``): what the oracle was paid for."""
    test_dir = os.environ.get("ASSAY_TEST_DIR")
    if test_dir and "ray" in __import__("sys").modules:
        import ray

        if ray.is_initialized():
            calls = Path(test_dir) / "calls"
            calls.mkdir(exist_ok=True)
            (calls / f"{ray.get_runtime_context().get_node_id()}-{rows['id'].iloc[0]}").touch()
    began = time.time()
    time.sleep(0.05 * len(rows))
    values = rows["people"].to_numpy(dtype=np.float64)
    log = os.environ.get("ASSAY_ORACLE_LOG") or os.path.join(test_dir or ".", "oracle.log")
    with open(log, "a") as f:
        f.write("".join(f"{i}\n" for i in rows["id"].tolist()))
    if test_dir:
        with open(os.path.join(test_dir, "events.log"), "a") as f:
            f.write(f"{os.getpid()} {rows['id'].iloc[0]} {began:.3f} {time.time():.3f}\n")
    return values


def cli_check_runs(path: Path, table: str, *options: list[str]) -> list[pd.DataFrame]:
    """``assay check`` of a workspace table once per list of extra options: each run's
    stored findings, without their run ids."""
    import json

    from click.testing import CliRunner

    from assay.cli import cli
    from assay.store import Workspace

    runs = []
    for extra in options:
        r = CliRunner().invoke(cli, ["check", "-w", str(path), "-o", table, "-a", "builtin:video",
                                     "--json", *extra], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        runs.append(json.loads(r.output)["run_id"])
    with Workspace(path) as ws:
        return [ws.findings(run).drop(columns="run_id") for run in runs]
