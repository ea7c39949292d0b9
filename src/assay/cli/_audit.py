"""``assay audit``: rank model outputs that no label covers (candidate missing labels)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ._common import AssayCommand, about, emit_json, engine_options, open_workspace
from ._main import DEFAULT_WORKSPACE, df_table, notes, out

if TYPE_CHECKING:
    import pandas as pd


def candidates_view(findings: pd.DataFrame, top: int) -> pd.DataFrame:
    """The columns a reviewer needs to find each candidate in the video."""
    import numpy as np
    import pandas as pd

    view = findings.head(top)
    ev = [json.loads(t) for t in view["evidence"]]

    def reasons(e: dict) -> str:
        factors = {k[3:]: v for k, v in e.items() if k.startswith("ll_") and v is not None}
        if not factors:
            return ""
        ranked = sorted(factors.items(), key=lambda kv: kv[1])
        worst, best = ranked[0], ranked[-1]
        return f"+{best[0]} {best[1]:.1f}, -{worst[0]} {worst[1]:.1f}"

    def ids(v) -> str:
        s = ",".join(map(str, v[:4]))
        return s + ("..." if len(v) > 4 else "")

    return pd.DataFrame({
        "rank": np.arange(1, len(view) + 1),
        "stream": view["stream"].to_numpy(dtype=object),
        "frames": [f"{a}" if a == b else f"{a}-{b}"
                   for a, b in zip(view["frame_start"], view["frame_end"], strict=True)],
        "cls": [e.get("cls", "") for e in ev],
        "boxes": view["obs_ids"].map(len).to_numpy(),
        "score": [e.get("score") for e in ev],
        "strongest / weakest factor": [reasons(e) for e in ev],
        "duplicate of": [("" if e.get("duplicate_of_track") is None else f"track {int(e['duplicate_of_track'])}")
                         for e in ev],
        "obs_ids": view["obs_ids"].map(ids).to_numpy(),
    })


@click.command(cls=AssayCommand)
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True, help="Workspace file.")
@click.option("--predictions", "-p", required=True, help="Table of model outputs in the workspace.")
@click.option("--labels", "-l", required=True, help="Table of human labels in the workspace.")
@click.option("--method", "-m", default="fixy", show_default=True,
              type=click.Choice(["fixy", "confidence", "random"]),
              help="fixy: tracks ranked by learned priors; confidence: boxes by score; random.")
@click.option("--iou", type=float, default=0.3, show_default=True,
              help="Least IoU for a prediction to count as covered by a label.")
@click.option("--box", default="auto", show_default=True, type=click.Choice(["auto", "2d", "bev"]),
              help="Boxes to compare: image (2d) or bird's-eye view of 3-D boxes (bev).")
@click.option("--classes", help="Comma-separated classes of predictions to audit (default all).")
@click.option("--holdout", default="stream", show_default=True, type=click.Choice(["stream", "none"]),
              help="Score each stream with priors fit on the other streams (stream) or on all.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --method random.")
@click.option("--top", type=int, default=20, show_default=True, help="Candidates to print.")
@click.option("--json", "as_json", is_flag=True, help="Print the run and the top candidates as JSON.")
@engine_options(groups=False)
def audit(workspace, predictions, labels, method, iou, box, classes, holdout, seed, top, as_json,
          engine, address):
    """Find objects the labelers missed: model outputs no label covers, most likely first.

    The candidates are stored as findings of a new run (`assay findings RUN` exports them).

    \b
    Example:
      assay audit -w assay.duckdb --predictions det --labels gt --method fixy
    """
    import pandas as pd

    from ..audit import find_missing_labels
    from ..store.identity import describe_input

    with open_workspace(workspace) as ws, notes.status("auditing labels"):
        with about("--predictions", predictions):
            pred = ws.read(predictions)
        with about("--labels", labels):
            lab = ws.read(labels)
        params = {"predictions": predictions, "labels": labels, "method": method, "iou": iou,
                  "box": box, "holdout": holdout, "seed": seed,
                  "classes": classes.split(",") if classes else None}
        run_id = ws.start_run("audit", params, inputs=[
            describe_input("predictions", pred), describe_input("labels", lab)])
        try:
            found = find_missing_labels(
                pred, lab, method=method, iou=iou, box=box, holdout=holdout, seed=seed,
                classes=[c.strip() for c in classes.split(",")] if classes else None,
                engine=engine, address=address)
        except Exception as e:
            ws.finish_run(run_id, "failed", {"error": str(e)})
            raise
        found["run_id"] = pd.array([run_id] * len(found), dtype=found["run_id"].dtype)
        ws.add_findings(found, run_id=run_id)
        ws.finish_run(run_id, "ok", {"findings": len(found),
                                     "seconds": round(found.attrs.get("seconds", 0.0), 3)})
    if as_json:
        emit_json({"run_id": run_id, "candidates": len(found), "predictions": len(pred),
                   "labels": len(lab), "top": found.head(top).to_dict(orient="records")})
        return
    unit = "tracks" if method == "fixy" else "boxes"
    out.print(df_table(candidates_view(found, top),
                       title=f"top {min(top, len(found))} of {len(found)} candidate missing labels "
                             f"({unit} no label covers, {method})", max_rows=top))
    out.print(f"run [bold]{run_id}[/] stored in {workspace}: {len(found)} candidates; "
              f"{len(pred):,} predictions vs {len(lab):,} labels")


def demo_step(console, *, step: str = "6") -> None:
    """The audit step of ``assay demo``: hide one labeled person per sequence of the
    built-in MOT15 data, then let Fixy find them among the tracker's unlabeled output."""
    import numpy as np

    from ..audit import find_missing_labels
    from ..audit._overlap import frame_pairs
    from ._demo import load_demo

    labels, tracker = load_demo()
    rng = np.random.default_rng(0)
    hidden = {}
    for stream, part in labels.groupby("stream", sort=True):
        lengths = part.groupby("track").size()
        long_enough = lengths[lengths >= 10].index.to_numpy()
        hidden[stream] = int(rng.choice(long_enough))
    key = labels["stream"].map(hidden).to_numpy()
    audited = labels[labels["track"].to_numpy() != key]
    found = find_missing_labels(tracker, audited, method="fixy", top=5)
    hid = labels[labels["track"].to_numpy() == key].reset_index(drop=True)
    truth = []
    for ids in found["obs_ids"]:
        boxes = tracker.set_index("obs_id").loc[ids].reset_index()
        _, _, iou = frame_pairs(boxes, hid, kind="2d")
        truth.append("yes" if (iou >= 0.3).any() else "no")
    view = candidates_view(found, 5).assign(**{"hidden person?": truth})
    console.print(df_table(
        view.drop(columns=["obs_ids", "duplicate of"]),
        title=f"{step}. label audit: one labeled person hidden per sequence "
              f"({', '.join(f'{s} #{t}' for s, t in hidden.items())}); Fixy ranks the "
              "tracker's unlabeled tracks"))
