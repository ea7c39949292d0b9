"""Section: monitoring over time. The findings rate (findings per observation checked) of each
assertion, overall and per stream, across check runs in the order they ran; with a
threshold, every run where a rate went above it is a drift alert."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._assertions import run_assertions, run_counts
from ._context import Context, Section, count_note, muted
from ._html import el, join, table
from ._plots import colors_for, mpl_text

__all__ = ["monitoring_section", "rates"]

#: Assertions drawn as panels (the most findings first).
PLOT_ASSERTIONS = 9
#: Streams drawn as lines in each panel, beside all streams together.
PLOT_STREAMS = 5
ALL = "all streams"


def _stream_rows(ctx: Context, run: pd.Series) -> dict[str, int] | None:
    """Observations per stream that a check run checked, when the workspace still holds the
    table as the run saw it (same identity and revision, or, for a frame passed in, same
    name and row count)."""
    params = run["params"] or {}
    name = params.get("observations")
    if not name or not ctx.has_table(str(name)):
        return None
    info = ctx.ws.table_info(str(name))
    if info["kind"] != "observations":
        return None
    seen = [i for i in (run["inputs"] or []) if i.get("role") == "observations"]
    if seen and "revision" in seen[0]:
        if seen[0].get("identity") != info["identity"] or seen[0].get("revision") != info["revision"]:
            return None
        if seen[0].get("table_rows") is not None:  # a filtered part of the table was checked
            return None
    elif params.get("rows") != info["rows"]:
        return None
    summary = ctx.ws.summary(str(name))
    return dict(zip(summary["stream"].astype(str), summary["rows"].astype(int), strict=True))


def rates(ctx: Context) -> pd.DataFrame:
    """Per check run (oldest first), assertion and stream (``all streams`` for the whole
    run): ``findings``, ``checked`` (observations) and ``rate``. An assertion the run did
    not run has no row; one it ran that found nothing has rate 0."""
    runs = ctx.runs_of("check")
    runs = runs.loc[[isinstance((p or {}).get("rows"), int) and p["rows"] > 0
                     for p in runs["params"]]].reset_index(drop=True)
    cols = ["order", "run_id", "started", "assertion", "stream", "findings", "checked", "rate"]
    if not len(runs):
        return pd.DataFrame(columns=cols)
    counts = run_counts(ctx, runs["run_id"].astype(str).tolist())
    rows: list[dict[str, Any]] = []
    for order, run in runs.iterrows():
        rid = str(run["run_id"])
        mine = counts.loc[(counts["run_id"] == rid).to_numpy()]
        by_assertion = mine.groupby("assertion")["n"].sum()
        ran = run_assertions(run, set(by_assertion.index))
        names = sorted(ran if ran is not None else set(by_assertion.index))
        per_stream = _stream_rows(ctx, run)
        total = int(run["params"]["rows"])
        for a in names:
            n = int(by_assertion.get(a, 0))
            rows.append({"order": order, "run_id": rid, "started": run["started"], "assertion": a,
                         "stream": ALL, "findings": n, "checked": total, "rate": n / total})
            if per_stream is None:
                continue
            found = mine.loc[(mine["assertion"] == a).to_numpy()].set_index("stream")["n"]
            for stream, checked in per_stream.items():
                k = int(found.get(stream, 0))
                if checked:
                    rows.append({"order": order, "run_id": rid, "started": run["started"],
                                 "assertion": a, "stream": stream, "findings": k,
                                 "checked": checked, "rate": k / checked})
    return pd.DataFrame(rows, columns=cols)


def _limit(threshold: Any, assertion: str) -> float | None:
    if isinstance(threshold, dict):
        value = threshold.get(assertion)
        return None if value is None else float(value)
    return None if threshold is None else float(threshold)


def monitoring_section(ctx: Context) -> Section | None:
    r = rates(ctx)
    if not len(r):
        return None
    r["threshold"] = [_limit(ctx.threshold, a) for a in r["assertion"]]
    over = r["threshold"].notna() & (r["rate"] > r["threshold"].fillna(np.inf))
    r["alert"] = over.to_numpy()
    assertions = (r.loc[r["stream"] == ALL].groupby("assertion")["findings"].sum()
                  .sort_values(ascending=False, kind="stable").index.tolist())
    runs = r[["order", "run_id", "started"]].drop_duplicates("order").sort_values("order")
    parts: list[Any] = [muted(
        f"{len(runs)} check run{'s' if len(runs) != 1 else ''}, in the order they ran; rate = "
        "findings per observation checked (per stream only when the workspace still holds the "
        "table the run checked, unchanged)")]
    parts.append(_plot(ctx, r, assertions, runs))
    alerts = _alerts(r)
    facts: list[tuple[str, Any]] = []
    if ctx.threshold is not None:
        facts.append(("drift alerts", len(alerts)))
        if len(alerts):
            parts.append(el("div", el("strong", f"{len(alerts)} drift alert{'s' if len(alerts) != 1 else ''}"),
                            ": a findings rate went above its threshold", class_="alert"))
            shown = alerts.head(ctx.top)
            parts.append(table(shown, caption="drift alerts: each assertion and stream above its "
                                              "threshold, the first run where it was and the latest"))
            parts.append(count_note(len(shown), len(alerts), "alerts"))
        else:
            parts.append(el("p", "no rate went above its threshold", class_="ok"))
    latest = r.loc[(r["order"] == runs["order"].iloc[-1]).to_numpy()]
    latest = (latest.assign(per_stream=(latest["stream"] != ALL).to_numpy())
              .sort_values(["per_stream", "rate"], ascending=[True, False], kind="stable")
              .head(ctx.top))
    parts.append(table(latest[["assertion", "stream", "findings", "checked", "rate", "threshold",
                               "alert"]], caption=f"rates in the latest check run, {latest['run_id'].iloc[0]}"))
    return Section("monitoring", "Monitoring over time", join(parts), tuple(facts))


def _alerts(r: pd.DataFrame) -> pd.DataFrame:
    hit = r.loc[r["alert"].to_numpy()]
    cols = ["assertion", "stream", "threshold", "first run above", "its rate", "latest run",
            "latest rate", "runs above"]
    if not len(hit):
        return pd.DataFrame(columns=cols)
    rows = []
    for (a, s), part in hit.groupby(["assertion", "stream"], sort=False):
        every = r.loc[(r["assertion"] == a).to_numpy() & (r["stream"] == s).to_numpy()]
        first, last = part.iloc[0], every.iloc[-1]
        rows.append({"assertion": a, "stream": s, "threshold": first["threshold"],
                     "first run above": first["run_id"], "its rate": first["rate"],
                     "latest run": last["run_id"], "latest rate": last["rate"],
                     "runs above": len(part)})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["latest rate"], ascending=False, kind="stable", ignore_index=True)


def _plot(ctx: Context, r: pd.DataFrame, assertions: list[str], runs: pd.DataFrame):
    shown = assertions[:PLOT_ASSERTIONS]
    ncols = min(2, len(shown))
    nrows = -(-len(shown) // ncols)
    x_labels = [f"{i + 1}: {pd.Timestamp(t):%m-%d %H:%M}" for i, t in enumerate(runs["started"])]

    def draw(fig, axes):
        for k, a in enumerate(shown):
            ax = axes[k // ncols, k % ncols]
            part = r.loc[(r["assertion"] == a).to_numpy()]
            streams = (part.loc[part["stream"] != ALL].groupby("stream")["findings"].sum()
                       .sort_values(ascending=False, kind="stable").head(PLOT_STREAMS).index.tolist())
            colors = colors_for(streams)
            for s in [*streams, ALL]:
                line = part.loc[(part["stream"] == s).to_numpy()].sort_values("order")
                ax.plot(line["order"], line["rate"], marker="o",
                        color="#222222" if s == ALL else colors[s],
                        linewidth=2.2 if s == ALL else 1.0, alpha=1.0 if s == ALL else 0.75,
                        label=mpl_text(s), zorder=3 if s == ALL else 2)
            limit = _limit(ctx.threshold, a)
            if limit is not None:
                ax.axhline(limit, color="#d62728", linestyle="--", linewidth=1.0,
                           label=mpl_text(f"threshold {limit:g}"))
                hot = part.loc[part["alert"].to_numpy()]
                if len(hot):
                    ax.scatter(hot["order"], hot["rate"], s=46, facecolors="none",
                               edgecolors="#d62728", linewidths=1.6, zorder=4, label="above threshold")
            ax.set_title(mpl_text(a), loc="left")
            ax.set_ylabel("findings per observation")
            ticks = np.unique(np.linspace(0, len(runs) - 1, min(len(runs), 6)).round().astype(int))
            ax.set_xticks(runs["order"].to_numpy()[ticks])
            ax.set_xticklabels([x_labels[i] for i in ticks], rotation=30, ha="right")
            ax.set_xlim(runs["order"].min() - 0.5, runs["order"].max() + 0.5)
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6.5, frameon=False)
        for k in range(len(shown), nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)

    svg = ctx.plots.svg(draw, label="findings rate per assertion across check runs",
                        size=(5.2 * ncols, 2.6 * nrows), grid=(nrows, ncols))
    more = f" ({len(shown)} of {len(assertions)} assertions)" if len(assertions) > len(shown) else ""
    return el("figure", svg, el("figcaption", "findings per observation checked, per assertion, "
                                "by check run (numbered in the order they ran): all streams "
                                "(black) and the streams with the most findings" + more),
              class_="plot-figure")
