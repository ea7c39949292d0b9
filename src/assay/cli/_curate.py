"""``assay curate``: choose frames to label (BAL and baselines), export the queue, import verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import AssayGroup, about, emit_json, open_workspace
from ._main import DEFAULT_WORKSPACE, df_table, err, notes, out

if TYPE_CHECKING:
    import pandas as pd

EXPORTS = ("labelstudio", "cvat", "mot")
#: First line of a Label Studio labeling config written by ``assay curate``: a file that
#: starts with it may be overwritten by the next export, any other file never is.
CONFIG_MARK = ("<!-- Label Studio labeling config, written by assay curate with its tasks; "
               "assay may overwrite this file. -->")


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
        if not (0 < w < float("inf") and 0 < h < float("inf")):
            raise click.BadParameter(f"{v!r}: width and height must be positive numbers of pixels.",
                                     param_hint="--image-size")
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


def _stored_sizes(obs: pd.DataFrame) -> dict[str, tuple[float, float]] | None:
    """Image sizes recorded at ingest (``attrs["image_sizes"]``: seqinfo.ini or
    ``assay ingest --image-size``), else from the seqinfo.ini next to an older table's file."""
    stored = obs.attrs.get("image_sizes")
    if isinstance(stored, dict) and stored:
        return {str(k): (float(v[0]), float(v[1])) for k, v in stored.items()}
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


class _Export:
    """One --export of a queue: its target checked when made, the image sizes before anything
    is written, every file staged and renamed into place together when called."""

    def __init__(self, fmt: str, path: Path, *, image: str, image_size: tuple[str, ...],
                 config: Path | None) -> None:
        self.fmt, self.path, self.image = fmt, path, image
        self.given_sizes = _parse_sizes(image_size)
        self.sizes = self.given_sizes
        self.config = None
        if fmt == "labelstudio":
            self.config = config or path.with_name(path.stem + ".labelstudio.xml")
        elif config is not None:
            raise click.BadParameter("only --export labelstudio writes a labeling config.",
                                     param_hint="--labelstudio-config")
        self._check_targets(config is not None)

    def _check_targets(self, config_named: bool) -> None:
        p = self.path
        if self.fmt == "mot":
            if p.exists() and not p.is_dir():
                raise click.BadParameter(f"{p} is a file; mot writes a folder.", param_hint="--export")
            if not p.exists() and not p.parent.is_dir():
                raise click.BadParameter(
                    f"the folder {p.parent} does not exist: create it first (mot makes the folder "
                    f"{p.name} in it, nothing above).", param_hint="--export")
        else:
            if p.is_dir():
                raise click.BadParameter(f"{p} is a folder; {self.fmt} writes a file.", param_hint="--export")
            if not p.parent.is_dir():
                raise click.BadParameter(f"the folder {p.parent} does not exist: create it first.",
                                         param_hint="--export")
        cfg = self.config
        if cfg is None:
            return
        if cfg.absolute() == p.absolute() or cfg.is_dir() or not cfg.parent.is_dir():
            raise click.BadParameter(
                f"the labeling config cannot be written to {cfg}: it is the tasks file, a folder, or "
                "in a folder that does not exist.", param_hint="--labelstudio-config")
        if not config_named and cfg.exists() and not _written_by_assay(cfg):
            raise click.UsageError(
                f"--export labelstudio writes the tasks' labeling config to {cfg}, which exists and "
                "was not written by assay. Move that file, or name another one with "
                "--labelstudio-config PATH.")

    def prepare(self, observations: pd.DataFrame) -> None:
        """Find the image sizes (labelstudio and cvat need them) before a round is chosen."""
        if self.fmt == "mot":
            return
        if self.given_sizes is not None:
            self.sizes = self.given_sizes
            return
        self.sizes = _stored_sizes(observations)
        if self.sizes is None:
            raise click.UsageError(
                f"--export {self.fmt} needs the image size to place boxes: pass --image-size "
                "WIDTHxHEIGHT (all streams) or --image-size STREAM=WIDTHxHEIGHT (each stream); "
                "the table records none (`assay ingest --image-size` records it once).")
        if not all(w > 0 and h > 0 for w, h in self.sizes.values()):
            raise click.UsageError(
                f"the image sizes recorded with the table are not all positive: pass "
                f"--image-size WIDTHxHEIGHT for --export {self.fmt}.")

    def __call__(self, queue: pd.DataFrame, observations: pd.DataFrame) -> dict:
        from ..curate import labelstudio_config, to_cvat, to_labelstudio, to_mot
        from ..io import StagedFiles

        self.prepare(observations)
        if isinstance(self.sizes, dict):
            missing = sorted(set(queue["stream"].astype(str)) - set(self.sizes))
            if missing:
                raise click.UsageError(
                    f"--image-size gives no size for stream {missing[0]!r} (given for "
                    f"{', '.join(map(repr, sorted(self.sizes)))}). Add --image-size "
                    "STREAM=WIDTHxHEIGHT for it, or one --image-size WIDTHxHEIGHT for all streams. "
                    "Nothing was recorded: the same command queues the same frames again.")
        try:
            if self.fmt == "labelstudio":
                assert self.config is not None
                classes = sorted(observations["cls"].astype(str).unique())
                with StagedFiles() as stage:
                    to_labelstudio(queue, observations, stage.path(self.path), image=self.image,
                                   image_size=self.sizes)
                    stage.path(self.config).write_text(
                        CONFIG_MARK + "\n" + labelstudio_config(classes) + "\n", encoding="utf-8")
                files = stage.written
            elif self.fmt == "cvat":
                to_cvat(queue, observations, self.path, image=self.image, image_size=self.sizes)
                files = [self.path]
            else:
                files = to_mot(queue, observations, self.path)
        except OSError as e:
            raise click.ClickException(
                f"writing the {self.fmt} export to {self.path} failed: {e}. Nothing was recorded: "
                "the same command queues the same frames again.") from None
        return {"format": self.fmt, "files": [str(f) for f in files]}

    def report(self, n: int) -> str:
        if self.fmt == "labelstudio":
            return (f"wrote {n} Label Studio tasks to {self.path}, and their labeling config to "
                    f"{self.config} (paste it into the project's Settings > Labeling Interface)")
        if self.fmt == "cvat":
            return f"wrote {n} images as CVAT XML (for images 1.1) to {self.path}"
        return (f"wrote {n} frames as MOT files (one STREAM/det/det.txt per stream) and queue.csv "
                f"(each stream's folder) to {self.path}")


def _written_by_assay(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(CONFIG_MARK)) == CONFIG_MARK.encode()


def _export_options(f):
    """Options shared by ``assay curate --export`` and ``assay curate export``."""
    for option in reversed([
        click.option("--image", default="{stream}/img1/{frame:06d}.jpg", show_default=True,
                     help="Image path or URL of a frame, with {stream} and {frame}."),
        click.option("--image-size", multiple=True, metavar="[STREAM=]WxH",
                     help="Image size in pixels, for labelstudio and cvat (default: from seqinfo.ini "
                          "next to the ingested file)."),
        click.option("--labelstudio-config", "config", type=click.Path(path_type=Path),
                     help="Where labelstudio writes the tasks' labeling config (default: "
                          "FILE.labelstudio.xml beside FILE.json; a file there that assay did not "
                          "write is never overwritten)."),
    ]):
        f = option(f)
    return f


EXPORT_HELP = ("Write the queue: labelstudio FILE.json (tasks; plus their labeling config, see "
               "--labelstudio-config), cvat FILE.xml, or mot FOLDER (STREAM/det/det.txt per stream, "
               "STREAM made a safe folder name, and queue.csv naming each stream's folder). The "
               "round is recorded only once its export is in place.")


@click.group(cls=AssayGroup, invoke_without_command=True)
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
@click.option("--policy", type=click.Choice(["epsilon-greedy", "ucb"]),
              help="How BAL chooses an assertion per slot (default epsilon-greedy).")
@click.option("--min-gap", "min_gap", type=click.IntRange(min=0),
              help="Least distance in frames between two queued frames of one stream, unless an "
                   "assertion has nothing else left (default 3).")
@click.option("--extra-arm", "extra_arms", multiple=True, type=click.Choice(["random", "uncertainty"]),
              help="A strategy BAL may also choose, as an arm of its own (repeatable; new campaigns).")
@click.option("--reward", type=click.Choice(["relative", "absolute"]), help="BAL's reward (default relative).")
@click.option("--method", type=click.Choice(["least_confidence", "margin", "entropy"]),
              help="Uncertainty measure (default least_confidence).")
@click.option("--export", "export", nargs=2, type=(click.Choice(EXPORTS), click.Path(path_type=Path)),
              metavar="FORMAT PATH", help=EXPORT_HELP)
@_export_options
@click.option("--top", type=int, default=20, show_default=True, help="Queued frames to print.")
@click.option("--json", "as_json", is_flag=True, help="Print the round and its queue as JSON.")
@click.pass_context
def curate(ctx, workspace, table, strategy, budget, campaign, spec, settings, seed, epsilon, policy, min_gap,
           extra_arms, reward, method, export, image, image_size, config, top, as_json):
    """Choose the frames to label next and export them as a labeling queue.

    \b
    Each call is the next round of a campaign stored in the workspace: it records how often
    each assertion fires on the current predictions, rewards the assertions whose firings
    dropped since the last round (BAL), and queues --budget frames, never one already queued
    or reviewed. Re-run `assay check` after retraining, then `assay curate` again.

    \b
    A round and its --export are kept together: the export is written first (each file
    whole, renamed into place), then the round is recorded. If the export fails or the run
    is interrupted, nothing is recorded and the same command queues the same frames again.
    `assay curate export` writes any stored round again.

    \b
    Examples:
      assay curate -w assay.duckdb -o det --strategy bal --budget 20 --export labelstudio tasks.json
      assay curate -w assay.duckdb -o det -c ucb --policy ucb --min-gap 5 --extra-arm random
      assay curate export -w assay.duckdb --round 0 cvat round0.xml
      assay curate import verdicts.json -w assay.duckdb
    """
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace
    ctx.obj["campaign"] = campaign
    if ctx.invoked_subcommand is not None:
        return
    from ..assertions import check as run_check
    from ..assertions.registry import resolve
    from ..curate import Campaign

    exporter = _Export(*export, image=image, image_size=image_size, config=config) if export else None
    if config is not None and exporter is None:
        raise click.BadParameter("give --export labelstudio FILE.json with it.", param_hint="--labelstudio-config")
    with open_workspace(workspace) as ws:
        if table is None:
            t = ws.tables()
            obs_tables = t.loc[t["kind"] == "observations", "name"].tolist()
            if len(obs_tables) != 1:
                raise click.UsageError(
                    f"pass --observations: the workspace has {len(obs_tables)} observations tables"
                    + (f" ({', '.join(obs_tables)})." if obs_tables else "; ingest predictions first."))
            table = obs_tables[0]
        with about("--observations", table):
            obs = ws.read(table)
        if exporter is not None:
            exporter.prepare(obs)
        camp = Campaign(ws, campaign, strategy=strategy, seed=seed, epsilon=epsilon, reward=reward, method=method,
                        policy=policy, min_gap=min_gap, extra_arms=list(extra_arms) or None)
        chosen = camp.params["strategy"]
        # the assertions run now, the round and its export: recorded together or not at all
        with ws.transaction(), notes.status(f"choosing {budget} frames and writing the round"):
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
            queue = camp.next_round(obs, findings, budget=budget, table=table, export=exporter)
        rounds = camp.rounds()
        t = camp.round - 1
        last = rounds.loc[rounds["round"] == t]
        if as_json:
            emit_json({"campaign": campaign, "round": t, "strategy": chosen, "findings_from": source,
                       "queued": len(queue), "queue": queue.to_dict(orient="records"),
                       "arms": last.to_dict(orient="records"),
                       "export": None if exporter is None else exporter.report(len(queue))})
            return
        out.print(df_table(
            queue[["rank", "stream", "frame", "arm", "priority", "reason"]].assign(
                flagged=queue["obs_ids"].map(lambda v: ",".join(map(str, list(v)[:6])) + ("..." if len(v) > 6 else ""))),
            title=f"campaign {campaign!r}, round {t}: {len(queue)} frames queued ({chosen}), "
                  f"findings from {source}", max_rows=top))
        if len(last):
            out.print(df_table(last[["arm", "firings", "reward", "chosen"]], title="per assertion this round"))
        if exporter is not None:
            out.print(exporter.report(len(queue)), highlight=False)
        out.print(f"campaign [bold]{campaign}[/] stored in {workspace}: {camp.round} rounds, "
                  f"{len(camp.queue())} frames queued in all")


@curate.command("export")
@click.argument("fmt", type=click.Choice(EXPORTS), metavar="FORMAT")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--round", "-r", "round_", type=int, help="The stored round to export (default: the last).")
@click.option("--workspace", "-w", help="Workspace file (default: the one given to curate, or assay.duckdb).")
@click.option("--campaign", "-c", help="Campaign (default: the one given to curate, or default).")
@click.option("--observations", "-o", "table",
              help="Predictions table to export the queue with (default: the one the round used).")
@_export_options
@click.pass_context
def export_cmd(ctx, fmt, path, round_, workspace, campaign, table, image, image_size, config):
    """Write a stored round's queue again: FORMAT is labelstudio FILE.json, cvat FILE.xml or
    mot FOLDER, as for --export. The queue comes from the campaign, the predictions from the
    observations table the round used, so the files are those the round's --export wrote.
    Nothing is written to the workspace."""
    import warnings

    from ..curate import Campaign
    from ..store import Workspace

    workspace = workspace or ctx.obj.get("workspace") or DEFAULT_WORKSPACE
    campaign = campaign or ctx.obj.get("campaign") or "default"
    if not Path(workspace).is_file():
        raise click.UsageError(f"no workspace file {workspace}: pass --workspace.")
    exporter = _Export(fmt, path, image=image, image_size=image_size, config=config)
    with Workspace(workspace, read_only=True) as ws:
        camp = Campaign(ws, campaign)
        n = camp.round
        if n == 0:
            raise click.UsageError(f"campaign {campaign!r} in {workspace} has no stored round: run "
                                   "`assay curate` first, or pass --campaign.")
        t = n - 1 if round_ is None else round_
        if not 0 <= t < n:
            raise click.BadParameter(f"campaign {campaign!r} has rounds 0 to {n - 1}. Got {t}.",
                                     param_hint="--round")
        observations = None
        if table is None:
            used = camp.round_params(t).get("observations")
            if used is None:
                raise click.UsageError(
                    f"round {t} of campaign {campaign!r} does not record the observations table it "
                    "used (it was queued by an older assay): pass --observations TABLE.")
            if used not in ws:
                raise click.UsageError(
                    f"round {t} of campaign {campaign!r} used the observations table {used!r}, which "
                    f"is no longer in {workspace}: ingest the same predictions again under that name "
                    f"(assay ingest ... -n {used}), or pass --observations TABLE.")
        else:
            observations = ws.read(table)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            camp.export_round(t, exporter, observations=observations)
        for w in caught:
            err.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
        queued = len(camp.queue(t))
    out.print(f"campaign {campaign!r}, round {t}: " + exporter.report(queued), highlight=False)


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

    workspace = workspace or ctx.obj.get("workspace") or DEFAULT_WORKSPACE
    campaign = campaign or ctx.obj.get("campaign") or "default"
    with open_workspace(workspace) as ws:
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
