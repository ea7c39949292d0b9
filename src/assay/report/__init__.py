"""Seeing what assay finds: frames drawn with their boxes (:mod:`assay.report.draw`)."""

from __future__ import annotations

from .draw import draw_finding, finding_frames, frame_size, frame_svg

__all__ = ["draw_finding", "finding_frames", "frame_size", "frame_svg"]
