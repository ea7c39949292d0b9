"""Engines: where per-stream work runs, and how observations are read a group of streams at a time.

``engine="local"`` (the default) runs in this process; given a Parquet dataset or a workspace
table it reads one group of streams after another, so tables larger than memory fit.
``engine="ray"`` runs the groups as tasks of a Ray cluster (``pip install 'assay[ray]'``) and
gives the same results. :class:`RayOracle` runs a Python oracle (a model) as Ray actors.
See docs/cluster.md.
"""

from __future__ import annotations

from .engines import Engine, LocalEngine, RayEngine, get_engine
from .oracle import RayOracle
from .streams import Streams, as_streams

__all__ = ["Engine", "LocalEngine", "RayEngine", "RayOracle", "Streams", "as_streams", "get_engine"]
