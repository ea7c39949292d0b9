"""YOLO txt labels and predictions: round trips through files written here, in the layouts
users have (Ultralytics data sets and predict runs, darknet folders with classes.txt)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from assay.exceptions import (
    AssayWarning,
    DataFileNotFoundError,
    DataFormatError,
    InvalidParameterError,
)
from assay.io import read_yolo, read_yolo_names

NAMES = ["person", "car", "traffic light"]


def yolo_line(cls, box, size, conf=None):
    """A YOLO line for a pixel box (x1, y1, x2, y2) in an image of size (w, h)."""
    (x1, y1, x2, y2), (w, h) = box, size
    fields = [cls, (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
    if conf is not None:
        fields.append(conf)
    return " ".join(f"{v:.10g}" for v in fields) + "\n"


def image(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (40, 40, 40)).save(path)


# frame -> list of (class, pixel box, conf)
CAM1 = {7: [(1, (100.0, 50.0, 300.0, 150.0), 0.9), (0, (10.0, 20.0, 40.0, 100.0), 0.55)],
        8: [(2, (600.0, 0.0, 640.0, 30.0), 0.31)],
        9: []}
CAM2 = {120: [(0, (0.0, 0.0, 1920.0, 1080.0), 0.99)]}


def write_dataset(root, *, scored):
    """An Ultralytics-style tree: images/<stream>/frame_NNNNNN.png, labels/<stream>/...txt."""
    (root / "data.yaml").write_text(
        "# a data set\npath: .\ntrain: images\nnames:\n  0: person\n  1: car  # cars and vans\n"
        "  2: 'traffic light'\n")
    for stream, frames, size in (("cam1", CAM1, (640, 480)), ("cam2", CAM2, (1920, 1080))):
        for frame, boxes in frames.items():
            stem = f"frame_{frame:06d}"
            image(root / "images" / stream / f"{stem}.png", size)
            lines = "".join(yolo_line(c, b, size, conf if scored else None) for c, b, conf in boxes)
            (root / "labels" / stream).mkdir(parents=True, exist_ok=True)
            (root / "labels" / stream / f"{stem}.txt").write_text(lines)


@pytest.mark.parametrize("scored", [True, False])
def test_ultralytics_tree_round_trip(tmp_path, scored):
    write_dataset(tmp_path, scored=scored)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obs = read_yolo(tmp_path / "labels", fps=10)
    assert obs["stream"].tolist() == ["cam1"] * 3 + ["cam2"]
    assert obs["frame"].tolist() == [7, 7, 8, 120]
    assert obs["time"].tolist() == pytest.approx([0.7, 0.7, 0.8, 12.0])
    assert obs["cls"].tolist() == ["car", "person", "traffic light", "person"]
    assert obs["class_id"].tolist() == [1, 0, 2, 0]
    expected = [b for frames in (CAM1, CAM2) for boxes in frames.values() for _, b, _ in boxes]
    assert obs[["x1", "y1", "x2", "y2"]].to_numpy() == pytest.approx(np.array(expected), abs=1e-6)
    if scored:
        assert obs["score"].tolist() == [0.9, 0.55, 0.31, 0.99]
        assert (obs["source"] == "model").all()
    else:
        assert obs["score"].isna().all() and (obs["source"] == "labels").all()
    assert obs["file_name"].tolist()[:3] == ["cam1/frame_000007.png"] * 2 + ["cam1/frame_000008.png"]
    assert obs.attrs["image_sizes"] == {"cam1": [640, 480], "cam2": [1920, 1080]}
    assert obs.attrs["frame_rates"] == {"cam1": 10.0, "cam2": 10.0}
    assert obs.attrs["frames_from"] == {"cam1": "file name", "cam2": "file name"}
    assert obs.attrs["class_names"] == NAMES
    assert obs.attrs["sources"]["cam2"] == str(tmp_path / "labels" / "cam2")
    assert obs["obs_id"].tolist() == [0, 1, 2, 3]


def test_predict_run_folder_with_images_given(tmp_path):
    # `yolo predict save_txt save_conf` writes runs/detect/predict/labels/<image stem>.txt
    run = tmp_path / "runs" / "detect" / "predict" / "labels"
    run.mkdir(parents=True)
    for stem, size in (("img_b", (200, 100)), ("img_a", (300, 150))):
        image(tmp_path / "pics" / f"{stem}.jpg", size)
        (run / f"{stem}.txt").write_text(yolo_line(1, (20, 10, 60, 50), size, 0.8))
    obs = read_yolo(run, images=tmp_path / "pics", names=NAMES)
    assert obs["stream"].unique().tolist() == ["predict"]  # 'labels' is named after its parent
    # 'img_a', 'img_b' have no trailing number: frames are the ranks in order of name
    assert obs["frame"].tolist() == [0, 1] and obs.attrs["frames_from"] == {"predict": "order"}
    assert obs["file_name"].tolist() == ["img_a.jpg", "img_b.jpg"]
    assert obs[["x1", "y1", "x2", "y2"]].to_numpy() == pytest.approx(np.array([[20, 10, 60, 50]] * 2))
    assert "predict" not in obs.attrs["image_sizes"]  # two sizes in one stream


def test_darknet_folder_images_beside_labels_and_exif_rotation(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    (folder / "classes.txt").write_text("person\ncar\n\n")
    # a phone photo: stored 400x300, EXIF says rotate a quarter turn, so it is seen 300x400
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 300)).save(folder / "00001.jpg", exif=exif)
    (folder / "00001.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    obs = read_yolo(folder)
    assert obs["cls"].tolist() == ["person"] and obs["stream"].tolist() == ["seq"]
    assert obs[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [[75.0, 100.0, 225.0, 300.0]]
    assert obs.attrs["image_sizes"] == {"seq": [300, 400]} and obs["file_name"].tolist() == ["00001.jpg"]


def test_image_size_given_per_stream_and_per_image(tmp_path):
    for stream in ("a", "b"):
        (tmp_path / stream).mkdir()
        (tmp_path / stream / "1.txt").write_text("0 0.5 0.5 1 1 0.7\n")
        (tmp_path / stream / "2.txt").write_text("0 0.5 0.5 1 1 0.6\n")
    obs = read_yolo(tmp_path, names=["x"], image_size={"a": (100, 50), "b": (10, 10), "b/2": (20, 40)})
    assert obs["x2"].tolist() == [100.0, 100.0, 10.0, 20.0]
    assert obs["y2"].tolist() == [50.0, 50.0, 10.0, 40.0]
    assert obs.attrs["image_sizes"] == {"a": [100, 50]}
    one = read_yolo(tmp_path / "a" / "2.txt", names={0: "x"}, image_size=(8, 4), stream="mine")
    assert one["stream"].tolist() == ["mine"] and one["frame"].tolist() == [2]
    assert one[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [[0.0, 0.0, 8.0, 4.0]]
    with pytest.raises(InvalidParameterError, match="names one stream, but .* 2 folders"):
        read_yolo(tmp_path, names=["x"], image_size=(8, 4), stream="mine")
    with pytest.raises(InvalidParameterError, match=r"'image_size' parameter of read_yolo must be \(width, height\)"):
        read_yolo(tmp_path, names=["x"], image_size=(8, -4))
    with pytest.raises(InvalidParameterError, match=r"names 'c', which is neither a stream nor an image of .* \(streams: a, b\)"):
        read_yolo(tmp_path, names=["x"], image_size={"a": (1, 1), "b": (1, 1), "c": (2, 2)})


def test_unknown_index_and_missing_names_are_warnings(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "0.txt").write_text("0 0.5 0.5 0.1 0.1\n5 0.5 0.5 0.1 0.1\n5 0.4 0.4 0.1 0.1\n")
    with pytest.warns(AssayWarning, match=r"read_yolo: 2 rows with class names outside the class names "
                                          r"\(person, car\): '5' \(2 rows, first at .*0.txt, line 2\)"):
        obs = read_yolo(tmp_path / "s", names=["person", "car"], image_size=(10, 10))
    assert obs["cls"].tolist() == ["person", "5", "5"]
    with pytest.warns(AssayWarning, match="no class names for .*; classes are the indices as written"):
        obs = read_yolo(tmp_path / "s", image_size=(10, 10))
    assert obs["cls"].tolist() == ["0", "5", "5"]


def test_malformed_files(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    p = d / "3.txt"
    p.write_text("0 0.5 0.5 0.1 0.1\n0 320 240 64 48\n")
    with pytest.raises(DataFormatError) as e:
        read_yolo(d, names=["a"], image_size=(640, 480))
    assert str(e.value) == (f"{p}, line 2, column 2: field 'cx': expected a value normalised to [0, 1] "
                            "by the image size (pixel coordinates are not YOLO's), got 320.0.")
    p.write_text("0 0.5 0.5 0.1 0.1 0.9\n0 0.5 0.5 0.1\n")
    with pytest.raises(DataFormatError, match=r"3.txt, line 2: expected 6 fields separated by single spaces"):
        read_yolo(d, names=["a"], image_size=(640, 480))
    p.write_text("0 0.5 0.5 0.1 0.1 1.5\n")
    with pytest.raises(DataFormatError, match=r"line 1, column 6: field 'conf': expected a confidence in \[0, 1\]"):
        read_yolo(d, names=["a"], image_size=(640, 480))
    (d / "4.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    p.write_text("0 0.5 0.5 0.1 0.1 0.5\n")
    with pytest.raises(DataFormatError, match=r"4.txt, line 1: has no confidence field \(6th\), but .*3.txt has one"):
        read_yolo(d, names=["a"], image_size=(640, 480))
    (d / "4.txt").unlink()
    with pytest.raises(DataFileNotFoundError, match=r"3.txt: no image 3.jpg/.png/... in .*s, so its normalised boxes .* Pass image_size"):
        read_yolo(d, names=["a"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileNotFoundError, match="no .txt files"):
        read_yolo(tmp_path / "empty", names=["a"])


@pytest.mark.parametrize("text", [
    "names: [person, car, 'traffic light']\n",
    "nc: 3\nnames: ['person', \"car\", traffic light]  # three\n",
    "names:\n  - person\n  - car\n  - 'traffic light'\nval: images/val\n",
    "names:\n  0: person\n  2: traffic light\n  1: car\n",
])
def test_data_yaml_names_forms(tmp_path, text):
    p = tmp_path / "data.yaml"
    p.write_text(text)
    assert read_yolo_names(p) == NAMES


def test_bad_names_files(tmp_path):
    p = tmp_path / "data.yaml"
    p.write_text("train: x\nnames:\n  0: person\n  2: car\n")
    with pytest.raises(DataFormatError, match=r"data.yaml, line 2: 'names:' has no name for class index 1"):
        read_yolo_names(p)
    p.write_text("train: x\n")
    with pytest.raises(DataFormatError, match="no top-level 'names:' entry"):
        read_yolo_names(p)
    c = tmp_path / "classes.txt"
    c.write_text("a\n\nb\n")
    with pytest.raises(DataFormatError, match=r"classes.txt, line 2: empty class name"):
        read_yolo_names(c)
