"""Label quality: objects the labelers missed, implausible tracks, and label errors in
classification data. Every function returns a findings table (the same table as
assertions), so results share storage, reports and export.

- :func:`find_missing_labels`: model tracks (or boxes) that no label covers, ranked by
  Fixy, by confidence or at random.
- :func:`find_unlikely_tracks`: model or label tracks a learned prior finds implausible.
- :func:`find_label_issues`: classification labels that out-of-sample predicted
  probabilities confidently disagree with.
"""

from __future__ import annotations

from .classification import find_label_issues
from .missing import find_missing_labels
from .unlikely import find_unlikely_tracks

__all__ = ["find_label_issues", "find_missing_labels", "find_unlikely_tracks"]
