"""Readers and writers: every reader returns a validated canonical table and fails on the
first malformed value with the file, line and column."""

from __future__ import annotations

from ._demo import DEMO_FPS, DEMO_SEQUENCES, demo_path
from .coco import read_coco
from .kitti import kitti_camera_from_ego, read_kitti_detections, read_kitti_tracking
from .mot import MotSequence, find_mot_sequences, read_mot, read_seqinfo, write_mot
from .records import read_parquet, read_records, write_parquet

__all__ = [
    "DEMO_FPS",
    "DEMO_SEQUENCES",
    "MotSequence",
    "demo_path",
    "find_mot_sequences",
    "kitti_camera_from_ego",
    "read_coco",
    "read_kitti_detections",
    "read_kitti_tracking",
    "read_mot",
    "read_parquet",
    "read_records",
    "read_seqinfo",
    "write_mot",
    "write_parquet",
]
