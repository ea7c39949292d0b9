"""The ``assay`` command starts without the heavy libraries, so ``--help`` stays fast.

Checked on the modules a fresh process holds (not on timing, which is flaky): ``import
assay.cli``, ``assay --help``, ``assay --version`` and every command's ``--help`` must not
import numpy, pandas, pyarrow, DuckDB, SciPy, shapely or the web app's libraries (``assay review``). A command that needs one imports it
inside its function (see ``assay/cli/_main.py``); ``benchmarks/bench_cli_startup.py`` times it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "pyarrow", "duckdb", "scipy", "shapely", "starlette", "uvicorn", "jinja2")

# prints, when the process ends (after click's sys.exit), the heavy modules it imported
_REPORT = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules)))\n"
)


def heavy_modules(code: str) -> list[str]:
    """The heavy modules a fresh interpreter running ``code`` imported."""
    proc = subprocess.run([sys.executable, "-c", _REPORT + code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = [s for s in proc.stdout.splitlines() if s.startswith("HEAVY=")][-1]
    return [m for m in line[len("HEAVY="):].split(",") if m]


def test_import_cli_is_light():
    assert heavy_modules("import assay.cli") == []


def test_import_assay_is_light_and_names_load_on_use():
    assert heavy_modules("import assay; assert 'Workspace' in dir(assay)") == []
    assert "pandas" in heavy_modules("import assay; assay.io.read_mot")
    assert "duckdb" in heavy_modules("from assay import Workspace")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["query", "--help"], ["info", "--help"]])
def test_console_script_is_light(args):
    # what the `assay` console script runs
    code = f"sys.argv = ['assay', *{args!r}]\nfrom assay.cli import main\nmain()\n"
    assert heavy_modules(code) == []


def test_every_command_help_is_light():
    # walks the command tree, so a command added later is covered without editing this test
    code = (
        "import click\n"
        "from assay.cli import cli\n"
        "def paths(cmd, prefix):\n"
        "    yield prefix\n"
        "    for name, sub in getattr(cmd, 'commands', {}).items():\n"
        "        yield from paths(sub, [*prefix, name])\n"
        "seen = 0\n"
        "for path in paths(cli, []):\n"
        "    try:\n"
        "        cli.main([*path, '--help'], prog_name='assay')\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (path, e.code)\n"
        "    seen += 1\n"
        "assert seen >= 10, seen\n"
    )
    assert heavy_modules(code) == []


def test_every_public_name_loads_without_side_effects():
    # `import assay` is lazy, so test_public_api's side-effect check alone no longer loads the
    # subpackages: load every public name, then check rule 9 (no global seed, no logging
    # handler; numpy and scipy add warning filters of their own, so those are not compared)
    code = (
        "import logging, numpy as np\n"
        "before = np.random.get_state()[1][:3].tolist()\n"
        "import assay\n"
        "for name in assay.__all__: getattr(assay, name)\n"
        "assert np.random.get_state()[1][:3].tolist() == before\n"
        "assert not logging.getLogger().handlers\n"
    )
    assert set(heavy_modules(code)) >= {"numpy", "pandas", "duckdb"}
