"""What people judge on the review page: findings of check runs, label-audit candidates and a
curation campaign's queue, and how each answer is written.

Each kind is a :class:`Queue` subclass: it lists its items from the workspace (most severe
first, or in the campaign's priority order), reads the observations an item is about, draws
them, and turns a person's answer into verdicts (assay's verdict list, see
:mod:`assay.curate.verdicts`). :func:`write_answer` stores one answer in one transaction:
the verdicts through :func:`~assay.curate.import_verdicts` (oracle labels, reviewed frames,
``curate.verdicts``, ``curate.reviews``), a row of ``review.answers`` (so the item is never
shown again, in this tab, another tab, or after a restart) and, for an audit candidate the
person confirmed, label rows in ``review.labels``.

The answers, for an item's *subject* boxes (the boxes the finding names; every predicted
box of a queued frame):

* ``accept``: the boxes are right (each ``accepted``);
* ``reject``: there is no such object (each ``rejected``);
* ``edit`` (keys c and n on the page): boxes moved or resized are ``corrected`` (with their
  new corners), boxes clicked away ``rejected``, boxes drawn ``added``; the other subjects
  are ``accepted``, as in Label Studio, where a box left alone is accepted.

Whether the assertion was right follows (``curate.reviews.confirmed``,
:func:`~assay.curate.assertion_precision`): it was when a box it flagged was rejected or
corrected, or a box was added where it flagged none.
"""

from __future__ import annotations

import abc
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..curate.campaign import FRAME_ORACLE, Campaign
from ..curate.verdicts import import_verdicts
from ..exceptions import InvalidParameterError, WorkspaceError
from ..report.draw import draw_finding, finding_frames, finding_window, frame_size, frame_svg
from ..tables import STRING

__all__ = ["ANSWERS_TABLE", "LABELS_TABLE", "QUEUES", "AlreadyAnswered", "AuditQueue",
           "CurationQueue", "FindingsQueue", "Item", "Queue", "answered_keys", "reviewed_frames",
           "table_state", "verdicts_of", "write_answer"]

#: One row per answer given on the review page (what makes an item answered).
ANSWERS_TABLE = "review.answers"
#: Labels people confirmed on the page (objects the labelers missed), source ``review``.
LABELS_TABLE = "review.labels"
#: ``source`` of the rows of :data:`LABELS_TABLE`.
SOURCE = "review"
#: Longest class name a person may give a drawn box.
MAX_CLASS = 100
#: How many frames of a finding are drawn.
MAX_FRAMES = 3


class AlreadyAnswered(WorkspaceError):
    """The item was answered already (in another tab, or before a restart)."""


@dataclass
class Item:
    """One thing to judge: where it is, which boxes it is about, and what it says."""

    kind: str
    key: str
    source: str
    stream: str
    frame_start: int
    frame_end: int
    table: str
    flagged: list[int]
    arm: str | None
    severity: float | None
    track: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    campaign: str | None = None
    labels_table: str | None = None


def _digest(*parts: Any) -> str:
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def _none(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


def _loads(text: Any) -> Any:
    text = _none(text)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return str(text)


class Queue(abc.ABC):
    """A kind of item people judge (see the subclasses).

    A subclass says which runs or tables its items come from (:meth:`signature`,
    :meth:`candidates`), how they are ordered and filtered, which observations an item's
    drawing needs (:meth:`window`), which boxes an answer judges (:meth:`subjects`), and
    what else an answer writes (:meth:`extra`).
    """

    #: Name of the kind on the page and in ``review.answers``.
    kind: str = ""
    #: Filters the page offers: query parameter -> candidate column.
    filters: dict[str, str] = {}

    def signature(self, ws: Any) -> tuple:
        """What the candidate list depends on: the state of the tables it reads
        (:func:`table_state`)."""
        return table_state(ws, self.sources(ws))

    @abc.abstractmethod
    def sources(self, ws: Any) -> list[str]:
        """Tables the candidates are read from."""

    @abc.abstractmethod
    def candidates(self, ws: Any) -> pd.DataFrame:
        """Every item, in review order, one row each (``key`` first)."""

    def options(self, cands: pd.DataFrame) -> dict[str, list[Any]]:
        """Values each filter can take."""
        out = {}
        for param, col in self.filters.items():
            if param == "min_severity":
                continue
            out[param] = sorted({str(v) for v in cands[col].dropna().tolist()}) if len(cands) else []
        return out

    def default_filters(self, cands: pd.DataFrame) -> dict[str, str]:
        """Filters applied when the page sets none."""
        return {}

    def mask(self, cands: pd.DataFrame, filters: Mapping[str, str]) -> np.ndarray:
        """Rows of ``cands`` that pass the filters."""
        keep = np.ones(len(cands), dtype=bool)
        for param, col in self.filters.items():
            value = filters.get(param)
            if value in (None, "", "all"):
                continue
            if param == "min_severity":
                try:
                    least = float(value)
                except ValueError:
                    raise InvalidParameterError(f"min_severity must be a number; got {value!r}.") from None
                keep &= cands[col].to_numpy(dtype=float, na_value=np.nan) >= least
            else:
                keep &= (cands[col].astype(str) == str(value)).to_numpy()
        return keep

    @abc.abstractmethod
    def item(self, row: Mapping[str, Any]) -> Item:
        """The item of a candidate row."""

    def window(self, ws: Any, item: Item) -> pd.DataFrame:
        """Observations of the item's stream around it: its frames and one on each side
        (:func:`assay.report.draw.finding_window`, as the report reads them)."""
        window, _ = finding_window(ws, item.table, {"stream": item.stream, "frame_start": item.frame_start,
                                                    "frame_end": item.frame_end})
        return window

    def subjects(self, item: Item, window: pd.DataFrame) -> list[int]:
        """The boxes an answer judges."""
        return [int(i) for i in item.flagged]

    def drawn_frames(self, item: Item) -> list[int]:
        """The frames drawn for the item."""
        return finding_frames({"frame_start": item.frame_start, "frame_end": item.frame_end}, MAX_FRAMES)

    def draw(self, item: Item, window: pd.DataFrame,
             image_href: Callable[[str, int, pd.DataFrame], str | None] | None = None,
             width: int = 400) -> list[dict[str, Any]]:
        """The item's frames as SVG: ``[{"frame": f, "svg": "<svg ...>"}, ...]`` (three of
        ``width`` CSS pixels side by side on a laptop's screen)."""
        size = frame_size(window, window.attrs.get("image_sizes"), item.stream)

        def href(stream: str, frame: int) -> str | None:
            if image_href is None:
                return None
            return image_href(stream, frame, window[window["frame"] == frame])

        svgs = draw_finding(window, {"stream": item.stream, "frame_start": item.frame_start,
                                     "frame_end": item.frame_end, "obs_ids": item.flagged,
                                     "track": item.track},
                            size=size, image_href=href, max_frames=MAX_FRAMES, width=width)
        return [{"frame": f, "svg": s, "size": list(size)}
                for f, s in zip(self.drawn_frames(item), svgs, strict=True)]

    def extra(self, ws: Any, item: Item, verdicts: list[dict[str, Any]], window: pd.DataFrame) -> int:
        """What an answer writes besides its verdicts (inside its transaction); returns the
        number of label rows written."""
        return 0

    def view(self, item: Item, window: pd.DataFrame) -> dict[str, Any]:
        """What the page shows about the item besides its drawing (JSON-ready)."""
        classes = window["cls"].dropna().astype(str) if "cls" in window.columns else pd.Series([], dtype=object)
        subjects = self.subjects(item, window)
        subject_cls = window.loc[window["obs_id"].isin(subjects), "cls"] if "cls" in window.columns else []
        default_cls = (pd.Series(subject_cls).dropna().astype(str).mode().tolist() or
                       classes.mode().tolist() or ["object"])[0]
        return {"kind": item.kind, "key": item.key, "source": item.source, "stream": item.stream,
                "frame_start": item.frame_start, "frame_end": item.frame_end, "table": item.table,
                "arm": item.arm, "severity": item.severity, "track": item.track,
                "subjects": subjects, "flagged": [int(i) for i in item.flagged],
                "classes": sorted(set(classes.tolist()) | {default_cls}), "default_class": default_cls,
                "details": item.details}


class FindingsQueue(Queue):
    """Findings of ``check`` runs, most severe first; a finding's subjects are the boxes it
    names. Default filter: the latest run."""

    kind = "findings"
    filters = {"run": "source", "assertion": "assertion", "stream": "stream", "min_severity": "severity"}
    #: Kind of run whose findings this queue holds, and the run parameter naming the table of
    #: the boxes the findings are about.
    run_kind = "check"
    table_param = "observations"

    def sources(self, ws: Any) -> list[str]:
        return ["findings"]

    def candidates(self, ws: Any) -> pd.DataFrame:
        runs = ws.runs()
        runs = runs.loc[runs["kind"] == self.run_kind]
        params = dict(zip(runs["run_id"].astype(str), runs["params"], strict=True))
        if not params or "findings" not in ws:
            return _empty_candidates()
        f = ws.findings()
        f = f.loc[f["run_id"].astype(str).isin(params)].reset_index(drop=True)
        if not len(f):
            return _empty_candidates()
        run_ids = f["run_id"].astype(str).tolist()
        order = list(params)  # runs oldest first: a run's rank
        tables = [params[r].get(self.table_param) for r in run_ids]
        keys = [f"{self.kind}:{r}:{_digest(a, s, fs, fe, t, list(o))}" for r, a, s, fs, fe, t, o in zip(
            run_ids, f["assertion"].astype(str), f["stream"].astype(str), f["frame_start"].tolist(),
            f["frame_end"].tolist(), f["track"].tolist(), f["obs_ids"], strict=True)]
        out = pd.DataFrame({
            "key": keys, "source": run_ids, "assertion": f["assertion"].astype(str).tolist(),
            "stream": f["stream"].astype(str).tolist(),
            "frame_start": f["frame_start"].to_numpy(dtype="int64"),
            "frame_end": f["frame_end"].to_numpy(dtype="int64"),
            "severity": f["severity"].to_numpy(dtype=float),
            "priority": (f["priority"].to_numpy(dtype=float, na_value=np.nan) if "priority" in f.columns
                         else np.full(len(f), np.nan)),
            "obs_ids": f["obs_ids"].tolist(), "track": f["track"].tolist(), "table": tables,
            "scope": f["scope"].astype(str).tolist(), "evidence": f["evidence"].tolist(),
            "fix": f["fix"].tolist() if "fix" in f.columns else [None] * len(f),
            "run_rank": pd.Series(run_ids).map({r: i for i, r in enumerate(order)}).to_numpy(dtype="int64"),
            "labels_table": [params[r].get("labels") for r in run_ids],
        })
        out = out.drop_duplicates(subset="key", keep="first")
        # highest priority first (comparable across assertions), then severity
        out = out.sort_values(["priority", "severity"], ascending=False, kind="stable",
                              na_position="last").reset_index(drop=True)
        return out

    def default_filters(self, cands: pd.DataFrame) -> dict[str, str]:
        if not len(cands):
            return {}
        latest = cands.loc[cands["run_rank"].idxmax(), "source"]
        return {"run": str(latest)}

    def options(self, cands: pd.DataFrame) -> dict[str, list[Any]]:
        out = super().options(cands)
        if len(cands):  # runs newest first
            by_rank = cands.drop_duplicates("source").sort_values("run_rank", ascending=False)
            out["run"] = by_rank["source"].astype(str).tolist()
        return out

    def item(self, row: Mapping[str, Any]) -> Item:
        track = _none(row["track"])
        return Item(
            kind=self.kind, key=row["key"], source=row["source"], stream=row["stream"],
            frame_start=int(row["frame_start"]), frame_end=int(row["frame_end"]),
            table=row["table"], flagged=[int(i) for i in row["obs_ids"]], arm=row["assertion"],
            severity=float(row["severity"]), track=None if track is None else int(track),
            labels_table=_none(row.get("labels_table")),
            details={"run_id": row["source"], "assertion": row["assertion"], "scope": row["scope"],
                     "evidence": _loads(row["evidence"]), "fix": _loads(row["fix"])})


class AuditQueue(FindingsQueue):
    """Candidates of label audits (``audit`` runs: model boxes no label covers), most likely
    first. "The labeler missed this", confirmed (accepted, or corrected, or a box drawn), adds
    the box to :data:`LABELS_TABLE` (source ``review``, the audited labels table named in
    column ``labels_table``); rejected, it is a recorded verdict only.

    The audited labels table itself is left as the labelers made it: a workspace
    observations table takes whole new streams only, and the human labels are an input
    other runs name by identity. The confirmed labels are one table of their own, to read
    together with it (``pd.concat([ws.read("gt"), ws.read("review.labels")])``).
    """

    kind = "audit"
    filters = {"run": "source", "stream": "stream", "min_severity": "severity"}
    run_kind = "audit"
    table_param = "predictions"

    def extra(self, ws: Any, item: Item, verdicts: list[dict[str, Any]], window: pd.DataFrame) -> int:
        kept = [v for v in verdicts if v["verdict"] in ("accepted", "corrected", "added")]
        if not kept:
            return 0
        by_id = window.set_index("obs_id", drop=False)
        rows = []
        for v in kept:
            if v.get("box") is not None:
                x1, y1, x2, y2 = v["box"]
            else:
                src = by_id.loc[v["obs_id"]]
                x1, y1, x2, y2 = (float(src[c]) for c in ("x1", "y1", "x2", "y2"))
            cls = v.get("cls")
            if cls is None and v.get("obs_id") is not None:
                cls = str(by_id.loc[v["obs_id"], "cls"])
            rows.append({"stream": item.stream, "frame": int(v["frame"]),
                         "time": _time_at(window, int(v["frame"])), "cls": cls or "object",
                         "source": SOURCE, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                         "labels_table": item.labels_table, "audit_run": item.source,
                         "from_obs_id": v.get("obs_id")})
        new = pd.DataFrame(rows)
        old = ws.read(LABELS_TABLE) if LABELS_TABLE in ws else None
        start = 0 if old is None or not len(old) else int(old["obs_id"].max()) + 1
        new.insert(3, "obs_id", np.arange(start, start + len(new), dtype="int64"))
        new["track"] = pd.array([None] * len(new), dtype="Int64")
        new["score"] = np.nan
        new["labels_table"] = pd.array(new["labels_table"].tolist(), dtype=STRING)
        new["audit_run"] = pd.array(new["audit_run"].tolist(), dtype=STRING)
        new["from_obs_id"] = pd.array([_none(v) for v in new["from_obs_id"]], dtype="Int64")
        from ..tables import validate

        new = validate(new, "observations", name=LABELS_TABLE)
        if old is not None:
            new = pd.concat([old, new], ignore_index=True)
        new.attrs = {}
        ws.add(LABELS_TABLE, new, kind="observations", replace=True, writer="review")
        return len(kept)


class CurationQueue(Queue):
    """A curation campaign's queue (``curate.<name>.queue``), in its priority order (round,
    then rank), without frames already reviewed (:data:`~assay.curate.FRAME_ORACLE`, however
    they were: here or by ``assay curate import``). A frame's subjects are every predicted
    box in it; the boxes the arm flagged are picked out."""

    kind = "curation"
    filters = {"campaign": "source", "stream": "stream"}

    def sources(self, ws: Any) -> list[str]:
        names = ws.tables()["name"].astype(str)
        return sorted(n for n in names if n.startswith("curate.") and n.endswith(".queue"))

    def candidates(self, ws: Any) -> pd.DataFrame:
        names = self.sources(ws)
        parts = []
        for name in names:
            campaign = name[len("curate."):-len(".queue")]
            camp = Campaign(ws, campaign)
            q = camp.queue()
            if not len(q):
                continue
            tables = {r: camp.round_params(r).get("observations") for r in sorted(set(q["round"].tolist()))}
            parts.append(pd.DataFrame({
                "key": [f"{self.kind}:{campaign}:{s}#{int(f)}" for s, f in
                        zip(q["stream"].astype(str), q["frame"], strict=True)],
                "source": campaign, "stream": q["stream"].astype(str).tolist(),
                "frame_start": q["frame"].to_numpy(dtype="int64"),
                "frame_end": q["frame"].to_numpy(dtype="int64"),
                "severity": q["priority"].to_numpy(dtype=float, na_value=np.nan) if "priority" in q else np.nan,
                "obs_ids": [list(v) if v is not None else [] for v in q["obs_ids"]] if "obs_ids" in q
                           else [[] for _ in range(len(q))],
                "arm": [_none(a) for a in q["arm"]] if "arm" in q else None,
                "reason": [_none(a) for a in q["reason"]] if "reason" in q else None,
                "round": q["round"].to_numpy(dtype="int64"), "rank": q["rank"].to_numpy(dtype="int64"),
                "table": [tables[r] for r in q["round"].tolist()],
                "frame_id": [f"{s}#{int(f)}" for s, f in zip(q["stream"].astype(str), q["frame"], strict=True)],
            }))
        if not parts:
            return _empty_candidates()
        out = pd.concat(parts, ignore_index=True).drop_duplicates(subset="key", keep="first")
        return out.sort_values(["source", "round", "rank"], kind="stable").reset_index(drop=True)

    def default_filters(self, cands: pd.DataFrame) -> dict[str, str]:
        return {"campaign": str(cands["source"].iloc[0])} if len(cands) else {}

    def item(self, row: Mapping[str, Any]) -> Item:
        return Item(
            kind=self.kind, key=row["key"], source=row["source"], stream=row["stream"],
            frame_start=int(row["frame_start"]), frame_end=int(row["frame_end"]), table=row["table"],
            flagged=[int(i) for i in row["obs_ids"]], arm=_none(row["arm"]),
            severity=_none(row["severity"]), campaign=row["source"],
            details={"campaign": row["source"], "round": int(row["round"]), "rank": int(row["rank"]),
                     "arm": _none(row["arm"]), "reason": _none(row["reason"])})

    def subjects(self, item: Item, window: pd.DataFrame) -> list[int]:
        here = window.loc[window["frame"] == item.frame_start, "obs_id"]
        return [int(i) for i in here.tolist()]

    def drawn_frames(self, item: Item) -> list[int]:
        return [item.frame_start]

    def draw(self, item: Item, window: pd.DataFrame,
             image_href: Callable[[str, int, pd.DataFrame], str | None] | None = None,
             width: int = 720) -> list[dict[str, Any]]:
        size = frame_size(window, window.attrs.get("image_sizes"), item.stream)
        f = item.frame_start
        frames = window["frame"].to_numpy()
        here = window[frames == f]
        href = image_href(item.stream, f, here) if image_href is not None else None
        svg = frame_svg(here, size=size, highlight=item.flagged, context=window[frames != f],
                        image_href=href, caption=f"{item.stream} frame {f}", width=width)
        return [{"frame": f, "svg": svg, "size": list(size)}]


#: The queues of the review page, by kind.
QUEUES: dict[str, Queue] = {q.kind: q for q in (FindingsQueue(), AuditQueue(), CurationQueue())}


def table_state(ws: Any, names: list[str]) -> tuple:
    """What changes when any of these tables changes: identity, revision and rows of each
    (``(name,)`` for a table that is not there)."""
    out = []
    for name in names:
        if name in ws:
            info = ws.table_info(name)
            out.append((name, info["uid"], info["revision"], info["rows"]))
        else:
            out.append((name,))
    return tuple(out)


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame({"key": pd.Series([], dtype=object), "source": pd.Series([], dtype=object),
                         "assertion": pd.Series([], dtype=object), "stream": pd.Series([], dtype=object),
                         "severity": pd.Series([], dtype=float), "run_rank": pd.Series([], dtype="int64")})


def _time_at(window: pd.DataFrame, frame: int) -> float:
    """The time of ``frame``: that of its rows, else the line through the window's frames."""
    if not len(window) or "time" not in window.columns:
        return 0.0
    at = window.loc[window["frame"] == frame, "time"]
    if len(at):
        return float(at.iloc[0])
    per = window.groupby("frame", sort=True)["time"].first()
    if len(per) >= 2:
        slope = (per.iloc[-1] - per.iloc[0]) / (per.index[-1] - per.index[0])
        return float(per.iloc[0] + slope * (frame - per.index[0]))
    return float(per.iloc[0])


def _box(value: Any, what: str) -> list[float]:
    try:
        box = [float(v) for v in value]
    except (TypeError, ValueError):
        box = []
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise InvalidParameterError(f"{what}: a box is [x1, y1, x2, y2], four finite numbers; got {value!r}.")
    x1, x2 = sorted(box[0::2])
    y1, y2 = sorted(box[1::2])
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        raise InvalidParameterError(f"{what}: the box {value!r} has no area.")
    return [x1, y1, x2, y2]


def verdicts_of(queue: Queue, item: Item, window: pd.DataFrame, answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The verdict list (:mod:`assay.curate.verdicts`) of one answer to ``item``.

    ``answer``: ``{"action": "accept" | "reject" | "edit", "boxes": [{"obs_id": ID, "verdict":
    "corrected", "box": [x1, y1, x2, y2]} | {"obs_id": ID, "verdict": "rejected"}, ...],
    "added": [{"frame": F, "box": [...], "cls": NAME}, ...]}`` (``boxes`` and ``added`` with
    ``edit`` only). Everything is checked against the item: a box must be one of its
    subjects, an added box on one of its drawn frames.
    """
    action = answer.get("action")
    if action not in ("accept", "reject", "edit"):
        raise InvalidParameterError(f"action must be accept, reject or edit; got {action!r}.")
    subjects = queue.subjects(item, window)
    frame_of = dict(zip(window["obs_id"].tolist(), window["frame"].tolist(), strict=True))
    flagged_at: dict[int, list[int]] = {}
    for oid in item.flagged:
        if oid in frame_of:
            flagged_at.setdefault(int(frame_of[oid]), []).append(int(oid))

    def row(frame: int, verdict: str, **kw: Any) -> dict[str, Any]:
        out = {"stream": item.stream, "frame": int(frame), "verdict": verdict, **kw}
        if item.arm is not None:
            out.update(arm=item.arm, flagged=flagged_at.get(int(frame), []))
        return out

    missing = [o for o in subjects if o not in frame_of]
    if missing:
        raise WorkspaceError(
            f"the boxes {missing[:5]} of this item are no longer in table {item.table!r}; it was "
            "replaced since the run. Review the findings of a run on the current table.")
    base = "rejected" if action == "reject" else "accepted"
    judged: dict[int, dict[str, Any]] = {o: row(frame_of[o], base, obs_id=o) for o in subjects}
    added: list[dict[str, Any]] = []
    if action == "edit":
        for k, b in enumerate(answer.get("boxes") or []):
            try:
                oid = int(b.get("obs_id"))
            except (TypeError, ValueError, AttributeError):
                raise InvalidParameterError(f"boxes[{k}]: needs the obs_id it changes; got {b!r}.") from None
            if oid not in judged:
                raise InvalidParameterError(f"boxes[{k}]: obs_id {oid} is not one of this item's boxes.")
            verdict = b.get("verdict")
            if verdict == "corrected":
                judged[oid] = row(frame_of[oid], "corrected", obs_id=oid, box=_box(b.get("box"), f"boxes[{k}]"),
                                  cls=str(window.loc[window["obs_id"] == oid, "cls"].iloc[0]))
            elif verdict == "rejected":
                judged[oid] = row(frame_of[oid], "rejected", obs_id=oid)
            else:
                raise InvalidParameterError(f"boxes[{k}]: verdict must be corrected or rejected; got {verdict!r}.")
        drawn = set(queue.drawn_frames(item))
        for k, a in enumerate(answer.get("added") or []):
            try:
                frame = int(a.get("frame"))
            except (TypeError, ValueError, AttributeError):
                raise InvalidParameterError(f"added[{k}]: needs the frame it is drawn on; got {a!r}.") from None
            if frame not in drawn:
                raise InvalidParameterError(f"added[{k}]: frame {frame} is not one of this item's frames.")
            cls = a.get("cls")
            if not isinstance(cls, str) or not cls.strip() or len(cls) > MAX_CLASS:
                raise InvalidParameterError(f"added[{k}]: cls must be a class name of 1 to {MAX_CLASS} characters.")
            added.append(row(frame, "added", box=_box(a.get("box"), f"added[{k}]"), cls=cls.strip()))
    return list(judged.values()) + added


def write_answer(ws: Any, queue: Queue, item: Item, answer: Mapping[str, Any]) -> dict[str, Any]:
    """Store one answer to ``item`` in one transaction (see the module notes).

    Raises :class:`AlreadyAnswered` when ``review.answers`` holds the item already.

    Returns
    -------
    dict
        ``accepted``, ``rejected``, ``corrected``, ``added`` (verdicts written) and ``labels``
        (rows added to :data:`LABELS_TABLE`).
    """
    window = queue.window(ws, item)
    verdicts = verdicts_of(queue, item, window, answer)
    with ws.transaction():
        if ANSWERS_TABLE in ws:
            done = ws.read(ANSWERS_TABLE)
            if (done["item"].astype(str) == item.key).any():
                raise AlreadyAnswered(f"item {item.key} was answered already (in another tab or window).")
        counts = import_verdicts(verdicts, ws, campaign=item.campaign, observations=item.table)
        labels = queue.extra(ws, item, verdicts, window)
        ws.append(ANSWERS_TABLE, pd.DataFrame({
            "item": pd.array([item.key], dtype=STRING), "kind": pd.array([item.kind], dtype=STRING),
            "source": pd.array([item.source], dtype=STRING), "arm": pd.array([item.arm], dtype=STRING),
            "stream": pd.array([item.stream], dtype=STRING),
            "frame_start": np.array([item.frame_start], dtype="int64"),
            "frame_end": np.array([item.frame_end], dtype="int64"),
            "action": pd.array([str(answer["action"])], dtype=STRING),
            **{k: np.array([counts[k]], dtype="int64") for k in ("accepted", "rejected", "corrected", "added")},
            "labels": np.array([labels], dtype="int64"),
            "answered": pd.Series([pd.Timestamp.now(tz="UTC").tz_localize(None)]).astype("datetime64[us]"),
        }), kind="table")
    return {**{k: counts[k] for k in ("accepted", "rejected", "corrected", "added")}, "labels": labels}


def answered_keys(ws: Any) -> set[str]:
    """Keys of the items answered on the review page (:data:`ANSWERS_TABLE`)."""
    return set(ws.read(ANSWERS_TABLE)["item"].astype(str)) if ANSWERS_TABLE in ws else set()


def reviewed_frames(ws: Any) -> set[str]:
    """Frames reviewed anywhere (``"<stream>#<frame>"``, :data:`~assay.curate.FRAME_ORACLE`)."""
    got = ws.get_labels(FRAME_ORACLE)
    return {str(i) for i in got.index.tolist()}
