"""Choosing what to label with assertions: a BAL campaign on a pedestrian detector (the paper,
section 4.1).

A small model (a logistic-regression *rescorer*, a few lines of numpy: assay leaves training to
you) decides which Faster R-CNN detections are real. Each round:

1. the model's output (detections it keeps) goes through the assertions;
2. a BAL campaign, stored in a workspace, queues frames to label: each assertion is an arm,
   rewarded when its firings drop after retraining, most severe findings first;
3. the queue is exported as Label Studio tasks (predictions as pre-annotations);
4. a reviewer's verdicts come back (here simulated from ``gt.txt``) and are imported: oracle
   labels, labeled frames, and each assertion's precision as reviewers judged it;
5. the model is retrained on every labeled frame.

Data: MOT15 PETS09-S2L1 and TUD-Campus in ``../shared/data`` (or ``$ASSAY_SHARED_DATA``).

    python examples/active_learning.py

``benchmarks/bench_curate.py`` runs the full experiment (BAL variants against random, uncertainty
sampling and an error-oracle control, many seeds, AP on later frames of the same sequences).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from assay import Workspace
from assay.assertions import Appear, Flicker, Gap, Multibox, check
from assay.curate import Campaign, assertion_precision, import_verdicts, to_labelstudio
from assay.geometry import iou_2d
from assay.io import read_mot, read_seqinfo
from assay.tracking import associate

SEQUENCES = ("PETS09-S2L1", "TUD-Campus")
BOX = ["x1", "y1", "x2", "y2"]


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


def load() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    root = shared_data() / "mot15"
    if not root.is_dir():
        sys.exit(f"needs the MOT15 data in {root} (set ASSAY_SHARED_DATA)")
    det = pd.concat([read_mot(root / s / "det.txt", kind="det") for s in SEQUENCES], ignore_index=True)
    gt = pd.concat([read_mot(root / s / "gt.txt", kind="gt") for s in SEQUENCES], ignore_index=True)
    det["obs_id"] = np.arange(len(det))
    sizes = {s: (read_seqinfo(root / s / "seqinfo.ini")["width"], read_seqinfo(root / s / "seqinfo.ini")["height"])
             for s in SEQUENCES}
    return associate(det, iou=0.3), gt, sizes


def features(det: pd.DataFrame) -> np.ndarray:
    """Confidence, box height and the track's length: what the rescorer sees."""
    h = (det["y2"] - det["y1"]).to_numpy()
    length = det.groupby("track")["frame"].transform("size").to_numpy()
    return np.column_stack([np.ones(len(det)), det["score"].to_numpy(), np.log(h), np.log(length)])


def fit(X: np.ndarray, y: np.ndarray, steps: int = 500) -> np.ndarray:
    """Logistic regression by gradient descent (standardized features, a little L2)."""
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-X @ w))
        w -= 0.5 * (X.T @ (p - y) / len(y) + 1e-3 * w)
    return w


def reviewer(queue: pd.DataFrame, preds: pd.DataFrame, gt: pd.DataFrame) -> list[dict]:
    """A reviewer simulated from gt.txt: a kept box on a person is accepted, else rejected; a
    person no kept box covers is added."""
    verdicts = []
    for stream, frame in zip(queue["stream"].astype(str), queue["frame"], strict=True):
        p = preds[(preds["stream"] == stream) & (preds["frame"] == frame)]
        g = gt[(gt["stream"] == stream) & (gt["frame"] == frame)]
        iou = iou_2d(p[BOX].to_numpy(), g[BOX].to_numpy()) if len(p) and len(g) else np.zeros((len(p), len(g)))
        best = iou.max(axis=1) if len(g) else np.zeros(len(p))
        verdicts += [{"stream": stream, "frame": int(frame), "obs_id": int(o),
                      "verdict": "accepted" if b >= 0.5 else "rejected"}
                     for o, b in zip(p["obs_id"], best, strict=True)]
        missed = g[(iou.max(axis=0) if len(p) else np.zeros(len(g))) < 0.5]
        verdicts += [{"stream": stream, "frame": int(frame), "verdict": "added", "cls": "pedestrian",
                      "box": box} for box in missed[BOX].to_numpy().tolist()]
    return verdicts


def main() -> None:
    det, gt, sizes = load()
    # which detections are real (on a gt box at IoU >= 0.5): revealed only for labeled frames
    real = np.zeros(len(det))
    for (stream, frame), d in det.groupby(["stream", "frame"]):
        g = gt[(gt["stream"] == stream) & (gt["frame"] == frame)]
        if len(g):
            real[d.index] = iou_2d(d[BOX].to_numpy(), g[BOX].to_numpy()).max(axis=1) >= 0.5
    X = features(det)
    mu, sd = X[:, 1:].mean(axis=0), X[:, 1:].std(axis=0)
    X[:, 1:] = (X[:, 1:] - mu) / sd
    assertions = [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=0.5)]
    print(f"{len(det):,} detections on {', '.join(SEQUENCES)}; {real.mean():.1%} of them real\n")

    w = np.array([0.0, 1.0, 0.0, 0.0])  # before any label: keep boxes scored above the mean
    with Workspace() as ws, tempfile.TemporaryDirectory() as tmp:
        camp = Campaign(ws, "pets", strategy="bal", seed=0)
        for round_ in range(3):
            keep = 1 / (1 + np.exp(-X @ w)) >= 0.5
            preds = det.loc[keep]
            findings = check(preds, assertions)
            tasks = Path(tmp) / f"round{round_}.json"
            # the round is kept only once its tasks are written (a failed export keeps nothing)
            queue = camp.next_round(preds, findings, budget=25, export=lambda q, o, tasks=tasks:
                                    to_labelstudio(q, o, tasks, image_size=sizes))
            counts = import_verdicts(reviewer(queue, preds, gt), ws, campaign="pets")
            labeled = camp.labeled_frames()
            rows = det.set_index(["stream", "frame"]).index.isin(
                pd.MultiIndex.from_frame(labeled.astype({"stream": str})))
            w = fit(X[rows], real[rows])
            r = camp.rounds().query(f"round == {round_}")
            acc = ((1 / (1 + np.exp(-X @ w)) >= 0.5) == real).mean()
            print(f"round {round_}: {len(findings)} findings "
                  f"({', '.join(f'{a} {f}' for a, f in zip(r['arm'], r['firings'], strict=True))}); "
                  f"rewards {dict(zip(r['arm'], r['reward'].round(3), strict=True))}")
            print(f"  queued {len(queue)} frames ({queue['reason'].value_counts().to_dict()}); reviewer: "
                  f"{counts['accepted']} accepted, {counts['rejected']} rejected, {counts['added']} added; retrained on "
                  f"{rows.sum():,} detections of {len(labeled)} frames: accuracy {acc:.3f}")
        print("\nassertion precision as judged by the reviewer (a frame confirms its assertion when a "
              "box it flagged there was wrong, or, for a gap, a missed person was added):")
        print(assertion_precision(ws).to_string(index=False))


if __name__ == "__main__":
    main()
