"""assay: monitor deployed models, audit labels, choose what to label, and answer analytics
queries over model outputs with statistical guarantees."""

from __future__ import annotations

from . import approx, assertions, audit, curate, exceptions, geometry, io, learned, tables, tracking
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
    "exceptions",
    "geometry",
    "io",
    "learned",
    "tables",
    "tracking",
    "validate",
]
