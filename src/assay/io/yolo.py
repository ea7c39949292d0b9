"""YOLO txt labels and predictions: one ``.txt`` per image, a line per box.

Each line is ``class cx cy w h`` (labels) or ``class cx cy w h conf`` (predictions, as
Ultralytics writes them with ``save_conf``), fields separated by single spaces: ``class`` a
0-based index into the class names, the box centre and size divided by the image width and
height (so in [0, 1]), ``conf`` the detector's confidence. An empty file is an image with no
boxes.

Where things come from
----------------------
- **Streams.** Every folder holding label files is one stream, named by its path relative to
  the folder read (``"cam1"``, ``"train/seq2"``); the files directly in the folder read are a
  stream named after that folder. A folder named ``labels`` is named after its parent
  instead (``runs/detect/predict/labels`` is stream ``predict``), since Ultralytics puts
  every data set's labels in one. ``stream=`` names a single stream.
- **Frames.** When every file stem of a stream ends in a number (``000123``, ``frame_12``)
  and no two share it, the number is the frame; otherwise frames are the files' ranks in
  order of name, from 0. ``time = frame / fps``.
- **Class names.** ``names=`` (a list, a mapping index to name, or a ``classes.txt`` /
  ``data.yaml`` file); by default the first ``classes.txt``, ``data.yaml`` or
  ``dataset.yaml`` found in the folder read or up to three folders above it. An index with
  no name is kept as written (``"7"``), in one :class:`~assay.exceptions.AssayWarning`.
- **Image sizes** (to turn normalised boxes into pixels): ``image_size=``, else the image
  itself, read with Pillow (its header only; EXIF rotation applied as Ultralytics does):
  ``STEM.jpg`` (or ``.png``, ...) next to the label file, or in the same place under
  ``images=``; by default under the Ultralytics twin folder (``.../labels/train/x.txt`` has
  its image in ``.../images/train/x.jpg``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._progress import progress
from .._validation import Interval, validate_params
from ..exceptions import (
    AssayWarning,
    DataFileNotFoundError,
    DataFormatError,
    InvalidParameterError,
    MissingDependencyError,
)
from ..tables import STRING, validate
from ._classes import UnknownClasses
from ._delimited import Field, check_file, fail_rows, line_of_row, numpy_columns, read_delimited
from ._folders import absolute

__all__ = ["IMAGE_SUFFIXES", "read_yolo", "read_yolo_names"]

#: Image file suffixes looked for next to a label file (any case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
_NAME_FILES = ("classes.txt", "data.yaml", "dataset.yaml")
_BOX = [Field("class", "int"), Field("cx", "float"), Field("cy", "float"), Field("w", "float"),
        Field("h", "float")]
_SCORED = [*_BOX, Field("conf", "float")]
_WHAT = "a YOLO label file (class cx cy w h [conf])"
_TRAILING_NUMBER = re.compile(r"(\d+)$")


# -- class names -----------------------------------------------------------------------------

def read_yolo_names(path: str | Path) -> list[str]:
    """Class names from a ``classes.txt`` (one name a line, as darknet's ``obj.names``) or
    the ``names:`` entry of an Ultralytics ``data.yaml`` (a list ``[a, b]``, a block of
    ``- a`` lines, or a block of ``0: a`` lines).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from assay.io import read_yolo_names
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "data.yaml"
    >>> _ = p.write_text("path: ../datasets/cars\\nnames:\\n  0: car\\n  1: 'traffic light'\\nnc: 2\\n")
    >>> read_yolo_names(p)
    ['car', 'traffic light']
    """
    p = check_file(path, "a classes.txt or data.yaml file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFormatError("is not UTF-8 text; expected class names.", path=p) from None
    lines = text.splitlines()
    if p.suffix.lower() not in (".yaml", ".yml"):
        names = [line.strip() for line in lines]
        while names and not names[-1]:
            names.pop()
        for i, name in enumerate(names, start=1):
            if not name:
                raise DataFormatError("empty class name; expected one name per line.", path=p, line=i)
        return names
    return _yaml_names(p, lines)


def _unquote(value: str, p: Path, line: int) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if not value or value[0] in "'\"[{":
        raise DataFormatError(f"expected a class name, got {value!r}.", path=p, line=line)
    return value


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _split_flow(body: str, p: Path, line: int) -> list[str]:
    items, current, quote = [], "", None
    for ch in body:
        if quote:
            quote = None if ch == quote else quote
            current += ch
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current)
    return [_unquote(item, p, line) for item in items]


def _yaml_names(p: Path, lines: list[str]) -> list[str]:
    start = next((i for i, line in enumerate(lines) if re.match(r"names\s*:", line)), None)
    if start is None:
        raise DataFormatError("no top-level 'names:' entry; expected the class names.", path=p)
    rest = _strip_comment(lines[start]).split(":", 1)[1].strip()
    if rest:
        if not (rest.startswith("[") and rest.endswith("]")):
            raise DataFormatError(f"'names:' expected a list [a, b, ...], got {rest!r}.",
                                  path=p, line=start + 1)
        return _split_flow(rest[1:-1], p, start + 1)
    listed: list[str] = []
    indexed: dict[int, str] = {}
    for i in range(start + 1, len(lines)):
        line = _strip_comment(lines[i])
        if not line.strip():
            continue
        if not line[0].isspace():
            break  # the next top-level key
        item = line.strip()
        if item.startswith("- ") or item == "-":
            listed.append(_unquote(item[1:], p, i + 1))
            continue
        key, sep, value = item.partition(":")
        if not sep or not key.strip().isdigit():
            raise DataFormatError(f"'names:' expected '- name' or 'INDEX: name' lines, got {item!r}.",
                                  path=p, line=i + 1)
        if int(key) in indexed:
            raise DataFormatError(f"class index {int(key)} named twice.", path=p, line=i + 1)
        indexed[int(key)] = _unquote(value, p, i + 1)
    if listed and indexed:
        raise DataFormatError("'names:' mixes '- name' and 'INDEX: name' lines.", path=p, line=start + 1)
    if indexed:
        missing = sorted(set(range(max(indexed) + 1)) - set(indexed))
        if missing:
            raise DataFormatError(f"'names:' has no name for class index {missing[0]}; expected "
                                  "indices 0, 1, 2, ...", path=p, line=start + 1)
        return [indexed[k] for k in range(len(indexed))]
    if not listed:
        raise DataFormatError("'names:' is empty; expected the class names.", path=p, line=start + 1)
    return listed


def _find_names(folder: Path) -> Path | None:
    for d in [folder, *list(folder.parents)[:3]]:
        for name in _NAME_FILES:
            if (d / name).is_file():
                return d / name
    return None


# -- images ----------------------------------------------------------------------------------

def _twin_images(labels_root: Path) -> Path | None:
    """The Ultralytics images folder of a labels folder: the last ``labels`` part of the path
    replaced by ``images``."""
    parts = labels_root.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "labels":
            return Path(*parts[:i], "images", *parts[i + 1:])
    return None


def _find_image(label: Path, rel_dir: Path, images: Path | None) -> Path | None:
    folders = [label.parent] + ([images / rel_dir] if images is not None else [])
    for folder in folders:
        if not folder.is_dir():
            continue
        for suffix in IMAGE_SUFFIXES:
            for s in (suffix, suffix.upper()):
                candidate = folder / (label.stem + s)
                if candidate.is_file():
                    return candidate
    return None


def _image_size(path: Path) -> tuple[int, int]:
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependencyError(
            f"reading the size of {path} needs Pillow: pip install 'assay[yolo]' (or pass "
            "image_size=(width, height))."
        ) from None
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)  # EXIF Orientation
    except OSError as e:
        raise DataFormatError(f"cannot read the image's size: {e}.", path=path) from None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)  # rotated a quarter turn


# -- the reader ------------------------------------------------------------------------------

def _label_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return [root]
    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() == ".txt"
                   and f.name.lower() not in ("classes.txt", "obj.names"))
    if not files:
        raise DataFileNotFoundError(
            f"{root}: no .txt files in this folder or its sub-folders (expected YOLO label files)."
        )
    return files


def _stream_name(folder: Path) -> str:
    return folder.parent.name if folder.name == "labels" and folder.parent.name else folder.name


def _frames(stems: list[str]) -> tuple[np.ndarray, str]:
    """Frame numbers of one stream's files (in name order) and how they were found."""
    numbers = [_TRAILING_NUMBER.search(s) for s in stems]
    if all(numbers):
        values = np.array([int(m.group(1)) for m in numbers], dtype="int64")
        if len(np.unique(values)) == len(values):
            return values, "file name"
    return np.arange(len(stems), dtype="int64"), "order"


def _sizes_given(image_size, stream: str, key: str) -> tuple[float, float] | None:
    if image_size is None:
        return None
    if not isinstance(image_size, Mapping):
        return image_size
    return image_size.get(key, image_size.get(stream))


def _check_size(value, what: str) -> tuple[float, float]:
    ok = (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
          and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                  and np.isfinite(v) and v > 0 for v in value))
    if not ok:
        raise InvalidParameterError(
            f"The 'image_size' parameter of read_yolo must be (width, height) in pixels, both > 0, "
            f"or a mapping from stream or image to such a pair. Got {value!r} for {what}."
        )
    return float(value[0]), float(value[1])


@validate_params(
    {
        "path": ["path"],
        "names": [list, tuple, dict, "path", None],
        "image_size": [tuple, list, dict, None],
        "images": ["path", None],
        "stream": [str, None],
        "source": [str, None],
        "fps": [Interval(float, 0, None, closed="neither")],
    }
)
def read_yolo(
    path: str | Path,
    *,
    names: Sequence[str] | Mapping[int, str] | str | Path | None = None,
    image_size: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
    images: str | Path | None = None,
    stream: str | None = None,
    source: str | None = None,
    fps: float = 1.0,
) -> pd.DataFrame:
    """Read YOLO txt labels or predictions as canonical observations with pixel boxes.

    Parameters
    ----------
    path : str or Path
        One label file, or a folder read with its sub-folders (every ``.txt`` but
        ``classes.txt``); see this module's notes for how streams and frames are named.
    names : list, mapping, str or Path, optional
        Class names by index: a list, a mapping ``{index: name}``, or a ``classes.txt`` /
        ``data.yaml`` file (:func:`read_yolo_names`). Default: found near ``path``.
    image_size : (width, height) or mapping, optional
        Image size in pixels for every image; or a mapping whose keys are stream names (every
        image of the stream) or images (the label file's path relative to ``path`` without
        ``.txt``, ``"cam1/000012"``; for a single file its stem). Overrides the image files.
    images : str or Path, optional
        Folder of the images, laid out as the label folder is (default: the Ultralytics twin
        ``images`` folder, and the label file's own folder).
    stream : str, optional
        Stream name, when one stream is read.
    source : str, optional
        Default ``"model"`` when the files have a ``conf`` field, else ``"labels"``.
    fps : float, default 1.0
        Frames per second: ``time = frame / fps``.

    Returns
    -------
    pandas.DataFrame
        Canonical observations: ``x1 = (cx - w / 2) * width``, ``x2 = (cx + w / 2) * width``,
        likewise ``y`` with the height; ``score = conf`` (missing for labels); ``class_id``
        (the index in the file) and ``file_name`` (the image's path relative to the images
        folder, when found) as attributes. ``attrs``: ``sources`` (stream to folder),
        ``frame_rates``, ``image_sizes`` (stream to ``[width, height]`` when all its images
        have one size), ``frames_from`` (stream to ``"file name"`` or ``"order"``),
        ``class_names``.

    Raises
    ------
    DataFormatError
        The first malformed value, with file, line and column; a coordinate outside [0, 1]
        (pixel coordinates are not YOLO's); a folder mixing files with and without ``conf``.
    DataFileNotFoundError
        No image and no ``image_size`` for a label file (its size is needed for pixels).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from assay.io import read_yolo
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "cam1"
    >>> root.mkdir()
    >>> _ = (root / "classes.txt").write_text("person\\ncar\\n")
    >>> _ = (root / "frame_000012.txt").write_text("1 0.5 0.5 0.25 0.5 0.91\\n0 0.1 0.2 0.1 0.2 0.4\\n")
    >>> _ = (root / "frame_000013.txt").write_text("")
    >>> obs = read_yolo(root, image_size=(640, 480), fps=10)
    >>> obs[["stream", "frame", "time", "cls", "score", "x1", "y1", "x2", "y2", "source"]]
      stream  frame  time     cls  score     x1     y1     x2     y2 source
    0   cam1     12   1.2     car   0.91  240.0  120.0  400.0  360.0  model
    1   cam1     12   1.2  person   0.40   32.0   48.0   96.0  144.0  model
    """
    root = Path(path)
    files = _label_files(root)
    base = root if root.is_dir() else root.parent
    class_names = _class_names(names, base)
    images_root = Path(images) if images is not None else _twin_images(base)
    if images is not None and not images_root.is_dir():
        raise DataFileNotFoundError(f"{images_root}: no such folder (the 'images' parameter of read_yolo).")
    if isinstance(image_size, Mapping):
        for key, value in image_size.items():
            _check_size(value, repr(key))
    elif image_size is not None:
        image_size = _check_size(image_size, "every image")

    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    if stream is not None and len(by_folder) > 1:
        shown = ", ".join(str(d) for d in list(by_folder)[:3])
        raise InvalidParameterError(
            f"The 'stream' parameter of read_yolo names one stream, but {root} holds label files "
            f"in {len(by_folder)} folders ({shown}, ...), a stream each. Leave it out to name "
            "each stream after its folder."
        )
    unknown = UnknownClasses(class_names or [], "class names")
    parts, attrs = [], {"sources": {}, "frame_rates": {}, "image_sizes": {}, "frames_from": {}}
    scored_file: Path | None = None
    unscored_file: Path | None = None
    keys_seen: set[str] = set()
    for folder, group in progress(list(by_folder.items()), f"reading {len(files)} YOLO files"):
        rel_dir = folder.relative_to(base) if folder != base else Path()
        name = stream or (rel_dir.as_posix() if rel_dir != Path() else _stream_name(base))
        if name == "." or not name:
            name = "yolo"
        frames, how = _frames([f.stem for f in group])
        sizes_seen = set()
        for f, frame in zip(group, frames.tolist(), strict=True):
            key = (rel_dir / f.stem).as_posix()
            keys_seen.update((key, name))
            size = _sizes_given(image_size, name, key)
            image = _find_image(f, rel_dir, images_root)
            if size is None:
                if image is None:
                    looked = f"{f.parent}" + (f" or {images_root / rel_dir}" if images_root else "")
                    raise DataFileNotFoundError(
                        f"{f}: no image {f.stem}.jpg/.png/... in {looked}, so its normalised boxes "
                        "cannot be turned into pixels. Pass image_size=(width, height) (or a "
                        "mapping per stream or image), or images= the folder of the images."
                    )
                size = _image_size(image)
            sizes_seen.add(tuple(size))
            part = _read_file(f, name, frame, size, unknown, class_names)
            if part is None:
                continue
            if "score" in part:
                scored_file = scored_file or f
            else:
                unscored_file = unscored_file or f
            if scored_file is not None and unscored_file is not None:
                other = unscored_file if f == scored_file else scored_file
                raise DataFormatError(
                    f"has {'a' if f == scored_file else 'no'} confidence field (6th), but {other} "
                    f"has {'none' if f == scored_file else 'one'}; read labels and predictions "
                    "apart.", path=f, line=1,
                )
            if image is not None:
                under = images_root if images_root is not None and image.is_relative_to(images_root) else base
                part["file_name"] = image.relative_to(under).as_posix()
            parts.append(part)
        if name in attrs["sources"]:
            raise InvalidParameterError(f"two folders of {root} make stream {name!r}; read them apart.")
        attrs["sources"][name] = absolute(folder)
        attrs["frame_rates"][name] = float(fps)
        attrs["frames_from"][name] = how
        if len(sizes_seen) == 1:
            w, h = next(iter(sizes_seen))
            attrs["image_sizes"][name] = [int(v) if float(v).is_integer() else v for v in (w, h)]
    if isinstance(image_size, Mapping) and set(image_size) - keys_seen:
        extra = sorted(map(str, set(image_size) - keys_seen))
        raise InvalidParameterError(
            f"The 'image_size' parameter of read_yolo names {extra[0]!r}, which is neither a stream "
            f"nor an image of {root} (streams: {', '.join(sorted(attrs['sources'])[:5])})."
        )
    if class_names is None:
        warnings.warn(
            f"read_yolo: no class names for {root} (no names=, and no {', '.join(_NAME_FILES)} in "
            "its folder or the three above it); classes are the indices as written ('0', '1', ...).",
            AssayWarning, stacklevel=3,
        )
    else:
        unknown.warn("read_yolo")
    scored = scored_file is not None
    src = source or ("model" if scored else "labels")
    if parts:
        df = pd.concat(parts, ignore_index=True)
    else:
        df = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in
                           (("stream", STRING), ("frame", "int64"), ("cls", STRING), ("class_id", "int64"),
                            ("score", "float64"), ("x1", "float64"), ("y1", "float64"),
                            ("x2", "float64"), ("y2", "float64"))})
    df["source"] = pd.array(np.full(len(df), src, dtype=object), dtype=STRING)
    df["time"] = df["frame"].to_numpy(dtype="float64") / float(fps)
    df["obs_id"] = np.arange(len(df), dtype="int64")
    df["track"] = pd.array([pd.NA] * len(df), dtype="Int64")
    if "score" not in df:
        df["score"] = np.nan
    df = df.sort_values(["stream", "frame"], kind="stable", ignore_index=True)
    df["obs_id"] = np.arange(len(df), dtype="int64")
    df.attrs.update(attrs, source_file=str(root), class_names=list(class_names or []))
    return validate(df, "observations", name=str(root))


def _class_names(names, base: Path) -> list[str] | None:
    if names is None:
        found = _find_names(base)
        return read_yolo_names(found) if found is not None else None
    if isinstance(names, (str, Path)):
        return read_yolo_names(names)
    if isinstance(names, Mapping):
        keys = sorted(names)
        if keys != list(range(len(keys))) or not all(isinstance(v, str) for v in names.values()):
            raise InvalidParameterError(
                "The 'names' parameter of read_yolo, as a mapping, must map the indices 0, 1, 2, "
                f"... to class names. Got {dict(list(names.items())[:5])!r}."
            )
        return [names[k] for k in keys]
    if not all(isinstance(v, str) for v in names):
        raise InvalidParameterError(
            f"The 'names' parameter of read_yolo must list class names (str). Got {list(names)[:5]!r}."
        )
    return list(names)


def _read_file(f: Path, stream: str, frame: int, size: tuple[float, float],
               unknown: UnknownClasses, class_names: list[str] | None) -> pd.DataFrame | None:
    size_bytes = f.stat().st_size
    if size_bytes == 0 or (size_bytes < 16 and not f.read_bytes().strip()):
        return None  # an image without boxes
    table, src = read_delimited(f, [_BOX, _SCORED], delimiter=" ", what=_WHAT)
    cols = numpy_columns(table)
    k = cols["class"]
    fail_rows(src, k < 0, 1, "class", k, "a class index >= 0")
    for j, c in ((2, "cx"), (3, "cy"), (4, "w"), (5, "h")):
        v = cols[c]
        fail_rows(src, ~((v >= 0) & (v <= 1)), j, c, v,
                  "a value normalised to [0, 1] by the image size (pixel coordinates are not YOLO's)")
    width, height = size
    n = len(k)
    ids, inverse = np.unique(k, return_inverse=True)
    named = class_names or []
    cls = np.array([named[i] if i < len(named) else str(i) for i in ids.tolist()], dtype=object)[inverse]
    if class_names is not None:
        unknown.add(cls, f, lambda row: f"line {line_of_row(src.raw, row)}")
    data = {
        "stream": pd.array(np.full(n, stream, dtype=object), dtype=STRING),
        "frame": np.full(n, frame, dtype="int64"),
        "cls": pd.array(cls, dtype=STRING),
        "class_id": k.astype("int64"),
        "x1": (cols["cx"] - cols["w"] / 2) * width, "y1": (cols["cy"] - cols["h"] / 2) * height,
        "x2": (cols["cx"] + cols["w"] / 2) * width, "y2": (cols["cy"] + cols["h"] / 2) * height,
    }
    if "conf" in cols:
        conf = cols["conf"]
        fail_rows(src, ~((conf >= 0) & (conf <= 1)), 6, "conf", conf, "a confidence in [0, 1]")
        data["score"] = conf
    return pd.DataFrame(data)
