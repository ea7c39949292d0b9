"""Section: curation. Per campaign, its rounds (how often each arm fired, what BAL chose,
the rewards it learnt), the latest queue with its first frames drawn, the verdicts reviewers
gave, and learning curves of stored simulations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._context import Context, Section, count_note, ident, muted
from ._html import el, join, table
from ._plots import colors_for, mpl_text

__all__ = ["CURVE_COLUMNS", "curation_section"]

#: Columns of :attr:`assay.curate.SimulationResult.curves`: a workspace table holding them
#: (``ws.add("curate.sim.curves", result.curves, kind="table")``) is drawn as learning curves.
CURVE_COLUMNS = ("strategy", "seed", "round", "labels", "quality")
#: Queued frames drawn per campaign.
DRAWN_QUEUE = 6


def _campaigns(ctx: Context) -> list[tuple[str, str]]:
    """``(campaign, rounds table)`` for every campaign in the workspace, by name."""
    found = []
    for name in ctx.tables["name"].astype(str):
        if name.lower().startswith("curate.") and name.lower().endswith(".rounds") and len(name) > 14:
            found.append((name[len("curate."):-len(".rounds")], name))
    return sorted(found)


def _curve_tables(ctx: Context) -> list[str]:
    out = []
    for name in ctx.tables.loc[(ctx.tables["kind"] == "table").to_numpy(), "name"].astype(str):
        columns = set(ctx.sql(f"SELECT * FROM {ident(name)} LIMIT 0").columns)
        if set(CURVE_COLUMNS) <= columns:
            out.append(name)
    return out


def curation_section(ctx: Context) -> Section | None:
    campaigns = _campaigns(ctx)
    curves = _curve_tables(ctx)
    verdicts = _verdicts(ctx)
    if not campaigns and not curves and verdicts is None:
        return None
    parts: list[Any] = []
    for campaign, rounds_table in campaigns[: ctx.top]:
        parts.append(_campaign(ctx, campaign, rounds_table))
    parts.append(count_note(min(len(campaigns), ctx.top), len(campaigns), "campaigns"))
    if verdicts is not None:
        parts.append(verdicts)
    for name in curves[: ctx.top]:
        parts.append(_curves(ctx, name))
    return Section("curation", "Curation", join(parts), (("campaigns", len(campaigns)),))


def _campaign(ctx: Context, campaign: str, rounds_table: str):
    rounds = ctx.ws.read(rounds_table)  # a row per round and arm: small
    head = el("h3", "campaign ", el("code", campaign))
    if not len(rounds):
        return el("div", head, muted("no rounds yet"), class_="sub")
    arms = (rounds.groupby(rounds["arm"].astype(str))["firings"].sum()
            .sort_values(ascending=False, kind="stable").index.tolist())
    parts: list[Any] = [head, _rounds_plot(ctx, campaign, rounds, arms)]
    wide = rounds.assign(arm=rounds["arm"].astype(str)).pivot_table(
        index="round", columns="arm", values=["firings", "chosen", "reward"], aggfunc="first")
    flat = pd.DataFrame({"round": wide.index.to_numpy()})
    for arm in arms:
        for what in ("firings", "chosen", "reward"):
            if (what, arm) in wide.columns:
                flat[f"{arm} {what}"] = wide[(what, arm)].to_numpy()
    parts.append(table(flat.tail(ctx.top), caption="per round and arm: findings (firings), frames "
                                                   "chosen, reward learnt from verdicts"))
    parts.append(_queue(ctx, campaign))
    return el("div", parts, class_="sub")


def _rounds_plot(ctx: Context, campaign: str, rounds: pd.DataFrame, arms: list[str]):
    colors = colors_for(arms)

    def draw(fig, axes):
        fire, chosen, reward = axes[0]
        bottom = None
        all_rounds = np.sort(rounds["round"].unique())
        for arm in arms:
            part = rounds.loc[(rounds["arm"].astype(str) == arm).to_numpy()].sort_values("round")
            fire.plot(part["round"], part["firings"], marker="o", color=colors[arm], label=mpl_text(arm))
            counts = part.set_index("round")["chosen"].reindex(all_rounds, fill_value=0).to_numpy(float)
            chosen.bar(all_rounds, counts, bottom=bottom, color=colors[arm], label=mpl_text(arm))
            bottom = counts if bottom is None else bottom + counts
            has = part["reward"].notna().to_numpy()
            if has.any():
                reward.plot(part["round"][has], part["reward"][has], marker="o", color=colors[arm])
        fire.set_title("findings per arm", loc="left")
        chosen.set_title("frames chosen", loc="left")
        reward.set_title("reward learnt", loc="left")
        for ax in (fire, chosen, reward):
            ax.set_xlabel("round")
            ax.set_xticks(all_rounds if len(all_rounds) <= 12 else
                          all_rounds[np.linspace(0, len(all_rounds) - 1, 12).round().astype(int)])
            ax.set_xlim(all_rounds[0] - 0.6, all_rounds[-1] + 0.6)
        reward.axhline(0, color="#888888", linewidth=0.8)
        fire.legend(frameon=False)

    svg = ctx.plots.svg(draw, label=f"rounds of campaign {campaign}", size=(9.6, 2.6), grid=(1, 3))
    return el("figure", svg, class_="plot-figure")


def _queue(ctx: Context, campaign: str):
    name = f"curate.{campaign}.queue"
    if not ctx.has_table(name):
        return None
    q = ident(name)
    per_round = ctx.sql(f"SELECT round, count(*) AS frames FROM {q} GROUP BY round ORDER BY round")
    if not len(per_round):
        return None
    last = int(per_round["round"].iloc[-1])
    top = ctx.sql(f"SELECT * FROM {q} WHERE round = ? ORDER BY rank LIMIT ?", [last, ctx.top])
    shown = top.drop(columns=[c for c in ("run_id",) if c in top.columns]).copy()
    if "obs_ids" in shown.columns:
        shown["obs_ids"] = [len(v) if v is not None else 0 for v in shown["obs_ids"]]
        shown = shown.rename(columns={"obs_ids": "boxes flagged"})
    table_name = _observations_of(ctx, campaign)
    drawn = []
    for row in top.head(DRAWN_QUEUE).to_dict("records"):
        finding = {"stream": row["stream"], "frame_start": row["frame"], "frame_end": row["frame"],
                   "obs_ids": row.get("obs_ids") or [], "track": None}
        drawn.append(el("article", el("header", el("span", f"rank {int(row['rank'])}", class_="rank"),
                                      el("span", str(row.get("arm")), class_="badge"),
                                      el("span", f"{row['stream']} · frame {int(row['frame'])}",
                                         class_="where")),
                        ctx.draw(table_name, finding, max_frames=1), class_="card"))
    return el("div", el("h4", f"queue of round {last}"),
              table(shown, caption=f"the first {len(shown)} of {int(per_round['frames'].iloc[-1]):,} "
                                   "frames queued for labeling"),
              el("div", drawn, class_="cards compact") if drawn else None)


def _observations_of(ctx: Context, campaign: str) -> str | None:
    runs = ctx.runs_of("curate")
    for _, run in runs.iloc[::-1].iterrows():
        p = run["params"] or {}
        if p.get("campaign") == campaign and p.get("observations"):
            return str(p["observations"])
    return None


def _verdicts(ctx: Context):
    if not ctx.has_table("curate.verdicts"):
        return None
    got = ctx.sql('SELECT verdict, count(*) AS boxes, count(DISTINCT (stream, frame)) AS frames '
                  'FROM "curate.verdicts" GROUP BY verdict ORDER BY boxes DESC, verdict')
    if not len(got):
        return None
    return el("div", el("h3", "verdicts from reviewers"), table(got), class_="sub")


def _curves(ctx: Context, name: str):
    from ..curate import SimulationResult

    curves = ctx.ws.read(name)
    strategies = tuple(dict.fromkeys(curves["strategy"].astype(str)))
    seeds = tuple(int(s) for s in sorted(curves["seed"].unique()))
    labels = curves.groupby("round")["labels"].mean().sort_index()
    step = np.diff(labels.to_numpy())
    shape = {"rounds": int(curves["round"].max()),
             "budget": int(round(float(np.median(step)))) if len(step) else 0,
             "initial": int(labels.iloc[0]) if len(labels) else 0}
    full = curves.assign(strategy=curves["strategy"].astype(str),
                         firings=curves["firings"] if "firings" in curves else 0,
                         seconds=curves["seconds"] if "seconds" in curves else 0.0)
    result = SimulationResult(full, strategies, seeds, **shape)
    # the same curves with names safe for matplotlib's labels, for the plot only
    drawn = SimulationResult(full.assign(strategy=full["strategy"].map(mpl_text)),
                             tuple(mpl_text(s) for s in strategies), seeds, **shape)

    def draw(fig, axes):
        drawn.plot(ax=axes[0, 0], title=mpl_text(f"{name}: {len(seeds)} seeds, mean ± 1 sd"))

    svg = ctx.plots.svg(draw, label=f"learning curves in {name}", size=(6.0, 3.2))
    summary = result.summary()
    last = summary.loc[summary["round"] == summary["round"].max()]
    return el("div", el("h3", "learning curves ", el("code", name)),
              el("figure", svg, class_="plot-figure"),
              table(last, caption="the last round, per strategy"), class_="sub")
