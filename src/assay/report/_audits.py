"""Section: label audits. Each audit run's top candidates (objects the labelers may have
missed, implausible tracks), with every factor's log-likelihood as bars and their frames
drawn from the predictions table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._assertions import finding_card, run_counts
from ._context import FINDINGS, Context, Section, count_note, parse_json
from ._html import Markup, el, join, table
from .draw import factor_bars

__all__ = ["audits_section"]

#: Audit runs shown in detail (the most recent first).
DETAIL_RUNS = 3


def audits_section(ctx: Context) -> Section | None:
    runs = ctx.runs_of("audit")
    if not len(runs):
        return None
    counts = run_counts(ctx, runs["run_id"].astype(str).tolist())
    per_run = counts.groupby("run_id")["n"].sum() if len(counts) else pd.Series(dtype="int64")
    rows = []
    for _, run in runs.iloc[::-1].iterrows():
        p = run["params"] or {}
        rows.append({"run": run["run_id"], "status": run["status"], "started": run["started"],
                     "predictions": p.get("predictions"), "labels": p.get("labels"),
                     "method": p.get("method"), "candidates": int(per_run.get(run["run_id"], 0))})
    parts: list[Any] = [table(pd.DataFrame(rows), caption="audit runs, latest first")]
    for _, run in runs.iloc[::-1].head(DETAIL_RUNS).iterrows():
        parts.append(_detail(ctx, run, int(per_run.get(run["run_id"], 0))))
    return Section("audits", "Label audits", join(parts),
                   (("audits", len(runs)), ("audit candidates", int(per_run.sum()))))


def _detail(ctx: Context, run: pd.Series, total: int):
    rid = str(run["run_id"])
    p = run["params"] or {}
    head = el("h3", "audit ", el("code", rid), " of ", el("code", str(p.get("predictions"))),
              " against ", el("code", str(p.get("labels"))))
    if not total:
        return el("div", head, el("p", "no candidates", class_="muted"), class_="sub")
    top = ctx.sql(f"SELECT * FROM {FINDINGS} WHERE run_id = ? ORDER BY severity DESC, stream, "
                  "frame_start LIMIT ?", [rid, ctx.top])
    found = top.to_dict("records")
    evidence = [parse_json(f.get("evidence")) for f in found]
    scale = max((abs(float(v)) for e in evidence for k, v in e.items()
                 if str(k).startswith("ll_") and isinstance(v, (int, float)) and v == v), default=1.0)
    cards = []
    for i, (f, e) in enumerate(zip(found, evidence, strict=True)):
        bars = factor_bars(e, scale=scale)
        extra = el("div", el("p", _verdict(e), class_="small"), Markup(bars), class_="factor-box") \
            if bars else None
        cards.append(finding_card(ctx, f, p.get("predictions"), i + 1, extra=extra))
    return el("div", head,
              el("p", "ranked most likely first; bars: each factor's log-likelihood ratio, "
                      "right of the line where it looks like a real object", class_="muted"),
              el("div", cards, class_="cards"), count_note(len(found), total, "candidates"),
              class_="sub")


def _verdict(evidence: dict[str, Any]) -> str:
    parts = []
    if evidence.get("cls") is not None:
        parts.append(f"class {evidence['cls']}")
    if evidence.get("direction"):
        parts.append(f"{evidence['direction']}")
    if isinstance(evidence.get("score"), (int, float)):
        parts.append(f"total {evidence['score']:+.2f}")
    return ", ".join(parts)
