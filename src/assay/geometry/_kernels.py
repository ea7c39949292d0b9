"""Former name of :mod:`assay.geometry.kernels`, kept so that existing imports keep working."""

from __future__ import annotations

from .kernels import *  # noqa: F403
from .kernels import __all__  # noqa: F401
