"""The ``assay`` command: a thin layer over the Python API."""

from __future__ import annotations

from ._main import cli, main

__all__ = ["cli", "main"]
