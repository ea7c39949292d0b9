"""A query whose oracle is the person at the review page, run in a background thread.

The thread opens the workspace with ``hold=False``: the file is open only while the query
reads or stores something, and let go while it waits for the person, so other ``assay``
commands (and the page's own requests) use it meanwhile.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

from ..exceptions import AssayError, InvalidParameterError
from .oracle import PREFIX, Board, PageOracle, QuestionsWithdrawn, parse_page_oracle

__all__ = ["QUERY_VERBS", "QueryJob"]

#: The queries the page runs.
QUERY_VERBS = ("select", "aggregate")

#: Parameters of each verb a job passes on, with their defaults (as ``assay query``'s).
_SELECT = {"records": None, "proxy": None, "oracle": None, "recall": None, "precision": None,
           "delta": 0.05, "budget": 1000, "method": "assay", "seed": 0, "batch_size": None,
           "labels": None}
_AGGREGATE = {"records": None, "oracle": None, "proxy": None, "stat": "mean", "where": None,
              "error": None, "relative": False, "delta": 0.05, "budget": None, "value_range": None,
              "method": "assay", "batch_size": None, "seed": 0, "labels": None}


class QueryJob:
    """One ``select`` or ``aggregate`` asked of a person through the page.

    Parameters
    ----------
    path : Path
        The workspace file.
    verb : {"select", "aggregate"}
    params : dict
        As ``assay query select|aggregate`` takes them (its option names: ``recall`` /
        ``precision``, ``value_range``, ...); ``oracle`` (and ``where``, when it is a question
        for the page) is ``review:QUESTION[#LABEL_SET]``; ``records`` a workspace table or a
        file.
    boxes : str, optional
        Observations table whose boxes are drawn on record frames (records with ``stream``
        and ``frame``).
    wait : float
        Seconds to wait for the workspace while another process has it.
    """

    def __init__(self, path: str | Path, verb: str, params: dict[str, Any], *,
                 boxes: str | None = None, wait: float = 10.0) -> None:
        if verb not in QUERY_VERBS:
            raise InvalidParameterError(f"a query on the page is select or aggregate; got {verb!r}.")
        known = _SELECT if verb == "select" else _AGGREGATE
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InvalidParameterError(f"{verb} takes no {', '.join(unknown)} here.")
        self.path = Path(path)
        self.verb = verb
        self.params = {**known, **{k: v for k, v in params.items() if v is not None}}
        self.boxes = boxes
        self.wait = wait
        self.board = Board()
        self.state = "starting"
        self.error: str | None = None
        self.result: dict[str, Any] | None = None
        self.path_of_interval: list[dict[str, float]] = []
        self.stop_requested = False
        self.started = time.time()
        self._thread: threading.Thread | None = None
        where = self.params.get("where")
        self.where = (self._oracle(where, main=False) if isinstance(where, str) and where.startswith(PREFIX)
                      else where)
        # a count of records passing a question needs no other oracle
        counting = verb == "aggregate" and self.params["oracle"] is None and isinstance(self.where, PageOracle)
        self.oracle = None if counting else self._oracle(self.params["oracle"], main=True)
        #: The question the page shows first (the where question of a count).
        self.asker: PageOracle = self.oracle if self.oracle is not None else self.where

    def _oracle(self, spec: Any, *, main: bool) -> PageOracle:
        if not isinstance(spec, str) or not spec.startswith(PREFIX):
            raise InvalidParameterError(
                f"the oracle of a query on the review page is a question for the person: "
                f"review:QUESTION[#LABEL_SET]. Got {spec!r}.")
        rng = self.params.get("value_range")
        yes_no = self.verb == "select" or not main or (rng is not None and tuple(map(float, rng)) == (0.0, 1.0))
        return parse_page_oracle(spec, yes_no=yes_no, range=None if yes_no or rng is None else tuple(rng),
                                 board=self.board)

    # ------------------------------------------------------------------ running

    def start(self) -> QueryJob:
        """Run the query in a background thread."""
        self._thread = threading.Thread(target=self._run, name=f"assay-review-{self.verb}", daemon=True)
        self._thread.start()
        return self

    def _on_batch(self, state: dict[str, Any]) -> bool:
        self.path_of_interval.append({k: float(state[k]) for k in ("labels", "estimate", "lower", "upper")})
        return self.stop_requested

    def _run(self) -> None:
        from ..store import Workspace

        try:
            self.state = "running"
            ws = Workspace(self.path, hold=False, wait=self.wait)
            try:
                self.result = self._query(ws)
            finally:
                ws.close()
            self.state = "done"
        except QuestionsWithdrawn as exc:
            self.error, self.state = str(exc), "cancelled"
        except AssayError as exc:
            self.error, self.state = str(exc), "failed"
        except Exception as exc:  # a bug: shown on the page, not lost in a thread
            self.error, self.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            self.board.withdraw("the query ended")

    def _records(self, ws: Any) -> Any:
        records = self.params["records"]
        if isinstance(records, str) and records in ws:
            return ws.read(records)
        if isinstance(records, str) and Path(records).exists():
            return records
        raise InvalidParameterError(
            f"records {records!r}: no table of that name in the workspace, and no such file.")

    def _query(self, ws: Any) -> dict[str, Any]:
        from ..approx import aggregate, select

        p = self.params
        records = self._records(ws)
        if self.verb == "select":
            if (p["recall"] is None) == (p["precision"] is None):
                raise InvalidParameterError("select needs a recall or a precision target (one of them).")
            target, value = ("recall", p["recall"]) if p["recall"] is not None else ("precision", p["precision"])
            r = select(records, proxy=p["proxy"], oracle=self.oracle, target=target, value=float(value),
                       delta=float(p["delta"]), budget=int(p["budget"]), method=p["method"],
                       seed=p["seed"], workspace=ws, labels=p["labels"], batch_size=p["batch_size"])
            return {"selected": len(r), "threshold": r.threshold if math.isfinite(r.threshold) else None,
                    "oracle_calls": r.oracle_calls, "labels_paid_now": r.labels_paid,
                    "guarantee": {"kind": r.guarantee.kind, "target": target, "value": float(value),
                                  "delta": r.guarantee.delta},
                    "method": r.method, "run_id": r.run_id, "ids": [_plain(i) for i in r.ids[:1000]]}
        rng = p["value_range"]
        r = aggregate(records, oracle=self.oracle, proxy=p["proxy"], stat=p["stat"], where=self.where,
                      error=p["error"], relative=bool(p["relative"]), delta=float(p["delta"]),
                      budget=p["budget"], method=p["method"], range=None if rng is None else tuple(rng),
                      seed=p["seed"], workspace=ws, batch_size=p["batch_size"], labels=p["labels"],
                      on_batch=self._on_batch if p["method"] in ("assay", "betting") else None)
        return {**r.to_dict(), "run_id": r.run_id}

    def stop(self) -> None:
        """Stop an anytime-valid ``aggregate`` at the end of the batch being answered (its
        interval holds wherever it stops)."""
        self.stop_requested = True

    def cancel(self, reason: str = "cancelled on the page") -> None:
        """Stop asking now: the query ends without a result; every answer given is kept, and
        the same query (same seed) resumes from them."""
        self.board.withdraw(reason)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def anytime(self) -> bool:
        """Whether the page may stop it with a valid interval (``aggregate``'s default method)."""
        return self.verb == "aggregate" and self.params["method"] in ("assay", "betting")

    def describe(self) -> dict[str, Any]:
        """What the page shows about the query (JSON-ready, without the batch)."""
        p = self.params
        oracle = self.asker
        return {
            "verb": self.verb, "state": self.state, "error": self.error, "result": self.result,
            "question": oracle.question, "label_set": oracle.label_set,
            "records": p["records"] if isinstance(p["records"], str) else "records",
            "yes_no": oracle.yes_no, "range": None if oracle.range is None else list(oracle.range),
            "anytime": self.anytime, "stop_requested": self.stop_requested,
            "budget": p.get("budget"), "error_target": p.get("error"),
            "target": ({"recall": p["recall"]} if p.get("recall") is not None else
                       {"precision": p.get("precision")}) if self.verb == "select" else None,
            "delta": p["delta"], "path": list(self.path_of_interval),
            "answers": self.board.answers_saved, "batches": self.board.batches_done,
            "boxes": self.boxes,
        }


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
