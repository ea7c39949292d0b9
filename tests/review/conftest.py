"""Workspaces and a server process for the review tests: the demo workspace (built-in real
MOT15 data: a check run with findings) with a label audit, a curation round and a records
table of the frames, built once and copied for each test."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from assay.cli import cli


def run(*args) -> str:
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> Path:
    import assay
    from assay.approx import frame_counts

    path = tmp_path_factory.mktemp("review-demo") / "demo.duckdb"
    run("demo", "-w", path)
    run("audit", "-w", path, "--predictions", "tracker", "--labels", "labels")
    run("curate", "-w", path, "-o", "tracker", "--budget", "10")
    with assay.Workspace(path) as ws:
        rec = frame_counts(boxes=ws.read("tracker"))
        rec["proxy"] = rec["boxes"] / rec["boxes"].max()
        ws.add("frames", rec[["id", "stream", "frame", "proxy"]], kind="records")
    return path


@pytest.fixture
def ws_path(demo_workspace, tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    return path


def write_png(path: Path, width: int = 64, height: int = 48, rgb=(90, 120, 160)) -> Path:
    """A small solid-colour PNG (no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


class ServerProcess:
    """``assay review ... --port 0`` in a subprocess, spoken to over HTTP."""

    def __init__(self, *args: object, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assay.cli", "review", *map(str, args), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(s) for s in self.proc.stdout], daemon=True).start()
        self._lines = lines
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    raise AssertionError(f"the server did not start: {self.proc.communicate()[1]}") from None
                continue
            found = re.search(r"(http://\S+/)", line)
            if found:
                self.url = found.group(1)
                break
        page = urllib.request.urlopen(self.url, timeout=30).read().decode()
        self.token = re.search(r'name="assay-token" content="([^"]+)"', page).group(1)

    def call(self, path: str, body: dict | None = None, **params) -> tuple[int, dict]:
        from urllib.parse import urlencode

        url = self.url.rstrip("/") + path + ("?" + urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"X-Assay-Token": self.token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def wait_for(self, predicate, what: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            got = predicate()
            if got:
                return got
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited before {what}: {self.proc.communicate()[1]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> str:
        """Ctrl-C: returns what the server printed on stderr."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return err


@pytest.fixture
def server_process():
    started: list[ServerProcess] = []

    def start(*args: object) -> ServerProcess:
        s = ServerProcess(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.kill()
