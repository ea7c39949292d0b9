"""Reviewers' verdicts back into the workspace: oracle labels, labeled frames, and evidence of
each assertion's precision.

A verdict says what a reviewer did with one predicted box of a queued frame: *accepted* it
(the prediction is right), *rejected* it (there is no such object), or *corrected* it (the
object is there, but the box or class was wrong; the corrected box is kept). A box the
reviewer drew that no prediction had is *added* (a missed object). Three formats are read:

* a Label Studio export (JSON list of tasks with ``annotations``) of tasks written by
  :func:`~assay.curate.to_labelstudio`: region ids ``"obs<obs_id>"`` name predictions; a
  predicted region left as it was is accepted, one moved or relabeled is corrected, one
  deleted is rejected, a new region is added;
* a CVAT XML export ("CVAT for images 1.1") of a task written by
  :func:`~assay.curate.to_cvat`: a box keeping its ``obs_id`` attribute is a prediction,
  accepted when its label and corners are as exported (within the tolerance), corrected
  otherwise; an exported prediction no longer there is rejected; a box without ``obs_id``
  is added. CVAT's XML does not say which images a person looked at, so every image in the
  file counts as reviewed: export the task once its review is done;
* assay's own list: ``[{"stream": ..., "frame": ..., "obs_id": ..., "verdict":
  "accepted" | "rejected" | "corrected" | "added", "box": [x1, y1, x2, y2], "cls": ...},
  ...]`` (``box`` and ``cls`` for corrected and added boxes; ``obs_id`` absent for added).
  An item may also name the ``arm`` (assertion) that chose its frame and the ``flagged``
  obs ids that assertion pointed at there (as a task from a campaign does): ``assay review``
  says so for the findings a person judges.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, validate_params
from ..exceptions import DataFormatError, InvalidParameterError
from ..store import Workspace
from ..tables import STRING
from .campaign import FRAME_ORACLE, frame_label_ids

__all__ = ["VERDICT_ORACLE", "VERDICT_VALUES", "assertion_precision", "error_rates", "import_verdicts",
           "read_verdicts", "verdict_oracle"]

#: Oracle key of per-prediction verdicts, keyed by ``obs_id``.
VERDICT_ORACLE = "curate:verdict"
#: Label value stored per verdict: 1 right, 0 wrong (no object), 2 object there, box corrected.
VERDICT_VALUES = {"rejected": 0.0, "accepted": 1.0, "corrected": 2.0}
_KINDS = ("accepted", "rejected", "corrected", "added")
_VERDICTS_TABLE = "curate.verdicts"
_REVIEWS_TABLE = "curate.reviews"

_VERDICT_COLUMNS = {
    "stream": STRING, "frame": np.dtype("int64"), "obs_id": pd.Int64Dtype(), "verdict": STRING,
    "cls": STRING, "x1": np.dtype("float64"), "y1": np.dtype("float64"), "x2": np.dtype("float64"),
    "y2": np.dtype("float64"),
}


def _frame_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(_VERDICT_COLUMNS))
    out = {}
    for c, t in _VERDICT_COLUMNS.items():
        if t == STRING:
            out[c] = pd.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                               for v in df[c].tolist()], dtype=STRING)
        elif isinstance(t, pd.Int64Dtype):
            out[c] = pd.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)
                               for v in df[c].tolist()], dtype="Int64")
        else:
            out[c] = pd.to_numeric(df[c], errors="coerce").astype(t)
    return pd.DataFrame(out)


def _from_labelstudio(tasks: list[dict[str, Any]], path: Path, tol: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, frames = [], []
    for k, task in enumerate(tasks):
        data = task.get("data") or {}
        if "stream" not in data or "frame" not in data:
            raise DataFormatError(
                f"task {k} has no data.stream / data.frame; import tasks written by "
                "assay.curate.to_labelstudio (or assay curate --export labelstudio).", path=path)
        stream, frame = str(data["stream"]), int(data["frame"])
        anns = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        if not anns:
            continue  # not reviewed (yet)
        ann = anns[-1]
        predicted: dict[str, dict] = {}
        for pred in task.get("predictions") or []:
            if isinstance(pred, Mapping):
                for r in pred.get("result") or []:
                    if str(r.get("id", "")).startswith("obs"):
                        predicted[str(r["id"])] = r
        frames.append({"stream": stream, "frame": frame, "arm": data.get("arm"),
                       "flagged": [int(v) for v in data.get("flagged") or []]})
        seen = set()
        for r in ann.get("result") or []:
            if r.get("type") != "rectanglelabels":
                continue
            v = r.get("value") or {}
            w = float(r.get("original_width") or 0)
            h = float(r.get("original_height") or 0)
            if not (w > 0 and h > 0):
                raise DataFormatError(
                    f"task {k} (stream {stream!r}, frame {frame}): region {r.get('id')!r} has no "
                    "original_width / original_height, so its box cannot be put in pixels.", path=path)
            box = (v["x"] * w / 100, v["y"] * h / 100, (v["x"] + v["width"]) * w / 100,
                   (v["y"] + v["height"]) * h / 100)
            cls = (v.get("rectanglelabels") or [None])[0]
            rid = str(r.get("id", ""))
            if rid in predicted:
                seen.add(rid)
                pv = predicted[rid]["value"]
                same = (all(abs(float(pv[c]) - float(v[c])) <= tol for c in ("x", "y", "width", "height"))
                        and (pv.get("rectanglelabels") or [None])[0] == cls)
                rows.append({"stream": stream, "frame": frame, "obs_id": int(rid[3:]),
                             "verdict": "accepted" if same else "corrected", "cls": cls,
                             **({} if same else dict(zip(("x1", "y1", "x2", "y2"), box, strict=True)))})
            else:
                rows.append({"stream": stream, "frame": frame, "obs_id": None, "verdict": "added",
                             "cls": cls, **dict(zip(("x1", "y1", "x2", "y2"), box, strict=True))})
        for rid in predicted:
            if rid not in seen:
                rows.append({"stream": stream, "frame": frame, "obs_id": int(rid[3:]), "verdict": "rejected"})
    return _frame_table(rows), pd.DataFrame(frames, columns=["stream", "frame", "arm", "flagged"])


def _cvat_attributes(element: ET.Element) -> dict[str, str]:
    return {a.get("name", ""): (a.text or "").strip() for a in element.findall("attribute")}


def _from_cvat(root: ET.Element, path: Path, tol: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    if root.tag != "annotations":
        raise DataFormatError(f"expected a CVAT <annotations> document; the root is <{root.tag}>.", path=path)
    rows, frames = [], []
    for k, img in enumerate(root.iter("image")):
        tag = next((t for t in img.findall("tag") if t.get("label") == "assay"), None)
        info = _cvat_attributes(tag) if tag is not None else {}
        if not info.get("stream") or not info.get("frame"):
            raise DataFormatError(
                f"image {img.get('name', k)!r} has no 'assay' tag with its stream and frame; import "
                "tasks written by assay.curate.to_cvat (or assay curate --export cvat).", path=path)
        name = img.get("name", k)
        try:
            stream, frame = info["stream"], int(info["frame"])
            predicted = [int(v) for v in info.get("predicted", "").split(",") if v.strip()]
            flagged = [int(v) for v in info.get("flagged", "").split(",") if v.strip()]
        except ValueError:
            raise DataFormatError(
                f"image {name!r}: the 'assay' tag's frame, predicted and flagged must be integers "
                f"(comma-separated); got {info.get('frame')!r}, {info.get('predicted')!r}, "
                f"{info.get('flagged')!r}.", path=path) from None
        where = f"image {name!r} (stream {stream!r}, frame {frame})"
        try:
            w, h = float(img.get("width", "nan")), float(img.get("height", "nan"))
        except ValueError:
            w = h = math.nan
        if not (w > 0 and h > 0):
            raise DataFormatError(f"{where} has no width / height.", path=path)
        limit = (tol / 100.0) * np.array([w, h, w, h]) + 0.005  # corners are exported to 2 decimals
        frames.append({"stream": stream, "frame": frame, "arm": info.get("arm") or None, "flagged": flagged})
        seen = set()
        for box in img.findall("box"):
            try:
                corners = tuple(float(box.get(c, "nan")) for c in ("xtl", "ytl", "xbr", "ybr"))
            except ValueError:
                corners = (math.nan,) * 4
            if not all(math.isfinite(v) for v in corners):
                raise DataFormatError(f"{where}: a box without numeric xtl, ytl, xbr, ybr.", path=path)
            cls = box.get("label")
            attrs = _cvat_attributes(box)
            if not attrs.get("obs_id"):
                rows.append({"stream": stream, "frame": frame, "obs_id": None, "verdict": "added",
                             "cls": cls, **dict(zip(("x1", "y1", "x2", "y2"), corners, strict=True))})
                continue
            try:
                oid = int(attrs["obs_id"])
                before = tuple(float(v) for v in attrs.get("box", "").split(","))
            except ValueError:
                before = ()
            if len(before) != 4:
                raise DataFormatError(
                    f"{where}: a prediction box needs an integer 'obs_id' and a 'box' attribute "
                    f"with the exported corners (got {attrs.get('obs_id')!r}, {attrs.get('box')!r}); "
                    "export the frames again with assay.curate.to_cvat.", path=path)
            same = bool(np.all(np.abs(np.subtract(corners, before)) <= limit))
            same = same and cls == attrs.get("cls", cls)
            seen.add(oid)
            rows.append({"stream": stream, "frame": frame, "obs_id": oid,
                         "verdict": "accepted" if same else "corrected", "cls": cls,
                         **({} if same else dict(zip(("x1", "y1", "x2", "y2"), corners, strict=True)))})
        for oid in predicted:
            if oid not in seen:
                rows.append({"stream": stream, "frame": frame, "obs_id": oid, "verdict": "rejected"})
    return _frame_table(rows), pd.DataFrame(frames, columns=["stream", "frame", "arm", "flagged"])


def _from_list(items: list[dict[str, Any]], path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for k, item in enumerate(items):
        verdict = item.get("verdict")
        if verdict not in _KINDS:
            raise DataFormatError(
                f"verdict {k}: 'verdict' must be one of {', '.join(_KINDS)}; got {verdict!r}.", path=path)
        if "stream" not in item or "frame" not in item:
            raise DataFormatError(f"verdict {k}: needs 'stream' and 'frame'.", path=path)
        if verdict != "added" and item.get("obs_id") is None:
            raise DataFormatError(f"verdict {k}: a {verdict} verdict needs the 'obs_id' it judges.", path=path)
        row = {"stream": str(item["stream"]), "frame": int(item["frame"]), "obs_id": item.get("obs_id"),
               "verdict": verdict, "cls": item.get("cls")}
        if verdict in ("corrected", "added"):
            box = item.get("box")
            if box is None or len(box) != 4:
                raise DataFormatError(
                    f"verdict {k}: a {verdict} verdict needs 'box': [x1, y1, x2, y2] in pixels.", path=path)
            row.update(zip(("x1", "y1", "x2", "y2"), map(float, box), strict=True))
        rows.append(row)
    table = _frame_table(rows)
    frames = table[["stream", "frame"]].drop_duplicates(ignore_index=True)
    # the arm and flagged ids a frame's items name (the first item that names them)
    chose: dict[tuple[str, int], tuple[Any, list[int]]] = {}
    for k, item in enumerate(items):
        if item.get("arm") is None:
            continue
        flagged = item.get("flagged") or []
        try:
            ids = [int(v) for v in flagged]
        except (TypeError, ValueError):
            raise DataFormatError(
                f"verdict {k}: 'flagged' must be a list of integer obs ids; got {flagged!r}.",
                path=path) from None
        chose.setdefault((str(item["stream"]), int(item["frame"])), (str(item["arm"]), ids))
    picked = [chose.get((s, int(f)), (None, [])) for s, f in
              zip(frames["stream"].astype(str), frames["frame"], strict=True)]
    frames["arm"] = [a for a, _ in picked]
    frames["flagged"] = [ids for _, ids in picked]
    return table, frames


@validate_params({"source": ["path", list, Mapping], "tolerance": [Interval(float, 0, None)]})
def read_verdicts(source: str | Path | list, *, tolerance: float = 0.01) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read reviewers' verdicts from a Label Studio export, a CVAT XML export or assay's
    verdict list (see the module docstring).

    Parameters
    ----------
    source : str, Path or list
        A JSON or XML file, or the parsed content of a JSON one.
    tolerance : float, default 0.01
        Percent of the image a Label Studio region or CVAT box may move and still count as
        accepted.

    Returns
    -------
    verdicts : pandas.DataFrame
        One row per judged or added box: ``stream``, ``frame``, ``obs_id`` (missing for
        added boxes), ``verdict`` and, for corrected and added boxes, ``cls`` and
        ``x1 y1 x2 y2`` in pixels.
    frames : pandas.DataFrame
        The reviewed frames: ``stream``, ``frame``, ``arm`` and ``flagged`` (from the task,
        when it came from a campaign).

    Examples
    --------
    >>> from assay.curate import read_verdicts
    >>> v, f = read_verdicts([
    ...     {"stream": "cam", "frame": 4, "obs_id": 1, "verdict": "rejected"},
    ...     {"stream": "cam", "frame": 4, "verdict": "added", "cls": "pedestrian",
    ...      "box": [5, 5, 40, 90]}])
    >>> v[["frame", "obs_id", "verdict", "x1", "y2"]]
       frame  obs_id   verdict   x1   y2
    0      4       1  rejected  NaN  NaN
    1      4    <NA>     added  5.0  90.0
    """
    path = Path("<verdicts>")
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidParameterError(f"{path}: no such verdicts file.") from None
        if text.lstrip().startswith("<"):
            try:
                root = ET.fromstring(text)
            except ET.ParseError as e:
                line, column = e.position
                raise DataFormatError(f"not valid XML: {e}", path=path, line=line, column=column + 1) from None
            return _from_cvat(root, path, tolerance)
        try:
            content = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataFormatError(f"not valid JSON: {e.msg}", path=path, line=e.lineno, column=e.colno) from None
    else:
        content = source
    if isinstance(content, Mapping) and "verdicts" in content:
        content = content["verdicts"]
    if not isinstance(content, list):
        raise DataFormatError("expected a JSON list of Label Studio tasks or of verdicts.", path=path)
    if content and isinstance(content[0], Mapping) and "data" in content[0]:
        return _from_labelstudio(content, path, tolerance)
    return _from_list(content, path)


def verdict_oracle(workspace: Workspace, observations: str | None) -> str:
    """The oracle key verdicts on a predictions table are stored under:
    ``"curate:verdict@<table identity>"`` (obs ids are unique within one table only), or
    :data:`VERDICT_ORACLE` when the table is not known.

    Examples
    --------
    >>> from assay import Workspace
    >>> from assay.curate.verdicts import verdict_oracle
    >>> verdict_oracle(Workspace(), None)
    'curate:verdict'
    """
    if observations is None or observations not in workspace:
        return VERDICT_ORACLE
    return f"{VERDICT_ORACLE}@{workspace.table_info(observations)['identity']}"


@validate_params({"source": ["path", list, Mapping], "workspace": [Workspace], "campaign": [str, None],
                  "tolerance": [Interval(float, 0, None)], "observations": [str, None]})
def import_verdicts(
    source: str | Path | list,
    workspace: Workspace,
    *,
    campaign: str | None = "default",
    tolerance: float = 0.01,
    observations: str | None = None,
) -> dict[str, Any]:
    """Store reviewers' verdicts in a workspace, in one transaction.

    * every judged prediction becomes an oracle label under
      :func:`verdict_oracle` of the predictions table (``curate:verdict@<table identity>``),
      keyed by ``obs_id`` (:data:`VERDICT_VALUES`: 1 accepted, 0 rejected, 2 corrected);
    * every reviewed frame is recorded under :data:`~assay.curate.FRAME_ORACLE`, so no
      campaign queues it again;
    * every verdict row is appended to the table ``curate.verdicts`` (corrected and added
      boxes with their pixels), and every reviewed frame to ``curate.reviews`` with the arm
      that chose it (from the task, else from the campaign's queue) and whether the review
      *confirmed* the arm's findings there: when the arm flagged predictions of that frame,
      one of them was rejected or corrected; when it flagged none there (a gap flags the
      boxes before and after the frame it is labeled at), a box was added.
      :func:`assertion_precision` summarizes it.

    Parameters
    ----------
    source : str, Path or list
        See :func:`read_verdicts`.
    workspace : Workspace
    campaign : str or None, default "default"
        The campaign whose queue names the arm of each frame (when the verdicts do not).
    observations : str, optional
        The workspace table of the predictions judged (default: the one the campaign's last
        round used, when it recorded one).
    tolerance : float
        See :func:`read_verdicts`.

    Returns
    -------
    dict
        Counts: ``frames``, ``accepted``, ``rejected``, ``corrected``, ``added``.

    Examples
    --------
    >>> from assay import Workspace
    >>> from assay.curate import import_verdicts, assertion_precision
    >>> ws = Workspace()
    >>> import_verdicts([{"stream": "cam", "frame": 4, "obs_id": 1, "verdict": "rejected"},
    ...                  {"stream": "cam", "frame": 9, "obs_id": 3, "verdict": "accepted"}], ws)
    {'frames': 2, 'accepted': 1, 'rejected': 1, 'corrected': 0, 'added': 0}
    >>> ws.get_labels("curate:verdict")
    id
    1    0.0
    3    1.0
    Name: curate:verdict, dtype: float64
    """
    verdicts, frames = read_verdicts(source, tolerance=tolerance)
    frames = frames.drop_duplicates(subset=["stream", "frame"], keep="last", ignore_index=True)
    queue_name = f"curate.{campaign}.queue" if campaign else None
    if queue_name and queue_name in workspace and len(frames):
        q = workspace.read(queue_name)
        q = q.drop_duplicates(subset=["stream", "frame"], keep="last")
        qk = pd.MultiIndex.from_arrays([q["stream"].astype(str).to_numpy(dtype=object), q["frame"].to_numpy()])
        fk = pd.MultiIndex.from_arrays([frames["stream"].astype(str).to_numpy(dtype=object),
                                        frames["frame"].to_numpy(dtype="int64")])
        pos = qk.get_indexer(fk)
        for i in np.flatnonzero((pos >= 0) & frames["arm"].isna().to_numpy()):
            frames.loc[i, "arm"] = q["arm"].iloc[pos[i]] if q["arm"].iloc[pos[i]] is not pd.NA else None
            frames.at[i, "flagged"] = list(q["obs_ids"].iloc[pos[i]])
    # a review confirms its arm when a flagged prediction was rejected / corrected, or a box added
    changed = verdicts.loc[verdicts["verdict"].isin(["rejected", "corrected"])]
    added = verdicts.loc[verdicts["verdict"] == "added"]
    added_at = set(zip(added["stream"].astype(str), added["frame"].tolist(), strict=True))
    judged_at = verdicts.loc[verdicts["verdict"] != "added"]
    judged_ids = set(zip(judged_at["stream"].astype(str), judged_at["frame"].tolist(),
                         judged_at["obs_id"].astype("int64").tolist(), strict=True))
    changed_ids = set(zip(changed["stream"].astype(str), changed["frame"].tolist(),
                          changed["obs_id"].astype("int64").tolist(), strict=True))
    confirmed = []
    for s, f, flagged in zip(frames["stream"].astype(str), frames["frame"].astype("int64").tolist(),
                             frames["flagged"], strict=True):
        here = [(s, f, int(o)) for o in flagged if (s, f, int(o)) in judged_ids]
        # the arm flagged boxes of this frame: confirmed when one of them was wrong; it flagged
        # boxes elsewhere (a gap's neighbours) or none: confirmed when a box was added here
        confirmed.append(any(k in changed_ids for k in here) if here else (s, f) in added_at)
    reviews = pd.DataFrame({
        "stream": pd.array(frames["stream"].astype(str).to_numpy(dtype=object), dtype=STRING),
        "frame": frames["frame"].to_numpy(dtype="int64"),
        "arm": pd.array([None if a is None or a is pd.NA or (isinstance(a, float) and np.isnan(a)) else str(a)
                         for a in frames["arm"]], dtype=STRING),
        "flagged": pd.Series([list(map(int, v)) for v in frames["flagged"]], dtype=object),
        "confirmed": np.array(confirmed, dtype=bool),
    })
    judged = verdicts.loc[verdicts["verdict"] != "added"].drop_duplicates(subset=["obs_id"], keep="last")
    if observations is None and campaign:
        from .campaign import Campaign

        camp = Campaign(workspace, campaign)
        if camp.round:
            observations = camp.round_params(camp.round - 1).get("observations")
    oracle = verdict_oracle(workspace, observations)
    with workspace.transaction():
        if len(judged):
            workspace.register_oracle(oracle, kind="verdict", spec="curate import",
                                      detail={"observations": observations})
            workspace.put_labels(oracle, judged["obs_id"].astype("int64").to_numpy(),
                                 judged["verdict"].astype(str).map(VERDICT_VALUES).to_numpy())
        if len(frames):
            workspace.put_labels(FRAME_ORACLE, frame_label_ids(frames["stream"], frames["frame"]),
                                 np.ones(len(frames)))
        for name, table in ((_VERDICTS_TABLE, verdicts), (_REVIEWS_TABLE, reviews)):
            if not len(table):
                continue
            if name in workspace:
                table = pd.concat([workspace.read(name), table], ignore_index=True)
            workspace.add(name, table, kind="table", replace=True)
    counts = verdicts["verdict"].astype(str).value_counts()
    return {"frames": len(frames), **{k: int(counts.get(k, 0)) for k in _KINDS}}


@validate_params({"workspace": [Workspace]})
def assertion_precision(workspace: Workspace) -> pd.DataFrame:
    """Each assertion's precision as reviewers judged it: of the frames it chose that were
    reviewed, the share where the review confirmed something was wrong.

    Returns
    -------
    pandas.DataFrame
        ``arm``, ``reviewed``, ``confirmed``, ``precision``, most reviewed first; empty when
        no reviewed frame was chosen by an assertion.

    Examples
    --------
    >>> from assay import Workspace
    >>> from assay.curate import assertion_precision
    >>> assertion_precision(Workspace())
    Empty DataFrame
    Columns: [arm, reviewed, confirmed, precision]
    Index: []
    """
    r = _reviewed(workspace)
    out = _share_per_arm(r, None if r is None else r["confirmed"].to_numpy(dtype=bool),
                         ("confirmed", "precision"))
    return out.sort_values(["reviewed", "arm"], ascending=[False, True], ignore_index=True)


def _reviewed(workspace: Workspace) -> pd.DataFrame | None:
    """Reviewed frames that name an arm, the last review of a frame once (None when none)."""
    if _REVIEWS_TABLE not in workspace:
        return None
    r = workspace.read(_REVIEWS_TABLE).dropna(subset=["arm"])
    r = r.drop_duplicates(subset=["stream", "frame"], keep="last")
    return r if len(r) else None


def _share_per_arm(reviews: pd.DataFrame | None, hit: np.ndarray | None, names: tuple[str, str]) -> pd.DataFrame:
    """Per arm: ``reviewed`` frames, those with ``hit`` (``names[0]``) and their share (``names[1]``)."""
    if reviews is None or hit is None:
        return pd.DataFrame(columns=["arm", "reviewed", *names])
    g = pd.Series(hit).groupby(reviews["arm"].astype(str).to_numpy(dtype=object), sort=True).agg(["size", "sum"])
    out = pd.DataFrame({"arm": g.index.to_numpy(dtype=object), "reviewed": g["size"].to_numpy(dtype="int64"),
                        names[0]: g["sum"].to_numpy(dtype="int64")})
    out[names[1]] = out[names[0]] / out["reviewed"]
    return out


@validate_params({"workspace": [Workspace]})
def error_rates(workspace: Workspace) -> pd.DataFrame:
    """Per arm, the share of its reviewed frames in which the reviewer found an error.

    A reviewed frame has an error when any of its verdicts is ``rejected``, ``corrected`` or
    ``added`` (a box of the frame was wrong or missing), whatever the arm had flagged: a
    measure every arm can earn, assertions and other strategies alike (BAL's extra arms are
    rewarded with it, see :class:`~assay.curate.BAL`). Reviews of all imports so far count,
    the last review of a frame once.

    Returns
    -------
    pandas.DataFrame
        ``arm``, ``reviewed``, ``with_errors``, ``rate``, sorted by arm; empty when no
        reviewed frame names an arm.

    Examples
    --------
    >>> from assay import Workspace
    >>> from assay.curate import error_rates
    >>> error_rates(Workspace())
    Empty DataFrame
    Columns: [arm, reviewed, with_errors, rate]
    Index: []
    """
    r = _reviewed(workspace)
    bad: set[tuple[str, int]] = set()
    if r is not None and _VERDICTS_TABLE in workspace:
        v = workspace.read(_VERDICTS_TABLE)
        v = v.loc[v["verdict"].isin(["rejected", "corrected", "added"])]
        bad = set(zip(v["stream"].astype(str), v["frame"].astype("int64").tolist(), strict=True))
    found = None if r is None else np.array(
        [(s, int(f)) in bad for s, f in zip(r["stream"].astype(str), r["frame"], strict=True)], dtype=bool)
    return _share_per_arm(r, found, ("with_errors", "rate"))
