"""HTML built from parts that are escaped unless they are :class:`Markup` (made here).

Every string that comes from data goes through :func:`el` or :func:`esc`, so a stream named
``<script>`` is text on the page, never markup: escaping is the default, not a step to
remember.

Examples
--------
>>> from assay.report._html import el
>>> el("p", "<b>", el("b", "bold"), class_="note")
'<p class="note">&lt;b&gt;<b>bold</b></p>'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

__all__ = ["ID_COLUMNS", "Markup", "el", "esc", "fmt", "join", "kv_list", "table"]


class Markup(str):
    """Text that is HTML already (built by this module or a drawing function): kept as is."""

    __slots__ = ()


def esc(value: Any) -> Markup:
    """``value`` as HTML text: Markup unchanged, anything else escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(escape(str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Parts (escaped unless Markup; None skipped) joined by ``sep`` (markup)."""
    return Markup(sep.join(esc(p) for p in parts if p is not None))


def _children(items: Iterable[Any]) -> Iterable[Markup]:
    for item in items:
        if item is None or item is False:
            continue
        if isinstance(item, (str, Markup)) or not isinstance(item, Iterable):
            yield esc(item)
        else:
            yield from _children(item)


def el(tag: str, *children: Any, **attrs: Any) -> Markup:
    """``<tag attrs>children</tag>``: children escaped unless Markup (lists flattened, None
    skipped); ``class_`` is ``class``, ``data_x`` is ``data-x``; True is a bare attribute,
    None and False leave it out."""
    text = [f"<{tag}"]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        text.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    text.append(">")
    if tag in ("meta", "br", "hr", "img", "input", "link", "col"):
        return Markup("".join(text))
    text.extend(_children(children))
    text.append(f"</{tag}>")
    return Markup("".join(text))


def fmt(value: Any, digits: int = 4) -> str:
    """A cell's text: ints with thousands separators, floats to ``digits`` significant digits,
    missing values empty, lists shortened."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return f"{int(value):,}"
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        v = float(value)
        if math.isnan(v):
            return ""
        if v != 0 and v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.{digits}g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        shown = ", ".join(fmt(v) for v in value[:8])
        return f"[{shown}{', ...' if len(value) > 8 else ''}] ({len(value)})" if len(value) > 8 else f"[{shown}]"
    return str(value)


#: Columns of numbers that name things (frames, tracks, ids): written without separators.
ID_COLUMNS = frozenset({"frame", "frame_start", "frame_end", "first_frame", "last_frame", "track",
                        "obs_id", "round", "rank", "seed"})


def _plain(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


def table(
    df: pd.DataFrame,
    *,
    caption: Any = None,
    cells: Mapping[str, Any] | None = None,
    class_: str = "data",
) -> Markup:
    """A DataFrame as an HTML table (numbers right-aligned; :data:`ID_COLUMNS` without
    separators). ``cells`` maps a column to a function of the cell's value returning Markup or
    text (for bars, links)."""
    cells = {**{c: _plain for c in df.columns if c in ID_COLUMNS
                and pd.api.types.is_numeric_dtype(df[c])}, **(cells or {})}
    numeric = {c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
               and not pd.api.types.is_bool_dtype(df[c])}
    head = el("tr", [el("th", str(c), class_="num" if c in numeric else None) for c in df.columns])
    rows = []
    for record in df.itertuples(index=False, name=None):
        row = []
        for col, value in zip(df.columns, record, strict=True):
            shown = cells[col](value) if col in cells else fmt(value)
            row.append(el("td", shown, class_="num" if col in numeric else None))
        rows.append(el("tr", row))
    return el("div", el("table", el("caption", caption) if caption is not None else None,
                        el("thead", head), el("tbody", rows), class_=class_), class_="scroll")


def kv_list(items: Sequence[tuple[str, Any]] | Mapping[str, Any], class_: str = "kv") -> Markup:
    """``<dl>`` of label / value pairs (values through :func:`fmt` unless Markup)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return el("dl", [[el("dt", k), el("dd", v if isinstance(v, Markup) else fmt(v))]
                     for k, v in pairs], class_=class_)
