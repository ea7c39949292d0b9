"""COCO detection JSON (datasets and results)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import progress
from .._validation import Interval, Options, validate_params
from ..exceptions import DataFileNotFoundError, DataFormatError, InvalidParameterError
from ..tables import STRING, validate
from ._classes import UnknownClasses
from ._folders import absolute, first_shared, folder_files, merge_attrs
from ._json import expect, is_num, load_json

__all__ = ["read_coco", "read_coco_results"]


@validate_params(
    {
        "path": ["path"],
        "images_from": ["path", None],
        "stream": [str, callable, None],
        "frame": [Options(["id", "order"])],
        "source": [str, None],
        "fps": [Interval(float, 0, None, closed="neither")],
    }
)
def read_coco(
    path: str | Path,
    *,
    images_from: str | Path | None = None,
    stream: str | Callable[[dict], str] | None = None,
    frame: str = "id",
    source: str | None = None,
    fps: float = 1.0,
) -> pd.DataFrame:
    """Read COCO detections: a dataset file (labels) or a results file (a model's boxes).

    Parameters
    ----------
    path : str or Path
        A COCO dataset JSON (an object with ``images``, ``annotations``, ``categories``) or a
        results JSON (a list of ``{"image_id", "category_id", "bbox", "score"}``); or a
        folder, whose ``.json`` files (but ``images_from``) are read in order of name and
        concatenated, each file a stream named after it unless ``stream`` is a function.
        Files must not share a stream.
    images_from : str or Path, optional
        For a results file: the dataset JSON that defines its images and categories.
    stream : str or callable, optional
        Every image is a frame of this one stream (default ``"coco"``; for a folder, each
        file's stem), unless a function of the image record (the dict in ``images``) names a
        stream per image (e.g. ``lambda im: im["video_id"]``). A name is an error for a
        folder of several files.
    frame : {"id", "order"}
        Frame number: the image id, or its rank when images are sorted by id.
    source : str, optional
        Default ``"labels"`` for a dataset and ``"model"`` for results.
    fps : float
        Used for ``time = frame_rank / fps`` (COCO images have no time; rank order is kept).

    Returns
    -------
    pandas.DataFrame
        Canonical observations: ``x1, y1 = bbox[0:2]``, ``x2 = x1 + bbox[2]``,
        ``y2 = y1 + bbox[3]``; attributes ``image_id``, ``file_name``, ``ann_id`` (datasets)
        and ``iscrowd`` where present. ``attrs["sources"]`` maps each stream to its file,
        ``attrs["frame_rates"]`` to ``fps``, and ``attrs["image_sizes"]`` to ``[width,
        height]`` when all its images give the same ``width`` and ``height``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from assay.io import read_coco
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "instances.json"
    >>> _ = p.write_text(json.dumps({
    ...     "images": [{"id": 7, "file_name": "a.jpg", "width": 640, "height": 480}],
    ...     "categories": [{"id": 1, "name": "person"}],
    ...     "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 20, 5, 8]}]}))
    >>> obs = read_coco(p)
    >>> obs[["stream", "frame", "cls", "x1", "y1", "x2", "y2", "file_name"]]
      stream  frame     cls    x1    y1    x2    y2 file_name
    0   coco      7  person  10.0  20.0  15.0  28.0     a.jpg
    >>> obs.attrs["image_sizes"]
    {'coco': [640, 480]}
    """
    p = Path(path)
    if not p.is_dir():
        return _read_coco_file(p, images_from=images_from, stream="coco" if stream is None else stream,
                               frame=frame, source=source, fps=fps)
    skip = os.path.abspath(images_from) if images_from is not None else None
    files = [f for f in folder_files(p, (".json",), "COCO JSON files") if absolute(f) != skip]
    if not files:
        raise DataFileNotFoundError(f"{p}: no .json files in this folder but images_from.")
    if isinstance(stream, str) and len(files) > 1:
        raise InvalidParameterError(
            f"The 'stream' parameter of read_coco names one stream, but {p} holds {len(files)} "
            "files. Leave it out to name each stream after its file, or pass a function of the "
            "image record."
        )
    parts = [
        _read_coco_file(f, images_from=images_from, stream=f.stem if stream is None else stream,
                        frame=frame, source=source, fps=fps)
        for f in progress(files, f"reading {len(files)} COCO files")
    ]
    hit = first_shared([part["stream"].unique() for part in parts])
    if hit is not None:
        value, i, j = hit
        raise DataFormatError(
            f"stream {value!r} is also in {files[i]}; one table holds each stream once. Name "
            "the streams apart, or read the files as separate tables.",
            path=files[j],
        )
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["stream", "frame"], kind="stable", ignore_index=True)
    df["obs_id"] = np.arange(len(df), dtype="int64")
    df.attrs = merge_attrs(parts)
    df.attrs["source_file"] = str(p)
    return validate(df, "observations", name=str(p))


def _read_coco_file(
    p: Path,
    *,
    images_from: str | Path | None,
    stream: str | Callable[[dict], str],
    frame: str,
    source: str | None,
    fps: float,
    warn_level: int = 5,
    doc: Any = None,
) -> pd.DataFrame:
    doc = load_json(p) if doc is None else doc
    if isinstance(doc, list):
        if images_from is None:
            raise DataFormatError(
                "is a COCO results file (a list of detections); pass images_from= the dataset "
                "JSON that defines its images and categories.", path=p,
            )
        meta_path = Path(images_from)
        meta = load_json(meta_path)
        anns, is_results = doc, True
        source = source or "model"
    else:
        expect(isinstance(doc, dict), p, "top level", "a JSON object or list", type(doc).__name__)
        meta, meta_path, anns, is_results = doc, p, doc.get("annotations"), False
        expect(isinstance(anns, list), p, "'annotations'", "a list", anns)
        source = source or "labels"
    for key in ("images", "categories"):
        expect(isinstance(meta, dict) and isinstance(meta.get(key), list), meta_path,
                f"{key!r}", "a list", meta.get(key) if isinstance(meta, dict) else meta)
    cats = {}
    for i, c in enumerate(meta["categories"]):
        expect(isinstance(c, dict) and isinstance(c.get("id"), int) and isinstance(c.get("name"), str),
                meta_path, f"categories[{i}]", "an object with integer 'id' and string 'name'", c)
        cats[c["id"]] = c["name"]
    images = {}
    for i, im in enumerate(meta["images"]):
        expect(isinstance(im, dict) and isinstance(im.get("id"), int), meta_path,
                f"images[{i}]", "an object with an integer 'id'", im)
        expect(im["id"] not in images, meta_path, f"images[{i}].id", "a unique image id", im["id"])
        images[im["id"]] = im
    order = {iid: r for r, iid in enumerate(sorted(images))}
    unknown = UnknownClasses([str(c) for c in sorted(cats)], f"category ids of {meta_path}")

    n = len(anns)
    image_id = np.empty(n, dtype="int64")
    cat = np.empty(n, dtype="int64")
    box = np.empty((n, 4), dtype="float64")
    score = np.full(n, np.nan)
    ann_id = np.full(n, -1, dtype="int64")
    crowd = np.zeros(n, dtype=bool)
    for i, a in enumerate(anns):
        where = f"{'' if is_results else 'annotations'}[{i}]"
        expect(isinstance(a, dict), p, where, "an object", a)
        iid = a.get("image_id")
        expect(iid in images, p, f"{where}.image_id", "the id of an image in 'images'", iid)
        cid = a.get("category_id")
        if is_results:  # a detector's label map may not be the data set's: kept, and warned of
            expect(isinstance(cid, int) and not isinstance(cid, bool), p, f"{where}.category_id",
                    "an integer category id", cid)
        else:
            expect(cid in cats, p, f"{where}.category_id", "the id of a category in 'categories'", cid)
        bb = a.get("bbox")
        expect(isinstance(bb, list) and len(bb) == 4 and all(is_num(v) for v in bb), p,
                f"{where}.bbox", "4 finite numbers [x, y, width, height]", bb)
        expect(bb[2] >= 0 and bb[3] >= 0, p, f"{where}.bbox", "a width and height >= 0", bb)
        image_id[i], cat[i], box[i] = iid, cid, bb
        if is_results:
            s = a.get("score")
            expect(is_num(s), p, f"{where}.score", "a finite number", s)
            score[i] = s
        else:
            if "id" in a:
                ann_id[i] = a["id"]
            if "score" in a and is_num(a["score"]):
                score[i] = a["score"]
        crowd[i] = bool(a.get("iscrowd", 0))
    rank = np.array([order[i] for i in image_id], dtype="int64")
    frames = image_id if frame == "id" else rank
    if callable(stream):
        names = {iid: str(stream(im)) for iid, im in images.items()}
        streams = np.array([names[i] for i in image_id], dtype=object)
    else:
        streams = np.full(n, stream, dtype=object)
    cat_names = np.array([cats.get(c, str(c)) for c in cat], dtype=object)
    if is_results:
        unknown.add(cat.astype(str).astype(object), p, lambda row: f"entry [{row}]")
    files = np.array([images[i].get("file_name") for i in image_id], dtype=object)
    df = pd.DataFrame({
        "stream": pd.array(streams, dtype=STRING),
        "frame": frames,
        "time": rank / float(fps),
        "obs_id": np.arange(n, dtype="int64"),
        "track": pd.array([pd.NA] * n, dtype="Int64"),
        "cls": pd.array(cat_names, dtype=STRING),
        "score": score,
        "source": pd.array(np.full(n, source, dtype=object), dtype=STRING),
        "x1": box[:, 0], "y1": box[:, 1],
        "x2": box[:, 0] + box[:, 2], "y2": box[:, 1] + box[:, 3],
        "image_id": image_id,
        "file_name": pd.array(files, dtype=STRING),
        "iscrowd": crowd,
    })
    if not is_results:
        df["ann_id"] = ann_id
    df = df.sort_values(["stream", "frame"], kind="stable", ignore_index=True)
    df["obs_id"] = np.arange(n, dtype="int64")
    shown = set(streams.tolist())
    df.attrs["source_file"] = str(p)
    df.attrs["sources"] = {s: absolute(p) for s in sorted(shown)}
    df.attrs["frame_rates"] = dict.fromkeys(sorted(shown), float(fps))
    df.attrs["image_sizes"] = _image_sizes(images, names if callable(stream) else None, stream, shown)
    unknown.warn("read_coco_results" if is_results else "read_coco", stacklevel=warn_level)
    return validate(df, "observations", name=str(p))


def _image_sizes(images: dict, names: dict | None, stream: Any, shown: set) -> dict[str, list]:
    """Stream to ``[width, height]`` for the streams whose images all give the same size."""
    sizes: dict[str, set] = {}
    for iid, im in images.items():
        name = names[iid] if names is not None else stream
        if name in shown:
            sizes.setdefault(name, set()).add((im.get("width"), im.get("height")))
    out = {}
    for name, got in sorted(sizes.items()):
        if len(got) == 1:
            w, h = next(iter(got))
            if is_num(w) and is_num(h) and w > 0 and h > 0:
                out[name] = [w, h]
    return out


@validate_params(
    {
        "results": ["path"],
        "dataset": ["path"],
        "stream": [str, callable, None],
        "frame": [Options(["id", "order"])],
        "source": [str],
        "fps": [Interval(float, 0, None, closed="neither")],
    }
)
def read_coco_results(
    results: str | Path,
    dataset: str | Path,
    *,
    stream: str | Callable[[dict], str] | None = None,
    frame: str = "id",
    source: str = "model",
    fps: float = 1.0,
) -> pd.DataFrame:
    """Read a COCO results file, the detections a model submits, against its data set.

    A results file is a JSON list ``[{"image_id", "category_id", "bbox": [x, y, width,
    height], "score"}, ...]`` (other keys, such as ``segmentation``, are ignored). Its
    images and categories are the data set's, so the predictions come out with the streams,
    frames and class names that :func:`read_coco` gives the data set's labels with the same
    ``stream``, ``frame`` and ``fps``: the two tables line up row for row.

    Parameters
    ----------
    results : str or Path
        The results JSON.
    dataset : str or Path
        The data set JSON (``images``, ``categories``; its ``annotations`` are not read here).
    stream, frame, fps
        As in :func:`read_coco`.
    source : str, default "model"
        Who produced the detections, e.g. ``"model:faster_rcnn"``.

    Returns
    -------
    pandas.DataFrame
        Canonical observations with ``score`` from the file, boxes in pixels as in
        :func:`read_coco`, attributes ``image_id``, ``file_name`` and ``iscrowd``. A
        ``category_id`` the data set does not define (a detector trained with another label
        map) is kept as written (``"91"``) in ``cls``, with one
        :class:`~assay.exceptions.AssayWarning`.

    Raises
    ------
    DataFormatError
        Naming the file and the entry (``[3].bbox``) of the first malformed value, or an
        ``image_id`` the data set does not have.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from assay.io import read_coco, read_coco_results
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "val.json").write_text(json.dumps({
    ...     "images": [{"id": 7, "file_name": "a.jpg", "width": 640, "height": 480}],
    ...     "categories": [{"id": 1, "name": "person"}],
    ...     "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 20, 5, 8]}]}))
    >>> _ = (d / "detections.json").write_text(json.dumps(
    ...     [{"image_id": 7, "category_id": 1, "bbox": [11, 19, 5, 9], "score": 0.87}]))
    >>> pred = read_coco_results(d / "detections.json", d / "val.json", source="model:detr")
    >>> pred[["stream", "frame", "cls", "score", "x1", "y1", "x2", "y2", "source"]]
      stream  frame     cls  score    x1    y1    x2    y2      source
    0   coco      7  person   0.87  11.0  19.0  16.0  28.0  model:detr
    >>> read_coco(d / "val.json")[["stream", "frame", "cls"]]
      stream  frame     cls
    0   coco      7  person
    """
    p = Path(results)
    if p.is_dir():
        raise InvalidParameterError(
            f"The 'results' parameter of read_coco_results must be a results JSON file. Got the "
            f"folder {str(p)!r}; read_coco reads a folder of them (with images_from=)."
        )
    doc_check = load_json(p)
    if not isinstance(doc_check, list):
        raise DataFormatError(
            "is not a COCO results file (a JSON list of detections); a data set is read with "
            "read_coco.", path=p,
        )
    return _read_coco_file(p, images_from=dataset, stream="coco" if stream is None else stream,
                           frame=frame, source=source, fps=fps, doc=doc_check)
