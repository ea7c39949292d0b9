"""Objects the labelers missed, and tracks that cannot be right: learned observation
assertions (Fixy, the paper's section 4.2) on KITTI.

1. Hide a fifth of the labeled cars of every KITTI sequence, then ask
   ``find_missing_labels`` for the PointRCNN tracks that no label covers. Fixy ranks them by
   how much they look like real cars (box size and shape, track duration, confidence; the
   boxes move with the car that films them, so speed says little here), with priors fit on
   the *other* sequences; the paper's
   consistency assertion ranks boxes by confidence. Reading the top 5 of each sequence, how
   many hidden cars does each find (each car counted once)?
2. ``find_unlikely_tracks``: the model's tracks a prior fit on the labels finds least
   plausible, with the observation that makes them so (the prior's default features: box
   size, shape and track duration; KITTI has no ego poses, so motion would be measured
   from the moving car and is left out).

    python examples/label_audit.py

Needs ``../shared/data/kitti`` (or ``$ASSAY_SHARED_DATA/kitti``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from assay.audit import find_missing_labels, find_unlikely_tracks
from assay.geometry import iou_bev_paired
from assay.io import read_kitti_detections, read_kitti_tracking
from assay.learned import DensityPrior


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


def found_hidden(findings, pred, hidden, top: int) -> int:
    """Hidden cars that the first ``top`` candidates of each stream overlap (each once)."""
    ids = np.concatenate(findings.groupby("stream", sort=False).head(top)["obs_ids"].tolist())
    boxes = pred.set_index("obs_id").loc[ids].reset_index()
    bev = ["x", "y", "l", "w", "yaw"]
    pairs = boxes.merge(hidden, on=["stream", "frame"], suffixes=("", "_h"))
    iou = iou_bev_paired(pairs[bev].to_numpy(), pairs[[c + "_h" for c in bev]].to_numpy())
    found = pairs.loc[iou >= 0.3, ["stream", "track_h"]].drop_duplicates()
    return len(found)


def main() -> None:
    data = shared_data() / "kitti"
    if not data.is_dir():
        sys.exit(f"needs the KITTI data in {data}")
    labels = read_kitti_tracking(data / "label_02")
    pred = read_kitti_detections(data / "pointrcnn")
    pred = pred[pred["cls"] == "Car"].reset_index(drop=True)

    rng = np.random.default_rng(7)
    cars = labels[labels["cls"] == "Car"]
    hide = {(s, int(t)) for s, tracks in cars.groupby("stream")["track"].unique().items()
            for t in rng.choice(np.asarray(tracks, dtype=int), max(1, round(0.2 * len(tracks))), replace=False)}
    key = list(zip(labels["stream"], labels["track"].astype(int), strict=True))
    mask = np.array([k in hide for k in key]) & (labels["cls"] == "Car").to_numpy()
    audited, hidden = labels[~mask], labels[mask]
    print(f"hid {len(hide)} of {cars.groupby('stream')['track'].nunique().sum()} labeled cars "
          f"in {labels['stream'].nunique()} sequences\n")

    for method in ("fixy", "confidence"):
        found = find_missing_labels(pred, audited, method=method, box="bev")
        n = found_hidden(found, pred, hidden, top=5)
        print(f"{method:>10}: {len(found):5d} candidates; the top 5 of each sequence find {n} hidden cars")

    found = find_missing_labels(pred, audited, method="fixy", box="bev", top=3)
    print("\nthe first three Fixy candidates, with their evidence:")
    for r in found.itertuples():
        ev = json.loads(r.evidence)
        factors = ", ".join(f"{k[3:]} {v:+.1f}" for k, v in ev.items() if k.startswith("ll_") and v is not None)
        print(f"  {r.stream} frames {r.frame_start}-{r.frame_end} ({len(r.obs_ids)} boxes): "
              f"{ev['volume']:.1f} m^3, {ev['duration_s']:.1f} s; factors {factors}")

    prior = DensityPrior().fit(labels)
    odd = find_unlikely_tracks(pred, prior, min_track_length=3, top=5)
    print("\nthe least plausible PointRCNN car tracks (at least 3 boxes) under a prior fit on the labels:")
    for r in odd.itertuples():
        ev = json.loads(r.evidence)
        at = f" at frame {ev['worst_frame']}" if ev["worst_frame"] >= 0 else ""
        print(f"  {r.stream} frames {r.frame_start}-{r.frame_end}: median volume {ev['volume']:.1f} m^3, "
              f"aspect {ev['aspect']:.2f}; least likely: {ev['worst_feature']} {ev['worst_value']:.2f}"
              f"{at} ({ev['worst_ll']:+.1f})")


if __name__ == "__main__":
    main()
