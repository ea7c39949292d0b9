"""Writing your own model assertions with the paper's API (section 3.2-3.3).

A *point* assertion is ``f(model_input, model_outputs) -> float`` on one frame; a
*temporal* one is ``f(model_inputs: list, model_outputs: list) -> float`` over a window of
recent frames. 0 abstains; larger is more severe. Returning one float per output instead
makes each offending box its own finding. A *consistency* assertion is declared, not
coded: an identifier, attributes that must agree, and temporal rules.

``model_input`` is a ``Frame`` (``stream``, ``frame``, ``time``); ``model_outputs`` is an
``Outputs`` view of the frame's boxes: ``outputs.x1`` is a numpy array, ``len(outputs)``
counts boxes, iterating gives one record per box.

Data: the MOT15 detections of ETH-Bahnhof (a camera on a walking person) from
``../shared/data`` (or ``$ASSAY_SHARED_DATA``); without it, the built-in demo data.

    python examples/custom_assertion.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from assay.assertions import ConsistencyAssertion, check, point_assertion, temporal_assertion
from assay.io import demo_path, read_mot
from assay.tracking import associate


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


# A point assertion returning one severity per box: a standing person is taller than
# wide, so a box much wider than tall is suspicious (severity = how much wider).
@point_assertion
def wide_person(frame, boxes):
    width, height = boxes.x2 - boxes.x1, boxes.y2 - boxes.y1
    return np.maximum(width / np.maximum(height, 1.0) - 1.0, 0.0)


# A point assertion returning one severity for the frame: the paper's NoMultipleOverlap,
# written as plainly as in the paper (O(N^3), fine for a handful of boxes per frame).
@point_assertion
def no_multiple_overlap(frame, boxes):
    b = list(zip(boxes.x1, boxes.y1, boxes.x2, boxes.y2, strict=True))

    def overlaps(p, q):
        return min(p[2], q[2]) > max(p[0], q[0]) and min(p[3], q[3]) > max(p[1], q[1])

    n = len(b)
    return float(sum(overlaps(b[i], b[j]) and overlaps(b[j], b[k]) and overlaps(b[i], b[k])
                     for i in range(n) for j in range(i + 1, n) for k in range(j + 1, n)) > 0)


# A temporal assertion over the last 5 frames: the number of people in view does not jump
# by more than 3 within a fraction of a second. The severity goes to the window's last frame.
@temporal_assertion(window=5)
def count_jump(frames, outputs):
    counts = [len(o) for o in outputs]
    return float(max(0, max(counts) - min(counts) - 3))


# A consistency assertion, declared: per track, an appearance lasts at least 0.5 s, and a
# track does not vanish for a moment (up to 0.3 s) and come back.
tracks_are_steady = ConsistencyAssertion(identifier="track", min_duration=0.5, max_gap=0.3,
                                         name="tracks_are_steady")


def main() -> None:
    seq = shared_data() / "mot15" / "ETH-Bahnhof"
    if (seq / "det.txt").is_file():
        obs = associate(read_mot(seq / "det.txt", kind="det"))
        what = f"Faster R-CNN detections of {seq.name}, linked into tracks"
    else:
        obs = read_mot(demo_path("TUD-Campus", "tracker"), kind="gt", fps=25)
        what = f"built-in demo data (TUD-Campus tracker output; {seq} not found)"
    print(f"{what}: {len(obs):,} boxes in {obs['frame'].nunique():,} frames\n")

    assertions = [wide_person, no_multiple_overlap, count_jump, tracks_are_steady]
    findings = check(obs, assertions)
    counts = findings["assertion"].value_counts()
    for a in assertions:
        print(f"{a.name:>20}: {int(counts.get(a.name, 0)):5,} findings")
    print()
    for a in assertions:
        mine = findings[findings["assertion"] == a.name]
        if len(mine):
            row = mine.iloc[0]
            ids = list(row["obs_ids"])
            print(f"most severe {a.name}: scope={row['scope']}, frames {row['frame_start']}-"
                  f"{row['frame_end']}, severity {row['severity']:.2f}, "
                  f"obs_ids {ids if len(ids) <= 5 else ids[:5] + ['...']}, evidence {row['evidence']}")


if __name__ == "__main__":
    main()
