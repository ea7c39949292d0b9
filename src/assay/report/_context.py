"""What every section of the report reads from: the workspace, the runs, the options, the
plotter, and frames drawn with their images."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..exceptions import AssayError
from ..io import FrameImages, data_uri
from ._html import Markup, el
from ._plots import Plotter
from .draw import draw_finding, finding_window

__all__ = ["FINDINGS", "Context", "Section", "count_note", "ident", "muted", "parse_json"]

#: The findings table every run of assay writes to.
FINDINGS = "findings"
#: Width in pixels an embedded frame image is shrunk to (twice the drawn width: sharp on
#: high-density screens, a few tens of kB each).
IMAGE_WIDTH = 720


def ident(name: str) -> str:
    """A table name as a DuckDB identifier (names may hold ``.`` and ``-``)."""
    return '"' + name.replace('"', '""') + '"'


def parse_json(text: Any) -> dict[str, Any]:
    """A findings row's JSON column as a dict (empty when missing or not an object)."""
    if isinstance(text, Mapping):
        return dict(text)
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Section:
    """One part of the page: its anchor ``id``, its heading and its body."""

    id: str
    title: str
    body: Markup
    #: Short facts for the page's overview (``("findings", 7276)``).
    facts: tuple[tuple[str, Any], ...] = ()


@dataclass
class Context:
    """The workspace and options a report is built from."""

    ws: Any
    top: int
    images: FrameImages | None
    threshold: float | dict[str, float] | None
    plots: Plotter = field(default_factory=Plotter)
    _runs: pd.DataFrame | None = None
    _tables: pd.DataFrame | None = None
    _uris: dict[str, str | None] = field(default_factory=dict)

    @property
    def runs(self) -> pd.DataFrame:
        """Every run, oldest first (read once)."""
        if self._runs is None:
            self._runs = self.ws.runs()
        return self._runs

    def runs_of(self, *kinds: str) -> pd.DataFrame:
        """Runs of these kinds, oldest first."""
        return self.runs.loc[self.runs["kind"].isin(kinds).to_numpy()].reset_index(drop=True)

    @property
    def tables(self) -> pd.DataFrame:
        if self._tables is None:
            self._tables = self.ws.tables()
        return self._tables

    def has_table(self, name: str) -> bool:
        return bool((self.tables["name"].str.lower() == name.lower()).any())

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.ws.sql(query, params)

    def has_findings(self) -> bool:
        return self.has_table(FINDINGS)

    @property
    def finding_order(self) -> str:
        """``ORDER BY`` terms for the findings table: highest priority first
        (:func:`assay.assertions.priority.order_by`)."""
        from ..assertions.priority import order_by

        return order_by(self.sql(f"SELECT * FROM {FINDINGS} LIMIT 0").columns)

    # ------------------------------------------------------------------ frames

    def image_href(self, stream: str, frame: int, file_name: str | None = None) -> str | None:
        """The frame's picture as a ``data:`` URI (shrunk), or None without one."""
        if self.images is None:
            return None
        path = self.images.path(stream, frame, file_name=file_name)
        if path is None:
            return None
        key = str(path)
        if key not in self._uris:
            self._uris[key] = _shrunk_uri(path)
        return self._uris[key]

    def draw(self, table: str | None, finding: Mapping[str, Any], *, max_frames: int = 3,
             width: int = 300) -> Markup:
        """A finding's frames drawn from ``table`` (SVG), or a note saying why they are not."""
        if not table:
            return el("p", "frames not drawn: the run does not name its observations table",
                      class_="muted")
        if pd.isna(finding.get("stream")) or pd.isna(finding.get("frame_start")):
            return Markup("")
        try:
            window, size = finding_window(self.ws, table, finding)
        except AssayError:
            return el("p", f"frames not drawn: the workspace no longer holds table {table!r} "
                           "(or it has no stream and frame columns)", class_="muted")
        names = window["file_name"] if "file_name" in window.columns else None

        def href(stream: str, frame: int) -> str | None:
            file_name = None
            if names is not None:
                here = names[(window["frame"] == frame).to_numpy()].dropna()
                file_name = str(here.iloc[0]) if len(here) else None
            return self.image_href(stream, frame, file_name)

        svgs = draw_finding(window, finding, size=size, image_href=href, max_frames=max_frames,
                            width=width)
        return el("div", [Markup(s) for s in svgs], class_="frames")


def _shrunk_uri(path: Any) -> str | None:
    """A JPEG ``data:`` URI of the image at most :data:`IMAGE_WIDTH` wide (Pillow), else the
    file as it is; None when it cannot be read."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        try:
            return data_uri(path)
        except OSError:
            return None
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.width > IMAGE_WIDTH:
                im = im.resize((IMAGE_WIDTH, max(1, round(im.height * IMAGE_WIDTH / im.width))))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def muted(text: Any) -> Markup:
    return el("p", text, class_="muted")


def count_note(shown: int, total: int, what: str) -> Markup | None:
    """A note under a list cut to its top items ("showing 20 of 4,145 findings"), else None."""
    if total <= shown:
        return None
    return el("p", f"showing {shown:,} of {total:,} {what}", class_="muted")

