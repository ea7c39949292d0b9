"""The query language: exact SQL passes through to DuckDB; a query calling a named oracle is
the same select / aggregate call as the Python API (same answer, same guarantee), with cheap
WHERE conditions applied before the oracle sees any record."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assay
from assay.approx import aggregate, explain, select, sql
from assay.cli import cli
from assay.exceptions import InvalidParameterError


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


@pytest.mark.parametrize("query, message", [
    ("SELECT * FROM r WHERE truth(y) OR score > 0.5 USING score RECALL TARGET 90%", "stand alone as an AND"),
    ("SELECT * FROM r WHERE NOT truth(y) USING score RECALL TARGET 90%", "stand alone as an AND"),
    ("SELECT * FROM r WHERE truth(y) RECALL TARGET 90%", "needs a proxy"),
    ("SELECT * FROM r WHERE truth(y) USING score", "needs RECALL TARGET p%, PRECISION TARGET p% or both"),
    ("SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% PRECISION TARGET 90% METHOD supg",
     "cannot combine them"),
    ("SELECT AVG(people(count)) FROM r USING score", "ERROR WITHIN e, ORACLE LIMIT n"),
    ("SELECT AVG(people(count)) FROM r ERROR WITHIN 1 RECALL TARGET 90%", "for a selection"),
    ("SELECT AVG(people(count)) FROM r GROUP BY part, id ORACLE LIMIT 100", "GROUP BY"),
    ("SELECT AVG(truth(y) + 1) FROM r ORACLE LIMIT 100", "whole argument"),
    ("SELECT * FROM r ORACLE LIMIT 100", "calls no named oracle"),
    ("SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% WITH PROBABILITY 100%", "between 0% and 100%"),
    ("SELECT * FROM r WHERE truth(y) USING score RECALL TARGET 90% ORACLE LIMT 5", "cannot read the clause"),
    ("SELEC * FROM r", "cannot read the SQL"),
])
def test_errors_say_what_is_wrong(ws, query, message):
    with pytest.raises(InvalidParameterError, match=message):
        sql(ws, query)


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
