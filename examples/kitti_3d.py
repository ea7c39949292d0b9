"""Flying cars and impossible speeds: model assertions on a 3-D detector (the paper's
autonomous-vehicle example, section 3.2).

PointRCNN's 3-D boxes on ten KITTI tracking sequences, in assay's z-up ego frame (origin
at the camera, about 1.65 m above the road, so the road is at z = -1.65):

- ``Flying``: a box whose bottom is more than ``max_height`` metres above the road. The
  paper's 10 m never fires on real data; 2 m does, and those boxes are nearly all wrong.
- ``TooFast``: a track moving faster than ``max_speed`` between consecutive frames, after
  linking boxes into tracks by their bird's-eye-view overlap. Speeds are relative to the
  (moving) recording car, so a parked car passed at 15 m/s moves at 15 m/s; 40 m/s is
  beyond what traffic here does.

Only boxes with probability >= 0.5 are monitored (PointRCNN also writes many low-score
boxes). ``benchmarks/bench_assertions.py`` measures the precision of these findings against
the KITTI labels.

    python examples/kitti_3d.py

Needs ``../shared/data/kitti/pointrcnn`` (or ``$ASSAY_SHARED_DATA/kitti/pointrcnn``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assay.assertions import Flying, TooFast, check
from assay.io import read_kitti_detections
from assay.tracking import associate

GROUND = -1.65  # metres: the road, in the z-up frame whose origin is KITTI's camera


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


def main() -> None:
    folder = shared_data() / "kitti" / "pointrcnn"
    if not folder.is_dir():
        sys.exit(f"this example needs the PointRCNN detections in {folder}; set ASSAY_SHARED_DATA "
                 "to the folder holding kitti/pointrcnn (there is no built-in 3-D demo data)")
    det = read_kitti_detections(folder)
    det = det[det["score"] >= 0.5].reset_index(drop=True)
    print(f"PointRCNN: {len(det):,} boxes with probability >= 0.5, {det['stream'].nunique()} "
          f"sequences, classes {det['cls'].value_counts().to_dict()}\n")

    # Link boxes into tracks by bird's-eye-view IoU: 3-D objects move by more than their own
    # size between frames relative to a moving sensor, so a low IoU threshold links better.
    tracks = associate(det, box="bev", iou=0.1)

    print("Flying(ground=-1.65), by max_height:")
    for height in (10.0, 3.0, 2.0, 1.0):
        found = check(det, [Flying(max_height=height, ground=GROUND)])
        print(f"  max_height={height:>4} m: {len(found):5,} boxes")
    print("TooFast(), by max_speed (m/s, ego frame):")
    for speed in (53.6, 40.0, 30.0):
        found = check(tracks, [TooFast(max_speed=speed)])
        print(f"  max_speed={speed:>4}: {len(found):5,} steps")

    findings = check(tracks, [Flying(max_height=2.0, ground=GROUND), TooFast(max_speed=40.0)])
    cols = ["assertion", "stream", "frame_start", "frame_end", "obs_ids", "track", "severity", "evidence"]
    print("\nmost severe findings of Flying(max_height=2) and TooFast(max_speed=40):")
    print(findings[cols].head(12).round({"severity": 2}).to_string(index=False))
    box = det.loc[det["obs_id"] == findings["obs_ids"].iloc[0][0],
                  ["stream", "frame", "cls", "score", "x", "y", "z", "l", "w", "h"]]
    print("\nthe first one's box (z is the box centre, metres):")
    print(box.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
