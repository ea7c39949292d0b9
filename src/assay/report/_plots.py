"""Plots as inline SVG (matplotlib's SVG backend, text kept as text), safe to put many on one
page: every element id is made unique to its plot.

matplotlib is the ``report`` extra; it is imported when the first plot is drawn.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import MissingDependencyError
from ._html import Markup, esc

__all__ = ["PALETTE", "Plotter", "colors_for", "mpl_text"]

#: Line colours, assigned to names in a fixed order (an assertion keeps its colour across plots).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#d62728")

_RC = {
    "svg.fonttype": "none",      # text as <text>: small files, crisp, searchable
    "svg.hashsalt": "assay",     # the same workspace gives the same SVG
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],  # written on every text element
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "lines.markersize": 3.5,
}
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
#: matplotlib's document-wide stroke style (the page's CSS holds it once, for plots only)
_STYLE = re.compile(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", re.S)
_GROUP_ID = re.compile(r'<g id="[^"]+"')
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(href="#|url\(#)')


def mpl_text(value: Any) -> str:
    """Text from data for a matplotlib label: ``$`` would start mathtext (and a bad formula
    fails the whole plot), so it is escaped."""
    return str(value).replace("\\", "\\\\").replace("$", r"\$")


def colors_for(names: Sequence[Any]) -> dict[Any, str]:
    """A colour per name, in the order given (cycling after ten)."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


class Plotter:
    """Draws figures into SVG strings, numbering them so their ids never collide."""

    def __init__(self) -> None:
        self.count = 0
        self._figure: Any = None
        self._rc: Any = None

    def _load(self) -> None:
        if self._figure is not None:
            return
        try:
            import matplotlib
            from matplotlib.figure import Figure
        except ImportError:
            raise MissingDependencyError(
                "assay.report draws its plots with matplotlib; install it with "
                "pip install 'assay[report]'.") from None
        self._figure, self._rc = Figure, matplotlib.rc_context

    def svg(self, draw: Callable[[Any, Any], None], *, label: str, size: tuple[float, float] = (6.4, 3.0),
            grid: tuple[int, int] = (1, 1), sharex: bool = False) -> Markup:
        """Call ``draw(figure, axes)`` (``axes`` a 2-D array of ``grid`` shape) and return the
        figure as an ``<svg class="plot">`` element labelled ``label`` for screen readers."""
        self._load()
        self.count += 1
        prefix = f"p{self.count}-"
        buf = io.StringIO()
        with self._rc(_RC), warnings.catch_warnings():
            # names from data may hold characters the default font lacks: the browser
            # draws the text (svg.fonttype none), so matplotlib's glyph warning is moot
            warnings.simplefilter("ignore", UserWarning)
            fig = self._figure(figsize=size, layout="constrained")
            axes = fig.subplots(*grid, squeeze=False, sharex=sharex)
            draw(fig, axes)
            fig.savefig(buf, format="svg", metadata={"Date": None})
        text = buf.getvalue()
        text = _METADATA.sub("", text[text.index("<svg"):], count=1)
        text = _GROUP_ID.sub("<g", _STYLE.sub("", text, count=1))  # groups are never referenced
        text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
        text = _REF.sub(lambda m: m.group(1) + prefix, text)
        text = text.replace("<svg ", f'<svg class="plot" role="img" aria-label="{esc(label)}" ', 1)
        return Markup(text)
