"""Helpers shared by the benchmark scripts: machine description and docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"


def shared_data() -> Path:
    d = Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not d.is_dir():
        sys.exit(f"this benchmark needs the real data in {d}")
    return d


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import duckdb
    import numpy
    import pandas
    import pyarrow

    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy "
        f"{numpy.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, "
        f"duckdb {duckdb.__version__}; load average {os.getloadavg()[0]:.1f} when it ran "
        f"(other work on the machine slows wall-clock figures)"
    )


def write_section(key: str, body: str) -> None:
    """Replace (or append) the section between ``<!-- key -->`` markers in docs/benchmarks.md."""
    DOCS.parent.mkdir(exist_ok=True)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text)


def section_key(ap: argparse.ArgumentParser, args: argparse.Namespace, prefix: str,
                skip: set[str]) -> str:
    """``<prefix>-main``, or ``<prefix>-`` and the arguments not in ``skip`` that differ from
    their defaults (``select-budget-4000-methods-supg++-assay``): the docs/benchmarks.md
    section a run with ``--write`` replaces."""
    parts = []
    for name, value in sorted(vars(args).items()):
        if name in skip or value == ap.get_default(name):
            continue
        shown = "-".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', '-')}-{shown}")
    return f"{prefix}-" + ("-".join(parts) if parts else "main")


class tee_to_docs:
    """Print as usual, and when ``enabled``, also record everything printed in
    docs/benchmarks.md under ``key``, headed by ``title`` and the command that ran."""

    def __init__(self, key: str, title: str, enabled: bool) -> None:
        self.key, self.title, self.enabled = key, title, enabled

    def __enter__(self):
        import io

        self._buf = io.StringIO()
        self._stdout = sys.stdout
        if self.enabled:
            outer = self

            class _Tee:
                def write(self, s):
                    outer._stdout.write(s)
                    outer._buf.write(s)

                def flush(self):
                    outer._stdout.flush()

            sys.stdout = _Tee()
        return self

    def __exit__(self, *exc) -> None:
        sys.stdout = self._stdout
        if self.enabled and exc[0] is None:
            script = Path(sys.argv[0]).resolve()
            try:
                script = script.relative_to(REPO)
            except ValueError:
                pass
            command = " ".join(["python", script.as_posix(), *sys.argv[1:]])
            body = (f"## {self.title}\n\n`{command}` (machine: {machine()})\n\n"
                    + self._buf.getvalue().strip() + "\n")
            write_section(self.key, body)
