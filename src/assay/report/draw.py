"""Frames drawn as SVG: the boxes of a frame, the finding's boxes picked out, the neighbouring
frames' boxes faded, the track's trail, over the frame's image when there is one.

One drawing path for the HTML report and the review page. Every string that comes from data
(class names, stream names) is escaped; an image is referenced (a URL the page serves, or a
``data:`` URI for a self-contained report), never required: without it the frame is a blank
canvas of the frame's size.

Examples
--------
>>> import pandas as pd
>>> from assay.report.draw import frame_svg
>>> boxes = pd.DataFrame({"obs_id": [1, 2], "cls": ["car", "<b>bus</b>"], "x1": [10.0, 100.0],
...                       "y1": [10.0, 40.0], "x2": [60.0, 180.0], "y2": [50.0, 90.0]})
>>> svg = frame_svg(boxes, size=(640, 480), highlight=[2])
>>> svg.startswith("<svg") and 'data-obs="2"' in svg and "&lt;b&gt;bus" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["draw_finding", "factor_bars", "finding_frames", "finding_window", "frame_size",
           "frame_svg"]

BOX2D = ("x1", "y1", "x2", "y2")
BOX3D = ("x", "y", "l", "w", "yaw")
#: Most frames :func:`draw_finding` draws for one finding (its first and last frames are
#: always among them).
MAX_FRAMES = 3


def _num(v: Any) -> str:
    return f"{float(v):.1f}"


def _has(df: pd.DataFrame, cols: Iterable[str]) -> bool:
    return all(c in df.columns for c in cols) and len(df) > 0 and bool(
        df[list(cols)].notna().all(axis=1).any())


def frame_size(boxes: pd.DataFrame, image_sizes: Mapping[str, Any] | None = None,
               stream: str | None = None) -> tuple[float, float]:
    """The canvas of a frame: the stream's image size when known, else a frame that holds
    every box (at least 640 x 360)."""
    if image_sizes and stream is not None and stream in image_sizes:
        w, h = image_sizes[stream]
        return float(w), float(h)
    if _has(boxes, BOX2D):
        b = boxes[list(BOX2D)].to_numpy(dtype=float)
        w = np.nanmax(b[:, 2]) if len(b) else 640.0
        h = np.nanmax(b[:, 3]) if len(b) else 360.0
        return float(max(640.0, math.ceil(w * 1.05))), float(max(360.0, math.ceil(h * 1.05)))
    return 640.0, 360.0


def _title(row: Mapping[str, Any]) -> str:
    parts = []
    for key in ("cls", "obs_id", "track", "score", "source"):
        v = row.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            continue
        parts.append(f"{key} {v:.3g}" if isinstance(v, float) else f"{key} {v}")
    return escape(", ".join(parts))


def frame_svg(
    boxes: pd.DataFrame,
    *,
    size: tuple[float, float] | None = None,
    highlight: Iterable[int] = (),
    context: pd.DataFrame | None = None,
    trail: pd.DataFrame | None = None,
    image_href: str | None = None,
    caption: str | None = None,
    width: int = 480,
) -> str:
    """One frame as an SVG element.

    Parameters
    ----------
    boxes : pandas.DataFrame
        Observations of the frame: 2-D boxes (``x1 y1 x2 y2``, pixels), or, without them,
        3-D boxes (``x y l w yaw``, metres) drawn from above (bird's-eye view, forward up).
        ``obs_id``, ``cls``, ``score``, ``track`` and ``source`` label each box.
    size : (width, height), optional
        The frame in pixels (default: :func:`frame_size` of the boxes).
    highlight : iterable of int
        ``obs_id`` of the boxes a finding names: drawn in the alert colour.
    context : pandas.DataFrame, optional
        Boxes of the neighbouring frames, drawn faded and dashed (where things were just
        before and after).
    trail : pandas.DataFrame, optional
        Observations of the finding's track over time: the path of its box centres.
    image_href : str, optional
        The frame's picture (a URL or a ``data:`` URI), drawn under the boxes.
    caption : str, optional
        Text under the frame (escaped).
    width : int, default 480
        Width of the drawing on the page, in CSS pixels (the height follows the aspect).

    Returns
    -------
    str
        ``<svg ...>...</svg>``; every box is a ``<rect>`` with ``data-obs`` (its ``obs_id``)
        and a ``<title>`` tooltip; classes ``box``, ``hit`` (highlighted) and ``near``
        (context) style it.
    """
    hit = {int(i) for i in highlight}
    bev = not _has(boxes, BOX2D) and _has(boxes, BOX3D)
    if bev:
        return _bev_svg(boxes, hit=hit, context=context, caption=caption, width=width)
    w, h = size if size is not None else frame_size(boxes)
    height = int(round(width * h / w))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="frame" viewBox="0 0 {_num(w)} '
        f'{_num(h)}" width="{width}" height="{height}" preserveAspectRatio="xMidYMid meet">',
        f'<rect class="canvas" x="0" y="0" width="{_num(w)}" height="{_num(h)}"/>',
    ]
    if image_href:
        parts.append(f'<image href="{escape(image_href)}" x="0" y="0" width="{_num(w)}" '
                     f'height="{_num(h)}" preserveAspectRatio="none"/>')
    stroke = max(w, h) / 400.0
    if context is not None and _has(context, BOX2D):
        for row in context.to_dict("records"):
            parts.append(_rect(row, "box near", stroke * 0.8))
    if trail is not None and _has(trail, BOX2D) and len(trail) > 1:
        t = trail.sort_values("frame") if "frame" in trail.columns else trail
        cx = (t["x1"].to_numpy(float) + t["x2"].to_numpy(float)) / 2
        cy = (t["y1"].to_numpy(float) + t["y2"].to_numpy(float)) / 2
        points = " ".join(f"{_num(x)},{_num(y)}" for x, y in zip(cx, cy, strict=True)
                          if np.isfinite(x) and np.isfinite(y))
        parts.append(f'<polyline class="trail" points="{points}" stroke-width="{_num(stroke)}"/>')
    rows = boxes.to_dict("records") if _has(boxes, BOX2D) else []
    rows.sort(key=lambda r: int(r.get("obs_id", -1)) in hit)  # highlighted ones on top
    for row in rows:
        oid = row.get("obs_id")
        kind = "box hit" if oid is not None and int(oid) in hit else "box"
        parts.append(_rect(row, kind, stroke * (2.0 if "hit" in kind else 1.0)))
    if caption:
        size_text = max(h / 22.0, 10.0)
        parts.append(f'<text class="caption" x="{_num(stroke * 4)}" y="{_num(h - stroke * 4)}" '
                     f'font-size="{_num(size_text)}">{escape(caption)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _rect(row: Mapping[str, Any], kind: str, stroke: float) -> str:
    x1, y1, x2, y2 = (float(row[c]) for c in BOX2D)
    if not all(map(math.isfinite, (x1, y1, x2, y2))):
        return ""
    oid = row.get("obs_id")
    data = f' data-obs="{int(oid)}"' if oid is not None and not pd.isna(oid) else ""
    cls = row.get("cls")
    data += f' data-cls="{escape(str(cls))}"' if cls is not None and cls is not pd.NA else ""
    return (f'<rect class="{kind}"{data} x="{_num(x1)}" y="{_num(y1)}" width="{_num(x2 - x1)}" '
            f'height="{_num(y2 - y1)}" stroke-width="{_num(stroke)}"><title>{_title(row)}</title>'
            "</rect>")


def _bev_svg(boxes: pd.DataFrame, *, hit: set[int], context: pd.DataFrame | None,
             caption: str | None, width: int) -> str:
    """3-D boxes from above: ego x forward (up on the page), y left (left on the page)."""
    every = [boxes] + ([context] if context is not None and _has(context, BOX3D) else [])
    xs = np.concatenate([d["x"].to_numpy(float) for d in every])
    ys = np.concatenate([d["y"].to_numpy(float) for d in every])
    reach = float(np.nanmax(np.abs(np.concatenate([xs, ys])))) + 5.0 if len(xs) else 40.0
    reach = max(reach, 20.0)
    size = 2 * reach
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="frame bev" viewBox="{_num(-reach)} '
        f'{_num(-reach)} {_num(size)} {_num(size)}" width="{width}" height="{width}">',
        f'<rect class="canvas" x="{_num(-reach)}" y="{_num(-reach)}" width="{_num(size)}" '
        f'height="{_num(size)}"/>',
        '<circle class="ego" cx="0" cy="0" r="1.5"/>',
    ]
    stroke = size / 400.0
    for frame, kind in ([(context, "box near")] if context is not None and _has(context, BOX3D) else []) + [
            (boxes, "box")]:
        for row in frame.to_dict("records"):
            oid = row.get("obs_id")
            k = "box hit" if kind == "box" and oid is not None and int(oid) in hit else kind
            parts.append(_bev_polygon(row, k, stroke * (2.0 if "hit" in k else 1.0)))
    if caption:
        parts.append(f'<text class="caption" x="{_num(-reach + 1)}" y="{_num(reach - 1)}" '
                     f'font-size="{_num(size / 25)}">{escape(caption)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bev_polygon(row: Mapping[str, Any], kind: str, stroke: float) -> str:
    x, y, length, w, yaw = (float(row[c]) for c in BOX3D)
    if not all(map(math.isfinite, (x, y, length, w, yaw))):
        return ""
    c, s = math.cos(yaw), math.sin(yaw)
    corners = []
    for dx, dy in ((length / 2, w / 2), (length / 2, -w / 2), (-length / 2, -w / 2), (-length / 2, w / 2)):
        px, py = x + c * dx - s * dy, y + s * dx + c * dy
        corners.append(f"{_num(-py)},{_num(-px)}")  # page right = -y (left is +y), up = +x
    oid = row.get("obs_id")
    data = f' data-obs="{int(oid)}"' if oid is not None and not pd.isna(oid) else ""
    return (f'<polygon class="{kind}"{data} points="{" ".join(corners)}" '
            f'stroke-width="{_num(stroke)}"><title>{_title(row)}</title></polygon>')


def finding_frames(finding: Mapping[str, Any], max_frames: int = MAX_FRAMES) -> list[int]:
    """The frames to draw for a finding: its first and last, and evenly spaced ones between,
    at most ``max_frames``."""
    a, b = int(finding["frame_start"]), int(finding["frame_end"])
    if b - a + 1 <= max_frames:
        return list(range(a, b + 1))
    picks = np.unique(np.round(np.linspace(a, b, max_frames)).astype(int))
    return [int(f) for f in picks]


def draw_finding(
    window: pd.DataFrame,
    finding: Mapping[str, Any],
    *,
    size: tuple[float, float] | None = None,
    image_href: Any = None,
    max_frames: int = MAX_FRAMES,
    width: int = 360,
) -> list[str]:
    """The frames of one finding, drawn.

    Parameters
    ----------
    window : pandas.DataFrame
        Observations of the finding's stream around it (its frames and one on each side, e.g.
        ``Workspace.read(table, stream=..., frames=(start - 1, end + 1))``); the track's
        trail is drawn from the rows of the finding's track among them.
    finding : mapping
        A findings row: ``stream``, ``frame_start``, ``frame_end``, ``obs_ids``, ``track``.
    size : (width, height), optional
        The frame size (default: from the boxes).
    image_href : callable, optional
        ``image_href(stream, frame) -> str or None``: the picture of a frame.
    max_frames : int
        Most frames drawn (see :func:`finding_frames`).
    width : int
        Width of each frame's drawing on the page.

    Returns
    -------
    list of str
        One SVG per frame drawn.
    """
    stream = str(finding["stream"])
    ids = [int(i) for i in (finding.get("obs_ids") if finding.get("obs_ids") is not None else [])]
    track = finding.get("track")
    has_track = track is not None and not pd.isna(track) and "track" in window.columns
    trail = window[window["track"] == track] if has_track else None
    frames = window["frame"].to_numpy() if len(window) else np.zeros(0, dtype=int)
    if size is None:
        size = frame_size(window)
    out = []
    for f in finding_frames(finding, max_frames):
        here = window[frames == f]
        near = window[(frames == f - 1) | (frames == f + 1)]
        href = image_href(stream, f) if callable(image_href) else None
        out.append(frame_svg(here, size=size, highlight=ids, context=near, trail=trail,
                             image_href=href, caption=f"{stream} frame {f}", width=width))
    return out


def finding_window(workspace: Any, table: str, finding: Mapping[str, Any]
                   ) -> tuple[pd.DataFrame, tuple[float, float]]:
    """The observations to draw a finding from, read from a workspace, and its frame size.

    Parameters
    ----------
    workspace : Workspace
        Where ``table`` is.
    table : str
        The observations table the finding is about (a check run's ``observations``, an
        audit's ``predictions``).
    finding : mapping
        A findings row: ``stream``, ``frame_start``, ``frame_end``.

    Returns
    -------
    window : pandas.DataFrame
        The rows of the finding's stream from the frame before its first to the frame after
        its last (read filtered in DuckDB, never the whole table): what
        :func:`draw_finding` takes.
    size : (width, height)
        The stream's image size recorded in the table (``attrs["image_sizes"]``), else a
        frame that holds every box of the window (:func:`frame_size`).

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> from assay.report.draw import draw_finding, finding_window
    >>> obs = assay.as_observations(pd.DataFrame({"frame": [1, 2, 3, 9], "cls": "car",
    ...     "x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 40.0}), stream="cam", source="model", fps=1)
    >>> obs.attrs["image_sizes"] = {"cam": [320, 240]}
    >>> ws = assay.Workspace()
    >>> ws.add("det", obs)
    >>> finding = {"stream": "cam", "frame_start": 2, "frame_end": 2, "obs_ids": [1]}
    >>> window, size = finding_window(ws, "det", finding)
    >>> window["frame"].tolist(), size
    ([1, 2, 3], (320.0, 240.0))
    >>> len(draw_finding(window, finding, size=size))
    1
    """
    stream = str(finding["stream"])
    start, end = int(finding["frame_start"]), int(finding["frame_end"])
    window = workspace.read(table, stream=stream, frames=(start - 1, end + 1))
    return window, frame_size(window, window.attrs.get("image_sizes"), stream)


def factor_bars(
    evidence: Mapping[str, Any] | str,
    *,
    prefix: str = "ll_",
    scale: float | None = None,
    width: int = 260,
) -> str:
    """A finding's per-factor log-likelihoods as horizontal bars around zero (SVG).

    Audit candidates (Fixy) keep each factor's log-likelihood ratio in their evidence as
    ``ll_<factor>``: above zero the factor looks like a real object, below zero it does not.

    Parameters
    ----------
    evidence : mapping or str
        A findings row's ``evidence`` (a dict, or its JSON text).
    prefix : str, default "ll_"
        Which evidence entries are drawn (finite numbers only); the bar is labelled with the
        rest of the key.
    scale : float, optional
        The value a half-width bar stands for (give the largest magnitude of several
        candidates to draw them on one scale); default the largest here.
    width : int, default 260
        Width of the drawing in CSS pixels.

    Returns
    -------
    str
        ``<svg class="factors">``, a ``rect.bar.pos`` or ``rect.bar.neg`` per factor, each with
        a ``<title>`` of its exact value; empty when the evidence has no such factor.

    Examples
    --------
    >>> from assay.report.draw import factor_bars
    >>> svg = factor_bars({"ll_area": -0.5, "ll_score": 1.2, "score": 3.0})
    >>> svg.count('class="bar pos"'), svg.count('class="bar neg"')
    (1, 1)
    """
    import json

    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence)
        except ValueError:
            return ""
    if not isinstance(evidence, Mapping):
        return ""
    factors = []
    for key, value in evidence.items():
        if not str(key).startswith(prefix) or isinstance(value, bool):
            continue
        try:
            v = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            factors.append((str(key)[len(prefix):], v))
    if not factors:
        return ""
    top = scale if scale is not None and scale > 0 else max(abs(v) for _, v in factors) or 1.0
    row, label_w, value_w = 18, 78, 44
    mid = label_w + (width - label_w - value_w) / 2
    half = (width - label_w - value_w) / 2 - 2
    height = row * len(factors) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="factors" viewBox="0 0 {width} '
             f'{height}" width="{width}" height="{height}" role="img">',
             f'<line class="axis" x1="{_num(mid)}" y1="0" x2="{_num(mid)}" y2="{height}"/>']
    for i, (name, v) in enumerate(factors):
        y = 2 + i * row
        length = min(abs(v) / top, 1.0) * half
        x = mid if v >= 0 else mid - length
        kind = "pos" if v >= 0 else "neg"
        parts.append(
            f'<text class="label" x="{label_w - 4}" y="{y + 13}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="bar {kind}" x="{_num(x)}" y="{y + 3}" width="{_num(max(length, 0.5))}" '
            f'height="{row - 6}"><title>{escape(prefix + name)} = {v:.4g}</title></rect>'
            f'<text class="value" x="{width - 2}" y="{y + 13}" text-anchor="end">{v:+.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)
