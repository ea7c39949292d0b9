"""The public aggregate(): oracles, where, the label cache, crash safety, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import assay
from assay.approx import AggregateResult, HumanOracle, LabelsPending, aggregate
from assay.exceptions import InvalidParameterError


def records(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return pd.DataFrame({"id": np.arange(100, 100 + n), "score": p,
                         "cars": rng.binomial(5, p), "bus": rng.uniform(size=n) < p**2})


def test_result_fields_and_reproducibility():
    a = aggregate(records(), oracle="column:cars", proxy="score", error=0.1, range=(0, 5), seed=3)
    b = aggregate(records(), oracle="column:cars", proxy="score", error=0.1, range=(0, 5), seed=3)
    assert isinstance(a, AggregateResult) and a == b
    assert a.guarantee.kind == "finite-sample" and a.guarantee.anytime and a.guarantee.delta == 0.05
    assert a.stopped == "error" and a.upper - a.lower <= 0.2 + 1e-12
    assert a.lower <= a.estimate <= a.upper and a.labels_paid == a.oracle_calls < 4000
    assert a.range == (0.0, 5.0) and a.n_records == 4000 and a.method == "assay"
    with pytest.raises(AttributeError):
        a.estimate = 0  # frozen
    assert json.loads(json.dumps(a.to_dict()))["guarantee"]["kind"] == "finite-sample"


@pytest.mark.parametrize("method", ["assay", "betting", "uniform", "blazeit", "blazeit++", "abae", "ppi", "clt"])
def test_every_method_through_the_public_api(method):
    recs = records()
    r = aggregate(recs, oracle="column:cars", proxy="score", budget=600, range=(0, 5), method=method, seed=1)
    assert r.oracle_calls <= 600 and r.method == method
    assert r.guarantee.kind == ("asymptotic" if method in {"blazeit++", "abae", "ppi", "clt"} else "finite-sample")
    assert 0 <= r.lower <= r.upper <= 5


def test_sum_count_and_where():
    recs = records()
    s = aggregate(recs, oracle="column:cars", proxy="score", stat="sum", budget=800, range=(0, 5), seed=2)
    assert s.lower <= recs["cars"].sum() <= s.upper and s.upper <= 5 * 4000
    c = aggregate(recs, stat="count", where="column:bus", proxy="score", budget=800, seed=2)
    assert c.range == (0.0, 1.0) and c.lower <= recs["bus"].sum() <= c.upper
    m = aggregate(recs, oracle="column:cars", where="column:bus", proxy="score", budget=1500,
                  range=(0, 5), seed=2)
    assert m.lower <= recs.loc[recs["bus"], "cars"].mean() <= m.upper
    everyone = aggregate(recs, stat="count", error=1.0)
    assert everyone.estimate == 4000 and everyone.oracle_calls == 0 and everyone.stopped == "trivial"


def test_where_counts_each_record_once_and_asks_the_value_only_when_it_passes():
    recs = records(1500)
    asked_where, asked_value = [], []

    def bus(rows):
        asked_where.extend(rows["id"].tolist())
        return rows["bus"].to_numpy()

    def cars(rows):
        asked_value.extend(rows["id"].tolist())
        return rows["cars"].to_numpy()

    r = aggregate(recs, oracle=cars, where=bus, proxy="score", budget=400, range=(0, 5), seed=0)
    assert len(asked_where) == len(set(asked_where)) == r.oracle_calls == r.labels_paid <= 400
    assert set(asked_value) <= set(asked_where)
    assert recs.set_index("id").loc[asked_value, "bus"].all()


def test_the_range_is_stated_or_implied_never_estimated():
    recs = records()
    with pytest.raises(InvalidParameterError, match=r"needs range=\(lo, hi\)"):
        aggregate(recs, oracle="column:cars", proxy="score", error=0.1)
    r = aggregate(recs, oracle="column:bus", proxy="score", error=0.05, seed=0)  # boolean column
    assert r.range == (0.0, 1.0)
    with pytest.raises(InvalidParameterError, match="outside"):
        aggregate(recs, oracle="column:cars", proxy="score", error=0.1, range=(0, 3), seed=0)


def test_workspace_cache_pays_once(tmp_path):
    asked = []

    def model(rows):
        asked.extend(rows["id"].tolist())
        return rows["cars"].to_numpy()

    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        a = aggregate(records(), oracle=model, proxy="score", budget=500, range=(0, 5), seed=7,
                      workspace=ws, name="recs")
        b = aggregate(records(), oracle=model, proxy="score", budget=500, range=(0, 5), seed=7,
                      workspace=ws, name="recs")
        assert {**a.to_dict(), "labels_paid_now": 0} == b.to_dict()
        assert a.labels_paid == a.oracle_calls and b.labels_paid == 0
        assert len(asked) == len(set(asked)) == a.oracle_calls


def test_killed_query_resumes_without_paying_twice(killed_and_resumed):
    resumed, fresh, repeats = killed_and_resumed(
        setup="""
            rng = np.random.default_rng(0)
            p = rng.uniform(size=5000)
            recs = pd.DataFrame({"id": np.arange(5000), "score": p, "cars": rng.binomial(5, p)})
            ANSWER = "cars"
        """,
        query="""
            r = aggregate(recs, oracle=model, proxy="score", error=0.05, range=(0, 5), seed=11,
                          workspace=ws, name="recs", batch_size=50)
            out = {"estimate": r.estimate, "lower": r.lower, "calls": r.oracle_calls}
        """,
        kill_after=400)
    assert repeats <= 50  # only the batch being paid for when the process died
    assert resumed == fresh


def test_human_oracle_labels_in_batches(tmp_path):
    recs = records(1000)
    folder = tmp_path / "labels"
    truth = recs.set_index("id")["cars"]
    rounds = 0
    for _ in range(200):
        try:
            r = aggregate(recs, oracle=HumanOracle(folder), proxy="score", budget=200, range=(0, 5),
                          seed=2, batch_size=40)
            break
        except LabelsPending as e:
            assert "fill the 'label' column" in str(e)
            rounds += 1
            for f in folder.glob("request-*.csv"):
                df = pd.read_csv(f)
                assert len(df) <= 40
                df["label"] = truth.loc[df["id"]].to_numpy()
                df.to_csv(f, index=False)
    assert rounds == 5 and r.oracle_calls == 200 and r.lower <= truth.mean() <= r.upper


@pytest.mark.parametrize("kwargs,message", [
    ({"delta": 1.5}, "The 'delta' parameter of aggregate must be a float in (0, 1). Got 1.5."),
    ({"error": -0.1}, "The 'error' parameter of aggregate must be"),
    ({"budget": 0}, "The 'budget' parameter of aggregate must be"),
    ({"stat": "median"}, "The 'stat' parameter of aggregate must be one of"),
    ({"method": "magic"}, "The 'method' parameter of aggregate must be one of"),
    ({"error": None}, "needs an error target (error=...), a label budget (budget=...), or both"),
    ({"error": None, "budget": 10, "relative": True}, "relative=True needs an error target"),
    ({"proxy": "nope"}, "The 'proxy' parameter of aggregate must name a column of the records. Got 'nope'"),
    ({"oracle": "colum:cars"}, "Got 'colum:cars'; cannot read that oracle"),
    ({"oracle": None}, "aggregate needs an oracle"),
    ({"range": (5, 0)}, "finite numbers with lo < hi. Got (5, 0)."),
    ({"range": "0-5"}, "must be a pair (lo, hi) of numbers"),
    ({"method": "abae", "batch_size": 10}, "method 'abae' does not take batch_size"),
    ({"method": "blazeit", "proxy": None}, "method 'blazeit' needs a proxy column"),
])
def test_bad_parameters(kwargs, message):
    args = {"proxy": "score", "oracle": "column:cars", "error": 0.1, "range": (0, 5), **kwargs}
    with pytest.raises(InvalidParameterError) as e:
        aggregate(records(), **args)
    assert message in str(e.value)


def test_bad_records_proxy_and_answers(tmp_path):
    bad = records()
    bad.loc[5, "score"] = np.nan
    with pytest.raises(InvalidParameterError, match="record id 105 has nan"):
        aggregate(bad, proxy="score", oracle="column:cars", error=0.1, range=(0, 5))
    with pytest.raises(InvalidParameterError, match="empty"):
        aggregate(records().iloc[:0], proxy="score", oracle="column:cars", error=0.1, range=(0, 5))
    with pytest.raises(InvalidParameterError, match="one per record"):
        aggregate(records(), proxy="score", oracle=lambda rows: [1], budget=50, range=(0, 5), seed=0)
    with pytest.raises(InvalidParameterError, match="must answer numbers"):
        aggregate(records(), proxy="score", oracle=lambda rows: np.full(len(rows), "x"), budget=50,
                  range=(0, 5), seed=0)
    with pytest.raises(InvalidParameterError, match="'where' oracle must answer 0 or 1"):
        aggregate(records(), proxy="score", oracle="column:cars", where="column:cars", budget=50,
                  range=(0, 5), seed=0)
    dup = records()
    dup.loc[7, "id"] = dup.loc[6, "id"]
    with pytest.raises(assay.exceptions.SchemaError, match="a unique id"):
        aggregate(dup, proxy="score", oracle="column:cars", error=0.1, range=(0, 5))
    path = tmp_path / "recs.csv"
    path.write_text("id,score,cars\n1,0.5,2\n2,oops,1\n")
    with pytest.raises(InvalidParameterError, match="record id 2 has 'oops'"):
        aggregate(path, proxy="score", oracle="column:cars", error=0.1, range=(0, 5))


@pytest.mark.statistical
@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["onto", "tacred"])
def test_public_default_covers_and_beats_blazeit_on_real_data(shared_data, name):
    recs = pd.read_csv(shared_data / "proxy" / "supg" / f"{name}.csv")
    truth = recs["label"].mean()
    seeds = np.random.SeedSequence(2024).spawn(60)
    results = [aggregate(recs, oracle="column:label", proxy="proxy_score", error=0.01, range=(0, 1),
                         seed=np.random.default_rng(s)) for s in seeds]
    covered = sum(r.lower <= truth <= r.upper for r in results)
    assert covered >= stats.binom.ppf(1e-3, len(seeds), 0.95)
    # published BlazeIt control variates + EBS: 4,192 (onto) / 4,421 (tacred) labels
    assert np.mean([r.oracle_calls for r in results]) < {"onto": 4192, "tacred": 4421}[name] / 3


@pytest.mark.parametrize("mode", [{"budget": 500}, {"error": 0.1}])
def test_watching_the_interval_changes_no_answer(mode):
    recs = records(5000)
    seen = []
    watched = aggregate(recs, oracle="column:cars", proxy="score", range=(0, 5), seed=4,
                        on_batch=seen.append, **mode)
    plain = aggregate(recs, oracle="column:cars", proxy="score", range=(0, 5), seed=4, **mode)
    assert (watched.estimate, watched.lower, watched.upper, watched.oracle_calls) == (
        plain.estimate, plain.lower, plain.upper, plain.oracle_calls)
    assert len(seen) >= 3 and [s["labels"] for s in seen] == sorted(s["labels"] for s in seen)
    assert all(0 <= s["lower"] <= s["upper"] <= 5 for s in seen)
    assert seen[-1]["upper"] - seen[-1]["lower"] < seen[0]["upper"] - seen[0]["lower"]
    assert watched.diagnostics["path"][-1][0] == watched.oracle_calls
    with pytest.raises(InvalidParameterError, match="default method only"):
        aggregate(recs, oracle="column:cars", proxy="score", range=(0, 5), budget=100,
                  method="uniform", on_batch=print)


def test_a_person_can_stop_an_anytime_valid_query():
    recs = records(5000)
    seen = []

    def watch(state):
        seen.append(state)
        return state["labels"] >= 100  # tight enough for them

    r = aggregate(recs, oracle="column:cars", proxy="score", range=(0, 5), budget=2000, seed=4,
                  on_batch=watch)
    assert r.stopped == "stopped" and 100 <= r.oracle_calls < 2000
    assert (r.lower, r.upper) == (seen[-1]["lower"], seen[-1]["upper"])
    assert r.lower <= recs["cars"].mean() <= r.upper


@pytest.mark.parametrize("stat, where", [("mean", False), ("sum", False), ("mean", True), ("sum", True),
                                         ("count", True)])
def test_certain_bounds_always_hold_and_close_when_every_record_is_labeled(stat, where):
    import numpy as np
    import pandas as pd

    from assay.approx import aggregate

    rng = np.random.default_rng(7)
    n = 400
    rec = pd.DataFrame({"id": np.arange(n), "v": rng.integers(0, 6, n).astype(float),
                        "p": (rng.random(n) < 0.3).astype(float), "proxy": rng.random(n)})
    passing = rec["p"] > 0
    truth = {"mean": rec.loc[passing, "v"].mean() if where else rec["v"].mean(),
             "sum": rec.loc[passing, "v"].sum() if where else rec["v"].sum(),
             "count": passing.sum()}[stat]
    kw = {"oracle": None if stat == "count" else "column:v", "where": "column:p" if where else None,
          "range": (0, 5), "stat": stat, "proxy": "proxy"}
    for budget in (60, 200):
        r = aggregate(rec, budget=budget, seed=budget, **kw)
        lo, hi = r.certain
        assert lo <= truth + 1e-9 and truth - 1e-9 <= hi
        assert r.to_dict()["certain"] == [lo, hi]
    full = aggregate(rec, budget=n, seed=1, **kw)
    assert full.stopped == "exhausted"
    assert full.certain[0] == pytest.approx(truth) and full.certain[1] == pytest.approx(truth)
