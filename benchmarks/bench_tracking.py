"""Identity purity of `assay.tracking.associate` on MOT15 ground truth.

For each sequence in ../shared/data/mot15: read gt.txt, forget the ids, link the boxes again
with `associate`, and compare with the true ids:

- purity: fraction of boxes whose assigned track's most common true id is their own (falls
  when a track jumps between people);
- completeness: the same with roles swapped (falls when a person's boxes are split over
  several tracks);
- tracks / ids: number of assigned tracks and of true ids.

Prints a markdown table. Run from the repository root:

    python benchmarks/bench_tracking.py [--motion constant_velocity|none] [--iou 0.5]
        [--max-gap 1.0] [--data PATH] [--kitti]

With --kitti it also links the KITTI tracking labels by their 3-D boxes (bird's-eye view).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from assay.io import read_mot
from assay.tracking import associate, identity_purity

SEQUENCES = ("ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Campus", "Venice-2")


def data_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("ASSAY_SHARED_DATA", default))


def timed(func, *args, repeat: int = 3, **kwargs):
    """Result of ``func(*args, **kwargs)`` and its best wall time over ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = func(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return result, best


def run(seq_dir: Path, **options) -> dict:
    gt = read_mot(seq_dir / "gt.txt", kind="gt")
    truth = gt["track"].to_numpy()
    blind = gt.drop(columns="track")
    linked, seconds = timed(associate, blind, **options)
    assigned = linked["track"].to_numpy()
    return {
        "sequence": seq_dir.name,
        "fps": gt.attrs.get("fps", float("nan")),
        "boxes": len(gt),
        "frames": gt["frame"].nunique(),
        "ids": len(np.unique(truth)),
        "tracks": len(np.unique(assigned)),
        "purity": identity_purity(assigned, truth),
        "completeness": identity_purity(truth, assigned),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    parser.add_argument("--motion", default="constant_velocity",
                        choices=["constant_velocity", "none"])
    parser.add_argument("--iou", type=float, default=0.5)
    parser.add_argument("--max-gap", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=None, help="folder holding mot15/")
    parser.add_argument("--kitti", action="store_true",
                        help="also link the KITTI tracking labels by bird's-eye-view IoU")
    args = parser.parse_args()
    root = (args.data or data_dir()) / "mot15"
    if not root.is_dir():
        raise SystemExit(f"no MOT15 data at {root}; set ASSAY_SHARED_DATA or pass --data")
    options = {"iou": args.iou, "max_gap": args.max_gap, "motion": args.motion}
    rows = [run(root / seq, **options) for seq in SEQUENCES if (root / seq).is_dir()]
    print(f"associate({', '.join(f'{k}={v!r}' for k, v in options.items())}) on MOT15 gt.txt\n")
    print("| sequence | fps | frames | boxes | true ids | tracks | purity | completeness "
          "| time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['sequence']} | {r['fps']:g} | {r['frames']} | {r['boxes']} | {r['ids']} | "
              f"{r['tracks']} | {r['purity']:.4f} | {r['completeness']:.4f} | {r['seconds']:.3f} |")
    boxes = sum(r["boxes"] for r in rows)
    pooled = sum(r["purity"] * r["boxes"] for r in rows) / boxes
    print(f"\nall {boxes} boxes: purity {pooled:.4f}, "
          f"{boxes / sum(r['seconds'] for r in rows):,.0f} boxes/s (best of 3, one process)")
    kitti = root.parent / "kitti" / "label_02"
    if args.kitti and kitti.is_dir():
        bev_table(kitti, args.motion)


def bev_table(folder: Path, motion: str) -> None:
    """Bird's-eye-view linking of the KITTI tracking labels, at several IoU thresholds."""
    from assay.io import read_kitti_tracking

    labels = read_kitti_tracking(folder)
    truth = (labels["stream"] + ":" + labels["track"].astype(str)).to_numpy()
    blind = labels.drop(columns="track")
    print(f"\nassociate(box=..., motion={motion!r}) on KITTI tracking labels "
          f"({len(labels)} boxes, {len(np.unique(truth))} true ids, z-up ego frame)\n")
    print("| box | iou | tracks | purity | completeness | time (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for box, iou in (("2d", 0.5), ("bev", 0.5), ("bev", 0.25), ("bev", 0.1), ("bev", 0.01)):
        linked, seconds = timed(associate, blind, box=box, iou=iou, motion=motion, repeat=1)
        assigned = linked["track"].to_numpy()
        pure, complete = identity_purity(assigned, truth), identity_purity(truth, assigned)
        print(f"| {box} | {iou} | {len(np.unique(assigned))} | {pure:.4f} | {complete:.4f} "
              f"| {seconds:.2f} |")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import tee_to_docs

    with tee_to_docs("tracking", "Tracking: identity purity on MOT15 ground truth with ids removed", "--write" in sys.argv):
        main()
