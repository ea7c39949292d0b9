"""``assay demo``: the main job on built-in real data (no network, nothing to download)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from ._common import AssayCommand
from ._main import df_table, out

if TYPE_CHECKING:
    import pandas as pd


def load_demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ground truth and tracker output of the built-in MOT15 sequences, as two tables."""
    import numpy as np
    import pandas as pd

    from ..io import DEMO_FPS, DEMO_SEQUENCES, demo_path, read_mot
    from ..tables import validate

    labels, tracker = [], []
    for seq in DEMO_SEQUENCES:
        labels.append(read_mot(demo_path(seq, "gt"), kind="gt", fps=DEMO_FPS[seq], stream=seq))
        # the tracker file keeps its ids: read as ground-truth layout, then mark it a model
        t = read_mot(demo_path(seq, "tracker"), kind="gt", fps=DEMO_FPS[seq], stream=seq,
                     source="model:tracker")
        tracker.append(t.drop(columns=["consider"]))

    def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
        df = pd.concat(parts, ignore_index=True)
        df["obs_id"] = np.arange(len(df), dtype="int64")
        return validate(df, "observations")

    return combine(labels), combine(tracker)


@click.command(cls=AssayCommand)
@click.option("--workspace", "-w", default="assay-demo.duckdb", show_default=True,
              help="Workspace file the demo writes (its tables are replaced on each run).")
def demo(workspace: str) -> None:
    """Run assay on built-in real data: MOTChallenge TUD-Campus and TUD-Stadtmitte
    (human ground truth and a real tracker's output, shipped in the motmetrics wheel)."""
    from ..store import Workspace

    start = time.perf_counter()
    labels, tracker = load_demo()
    out.rule("[bold]assay demo[/]: MOT15 TUD-Campus and TUD-Stadtmitte (real data)")
    with Workspace(workspace) as ws:
        ws.add("labels", labels, kind="observations", replace=True)
        ws.add("tracker", tracker, kind="observations", replace=True)
        tables = ws.tables()[["name", "kind", "rows", "streams", "classes", "sources"]]
        out.print(df_table(tables, title=f"1. ingested into workspace {workspace}"))
        summary = ws.summary("labels")
        out.print(df_table(summary[[c for c in ("stream", "rows", "frames", "tracks") if c in summary]],
                           title="   labels per stream"))
        _demo_tracking(labels)
        _demo_matching(labels, tracker)
        _demo_assertions(ws, tracker)
        _demo_selection(ws, labels, tracker)
        _demo_aggregation(ws, labels, tracker)
        from ._audit import demo_step as demo_audit
        from ._curate import demo_step as demo_curate

        demo_audit(out, step="7")
        # its own in-memory workspace: frame labels kept here would change later queues
        demo_curate(out, tracker=tracker, labels=labels, title="8. curation")
    out.print(f"\ndone in {time.perf_counter() - start:.1f} s. Explore with: "
              f"[bold]assay info {workspace}[/]")


def _demo_tracking(labels: pd.DataFrame) -> None:
    import pandas as pd

    from ..tracking import associate, identity_purity

    stripped = labels.assign(track=pd.array([pd.NA] * len(labels), dtype="Int64"))
    tracked = associate(stripped, iou=0.5)
    rows = []
    for stream, part in tracked.groupby("stream", sort=True):
        truth = labels.set_index("obs_id").loc[part["obs_id"], "track"].to_numpy()
        rows.append({
            "stream": stream,
            "boxes": len(part),
            "true tracks": int(pd.Series(truth).nunique()),
            "tracks built": int(part["track"].nunique()),
            "identity purity": identity_purity(part["track"].to_numpy(), truth),
        })
    out.print(df_table(pd.DataFrame(rows),
                       title="2. tracking: ground-truth ids removed, rebuilt by IoU + Hungarian"))


def _demo_matching(labels: pd.DataFrame, tracker: pd.DataFrame) -> None:
    import pandas as pd

    from ..geometry import iou_2d

    rows = []
    for stream in sorted(labels["stream"].unique()):
        lab = labels[labels["stream"] == stream]
        trk = tracker[tracker["stream"] == stream]
        matched_pred = matched_gt = 0
        for frame, t in trk.groupby("frame"):
            g = lab[lab["frame"] == frame]
            if len(g) == 0:
                continue
            iou = iou_2d(t[["x1", "y1", "x2", "y2"]].to_numpy(), g[["x1", "y1", "x2", "y2"]].to_numpy())
            matched_pred += int((iou.max(axis=1) >= 0.5).sum())
            matched_gt += int((iou.max(axis=0) >= 0.5).sum())
        rows.append({"stream": stream, "tracker boxes": len(trk), "label boxes": len(lab),
                     "tracker boxes on a label (IoU>=0.5)": matched_pred / max(len(trk), 1),
                     "labels found by tracker": matched_gt / max(len(lab), 1)})
    out.print(df_table(pd.DataFrame(rows), title="3. the tracker against the labels"))


def _demo_assertions(ws, tracker: pd.DataFrame) -> None:
    from ..assertions import Appear, ClassSwitch, Flicker, Gap, Multibox, check
    from ._check import counts_view, findings_view

    findings = check(tracker, [Flicker(), Gap(), Multibox(), ClassSwitch(), Appear(min_duration=0.5)],
                     workspace=ws, name="tracker")
    title = (f"4. model assertions on the tracker output: {len(findings)} findings "
             f"(run {findings.attrs.get('run_id')})")
    if len(findings):
        out.print(df_table(counts_view(findings, len(tracker)), title=title))
        out.print(df_table(findings_view(findings, 8), title="   findings, highest priority first"))
    else:
        out.print(title)


def frame_records(labels: pd.DataFrame, tracker: pd.DataFrame) -> pd.DataFrame:
    """One record per frame: the tracker's box count (a cheap model) and the labelled count."""
    from ..approx import frame_counts

    rec = frame_counts(people=labels, tracker_boxes=tracker)
    rec["proxy"] = rec["tracker_boxes"] / max(float(rec["tracker_boxes"].max()), 1.0)
    return rec[["id", "stream", "frame", "proxy", "tracker_boxes", "people"]]


def _demo_selection(ws, labels: pd.DataFrame, tracker: pd.DataFrame) -> None:
    import pandas as pd

    from ..approx import select

    rec = frame_records(labels, tracker)
    rec["busy"] = (rec["people"] >= 8).astype(int)
    truth = rec.set_index("id")["busy"]
    rows = []
    for target, method in (("recall", "assay"), ("recall", "supg++"), ("precision", "assay")):
        r = select(rec, proxy="proxy", oracle="column:busy", target=target, value=0.9, delta=0.05,
                   budget=80, method=method, seed=0, workspace=ws, name="demo_frames")
        hit = truth.loc[r.ids].sum()
        rows.append({"target": f"{target} >= 0.9", "method": method, "guarantee": r.guarantee.kind,
                     "frames returned": len(r), "labels used": r.oracle_calls,
                     "true recall": hit / max(truth.sum(), 1), "true precision": hit / max(len(r), 1)})
    out.print(df_table(pd.DataFrame(rows), title=(
        f"5. selection: frames with >= 8 people ({int(truth.sum())} of {len(rec)}), proxy = the tracker's "
        f"box count, oracle = the labels, delta 0.05, budget 80")))


def _demo_aggregation(ws, labels: pd.DataFrame, tracker: pd.DataFrame) -> None:
    import pandas as pd

    from ..approx import aggregate

    rec = frame_records(labels, tracker)
    cap = 30  # stated: no frame of these scenes holds more than 30 labelled people
    rows = []
    for method, kw in (("assay", {"error": 0.5}), ("assay", {"budget": 100}), ("uniform", {"budget": 100}),
                       ("ppi", {"budget": 100}), ("clt", {"budget": 100})):
        r = aggregate(rec, oracle="column:people", proxy="tracker_boxes", range=(0, cap), method=method,
                      seed=0, workspace=ws, name="demo_frames", **kw)
        rows.append({"asked": f"+-{kw['error']}" if "error" in kw else f"{kw['budget']} labels",
                     "method": method, "guarantee": r.guarantee.kind, "estimate": r.estimate,
                     "lower": r.lower, "upper": r.upper, "labels used": r.oracle_calls})
    out.print(df_table(pd.DataFrame(rows), title=(
        f"6. aggregation: mean labelled people per frame (truth {rec['people'].mean():.3f} over "
        f"{len(rec)} frames), proxy = the tracker's box count, range [0, {cap}], delta 0.05")))
