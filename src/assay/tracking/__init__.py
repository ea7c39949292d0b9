"""Tracks: link observations frame to frame, and measure how well tracks follow objects.

- :func:`associate` fills the ``track`` column of an observations table (IoU with each
  open track's predicted box, Hungarian matching, class-aware, per stream).
- :func:`identity_purity` scores assigned track ids against true ones.

Examples
--------
>>> import pandas as pd
>>> from assay.tables import as_observations
>>> from assay.tracking import associate, identity_purity
>>> obs = as_observations(pd.DataFrame({
...     "frame": [0, 1, 2], "cls": "car", "x1": [0.0, 1, 2], "y1": 0.0,
...     "x2": [10.0, 11, 12], "y2": 10.0}), stream="cam", source="model:yolo", fps=30)
>>> associate(obs)["track"].tolist()
[0, 0, 0]
"""

from __future__ import annotations

from .associate import associate
from .metrics import identity_purity

__all__ = ["associate", "identity_purity"]
