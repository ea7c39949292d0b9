"""Model assertions on a pedestrian detector's output: the paper's video example.

Nobody can watch all the video a detector sees, but its outputs (boxes per frame) are
small. Built-in assertions find the errors a person would spot in a second:

- ``Flicker``: a box with no overlapping box in the previous or the next frame;
- ``Gap``: boxes at t and t+2 that overlap, with nothing at t+1 (proposes the missing box);
- ``Multibox``: three boxes overlapping one another (the paper's NoMultipleOverlap);
- ``Appear``: a track shorter than half a second (after linking boxes into tracks).

Data: the Faster R-CNN detections ``det.txt`` of the MOT15 sequences in
``../shared/data/mot15`` (or ``$ASSAY_SHARED_DATA/mot15``); without that folder, the
built-in demo data (a real tracker's output on TUD-Campus, shipped with ``motmetrics``).

    python examples/video_mot.py [SEQUENCE ...]

``benchmarks/bench_assertions.py`` measures how many of these findings are real errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from assay.assertions import Appear, Flicker, Gap, Multibox, check
from assay.io import demo_path, read_mot
from assay.tracking import associate


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


def load(names: list[str]) -> tuple[pd.DataFrame, str]:
    root = shared_data() / "mot15"
    if root.is_dir():
        if names:
            det = pd.concat([read_mot(root / n, kind="det") for n in names], ignore_index=True)
            det["obs_id"] = range(len(det))  # obs_id must be unique across the streams
        else:  # the dataset root: every sequence, one stream each
            det = read_mot(root, kind="det")
        # Detections have no track ids: link them (IoU + Hungarian) so Appear can run.
        n = det["stream"].nunique()
        return associate(det), f"Faster R-CNN detections on {n} MOT15 sequences ({root})"
    if names:
        sys.exit(f"no MOT15 data at {root}; set ASSAY_SHARED_DATA, or run without arguments "
                 "for the built-in demo data")
    tracker = read_mot(demo_path("TUD-Campus", "tracker"), kind="gt", fps=25)
    return tracker, f"built-in demo data: a tracker's output on TUD-Campus ({root} not found)"


def main() -> None:
    obs, what = load(sys.argv[1:])
    print(f"{what}: {len(obs):,} boxes, {obs['stream'].nunique()} streams, "
          f"{obs.groupby('stream')['frame'].nunique().sum():,} frames\n")
    # Detections here have been through non-maximum suppression at about IoU 0.3, so
    # Multibox's default (0.3) cannot fire; 0.1 finds the stacks that survived it.
    assertions = [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=0.5)]
    findings = check(obs, assertions)

    counts = findings.groupby("assertion").agg(findings=("severity", "size"),
                                               boxes=("obs_ids", lambda s: sum(map(len, s))))
    for a in assertions:
        if a.name not in counts.index:
            counts.loc[a.name] = (0, 0)
    print("findings per assertion (boxes = observations named by the findings):")
    print(counts.to_string() + "\n")

    top = findings.head(15).assign(
        obs_ids=lambda f: f["obs_ids"].map(lambda o: str(o) if len(o) <= 4 else f"{o[:3]} ... ({len(o)})"),
        evidence=lambda f: f["evidence"].str.slice(0, 60),
    )
    print("most severe findings:")
    print(top[["assertion", "stream", "frame_start", "frame_end", "obs_ids", "severity", "evidence"]]
          .round({"severity": 3}).to_string(index=False) + "\n")

    gap = findings[findings["assertion"] == "gap"]
    if len(gap):
        print("a Gap finding proposes the missing box (a weak label, never applied silently):")
        print(gap["fix"].iloc[0])


if __name__ == "__main__":
    main()
