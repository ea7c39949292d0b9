"""Frame images under a root, in the data sets' layouts, never outside the root."""

from __future__ import annotations

import os

import pytest

from assay.exceptions import InvalidParameterError
from assay.io import FrameImages, data_uri


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG fake")
    return path


def test_layouts(tmp_path):
    mot = touch(tmp_path / "train" / "MOT17-02" / "img1" / "000005.jpg")
    kitti = touch(tmp_path / "image_02" / "0003" / "000012.png")
    coco = touch(tmp_path / "val2017" / "000000397133.jpg")
    auto = FrameImages(tmp_path)
    assert auto.path("MOT17-02", 5) == mot and auto.path("0003", 12) == kitti
    assert auto.path("coco", 1, file_name="val2017/000000397133.jpg") == coco
    assert FrameImages(tmp_path, "kitti").path("MOT17-02", 5) is None
    assert FrameImages(tmp_path, "coco").path("x", 1, file_name="val2017/000000397133.jpg") == coco
    pattern = touch(tmp_path / "cams" / "east" / "f00042.png")
    assert FrameImages(tmp_path, "cams/{stream}/f{frame:05d}.png").path("east", 42) == pattern
    assert FrameImages.media_type(pattern) == "image/png"
    assert data_uri(pattern).startswith("data:image/png;base64,")


def test_nothing_outside_the_root(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    secret = touch(tmp_path / "secret" / "img1" / "000001.jpg")
    images = FrameImages(root)
    assert images.path("../secret", 1) is None
    assert images.path(str(tmp_path / "secret"), 1) is None
    assert images.path("x", 1, file_name=str(secret)) is None
    assert images.path("x", 1, file_name="../secret/img1/000001.jpg") is None
    assert images.path("a\x00b", 1) is None
    (root / "link").symlink_to(tmp_path / "secret", target_is_directory=True)
    assert images.path("link", 1) is None  # a symbolic link that leads out


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidParameterError, match="not a folder"):
        FrameImages(tmp_path / "missing")
    with pytest.raises(InvalidParameterError, match="a pattern with"):
        FrameImages(tmp_path, "nonsense")
    assert repr(FrameImages(tmp_path)).startswith("FrameImages(")
    assert os.path.isabs(str(FrameImages(tmp_path).root))
