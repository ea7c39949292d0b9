"""Workspaces to report on, built with the public API from the built-in MOT15 data (real
tracker output and ground truth of TUD-Campus and TUD-Stadtmitte)."""

from __future__ import annotations

import pandas as pd
import pytest

import assay
from assay.assertions import Appear, Flicker, Gap, check
from assay.cli._demo import frame_records, load_demo

SIZES = {"TUD-Campus": [640, 480], "TUD-Stadtmitte": [640, 480]}


#: Boxes no tracker would keep: one frame each, away from everything (flicker findings).
SPURIOUS = [("TUD-Campus", 10), ("TUD-Campus", 30), ("TUD-Campus", 50),
            ("TUD-Stadtmitte", 20), ("TUD-Stadtmitte", 40), ("TUD-Stadtmitte", 60)]


def make_demo_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The built-in ground truth and tracker output, the tracker with a few spurious boxes."""
    labels, tracker = load_demo()
    extra = tracker.iloc[[0] * len(SPURIOUS)].reset_index(drop=True)
    extra["stream"] = pd.array([s for s, _ in SPURIOUS], dtype=tracker["stream"].dtype)
    extra["frame"] = [f for _, f in SPURIOUS]
    extra["time"] = extra["frame"] / 25.0
    extra["obs_id"] = range(len(tracker), len(tracker) + len(SPURIOUS))
    extra["track"] = pd.array(range(9000, 9000 + len(SPURIOUS)), dtype=tracker["track"].dtype)
    extra[["x1", "y1", "x2", "y2"]] = [5.0, 5.0, 45.0, 70.0]
    tracker = assay.validate(pd.concat([tracker, extra], ignore_index=True), "observations")
    labels.attrs["image_sizes"] = dict(SIZES)
    tracker.attrs["image_sizes"] = dict(SIZES)
    return labels, tracker


@pytest.fixture(scope="session")
def demo_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_demo_tables()


def add_tables(ws: assay.Workspace, demo_tables) -> pd.DataFrame:
    labels, tracker = demo_tables
    ws.add("gt", labels, replace=True)
    ws.add("det", tracker, replace=True)
    return ws.read("det")


def add_check_runs(ws: assay.Workspace, det: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two check runs on ``det``: the second with a stricter flicker and no appear."""
    first = check(det, [Flicker(), Gap(), Appear(min_duration=0.5)], workspace=ws, name="det")
    second = check(det, [Flicker(iou=0.5), Gap()], workspace=ws, name="det")
    return first, second


def add_audit(ws: assay.Workspace, demo_tables) -> str:
    """An audit run as ``assay audit`` stores it."""
    from assay.audit import find_missing_labels
    from assay.store.identity import describe_input

    labels, _ = demo_tables
    det, gt = ws.read("det"), ws.read("gt")
    # hide a labelled person per stream, so the audit has something real to find
    hidden = gt.loc[gt["track"].isin(gt.groupby("stream")["track"].min())]
    gt = gt.loc[~gt["obs_id"].isin(hidden["obs_id"])]
    run = ws.start_run("audit", {"predictions": "det", "labels": "gt", "method": "fixy"},
                       inputs=[describe_input("predictions", det), describe_input("labels", gt)])
    found = find_missing_labels(det, gt, method="fixy")
    found["run_id"] = pd.array([run] * len(found), dtype=found["run_id"].dtype)
    ws.add_findings(found, run_id=run)
    ws.finish_run(run, "ok", {"findings": len(found)})
    return run


def add_campaign(ws: assay.Workspace, det: pd.DataFrame, findings: pd.DataFrame) -> None:
    from assay.curate import Campaign, import_verdicts

    campaign = Campaign(ws, "night", strategy="bal", seed=0)
    queue = campaign.next_round(det, findings, budget=6, table="det")
    verdicts = [{"stream": s, "frame": int(f), "obs_id": int(o),
                 "verdict": "rejected" if k % 2 else "accepted"}
                for k, (s, f, ids) in enumerate(zip(queue["stream"], queue["frame"], queue["obs_ids"],
                                                    strict=True)) for o in ids]
    import_verdicts(verdicts, ws, campaign="night")
    campaign.next_round(det, findings, budget=6, table="det")


def add_curves(ws: assay.Workspace) -> None:
    """Learning curves of a small simulation, stored as a table."""
    from assay.curate import simulate

    frames = pd.DataFrame({"stream": "cam", "frame": range(1, 21)})
    preds = assay.as_observations(pd.DataFrame({
        "frame": [2, 7, 12, 17], "cls": "car", "x1": [0.0, 100, 200, 300], "y1": 0.0,
        "x2": [10.0, 110, 210, 310], "y2": 10.0, "score": 0.6}), stream="cam", source="model", fps=1)
    result = simulate(preds.iloc[:0], frames=frames, retrain=lambda lab, rev, rng: set(lab["frame"]),
                      predict=lambda m: preds.loc[~preds["frame"].isin(m)],
                      evaluate=lambda m: len(m & {2, 7, 12, 17}) / 4, assertions=[Flicker()],
                      strategies=["random", "bal"], rounds=2, budget=2, initial=0, seeds=2)
    ws.add("curate.sim.curves", result.curves, kind="table")


def add_queries(ws: assay.Workspace, demo_tables) -> None:
    from assay.approx import aggregate, select

    labels, tracker = demo_tables
    rec = frame_records(labels, tracker)
    rec["busy"] = (rec["people"] >= 8).astype(int)
    aggregate(rec, oracle="column:people", proxy="tracker_boxes", range=(0, 30), error=0.5,
              seed=0, workspace=ws, name="frames")
    aggregate(rec, oracle="column:people", proxy="tracker_boxes", range=(0, 30), budget=60,
              method="clt", seed=0, workspace=ws, name="frames")
    select(rec, proxy="proxy", oracle="column:busy", target="recall", value=0.9, delta=0.05,
           budget=60, seed=0, workspace=ws, name="frames")


@pytest.fixture(scope="session")
def full_workspace(tmp_path_factory, demo_tables):
    """A workspace file holding every kind of thing a report shows."""
    path = tmp_path_factory.mktemp("report") / "full.duckdb"
    with assay.Workspace(path) as ws:
        det = add_tables(ws, demo_tables)
        first, _ = add_check_runs(ws, det)
        add_audit(ws, demo_tables)
        add_campaign(ws, det, first)
        add_curves(ws)
        add_queries(ws, demo_tables)
        ws.checkpoint()
    return path


@pytest.fixture(scope="session")
def full_report(full_workspace) -> str:
    return assay.report(full_workspace, threshold=0.02, top=5)
