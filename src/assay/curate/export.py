"""Labeling-queue export: Label Studio tasks, CVAT XML (for images 1.1) and MOT files.

Each export writes the queued frames (a queue from :func:`~assay.curate.rank_frames` or
:meth:`~assay.curate.Campaign.next_round`) with the model's predictions in them as
pre-annotations, in queue order, so reviewers correct predictions instead of drawing from
scratch and start with the frames the strategy ranked first.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import validate_params
from ..exceptions import InvalidParameterError, SchemaError, UnsafePathError
from ..io import StagedFiles, check_inside, original_name, safe_name
from ..tables import BOX2D

__all__ = ["DEFAULT_IMAGE", "labelstudio_config", "to_cvat", "to_labelstudio", "to_mot"]

#: Default image path of a frame: the MOTChallenge layout ``<stream>/img1/<frame:06d>.jpg``.
DEFAULT_IMAGE = "{stream}/img1/{frame:06d}.jpg"
#: The queue listing :func:`to_mot` writes beside the stream folders.
MOT_QUEUE_FILE = "queue.csv"
#: Attributes of each predicted box in a CVAT export.
CVAT_BOX_ATTRIBUTES = ("obs_id", "score", "box", "cls")
#: Attributes of each image's ``assay`` tag in a CVAT export.
CVAT_TAG_ATTRIBUTES = ("stream", "frame", "predicted", "arm", "severity", "reason", "flagged")


def _queued_predictions(queue: pd.DataFrame, observations: pd.DataFrame, caller: str) -> pd.DataFrame:
    """The observations in queued frames, with the queue position ``_pos`` of their frame."""
    for c in ("stream", "frame"):
        if c not in queue.columns:
            raise SchemaError(f"{caller}: the queue has no {c!r} column; pass a queue from rank_frames.")
    missing = [c for c in ("stream", "frame", "obs_id", "cls", *BOX2D) if c not in observations.columns]
    if missing:
        raise SchemaError(
            f"{caller}: the observations have no {', '.join(missing)} column(s); exports need 2-D "
            "boxes (x1, y1, x2, y2) with obs_id and cls."
        )
    keys = pd.MultiIndex.from_arrays([queue["stream"].astype(str).to_numpy(dtype=object),
                                      queue["frame"].to_numpy(dtype="int64")])
    okeys = pd.MultiIndex.from_arrays([observations["stream"].astype(str).to_numpy(dtype=object),
                                       observations["frame"].to_numpy(dtype="int64")])
    pos = keys.get_indexer(okeys)
    sel = pos >= 0
    out = observations.loc[sel].copy()
    out["_pos"] = pos[sel]
    return out.sort_values(["_pos", "obs_id"], kind="stable")


def _size_of(image_size: Any, stream: str, caller: str) -> tuple[float, float]:
    if image_size is None:
        raise InvalidParameterError(
            f"{caller} needs the image size to place boxes: pass image_size=(width, height), or a "
            "mapping {stream: (width, height)} (MOTChallenge: imWidth, imHeight in seqinfo.ini)."
        )
    size = image_size.get(stream) if isinstance(image_size, Mapping) else image_size
    if size is None:
        raise InvalidParameterError(
            f"The 'image_size' parameter of {caller} has no size for stream {stream!r}. Got sizes "
            f"for {sorted(image_size)!r}."
        )
    w, h = (float(v) for v in size)
    if not (w > 0 and h > 0):
        raise InvalidParameterError(f"The 'image_size' parameter of {caller} must be positive. Got {size!r}.")
    return w, h


def _percent_box(x1: float, y1: float, x2: float, y2: float, w: float, h: float) -> dict[str, float]:
    """A pixel box as Label Studio's percent box, clipped to the image."""
    x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
    y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
    return {"x": 100.0 * x1 / w, "y": 100.0 * y1 / h, "width": 100.0 * (x2 - x1) / w,
            "height": 100.0 * (y2 - y1) / h}


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA:
        return None
    return v


@validate_params({"classes": [list, tuple], "from_name": [str], "to_name": [str]})
def labelstudio_config(classes: list[str] | tuple[str, ...], *, from_name: str = "label",
                       to_name: str = "image") -> str:
    """The Label Studio labeling config matching :func:`to_labelstudio`'s tasks.

    Examples
    --------
    >>> from assay.curate import labelstudio_config
    >>> print(labelstudio_config(["pedestrian"]))
    <View>
      <Image name="image" value="$image"/>
      <RectangleLabels name="label" toName="image">
        <Label value="pedestrian"/>
      </RectangleLabels>
    </View>
    """
    labels = "\n".join(f'    <Label value="{_xml_attr(c)}"/>' for c in classes)
    return (f'<View>\n  <Image name="{to_name}" value="$image"/>\n'
            f'  <RectangleLabels name="{from_name}" toName="{to_name}">\n{labels}\n'
            "  </RectangleLabels>\n</View>")


def _xml_attr(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


@validate_params({
    "queue": [pd.DataFrame], "observations": [pd.DataFrame], "path": ["path", None],
    "image": [str], "image_size": [tuple, list, Mapping, None], "from_name": [str],
    "to_name": [str], "model_version": [str, None],
})
def to_labelstudio(
    queue: pd.DataFrame,
    observations: pd.DataFrame,
    path: str | Path | None = None,
    *,
    image: str = DEFAULT_IMAGE,
    image_size: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
    from_name: str = "label",
    to_name: str = "image",
    model_version: str | None = None,
) -> list[dict[str, Any]]:
    """Write queued frames as Label Studio tasks, predictions as pre-annotations.

    Parameters
    ----------
    queue : pandas.DataFrame
        Frames to label, in order (from :func:`~assay.curate.rank_frames`).
    observations : pandas.DataFrame
        The model's predictions (with ``obs_id``, ``cls``, ``x1 y1 x2 y2``, and ``score`` if
        known); those in queued frames become the pre-annotations.
    path : str or Path, optional
        Write the tasks here as JSON (a list, Label Studio's import format), whole or not at
        all (see :class:`assay.io.StagedFiles`); its folder must exist.
    image : str, default ``"{stream}/img1/{frame:06d}.jpg"``
        Format of each task's image URL or path, with ``{stream}`` and ``{frame}``.
    image_size : (width, height) or mapping of stream to (width, height)
        Image size in pixels: Label Studio places boxes in percent of the image.
    from_name, to_name : str
        Names of the ``RectangleLabels`` and ``Image`` tags of the labeling config (see
        :func:`labelstudio_config`).
    model_version : str, optional
        Recorded with the predictions (default: the observations' ``source``).

    Returns
    -------
    list of dict
        One task per queued frame: ``data`` holds ``image``, ``stream``, ``frame``,
        ``rank``, ``arm``, ``severity``, ``reason`` and ``flagged`` (the obs ids the arm's
        findings name); ``predictions`` holds one prediction whose ``score`` is
        ``severity / (1 + severity)`` (in [0, 1) and increasing with severity, so sorting
        tasks by prediction score in Label Studio sorts them by severity; 0 when the frame
        was not chosen by an assertion) and whose ``result`` has one ``rectanglelabels``
        region per predicted box (in percent of the image, clipped to it), its ``id``
        ``"obs<obs_id>"`` (kept by Label Studio, so
        :func:`~assay.curate.import_verdicts` can tell which prediction a reviewer
        accepted, corrected or deleted).

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> from assay.curate import to_labelstudio
    >>> obs = assay.as_observations(pd.DataFrame({"frame": [4, 4], "cls": "pedestrian",
    ...     "x1": [10.0, 200.0], "y1": 20.0, "x2": [60.0, 240.0], "y2": 120.0,
    ...     "score": [0.9, 0.4]}), stream="cam", source="model:frcnn", fps=25)
    >>> queue = pd.DataFrame({"rank": [0], "stream": ["cam"], "frame": [4], "arm": ["flicker"],
    ...                       "priority": [1.0], "reason": ["bal:exploit"], "obs_ids": [[1]]})
    >>> task = to_labelstudio(queue, obs, image_size=(640, 480))[0]
    >>> task["data"]["image"], task["predictions"][0]["score"]
    ('cam/img1/000004.jpg', 0.5)
    >>> task["predictions"][0]["result"][0]["value"]
    {'x': 1.5625, 'y': 4.17, 'width': 7.8125, 'height': 20.83, 'rotation': 0, 'rectanglelabels': ['pedestrian']}
    """
    preds = _queued_predictions(queue, observations, "to_labelstudio")
    groups = {int(k): g for k, g in preds.groupby("_pos", sort=True)}
    tasks = []
    q = queue.reset_index(drop=True)
    for pos in range(len(q)):
        row = q.iloc[pos]
        stream, frame = str(row["stream"]), int(row["frame"])
        w, h = _size_of(image_size, stream, "to_labelstudio")
        sev = _py(row["priority"]) if "priority" in q.columns else None
        arm = _py(row["arm"]) if "arm" in q.columns else None
        scored = sev is not None and arm is not None
        g = groups.get(pos)
        result = []
        if g is not None:
            b = g[list(BOX2D)].to_numpy(dtype="float64")
            score = g["score"].to_numpy(dtype="float64") if "score" in g.columns else np.full(len(g), np.nan)
            for oid, cls, (x1, y1, x2, y2), s in zip(g["obs_id"].tolist(), g["cls"].astype(str).tolist(),
                                                     b.tolist(), score.tolist(), strict=True):
                region = {
                    "id": f"obs{oid}", "from_name": from_name, "to_name": to_name,
                    "type": "rectanglelabels", "original_width": int(round(w)),
                    "original_height": int(round(h)), "image_rotation": 0,
                    "value": _percent_box(x1, y1, x2, y2, w, h) | {"rotation": 0, "rectanglelabels": [cls]},
                }
                if np.isfinite(s):
                    region["score"] = float(s)
                result.append(region)
        version = model_version
        if version is None and g is not None and "source" in g.columns and len(g):
            version = str(g["source"].iloc[0])
        flagged = row["obs_ids"] if "obs_ids" in q.columns and isinstance(row["obs_ids"], (list, tuple, np.ndarray)) else []
        tasks.append({
            "data": {
                "image": image.format(stream=stream, frame=frame), "stream": stream, "frame": frame,
                "rank": int(row["rank"]) if "rank" in q.columns else pos,
                "round": int(row["round"]) if "round" in q.columns else None,
                "arm": arm, "severity": sev, "reason": _py(row["reason"]) if "reason" in q.columns else None,
                "flagged": [int(v) for v in flagged],
            },
            "predictions": [{
                "model_version": version or "assay",
                "score": float(sev / (1.0 + sev)) if scored and sev > 0 else 0.0,
                "result": result,
            }],
        })
    if path is not None:
        with StagedFiles() as stage:
            stage.path(path).write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    return tasks


@validate_params({
    "queue": [pd.DataFrame], "observations": [pd.DataFrame], "path": ["path", None],
    "image": [str], "image_size": [tuple, list, Mapping, None], "task_name": [str],
})
def to_cvat(
    queue: pd.DataFrame,
    observations: pd.DataFrame,
    path: str | Path | None = None,
    *,
    image: str = DEFAULT_IMAGE,
    image_size: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
    task_name: str = "assay curate",
) -> str:
    """Write queued frames as CVAT XML "for images 1.1", predictions as boxes.

    Images appear in queue order (``id`` 0, 1, ...), each with its predicted boxes
    (``source="auto"``) and the attributes ``obs_id``, ``score``, ``box`` and ``cls`` (the
    predicted box and class, so that :func:`~assay.curate.import_verdicts` can tell a box a
    reviewer moved or relabeled from one left alone), declared per label in ``meta``. Each
    image's ``tag`` element (label ``assay``) carries its ``stream``, ``frame``, the
    ``predicted`` obs ids (so a deleted box reads as rejected) and, from the queue, ``arm``,
    ``severity``, ``reason`` and ``flagged``.

    Parameters
    ----------
    queue, observations, image, image_size
        As for :func:`to_labelstudio`.
    path : str or Path, optional
        Write the XML here, whole or not at all (see :class:`assay.io.StagedFiles`); its
        folder must exist.
    task_name : str, default "assay curate"
        The task's name in ``meta``.

    Returns
    -------
    str
        The XML document (also written to ``path`` when given).

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> import xml.etree.ElementTree as ET
    >>> from assay.curate import to_cvat
    >>> obs = assay.as_observations(pd.DataFrame({"frame": [4], "cls": "pedestrian",
    ...     "x1": [10.0], "y1": 20.0, "x2": [60.0], "y2": 120.0, "score": [0.9]}),
    ...     stream="cam", source="model", fps=25)
    >>> queue = pd.DataFrame({"stream": ["cam"], "frame": [4]})
    >>> root = ET.fromstring(to_cvat(queue, obs, image_size=(640, 480)))
    >>> box = root.find("image/box")
    >>> root.find("image").get("name"), box.get("label"), box.get("xtl"), box.get("ybr")
    ('cam/img1/000004.jpg', 'pedestrian', '10.00', '120.00')
    """
    preds = _queued_predictions(queue, observations, "to_cvat")
    classes = sorted(set(preds["cls"].astype(str)))
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    meta = ET.SubElement(root, "meta")
    task = ET.SubElement(meta, "task")
    ET.SubElement(task, "name").text = task_name
    ET.SubElement(task, "size").text = str(len(queue))
    ET.SubElement(task, "mode").text = "annotation"
    labels = ET.SubElement(task, "labels")
    for cls in [*classes, "assay"]:
        lab = ET.SubElement(labels, "label")
        ET.SubElement(lab, "name").text = cls
        attrs = ET.SubElement(lab, "attributes")
        names = CVAT_TAG_ATTRIBUTES if cls == "assay" else CVAT_BOX_ATTRIBUTES
        for name in names:
            a = ET.SubElement(attrs, "attribute")
            ET.SubElement(a, "name").text = name
            ET.SubElement(a, "mutable").text = "False"
            ET.SubElement(a, "input_type").text = "text"
            ET.SubElement(a, "default_value").text = ""
            ET.SubElement(a, "values").text = ""
    groups = {int(k): g for k, g in preds.groupby("_pos", sort=True)}
    q = queue.reset_index(drop=True)
    for pos in range(len(q)):
        stream, frame = str(q["stream"].iloc[pos]), int(q["frame"].iloc[pos])
        w, h = _size_of(image_size, stream, "to_cvat")
        img = ET.SubElement(root, "image", id=str(pos), name=image.format(stream=stream, frame=frame),
                            width=str(int(round(w))), height=str(int(round(h))))
        g = groups.get(pos)
        if g is not None:
            b = g[list(BOX2D)].to_numpy(dtype="float64")
            score = g["score"].to_numpy(dtype="float64") if "score" in g.columns else np.full(len(g), np.nan)
            for oid, cls, (x1, y1, x2, y2), s in zip(g["obs_id"].tolist(), g["cls"].astype(str).tolist(), b, score,
                                                     strict=True):
                box = ET.SubElement(img, "box", label=cls, source="auto", occluded="0",
                                    xtl=f"{x1:.2f}", ytl=f"{y1:.2f}", xbr=f"{x2:.2f}", ybr=f"{y2:.2f}",
                                    z_order="0")
                ET.SubElement(box, "attribute", name="obs_id").text = str(oid)
                ET.SubElement(box, "attribute", name="score").text = "" if not np.isfinite(s) else f"{s:.6g}"
                ET.SubElement(box, "attribute", name="box").text = f"{x1:.2f},{y1:.2f},{x2:.2f},{y2:.2f}"
                ET.SubElement(box, "attribute", name="cls").text = cls
        tag = ET.SubElement(img, "tag", label="assay", source="auto")
        flagged = q["obs_ids"].iloc[pos] if "obs_ids" in q.columns else None
        values = {
            "stream": stream, "frame": frame,
            "predicted": ",".join(map(str, g["obs_id"].tolist())) if g is not None else "",
            "arm": _py(q["arm"].iloc[pos]) if "arm" in q.columns else None,
            "severity": _py(q["priority"].iloc[pos]) if "priority" in q.columns else None,
            "reason": _py(q["reason"].iloc[pos]) if "reason" in q.columns else None,
            "flagged": ",".join(str(int(v)) for v in flagged)
            if isinstance(flagged, (list, tuple, np.ndarray)) else None,
        }
        for name in CVAT_TAG_ATTRIBUTES:
            v = values[name]
            ET.SubElement(tag, "attribute", name=name).text = "" if v is None else str(v)
    ET.indent(root)
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    if path is not None:
        with StagedFiles() as stage:
            stage.path(path).write_text(text, encoding="utf-8")
    return text


@validate_params({"queue": [pd.DataFrame], "observations": [pd.DataFrame], "folder": ["path"]})
def to_mot(queue: pd.DataFrame, observations: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write the predictions of queued frames as MOT files, one per stream, and the queue.

    Writes ``<folder>/<name>/det/det.txt`` for each queued stream (10-field MOT15 rows of
    the predictions in its queued frames, detections with id -1 and their score, tracks with
    their id; see :func:`assay.io.write_mot`; empty when the frames hold none) and
    ``<folder>/queue.csv``, the queue in order: ``round`` (when present), ``rank, stream,
    folder, frame`` and, when present, ``arm, priority, reason``. Each stream's folder ``<name>`` is
    :func:`assay.io.safe_name` of the stream: the name itself for ordinary names, encoded
    when it holds ``/``, ``%`` and other characters unsafe in a file name, or is ``.``,
    ``..``, empty or very long (truncated with a hash). So a stream name from data never
    writes outside ``folder``; the ``folder`` column of ``queue.csv`` maps each stream to its
    folder (read it with ``pandas.read_csv(path, dtype=str, keep_default_na=False)`` to get
    every name exactly, the empty one included).

    ``folder`` is created if it does not exist (its parent must), and folders inside it as
    needed. The files are staged and renamed into place together, ``queue.csv`` last (see
    :class:`assay.io.StagedFiles`): if anything fails, no file is replaced.

    Returns
    -------
    list of Path
        The files written, the MOT files first (in stream order), ``queue.csv`` last.

    Raises
    ------
    DataFileNotFoundError
        The parent of ``folder`` does not exist.
    UnsafePathError
        A stream folder would resolve outside ``folder`` (a symbolic link inside it points
        elsewhere), or two streams differing only in case would share a folder on a
        case-insensitive file system.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> import assay
    >>> from assay.curate import to_mot
    >>> from assay.io import read_mot
    >>> obs = assay.as_observations(pd.DataFrame({"frame": [4, 5], "cls": "pedestrian",
    ...     "x1": [10.0, 12.0], "y1": 20.0, "x2": [60.0, 62.0], "y2": 120.0, "score": [0.9, 0.8]}),
    ...     stream="site/cam", source="model", fps=25)
    >>> files = to_mot(pd.DataFrame({"stream": ["site/cam"], "frame": [5]}), obs, tempfile.mkdtemp())
    >>> [f.relative_to(files[-1].parent).as_posix() for f in files]
    ['site%2Fcam/det/det.txt', 'queue.csv']
    >>> read_mot(files[0], kind="det", fps=25)[["frame", "x1", "x2", "score"]]
       frame    x1    x2  score
    0      5  12.0  62.0    0.8
    >>> print(files[-1].read_text())
    rank,stream,folder,frame
    0,site/cam,site%2Fcam,5
    """
    from ..io import write_mot

    preds = _queued_predictions(queue, observations, "to_mot")
    root = Path(folder)
    streams = sorted(set(queue["stream"].astype(str)))
    names = {s: safe_name(s, reserved=(MOT_QUEUE_FILE,)) for s in streams}
    for s in streams:  # before anything is made: a link inside root may point out of it
        check_inside(root / names[s] / "det" / "det.txt", root)
    by_stream = {str(k): g for k, g in preds.groupby(preds["stream"].astype(str), sort=True)}
    empty = preds.iloc[:0].drop(columns=["_pos"])
    with StagedFiles() as stage:
        stage.folder(root)
        seen: dict[str, Path] = {}
        for s in streams:
            top = stage.folder(root / names[s])
            first = seen.setdefault(names[s].casefold(), top)
            if first != top and os.path.samefile(first, top):
                raise UnsafePathError(
                    f"Streams named {original_name(first.name)!r} and {s!r} would share the folder "
                    f"{str(first)!r}: the file system of {str(root)!r} ignores case. Export to a "
                    "case-sensitive file system, or rename one of the streams."
                )
            det = stage.folder(top / "det")
            check_inside(det / "det.txt", root)
            part = by_stream.get(s)
            part = empty if part is None else part.sort_values(["frame", "obs_id"], kind="stable").drop(columns=["_pos"])
            write_mot(part, stage.path(det / "det.txt"))
        cols = [c for c in ("round", "rank", "stream", "frame", "arm", "priority", "reason") if c in queue.columns]
        listing = queue[cols].reset_index(drop=True)
        if "rank" not in listing.columns:
            listing.insert(int("round" in cols), "rank", np.arange(len(listing)))
        listing["stream"] = listing["stream"].astype(str)
        listing.insert(listing.columns.get_loc("stream") + 1, "folder", listing["stream"].map(names))
        listing.to_csv(stage.path(root / MOT_QUEUE_FILE), index=False)
    return stage.written
