"""Section: assertion runs (check and monitor): findings per assertion and stream over the
frames, the first by priority drawn, what the latest run fixed or broke against the previous
one on the same table, and each assertion's precision as reviewers judged it.

Everything over the findings is counted in DuckDB (:meth:`Workspace.sql`); only the top
findings come into Python.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..assertions.fixes import diff_runs, same_source
from ._context import FINDINGS, Context, Section, count_note, muted, parse_json
from ._html import Markup, el, fmt, join, table
from ._plots import colors_for, mpl_text

__all__ = ["assertions_section", "finding_card", "run_assertions", "run_counts"]

#: Streams drawn as panels of the findings-over-time plot (the most findings first).
PLOT_STREAMS = 6
#: Bins of frames per stream in that plot.
BINS = 60
#: Tables whose latest check run is shown in detail (the most recent first).
DETAIL_TABLES = 5
#: Runs listed in the overview table.
LISTED_RUNS = 50

def run_counts(ctx: Context, run_ids: list[str]) -> pd.DataFrame:
    """Findings per run, assertion and stream (``run_id, assertion, stream, n``)."""
    if not run_ids or not ctx.has_findings():
        return pd.DataFrame({"run_id": [], "assertion": [], "stream": [], "n": []})
    return ctx.sql(f"SELECT run_id, assertion, stream, count(*) AS n FROM {FINDINGS} "
                   "WHERE list_contains(?, run_id) GROUP BY ALL", [run_ids])


def run_assertions(run: pd.Series, found: set[str]) -> set[str] | None:
    """The assertions a check run ran: built-ins named in its parameters (by class) and
    those with findings; None when its parameters do not say (a user's assertion with no
    findings is then unknown)."""
    from ..assertions.registry import BUILTINS

    by_class = {cls.__name__: name for name, cls in BUILTINS.items()}
    listed = (run["params"] or {}).get("assertions")
    if not isinstance(listed, list):
        return None
    names = set(found)
    for text in listed:
        m = re.match(r"(\w+)\(", str(text))
        if m and m.group(1) in by_class:
            names.add(by_class[m.group(1)])
    return names


def assertions_section(ctx: Context) -> Section | None:
    runs = ctx.runs_of("check", "monitor")
    precision = _precision(ctx)
    if not len(runs) and precision is None:
        return None
    parts: list[Any] = []
    facts: list[tuple[str, Any]] = []
    if len(runs):
        counts = run_counts(ctx, runs["run_id"].astype(str).tolist())
        parts.append(_overview(runs, counts))
        facts.append(("assertion runs", len(runs)))
        facts.append(("findings", int(counts["n"].sum()) if len(counts) else 0))
        latest: dict[str, pd.Series] = {}
        for _, run in runs.iloc[::-1].iterrows():
            name = (run["params"] or {}).get("observations") if run["kind"] == "check" else None
            key = str(name) if name is not None else f"run {run['run_id']}"
            if key not in latest and len(latest) < DETAIL_TABLES:
                latest[key] = run
        for run in latest.values():
            parts.append(_detail(ctx, run, runs, counts))
    if precision is not None:
        parts.append(precision)
    return Section("assertions", "Assertion runs", join(parts), tuple(facts))


def _overview(runs: pd.DataFrame, counts: pd.DataFrame):
    per_run = counts.groupby(["run_id", "assertion"], sort=False)["n"].sum() if len(counts) else None
    rows = []
    for _, run in runs.iloc[::-1].head(LISTED_RUNS).iterrows():
        params = run["params"] or {}
        rid = str(run["run_id"])
        if per_run is not None and rid in per_run.index.get_level_values(0):
            by = per_run.loc[rid].sort_values(ascending=False)
            total, text = int(by.sum()), " · ".join(f"{a} {int(n):,}" for a, n in by.items())
        else:
            total, text = 0, ""
        rows.append({"run": rid, "kind": run["kind"], "status": run["status"],
                     "started": run["started"], "table": params.get("observations"),
                     "rows checked": params.get("rows"), "findings": total, "by assertion": text})
    df = pd.DataFrame(rows)
    df["rows checked"] = pd.array(df["rows checked"], dtype="Int64")
    return join([table(df, caption="assertion runs, latest first"),
                 count_note(len(rows), len(runs), "runs")])


def _detail(ctx: Context, run: pd.Series, runs: pd.DataFrame, counts: pd.DataFrame):
    rid = str(run["run_id"])
    params = run["params"] or {}
    obs_table = params.get("observations") if run["kind"] == "check" else None
    mine = counts.loc[(counts["run_id"] == rid).to_numpy()]
    head = el("h3", f"{run['kind']} run ", el("code", rid),
              *([" on ", el("code", obs_table)] if obs_table else []))
    if not len(mine):
        return el("div", head, muted("this run found nothing"), class_="sub")
    parts = [head, _over_time(ctx, rid, mine, obs_table), _per_stream(mine, ctx.top)]
    top = ctx.sql(f"SELECT * FROM {FINDINGS} WHERE run_id = ? ORDER BY {ctx.finding_order} LIMIT ?",
                  [rid, ctx.top])
    parts.append(el("h4", f"the {len(top)} first findings by priority"))
    parts.append(el("div", [finding_card(ctx, f, obs_table, i + 1) for i, f in
                            enumerate(top.to_dict("records"))], class_="cards"))
    parts.append(count_note(len(top), int(mine["n"].sum()), "findings"))
    if run["kind"] == "check" and obs_table is not None:
        before = runs.loc[(runs["kind"] == "check").to_numpy()
                          & (runs["started"] < run["started"]).to_numpy()]
        same = [r for _, r in before.iterrows() if (r["params"] or {}).get("observations") == obs_table]
        if same:
            parts.append(_diff(ctx, same[-1], run))
    return el("div", parts, class_="sub")


def _stream_frames(ctx: Context, table: str | None) -> tuple[list[str], list[int], list[int]]:
    """Each stream's first and last frame in an observations table (its stored summary), so
    a plot spans the whole stream; empty when the workspace no longer holds the table."""
    if not table or not ctx.has_table(table) or ctx.ws.table_info(table)["kind"] != "observations":
        return [], [], []
    summary = ctx.ws.summary(table)
    return (summary["stream"].astype(str).tolist(), summary["first_frame"].astype(int).tolist(),
            summary["last_frame"].astype(int).tolist())


def _over_time(ctx: Context, rid: str, mine: pd.DataFrame, table: str | None):
    """Panels of findings per frame bin, one per stream, a line per assertion."""
    names, first, last = _stream_frames(ctx, table)
    got = ctx.sql(
        f"""WITH f AS (SELECT assertion, stream, frame_start AS frame FROM {FINDINGS}
                       WHERE run_id = $run AND stream IS NOT NULL),
                 span AS (SELECT unnest($names::VARCHAR[]) AS stream,
                                 unnest($first::BIGINT[]) AS first, unnest($last::BIGINT[]) AS last),
                 s AS (SELECT stream, count(*) AS total,
                              least(min(frame), any_value(span.first)) AS lo,
                              greatest(max(frame), any_value(span.last)) AS hi
                       FROM f LEFT JOIN span USING (stream)
                       GROUP BY stream ORDER BY total DESC, stream LIMIT $streams)
            SELECT f.assertion, f.stream, s.total, s.lo, s.hi,
                   least(CAST(floor((f.frame - s.lo) * $bins / (s.hi - s.lo + 1)) AS BIGINT),
                         $bins - 1) AS bin,
                   count(*) AS n
            FROM f JOIN s USING (stream) GROUP BY ALL""",
        {"run": rid, "streams": PLOT_STREAMS, "bins": BINS, "names": names, "first": first,
         "last": last})
    if not len(got):
        return None
    streams = (got.groupby("stream")["total"].first().sort_values(ascending=False, kind="stable")
               .index.tolist())
    assertions = sorted(mine.groupby("assertion")["n"].sum().sort_values(ascending=False).index)
    colors = colors_for(assertions)
    ncols = min(3, len(streams))
    nrows = -(-len(streams) // ncols)

    def draw(fig, axes):
        for k, stream in enumerate(streams):
            ax = axes[k // ncols, k % ncols]
            part = got.loc[(got["stream"] == stream).to_numpy()]
            lo, hi = int(part["lo"].iloc[0]), int(part["hi"].iloc[0])
            width = (hi - lo + 1) / BINS
            x = lo + (np.arange(BINS) + 0.5) * width
            for a in assertions:
                y = np.zeros(BINS)
                rows = part.loc[(part["assertion"] == a).to_numpy()]
                if not len(rows):
                    continue
                np.add.at(y, rows["bin"].to_numpy(dtype=int), rows["n"].to_numpy(dtype=float))
                ax.plot(x, y, color=colors[a], label=mpl_text(a), drawstyle="steps-mid")
            total = int(part["total"].iloc[0])
            ax.set_title(mpl_text(f"{stream} ({total:,} finding{'s' if total != 1 else ''})"), loc="left")
            ax.set_xlabel("frame")
            ax.set_ylabel(f"findings per {width:.3g} frames" if width > 1 else "findings per frame")
        for k in range(len(streams), nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)

    svg = ctx.plots.svg(draw, label=f"findings over the frames of run {rid}",
                        size=(3.3 * ncols, 2.3 * nrows + 0.5), grid=(nrows, ncols))
    total_streams = mine["stream"].nunique()
    return el("figure", svg, el("figcaption", "findings over the frames, per stream and assertion",
                                f" ({len(streams)} of {total_streams:,} streams, the most findings first)"
                                if total_streams > len(streams) else ""), class_="plot-figure")


def _per_stream(mine: pd.DataFrame, top: int):
    pivot = mine.pivot_table(index="stream", columns="assertion", values="n", aggfunc="sum",
                             fill_value=0, dropna=False)
    pivot["all"] = pivot.sum(axis=1)
    pivot = pivot.sort_values("all", ascending=False, kind="stable")
    shown = pivot.head(top).reset_index()
    shown.columns = [str(c) for c in shown.columns]
    return join([table(shown, caption="findings per stream and assertion"),
                 count_note(len(shown), len(pivot), "streams")])


def finding_card(ctx: Context, finding: dict[str, Any], obs_table: str | None, rank: int,
                 extra: Any = None) -> Markup:
    """One finding: what and where, its frames drawn, its evidence and proposed fix."""
    start, end = finding.get("frame_start"), finding.get("frame_end")
    frames = "" if start is None or pd.isna(start) else (
        f"frame {int(start)}" if start == end else f"frames {int(start)}–{int(end)}")
    track = finding.get("track")
    where = [str(finding.get("stream") or ""), frames,
             "" if track is None or pd.isna(track) else f"track {int(track)}"]
    evidence = parse_json(finding.get("evidence"))
    shown = {k: v for k, v in evidence.items()
             if not str(k).startswith(("ll_", "fg_", "bg_")) and v is not None and v != ""
             and not isinstance(v, (dict, list))}
    fix = parse_json(finding.get("fix"))
    obs = finding.get("obs_ids")
    return el(
        "article",
        el("header", el("span", f"#{rank}", class_="rank"),
           el("span", str(finding.get("assertion")), class_="badge"),
           el("span", " · ".join(w for w in where if w), class_="where"),
           el("span", f"severity {fmt(finding.get('severity'))}", class_="severity")),
        extra,
        ctx.draw(obs_table, finding),
        el("p", "observations ", fmt(list(obs)) if obs is not None else "", class_="muted small")
        if obs is not None and len(obs) else None,
        el("p", "evidence: ", "; ".join(f"{k} {fmt(v)}" for k, v in list(shown.items())[:10]),
           class_="small") if shown else None,
        el("p", "proposed fix: ", str(fix.get("action", "")), class_="small") if fix else None,
        class_="card",
    )


def _diff(ctx: Context, old: pd.Series, new: pd.Series):
    same = same_source(old["inputs"], new["inputs"])
    got = diff_runs(ctx.ws, str(old["run_id"]), str(new["run_id"]),
                    by="obs_ids" if same else "frames", top=min(ctx.top, 10))
    wide = got["counts"].rename(columns={"new": "new (broke)", "resolved": "resolved (fixed)"})
    in_new = got["counts"]["new"] + got["counts"]["kept"] > 0
    ran = run_assertions(new, set(got["counts"].loc[in_new.to_numpy(), "assertion"]))
    wide["note"] = ["" if ran is None or a in ran else "not run by the new run"
                    for a in wide["assertion"]]
    by = "observation ids (both runs checked the same table)" if same else \
        "frames (the runs checked different versions of the table)"
    cols = [c for c in ("assertion", "stream", "frame_start", "frame_end", "track", "severity", "priority")
            if c in got["new"].columns]
    new_top, gone_top = got["new"], got["resolved"]
    return el(
        "div",
        el("h4", "against the previous run on this table, ", el("code", str(old["run_id"]))),
        el("p", f"findings matched by assertion, stream, frames and {by}", class_="muted"),
        table(wide, caption="what the latest run broke and fixed"),
        el("div", el("div", table(new_top[cols], caption=f"new: the first {len(new_top)} by priority"))
           if len(new_top) else None,
           el("div", table(gone_top[cols], caption=f"resolved: the first {len(gone_top)} by priority"))
           if len(gone_top) else None,
           class_="two") if len(new_top) or len(gone_top) else None,
        class_="diff",
    )


def _precision(ctx: Context):
    from ..curate import assertion_precision

    if not ctx.has_table("curate.reviews"):
        return None
    p = assertion_precision(ctx.ws)
    if not len(p):
        return None
    return el("div", el("h3", "precision as reviewers judged it"),
              muted("of the frames an assertion flagged that a reviewer looked at, the share "
                    "where the review confirmed something was wrong"),
              table(p, cells={"precision": _bar}), class_="sub")


def _bar(value: Any) -> Markup:
    share = 0.0 if value is None or pd.isna(value) else float(value)
    return join([el("span", el("span", class_="fill",
                               style=f"width:{max(0.0, min(share, 1.0)) * 100:.1f}%"), class_="meter"),
                 fmt(share, 3)])
