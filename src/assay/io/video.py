"""Frames of a video file as a MOTChallenge image sequence, for people to look at.

assay never needs pixels, but people reviewing findings want to see the frame. A video the
user has can be turned into the MOT layout (``SEQ/img1/000001.jpg``, ``SEQ/seqinfo.ini``)
that :class:`~assay.io.FrameImages`, ``assay report --images`` and ``assay review --images``
read. Needs OpenCV (``pip install 'assay[video]'``).
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from .._validation import Interval, validate_params
from ..exceptions import DataFileNotFoundError, DataFormatError, MissingDependencyError
from .paths import StagedFiles, safe_name

__all__ = ["video_frames"]


def _cv2():
    try:
        import cv2
    except ImportError:
        raise MissingDependencyError(
            "reading video needs OpenCV: pip install 'assay[video]'") from None
    return cv2


@validate_params({
    "path": ["path"], "folder": ["path"], "stream": [str, None],
    "step": [Interval(int, 1, None)], "limit": [Interval(int, 1, None), None],
    "quality": [Interval(int, 1, 100)],
})
def video_frames(
    path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    stream: str | None = None,
    step: int = 1,
    limit: int | None = None,
    quality: int = 90,
) -> Path:
    """Write a video's frames as a MOT image sequence; returns the sequence folder.

    Writes ``folder/<stream>/img1/000001.jpg, ...`` (MOT frames start at 1) and
    ``folder/<stream>/seqinfo.ini`` (name, frame rate, length, image size), so the sequence
    reads like a MOTChallenge one. ``folder`` must exist; the sequence folder is created in it
    (its name made safe with :func:`~assay.io.safe_name`).

    Parameters
    ----------
    path : str or Path
        A video file OpenCV can read.
    folder : str or Path
        An existing folder to create the sequence in.
    stream : str, optional
        The sequence's name (default: the video's file name without extension).
    step : int, default 1
        Keep every ``step``-th frame (the frame rate written is divided by it).
    limit : int, optional
        Stop after this many frames written.
    quality : int, default 90
        JPEG quality.

    Returns
    -------
    Path
        The sequence folder.
    """
    cv2 = _cv2()
    src = Path(path)
    if not src.is_file():
        raise DataFileNotFoundError(f"{src}: no such video file.")
    root = Path(folder)
    if not root.is_dir():
        raise DataFileNotFoundError(f"{root}: the folder to write the sequence in does not exist.")
    name = stream or src.stem
    seq = root / safe_name(name)
    video = cv2.VideoCapture(str(src))
    if not video.isOpened():
        raise DataFormatError("OpenCV cannot read this file as a video.", path=src)
    try:
        fps = float(video.get(cv2.CAP_PROP_FPS)) or 25.0
        width = int(video.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))
        with StagedFiles() as stage:
            images = stage.folder(stage.folder(seq) / "img1")
            written = 0
            index = 0
            while limit is None or written < limit:
                ok, frame = video.read()
                if not ok:
                    break
                if index % step == 0:
                    written += 1
                    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
                    if not ok:
                        raise DataFormatError(f"frame {index} could not be encoded as JPEG.",
                                              path=src)
                    stage.path(images / f"{written:06d}.jpg").write_bytes(jpeg.tobytes())
                index += 1
            if written == 0:
                raise DataFormatError("the video has no frame OpenCV can decode.", path=src)
            info = configparser.ConfigParser()
            info.optionxform = str  # keep MOT's camelCase keys
            info["Sequence"] = {"name": name, "imDir": "img1", "frameRate": f"{fps / step:g}",
                                "seqLength": str(written), "imWidth": str(width),
                                "imHeight": str(height), "imExt": ".jpg"}
            with open(stage.path(seq / "seqinfo.ini"), "w", encoding="utf-8") as f:
                info.write(f, space_around_delimiters=False)
    finally:
        video.release()
    return seq

