"""Export formats: Label Studio tasks against Label Studio's documented task schema, CVAT XML
for images 1.1 structure, MOT files read back to the same boxes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import Appear, Flicker, Gap, Multibox
from assay.curate import labelstudio_config, rank_frames, to_cvat, to_labelstudio, to_mot
from assay.exceptions import InvalidParameterError
from assay.io import read_mot, read_seqinfo

# Label Studio's task import format (https://labelstud.io/guide/tasks and
# https://labelstud.io/guide/predictions), written as a JSON schema: a list of tasks, each with
# a ``data`` object and optional ``predictions``; a prediction has ``model_version``, a
# ``score`` in [0, 1] (Label Studio's SDK rejects scores outside it) and ``result`` regions;
# a rectangle region has ``from_name`` / ``to_name`` naming the config's tags, ``type``
# "rectanglelabels", and ``value`` with x, y, width, height in percent (0-100) and the labels.
REGION = {
    "type": "object",
    "required": ["id", "from_name", "to_name", "type", "value", "original_width", "original_height"],
    "properties": {
        "id": {"type": "string"},
        "from_name": {"const": "label"},
        "to_name": {"const": "image"},
        "type": {"const": "rectanglelabels"},
        "original_width": {"type": "integer", "minimum": 1},
        "original_height": {"type": "integer", "minimum": 1},
        "image_rotation": {"type": "number"},
        "score": {"type": "number"},
        "value": {
            "type": "object",
            "required": ["x", "y", "width", "height", "rectanglelabels"],
            "properties": {
                "x": {"type": "number", "minimum": 0, "maximum": 100},
                "y": {"type": "number", "minimum": 0, "maximum": 100},
                "width": {"type": "number", "minimum": 0, "maximum": 100},
                "height": {"type": "number", "minimum": 0, "maximum": 100},
                "rotation": {"type": "number", "minimum": 0, "maximum": 360},
                "rectanglelabels": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            },
        },
    },
}
TASKS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string"}}},
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["result"],
                    "properties": {
                        "model_version": {"type": "string"},
                        "score": {"type": "number", "minimum": 0, "maximum": 1},
                        "result": {"type": "array", "items": REGION},
                    },
                },
            },
        },
    },
}

_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float)}


def check_schema(value, schema, where="$"):
    """A small JSON-schema checker (type, const, required, properties, items, minItems,
    minimum, maximum): enough for the schema above; jsonschema is not a dependency."""
    if "const" in schema:
        assert value == schema["const"], f"{where}: expected {schema['const']!r}, got {value!r}"
    if "type" in schema:
        ok = isinstance(value, _TYPES[schema["type"]]) and not isinstance(value, bool)
        assert ok, f"{where}: expected {schema['type']}, got {type(value).__name__}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{where}: {value} < {schema['minimum']}"
    if "maximum" in schema:
        assert value <= schema["maximum"], f"{where}: {value} > {schema['maximum']}"
    for key in schema.get("required", []):
        assert key in value, f"{where}: missing {key!r}"
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value:
            check_schema(value[key], sub, f"{where}.{key}")
    if "items" in schema:
        assert len(value) >= schema.get("minItems", 0), f"{where}: too few items"
        for i, item in enumerate(value):
            check_schema(item, schema["items"], f"{where}[{i}]")


@pytest.fixture(scope="module")
def campus(shared_data):
    """Real detections of TUD-Campus, their findings and a BAL queue over them."""
    folder = shared_data / "mot15" / "TUD-Campus"
    det = read_mot(folder / "det.txt", kind="det")
    det = assay.tracking.associate(det, iou=0.3)
    info = read_seqinfo(folder / "seqinfo.ini")
    found = assay.check(det, [Flicker(), Gap(), Multibox(iou=0.1), Appear(min_duration=0.5)])
    queue = rank_frames(det, found, strategy="bal", budget=15, seed=0)
    return det, queue, (info["width"], info["height"])


@pytest.mark.shared_data
def test_labelstudio_tasks_follow_the_schema(campus, tmp_path):
    det, queue, size = campus
    tasks = to_labelstudio(queue, det, tmp_path / "tasks.json", image_size=size)
    loaded = json.loads((tmp_path / "tasks.json").read_text())
    assert loaded == tasks
    check_schema(loaded, TASKS)
    config = ET.fromstring(labelstudio_config(["pedestrian"]))
    labels = {e.get("value") for e in config.iter("Label")}
    assert config.find("Image").get("name") == "image" and config.find("RectangleLabels").get("toName") == "image"
    n_boxes = 0
    for task, row in zip(tasks, queue.itertuples(), strict=True):
        assert (task["data"]["stream"], task["data"]["frame"]) == (row.stream, row.frame)
        assert task["data"]["image"] == f"TUD-Campus/img1/{row.frame:06d}.jpg"
        pred = task["predictions"][0]
        in_frame = det.loc[det["frame"] == row.frame]
        assert len(pred["result"]) == len(in_frame)
        assert {r["value"]["rectanglelabels"][0] for r in pred["result"]} <= labels
        assert len({r["id"] for r in pred["result"]}) == len(pred["result"])
        for r in pred["result"]:
            v = r["value"]
            assert v["x"] + v["width"] <= 100 + 1e-9 and v["y"] + v["height"] <= 100 + 1e-9
        n_boxes += len(pred["result"])
    assert n_boxes > 0
    # severity orders the task score the way it orders the queue within an arm
    sev = np.array([t["data"]["severity"] or 0 for t in tasks])
    score = np.array([t["predictions"][0]["score"] for t in tasks])
    assert np.all(np.diff(score[np.argsort(sev)]) >= 0)


def test_labelstudio_boxes_in_percent_and_clipped():
    obs = assay.as_observations(pd.DataFrame({"frame": [1], "cls": "car", "x1": [-10.0], "y1": 50.0,
                                              "x2": [30.0], "y2": 250.0}), stream="s", source="m", fps=1)
    task = to_labelstudio(pd.DataFrame({"stream": ["s"], "frame": [1]}), obs, image_size=(200, 200))[0]
    v = task["predictions"][0]["result"][0]["value"]
    assert (v["x"], v["y"], v["width"], v["height"]) == (0.0, 25.0, 15.0, 75.0)
    check_schema([task], TASKS)
    with pytest.raises(InvalidParameterError, match="image size"):
        to_labelstudio(pd.DataFrame({"stream": ["s"], "frame": [1]}), obs)
    with pytest.raises(InvalidParameterError, match="no size for stream 's'"):
        to_labelstudio(pd.DataFrame({"stream": ["s"], "frame": [1]}), obs, image_size={"t": (1, 1)})


@pytest.mark.shared_data
def test_cvat_xml_has_the_structure_cvat_expects(campus, tmp_path):
    det, queue, size = campus
    text = to_cvat(queue, det, tmp_path / "a.xml", image_size=size)
    root = ET.parse(tmp_path / "a.xml").getroot()
    assert ET.tostring(root, encoding="unicode") == ET.tostring(ET.fromstring(text), encoding="unicode")
    assert root.tag == "annotations" and root.find("version").text == "1.1"
    task = root.find("meta/task")
    assert int(task.find("size").text) == len(queue)
    declared = {lab.find("name").text: {a.find("name").text for a in lab.findall("attributes/attribute")}
                for lab in task.findall("labels/label")}
    assert "pedestrian" in declared
    images = root.findall("image")
    assert [int(i.get("id")) for i in images] == list(range(len(queue)))
    assert len({i.get("name") for i in images}) == len(images)
    n = 0
    for img, row in zip(images, queue.itertuples(), strict=True):
        assert (int(img.get("width")), int(img.get("height"))) == size
        boxes = img.findall("box")
        assert len(boxes) == int((det["frame"] == row.frame).sum())
        for b in boxes:
            assert b.get("label") in declared and b.get("occluded") in ("0", "1")
            xtl, ytl, xbr, ybr = (float(b.get(k)) for k in ("xtl", "ytl", "xbr", "ybr"))
            assert xtl <= xbr and ytl <= ybr
            assert {a.get("name") for a in b.findall("attribute")} <= declared[b.get("label")]
            n += 1
        for tag in img.findall("tag"):
            assert tag.get("label") in declared
    assert n > 0


@pytest.mark.shared_data
def test_mot_files_read_back_to_the_same_boxes(campus, tmp_path):
    det, queue, _ = campus
    files = to_mot(queue, det, tmp_path / "mot")
    assert files[-1].name == "queue.csv"
    listing = pd.read_csv(files[-1])
    assert listing[["stream", "frame"]].values.tolist() == queue[["stream", "frame"]].values.tolist()
    back = read_mot(files[0], kind="det", fps=25)
    want = det.loc[det["frame"].isin(queue["frame"])].sort_values(["frame", "obs_id"])
    assert len(back) == len(want) > 0
    np.testing.assert_allclose(back[["x1", "y1", "x2", "y2"]].to_numpy(), want[["x1", "y1", "x2", "y2"]].to_numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(back["score"].to_numpy(), want["score"].to_numpy())
    assert back["frame"].tolist() == want["frame"].tolist()
