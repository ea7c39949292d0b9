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

__all__ = ["QUERY_VERBS", "QueryJob", "page_plan"]

#: The queries the page runs: ``select`` and ``aggregate`` as ``assay query`` takes them, and
#: ``sql``, a query of ``assay sql`` (whose plan is a selection or an aggregate).
QUERY_VERBS = ("select", "aggregate", "sql")

#: Parameters of each verb a job passes on, with their defaults (as ``assay query``'s).
_SELECT = {"records": None, "proxy": None, "oracle": None, "recall": None, "precision": None,
           "delta": 0.05, "budget": 1000, "method": "assay", "seed": 0, "batch_size": None,
           "labels": None}
_AGGREGATE = {"records": None, "oracle": None, "proxy": None, "stat": "mean", "where": None,
              "error": None, "relative": False, "delta": 0.05, "budget": None, "value_range": None,
              "method": "assay", "batch_size": None, "seed": 0, "labels": None}
_SQL = {"query": None, "seed": 0, "batch_size": None}


class QueryJob:
    """One ``select`` or ``aggregate`` asked of a person through the page.

    Parameters
    ----------
    path : Path
        The workspace file.
    verb : {"select", "aggregate", "sql"}
    params : dict
        As ``assay query select|aggregate`` takes them (its option names: ``recall`` /
        ``precision``, ``value_range``, ...); ``oracle`` (and ``where``, when it is a question
        for the page) is ``review:QUESTION[#LABEL_SET]``; ``records`` a workspace table or a
        file. For ``sql``: ``query`` (a query of :func:`assay.sql` whose oracle, or oracle
        predicate, is named with a ``review:`` spec), ``seed`` and ``batch_size``; the job's
        :attr:`verb` is then the plan's, ``select`` or ``aggregate``.
    boxes : str, optional
        Observations table whose boxes are drawn on record frames (records with ``stream``
        and ``frame``).
    wait : float
        Seconds to wait for the workspace while another process has it.
    """

    def __init__(self, path: str | Path, verb: str, params: dict[str, Any], *,
                 boxes: str | None = None, wait: float = 10.0) -> None:
        if verb not in QUERY_VERBS:
            raise InvalidParameterError(f"a query on the page is {', '.join(QUERY_VERBS)}; got {verb!r}.")
        known = {"select": _SELECT, "aggregate": _AGGREGATE, "sql": _SQL}[verb]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InvalidParameterError(f"{verb} takes no {', '.join(unknown)} here.")
        #: The query's text when it came as SQL (``verb`` is then its plan's).
        self.sql: str | None = None
        self.plan: Any = None
        if verb == "sql":
            self.sql = params.get("query")
            self.plan = _sql_plan(path, self.sql, wait)
            verb, params = self.plan.kind, {**_plan_params(self.plan), "seed": params.get("seed"),
                                            "batch_size": params.get("batch_size")}
            known = _SELECT if verb == "select" else _AGGREGATE
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
        main = self.params["oracle"]
        self.oracle = (None if counting or self.sql is not None and not str(main).startswith(PREFIX)
                       else self._oracle(main, main=True))
        #: The question the page shows first (the where question of a count).
        self.asker: PageOracle = self.oracle if self.oracle is not None else self.where
        if not isinstance(self.asker, PageOracle):
            raise InvalidParameterError(
                "this query asks no one on the page: its oracles are not review:QUESTION specs (run it with "
                "`assay sql`).")

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
        if self.sql is not None:
            return self._sql(ws)
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

    def _sql(self, ws: Any) -> dict[str, Any]:
        """The SQL query, its page questions asked of this job's oracles."""
        from ..approx.language import answer, parse

        plan = parse(ws, self.sql)  # again: the workspace may have changed since the job was made
        if (plan.kind, plan.spec, plan.where_spec) != (self.plan.kind, self.plan.spec, self.plan.where_spec):
            raise InvalidParameterError("the query's oracles were renamed while it waited; start it again.")
        oracles = {spec: o for spec, o in ((plan.spec, self.oracle), (plan.where_spec, self.where))
                   if isinstance(o, PageOracle)}
        options = {"batch_size": self.params["batch_size"]}
        if self.anytime:
            options["on_batch"] = self._on_batch
        r = answer(ws, plan, seed=self.params["seed"], oracles=oracles, **options).result
        if plan.kind == "select":
            return {"selected": len(r), "threshold": r.threshold if math.isfinite(r.threshold) else None,
                    "oracle_calls": r.oracle_calls, "labels_paid_now": r.labels_paid,
                    "guarantee": {"kind": r.guarantee.kind, "target": plan.target, "value": plan.value,
                                  "delta": r.guarantee.delta},
                    "method": r.method, "run_id": r.run_id, "ids": [_plain(i) for i in r.ids[:1000]]}
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
            "verb": self.verb, "sql": self.sql, "state": self.state, "error": self.error, "result": self.result,
            "question": oracle.question, "label_set": oracle.label_set,
            "records": p["records"] if isinstance(p["records"], str) else "records",
            "yes_no": oracle.yes_no, "range": None if oracle.range is None else list(oracle.range),
            "anytime": self.anytime, "stop_requested": self.stop_requested,
            "budget": p.get("budget"), "error_target": p.get("error"),
            "target": ({k: p[k] for k in ("recall", "precision") if p.get(k) is not None}  # both: joint
                       if self.verb == "select" else None),
            "delta": p["delta"], "path": list(self.path_of_interval),
            "answers": self.board.answers_saved, "batches": self.board.batches_done,
            "boxes": self.boxes,
        }


def _sql_plan(path: str | Path, query: Any, wait: float) -> Any:
    from ..store import Workspace

    ws = Workspace(path, hold=False, wait=wait)
    try:
        return page_plan(ws, query)
    finally:
        ws.close()


def page_plan(workspace: Any, query: Any) -> Any:
    """The plan (:func:`assay.approx.language.parse`) of a SQL query to ask on the page: a
    selection or an aggregate with one answer (no GROUP BY), whose oracle or oracle predicate
    is a question for the person (a name given to ``review:QUESTION[#LABEL_SET]``)."""
    from ..approx.language import parse

    if not isinstance(query, str) or not query.strip():
        raise InvalidParameterError("a sql query on the page needs 'query', the text of the query.")
    plan = parse(workspace, query)
    what = "an EXPLAIN" if query.lstrip()[:7].upper() == "EXPLAIN" else f"{plan.kind} SQL"
    if plan.kind not in ("select", "aggregate") or what == "an EXPLAIN":
        raise InvalidParameterError("a query on the page calls an oracle: a selection or an aggregate "
                                    f"(this one is {what}: run it with `assay sql`).")
    if plan.group is not None:
        raise InvalidParameterError(f"GROUP BY {plan.group}: the page asks one answer at a time; ask each group "
                                    f"with WHERE {plan.group} = ... instead.")
    if not any(isinstance(s, str) and s.startswith(PREFIX) for s in (plan.spec, plan.where_spec)):
        names = [n for n in (plan.oracle, plan.where_oracle) if n]
        raise InvalidParameterError(
            f"this query asks no one on the page: {', '.join(names)} is not a question for the person "
            "(`assay oracle add NAME 'review:QUESTION'` names one); run it with `assay sql`.")
    return plan


def _plan_params(plan: Any) -> dict[str, Any]:
    """What the page shows of a SQL query's plan, under ``assay query``'s parameter names."""
    out: dict[str, Any] = {"records": plan.source or "the query's records", "proxy": plan.proxy,
                           "oracle": plan.spec, "delta": plan.delta, "method": plan.method or "assay"}
    if plan.kind == "select":
        targets = (dict(zip(("recall", "precision"), plan.value, strict=True)) if plan.target == "joint"
                   else {plan.target: plan.value})
        return {**out, **targets, **({"weight": plan.weight} if plan.weight else {}), "budget": plan.budget or 1000}
    return {**out, "stat": plan.stat, "where": plan.where_spec, "error": plan.error, "relative": plan.relative,
            "budget": plan.budget, "value_range": plan.value_range}


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
