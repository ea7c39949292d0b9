"""Section: approximate queries. Every query run's answer with its guarantee (finite-sample or
asymptotic, anytime or not), the labels it used and paid for; for aggregation, the estimate
and interval against the labels spent (the path an anytime-valid query reports batch by
batch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._context import Context, Section, count_note
from ._html import el, fmt, join, table
from ._plots import mpl_text

__all__ = ["queries_section"]

#: Panels per row of the aggregation plot.
COLUMNS = 3


def _records(run: pd.Series) -> int | None:
    for item in run["inputs"] or []:
        if item.get("role") == "records" and isinstance(item.get("rows"), int):
            return int(item["rows"])
    return None


def _row(run: pd.Series) -> dict[str, Any]:
    p, s = run["params"] or {}, run["summary"] or {}
    verb = p.get("verb", "")
    if verb == "select":
        asked = f"{p.get('target')} ≥ {fmt(p.get('value'))}"
        records = _records(run)
        answer = (f"{fmt(s.get('selected'))} selected" + (f" of {records:,}" if records else "")
                  if s.get("selected") is not None else "")
    else:
        goal = (f"± {fmt(p.get('error'))}{' relative' if p.get('relative') else ''}"
                if p.get("error") is not None else f"budget {fmt(p.get('budget'))}")
        asked = f"{p.get('stat', '')} {goal}"
        answer = (f"{fmt(s.get('estimate'))} [{fmt(s.get('lower'))}, {fmt(s.get('upper'))}]"
                  if s.get("estimate") is not None else "")
        if s.get("certain") is not None:  # what the labels alone prove
            answer += f"; certain [{fmt(s['certain'][0])}, {fmt(s['certain'][1])}]"
    anytime = s.get("anytime")
    return {"run": run["run_id"], "status": run["status"], "verb": verb, "method": p.get("method"),
            "oracle": p.get("oracle"), "asked": asked, "δ": p.get("delta"), "answer": answer,
            "labels used": s.get("oracle_calls"), "labels paid": s.get("labels_paid"),
            "guarantee": s.get("guarantee"), "anytime": "" if anytime is None else bool(anytime),
            "stopped": s.get("stopped")}


def queries_section(ctx: Context) -> Section | None:
    runs = ctx.runs_of("query")
    oracles = ctx.ws.oracles()
    if not len(runs) and not len(oracles):
        return None
    parts: list[Any] = []
    if len(runs):
        latest = runs.iloc[::-1]
        overview = pd.DataFrame([_row(r) for _, r in latest.iterrows()])
        for col in ("labels used", "labels paid"):
            overview[col] = pd.array(overview[col], dtype="Int64")
        parts.append(el("p", "guarantee: ", el("b", "finite-sample"), " holds for any data at the "
                             "stated δ; ", el("b", "asymptotic"), " only as samples grow (normal "
                             "approximations); ", el("b", "anytime"), " intervals hold at every "
                             "batch, so a query may stop whenever its interval is tight enough",
                        class_="muted"))
        parts.append(table(overview.head(max(ctx.top, 50)), caption="query runs, latest first"))
        parts.append(count_note(min(len(overview), max(ctx.top, 50)), len(overview), "query runs"))
        aggregates = [r for _, r in latest.iterrows()
                      if (r["params"] or {}).get("verb") == "aggregate"
                      and (r["summary"] or {}).get("estimate") is not None][: ctx.top]
        if aggregates:
            parts.append(_paths(ctx, aggregates))
    if len(oracles):
        shown = oracles[["oracle", "kind", "labels", "first", "last"]].head(ctx.top)
        parts.append(el("h3", "oracle answers kept"))
        parts.append(table(shown, caption="every answer an oracle gave is kept, so no query pays "
                                          "for it twice"))
        parts.append(count_note(len(shown), len(oracles), "oracles"))
    return Section("queries", "Approximate queries", join(parts),
                   (("query runs", len(runs)), ("oracle labels", int(oracles["labels"].sum())
                                                 if len(oracles) else 0)))


def _paths(ctx: Context, runs: list[pd.Series]):
    ncols = min(COLUMNS, len(runs))
    nrows = -(-len(runs) // ncols)

    def draw(fig, axes):
        for k, run in enumerate(runs):
            ax = axes[k // ncols, k % ncols]
            p, s = run["params"] or {}, run["summary"] or {}
            path = np.asarray([row[:4] for row in (s.get("path") or []) if len(row) >= 4], dtype=float)
            if len(path):
                x, est, lo, hi = path.T
                ax.fill_between(x, lo, hi, step="post", alpha=0.25, color="#1f77b4",
                                label="interval")
                ax.step(x, est, where="post", color="#1f77b4", label="estimate")
            calls = s.get("oracle_calls") or (path[-1, 0] if len(path) else 0)
            e, lower, upper = (float(s.get(key, np.nan)) for key in ("estimate", "lower", "upper"))
            ax.errorbar([calls], [e], yerr=[[max(e - lower, 0)], [max(upper - e, 0)]], fmt="o",
                        color="#d62728", capsize=3, label="answer")
            kind = s.get("guarantee", "")
            anytime = ", anytime" if s.get("anytime") else ""
            ax.set_title(mpl_text(f"{p.get('method')} {p.get('stat', '')}: {kind}{anytime}\n"
                                  f"{run['run_id']}"), loc="left", fontsize=7.5)
            ax.set_xlabel("labels spent")
            ax.set_ylabel(mpl_text(f"{p.get('stat', 'estimate')} of {p.get('oracle', '')}"))
            if k == 0:
                ax.legend(frameon=False, fontsize=6.5)
        for k in range(len(runs), nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)

    svg = ctx.plots.svg(draw, label="aggregation estimates and intervals against labels spent",
                        size=(3.3 * ncols, 2.5 * nrows), grid=(nrows, ncols))
    return el("figure", svg, el("figcaption", "aggregation queries: the estimate and its interval "
                                "after each batch of labels (runs whose method reports no path "
                                "show their final answer only)"), class_="plot-figure")
