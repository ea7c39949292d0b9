"""Seeing what assay finds: one self-contained HTML page of a workspace (:func:`report`), and
frames drawn with their boxes (:mod:`assay.report.draw`, shared with the review page).

``assay.report`` is this package and can be called as the function: ``assay.report(ws,
"report.html")`` is ``assay.report.report(ws, "report.html")``.

Examples
--------
>>> import assay
>>> from assay.report import report
>>> html = assay.report(assay.Workspace())  # the package, called
>>> "Nothing to report yet" in html, assay.report.report is report
(True, True)
"""

from __future__ import annotations

import inspect
import sys
import types

from ._context import Section
from .build import report, report_sections, sections_in
from .draw import draw_finding, factor_bars, finding_frames, finding_window, frame_size, frame_svg

__all__ = ["Section", "draw_finding", "factor_bars", "finding_frames", "finding_window",
           "frame_size", "frame_svg", "report", "report_sections", "sections_in"]


class _CallableModule(types.ModuleType):
    """The package, callable as :func:`report` (so ``assay.report(...)`` makes a report while
    ``assay.report.draw`` stays importable)."""

    __call__ = staticmethod(report)


sys.modules[__name__].__class__ = _CallableModule
sys.modules[__name__].__signature__ = inspect.signature(report)  # type: ignore[attr-defined]
