"""The query language: exact SQL passes through to DuckDB; a query calling a named oracle is
the same select / aggregate call as the Python API (same answer, same guarantee), with cheap
WHERE conditions applied before the oracle sees any record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assay
from assay.approx import MinDensity, aggregate, explain, select, sql
from assay.cli import cli
from assay.exceptions import InvalidParameterError, QueryError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws():
    rng = np.random.default_rng(0)
    n = 6000
    y = (rng.random(n) < 0.15).astype(int)
    w = assay.Workspace()
    w.add("r", pd.DataFrame({
        "id": np.arange(n), "y": y, "count": 4 * y + rng.integers(0, 3, n),
        "score": np.clip(0.6 * y + 0.4 * rng.random(n), 0, 1), "part": np.where(np.arange(n) % 3 == 0, "a", "b"),
    }), kind="records")
    w.add_oracle("truth", "column:y")
    w.add_oracle("people", "column:count", value_range=(0, 10))
    return w


def test_exact_sql_runs_in_duckdb(ws):
    r = sql(ws, "SELECT part, count(*) AS n FROM r GROUP BY part ORDER BY part")
    assert r.plan.kind == "exact" and not r.guarantee
    assert r.table["n"].tolist() == [2000, 4000]


def test_selection_is_the_select_call(ws):
    q = ("SELECT * FROM r WHERE truth(y) ORACLE LIMIT 800 USING score "
         "RECALL TARGET 90% WITH PROBABILITY 90%")
    got = sql(ws, q, seed=3)
    records = ws.sql("SELECT * FROM r")
    want = select(records, proxy="score", oracle="column:y", target="recall", value=0.9, delta=0.1,
                  budget=800, seed=3)
    assert np.array_equal(np.sort(got.result.ids), np.sort(want.ids))
    assert got.guarantee["kind"] == "finite-sample" and got.guarantee["delta"] == pytest.approx(0.1)
    assert set(got.table["id"]) == set(want.ids) and "score" in got.table.columns
    # a rerun pays for nothing
    again = sql(ws, q, seed=3)
    assert again.guarantee["labels_paid"] == 0 and again.guarantee["labels_reused"] == got.guarantee["oracle_calls"]


def test_cheap_conditions_run_before_the_oracle(ws):
    got = sql(ws, "SELECT AVG(people(count)) FROM r WHERE part = 'a' ORACLE LIMIT 300 USING score", seed=1)
    asked = ws.labels(ws.oracles()["oracle"].iloc[0])["id"].astype(int)
    assert len(asked) == got.guarantee["oracle_calls"] > 0
    assert (asked % 3 == 0).all()  # only records of part 'a' were ever asked about
    truth = ws.sql("SELECT avg(count) AS m FROM r WHERE part = 'a'")["m"].iloc[0]
    want = aggregate(ws.sql("SELECT * FROM r WHERE part = 'a'"), oracle="column:count", proxy="score",
                     budget=300, range=(0, 10), seed=1)
    assert got.result.estimate == pytest.approx(want.estimate)
    assert got.table["lower"].iloc[0] <= truth <= got.table["upper"].iloc[0]


def test_count_with_an_oracle_predicate_and_an_expression_proxy(ws):
    r = sql(ws, "SELECT COUNT(*) FROM r WHERE truth(y) ORACLE LIMIT 400 USING 1 - (1 - score) AT CONFIDENCE 95%")
    assert r.plan.stat == "count" and r.plan.where_spec == "column:y"
    positives = int(ws.sql("SELECT count(*) AS s FROM r WHERE y = 1")["s"].iloc[0])
    assert r.table["lower"].iloc[0] <= positives <= r.table["upper"].iloc[0]


def test_explain_says_how_without_asking(ws):
    plan = explain(ws, "EXPLAIN SELECT * FROM r WHERE truth(y) AND part = 'b' USING score PRECISION TARGET 0.8 "
                       "METHOD supg")
    rows = dict(zip(plan["what"], plan["value"], strict=True))
    assert rows["method"] == "supg (guarantee: asymptotic)"
    assert "WHERE part = 'b'" in rows["records"] and rows["oracle"] == "truth = column:y"
    assert ws.oracles().empty  # nothing was asked
    assert sql(ws, "explain select avg(people(count)) from r error within 0.1 relative").plan.relative


#: Malformed queries: (query, the reason said, line, column of the caret). Each reason is
#: asserted whole, and the caret's place exactly.
MALFORMED = [
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% METHOD nosuch',
     'METHOD nosuch: not a method of select; expected one of assay, assay-pilot, joint, supg, supg++, uniform.',
     1, 69),
    ('SELECT AVG(people(count)) FROM r ORACLE LIMIT 5 METHOD supg',
     'METHOD supg: not a method of aggregate; expected one of abae, assay, betting, blazeit, blazeit++, clt, ppi, '
     'uniform.', 1, 56),
    ('SELECT AVG(people(count)) FROM r ORACLE LIMIT -1',
     "ORACLE LIMIT takes a whole number of labels (ORACLE LIMIT 1000); got '-1'.", 1, 47),
    ('SELECT * FROM r WHERE nosuch(y) USING score RECALL TARGET 90%',
     'nosuch(...) is no oracle of the workspace (its oracle names: people, truth; `assay oracle add NAME SPEC` names one).', 1, 23),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 150%',
     "RECALL TARGET takes a percentage between 0 and 100 (exclusive); got '150%'.", 1, 58),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 0%',
     "RECALL TARGET takes a percentage between 0 and 100 (exclusive); got '0%'.", 1, 58),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET ninety',
     "RECALL TARGET takes a percentage between 0 and 100 (RECALL TARGET 90%); got 'ninety'.", 1, 58),
    ('SELECT * FROM r WHERE truth(y) RECALL TARGET 90%',
     'a selection needs a proxy: USING column (cheap scores in [0, 1]).', 1, 49),
    ('SELECT * FROM r WHERE truth(y) USING score',
     'a selection needs RECALL TARGET p%, PRECISION TARGET p% or both.', 1, 43),
    # both targets are a joint target, which only assay's own design runs
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% PRECISION TARGET 90% METHOD supg',
     "RECALL TARGET and PRECISION TARGET together (a joint target) run assay's own design; METHOD supg cannot "
     'combine them.', 1, 83),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% WEIGHTED BY secs * 2',
     "WEIGHTED BY takes one column name, the weight of each record (WEIGHTED BY secs); got 'secs * 2'.", 1, 74),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% WEIGHTED BY',
     'WEIGHTED BY takes one column name, the weight of each record (WEIGHTED BY secs); got nothing.', 1, 73),
    ('SELECT AVG(people(count)) FROM r ORACLE LIMIT 100\nWEIGHTED BY count',
     "WEIGHTED BY is for a selection's recall or precision, not an aggregate.", 2, 1),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% WEIGHTED BY count METHOD uniform',
     "WEIGHTED BY runs assay's own weighted design; METHOD uniform cannot measure weights.", 1, 80),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% RECALL TARGET 80%',
     'the clause RECALL TARGET appears twice.', 1, 62),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% WITH PROBABILITY 100%',
     "WITH PROBABILITY takes a percentage between 0 and 100 (exclusive); got '100%'.", 1, 79),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ORACLE LIMT 5',
     "cannot read 'ORACLE LIMT 5' after 'RECALL TARGET 90%': expected another clause (ORACLE LIMIT n, USING expr, RECALL TARGET p%, PRECISION TARGET p%, WEIGHTED BY col, ASSUMING MIN DENSITY b% PER n, ERROR WITHIN e, WITH PROBABILITY q%, METHOD name) or the end of the query.", 1, 62),
    ('SELECT * FROM r WHERE truth(y) USING score PRECISION TARGET 90% ASSUMING MIN DENSITY 1% PER 150',
     "ASSUMING MIN DENSITY is for a recall target (alone or with a precision target), not a precision target alone.", 1, 65),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ASSUMING MIN DENSITY 1% PER 150 METHOD supg',
     "ASSUMING MIN DENSITY runs assay's own assumption mode; METHOD supg cannot use it.", 1, 94),
    ('SELECT AVG(people(count)) FROM r ORACLE LIMIT 100 ASSUMING MIN DENSITY 1% PER 150',
     "ASSUMING MIN DENSITY is for a selection's recall target, not an aggregate.", 1, 51),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ASSUMING MIN DENSITY 1%',
     "ASSUMING MIN DENSITY takes a density, PER and a window of records, then TAIL t% if wanted (ASSUMING MIN DENSITY 1% PER 150); got '1%'.", 1, 83),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ASSUMING MIN DENSITY 0% PER 150',
     "MIN DENSITY takes a percentage between 0 and 100 (exclusive); got '0% PER 150'.", 1, 83),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ASSUMING MIN DENSITY 1% PER 0',
     "PER takes a whole number of records >= 1; got '0'.", 1, 90),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ASSUMING MIN DENSITY 1% PER 150 TAIL 100%',
     "TAIL takes a percentage in [0, 100); got '100%'.", 1, 99),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ORACLE LIMIT 0',
     'ORACLE LIMIT takes a whole number of labels, at least 1; got 0.', 1, 75),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ORACLE LIMIT many',
     "ORACLE LIMIT takes a whole number of labels (ORACLE LIMIT 1000); got 'many'.", 1, 75),
    ('SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ERROR WITHIN 0.1',
     'ERROR WITHIN is for an aggregate (AVG, SUM, COUNT), not a selection.', 1, 62),
    ('SELECT * FROM r WHERE truth(y) OR score > 0.5 USING score RECALL TARGET 90%',
     "the oracle in 'TRUTH(y) OR score > 0.5' must stand alone as an AND condition of WHERE (not under OR, NOT or a comparison): only then are the records it is asked about the rows that pass the other conditions.", 1, 23),
    ('SELECT * FROM r WHERE NOT truth(y) USING score RECALL TARGET 90%',
     "the oracle in 'NOT TRUTH(y)' must stand alone as an AND condition of WHERE (not under OR, NOT or a comparison): only then are the records it is asked about the rows that pass the other conditions.", 1, 27),
    ('SELECT truth(y) FROM r WHERE truth(y) USING score RECALL TARGET 90%',
     "a selection's oracle goes in WHERE, not in the selected columns.", 1, 8),
    ('SELECT * FROM r WHERE truth(y) AND truth(count) USING score RECALL TARGET 90%',
     'a selection calls one oracle, as an AND condition of WHERE: SELECT * FROM t WHERE oracle(col) [AND cheap conditions] USING proxy RECALL TARGET 90%.', 1, 36),
    ('SELECT * FROM r WHERE truth(y) USING truth(score) RECALL TARGET 90%',
     'USING is the cheap proxy: it cannot call an oracle.', 1, 38),
    ('SELECT * FROM r WHERE truth(y) ORDER BY score USING score RECALL TARGET 90%',
     'ORDER is not supported in a query that calls an oracle (the records are the rows that pass WHERE; the answer is about all of them).', 1, 41),
    ('SELECT AVG(people(count)) FROM r USING score',
     'an aggregate needs ERROR WITHIN e, ORACLE LIMIT n, or both.', 1, 45),
    ('SELECT AVG(people(count)) FROM r ERROR WITHIN 1 RECALL TARGET 90%',
     'RECALL TARGET is for a selection, not an aggregate.', 1, 49),
    ('SELECT AVG(people(count)) FROM r ERROR WITHIN ten',
     "ERROR WITHIN takes a number, then RELATIVE if it is relative (ERROR WITHIN 0.1); got 'ten'.", 1, 47),
    ('SELECT part, AVG(people(count)) FROM r GROUP BY people(count) ORACLE LIMIT 100',
     'an oracle cannot be a GROUP BY key: the groups are read from the records before the oracle is asked (group by a column).', 1, 49),
    ('SELECT AVG(people(count)) FROM r GROUP BY part, id ORACLE LIMIT 100',
     'GROUP BY with an oracle takes one column (one answer per value).', 1, 49),
    ('SELECT id, AVG(people(count)) FROM r GROUP BY part ORACLE LIMIT 100',
     'with GROUP BY part, select part and one AVG, SUM or COUNT.', 1, 8),
    ('SELECT AVG(people(count) + 1) FROM r ORACLE LIMIT 100',
     'AVG(PEOPLE(count) + 1): the oracle must be the whole argument.', 1, 12),
    ('SELECT AVG(people(count)), SUM(people(count)) FROM r ORACLE LIMIT 100',
     'an approximate aggregate query selects exactly one AVG, SUM or COUNT (and, with GROUP BY, the group column).', 1, 28),
    ('SELECT COUNT(people(count)) FROM r ORACLE LIMIT 100',
     'COUNT(oracle(...)): write COUNT(*) with the oracle in WHERE.', 1, 14),
    ('SELECT AVG(count) FROM r ORACLE LIMIT 100',
     "the query has oracle clauses (ORACLE LIMIT) but calls no named oracle; the workspace's oracle names are ['people', 'truth'] (`assay oracle add NAME SPEC` names one).", 1, 26),
    ('SELECT * FROM r ORACLE LIMIT 100',
     "the query has oracle clauses (ORACLE LIMIT) but calls no named oracle; the workspace's oracle names are ['people', 'truth'] (`assay oracle add NAME SPEC` names one).", 1, 17),
    ('SELECT * FROM r JOIN r AS s ON truth(s.y) WHERE truth(r.y) USING score RECALL TARGET 90%',
     'an oracle cannot be a join condition: join on columns, and call the oracle in WHERE.', 1, 22),
    ('SELEC * FROM r',
     'cannot read the SQL of the query: an expression is incomplete.', 1, 9),
    ("SELECT * FROM r WHERE x = 'a",
     "cannot read the SQL of the query: the quote ' is never closed.", 1, 27),
    ('SELECT * FROM r\nWHERE truth(y)\nUSING score\nRECALL TARGET 90%\nMETHOD',
     "METHOD takes a method's name (METHOD supg); got nothing.", 5, 7),
    ('DROP TABLE r',
     'DROP TABLE would change the workspace: a query only reads it, unless it is run with write=True (`assay sql --write`).', 1, 1),
    ('',
     'the query is empty.', 1, 1),
]


@pytest.mark.parametrize("query, reason, line, column", MALFORMED)
def test_malformed_queries_say_what_and_where(ws, query, reason, line, column):
    with pytest.raises(QueryError) as info:
        sql(ws, query)
    err = info.value
    assert (err.reason, err.line, err.column) == (reason, line, column)
    # the message: the reason, the place, the query's line and a caret under the column
    shown = str(err).split("\n")
    assert shown[0] == reason and shown[1] == f"line {line}, column {column}:"
    assert shown[2] == "  " + query.split("\n")[line - 1] and shown[3] == "  " + " " * (column - 1) + "^"
    assert isinstance(err, InvalidParameterError)


def test_explain_says_joint_and_weighted_targets_with_its_numbers(ws):
    q = "EXPLAIN SELECT * FROM r WHERE truth(y) ORACLE LIMIT 500 USING score RECALL TARGET 90% "
    rows = dict(sql(ws, q + "PRECISION TARGET 80%").table.values.tolist())
    assert rows["target"].startswith("recall >= 0.9 and precision >= 0.8 with probability >= 0.95")
    assert rows["records"].startswith("6,000 rows") and rows["budget"] == "at most 500 distinct records labeled"
    rows = dict(sql(ws, q + "WEIGHTED BY count").table.values.tolist())
    assert "measured in count" in rows["weight"] and rows["records"].startswith("6,000 rows")
    assert "labels implied" not in rows  # its record counts are not of weights


def test_an_assumption_is_the_select_call_with_min_density(ws):
    q = ("SELECT * FROM r WHERE truth(y) ORACLE LIMIT 800 USING score RECALL TARGET 90% "
         "ASSUMING MIN DENSITY 1% PER 100 TAIL 2%")
    got = sql(ws, q, seed=4)
    want = select(ws.sql("SELECT * FROM r"), proxy="score", oracle="column:y", target="recall", value=0.9,
                  budget=800, seed=4, assume=MinDensity(0.01, 100, tail=0.02))
    assert np.array_equal(np.sort(got.result.ids), np.sort(want.ids))
    assert got.guarantee["kind"] == "conditional"
    rows = dict(sql(ws, "EXPLAIN " + q).table.values.tolist())
    assert rows["method"] == "assay (guarantee: conditional)"
    assert rows["assumption"].startswith("at most 2% of the positives lie below the first 100 consecutive")
    # without TAIL, MinDensity's default share; with a precision target too, a joint target
    plan = sql(ws, "EXPLAIN " + q.replace(" TAIL 2%", "") + " PRECISION TARGET 50%").plan
    assert plan.target == "joint" and plan.min_density() == MinDensity(0.01, 100)


def test_enough_malformed_queries_are_tested():
    assert len(MALFORMED) >= 20 and len({q for q, *_ in MALFORMED}) == len(MALFORMED)


def test_explain_keeps_the_places_of_the_query():
    w = assay.Workspace()
    w.add("r", pd.DataFrame({"id": [1, 2], "s": [0.1, 0.9], "y": [0, 1]}), kind="records")
    w.add_oracle("truth", "column:y")
    with pytest.raises(QueryError) as info:
        explain(w, "  EXPLAIN SELECT * FROM r WHERE truth(y)\n USING s RECALL TARGET 101%")
    assert (info.value.line, info.value.column) == (2, 24)
    assert str(info.value).split("\n")[2] == "   USING s RECALL TARGET 101%"


def test_records_need_ids(ws):
    ws.add("noid", pd.DataFrame({"y": [0, 1], "score": [0.1, 0.9]}), kind="table")
    with pytest.raises(InvalidParameterError, match="need an 'id' column"):
        sql(ws, "SELECT * FROM noid WHERE truth(y) USING score RECALL TARGET 90%")


def test_cli_sql_json(tmp_path):
    w = str(tmp_path / "w.duckdb")
    with assay.Workspace(w) as ws:
        n = 3000
        rng = np.random.default_rng(1)
        y = (rng.random(n) < 0.2).astype(int)
        ws.add("r", pd.DataFrame({"id": np.arange(n), "y": y, "score": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)}),
               kind="records")
    runner = CliRunner()
    assert runner.invoke(cli, ["oracle", "add", "truth", "column:y", "--range", "0", "1", "-w", w]).exit_code == 0
    got = runner.invoke(cli, ["sql", "SELECT AVG(truth(y)) FROM r ORACLE LIMIT 300 USING score", "-w", w, "--json"])
    assert got.exit_code == 0, got.output
    res = json.loads(got.output)
    assert res["kind"] == "aggregate" and res["lower"] <= y.mean() <= res["upper"]
    assert res["guarantee"]["kind"] == "finite-sample" and res["guarantee"]["oracle_calls"] <= 300
    sel = runner.invoke(cli, ["sql", "SELECT * FROM r WHERE truth(y) ORACLE LIMIT 500 USING score RECALL TARGET 80%",
                              "-w", w, "--json", "--seed", "2"])
    assert sel.exit_code == 0, sel.output
    assert len(json.loads(sel.output)["ids"]) > 0
    bad = runner.invoke(cli, ["sql", "SELECT * FROM r WHERE truth(y) OR y = 1 USING score RECALL TARGET 80%", "-w", w])
    assert bad.exit_code != 0 and "stand alone" in bad.output


def test_group_by_splits_delta_and_covers_every_group(ws):
    got = sql(ws, "SELECT part, AVG(people(count)) AS m FROM r GROUP BY part ORACLE LIMIT 300 USING score", seed=4)
    assert got.table["part"].tolist() == ["a", "b"]
    truth = ws.sql("SELECT part, avg(count) AS m FROM r GROUP BY part ORDER BY part")["m"].tolist()
    assert ((got.table["lower"] <= truth) & (truth <= got.table["upper"])).all()
    want = aggregate(ws.sql("SELECT * FROM r WHERE part = 'b'"), oracle="column:count", proxy="score", budget=300,
                     range=(0, 10), delta=0.025, seed=4)
    assert got.table["estimate"].iloc[1] == pytest.approx(want.estimate)
    assert got.guarantee["oracle_calls"] == got.table["labels"].sum()
    assert [g["part"] for g in got.to_dict()["groups"]] == ["a", "b"]
    plan = explain(ws, "SELECT part, AVG(people(count)) FROM r GROUP BY part ORACLE LIMIT 300")
    assert "Bonferroni" in plan.set_index("what").loc["groups", "value"]
    with pytest.raises(InvalidParameterError, match="select part and one AVG"):
        sql(ws, "SELECT id, AVG(people(count)) FROM r GROUP BY part ORACLE LIMIT 300")


def test_frames_table_counts_boxes_per_frame_and_class():
    w = assay.Workspace()
    rows = [("cam", 1, "car"), ("cam", 1, "car"), ("cam", 1, "Bus Big"), ("cam", 3, "car"), ("b", 2, "car")]
    labels = pd.DataFrame(rows, columns=["stream", "frame", "cls"]).assign(x1=0.0, y1=0.0, x2=1.0, y2=1.0)
    w.add("labels", assay.as_observations(labels, source="labels", fps=10))
    det = labels.iloc[[0, 3]].assign(score=0.9)
    w.add("det", assay.as_observations(det, source="model:x", fps=10))
    got = sql(w, "SELECT * FROM frames('labels', 'det') ORDER BY id").table
    assert got.columns.tolist() == ["id", "stream", "frame", "labels", "labels_bus_big", "labels_car", "det", "det_car"]
    assert got[["stream", "frame"]].values.tolist() == [["b", 2], ["cam", 1], ["cam", 3]]
    assert got["labels"].tolist() == [1, 3, 1] and got["labels_bus_big"].tolist() == [0, 1, 0]
    assert got["det"].tolist() == [0, 1, 1] and got["id"].tolist() == [0, 1, 2]
    w.add_oracle("cars", "column:labels_car", value_range=(0, 5))
    r = sql(w, "SELECT AVG(cars(labels_car)) FROM frames('labels', 'det') f WHERE f.stream = 'cam' ORACLE LIMIT 2")
    assert r.table["estimate"].iloc[0] == pytest.approx(1.5)  # both cam frames labeled: exact
    with pytest.raises(InvalidParameterError, match="not an observations table"):
        sql(w, "SELECT * FROM frames('nope')")
    with pytest.raises(InvalidParameterError, match="quoted strings"):
        sql(w, "SELECT * FROM frames(labels)")


def test_explain_says_what_an_error_target_implies(ws):
    rows = explain(ws, "SELECT AVG(people(count)) FROM r ERROR WITHIN 0.5").set_index("what")["value"]
    # Hoeffding for range 10, error 0.5, delta 0.05: 100 ln(40) / 0.5 = 738
    assert rows["labels implied"].startswith("at most 738 ")


def test_columns_named_like_clause_words_are_sql(ws):
    ws.add("m", pd.DataFrame({"id": [1, 2, 3], "method": ["a", "b", "a"], "using": [1, 2, 3]}), kind="records")
    got = sql(ws, 'SELECT method, count(*) AS n, sum("using") AS u FROM m GROUP BY method ORDER BY method')
    assert got.plan.kind == "exact" and got.table["n"].tolist() == [2, 1] and got.table["u"].tolist() == [4, 2]
    r = explain(ws, "SELECT * FROM m WHERE truth(method) AND method = 'a' USING \"using\" / 3 RECALL TARGET 50% "
                    "METHOD supg").set_index("what")["value"]
    assert r["proxy"] == '"using" / 3' and r["method"].startswith("supg") and r["records"].endswith("WHERE method = 'a'")
    r = sql(ws, "EXPLAIN SELECT * FROM m WHERE truth(method) USING \"using\" / 3 RECALL TARGET 50% METHOD supg")
    assert r.plan.proxy == '"using" / 3' and r.plan.method == "supg"


def test_a_page_question_says_where_to_ask_it(ws):
    ws.add_oracle("asked", "review:is it a car")
    with pytest.raises(InvalidParameterError, match="question for a person on the review page"):
        sql(ws, "SELECT * FROM r WHERE asked(y) USING score RECALL TARGET 90%")


def test_queries_over_one_table_share_its_answers(ws):
    """Rows of one workspace table keep its identity: a filtered query reuses the answers of
    an unfiltered one, and `select` on ws.read(...) shares them too."""
    first = sql(ws, "SELECT AVG(people(count)) FROM r ORACLE LIMIT 300 USING score", seed=1)
    assert first.guarantee["labels_paid"] == first.guarantee["oracle_calls"] > 0
    asked = set(ws.labels(ws.oracles()["oracle"].iloc[0])["id"].astype(int))
    part = sql(ws, "SELECT AVG(people(count)) FROM r WHERE part = 'a' ORACLE LIMIT 300 USING score", seed=2)
    assert ws.oracles()["oracle"].nunique() == 1  # one identity: the table's
    again = set(ws.labels(ws.oracles()["oracle"].iloc[0])["id"].astype(int))
    reused = part.guarantee["labels_reused"]
    assert reused > 0 and reused == part.guarantee["oracle_calls"] - part.guarantee["labels_paid"]
    assert len(again) == len(asked) + part.guarantee["labels_paid"]
    direct = aggregate(ws.read("r"), oracle="column:count", proxy="score", budget=300, range=(0, 10), seed=1,
                       workspace=ws)
    assert direct.labels_paid == 0


def test_no_record_passing_the_conditions_is_said(ws):
    with pytest.raises(InvalidParameterError, match="no record passes the query's conditions"):
        sql(ws, "SELECT AVG(people(count)) FROM r WHERE score > 2 ORACLE LIMIT 10")


def test_queries_only_read_unless_written_with_the_write_flag(ws):
    before = ws.tables()[["name", "revision"]].values.tolist()
    for q in ("DROP TABLE r", "CREATE TABLE t2 AS SELECT * FROM r", "INSERT INTO r SELECT * FROM r",
              "DELETE FROM r", "UPDATE r SET y = 0"):
        with pytest.raises(QueryError, match="would change the workspace"):
            sql(ws, q)
    # a SELECT cannot smuggle a second statement in either
    with pytest.raises(InvalidParameterError):
        sql(ws, "SELECT 1; DROP TABLE r")
    assert ws.tables()[["name", "revision"]].values.tolist() == before
    # with the flag: a new table through the workspace (an identity, a revision), and a drop
    made = sql(ws, "CREATE TABLE pos AS SELECT id, score FROM r WHERE y = 1", write=True)
    assert made.table["kind"].iloc[0] == "records" and ws.table_info("pos")["rows"] == int(ws.read("r")["y"].sum())
    with pytest.raises(QueryError, match="CREATE OR REPLACE"):
        sql(ws, "CREATE TABLE pos AS SELECT 1 AS id", write=True)
    sql(ws, "CREATE OR REPLACE TABLE pos AS SELECT 1 AS id", write=True)
    assert ws.table_info("pos")["rows"] == 1
    for q in ("INSERT INTO r SELECT * FROM r", "DROP TABLE _assay.runs", "DROP VIEW r"):
        with pytest.raises(QueryError):
            sql(ws, q, write=True)
    assert sql(ws, "DROP TABLE pos", write=True).table["dropped"].tolist() == ["pos"]
    assert "pos" not in ws and "r" in ws


def test_bookkeeping_is_queryable(ws):
    sql(ws, "SELECT AVG(people(count)) FROM r ORACLE LIMIT 50 USING score")
    runs = sql(ws, "SELECT kind, count(*) AS n FROM _assay.runs GROUP BY kind").table
    assert runs["n"].sum() >= 1
    labels = sql(ws, "SELECT count(*) AS n FROM _assay.labels").table
    assert labels["n"].iloc[0] == 50


def test_a_join_keys_its_records_by_the_first_tables_id(ws):
    ws.add("parts", pd.DataFrame({"part": ["a", "b"], "weight": [1.0, 2.0]}), kind="table")
    q = ("SELECT AVG(people(count)) FROM r AS x JOIN parts AS p ON x.part = p.part WHERE p.weight > 1.5 "
         "ORACLE LIMIT 200 USING score")
    got = sql(ws, q, seed=2)
    want = aggregate(ws.sql("SELECT * FROM r WHERE part = 'b'"), oracle="column:count", proxy="score",
                     budget=200, range=(0, 10), seed=2)
    assert got.result.estimate == pytest.approx(want.estimate)
    assert explain(ws, q).set_index("what").loc["record id", "value"].startswith("x.id")
    # a join that repeats a record is refused; a first table without ids too
    ws.add("twice", pd.DataFrame({"part": ["a", "a", "b"]}), kind="table")
    with pytest.raises(InvalidParameterError, match="repeat an id"):
        sql(ws, "SELECT AVG(people(count)) FROM r JOIN twice USING (part) ORACLE LIMIT 50")
    with pytest.raises(InvalidParameterError, match=r"its first table \(parts.id\)"):
        sql(ws, "SELECT AVG(people(count)) FROM parts JOIN r USING (part) ORACLE LIMIT 50")


def test_cli_reads_a_file_and_takes_write(tmp_path):
    w = str(tmp_path / "w.duckdb")
    with assay.Workspace(w) as ws:
        ws.add("r", pd.DataFrame({"id": [1, 2, 3], "y": [0, 1, 1]}), kind="records")
    f = tmp_path / "q.sql"
    f.write_text("SELECT sum(y) AS s\nFROM r;\n")
    runner = CliRunner()
    got = runner.invoke(cli, ["sql", "-f", str(f), "-w", w, "--json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.output)["rows"] == [{"s": 2}]
    bad = runner.invoke(cli, ["sql", "DROP TABLE r", "-w", w])
    assert bad.exit_code != 0 and "would change the workspace" in bad.output
    assert runner.invoke(cli, ["sql", "DROP TABLE r", "-w", w, "--write"]).exit_code == 0
    assert runner.invoke(cli, ["sql", "-w", w]).exit_code != 0


# ---------------------------------------------------------------- the required examples

REQUIRED = {
    "recall": ("SELECT * FROM onto WHERE is_positive(id)\nORACLE LIMIT 1000 USING proxy_score\n"
               "RECALL TARGET 90% WITH PROBABILITY 95%;"),
    "precision": ("SELECT * FROM onto WHERE is_positive(id)\nORACLE LIMIT 1000 USING proxy_score\n"
                  "PRECISION TARGET 90% WITH PROBABILITY 95%;"),
    "mean": "SELECT AVG(is_positive(id)) FROM onto\nUSING proxy_score ERROR WITHIN 0.01 WITH PROBABILITY 95%;",
}


@pytest.fixture(scope="module")
def onto(shared_data):
    from assay.io import read_records

    w = assay.Workspace()
    w.add("onto", read_records(shared_data / "proxy" / "supg" / "onto.csv"), kind="records")
    w.add_oracle("is_positive", "column:label", value_range=(0, 1))
    return w


@pytest.mark.shared_data
@pytest.mark.parametrize("target", ["recall", "precision"])
def test_required_selections_are_the_select_calls(onto, target):
    got = sql(onto, REQUIRED[target], seed=5)
    want = select(onto.read("onto"), proxy="proxy_score", oracle="column:label", target=target, value=0.9,
                  delta=0.05, budget=1000, seed=5)
    assert np.array_equal(np.sort(got.result.ids), np.sort(want.ids))
    assert got.guarantee["oracle_calls"] == want.oracle_calls <= 1000
    assert got.to_dict()["ids"] and sorted(got.to_dict()["ids"]) == sorted(want.ids.tolist())


@pytest.mark.shared_data
def test_required_mean_is_the_aggregate_call(onto):
    got = sql(onto, REQUIRED["mean"], seed=5)
    want = aggregate(onto.read("onto"), oracle="column:label", proxy="proxy_score", error=0.01, delta=0.05,
                     range=(0, 1), seed=5)
    d = got.to_dict()
    assert (d["estimate"], d["lower"], d["upper"]) == pytest.approx((want.estimate, want.lower, want.upper))
    assert d["upper"] - d["lower"] <= 0.02 + 1e-12
    truth = onto.sql("SELECT avg(label) AS m FROM onto")["m"].iloc[0]
    assert d["lower"] <= truth <= d["upper"]


@pytest.fixture(scope="module")
def mot15(shared_data):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_sql

    return bench_sql, bench_sql.mot15_workspace(shared_data)


@pytest.mark.shared_data
def test_required_mot15_group_by_stream_is_the_aggregate_calls(mot15):
    bench, w = mot15
    got = sql(w, bench.QUERY, seed=1)
    frames = sql(w, "SELECT * FROM frames('gt', 'det')").table
    assert got.table["stream"].tolist() == sorted(frames["stream"].unique())
    for row in got.table.itertuples():
        part = frames[frames["stream"] == row.stream].reset_index(drop=True)
        want = aggregate(part, oracle="column:gt", proxy="det", error=0.1, relative=True,
                         delta=0.05 / len(got.table), range=(0, 60), seed=1)
        assert (row.estimate, row.lower, row.upper) == pytest.approx((want.estimate, want.lower, want.upper))
        assert row.upper - row.lower <= 2 * 0.1 * row.estimate * 1.0001 or row.labels == len(part)


@pytest.mark.statistical
@pytest.mark.shared_data
def test_group_by_covers_every_stream_at_once_on_mot15(mot15):
    """The CI version of benchmarks/bench_sql.py (300 trials there, 20 here): finite-sample, δ split
    over the six streams; every stream, and all of them at once, covered at least as often as
    a valid method is except with probability 1e-3 (binomial)."""
    bench, w = mot15
    s = bench.summary(bench.coverage(w, trials=20, seed=11))
    assert len(s) == 7 and (s["trials"] == 20).all()
    assert s["passes"].all(), s


def test_explain_says_what_a_budget_or_target_implies(ws):
    """EXPLAIN counts the records in DuckDB (asking no oracle) and puts numbers on the plan."""
    rows = explain(ws, "SELECT * FROM r WHERE truth(y) AND part = 'a' ORACLE LIMIT 300 USING score "
                       "RECALL TARGET 90%").set_index("what")["value"]
    assert rows["records"].startswith("2,000 rows of: ")
    # M ln(1/delta) / U labels to leave M out: with 300 labels, M <= 300 / ln(20) = 100 x U
    assert "M is at most about 100 x U of the 2,000 records" in rows["labels implied"]
    rows = explain(ws, "SELECT * FROM r WHERE truth(y) USING score PRECISION TARGET 90%").set_index("what")["value"]
    # margin sqrt(ln(20) / 2000) = 0.0387 with the default 1000 labels
    assert "precision of about 0.939 or more" in rows["labels implied"] and "m = 1,000" in rows["labels implied"]
    rows = explain(ws, "SELECT part, AVG(people(count)) FROM r GROUP BY part ORACLE LIMIT 400").set_index("what")["value"]
    # Hoeffding with delta / 2 per group: 10 sqrt(ln(80) / 800) = 0.740
    assert rows["labels implied"].startswith("after 400 labels the interval's half-width is at most 0.74 per group")
    assert rows["groups"].startswith("2 answers") and "0.025 each" in rows["groups"]
    assert ws.oracles().empty
