"""One query language over the workspace: SQL, plus oracle, proxy and guarantee clauses.

Exact questions are plain SQL and run in DuckDB (``SELECT stream, count(*) FROM findings GROUP
BY stream``). A question that calls a *named oracle* (:meth:`~assay.store.Workspace.add_oracle`)
is answered approximately, with a guarantee, by :func:`~assay.approx.select` or
:func:`~assay.approx.aggregate`:

Selection (an oracle predicate as an ``AND`` condition of ``WHERE``)::

    SELECT * FROM onto WHERE is_person(text) AND len > 3
    ORACLE LIMIT 1000 USING proxy_score RECALL TARGET 90% WITH PROBABILITY 95%

Aggregation (``AVG`` / ``SUM`` / ``COUNT`` of an oracle, or ``COUNT(*)`` with an oracle
predicate in ``WHERE``)::

    SELECT AVG(people(frame)) FROM frames WHERE stream = 'cam1'
    ERROR WITHIN 0.5 AT CONFIDENCE 95% USING detections

The clauses, after the SQL, in any order:

``ORACLE LIMIT n``
    The label budget (distinct records the oracle may be asked about).
``USING expr``
    The proxy: a column or an expression of the columns (``USING 1 - score``). Required for
    a selection; optional for an aggregate (methods that use one do better with it).
``RECALL TARGET p%`` / ``PRECISION TARGET p%``
    A selection's target; both together are a joint target (``select(target="joint",
    value=(r, p))``: both hold at once with probability at least ``1 - delta``).
``WEIGHTED BY col``
    A selection's recall / precision measured in a weight column (duration, box count)
    instead of a record count (``select(weight=col)``).
``ASSUMING MIN DENSITY b% PER n [TAIL t%]``
    A recall (or joint) target under the minimum-density assumption
    (``select(assume=MinDensity(b, n, tail=t))``): the guarantee is then ``conditional`` on
    it, and the answer says so; without ``TAIL``, MinDensity's default share.
``ERROR WITHIN e [RELATIVE]``
    An aggregate's error target: the half-width of the interval (relative to the answer).
``WITH PROBABILITY q%`` / ``AT CONFIDENCE q%``
    ``1 - delta`` (default 95%).
``METHOD name``
    Another method than the default (see :func:`~assay.approx.select`,
    :func:`~assay.approx.aggregate`).

An aggregate's oracle needs the least and greatest value it can return: the ``value_range``
it was named with (``assay oracle add NAME SPEC --range LO HI``).

Every condition of ``WHERE`` but the oracle is cheap: it runs in DuckDB before any sampling, so the
oracle only ever sees records that pass it. The records need an ``id`` column (record ids
key the cached answers); the records of a ``JOIN`` take the ``id`` of the first table of
``FROM``, and each must appear once. ``EXPLAIN`` before a query says how it would run, and
what its budget or target implies, without asking the oracle anything.
``frames('labels', 'tracker', ...)`` in ``FROM`` is a table of one row per (stream, frame)
of those observations tables, with an ``id``, each table's box count and its counts per class
(:func:`frames_sql`): frame-level questions need no Python, e.g. the mean number of labelled
people per frame with the detector's count as the proxy::

    SELECT AVG(people(labels)) FROM frames('labels', 'tracker') ERROR WITHIN 0.5 USING tracker

``GROUP BY col`` (an aggregate, one column with few values) gives one answer per value; δ is
split equally over the groups (Bonferroni), so all the intervals hold at once with probability
at least ``1 - δ``, and each group pays for its own labels.

A query only reads the workspace: other statements than a query are refused unless run with
``write=True``, and then only ``CREATE [OR REPLACE] TABLE name AS SELECT ...`` and ``DROP
TABLE name`` run, through the workspace. A query that cannot be read or answered raises
:class:`~assay.exceptions.QueryError`, which says what was expected and points at the line
and column with a caret. An oracle named with a ``review:`` spec is a question for the person
at ``assay review``'s page: the page runs the query (``assay review --query "SELECT ..."``,
:func:`answer` with the page's oracle).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..exceptions import InvalidParameterError, QueryError, WorkspaceError

__all__ = ["QueryPlan", "SqlResult", "answer", "explain", "frames_sql", "parse", "sql"]

_PERCENT = r"([0-9]*\.?[0-9]+)\s*(%?)"
#: The clauses after the SQL, each a regex over the tail (case-insensitive).
_CLAUSES = {
    "budget": re.compile(r"ORACLE\s+LIMIT\s+([0-9][0-9_,]*)", re.I),
    "recall": re.compile(r"RECALL\s+TARGET\s+" + _PERCENT, re.I),
    "precision": re.compile(r"PRECISION\s+TARGET\s+" + _PERCENT, re.I),
    "probability": re.compile(r"(?:WITH\s+PROBABILITY|AT\s+CONFIDENCE)\s+" + _PERCENT, re.I),
    "error": re.compile(r"ERROR\s+WITHIN\s+([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(\s+RELATIVE)?", re.I),
    "method": re.compile(r"METHOD\s+([A-Za-z_+][A-Za-z0-9_+-]*)", re.I),
    "weight": re.compile(r"WEIGHTED\s+BY\s+([A-Za-z_][A-Za-z0-9_]*)", re.I),
    "assume": re.compile(r"ASSUMING\s+MIN(?:IMUM)?\s+DENSITY\s+" + _PERCENT + r"\s+PER\s+([0-9][0-9_,]*)"
                         r"(?:\s+TAIL\s+" + _PERCENT + r")?", re.I),
    "using": re.compile(r"USING\s+(.+?)\s*$", re.I | re.S),
}
#: Most groups a GROUP BY with an oracle may have.
MAX_GROUPS = 100


class _Combined:
    """The results of the groups of one query, read as one (labels add up; the kind is the
    weakest of theirs)."""

    def __init__(self, results: list) -> None:
        self.results = results
        kinds = {x.guarantee.kind for x in results}
        self.guarantee = results[0].guarantee if len(kinds) == 1 else next(
            x.guarantee for x in results if x.guarantee.kind == "asymptotic")
        self.method = results[0].method
        self.oracle_calls = sum(x.oracle_calls for x in results)
        self.labels_paid = sum(x.labels_paid for x in results)
        self.run_id = ",".join(str(x.run_id) for x in results)


_WORDS = {"budget": "ORACLE LIMIT", "recall": "RECALL TARGET", "precision": "PRECISION TARGET",
          "probability": "WITH PROBABILITY", "error": "ERROR WITHIN", "method": "METHOD", "using": "USING",
          "weight": "WEIGHTED BY", "assume": "ASSUMING MIN DENSITY"}
#: The column a USING expression is computed into.
_PROXY = "using_proxy"
#: Words that start a clause (so a USING expression ends where the next clause starts).
_STARTS = re.compile(r"\b(ORACLE\s+LIMIT|RECALL\s+TARGET|PRECISION\s+TARGET|WITH\s+PROBABILITY|"
                     r"AT\s+CONFIDENCE|ERROR\s+WITHIN|METHOD|USING|WEIGHTED\s+BY|ASSUMING)\b", re.I)


@dataclass(frozen=True)
class QueryPlan:
    """How a query runs: what :func:`explain` prints and :func:`sql` executes."""

    text: str
    kind: str  # "exact", "write" (a statement that changes the workspace), "select" or "aggregate"
    core: str  # the SQL DuckDB runs: the whole query (exact, write) or the cheap record filter
    oracle: str | None = None  # the oracle's name in the query
    spec: str | None = None  # what the name stands for
    where_oracle: str | None = None  # aggregate: an oracle predicate of WHERE
    where_spec: str | None = None
    stat: str | None = None  # aggregate: mean, sum or count
    proxy: str | None = None  # the USING expression
    target: str | None = None  # select: recall, precision or joint
    value: float | tuple[float, float] | None = None  # joint: (recall, precision)
    weight: str | None = None  # select: WEIGHTED BY column
    assume: tuple[float, int, float | None] | None = None  # select: (beta, window, tail) of ASSUMING
    error: float | None = None
    relative: bool = False
    delta: float = 0.05
    budget: int | None = None
    method: str | None = None
    value_range: tuple[float, float] | None = None
    group: str | None = None  # aggregate: GROUP BY column
    source: str | None = None  # the one workspace table the records are rows of, if so
    join_id: str | None = None  # a join: the table (or alias) whose id keys the records

    def min_density(self):
        """The ``ASSUMING`` clause as a :class:`~assay.approx.MinDensity` (None without one)."""
        from .selection import MinDensity

        if self.assume is None:
            return None
        beta, window, tail = self.assume
        return MinDensity(beta, window) if tail is None else MinDensity(beta, window, tail=tail)

    def describe(self, records: int | None = None, groups: int | None = None) -> list[tuple[str, str]]:
        """The plan as (what, value) rows, for ``EXPLAIN``; ``records`` (how many rows pass
        the cheap conditions) and ``groups`` (how many GROUP BY values), when known, make
        what the budget or target implies a number."""
        import math

        if self.kind == "exact":
            return [("kind", "exact SQL, run in DuckDB"), ("sql", self.core)]
        if self.kind == "write":
            return [("kind", "a statement that changes the workspace (runs only with write=True, "
                             "`assay sql --write`)"), ("sql", self.core)]
        rows = [("kind", "approximate selection" if self.kind == "select" else "approximate aggregate"),
                ("records", (f"{records:,} " if records is not None else "") + f"rows of: {self.core}")]
        if self.join_id is not None:
            rows.append(("record id", f"{self.join_id}.id (the first table of the join)"))
        if self.oracle:
            rows.append(("oracle", f"{self.oracle} = {self.spec}"))
        if self.where_oracle:
            rows.append(("oracle predicate", f"{self.where_oracle} = {self.where_spec}"))
        rows.append(("proxy", self.proxy or "none"))
        method = self.method or "assay"
        kind = "conditional" if self.assume else _guarantee_kind(self.kind, method)
        rows.append(("method", f"{method} (guarantee: {kind})"))
        if self.assume:
            rows.append(("assumption", self.min_density().statement() + " (checked on a sample "
                         "below the window; the guarantee holds if it is true)"))
        if self.kind == "select":
            budget = self.budget or 1000
            if records is not None:
                budget = min(budget, records)
            rows.append(("target", f"{_target_text(self.target, self.value)} with probability >= "
                         f"{1 - self.delta:g}" + (" (delta split equally between the two: union bound)"
                                                  if self.target == "joint" else "")))
            if self.weight is not None:
                rows.append(("weight", f"recall and precision measured in {self.weight} (finite-sample "
                             "betting test on the bounded weighted terms)"))
            rows.append(("budget", f"at most {budget:,} distinct records labeled"
                         + ("" if self.budget else " (the default 1000, or the records if fewer; ORACLE LIMIT "
                                                   "n sets it)")))
            log = math.log(1 / self.delta)
            # the record counts below are of unweighted single targets (the weight row says how a
            # weighted one is tested)
            if self.weight is None and self.target == "recall":
                rows.append(("labels implied", "leaving M records out of the answer takes about M ln(1/delta) / U "
                             "labels among those M, U being the positives the target lets it miss "
                             f"({1 - self.value:.0%} of them); with {budget:,} labels, M is at most about "
                             f"{budget / log:,.0f} x U" + (f" of the {records:,} records" if records else "")
                             + ": with few positives the answer keeps most records"))
            elif self.weight is None and self.target == "precision":
                margin = math.sqrt(log / (2 * budget))
                rows.append(("labels implied", "the records chosen must show, among their labeled ones, a "
                             f"precision of about {min(self.value + margin, 1):.3f} or more (the target plus "
                             f"Hoeffding's margin sqrt(ln(1/delta) / 2m) = {margin:.3f} with all m = {budget:,} "
                             "labels among them; fewer labels there, a wider margin)"))
            return rows
        stat = {"mean": "AVG", "sum": "SUM", "count": "COUNT"}[self.stat or "mean"]
        delta = self.delta / (groups or 1) if self.group is not None else self.delta
        if self.error is not None:
            rows.append(("target", f"{stat} within +-{self.error:g}{' (relative)' if self.relative else ''} "
                         f"with probability >= {1 - self.delta:g}"
                         + (f", or stop at {self.budget:,} labels" if self.budget else "")))
        else:
            rows.append(("target", f"{stat} with an interval at probability >= {1 - self.delta:g} after "
                         f"{self.budget:,} labels"))
        rng = self.value_range if self.value_range is not None else (0, 1) if self.spec is None else None
        if self.value_range is not None:
            rows.append(("oracle range", f"[{self.value_range[0]:g}, {self.value_range[1]:g}]"))
        if rng is not None and self.stat == "mean" and self.where_spec is None:
            width = rng[1] - rng[0]
            if self.error is not None and not self.relative:
                worst = math.ceil(width ** 2 * math.log(2 / delta) / (2 * self.error ** 2))
                rows.append(("labels implied", f"at most {worst:,}" + (" per group" if self.group else "")
                             + " (Hoeffding's bound for any data in the range; the default adapts to the "
                             "data's spread and its proxy, and usually stops far sooner)"))
            elif self.error is None:
                half = width * math.sqrt(math.log(2 / delta) / (2 * self.budget))
                rows.append(("labels implied", f"after {self.budget:,} labels the interval's half-width is at most "
                             f"{half:.3g}" + (" per group" if self.group else "") + " (Hoeffding's bound for any data in the range; usually narrower)"))
        if self.group is not None:
            rows.append(("groups", (f"{groups:,} " if groups is not None else "")
                         + f"answers, one per value of {self.group}; delta split equally over the "
                         "groups (Bonferroni"
                         + (f": {delta:.3g} each" if groups else "") + "), so every interval holds at once with "
                         f"probability >= {1 - self.delta:g}"))
        return rows


def _target_text(target: str | None, value: Any) -> str:
    """A selection's target as said: ``recall >= 0.9``, or both bounds of a joint target."""
    if target == "joint":
        return f"recall >= {value[0]:g} and precision >= {value[1]:g}"
    return f"{target} >= {value:g}"


def _guarantee_kind(kind: str, method: str) -> str:
    asymptotic = {"select": {"supg", "supg++", "uniform"}, "aggregate": {"clt", "ppi", "blazeit", "blazeit++"}}
    return "asymptotic" if method in asymptotic[kind] else "finite-sample"


@dataclass
class SqlResult:
    """The answer of :func:`sql`: a table, and for an approximate query its guarantee.

    Attributes
    ----------
    table : pandas.DataFrame
        The rows: the query's result (exact), the selected records (select), or one row
        ``estimate, lower, upper`` (aggregate).
    plan : QueryPlan
        How the query ran.
    guarantee : dict
        Empty for exact SQL; else ``kind`` (finite-sample / asymptotic), ``target``,
        ``delta``, ``oracle_calls`` (labels the answer rests on), ``labels_paid`` (asked of
        the oracle now) and ``labels_reused`` (from the workspace's cache), ``method`` and
        ``run_id``.
    result : SelectionResult or AggregateResult or None
        The underlying result.
    """

    table: pd.DataFrame
    plan: QueryPlan
    guarantee: dict = field(default_factory=dict)
    result: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``kind``, ``guarantee`` and, for an aggregate, numeric ``estimate``,
        ``lower``, ``upper`` (with GROUP BY, ``groups``: one such row per group); for a
        selection the selected ``ids``; for exact SQL the rows."""
        out: dict[str, Any] = {"kind": self.plan.kind, "guarantee": self.guarantee}
        rows = [{k: _plain(v) for k, v in row.items()} for row in self.table.to_dict(orient="records")]
        if self.plan.kind == "aggregate" and self.plan.group is not None:
            out["groups"] = rows
        elif self.plan.kind == "aggregate":
            r = self.result
            out.update(estimate=float(r.estimate), lower=float(r.lower), upper=float(r.upper))
        elif self.plan.kind == "select":
            out.update(ids=[_plain(v) for v in self.result.ids],
                       oracle_calls=int(self.result.oracle_calls))
        else:
            out["rows"] = rows
        return out


def _plain(v: Any) -> Any:
    """A value as JSON has it: numpy scalars as Python numbers, DuckDB's HUGEINT sums (Decimal)
    as int when whole."""
    from decimal import Decimal

    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v.item() if hasattr(v, "item") else v


# ---------------------------------------------------------------------- parsing

#: What each clause takes, said when its keyword is there but its value cannot be read.
_KEYWORDS = {
    "budget": (re.compile(r"ORACLE\s+LIMIT\b\s*", re.I), "a whole number of labels (ORACLE LIMIT 1000)"),
    "recall": (re.compile(r"RECALL\s+TARGET\b\s*", re.I), "a percentage between 0 and 100 (RECALL TARGET 90%)"),
    "precision": (re.compile(r"PRECISION\s+TARGET\b\s*", re.I),
                  "a percentage between 0 and 100 (PRECISION TARGET 90%)"),
    "probability": (re.compile(r"(?:WITH\s+PROBABILITY|AT\s+CONFIDENCE)\b\s*", re.I),
                    "a percentage between 0 and 100 (WITH PROBABILITY 95%)"),
    "error": (re.compile(r"ERROR\s+WITHIN\b\s*", re.I), "a number, then RELATIVE if it is relative (ERROR WITHIN 0.1)"),
    "method": (re.compile(r"METHOD\b\s*", re.I), "a method's name (METHOD supg)"),
    "weight": (re.compile(r"WEIGHTED\s+BY\b\s*", re.I),
               "one column name, the weight of each record (WEIGHTED BY secs)"),
    "assume": (re.compile(r"ASSUMING(?:\s+MIN(?:IMUM)?\s+DENSITY)?\b\s*", re.I),
               "a density, PER and a window of records, then TAIL t% if wanted (ASSUMING MIN DENSITY 1% "
               "PER 150)"),
    "using": (re.compile(r"USING\b\s*", re.I), "the proxy: a column or an expression of the columns (USING score)"),
}
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+", re.I)


class _Place:
    """Where a query's errors point: the query as given, and the offset in it of the text
    being read (after ``EXPLAIN`` and leading blanks)."""

    def __init__(self, query: str, base: int) -> None:
        self.query, self.base = query, base

    def error(self, reason: str, at: Any = None) -> QueryError:
        """A :class:`QueryError` at ``at``: an offset in the text read, or a parsed node (its
        first token), or the start of the query."""
        if at is not None and not isinstance(at, int):
            at = _start(at)
        return QueryError(reason, query=self.query, position=self.base + (at or 0))


def _start(node: Any) -> int | None:
    """Offset of a parsed node's first token in the text sqlglot read, if it knows it."""
    starts = [n.meta["start"] for n in node.walk() if "start" in (n._meta or {})]
    return min(starts) if starts else None


def _without_explain(query: str) -> str:
    """The query with a leading ``EXPLAIN`` blanked out (offsets, lines and columns kept)."""
    m = _EXPLAIN.match(query)
    return query if m is None else re.sub(r"[^\n]", " ", m.group(0)) + query[m.end():]


def _clause_starts(text: str, begin: int = 0) -> list[int]:
    """Positions of the words that can start a clause, from ``begin``, outside quotes and
    parentheses (``USING`` followed by ``(`` is SQL's ``JOIN ... USING (col)``)."""
    out, depth, quote = [], 0, None
    for i in range(begin, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and (i == begin or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = _STARTS.match(text, i)
            if m and not (m.group(1).upper() == "USING" and text[m.end():].lstrip().startswith("(")):
                out.append(i)
    return out


def _split_tail(text: str, place: _Place) -> tuple[str, dict[str, Any]]:
    """The SQL and the clauses after it: the tail starts at the first clause word from which
    the rest reads as clauses (a column named ``method`` in the SQL is not a clause). When no
    such tail exists but the text is not SQL either, the first clause's error is raised; when
    the text is SQL too, that error is kept under the key ``""``, for a query that turns out to
    call an oracle (``FROM t ORACLE LIMIT -1`` reads as SQL: ``t AS oracle LIMIT -1``)."""
    import sqlglot

    starts = [p for p in _clause_starts(text) if p > 0]
    first_error, candidates = None, []
    for p in starts:
        try:
            found = _clauses(text, p, place)
        except QueryError as exc:
            first_error = first_error or exc
            continue
        try:
            sqlglot.parse_one(text[:p], read="duckdb")
            return text[:p].rstrip(), found
        except sqlglot.errors.SqlglotError:
            candidates.append((text[:p].rstrip(), found))
    if first_error is not None:
        try:
            sqlglot.parse_one(text, read="duckdb")
        except sqlglot.errors.SqlglotError:
            raise first_error from None
        return text.rstrip(), {"": first_error}  # SQL, unless it calls an oracle
    return candidates[0] if candidates else (text.rstrip(), {})


def _clauses(text: str, begin: int, place: _Place) -> dict[str, Any]:
    """The clauses of ``text`` from ``begin`` on, each at most once, as matches over ``text``
    (so their offsets are the query's); anything left over is an error."""
    found: dict[str, Any] = {}
    starts = _clause_starts(text, begin)
    for a, b in zip(starts, [*starts[1:], len(text)], strict=True):
        b = a + len(text[a:b].rstrip())
        for key, rx in _CLAUSES.items():
            m = rx.fullmatch(text, a, b)
            if m:
                if key in found:
                    raise place.error(f"the clause {_WORDS.get(key, key.upper())} appears twice.", a)
                found[key] = m
                break
        else:
            raise _clause_error(text, a, b, place)
    return found


def _clause_error(text: str, a: int, b: int, place: _Place) -> QueryError:
    """Why the clause at ``text[a:b]`` cannot be read: its value, or what follows it."""
    word, takes = _KEYWORDS["weight"]
    m = word.match(text, a, b)
    if m:  # a weight is one column: anything after it is part of a wrong value, not another clause
        return place.error(f"{_WORDS['weight']} takes {takes}; got {text[m.end():b]!r}." if m.end() < b else
                           f"{_WORDS['weight']} takes {takes}; got nothing.", m.end())
    for rx in _CLAUSES.values():
        m = rx.match(text, a, b)
        if m:  # a clause, then something else
            rest = m.end() + len(text[m.end():b]) - len(text[m.end():b].lstrip())
            return place.error(
                f"cannot read {text[rest:b]!r} after {text[a:m.end()]!r}: expected another clause "
                "(ORACLE LIMIT n, USING expr, RECALL TARGET p%, PRECISION TARGET p%, WEIGHTED BY col, "
                "ASSUMING MIN DENSITY b% PER n, ERROR WITHIN e, WITH PROBABILITY q%, METHOD name) or the "
                "end of the query.", rest)
    for key, (word, takes) in _KEYWORDS.items():
        m = word.match(text, a, b)
        if m:
            got = text[m.end():b]
            return place.error(f"{_WORDS[key]} takes {takes}; got {got!r}." if got else
                               f"{_WORDS[key]} takes {takes}; got nothing.", m.end())
    return place.error(f"cannot read the clause {text[a:b]!r}.", a)


def _fraction(m: re.Match, what: str, place: _Place) -> float:
    number, percent = float(m.group(1)), m.group(2)
    value = number / 100 if percent or number > 1 else number
    if not 0 < value < 1:
        raise place.error(f"{what} takes a percentage between 0 and 100 (exclusive); got "
                          f"{m.group(0)[m.start(1) - m.start():]!r}.", m.start(1))
    return value


def _sql_error(exc: Exception, core: str, place: _Place) -> QueryError:
    """sqlglot's complaint about the SQL part, at the token it stopped on."""
    import sqlglot

    if isinstance(exc, sqlglot.errors.ParseError) and exc.errors:
        e = exc.errors[0]
        lines = core.split("\n")
        line = min(max(int(e.get("line") or 1), 1), len(lines))
        col = int(e.get("col") or 1) - len(e.get("highlight") or "")
        at = sum(len(x) + 1 for x in lines[:line - 1]) + max(col, 0)
        what = str(e.get("description") or "")
        what = "an expression is incomplete" if what.startswith("Required keyword") else what.rstrip(".")
        return place.error(f"cannot read the SQL of the query: {what}.", at)
    # the tokenizer: an unclosed quote
    quote, at = None, 0
    for i, ch in enumerate(core):
        if quote is None and ch in "'\"":
            quote, at = ch, i
        elif ch == quote:
            quote = None
    if quote is not None:
        return place.error(f"cannot read the SQL of the query: the quote {quote} is never closed.", at)
    return place.error(f"cannot read the SQL of the query: {exc}.", 0)


def parse(workspace: Any, query: str) -> QueryPlan:
    """Read a query into a :class:`QueryPlan` (see the module documentation); a leading
    ``EXPLAIN`` is read past.

    Raises
    ------
    QueryError
        The query cannot be read, mixes clauses of a selection and an aggregate, calls an
        oracle where it cannot be answered, or names no oracle but has oracle clauses: the
        message says what was expected and shows the place with a caret.
    """
    import sqlglot
    from sqlglot import exp

    blanked = _without_explain(query)
    place = _Place(query, len(blanked) - len(blanked.lstrip()))
    text = blanked.strip().rstrip(";").strip()
    if not text:
        raise place.error("the query is empty.")
    core, clauses = _split_tail(text, place)
    pending = clauses.pop("", None)
    try:
        tree = sqlglot.parse_one(core, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise _sql_error(exc, core, place) from None
    try:
        expanded = _expand_frames(tree, workspace)
    except InvalidParameterError as exc:
        raise place.error(str(exc).rstrip("."), next(
            (t for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Anonymous)), None)) from None
    if expanded:
        core = tree.sql(dialect="duckdb")
    from_ = tree.args.get("from_") if isinstance(tree, exp.Select) else None
    joins = tree.args.get("joins") if isinstance(tree, exp.Select) else None
    source = (from_.this.name if not expanded and from_ is not None and isinstance(from_.this, exp.Table)
              and isinstance(from_.this.this, exp.Identifier) and not from_.this.args.get("db")
              and not joins and from_.this.name in workspace else None)
    names = {n.lower(): n for n in workspace.named_oracles()["name"].astype(str)}
    calls = [f for f in tree.find_all(exp.Anonymous) if str(f.name).lower() in names]
    if not calls:
        unknown = [f for f in tree.find_all(exp.Anonymous) if str(f.name).lower() != "frames"]
        if clauses and unknown:
            raise place.error(
                f"{unknown[0].name}(...) is no oracle of the workspace (its oracle names: "
                f"{', '.join(sorted(names.values())) or 'none'}; `assay oracle add NAME SPEC` names one).",
                unknown[0])
        if clauses:
            first = min(m.start() for m in clauses.values())
            raise place.error(
                "the query has oracle clauses (" + ", ".join(_WORDS.get(k, k) for k in sorted(clauses))
                + ") but calls no named "
                f"oracle; the workspace's oracle names are {sorted(names.values()) or 'none'} "
                "(`assay oracle add NAME SPEC` names one).", first)
        return QueryPlan(text=text, kind="exact" if isinstance(tree, exp.Query) else "write", core=core)
    if pending is not None:
        raise pending
    if not isinstance(tree, exp.Select):
        raise place.error("an oracle can be called only in a SELECT ... FROM ... query.", calls[0])
    group = None
    if tree.args.get("group") is not None:
        keys = tree.args["group"].expressions
        for key in keys:
            if any(str(f.name).lower() in names for f in key.find_all(exp.Anonymous)):
                raise place.error("an oracle cannot be a GROUP BY key: the groups are read from the records "
                                  "before the oracle is asked (group by a column).", key)
        if len(keys) != 1 or not isinstance(keys[0], exp.Column):
            raise place.error("GROUP BY with an oracle takes one column (one answer per value).", keys[-1])
        group = keys[0].name
    for part in ("order", "limit", "having", "distinct"):
        if tree.args.get(part):
            raise place.error(
                f"{part.upper()} is not supported in a query that calls an oracle (the records are "
                "the rows that pass WHERE; the answer is about all of them).", tree.args[part])
    if joins and not expanded and from_ is not None:
        first = from_.this.alias_or_name
        for j in joins:
            if any(str(f.name).lower() in names for f in j.find_all(exp.Anonymous)):
                raise place.error("an oracle cannot be a join condition: join on columns, and call the "
                                  "oracle in WHERE.", j)
    else:
        first = None

    def spec_of(call) -> str:
        return workspace.oracle_named(names[str(call.name).lower()])[0]

    where = tree.args.get("where")
    conjuncts = list(where.this.flatten()) if where is not None and isinstance(where.this, exp.And) else (
        [where.this] if where is not None else [])
    oracle_conds = [c for c in conjuncts if isinstance(c, exp.Anonymous) and str(c.name).lower() in names]
    cheap = [c for c in conjuncts if c not in oracle_conds]
    for c in cheap:
        if any(str(f.name).lower() in names for f in c.find_all(exp.Anonymous)):
            raise place.error(
                f"the oracle in {c.sql(dialect='duckdb')!r} must stand alone as an AND condition of WHERE "
                "(not under OR, NOT or a comparison): only then are the records it is asked about the "
                "rows that pass the other conditions.", c)
    aggs = [e for e in tree.expressions if isinstance(e.unalias(), exp.Avg | exp.Sum | exp.Count)]
    shown = [e for e in tree.expressions if e not in aggs]
    if group is not None:
        if not aggs:
            raise place.error("GROUP BY with an oracle is for an aggregate (AVG, SUM, COUNT).", tree.args["group"])
        for e in shown:
            if not (isinstance(e.unalias(), exp.Column) and e.unalias().name == group):
                raise place.error(f"with GROUP BY {group}, select {group} and one AVG, SUM or COUNT.", e)
    budget = None
    if "budget" in clauses:
        m = clauses["budget"]
        budget = int(m.group(1).replace(",", "").replace("_", ""))
        if budget < 1:
            raise place.error("ORACLE LIMIT takes a whole number of labels, at least 1; got 0.", m.start(1))
    delta = 1 - _fraction(clauses["probability"], "WITH PROBABILITY", place) if "probability" in clauses else 0.05
    proxy = clauses["using"].group(1).strip() if "using" in clauses else None
    method = clauses["method"].group(1).lower() if "method" in clauses else None
    if method is not None:
        from ._aggregate import METHODS as AGGREGATE_METHODS
        from ._select import METHODS as SELECT_METHODS

        known = sorted({"assay", *AGGREGATE_METHODS}) if aggs else sorted(SELECT_METHODS)
        if method not in known:
            raise place.error(f"METHOD {method}: not a method of {'aggregate' if aggs else 'select'}; "
                              f"expected one of {', '.join(known)}.", clauses["method"].start(1))
    if proxy is not None:
        try:
            proxy_tree = sqlglot.parse_one(proxy, read="duckdb")
        except sqlglot.errors.SqlglotError as exc:
            raise _sql_error(exc, proxy, _Place(query, place.base + clauses["using"].start(1))) from None
        if any(str(f.name).lower() in names for f in proxy_tree.find_all(exp.Anonymous)):
            raise place.error("USING is the cheap proxy: it cannot call an oracle.", clauses["using"].start(1))
    base = tree.copy()
    base.set("group", None)
    base.set("expressions", [exp.Star()])
    base.set("where", exp.Where(this=exp.and_(*cheap)) if cheap else None)
    if first is not None:  # a join: the records' id is the first table's
        base.set("expressions", [exp.column("id", table=first).as_("id"),
                                 exp.Star(except_=[exp.column("id")])])
    if proxy is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", proxy):  # an expression: computed
        base.set("expressions", [*base.expressions, proxy_tree.as_(_PROXY)])
    records_sql = base.sql(dialect="duckdb")

    if aggs:
        if len(aggs) != 1 or (group is None and len(tree.expressions) != 1):
            extra = aggs[1] if len(aggs) > 1 else next(e for e in tree.expressions if e not in aggs)
            raise place.error("an approximate aggregate query selects exactly one AVG, SUM or COUNT"
                              " (and, with GROUP BY, the group column).", extra)
        agg = aggs[0].unalias()
        stat = {exp.Avg: "mean", exp.Sum: "sum", exp.Count: "count"}[type(agg)]
        inner = agg.this
        oracle_call = inner if isinstance(inner, exp.Anonymous) and str(inner.name).lower() in names else None
        if inner is not None and oracle_call is None and any(
                str(f.name).lower() in names for f in inner.find_all(exp.Anonymous)):
            raise place.error(f"{agg.sql(dialect='duckdb')}: the oracle must be the whole argument.", inner)
        if len(oracle_conds) > 1:
            raise place.error("an aggregate takes at most one oracle predicate in WHERE.", oracle_conds[1])
        if stat == "count" and oracle_call is not None:
            raise place.error("COUNT(oracle(...)): write COUNT(*) with the oracle in WHERE.", oracle_call)
        if oracle_call is None and not oracle_conds:
            raise place.error(f"{agg.sql(dialect='duckdb')} calls no oracle.", agg)
        if stat != "count" and oracle_call is None:
            raise place.error(f"{stat.upper()} needs an oracle as its argument, e.g. AVG(people(frame)).", agg)
        for key in ("recall", "precision"):
            if key in clauses:
                raise place.error(f"{key.upper()} TARGET is for a selection, not an aggregate.",
                                  clauses[key].start())
        if "weight" in clauses:
            raise place.error("WEIGHTED BY is for a selection's recall or precision, not an aggregate.",
                              clauses["weight"].start())
        if "assume" in clauses:
            raise place.error("ASSUMING MIN DENSITY is for a selection's recall target, not an aggregate.",
                              clauses["assume"].start())
        err = clauses.get("error")
        if err is None and budget is None:
            raise place.error("an aggregate needs ERROR WITHIN e, ORACLE LIMIT n, or both.", len(text))
        main = oracle_call if oracle_call is not None else None
        pred = oracle_conds[0] if oracle_conds else None
        spec = spec_of(main) if main is not None else None
        rng = workspace.oracle_named(names[str(main.name).lower()])[1] if main is not None else None
        return QueryPlan(
            text=text, kind="aggregate", core=records_sql, stat=stat,
            oracle=None if main is None else str(main.name), spec=spec,
            where_oracle=None if pred is None else str(pred.name), where_spec=None if pred is None else spec_of(pred),
            proxy=proxy, error=None if err is None else float(err.group(1)), relative=bool(err and err.group(2)),
            delta=delta, budget=budget, method=method, value_range=rng, group=group, source=source, join_id=first)
    if len(oracle_conds) != 1:
        raise place.error(
            "a selection calls one oracle, as an AND condition of WHERE: SELECT * FROM t WHERE "
            "oracle(col) [AND cheap conditions] USING proxy RECALL TARGET 90%.",
            oracle_conds[1] if oracle_conds else calls[0])
    for e in tree.expressions:
        for f in e.find_all(exp.Anonymous):
            if f in calls:
                raise place.error("a selection's oracle goes in WHERE, not in the selected columns.", f)
    for key in ("error",):
        if key in clauses:
            raise place.error("ERROR WITHIN is for an aggregate (AVG, SUM, COUNT), not a selection.",
                              clauses[key].start())
    if "recall" not in clauses and "precision" not in clauses:
        raise place.error("a selection needs RECALL TARGET p%, PRECISION TARGET p% or both.", len(text))
    if proxy is None:
        raise place.error("a selection needs a proxy: USING column (cheap scores in [0, 1]).", len(text))
    if "recall" in clauses and "precision" in clauses:
        if method not in (None, "assay"):
            raise place.error(f"RECALL TARGET and PRECISION TARGET together (a joint target) run assay's own "
                              f"design; METHOD {method} cannot combine them.", clauses["method"].start())
        target = "joint"
        value: Any = (_fraction(clauses["recall"], "RECALL TARGET", place),
                      _fraction(clauses["precision"], "PRECISION TARGET", place))
    else:
        target = "recall" if "recall" in clauses else "precision"
        value = _fraction(clauses[target], f"{target.upper()} TARGET", place)
    weight = clauses["weight"].group(1) if "weight" in clauses else None
    if weight is not None and method not in (None, "assay"):
        raise place.error(f"WEIGHTED BY runs assay's own weighted design; METHOD {method} cannot measure "
                          "weights.", clauses["method"].start())
    assume = _assumption(clauses["assume"], target, method, clauses, place) if "assume" in clauses else None
    call = oracle_conds[0]
    return QueryPlan(text=text, kind="select", core=records_sql, oracle=str(call.name), spec=spec_of(call),
                     proxy=proxy, target=target, value=value, weight=weight, assume=assume, delta=delta,
                     budget=budget, method=method, source=source, join_id=first)


def _assumption(m: re.Match, target: str, method: str | None, clauses: dict[str, Any],
                place: _Place) -> tuple[float, int, float | None]:
    """``ASSUMING MIN DENSITY b% PER n [TAIL t%]`` read: (beta, window, tail or None)."""
    if target == "precision":
        raise place.error("ASSUMING MIN DENSITY is for a recall target (alone or with a precision "
                          "target), not a precision target alone.", m.start())
    if method not in (None, "assay"):
        raise place.error(f"ASSUMING MIN DENSITY runs assay's own assumption mode; METHOD {method} "
                          "cannot use it.", clauses["method"].start())
    beta = _fraction(m, "MIN DENSITY", place)
    window = int(m.group(3).replace("_", "").replace(",", ""))
    if window < 1:
        raise place.error(f"PER takes a whole number of records >= 1; got {m.group(3)!r}.", m.start(3))
    tail = None
    if m.group(4) is not None:
        number = float(m.group(4))
        tail = number / 100 if m.group(5) or number >= 1 else number
        if not 0 <= tail < 1:
            raise place.error(f"TAIL takes a percentage in [0, 100); got {m.group(0)[m.start(4) - m.start():]!r}.",
                              m.start(4))
    return beta, window, tail


def _column_name(text: Any, taken: set[str]) -> str:
    base = re.sub(r"\W+", "_", str(text)).strip("_").lower() or "none"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def frames_sql(workspace: Any, tables: list[str]) -> str:
    """SQL of the ``frames(...)`` table: one row per (stream, frame) that any of the
    observations ``tables`` has a box in, with ``id`` (0, 1, ... in stream, frame order),
    ``stream``, ``frame``, and per table its box count (a column named after the table) and
    one count per class (``<table>_<class>``, the class lower-cased with other characters
    than letters and digits as ``_``)."""
    from ..store._util import quote

    known = workspace.tables()
    kinds = dict(zip(known["name"].astype(str).str.lower(), known["kind"].astype(str), strict=True))
    if not tables:
        raise InvalidParameterError("frames(...) takes the names of one or more observations tables.")
    taken = {"id", "stream", "frame"}
    ctes, cols = [], []
    for i, t in enumerate(tables):
        if kinds.get(t.lower()) != "observations":
            obs = sorted(n for n, k in kinds.items() if k == "observations")
            raise InvalidParameterError(
                f"frames({t!r}): not an observations table of the workspace (its observations tables: "
                f"{', '.join(obs) or 'none'}).")
        classes = workspace.sql(f"SELECT DISTINCT cls FROM {quote(t)} WHERE cls IS NOT NULL ORDER BY cls")["cls"]
        total = _column_name(t, taken)
        per = [(c, _column_name(f"{t}_{c}", taken)) for c in classes.astype(str)]
        counts = ", ".join(["count(*) AS n"] + [
            f"count(*) FILTER (WHERE cls = '{c.replace(chr(39), chr(39) * 2)}') AS {quote(name)}" for c, name in per])
        ctes.append(f"c{i} AS (SELECT stream, frame, {counts} FROM {quote(t)} GROUP BY stream, frame)")
        cols += [f"coalesce(c{i}.n, 0) AS {quote(total)}"] + [
            f"coalesce(c{i}.{quote(name)}, 0) AS {quote(name)}" for _, name in per]
    keys = " UNION ".join(f"SELECT stream, frame FROM c{i}" for i in range(len(tables)))
    joins = " ".join(f"LEFT JOIN c{i} USING (stream, frame)" for i in range(len(tables)))
    return (f"WITH {', '.join(ctes)}, k AS ({keys}) SELECT (row_number() OVER (ORDER BY k.stream, k.frame) - 1) "
            f"AS id, k.stream, k.frame, {', '.join(cols)} FROM k {joins}")


def _expand_frames(tree: Any, workspace: Any) -> bool:
    """Replace every ``frames('t1', ...)`` in FROM by its subquery; whether there was one."""
    import sqlglot
    from sqlglot import exp

    found = False
    for table in list(tree.find_all(exp.Table)):
        fn = table.this
        if not (isinstance(fn, exp.Anonymous) and str(fn.name).lower() == "frames"):
            continue
        args = fn.expressions
        if not args or not all(isinstance(a, exp.Literal) and a.is_string for a in args):
            raise InvalidParameterError("frames(...) takes table names as quoted strings: frames('labels', 'tracker').")
        sub = sqlglot.parse_one(frames_sql(workspace, [a.this for a in args]), read="duckdb")
        for node in sub.walk():  # its offsets are of another text than the query's
            node.meta.pop("start", None)
        alias = table.alias or "frames"
        table.replace(exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier(alias))))
        found = True
    return found


# ---------------------------------------------------------------------- running


def explain(workspace: Any, query: str) -> pd.DataFrame:
    """How a query would run, without running it: one row per (what, value).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.store import Workspace
    >>> from assay.approx import explain
    >>> ws = Workspace()
    >>> ws.add("r", pd.DataFrame({"id": [1, 2], "score": [0.2, 0.9], "y": [0, 1]}), kind="records")
    >>> ws.add_oracle("truth", "column:y")
    >>> plan = explain(ws, "SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90%")
    >>> plan.set_index("what").loc[["kind", "method"], "value"].tolist()
    ['approximate selection', 'assay (guarantee: finite-sample)']
    """
    return _explained(workspace, parse(workspace, query))


def _explained(workspace: Any, plan: QueryPlan) -> pd.DataFrame:
    """The plan's rows, with the number of records and groups counted in DuckDB (no oracle)."""
    records = groups = None
    if plan.kind in ("select", "aggregate"):
        from ..store._util import quote

        group = f", count(DISTINCT {quote(plan.group)}) AS g" if plan.group else ""
        try:
            counts = workspace.sql(f"SELECT count(*) AS n{group} FROM ({plan.core})")
        except (WorkspaceError, InvalidParameterError):
            counts = None  # DuckDB says what is wrong when the query runs
        if counts is not None:
            records = int(counts["n"].iloc[0])
            groups = int(counts["g"].iloc[0]) if plan.group else None
    return pd.DataFrame(plan.describe(records, groups), columns=["what", "value"])


def sql(workspace: Any, query: str, *, seed: Any = 0, write: bool = False) -> SqlResult:
    """Answer a query over the workspace: exact SQL in DuckDB, or, when it calls a named
    oracle, an approximate selection or aggregate with its guarantee (see the module
    documentation for the clauses).

    Parameters
    ----------
    workspace : assay.Workspace
        Its tables are the query's tables; its named oracles are callable; it caches every
        oracle answer and records the query as a run.
    query : str
        The query. ``EXPLAIN query`` returns the plan as the table instead of running it.
    seed : int, default 0
        Makes an approximate query reproducible and resumable (as in
        :func:`~assay.approx.select`).
    write : bool, default False
        Allow the statements that change the workspace: ``CREATE [OR REPLACE] TABLE name AS
        SELECT ...`` (a new workspace table, ``records`` when it has an ``id`` column) and
        ``DROP TABLE [IF EXISTS] name``. Without it a query only reads.

    Returns
    -------
    SqlResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from assay.store import Workspace
    >>> from assay.approx import sql
    >>> rng = np.random.default_rng(0)
    >>> y = (rng.random(5000) < 0.1).astype(int)
    >>> ws = Workspace()
    >>> ws.add("r", pd.DataFrame({"id": np.arange(5000), "score": np.clip(0.5 * y + 0.5 * rng.random(5000), 0, 1),
    ...                           "y": y}), kind="records")
    >>> ws.add_oracle("truth", "column:y", value_range=(0, 1))
    >>> r = sql(ws, "SELECT AVG(truth(y)) FROM r ORACLE LIMIT 400 USING score WITH PROBABILITY 95%")
    >>> r.guarantee["kind"], r.guarantee["oracle_calls"] <= 400
    ('finite-sample', True)
    >>> bool(r.table["lower"].iloc[0] <= y.mean() <= r.table["upper"].iloc[0])
    True
    """
    plan = parse(workspace, query)
    if _EXPLAIN.match(query):
        return SqlResult(_explained(workspace, plan), plan)
    if plan.kind == "write":
        return _write(workspace, plan, query, allowed=write)
    if plan.kind == "exact":
        return SqlResult(workspace.sql(plan.core), plan)
    for name, spec in ((plan.oracle, plan.spec), (plan.where_oracle, plan.where_spec)):
        if isinstance(spec, str) and spec.startswith("review:"):
            raise InvalidParameterError(
                f"{name} = {spec} is a question for a person on the review page: ask the query there, "
                f"`assay review WORKSPACE --query \"{' '.join(query.split())}\"` (the page shows each batch "
                "of records and the answer when it is done).")
    return answer(workspace, plan, seed=seed)


def _write(workspace: Any, plan: QueryPlan, query: str, *, allowed: bool) -> SqlResult:
    """Run a statement that changes the workspace, through the workspace (its tables keep an
    identity and a revision): ``CREATE [OR REPLACE] TABLE name AS SELECT ...`` or ``DROP
    TABLE [IF EXISTS] name``, and only when ``allowed``."""
    import sqlglot
    from sqlglot import exp

    place = _Place(query, len(query) - len(query.lstrip()))
    tree = sqlglot.parse_one(plan.core, read="duckdb")
    what = " ".join(plan.core.split()[:2]).upper()
    if not allowed:
        raise place.error(f"{what} would change the workspace: a query only reads it, unless it is run "
                          "with write=True (`assay sql --write`).")
    table = tree.this if isinstance(tree, exp.Create) else None
    if isinstance(tree, exp.Drop):
        tables = tree.args.get("tables") or [tree.this]
        table = tables[0] if len(tables) == 1 else None
    creates = (isinstance(tree, exp.Create) and str(tree.kind).upper() == "TABLE"
               and isinstance(tree.expression, exp.Query) and isinstance(table, exp.Table))
    drops = isinstance(tree, exp.Drop) and str(tree.kind).upper() == "TABLE" and isinstance(table, exp.Table)
    if not (creates or drops):
        raise place.error(f"{what}: a query changes the workspace only by CREATE [OR REPLACE] TABLE name AS "
                          "SELECT ... or DROP TABLE [IF EXISTS] name (its other tables change through assay's "
                          "commands, which keep their identity and revision).")
    if table.args.get("db") or table.args.get("catalog"):
        raise place.error(f"{table.sql(dialect='duckdb')}: the workspace's bookkeeping (schema _assay) and "
                          "other schemas are not a query's to change; name a table of the workspace.", table)
    name = table.name
    if drops:
        if name not in workspace:
            if tree.args.get("exists"):
                return SqlResult(pd.DataFrame({"dropped": pd.Series([], dtype=object)}), plan)
            raise place.error(f"DROP TABLE {name}: no table of that name in the workspace.", table)
        workspace.delete(name)
        return SqlResult(pd.DataFrame({"dropped": [name]}), plan)
    if name in workspace and tree.args.get("exists"):
        return SqlResult(pd.DataFrame({"table": [name], "rows": [0], "kind": ["unchanged"]}), plan)
    if name in workspace and not tree.args.get("replace"):
        raise place.error(f"CREATE TABLE {name}: the workspace has a table of that name; CREATE OR REPLACE "
                          "TABLE replaces it.", table)
    rows = workspace.sql(tree.expression.sql(dialect="duckdb"))
    kind = "records" if "id" in rows.columns else "table"
    workspace.add(name, rows, kind=kind, replace=True)
    return SqlResult(pd.DataFrame({"table": [name], "rows": [len(rows)], "kind": [kind]}), plan)


def answer(workspace: Any, plan: QueryPlan, *, seed: Any = 0, oracles: dict[str, Any] | None = None,
           **options: Any) -> SqlResult:
    """Run an approximate query's plan (from :func:`parse`) with :func:`~assay.approx.select`
    or :func:`~assay.approx.aggregate`.

    Parameters
    ----------
    workspace : assay.Workspace
    plan : QueryPlan
        A selection or an aggregate.
    seed : int, default 0
    oracles : dict, optional
        Oracle objects to ask in place of specs, keyed by spec: the review page passes its
        :class:`~assay.review.PageOracle` for ``review:...``.
    **options
        Passed on to ``select`` / ``aggregate`` (``batch_size``, ``on_batch``).

    Returns
    -------
    SqlResult
    """
    from .aggregation import aggregate
    from .selection import select

    if plan.kind not in ("select", "aggregate"):
        raise InvalidParameterError(f"answer runs an approximate query's plan; this one is {plan.kind}.")
    oracles = oracles or {}
    oracle, where = oracles.get(plan.spec, plan.spec), oracles.get(plan.where_spec, plan.where_spec)
    try:
        records = workspace.sql(plan.core)
    except WorkspaceError as exc:
        if plan.join_id is None:
            raise
        raise InvalidParameterError(
            f"the records of a join are its rows, their id the id column of its first table "
            f"({plan.join_id}.id), which needs one: {exc}") from None
    if not len(records):
        raise InvalidParameterError(f"no record passes the query's conditions ({plan.core}): nothing to ask "
                                    "the oracle about.")
    if "id" not in records.columns:
        raise InvalidParameterError(
            "the records of an approximate query need an 'id' column (ids key the cached oracle "
            f"answers); the rows of {plan.core!r} have {', '.join(map(str, records.columns))}.")
    twice = records["id"].duplicated()
    if twice.any():
        raise InvalidParameterError(
            f"the records' ids must be unique (ids key the oracle's answers); {int(twice.sum()):,} rows of "
            f"{plan.core!r} repeat an id, e.g. {records['id'][twice].iloc[0]!r}"
            + (": a join that matches a record with several rows repeats it." if plan.join_id else "."))
    if plan.source is not None:
        # rows of one workspace table (filtered): they keep its identity, so answers are shared
        # with every other query over that table (`assay query -r TABLE`, other filters)
        info = workspace.table_info(plan.source)
        records.attrs["workspace_table"] = {k: info[k] for k in ("name", "uid", "revision", "rows")}
    else:
        records.attrs["name"] = f"sql:{plan.core}"
    proxy = None if plan.proxy is None else (_PROXY if _PROXY in records.columns else plan.proxy)
    if plan.kind == "select":
        # ORACLE LIMIT is a most: fewer records than that (after the cheap filter) cap it
        kw = {"budget": min(plan.budget or 1000, len(records))}
        if plan.weight is not None:
            kw["weight"] = plan.weight
        if plan.assume is not None:
            kw["assume"] = plan.min_density()
        r = select(records, proxy=proxy, oracle=oracle, target=plan.target, value=plan.value,
                   delta=plan.delta, method=plan.method or "assay", seed=seed, workspace=workspace, **kw,
                   **options)
        chosen = records.loc[records["id"].isin(r.ids)].drop(columns=[_PROXY], errors="ignore")
        table = chosen.reset_index(drop=True)
        target = _target_text(plan.target, plan.value) + (f" (weighted by {plan.weight})" if plan.weight else "")
    else:
        def run(part: pd.DataFrame, delta: float):
            return aggregate(part, oracle=oracle, proxy=proxy, stat=plan.stat, where=where,
                             error=plan.error, relative=plan.relative, delta=delta, budget=plan.budget,
                             method=plan.method or "assay", range=plan.value_range, seed=seed,
                             workspace=workspace, **options)

        if plan.group is None:
            r = run(records, plan.delta)
            table = pd.DataFrame({"estimate": [r.estimate], "lower": [r.lower], "upper": [r.upper],
                                  "certain_lower": [r.certain[0]], "certain_upper": [r.certain[1]]})
        else:
            values = records[plan.group].drop_duplicates().sort_values(na_position="last").tolist()
            if len(values) > MAX_GROUPS:
                raise InvalidParameterError(
                    f"GROUP BY {plan.group}: {len(values)} groups; at most {MAX_GROUPS} (each pays for its own "
                    "labels and takes a share of delta).")
            results = []
            for v in values:
                part = records.loc[records[plan.group].isna() if pd.isna(v) else (records[plan.group] == v)]
                part = part.reset_index(drop=True)
                part.attrs = dict(records.attrs)  # rows of the same records, under the same identity
                results.append(run(part, plan.delta / len(values)))
            table = pd.DataFrame({plan.group: values, "estimate": [x.estimate for x in results],
                                  "lower": [x.lower for x in results], "upper": [x.upper for x in results],
                                  "certain_lower": [x.certain[0] for x in results],
                                  "certain_upper": [x.certain[1] for x in results],
                                  "labels": [x.oracle_calls for x in results]})
            r = _Combined(results)
        target = (f"within +-{plan.error:g}{' (relative)' if plan.relative else ''}" if plan.error is not None
                  else f"an interval after {plan.budget:,} labels")
    guarantee = {
        "kind": r.guarantee.kind, "target": target, "delta": plan.delta, "method": r.method,
        "oracle_calls": int(r.oracle_calls), "labels_paid": int(r.labels_paid),
        "labels_reused": int(r.oracle_calls) - int(r.labels_paid), "run_id": r.run_id,
    }
    return SqlResult(table, plan, guarantee, r)
