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
key the cached answers). ``EXPLAIN`` before a query says how it would run without running it.
``frames('labels', 'tracker', ...)`` in ``FROM`` is a table of one row per (stream, frame)
of those observations tables, with an ``id``, each table's box count and its counts per class
(:func:`frames_sql`): frame-level questions need no Python, e.g. the mean number of labelled
people per frame with the detector's count as the proxy::

    SELECT AVG(people(labels)) FROM frames('labels', 'tracker') ERROR WITHIN 0.5 USING tracker

``GROUP BY col`` (an aggregate, one column with few values) gives one answer per value; δ is
split equally over the groups (Bonferroni), so all the intervals hold at once with probability
at least ``1 - δ``, and each group pays for its own labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..exceptions import InvalidParameterError

__all__ = ["QueryPlan", "SqlResult", "explain", "frames_sql", "parse", "sql"]

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
          "weight": "WEIGHTED BY"}
#: The column a USING expression is computed into.
_PROXY = "using_proxy"
#: Words that start a clause (so a USING expression ends where the next clause starts).
_STARTS = re.compile(r"\b(ORACLE\s+LIMIT|RECALL\s+TARGET|PRECISION\s+TARGET|WITH\s+PROBABILITY|"
                     r"AT\s+CONFIDENCE|ERROR\s+WITHIN|METHOD|USING|WEIGHTED\s+BY)\b", re.I)


@dataclass(frozen=True)
class QueryPlan:
    """How a query runs: what :func:`explain` prints and :func:`sql` executes."""

    text: str
    kind: str  # "exact", "select" or "aggregate"
    core: str  # the SQL DuckDB runs: the whole query (exact) or the cheap record filter
    oracle: str | None = None  # the oracle's name in the query
    spec: str | None = None  # what the name stands for
    where_oracle: str | None = None  # aggregate: an oracle predicate of WHERE
    where_spec: str | None = None
    stat: str | None = None  # aggregate: mean, sum or count
    proxy: str | None = None  # the USING expression
    target: str | None = None  # select: recall, precision or joint
    value: float | tuple[float, float] | None = None  # joint: (recall, precision)
    weight: str | None = None  # select: WEIGHTED BY column
    error: float | None = None
    relative: bool = False
    delta: float = 0.05
    budget: int | None = None
    method: str | None = None
    value_range: tuple[float, float] | None = None
    group: str | None = None  # aggregate: GROUP BY column
    source: str | None = None  # the one workspace table the records are rows of, if so

    def describe(self) -> list[tuple[str, str]]:
        """The plan as (what, value) rows, for ``EXPLAIN``."""
        if self.kind == "exact":
            return [("kind", "exact SQL, run in DuckDB"), ("sql", self.core)]
        rows = [("kind", "approximate selection" if self.kind == "select" else "approximate aggregate"),
                ("records", f"the rows of: {self.core}"),
                ("oracle", f"{self.oracle} = {self.spec}")]
        if self.where_oracle:
            rows.append(("oracle predicate", f"{self.where_oracle} = {self.where_spec}"))
        rows.append(("proxy", self.proxy or "none"))
        method = self.method or "assay"
        kind = _guarantee_kind(self.kind, method)
        rows.append(("method", f"{method} (guarantee: {kind})"))
        if self.kind == "select":
            rows.append(("target", f"{_target_text(self.target, self.value)} with probability >= "
                         f"{1 - self.delta:g}" + (" (delta split equally between the two: union bound)"
                                                  if self.target == "joint" else "")))
            if self.weight is not None:
                rows.append(("weight", f"recall and precision measured in {self.weight} (finite-sample "
                             "betting test on the bounded weighted terms)"))
            rows.append(("budget", f"at most {self.budget:,} distinct records labeled"
                         if self.budget else "1000 distinct records labeled (the default; ORACLE LIMIT n sets it)"))
            if self.target == "recall":
                rows.append(("labels implied", "leaving M records out of the answer, when U of the positives may "
                             "be missed, takes about M ln(1/delta) / U labels among those M: with a small budget "
                             "the answer keeps most records"))
        else:
            stat = {"mean": "AVG", "sum": "SUM", "count": "COUNT"}[self.stat or "mean"]
            if self.error is not None:
                rows.append(("target", f"{stat} within +-{self.error:g}{' (relative)' if self.relative else ''} "
                             f"with probability >= {1 - self.delta:g}"
                             + (f", or stop at {self.budget:,} labels" if self.budget else "")))
            else:
                rows.append(("target", f"{stat} with an interval at probability >= {1 - self.delta:g} after "
                             f"{self.budget:,} labels"))
            if self.value_range is not None:
                lo, hi = self.value_range
                rows.append(("oracle range", f"[{lo:g}, {hi:g}]"))
                if self.error is not None and not self.relative and self.stat == "mean":
                    import math

                    worst = math.ceil((hi - lo) ** 2 * math.log(2 / self.delta) / (2 * self.error ** 2))
                    rows.append(("labels implied", f"at most {worst:,} (Hoeffding's bound for any data in the "
                                 "range; the default adapts to the data's spread and its proxy, and usually "
                                 "stops far sooner)"))
            if self.group is not None:
                rows.append(("groups", f"one answer per value of {self.group}; delta split equally over the "
                             "groups (Bonferroni), so every interval holds at once with probability >= "
                             f"{1 - self.delta:g}"))
        return rows


def _target_text(target: str | None, value: Any) -> str:
    if target == "joint":
        return f"recall >= {value[0]:g} and precision >= {value[1]:g}"
    return f"{target} >= {value:g}"


def _pointed(text: str, fragment: str, message: str) -> InvalidParameterError:
    """An error whose message ends with the line and column of ``fragment`` in ``text`` and
    a caret under it."""
    at = max(0, text.upper().find(fragment.upper()))
    line = text.count("\n", 0, at) + 1
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    col = at - start + 1
    shown = text[start:end if end >= 0 else len(text)]
    return InvalidParameterError(f"{message} (line {line}, column {col})\n{shown}\n{' ' * (col - 1)}^")


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
        if self.plan.kind == "aggregate" and self.plan.group is not None:
            out["groups"] = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                             for row in self.table.to_dict(orient="records")]
        elif self.plan.kind == "aggregate":
            r = self.result
            out.update(estimate=float(r.estimate), lower=float(r.lower), upper=float(r.upper))
        elif self.plan.kind == "select":
            out.update(ids=[v.item() if hasattr(v, "item") else v for v in self.result.ids],
                       oracle_calls=int(self.result.oracle_calls))
        else:
            out["rows"] = self.table.to_dict(orient="records")
        return out


# ---------------------------------------------------------------------- parsing


def _clause_starts(text: str) -> list[int]:
    """Positions of the words that can start a clause, outside quotes and parentheses
    (``USING`` followed by ``(`` is SQL's ``JOIN ... USING (col)``)."""
    out, depth, quote = [], 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = _STARTS.match(text, i)
            if m and not (m.group(1).upper() == "USING" and text[m.end():].lstrip().startswith("(")):
                out.append(i)
    return out


def _split_tail(text: str) -> tuple[str, dict[str, Any]]:
    """The SQL and the clauses after it: the tail starts at the first clause word from which
    the rest reads as clauses (a column named ``method`` in the SQL is not a clause). When no
    such tail exists but the text is not SQL either, the first clause's error is raised."""
    import sqlglot

    starts = [p for p in _clause_starts(text) if p > 0]
    first_error = None
    for p in starts:
        try:
            return text[:p].rstrip(), _clauses(text[p:].strip(), text)
        except InvalidParameterError as exc:
            first_error = first_error or exc
    if first_error is not None:
        try:
            sqlglot.parse_one(text, read="duckdb")
        except sqlglot.errors.ParseError:
            raise first_error from None
    return text.rstrip(), {}


def _clauses(tail: str, text: str = "") -> dict[str, Any]:
    """The clauses of the tail, each at most once; anything left over is an error (pointed at
    in ``text``, the whole query, when given)."""
    found: dict[str, Any] = {}
    starts = _clause_starts(tail)
    pieces = [tail[a:b].strip() for a, b in zip(starts, [*starts[1:], len(tail)], strict=True)]
    if starts and starts[0] != 0:
        raise InvalidParameterError(f"cannot read {tail[:starts[0]]!r} before the query's clauses.")
    for piece in pieces:
        if re.match(r"WEIGHTED\s+BY\b", piece, re.I) and not _CLAUSES["weight"].fullmatch(piece):
            raise _pointed(text or tail, piece, f"WEIGHTED BY takes one column name (the weight of each record); "
                           f"got {piece!r}")
        for key, rx in _CLAUSES.items():
            m = rx.fullmatch(piece)
            if m:
                if key in found:
                    raise InvalidParameterError(f"the clause {piece.split()[0].upper()} appears twice.")
                found[key] = m
                break
        else:
            raise InvalidParameterError(
                f"cannot read the clause {piece!r}: expected ORACLE LIMIT n, USING expr, RECALL TARGET p%, "
                "PRECISION TARGET p%, WEIGHTED BY col, ERROR WITHIN e [RELATIVE], WITH PROBABILITY q% "
                "(or AT CONFIDENCE q%) or METHOD name.")
    return found


def _fraction(m: re.Match, what: str) -> float:
    number, percent = float(m.group(1)), m.group(2)
    value = number / 100 if percent or number > 1 else number
    if not 0 < value < 1:
        raise InvalidParameterError(f"{what} must be between 0% and 100% (exclusive); got {m.group(0)!r}.")
    return value


def parse(workspace: Any, query: str) -> QueryPlan:
    """Read a query into a :class:`QueryPlan` (see the module documentation).

    Raises
    ------
    InvalidParameterError
        The query cannot be read, mixes clauses of a selection and an aggregate, calls an
        oracle where it cannot be answered, or names no oracle but has oracle clauses.
    """
    import sqlglot
    from sqlglot import exp

    text = query.strip().rstrip(";").strip()
    if not text:
        raise InvalidParameterError("the query is empty.")
    core, clauses = _split_tail(text)
    try:
        tree = sqlglot.parse_one(core, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise InvalidParameterError(f"cannot read the SQL of the query: {exc}") from None
    expanded = _expand_frames(tree, workspace)
    if expanded:
        core = tree.sql(dialect="duckdb")
    from_ = tree.args.get("from_") if isinstance(tree, exp.Select) else None
    source = (from_.this.name if not expanded and from_ is not None and isinstance(from_.this, exp.Table)
              and isinstance(from_.this.this, exp.Identifier) and not from_.this.args.get("db")
              and not tree.args.get("joins") and from_.this.name in workspace else None)
    names = {n.lower(): n for n in workspace.named_oracles()["name"].astype(str)}
    calls = [f for f in tree.find_all(exp.Anonymous) if str(f.name).lower() in names]
    if not calls:
        if clauses:
            raise InvalidParameterError(
                "the query has oracle clauses (" + ", ".join(_WORDS[k] for k in sorted(clauses))
                + ") but calls no named "
                f"oracle; the workspace's oracle names are {sorted(names.values()) or 'none'} "
                "(`assay oracle add NAME SPEC` names one).")
        return QueryPlan(text=text, kind="exact", core=core)
    if not isinstance(tree, exp.Select):
        raise InvalidParameterError("an oracle can be called only in a SELECT ... FROM ... query.")
    group = None
    if tree.args.get("group") is not None:
        keys = tree.args["group"].expressions
        if len(keys) != 1 or not isinstance(keys[0], exp.Column):
            raise InvalidParameterError("GROUP BY with an oracle takes one column (one answer per value).")
        group = keys[0].name
    for part in ("order", "limit", "having", "joins"):
        if tree.args.get(part):
            raise InvalidParameterError(
                f"{part.upper()} is not supported in a query that calls an oracle (the records are "
                "the rows of one table, filtered by WHERE).")

    def spec_of(call) -> str:
        return workspace.oracle_named(names[str(call.name).lower()])[0]

    where = tree.args.get("where")
    conjuncts = list(where.this.flatten()) if where is not None and isinstance(where.this, exp.And) else (
        [where.this] if where is not None else [])
    oracle_conds = [c for c in conjuncts if isinstance(c, exp.Anonymous) and str(c.name).lower() in names]
    cheap = [c for c in conjuncts if c not in oracle_conds]
    for c in cheap:
        if any(str(f.name).lower() in names for f in c.find_all(exp.Anonymous)):
            raise InvalidParameterError(
                f"the oracle in {c.sql(dialect='duckdb')!r} must stand alone as an AND condition of WHERE "
                "(not under OR, NOT or a comparison): only then are the records it is asked about the "
                "rows that pass the other conditions.")
    aggs = [e for e in tree.expressions if isinstance(e.unalias(), exp.Avg | exp.Sum | exp.Count)]
    shown = [e for e in tree.expressions if e not in aggs]
    if group is not None:
        if not aggs:
            raise InvalidParameterError("GROUP BY with an oracle is for an aggregate (AVG, SUM, COUNT).")
        if any(not (isinstance(e.unalias(), exp.Column) and e.unalias().name == group) for e in shown):
            raise InvalidParameterError(f"with GROUP BY {group}, select {group} and one AVG, SUM or COUNT.")
    budget = int(clauses["budget"].group(1).replace(",", "").replace("_", "")) if "budget" in clauses else None
    delta = 1 - _fraction(clauses["probability"], "WITH PROBABILITY") if "probability" in clauses else 0.05
    proxy = clauses["using"].group(1).strip() if "using" in clauses else None
    method = clauses["method"].group(1).lower() if "method" in clauses else None
    base = tree.copy()
    base.set("group", None)
    base.set("expressions", [exp.Star()])
    base.set("where", exp.Where(this=exp.and_(*cheap)) if cheap else None)
    if proxy is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", proxy):  # an expression: computed
        base.set("expressions", [exp.Star(), sqlglot.parse_one(proxy, read="duckdb").as_(_PROXY)])
    records_sql = base.sql(dialect="duckdb")

    if aggs:
        if len(aggs) != 1 or (group is None and len(tree.expressions) != 1):
            raise InvalidParameterError("an approximate aggregate query selects exactly one AVG, SUM or COUNT"
                                        " (and, with GROUP BY, the group column).")
        agg = aggs[0].unalias()
        stat = {exp.Avg: "mean", exp.Sum: "sum", exp.Count: "count"}[type(agg)]
        inner = agg.this
        oracle_call = inner if isinstance(inner, exp.Anonymous) and str(inner.name).lower() in names else None
        if inner is not None and oracle_call is None and any(
                str(f.name).lower() in names for f in inner.find_all(exp.Anonymous)):
            raise InvalidParameterError(f"{agg.sql(dialect='duckdb')}: the oracle must be the whole argument.")
        if len(oracle_conds) > 1:
            raise InvalidParameterError("an aggregate takes at most one oracle predicate in WHERE.")
        if stat == "count" and oracle_call is not None:
            raise InvalidParameterError("COUNT(oracle(...)): write COUNT(*) with the oracle in WHERE.")
        if oracle_call is None and not oracle_conds:
            raise InvalidParameterError(f"{agg.sql(dialect='duckdb')} calls no oracle.")
        if stat != "count" and oracle_call is None:
            raise InvalidParameterError(f"{stat.upper()} needs an oracle as its argument, e.g. AVG(people(frame)).")
        for key in ("recall", "precision"):
            if key in clauses:
                raise InvalidParameterError(f"{key.upper()} TARGET is for a selection, not an aggregate.")
        if "weight" in clauses:
            raise _pointed(text, clauses["weight"].group(0),
                           "WEIGHTED BY is for a selection's recall or precision, not an aggregate")
        err = clauses.get("error")
        if err is None and budget is None:
            raise InvalidParameterError("an aggregate needs ERROR WITHIN e, ORACLE LIMIT n, or both.")
        main = oracle_call if oracle_call is not None else None
        pred = oracle_conds[0] if oracle_conds else None
        spec = spec_of(main) if main is not None else None
        rng = workspace.oracle_named(names[str(main.name).lower()])[1] if main is not None else None
        return QueryPlan(
            text=text, kind="aggregate", core=records_sql, stat=stat,
            oracle=None if main is None else str(main.name), spec=spec,
            where_oracle=None if pred is None else str(pred.name), where_spec=None if pred is None else spec_of(pred),
            proxy=proxy, error=None if err is None else float(err.group(1)), relative=bool(err and err.group(2)),
            delta=delta, budget=budget, method=method, value_range=rng, group=group, source=source)
    if len(oracle_conds) != 1:
        raise InvalidParameterError(
            "a selection calls one oracle, as an AND condition of WHERE: SELECT * FROM t WHERE "
            "oracle(col) [AND cheap conditions] USING proxy RECALL TARGET 90%.")
    if any(f in calls for e in tree.expressions for f in e.find_all(exp.Anonymous)):
        raise InvalidParameterError("a selection's oracle goes in WHERE, not in the selected columns.")
    for key in ("error",):
        if key in clauses:
            raise InvalidParameterError("ERROR WITHIN is for an aggregate (AVG, SUM, COUNT), not a selection.")
    if "recall" not in clauses and "precision" not in clauses:
        raise InvalidParameterError("a selection needs RECALL TARGET p%, PRECISION TARGET p% or both.")
    if proxy is None:
        raise InvalidParameterError("a selection needs a proxy: USING column (cheap scores in [0, 1]).")
    if "recall" in clauses and "precision" in clauses:
        if method not in (None, "assay"):
            raise _pointed(text, clauses["method"].group(0),
                           f"RECALL TARGET and PRECISION TARGET together (a joint target) run assay's own "
                           f"design; METHOD {method} cannot combine them")
        target = "joint"
        value: Any = (_fraction(clauses["recall"], "RECALL TARGET"),
                      _fraction(clauses["precision"], "PRECISION TARGET"))
    else:
        target = "recall" if "recall" in clauses else "precision"
        value = _fraction(clauses[target], f"{target.upper()} TARGET")
    weight = clauses["weight"].group(1) if "weight" in clauses else None
    if weight is not None and method not in (None, "assay"):
        raise _pointed(text, clauses["method"].group(0),
                       f"WEIGHTED BY runs assay's own weighted design; METHOD {method} cannot measure weights")
    call = oracle_conds[0]
    return QueryPlan(text=text, kind="select", core=records_sql, oracle=str(call.name), spec=spec_of(call),
                     proxy=proxy, target=target, value=value, weight=weight, delta=delta, budget=budget,
                     method=method, source=source)


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
    text = re.sub(r"^\s*EXPLAIN\s+", "", query, flags=re.I)
    return pd.DataFrame(parse(workspace, text).describe(), columns=["what", "value"])


def sql(workspace: Any, query: str, *, seed: Any = 0) -> SqlResult:
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
    from .aggregation import aggregate
    from .selection import select

    if re.match(r"^\s*EXPLAIN\s+", query, flags=re.I):
        plan = parse(workspace, re.sub(r"^\s*EXPLAIN\s+", "", query, flags=re.I))
        return SqlResult(pd.DataFrame(plan.describe(), columns=["what", "value"]), plan)
    plan = parse(workspace, query)
    if plan.kind == "exact":
        return SqlResult(workspace.sql(plan.core), plan)
    for name, spec in ((plan.oracle, plan.spec), (plan.where_oracle, plan.where_spec)):
        if isinstance(spec, str) and spec.startswith("review:"):
            raise InvalidParameterError(
                f"{name} = {spec} is a question for a person on the review page: ask it from there "
                f"(`assay review WORKSPACE --query \"aggregate ... -o {name}\"`); assay sql cannot wait for "
                "the page yet.")
    records = workspace.sql(plan.core)
    if not len(records):
        raise InvalidParameterError(f"no record passes the query's conditions ({plan.core}): nothing to ask "
                                    "the oracle about.")
    if "id" not in records.columns:
        raise InvalidParameterError(
            "the records of an approximate query need an 'id' column (ids key the cached oracle "
            f"answers); the rows of {plan.core!r} have {', '.join(map(str, records.columns))}.")
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
        r = select(records, proxy=proxy, oracle=plan.spec, target=plan.target, value=plan.value,
                   delta=plan.delta, method=plan.method or "assay", seed=seed, workspace=workspace, **kw)
        chosen = records.loc[records["id"].isin(r.ids)].drop(columns=[_PROXY], errors="ignore")
        table = chosen.reset_index(drop=True)
        target = _target_text(plan.target, plan.value) + (f" (weighted by {plan.weight})" if plan.weight else "")
    else:
        def run(part: pd.DataFrame, delta: float):
            return aggregate(part, oracle=plan.spec, proxy=proxy, stat=plan.stat, where=plan.where_spec,
                             error=plan.error, relative=plan.relative, delta=delta, budget=plan.budget,
                             method=plan.method or "assay", range=plan.value_range, seed=seed,
                             workspace=workspace)

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
