"""``assay curate --export`` killed with SIGKILL: a round is never recorded without its export,
and the run after a kill queues what an uninterrupted run would.

Why the export is renamed into place *before* the round is committed: the opposite order has a
window (after the commit, before the rename) in which a kill leaves a recorded round whose
files were never written, and since a campaign never queues a frame twice, those frames would
never reach a reviewer -- the bug this order fixes. With rename-before-commit, the only window
(after the rename, before the commit) leaves export files and no recorded round; the next run
draws round t again from ``default_rng([seed, t])`` on the same inputs, queues the same frames
and writes the same bytes over them. So a file left by a killed run is either part of a
recorded round or identical to what the rerun writes: harmless either way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from assay import Workspace
from assay.cli._curate import curate
from assay.curate import Campaign

TARGETS = {"labelstudio": "q.json", "mot": "q"}
# the last file each export renames into place
LAST = {"labelstudio": "q.labelstudio.xml", "mot": "queue.csv"}
KILLS = 10
BUDGET = 40


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A workspace holding the built-in tracker output; each run checks assertions itself."""
    from assay.cli._demo import load_demo

    path = tmp_path_factory.mktemp("kill") / "base.duckdb"
    with Workspace(path) as ws:
        ws.add("tracker", load_demo()[1])
    return path


def args(fmt: str) -> list[str]:
    size = ["--image-size", "640x480"] if fmt != "mot" else []
    return ["-w", "w.duckdb", "-b", str(BUDGET), "-a", "builtin:flicker,builtin:gap,builtin:multibox",
            "--export", fmt, TARGETS[fmt], *size]


def trial(tmp_path, base, name):
    d = tmp_path / name
    d.mkdir()
    shutil.copy(base, d / "w.duckdb")
    return d


def export_files(d) -> tuple[dict[str, bytes], list[str]]:
    """The export's files in a trial folder, and any staged temporary files a kill left."""
    files, temps = {}, []
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).as_posix()
        if p.name.startswith(".assay-") and p.name.endswith(".tmp"):
            temps.append(rel)
        elif p.is_file() and not p.name.startswith("w.duckdb"):
            files[rel] = p.read_bytes()
    return files, temps


def state(d):
    with Workspace(d / "w.duckdb") as ws:  # opened for writing: DuckDB replays its log
        camp = Campaign(ws)
        rounds = camp.round
        queue = camp.queue()[["round", "rank", "stream", "frame"]]
        runs = ws.runs()
    return rounds, queue, runs


def rerun(d, fmt):
    cwd = os.getcwd()
    os.chdir(d)
    try:
        r = CliRunner().invoke(curate, args(fmt), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0, r.output


def check_after_kill(d, fmt, ref_files, ref_queue):
    """Either the round is recorded with its whole export, or it is not recorded at all (files
    already renamed into place being those the rerun writes); then the rerun matches."""
    rounds, queue, runs = state(d)
    was_recorded = rounds == 1
    files, temps = export_files(d)
    assert all(t.rsplit("/", 1)[-1].startswith(".assay-") for t in temps)
    if rounds == 1:
        assert files == ref_files
        assert queue.equals(ref_queue)
        assert (runs["status"] == "ok").all()
    else:  # not even the assertions' run, which is part of the round
        assert rounds == 0 and queue.empty and runs.empty
        for name, data in files.items():  # an orphan of a kill after its rename: the rerun's bytes
            assert ref_files.get(name) == data, name
        rerun(d, fmt)
        rounds, queue, _ = state(d)
        assert rounds == 1 and queue.equals(ref_queue)
        assert export_files(d)[0] == ref_files
    return was_recorded


def spawn(d, fmt, before_main=""):
    """``assay curate ARGS`` in a new process, timestamping (wall clock) on stderr when assay is
    imported and when its command is done; ``before_main`` runs first."""
    code = (
        "import sys, time\n" + before_main
        + "from assay.cli import main\n"
        "sys.stderr.write(f'ready {time.time()}\\n')\n"
        "sys.argv[0] = 'assay'\n"
        "sys.argv.insert(1, 'curate')\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    sys.stderr.write(f'done {time.time()}\\n')\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, *args(fmt)], cwd=d, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("fmt", ["labelstudio", "mot"])
def test_sigkill_at_random_points_never_loses_a_round(fmt, base, tmp_path):
    ref = trial(tmp_path, base, "ref")
    start = time.time()
    proc = spawn(ref, fmt)
    _, log = proc.communicate(timeout=60)
    took = time.time() - start
    assert proc.returncode == 0, log
    stamps = {k: float(v) - start for k, v in (line.split() for line in log.splitlines() if line[:5] in ("ready", "done "))}
    ref_files, temps = export_files(ref)
    assert temps == [] and len(ref_files) == {"labelstudio": 2, "mot": 3}[fmt]
    rounds, ref_queue, _ = state(ref)
    assert rounds == 1 and len(ref_queue) == BUDGET
    # Most of the process's life is Python importing assay and exiting, where a kill is
    # trivially safe: so 3 kills fall anywhere in its life, and 7 while assay works (checks
    # the assertions, ranks, exports and commits), as timed on the uninterrupted run.
    rng = np.random.default_rng([2026, len(fmt)])
    delays = np.concatenate([rng.uniform(0, took, 3), rng.uniform(stamps["ready"], stamps["done"], KILLS - 3)])
    recorded = []
    for i, delay in enumerate(delays):
        d = trial(tmp_path, base, f"kill{i}")
        proc = spawn(d, fmt)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.communicate()
        recorded.append(check_after_kill(d, fmt, ref_files, ref_queue))
    # the kills spread over the process's life: some before the commit, possibly some after
    assert not all(recorded), (took, delays)


@pytest.mark.parametrize("fmt", ["labelstudio", "mot"])
def test_sigkill_after_the_rename_before_the_commit(fmt, base, tmp_path):
    """The one window that leaves files without a round: killed right after its last rename."""
    ref = trial(tmp_path, base, "ref")
    rerun(ref, fmt)
    ref_files, _ = export_files(ref)
    _, ref_queue, _ = state(ref)
    d = trial(tmp_path, base, "killed")
    proc = spawn(d, fmt, before_main=(
        "import os, signal\n"
        "real = os.replace\n"
        "def replace(src, dst, *a, **k):\n"
        "    real(src, dst, *a, **k)\n"
        f"    if os.path.basename(dst) == {LAST[fmt]!r}:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "os.replace = replace\n"
    ))
    _, log = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, log
    files, temps = export_files(d)
    assert files == ref_files and temps == []  # every file in place, whole
    assert state(d)[0] == 0  # and the round not recorded
    assert not check_after_kill(d, fmt, ref_files, ref_queue)
