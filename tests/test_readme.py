"""The README runs as written: its `bash` lines (one-line `assay` commands) and its `python`
snippets, in the order they appear, from the repository root with ../shared/data beside it,
against one workspace; then the examples of every command's --help, in the same place."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from assay.cli import cli

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def readme_steps(doc: str = "README.md") -> list[tuple[str, str]]:
    """``("bash", line)`` for each command line and ``("python", code)`` for each snippet."""
    steps = []
    for lang, body in FENCE.findall((REPO / doc).read_text()):
        if lang == "bash":
            for line in body.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    steps.append(("bash", line))
        elif lang == "python":
            steps.append(("python", body))
    return steps


def help_examples() -> list[str]:
    """The ``assay ...`` lines under "Example(s):" in every command's help, tree order."""
    found = []

    def walk(command: click.Command) -> None:
        lines = (command.help or "").splitlines()
        inside = False
        for line in lines:
            text = line.strip()
            if text.startswith("Example"):
                inside = True
            elif inside and text.startswith("assay "):
                found.append(text)
            elif inside and text and not text.startswith("assay "):
                inside = False
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                walk(command.commands[name])

    walk(cli)
    return found


def run_line(line: str, cwd: Path) -> subprocess.CompletedProcess:
    args = shlex.split(line, comments=True)
    assert args[0] == "assay", f"a README bash line must be an assay command: {line}"
    return subprocess.run([sys.executable, "-m", "assay.cli", *args[1:]], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "160"})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, shared_data):
    """A folder standing for the repository root, with ../shared/data beside it."""
    root = tmp_path_factory.mktemp("readme")
    (root / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    repo = root / "repo"
    repo.mkdir()
    return repo


def test_readme_lists_real_steps():
    steps = readme_steps()
    kinds = [k for k, _ in steps]
    assert kinds.count("bash") >= 15 and kinds.count("python") >= 8
    walkthrough = [line for kind, line in steps if kind == "bash"][:4]
    assert [w.split()[1] for w in walkthrough] == ["ingest", "check", "findings", "curate"]


def test_readme_runs_as_written(sandbox):
    for i, (kind, text) in enumerate(readme_steps()):
        if kind == "bash":
            proc = run_line(text, sandbox)
        else:
            script = sandbox / f"snippet_{i}.py"
            script.write_text(text)
            proc = subprocess.run([sys.executable, script.name], cwd=sandbox, capture_output=True,
                                  text=True, timeout=300)
        assert proc.returncode == 0, f"README step {i} ({kind}) failed:\n{text}\n{proc.stdout}\n{proc.stderr}"
    # the walkthrough left what it says it leaves
    for name in ("assay.duckdb", "findings.csv", "queue.json", "queue.labelstudio.xml",
                 "verdicts.json", "queue-round1.xml", "queue-round0/queue.csv"):
        assert (sandbox / name).exists(), name


def test_help_examples_run_as_written(sandbox):
    if not (sandbox / "assay.duckdb").exists():
        pytest.skip("runs after the README, in its workspace")
    examples = help_examples()
    assert len(examples) >= 15
    for line in examples:
        proc = run_line(line, sandbox)
        assert proc.returncode == 0, f"help example failed: {line}\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.shared_data
def test_sql_doc_runs_as_written(tmp_path):
    """docs/sql.md's `bash` lines run as written (its `sh` and `sql` blocks are illustrations)."""
    steps = readme_steps("docs/sql.md")
    assert len(steps) >= 3
    for kind, line in steps:
        assert kind == "bash"
        proc = run_line(line, tmp_path)
        assert proc.returncode == 0, f"docs/sql.md line failed: {line}\n{proc.stdout}\n{proc.stderr}"
    assert "estimate" in proc.stdout and "finite-sample guarantee" in proc.stdout

