"""Fixtures of the engine tests: real observations (MOT15, KITTI) and a real two-node Ray
cluster on this machine.

The cluster is two ``ray start --block`` processes (a head and a worker node, one CPU each),
each in a session of its own so a test can kill a whole node (its raylet, object store and
workers) with one signal to its process group. It runs with token authentication (Ray 2.60's
default) on a token made for it and handed to the nodes and to this driver through
``RAY_AUTH_TOKEN``, so it neither reads nor writes ~/.ray/auth_token; its temp dir is its own.
Both nodes are stopped when the session ends, also after a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _engine_helpers: importable here and on the cluster's workers


def _import_ray():
    """Ray, or a skip outside CI (in CI the 'test' extra installs it: a missing Ray fails)."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("needs Ray (pip install -e '.[test]' installs it)")
    return ray


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


class Cluster:
    """A head and a worker node started by ``ray start``; :meth:`kill_worker` kills the worker."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="assay-ray-", dir="/tmp")  # short: Ray's socket paths
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.token = uuid.uuid4().hex
        self.env = dict(
            os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0",
            # a lost node is noticed within about two seconds
            RAY_health_check_period_ms="500", RAY_health_check_failure_threshold="3",
            RAY_health_check_timeout_ms="1000", RAY_health_check_initial_delay_ms="1000",
            ASSAY_TEST_DIR=self.tmp,
            PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        )
        self.env.pop("RAY_AUTH_TOKEN_PATH", None)
        self.env.pop("RAY_ADDRESS", None)
        self.procs: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None

    def _ray(self) -> str:
        return str(Path(sys.executable).with_name("ray"))

    def _start(self, args: list[str], log: str) -> subprocess.Popen:
        p = subprocess.Popen(
            [self._ray(), "start", "--block", "--num-cpus=1", "--disable-usage-stats",
             "--node-ip-address=127.0.0.1", "--object-store-memory=150000000", *args],
            env=self.env, start_new_session=True, stdout=open(Path(self.tmp) / log, "w"),
            stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def start(self) -> None:
        self._start(["--head", f"--port={self.port}", f"--temp-dir={self.tmp}",
                     "--include-dashboard=false"], "head.log")
        self.start_worker()

    def start_worker(self) -> None:
        self.worker = self._start([f"--address={self.address}"], f"worker-{len(self.procs)}.log")

    def connect(self, ray) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        self.wait_nodes(ray, 2)

    def wait_nodes(self, ray, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(x["Alive"] for x in ray.nodes()) != n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not reach {n} live nodes: {ray.nodes()}")
            time.sleep(0.25)

    def kill_worker(self) -> None:
        """Kill the worker node as a lost machine dies: every process of it at once (its
        session, and Ray's worker processes, which the raylet starts in sessions of their own)."""
        assert self.worker is not None
        tree = _descendants(self.worker.pid)
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()

    def stop(self) -> None:
        """Stop both nodes: SIGTERM (Ray cleans up), then SIGKILL to whatever is left."""
        tree = [pid for p in self.procs for pid in _descendants(p.pid)]
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _forget_cached_token() -> None:
    """Make Ray read the token again (it caches it, and Ray may have been imported before)."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config
    except ImportError:  # another Ray version: it reads the environment when it connects
        return
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@pytest.fixture(scope="session")
def ray_cluster():
    """A live two-node cluster, this process connected to it as the driver."""
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
    cluster = Cluster()
    # the driver's token: Ray reads these when it is imported and when it connects
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=cluster.token)
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    try:
        ray = _import_ray()
        _forget_cached_token()
        cluster.start()
        cluster.connect(ray)
        yield cluster
    finally:
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            sys.modules["ray"].shutdown()
        cluster.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def real_observations(shared_data):
    """The observation tables of the shared data, by name: MOT15 detections and ground
    truth (6 sequences), KITTI tracking labels and PointRCNN detections (10 sequences)."""
    from assay.io import read_kitti_detections, read_kitti_tracking, read_mot

    return {
        "mot15-det": read_mot(shared_data / "mot15", kind="det"),
        "mot15-gt": read_mot(shared_data / "mot15", kind="gt"),
        "kitti-labels": read_kitti_tracking(shared_data / "kitti" / "label_02"),
        "kitti-pointrcnn": read_kitti_detections(shared_data / "kitti" / "pointrcnn"),
    }
