"""Built-in real data: MOTChallenge sequences shipped inside the ``motmetrics`` wheel.

TUD-Campus and TUD-Stadtmitte (MOT15 train set, CC BY-NC-SA 3.0): human ground-truth tracks
(``gt``) and a real tracker's output (``tracker``). The files are located through the
installed distribution's metadata; the ``motmetrics`` package itself is never imported.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from ..exceptions import DataFileNotFoundError, MissingDependencyError

DEMO_SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
DEMO_FPS = {"TUD-Campus": 25.0, "TUD-Stadtmitte": 25.0}
_FILES = {"gt": "gt.txt", "tracker": "test.txt"}


def demo_path(sequence: str = "TUD-Campus", kind: str = "gt") -> Path:
    """Path of a built-in real MOT file: ``kind`` is ``"gt"`` or ``"tracker"``.

    Examples
    --------
    >>> from assay.io import demo_path
    >>> demo_path("TUD-Stadtmitte", "tracker").name
    'test.txt'
    """
    if sequence not in DEMO_SEQUENCES:
        raise DataFileNotFoundError(f"no built-in sequence {sequence!r}; have {DEMO_SEQUENCES}.")
    if kind not in _FILES:
        raise DataFileNotFoundError(f"no built-in file kind {kind!r}; have {tuple(_FILES)}.")
    try:
        dist = metadata.distribution("motmetrics")
    except metadata.PackageNotFoundError:
        raise MissingDependencyError(
            "the built-in demo data comes with the 'motmetrics' package: pip install motmetrics"
        ) from None
    path = Path(str(dist.locate_file(f"motmetrics/data/{sequence}/{_FILES[kind]}")))
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: the installed motmetrics has no such data file.")
    return path
