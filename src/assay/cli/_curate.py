"""``assay curate``: choose frames to label (BAL and baselines), export the queue, import verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._main import DEFAULT_WORKSPACE, df_table, out

if TYPE_CHECKING:
    import pandas as pd

EXPORTS = ("labelstudio", "cvat", "mot")


def _parse_sizes(values: tuple[str, ...]) -> tuple[float, float] | dict[str, tuple[float, float]] | None:
    """``("1920x1080",)`` -> (1920, 1080); ``("cam1=640x480", "cam2=1920x1080")`` -> a dict."""
    if not values:
        return None
    sizes: dict[str, tuple[float, float]] = {}
    single = None
    for v in values:
        name, eq, wh = v.rpartition("=")
        try:
            w, h = (float(x) for x in wh.lower().split("x"))
        except ValueError:
            raise click.BadParameter(f"{v!r}: expected WIDTHxHEIGHT or STREAM=WIDTHxHEIGHT.",
                                     param_hint="--image-size") from None
        if eq:
            sizes[name] = (w, h)
        else:
            single = (w, h)
    if single is not None and not sizes:
        return single
    if single is not None:
        raise click.BadParameter("give one size for all streams, or one per stream, not both.",
                                 param_hint="--image-size")
    return sizes


def _sizes_from_seqinfo(obs: pd.DataFrame) -> dict[str, tuple[float, float]] | None:
    """Image sizes from the seqinfo.ini next to the file the table was read from, if any."""
    from ..io import read_seqinfo

    src = obs.attrs.get("source_file")
    if not src:
        return None
    p = Path(src)
    for d in (p.parent, p.parent.parent):
        ini = d / "seqinfo.ini"
        if ini.is_file():
            info = read_seqinfo(ini)
            if "width" in info and "height" in info:
                return {str(s): (info["width"], info["height"]) for s in obs["stream"].astype(str).unique()}
    return None


def _latest_findings(ws, table: str) -> tuple[pd.DataFrame | None, str | None]:
    runs = ws.runs()
    runs = runs.loc[(runs["kind"] == "check") & (runs["status"] == "ok")]
    mine = runs.loc[[isinstance(p, dict) and p.get("observations") == table for p in runs["params"]]]
    if not len(mine):
        return None, None
    run_id = str(mine["run_id"].iloc[-1])
    return ws.findings(run_id), run_id


@click.group(invoke_without_command=True)
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace file.")
@click.option("--observations", "-o", "table",
              help="Predictions table in the workspace (default: its only observations table).")
@click.option("--strategy", "-s", type=click.Choice(["random", "uncertainty", "assertions-uniform", "bal"]),
              help="How to choose frames (default: the campaign's, or bal for a new campaign).")
@click.option("--budget", "-b", type=int, default=100, show_default=True, help="Frames to queue this round.")
@click.option("--campaign", "-c", default="default", show_default=True,
              help="Campaign name; each call is its next round, resumable across days.")
@click.option("--assertions", "-a", "spec",
              help="Run these assertions now (builtin:NAME, ..., or a .py file) instead of using the "
                   "latest `assay check` run on the table.")
@click.option("--set", "settings", multiple=True, metavar="NAME.PARAM=VALUE", help="A parameter of a built-in.")
@click.option("--seed", type=int, help="Seed of a new campaign (default 0).")
@click.option("--epsilon", type=float, help="BAL's exploration probability (default 0.1).")
@click.option("--reward", type=click.Choice(["relative", "absolute"]), help="BAL's reward (default relative).")
@click.option("--method", type=click.Choice(["least_confidence", "margin", "entropy"]),
              help="Uncertainty measure (default least_confidence).")
@click.option("--export", "export", nargs=2, type=(click.Choice(EXPORTS), click.Path(path_type=Path)),
              metavar="FORMAT PATH", help="Write the queue: labelstudio FILE.json, cvat FILE.xml or mot FOLDER.")
@click.option("--image", default="{stream}/img1/{frame:06d}.jpg", show_default=True,
              help="Image path or URL of a frame, with {stream} and {frame}.")
@click.option("--image-size", multiple=True, metavar="[STREAM=]WxH",
              help="Image size in pixels (default: from seqinfo.ini next to the ingested file).")
@click.option("--top", type=int, default=20, show_default=True, help="Queued frames to print.")
@click.pass_context
def curate(ctx, workspace, table, strategy, budget, campaign, spec, settings, seed, epsilon, reward, method,
           export, image, image_size, top):
    """Choose the frames to label next and export them as a labeling queue.

    \b
    Each call is the next round of a campaign stored in the workspace: it records how often
    each assertion fires on the current predictions, rewards the assertions whose firings
    dropped since the last round (BAL), and queues --budget frames, never one already queued
    or reviewed. Re-run `assay check` after retraining, then `assay curate` again.

    \b
    Examples:
      assay curate -w W -o preds --strategy bal --budget 200 --export labelstudio out.json
      assay curate import verdicts.json -w W
    """
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace
    ctx.obj["campaign"] = campaign
    if ctx.invoked_subcommand is not None:
        return
    from ..assertions import check as run_check
    from ..assertions.registry import resolve
    from ..curate import Campaign, to_cvat, to_labelstudio, to_mot
    from ..store import Workspace

    with Workspace(workspace) as ws:
        if table is None:
            t = ws.tables()
            obs_tables = t.loc[t["kind"] == "observations", "name"].tolist()
            if len(obs_tables) != 1:
                raise click.UsageError(
                    f"pass --observations: the workspace has {len(obs_tables)} observations tables"
                    + (f" ({', '.join(obs_tables)})." if obs_tables else "; ingest predictions first."))
            table = obs_tables[0]
        obs = ws.read(table)
        camp = Campaign(ws, campaign, strategy=strategy, seed=seed, epsilon=epsilon, reward=reward, method=method)
        chosen = camp.params["strategy"]
        if spec:
            findings = run_check(obs, resolve(spec, list(settings)), workspace=ws, name=table)
            source = f"run {findings.attrs.get('run_id')} (now)"
        else:
            findings, run_id = _latest_findings(ws, table)
            source = f"run {run_id}" if run_id else "none"
            if findings is None and chosen in ("bal", "assertions-uniform"):
                raise click.UsageError(
                    f"strategy {chosen} needs findings: run `assay check -w {workspace} -o {table} -a ...` "
                    "first, or pass --assertions.")
        queue = camp.next_round(obs, findings, budget=budget)
        rounds = camp.rounds()
        last = rounds.loc[rounds["round"] == rounds["round"].max()] if len(rounds) else rounds
        out.print(df_table(
            queue[["rank", "stream", "frame", "arm", "priority", "reason"]].assign(
                flagged=queue["obs_ids"].map(lambda v: ",".join(map(str, list(v)[:6])) + ("..." if len(v) > 6 else ""))),
            title=f"campaign {campaign!r}, round {camp.round - 1}: {len(queue)} frames queued ({chosen}), "
                  f"findings from {source}", max_rows=top))
        if len(last):
            out.print(df_table(last[["arm", "firings", "reward", "chosen"]], title="per assertion this round"))
        if export:
            fmt, path = export
            sizes = _parse_sizes(image_size) or _sizes_from_seqinfo(obs)
            if fmt == "labelstudio":
                to_labelstudio(queue, obs, path, image=image, image_size=sizes)
                classes = sorted(obs["cls"].astype(str).unique())
                cfg = path.with_suffix(".xml")
                from ..curate import labelstudio_config

                cfg.write_text(labelstudio_config(classes) + "\n")
                out.print(f"wrote {len(queue)} Label Studio tasks to {path} (labeling config: {cfg})")
            elif fmt == "cvat":
                to_cvat(queue, obs, path, image=image, image_size=sizes)
                out.print(f"wrote {len(queue)} images as CVAT XML (for images 1.1) to {path}")
            else:
                files = to_mot(queue, obs, path)
                out.print(f"wrote {len(files) - 1} MOT files and queue.csv to {path}")
        out.print(f"campaign [bold]{campaign}[/] stored in {workspace}: {camp.round} rounds, "
                  f"{len(camp.queue())} frames queued in all")


@curate.command("import")
@click.argument("verdicts", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--workspace", "-w", help="Workspace file (default: the one given to curate, or assay.duckdb).")
@click.option("--campaign", "-c", help="Campaign whose queue names each frame's assertion (default: default).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def import_cmd(ctx, verdicts, workspace, campaign, as_json):
    """Read reviewers' verdicts (a Label Studio export of tasks from --export labelstudio, a
    CVAT XML export of a task from --export cvat, or assay's verdict list) into the
    workspace: oracle labels, reviewed frames, and each assertion's precision as judged by
    reviewers."""
    from ..curate import assertion_precision, import_verdicts
    from ..store import Workspace

    workspace = workspace or ctx.obj.get("workspace") or DEFAULT_WORKSPACE
    campaign = campaign or ctx.obj.get("campaign") or "default"
    with Workspace(workspace) as ws:
        counts = import_verdicts(verdicts, ws, campaign=campaign)
        precision = assertion_precision(ws)
    if as_json:
        click.echo(json.dumps({**counts, "precision": precision.to_dict(orient="records")}))
        return
    out.print(f"imported verdicts on {counts['frames']} frames into {workspace}: "
              f"{counts['accepted']} accepted, {counts['rejected']} rejected, {counts['corrected']} corrected, "
              f"{counts['added']} added")
    if len(precision):
        out.print(df_table(precision, title="assertion precision as judged by reviewers (all imports so far)"))


def demo_step(console=None, ws=None, tracker: pd.DataFrame | None = None,
              labels: pd.DataFrame | None = None, *, title: str = "7. curation") -> None:
    """The demo's curation step: a BAL round on the tracker output, exported as Label Studio
    tasks, and verdicts simulated from the labels imported back (assertion precision).

    Works on the built-in MOT15 data (loaded when ``tracker`` / ``labels`` are not given) in
    ``ws`` (an in-memory workspace when None); prints to ``console`` (default: stdout).
    """
    import tempfile

    import numpy as np

    from ..assertions import Appear, Flicker, Gap, Multibox, check
    from ..curate import Campaign, assertion_precision, import_verdicts, to_labelstudio
    from ..geometry import iou_2d
    from ..store import Workspace

    console = console or out
    if tracker is None or labels is None:
        from ._demo import load_demo

        labels, tracker = load_demo()
    own = ws is None
    ws = ws or Workspace()
    try:
        for name in ("curate.demo.rounds", "curate.demo.queue"):
            if name in ws:
                ws.delete(name)
        findings = check(tracker, [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=0.5)])
        camp = Campaign(ws, "demo", strategy="bal", seed=0)
        queue = camp.next_round(tracker, findings, budget=12)
        console.print(df_table(queue[["rank", "stream", "frame", "arm", "priority", "reason"]], title=(
            f"{title}: BAL queues 12 frames to label from {len(findings)} findings (round 0: arms "
            "drawn uniformly; later rounds reward the assertions whose firings drop)"), max_rows=12))
        # a reviewer's verdicts, simulated from the labels: a box on a label is accepted
        rows = []
        for s, f in zip(queue["stream"].astype(str), queue["frame"], strict=True):
            t = tracker.loc[(tracker["stream"] == s) & (tracker["frame"] == f)]
            g = labels.loc[(labels["stream"] == s) & (labels["frame"] == f)]
            box = ["x1", "y1", "x2", "y2"]
            best = (iou_2d(t[box].to_numpy(), g[box].to_numpy()).max(axis=1) if len(g) and len(t)
                    else np.zeros(len(t)))
            for oid, b in zip(t["obs_id"].tolist(), best.tolist(), strict=True):
                rows.append({"stream": s, "frame": int(f), "obs_id": int(oid),
                             "verdict": "accepted" if b >= 0.5 else "rejected"})
        with tempfile.TemporaryDirectory() as d:
            tasks = to_labelstudio(queue, tracker, Path(d) / "tasks.json", image_size=(640, 480))
            counts = import_verdicts(rows, ws, campaign="demo")
        console.print(f"   exported {len(tasks)} Label Studio tasks (predictions as pre-annotations, "
                      f"severity as score); imported simulated verdicts: {counts['accepted']} accepted, "
                      f"{counts['rejected']} rejected")
        precision = assertion_precision(ws)
        if len(precision):
            console.print(df_table(precision, title="   assertion precision as judged by the (simulated) reviewer"))
    finally:
        if own:
            ws.close()
