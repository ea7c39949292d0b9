"""The public select(): oracles, the label cache, crash safety, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.approx import HumanOracle, LabelsPending, Oracle, select
from assay.exceptions import InvalidParameterError


def records(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return pd.DataFrame({"id": np.arange(100, 100 + n), "score": p,
                         "truth": (rng.uniform(size=n) < p**6).astype(int)})


def test_result_fields_and_reproducibility():
    r1 = select(records(), proxy="score", oracle="column:truth", value=0.9, budget=800, seed=3)
    r2 = select(records(), proxy="score", oracle="column:truth", value=0.9, budget=800, seed=3)
    assert np.array_equal(r1.ids, r2.ids) and r1.threshold == r2.threshold
    assert r1.guarantee.kind == "finite-sample" and r1.guarantee.delta == 0.05
    assert 0 < r1.oracle_calls <= 800 and r1.labels_paid == r1.oracle_calls
    assert set(r1.ids) <= set(records()["id"])
    truth = records().set_index("id")["truth"]
    assert truth.loc[r1.ids].shape[0] == len(r1)


def test_function_oracle_is_asked_each_record_once():
    asked = []

    def model(rows):
        asked.extend(rows["id"].tolist())
        return rows["truth"].to_numpy()

    r = select(records(), proxy="score", oracle=model, target="precision", value=0.9, budget=600, seed=1)
    assert len(asked) == len(set(asked)) == r.oracle_calls <= 600


def test_workspace_cache_pays_once(tmp_path):
    asked = []

    def model(rows):
        asked.extend(rows["id"].tolist())
        return rows["truth"].to_numpy()

    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        a = select(records(), proxy="score", oracle=model, budget=500, seed=7, workspace=ws, name="recs")
        b = select(records(), proxy="score", oracle=model, budget=500, seed=7, workspace=ws, name="recs")
        assert np.array_equal(a.ids, b.ids)
        assert a.labels_paid == a.oracle_calls and b.labels_paid == 0
        assert len(asked) == len(set(asked)) == a.oracle_calls
        oracle = assay.approx.as_oracle(model).identity("frame:recs")
        assert len(ws.get_labels(oracle)) == a.oracle_calls
        runs = ws.runs()
        assert runs["run_id"].tolist() == [a.run_id, b.run_id] and set(runs["status"]) == {"ok"}
        assert runs["inputs"].iloc[0][1]["identity"] == oracle


def test_killed_query_resumes_without_paying_twice(killed_and_resumed):
    resumed, fresh, repeats = killed_and_resumed(
        setup="""
            rng = np.random.default_rng(0)
            p = rng.uniform(size=3000)
            recs = pd.DataFrame({"id": np.arange(3000), "score": p,
                                 "truth": (rng.uniform(size=3000) < p**6).astype(int)})
            ANSWER = "truth"
        """,
        query="""
            r = select(recs, proxy="score", oracle=model, budget=900, seed=11, workspace=ws, name="recs")
            out = {"ids": r.ids.tolist(), "calls": r.oracle_calls}
        """,
        kill_after=300)
    assert repeats <= 256  # only the batch being paid for when the process died
    assert resumed == fresh


def test_human_oracle_round_trip(tmp_path):
    recs = records(400)
    folder = tmp_path / "labels"
    with pytest.raises(LabelsPending, match="fill the 'label' column"):
        select(recs, proxy="score", oracle=HumanOracle(folder), target="precision", value=0.9, budget=100, seed=2)
    request = next(folder.glob("request-*.csv"))
    asked = pd.read_csv(request)
    asked["label"] = recs.set_index("id").loc[asked["id"], "truth"].to_numpy()
    asked.to_csv(request, index=False)
    # later rounds may ask for more; answer until the query completes
    for _ in range(100):  # sequential methods ask in several rounds
        try:
            r = select(recs, proxy="score", oracle=f"human:{folder}", target="precision", value=0.9,
                       budget=100, seed=2)
            break
        except LabelsPending:
            for f in folder.glob("request-*.csv"):
                df = pd.read_csv(f)
                df["label"] = recs.set_index("id").loc[df["id"], "truth"].to_numpy()
                df.to_csv(f, index=False)
    assert r.oracle_calls <= 100


def test_batch_size_means_few_rounds_for_people():
    recs = records(3000)

    def rounds(batch_size):
        calls = []

        class Person(Oracle):  # each call is one round of request files, as for a human oracle
            def __call__(self, rows):
                calls.append(len(rows))
                return rows["truth"].to_numpy()

        r = select(recs, proxy="score", oracle=Person(), target="precision", value=0.9, budget=100,
                   seed=2, batch_size=batch_size)
        return len(calls), r

    many, _ = rounds(None)
    few, r = rounds(50)
    assert few <= 4 < many and r.oracle_calls <= 100
    assert recs.set_index("id").loc[r.ids, "truth"].mean() == 1.0
    with pytest.raises(InvalidParameterError, match="does not take batch_size"):
        select(recs, proxy="score", oracle="column:truth", method="supg", batch_size=10)


@pytest.mark.parametrize("kwargs,message", [
    ({"value": 1.5}, "The 'value' parameter of select must be a float in (0, 1). Got 1.5."),
    ({"delta": 0.0}, "The 'delta' parameter of select must be a float in (0, 1). Got 0.0."),
    ({"budget": 10**6}, "must be at most the number of records (3000). Got 1000000."),
    ({"target": "f1"}, "The 'target' parameter of select must be one of {'recall', 'precision', 'joint'}. Got 'f1'."),
    ({"proxy": "nope"}, "The 'proxy' parameter of select must name a column of the records. Got 'nope'"),
    ({"oracle": "colum:truth"}, "Got 'colum:truth'; cannot read that oracle"),
])
def test_bad_parameters(kwargs, message):
    args = {"proxy": "score", "oracle": "column:truth", **kwargs}
    with pytest.raises(InvalidParameterError) as e:
        select(records(), **args)
    assert message in str(e.value)


def test_bad_proxy_values():
    bad = records()
    bad.loc[5, "score"] = 1.7
    with pytest.raises(InvalidParameterError, match=r"must hold numbers in \[0, 1\]; record id 105 has 1.7"):
        select(bad, proxy="score", oracle="column:truth")
    bad.loc[5, "score"] = np.nan
    with pytest.raises(InvalidParameterError, match="record id 105 has nan"):
        select(bad, proxy="score", oracle="column:truth")


def test_empty_records():
    with pytest.raises(InvalidParameterError, match="empty"):
        select(records().iloc[:0], proxy="score", oracle="column:truth")


def test_bad_oracle_answers():
    with pytest.raises(InvalidParameterError, match="one per record"):
        select(records(), proxy="score", oracle=lambda rows: [1], budget=200, seed=0)
    with pytest.raises(InvalidParameterError, match="must answer 0 or 1"):
        select(records(), proxy="score", oracle=lambda rows: np.full(len(rows), 0.5), budget=50, seed=0)
