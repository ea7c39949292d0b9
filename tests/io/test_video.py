"""Video frames as a MOT image sequence (needs OpenCV, in the test extra)."""

from __future__ import annotations

import numpy as np
import pytest

from assay.exceptions import DataFileNotFoundError, DataFormatError
from assay.io import FrameImages, read_seqinfo, video_frames

cv2 = pytest.importorskip("cv2", reason="needs OpenCV: pip install 'assay[video]'")


@pytest.fixture
def video(tmp_path):
    """A 12-frame 64x48 video made here, each frame a different grey."""
    path = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    for i in range(12):
        out.write(np.full((48, 64, 3), 20 * i, dtype=np.uint8))
    out.release()
    return path


def test_frames_become_a_mot_sequence(video, tmp_path):
    out = tmp_path / "seqs"
    out.mkdir()
    seq = video_frames(video, out, step=3, limit=3)
    assert seq == out / "clip"
    images = sorted(p.name for p in (seq / "img1").iterdir())
    assert images == ["000001.jpg", "000002.jpg", "000003.jpg"]
    info = read_seqinfo(seq / "seqinfo.ini")
    assert info == {"name": "clip", "fps": 4.0, "length": 3, "width": 64, "height": 48}
    grey = [cv2.imread(str(seq / "img1" / n))[..., 0].mean() for n in images]
    assert grey == pytest.approx([0, 60, 120], abs=4)  # frames 0, 3, 6 of the video
    assert FrameImages(out, "mot").path("clip", 2) == seq / "img1" / "000002.jpg"


def test_hostile_stream_names_stay_inside(video, tmp_path):
    seq = video_frames(video, tmp_path, stream="../../escape", limit=1)
    assert seq.parent == tmp_path and (seq / "img1" / "000001.jpg").is_file()
    assert read_seqinfo(seq / "seqinfo.ini")["name"] == "../../escape"


def test_bad_inputs(video, tmp_path):
    with pytest.raises(DataFileNotFoundError, match="no such video"):
        video_frames(tmp_path / "none.avi", tmp_path)
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        video_frames(video, tmp_path / "missing")
    text = tmp_path / "not-a-video.avi"
    text.write_text("hello")
    with pytest.raises(DataFormatError):
        video_frames(text, tmp_path)
    assert not (tmp_path / "not-a-video").exists()  # nothing left behind
