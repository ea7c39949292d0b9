"""COCO results (what detectors submit) read against their data set: predictions and labels
share streams, frames and class names."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from assay.exceptions import AssayWarning, DataFormatError, InvalidParameterError
from assay.io import read_coco, read_coco_results

DATASET = {
    "images": [
        {"id": 42, "file_name": "cam1/000003.jpg", "width": 1280, "height": 720, "video": "cam1"},
        {"id": 7, "file_name": "cam1/000001.jpg", "width": 1280, "height": 720, "video": "cam1"},
        {"id": 9, "file_name": "cam2/000001.jpg", "width": 640, "height": 480, "video": "cam2"},
    ],
    "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 1, "bbox": [100, 200, 50, 120], "iscrowd": 0},
        {"id": 2, "image_id": 42, "category_id": 3, "bbox": [400, 300, 200, 100], "iscrowd": 0},
        {"id": 3, "image_id": 9, "category_id": 3, "bbox": [0, 0, 64, 48], "iscrowd": 0},
    ],
}
RESULTS = [
    {"image_id": 42, "category_id": 3, "bbox": [402.5, 298.0, 197.0, 104.5], "score": 0.93},
    {"image_id": 7, "category_id": 1, "bbox": [98.0, 205.0, 55.0, 110.0], "score": 0.88},
    {"image_id": 7, "category_id": 3, "bbox": [1000.0, 10.0, 30.0, 20.0], "score": 0.05,
     "segmentation": {"size": [720, 1280], "counts": "xyz"}},
    {"image_id": 9, "category_id": 3, "bbox": [1, 2, 60, 40], "score": 0.7},
]


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "instances_val.json").write_text(json.dumps(DATASET))
    (tmp_path / "detections.json").write_text(json.dumps(RESULTS))
    return tmp_path / "detections.json", tmp_path / "instances_val.json"


def test_results_round_trip_and_shared_keys(files):
    results, dataset = files
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = read_coco_results(results, dataset, source="model:detr", fps=2)
        labels = read_coco(dataset, fps=2)
    assert pred["stream"].unique().tolist() == labels["stream"].unique().tolist() == ["coco"]
    assert pred["frame"].tolist() == [7, 7, 9, 42]  # image ids, sorted
    assert pred["time"].tolist() == [0.0, 0.0, 0.5, 1.0]  # rank of the image / fps
    assert pred["cls"].tolist() == ["person", "car", "car", "car"]
    assert pred["score"].tolist() == [0.88, 0.05, 0.7, 0.93]
    assert (pred["source"] == "model:detr").all() and (labels["source"] == "labels").all()
    assert pred[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [
        [98.0, 205.0, 153.0, 315.0], [1000.0, 10.0, 1030.0, 30.0], [1.0, 2.0, 61.0, 42.0],
        [402.5, 298.0, 599.5, 402.5]]
    assert pred["file_name"].tolist()[0] == "cam1/000001.jpg"
    # the same frames carry the same time in both tables
    keys = labels.set_index(["stream", "frame"])["time"].to_dict()
    assert all(keys[(s, f)] == t for s, f, t in pred[["stream", "frame", "time"]].itertuples(index=False))


def test_results_streams_per_video_like_the_labels(files):
    results, dataset = files
    by_video = lambda im: im["video"]  # noqa: E731
    pred = read_coco_results(results, dataset, stream=by_video, frame="order")
    labels = read_coco(dataset, stream=by_video, frame="order")
    assert pred["stream"].tolist() == ["cam1", "cam1", "cam1", "cam2"]
    assert set(zip(pred["stream"], pred["frame"], strict=True)) >= set(zip(labels["stream"], labels["frame"], strict=True))
    assert pred.attrs["image_sizes"] == labels.attrs["image_sizes"] == {"cam1": [1280, 720], "cam2": [640, 480]}


def test_category_outside_the_data_set_is_kept_and_warned(files, tmp_path):
    results, dataset = files
    off = [*RESULTS, {"image_id": 9, "category_id": 91, "bbox": [1, 2, 3, 4], "score": 0.5},
           {"image_id": 7, "category_id": 91, "bbox": [1, 2, 3, 4], "score": 0.4}]
    results.write_text(json.dumps(off))
    with pytest.warns(AssayWarning, match=rf"read_coco_results: 2 rows .* category ids of {dataset} "
                                          rf"\(1, 3\): '91' \(2 rows, first at {results}, entry \[4\]\)"):
        pred = read_coco_results(results, dataset)
    assert sorted(pred["cls"].unique().tolist()) == ["91", "car", "person"]


def test_malformed_results(files):
    results, dataset = files
    results.write_text(json.dumps([{"image_id": 7, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}]))
    with pytest.raises(DataFormatError, match=r"detections.json: \[0\].bbox: expected 4 finite numbers"):
        read_coco_results(results, dataset)
    results.write_text(json.dumps([{"image_id": 8, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]))
    with pytest.raises(DataFormatError, match=r"\[0\].image_id: expected the id of an image in 'images'; got 8"):
        read_coco_results(results, dataset)
    results.write_text(json.dumps([{"image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4]}]))
    with pytest.raises(DataFormatError, match=r"\[0\].score: expected a finite number"):
        read_coco_results(results, dataset)
    with pytest.raises(DataFormatError, match="is not a COCO results file"):
        read_coco_results(dataset, dataset)
    with pytest.raises(InvalidParameterError, match="must be a results JSON file"):
        read_coco_results(results.parent, dataset)
    results.write_text("[]")
    assert len(read_coco_results(results, dataset)) == 0
    assert np.array_equal(read_coco_results(results, dataset).columns[:8],
                          ["stream", "frame", "time", "obs_id", "track", "cls", "score", "source"])
