"""Real video, a real detector, real findings: OpenCV's pedestrian video and its HOG people
detector, checked by assay's assertions.

    python examples/pedestrians_video.py [VIDEO] [--out FOLDER] [--frames N]

VIDEO defaults to OpenCV's sample ``vtest.avi`` (795 frames of people walking, no labels), as
Debian's ``opencv-doc`` package installs it. The frames become a MOTChallenge sequence
(``assay.io.video_frames``), the HOG people detector that OpenCV 4 ships finds people in each
(``pip install 'assay[video]'``), and the detections go through the same path as any
detector's: ingest, the video assertions, findings to review with their pictures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import assay
from assay.assertions import Appear, Flicker, Gap, Multibox, check
from assay.io import read_mot, read_seqinfo, video_frames, write_mot

SAMPLE = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def detect_people(sequence: Path) -> pd.DataFrame:
    """HOG + linear SVM people detection on every frame of a MOT sequence folder."""
    import cv2

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    info = read_seqinfo(sequence / "seqinfo.ini")
    rows = []
    for image in sorted((sequence / "img1").glob("*.jpg")):
        frame = int(image.stem)
        boxes, margins = hog.detectMultiScale(cv2.imread(str(image)), winStride=(8, 8),
                                              padding=(8, 8), scale=1.05)
        for (x, y, w, h), m in zip(boxes, np.ravel(margins), strict=True):
            # the SVM margin as a probability-like score in (0, 1)
            rows.append((frame, float(x), float(y), float(x + w), float(y + h), 1 / (1 + np.exp(-m))))
    table = pd.DataFrame(rows, columns=["frame", "x1", "y1", "x2", "y2", "score"])
    return assay.as_observations(table.assign(cls="pedestrian"), stream=info["name"],
                                 source="model:hog", fps=info["fps"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", type=Path, default=SAMPLE)
    ap.add_argument("--out", type=Path, help="folder to keep the sequence in (default: a temp folder)")
    ap.add_argument("--frames", type=int, default=80, help="frames to take (every second one)")
    args = ap.parse_args()
    if not args.video.is_file():
        print(f"no video at {args.video}: install Debian's opencv-doc (apt-get install opencv-doc) "
              "or pass a video file", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp())
    sequence = video_frames(args.video, out, stream="vtest", step=2, limit=args.frames)
    detections = detect_people(sequence)
    write_mot(detections, sequence / "det.txt")
    det = read_mot(sequence, kind="det")  # as any MOT detector's output reads
    findings = check(det, [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=1.0)])
    tracked = check(assay.tracking.associate(det, iou=0.3), [Appear(min_duration=1.0)])
    print(f"{len(det)} HOG detections in {det['frame'].nunique()} frames of {args.video.name} "
          f"({det.attrs['image_sizes']['vtest'][0]}x{det.attrs['image_sizes']['vtest'][1]})")
    print(findings.groupby("assertion").size().rename("findings").to_string())
    print(f"appear on tracks linked by IoU: {len(tracked)} short tracks")
    print(f"sequence with images: {sequence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
