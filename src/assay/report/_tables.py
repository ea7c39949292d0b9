"""Section: the workspace's tables (rows, streams, classes, sources; per stream for
observations)."""

from __future__ import annotations

import pandas as pd

from ._context import Context, Section, count_note, ident
from ._html import el, fmt, join, table

__all__ = ["tables_section"]


def tables_section(ctx: Context) -> Section | None:
    tables = ctx.tables
    if not len(tables):
        return None
    overview = tables[["name", "kind", "rows", "columns", "streams", "classes", "sources",
                       "revision", "modified", "writer"]]
    parts = [table(overview, caption="every table in the workspace")]
    observations = tables.loc[(tables["kind"] == "observations").to_numpy(), "name"].tolist()
    for name in observations[: ctx.top]:
        parts.append(_observations(ctx, str(name)))
    note = count_note(min(len(observations), ctx.top), len(observations), "observations tables")
    facts = (("tables", len(tables)), ("observations", int(tables.loc[
        (tables["kind"] == "observations").to_numpy(), "rows"].sum())))
    return Section("tables", "Tables", join([*parts, note]), facts)


def _observations(ctx: Context, name: str):
    ws = ctx.ws
    streams = ws.summary(name)  # stored with the table: no pass over its rows
    attrs = ws.read(name, frames=(0, -1)).attrs  # an empty range: the table's attrs only
    sizes, rates = attrs.get("image_sizes") or {}, attrs.get("frame_rates") or {}
    shown = streams.sort_values(["rows", "stream"], ascending=[False, True]).head(ctx.top).copy()
    shown["image"] = [f"{sizes[s][0]:g}x{sizes[s][1]:g}" if s in sizes else ""
                      for s in shown["stream"].astype(str)]
    shown["fps"] = [float(rates[s]) if s in rates else attrs.get("fps", float("nan"))
                    for s in shown["stream"].astype(str)]
    classes, sources = (ctx.sql(f"SELECT {col}, count(*) AS rows FROM {ident(name)} GROUP BY {col} "
                                f"ORDER BY rows DESC, {col} LIMIT ?", [ctx.top])
                        for col in ("cls", "source"))
    return el(
        "div",
        el("h3", "observations ", el("code", name)),
        el("p", "classes: ", _counts(classes, "cls"), el("br"), "sources: ", _counts(sources, "source"),
           class_="inline-list"),
        table(shown, caption=f"per stream ({len(streams):,} streams)"),
        count_note(len(shown), len(streams), "streams (most rows first)"),
        class_="sub",
    )


def _counts(df: pd.DataFrame, key: str):
    return join([el("span", el("b", str(k)), " ", fmt(int(n)), class_="pill")
                 for k, n in zip(df[key], df["rows"], strict=True)], " ")
