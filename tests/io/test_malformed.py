"""Malformed input: each case fails with an exact, useful message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assay.exceptions import DataFileNotFoundError, DataFormatError, InvalidParameterError
from assay.io import (
    read_coco,
    read_kitti_detections,
    read_kitti_tracking,
    read_mot,
    read_records,
)

GOOD_MOT = "1,-1,281.9,187.4,79.9,209.5,0.99,-1,-1,-1\n2,-1,281.0,187.0,80.0,210.0,0.98,-1,-1,-1\n"
KITTI_ROW = "0 0 Car 0 0 -1.79 296.7 161.8 455.2 292.4 2.0 1.82 4.43 -4.55 1.86 13.41 -2.12"
DET_ROW = "0,2,298.3,165.2,458.2,293.4,8.2981,1.96,1.81,4.75,-4.57,1.84,13.53,-2.11,-1.79"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    return p


def expect(exc, fn, *args, message: str, **kwargs):
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert str(info.value) == message
    return info.value


def test_mot_wrong_column_count(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT + "3,-1,1,2,3,4,0.5,-1,-1\n")
    e = expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 3: expected 10 fields separated by commas like the lines before "
        "(a MOTChallenge det file); got 9: '3,-1,1,2,3,4,0.5,-1,-1'."))
    assert (e.line, e.column) == (3, None)


def test_mot_unknown_layout(tmp_path):
    p = write(tmp_path, "det.txt", "1,2,3,4,5\n")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 1: expected 9 or 10 fields separated by commas (a MOTChallenge det "
        "file); got 5: '1,2,3,4,5'."))


def test_mot_text_in_numeric_column(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT + "3,-1,abc,2,3,4,0.5,-1,-1,-1\n")
    e = expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 3, column 3: field 'left': expected a number, got 'abc'."))
    assert (e.line, e.column) == (3, 3)


def test_mot_fractional_frame(tmp_path):
    p = write(tmp_path, "det.txt", "1.5,-1,1,2,3,4,0.5,-1,-1,-1\n")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 1, column 1: field 'frame': expected an integer, got '1.5'."))


def test_mot_negative_width(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT + "\n4,-1,10,20,-5,40,0.7,-1,-1,-1\n")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 4, column 5: field 'width': expected a width >= 0, got -5.0."))


def test_mot_nan_score(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT + "3,-1,10,20,5,40,nan,-1,-1,-1\n")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 3, column 7: field 'score': expected a finite detection score, got nan."))


def test_mot_frame_zero(tmp_path):
    p = write(tmp_path, "gt.txt", "0,1,10,20,5,40,1,-1,-1,-1\n")
    expect(DataFormatError, read_mot, p, kind="gt", fps=10, message=(
        f"{p}, line 1, column 1: field 'frame': expected a frame number >= 1 (MOT frames "
        "start at 1), got 0."))


def test_mot_gt_negative_id(tmp_path):
    p = write(tmp_path, "gt.txt", "1,1,10,20,5,40,1,-1,-1,-1\n1,-1,10,20,5,40,1,-1,-1,-1\n")
    expect(DataFormatError, read_mot, p, kind="gt", fps=10, message=(
        f"{p}, line 2, column 2: field 'id': expected a track id >= 0 in ground truth, got -1."))


def test_mot_truncated_file(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT + "3,-1,10,2")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 3: expected 10 fields separated by commas like the lines before "
        "(a MOTChallenge det file); got 4: '3,-1,10,2'."))


def test_mot_empty_file(tmp_path):
    p = write(tmp_path, "det.txt", "")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}: file is empty; expected a MOTChallenge det file."))


def test_mot_missing_file(tmp_path):
    p = tmp_path / "nope.txt"
    expect(DataFileNotFoundError, read_mot, p, fps=10, message=(
        f"{p}: no such file or folder (expected a MOTChallenge det file, sequence folder or "
        "dataset root)."))


def test_mot_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_mot(tmp_path / "nope.txt", fps=10)


def test_mot_utf16_file(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT.encode("utf-16"))
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 1: file is UTF-16 encoded; expected UTF-8 or ASCII text (convert it, "
        "e.g. `iconv -f UTF-16 -t UTF-8`)."))


def test_mot_bad_byte(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT.encode() + b"3,-1,1\xff,2,3,4,0.5,-1,-1,-1\n")
    expect(DataFormatError, read_mot, p, fps=10, message=(
        f"{p}, line 3, column 3: byte 0xff is not valid UTF-8; expected UTF-8 or ASCII "
        "text (a MOTChallenge det file)."))


def test_mot_no_fps(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT)
    with pytest.raises(ValueError, match=re.escape("no fps given and no seqinfo.ini")):
        read_mot(p)


def test_mot_bad_parameter(tmp_path):
    p = write(tmp_path, "det.txt", GOOD_MOT)
    expect(InvalidParameterError, read_mot, p, kind="dets", fps=10, message=(
        "The 'kind' parameter of read_mot must be one of {'det', 'gt'}. Got 'dets'."))
    expect(InvalidParameterError, read_mot, p, fps=-1.0, message=(
        "The 'fps' parameter of read_mot must be a float in (0, inf) or None. Got -1.0."))


def test_mot_nine_field_layout_as_det(tmp_path):
    p = write(tmp_path, "gt.txt", "1,1,10,20,5,40,1,1,0.8\n")
    expect(DataFormatError, read_mot, p, kind="det", fps=10, message=(
        f"{p}, line 1: has the 9-field MOT16/17 ground-truth layout, but kind='det'; "
        "pass kind='gt'."))


def test_kitti_double_space(tmp_path):
    p = write(tmp_path, "0000.txt", KITTI_ROW.replace("Car ", "Car  ") + "\n")
    expect(DataFormatError, read_kitti_tracking, p, message=(
        f"{p}, line 1, column 4: field 'truncated': expected a number, got ''."))


def test_kitti_negative_size(tmp_path):
    p = write(tmp_path, "0000.txt", KITTI_ROW.replace(" 2.0 1.82 ", " 2.0 -1.82 ") + "\n")
    expect(DataFormatError, read_kitti_tracking, p, message=(
        f"{p}, line 1, column 12: field 'w': expected a size >= 0 in metres, got -1.82."))


def test_kitti_detection_folder_without_files(tmp_path):
    expect(DataFileNotFoundError, read_kitti_detections, tmp_path, message=(
        f"{tmp_path}: no .txt files in this folder or its sub-folders (expected detection files)."))


def test_coco_invalid_json(tmp_path):
    p = write(tmp_path, "a.json", '{"images": [\n  {"id": 1,}\n]}')
    expect(DataFormatError, read_coco, p, message=(
        f"{p}, line 2, column 12: invalid JSON: Expecting property name enclosed in double quotes."))


def test_coco_bad_bbox(tmp_path):
    doc = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "car"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]}
    p = write(tmp_path, "a.json", json.dumps(doc))
    expect(DataFormatError, read_coco, p, message=(
        f"{p}: annotations[0].bbox: expected 4 finite numbers [x, y, width, height]; got [1, 2, 3]."))


def test_coco_unknown_image(tmp_path):
    doc = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "car"}],
           "annotations": [{"id": 1, "image_id": 9, "category_id": 1, "bbox": [1, 2, 3, 4]}]}
    p = write(tmp_path, "a.json", json.dumps(doc))
    expect(DataFormatError, read_coco, p, message=(
        f"{p}: annotations[0].image_id: expected the id of an image in 'images'; got 9."))


def test_coco_results_without_images(tmp_path):
    p = write(tmp_path, "r.json", json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]))
    expect(DataFormatError, read_coco, p, message=(
        f"{p}: is a COCO results file (a list of detections); pass images_from= the dataset "
        "JSON that defines its images and categories."))


def test_records_duplicate_id(tmp_path):
    p = write(tmp_path, "r.csv", "id,proxy\n1,0.5\n2,0.1\n1,0.3\n")
    expect(ValueError, read_records, p, message=(
        f"{p}: column 'id', row 2 [id 1]: expected a unique id; got 1."))


def test_records_nan_proxy(tmp_path):
    p = write(tmp_path, "r.csv", "id,proxy\n1,0.5\n2,\n")
    expect(DataFormatError, read_records, p, proxy="proxy", message=(
        f"{p}, line 3, column 2: proxy column 'proxy': expected a finite number, got nan "
        "(record id 2)."))


def test_records_ragged_csv(tmp_path):
    p = write(tmp_path, "r.csv", "id,proxy\n1,0.5\n2,0.1,7\n")
    expect(DataFormatError, read_records, p, message=(
        f"{p}, line 3: expected 2 fields separated by commas like the lines before "
        "(a CSV records file); got 3: '2,0.1,7'."))


def test_records_missing_id(tmp_path):
    p = write(tmp_path, "r.csv", "key,proxy\n1,0.5\n")
    with pytest.raises(ValueError, match=re.escape("missing required column 'id'")):
        read_records(p)
    assert read_records(p, id="key")["id"].tolist() == [1]


def test_records_unknown_extension(tmp_path):
    p = write(tmp_path, "r.txt", "id\n1\n")
    expect(DataFormatError, read_records, p, message=(
        f"{p}: unknown extension; expected .csv, .csv.gz, .parquet or .pq."))
