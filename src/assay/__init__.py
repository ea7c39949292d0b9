"""assay: monitor deployed models, audit labels, choose what to label, and answer analytics
queries over model outputs with statistical guarantees.

The subpackages and the names below are loaded on first use (PEP 562), so ``import assay``
and the ``assay`` command start without importing numpy, pandas, pyarrow, DuckDB or SciPy;
``assay.Workspace``, ``assay.io.read_mot`` and ``from assay import check`` work as usual.
``assay.report(workspace, "report.html")`` writes the HTML report (the package
``assay.report`` is callable as its function).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time these load on first use
    from . import (
        approx,
        assertions,
        audit,
        curate,
        engine,
        exceptions,
        geometry,
        io,
        learned,
        report,
        tables,
        tracking,
    )
    from . import store as store  # not in __all__, but assay.store has always worked
    from .approx import sql
    from .assertions import check
    from .exceptions import AssayError
    from .store import Workspace
    from .tables import as_observations, as_records, validate

__version__ = "0.1.0"

__all__ = [
    "AssayError",
    "Workspace",
    "__version__",
    "approx",
    "assertions",
    "as_observations",
    "as_records",
    "audit",
    "check",
    "curate",
    "engine",
    "exceptions",
    "geometry",
    "io",
    "learned",
    "report",
    "sql",
    "tables",
    "tracking",
    "validate",
]

#: Subpackages loaded on first attribute access (``store`` too: ``import assay`` used to
#: load it, so ``assay.store.Workspace`` keeps working).
_SUBMODULES = frozenset({
    "approx", "assertions", "audit", "curate", "engine", "exceptions", "geometry", "io", "learned",
    "report", "store", "tables", "tracking",
})
#: Public name -> the module that defines it.
_NAMES = {
    "AssayError": "exceptions",
    "Workspace": "store",
    "check": "assertions",
    "as_observations": "tables",
    "as_records": "tables",
    "validate": "tables",
    "sql": "approx",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    # the public names, loaded or not (not this module's helpers such as importlib)
    return sorted({*__all__, *_SUBMODULES})
