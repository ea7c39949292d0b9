"""Where the picture of a frame is, when the user has the images (they are never required).

assay works on structured outputs; pictures only help people look. :class:`FrameImages`
finds the image of ``(stream, frame)`` under a root folder, in the layouts of the data sets
assay reads, or by a pattern the user gives, and never outside that folder (symbolic links
that lead out, ``..`` and absolute names in the data are refused).

=========  ====================================================================
layout     where the image of frame ``f`` of stream ``s`` is, under ``root``
=========  ====================================================================
``mot``    ``s/img1/{f:06d}.jpg`` (also under ``train/`` or ``test/``)
``kitti``  ``image_02/s/{f:06d}.png`` (or ``s/{f:06d}.png``)
``coco``   the observation's ``file_name`` (from the COCO file)
pattern    any text with ``{stream}`` and ``{frame}``, e.g. ``"{stream}/{frame:05d}.png"``
``auto``   the first of mot, kitti and coco that finds a file
=========  ====================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from .._validation import validate_params
from ..exceptions import InvalidParameterError, UnsafePathError
from .paths import check_inside

__all__ = ["IMAGE_LAYOUTS", "FrameImages", "data_uri"]

#: Layouts :class:`FrameImages` knows by name (anything else with ``{frame`` is a pattern).
IMAGE_LAYOUTS = ("auto", "mot", "kitti", "coco")

_PATTERNS = {
    "mot": ("{stream}/img1/{frame:06d}.jpg", "train/{stream}/img1/{frame:06d}.jpg",
            "test/{stream}/img1/{frame:06d}.jpg", "{stream}/img1/{frame:06d}.png"),
    "kitti": ("image_02/{stream}/{frame:06d}.png", "{stream}/{frame:06d}.png"),
}
_MEDIA = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
          ".bmp": "image/bmp", ".gif": "image/gif"}


class FrameImages:
    """Find the image file of a frame under ``root``.

    Parameters
    ----------
    root : str or Path
        The folder images are looked for in; nothing outside it is ever returned.
    layout : str, default "auto"
        ``"mot"``, ``"kitti"``, ``"coco"``, ``"auto"`` (see the module notes), or a pattern with
        ``{stream}`` and ``{frame}`` (Python format fields, e.g. ``{frame:06d}``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assay.io import FrameImages
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "cam1" / "img1").mkdir(parents=True)
    >>> _ = (root / "cam1" / "img1" / "000007.jpg").write_bytes(b"...")
    >>> images = FrameImages(root)
    >>> images.path("cam1", 7).name, images.path("cam1", 8), images.path("../etc", 7)
    ('000007.jpg', None, None)
    """

    @validate_params({"root": ["path"], "layout": [str]})
    def __init__(self, root: str | os.PathLike[str], layout: str = "auto") -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise InvalidParameterError(
                f"The 'root' parameter of FrameImages must be a folder of images. Got "
                f"{str(root)!r}, which is not a folder.")
        if layout not in IMAGE_LAYOUTS and "{frame" not in layout:
            raise InvalidParameterError(
                f"The 'layout' parameter of FrameImages must be one of {', '.join(IMAGE_LAYOUTS)} "
                f"or a pattern with {{stream}} and {{frame}} (e.g. '{{stream}}/{{frame:06d}}.jpg'). "
                f"Got {layout!r}.")
        self.layout = layout

    def _candidates(self, stream: str, frame: int, file_name: str | None) -> list[str]:
        if self.layout == "coco":
            return [file_name] if file_name else []
        if self.layout in _PATTERNS:
            patterns: tuple[str, ...] = _PATTERNS[self.layout]
        elif self.layout == "auto":
            patterns = _PATTERNS["mot"] + _PATTERNS["kitti"]
        else:
            patterns = (self.layout,)
        out = [p.format(stream=stream, frame=int(frame)) for p in patterns]
        if self.layout == "auto" and file_name:
            out.append(file_name)
        return out

    def path(self, stream: str, frame: int, *, file_name: str | None = None) -> Path | None:
        """The image of ``frame`` of ``stream``, or None when there is none under the root
        (or the name would lead outside it).

        ``file_name`` is the COCO image's ``file_name`` (the ``file_name`` column of
        observations read from COCO).
        """
        for rel in self._candidates(str(stream), frame, file_name):
            if not rel or "\x00" in rel or os.path.isabs(rel):
                continue
            try:
                found = check_inside(self.root / rel, self.root)
            except (UnsafePathError, OSError):
                continue
            if found.is_file():
                return found
        return None

    @staticmethod
    def media_type(path: str | os.PathLike[str]) -> str:
        """The MIME type of an image file by its extension (``application/octet-stream`` if
        unknown)."""
        return _MEDIA.get(Path(path).suffix.lower(), "application/octet-stream")

    def __repr__(self) -> str:
        return f"FrameImages({str(self.root)!r}, layout={self.layout!r})"


def data_uri(path: str | os.PathLike[str]) -> str:
    """An image file as a ``data:`` URI, for a page that must not load anything."""
    import base64

    raw = Path(path).read_bytes()
    return f"data:{FrameImages.media_type(path)};base64,{base64.b64encode(raw).decode('ascii')}"
