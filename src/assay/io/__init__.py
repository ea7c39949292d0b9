"""Readers and writers: every reader returns a validated canonical table and fails on the
first malformed value with the file, line and column; every writer writes whole files (staged,
then renamed into place), creates no folder the user did not name, and turns names from data
into safe path components (:func:`safe_name`) that stay inside the folder named
(:func:`check_inside`)."""

from __future__ import annotations

from ._demo import DEMO_FPS, DEMO_SEQUENCES, demo_path
from .coco import read_coco, read_coco_results
from .ego import to_ego_frame, to_world_frame
from .images import IMAGE_LAYOUTS, FrameImages, data_uri
from .kitti import kitti_camera_from_ego, read_kitti_detections, read_kitti_tracking
from .mot import MotSequence, find_mot_sequences, read_mot, read_seqinfo, write_mot
from .nuscenes import NuScenesTables, read_nuscenes
from .paths import StagedFiles, check_inside, original_name, safe_name
from .records import read_parquet, read_records, write_parquet
from .video import video_frames
from .yolo import read_yolo, read_yolo_names

__all__ = [
    "DEMO_FPS",
    "DEMO_SEQUENCES",
    "FrameImages",
    "IMAGE_LAYOUTS",
    "MotSequence",
    "NuScenesTables",
    "StagedFiles",
    "check_inside",
    "data_uri",
    "demo_path",
    "find_mot_sequences",
    "kitti_camera_from_ego",
    "original_name",
    "read_coco",
    "read_coco_results",
    "read_kitti_detections",
    "read_kitti_tracking",
    "read_mot",
    "read_nuscenes",
    "read_parquet",
    "read_records",
    "read_seqinfo",
    "read_yolo",
    "read_yolo_names",
    "safe_name",
    "to_ego_frame",
    "to_world_frame",
    "video_frames",
    "write_mot",
    "write_parquet",
]
