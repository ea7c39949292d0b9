"""Cached oracle answers are tied to exactly the records and oracle they were paid for.

One test per way two data sets could share a cache key: the second query either pays for its
own labels, or reuses answers only for records identical in every field the oracle reads (or
under a key the user chose), and its interval always covers its own truth.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pandas as pd
import pytest

import assay
from assay.approx import FunctionOracle, HumanOracle, LabelsPending, aggregate, select


def day(n=2000, seed=0, label=None):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    truth = (rng.uniform(size=n) < p).astype(int) if label is None else np.full(n, label)
    return pd.DataFrame({"id": np.arange(n), "proxy": p, "label": truth})


def mean_query(records, ws, **kw):
    return aggregate(records, oracle="column:label", proxy="proxy", error=0.02, range=(0, 1),
                     seed=0, workspace=ws, **kw)


def test_two_files_with_one_base_name_pay_their_own_labels(tmp_path):
    (tmp_path / "day1").mkdir()
    (tmp_path / "day2").mkdir()
    day(label=None).to_csv(tmp_path / "day1" / "records.csv", index=False)
    day(label=0).to_csv(tmp_path / "day2" / "records.csv", index=False)
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        first = mean_query(tmp_path / "day1" / "records.csv", ws)
        second = mean_query(tmp_path / "day2" / "records.csv", ws)
    assert first.labels_paid > 0 and second.labels_paid == second.oracle_calls > 0
    assert second.lower <= 0.0 <= second.upper


def test_two_unnamed_frames_never_share_a_wrong_answer():
    a = day()
    b = a.assign(label=0)
    with assay.Workspace() as ws:
        ra = mean_query(a, ws)
        rb = mean_query(b, ws)
    assert ra.lower <= a["label"].mean() <= ra.upper
    assert rb.lower <= 0.0 <= rb.upper
    # what b reused, it reused for records whose label really was the same in a
    assert 0 < rb.labels_paid < rb.oracle_calls


def test_same_table_name_replaced_or_in_two_workspaces(tmp_path):
    for path in (tmp_path / "a.duckdb", tmp_path / "b.duckdb"):
        with assay.Workspace(path) as ws:
            label = 0 if path.stem == "b" else None
            ws.add("records", day(label=label), kind="records")
            r = mean_query(ws.read("records"), ws)
            assert r.labels_paid == r.oracle_calls
            truth = 0.0 if label == 0 else day()["label"].mean()
            assert r.lower <= truth <= r.upper
    with assay.Workspace(tmp_path / "a.duckdb") as ws:
        before = ws.table_info("records")["identity"]
        ws.add("records", day(label=0), kind="records", replace=True)
        assert ws.table_info("records")["identity"] != before
        r = mean_query(ws.read("records"), ws)
        assert r.labels_paid == r.oracle_calls and r.lower <= 0.0 <= r.upper


def test_a_table_read_back_and_appended_to_keeps_its_answers():
    with assay.Workspace() as ws:
        ws.add("records", day(1000), kind="records")
        first = mean_query(ws.read("records"), ws)
        again = mean_query(ws.read("records"), ws)
        assert first.labels_paid > 0 and again.labels_paid == 0
        assert (again.estimate, again.lower, again.upper) == (first.estimate, first.lower, first.upper)
        more = day(1000, seed=5).assign(id=np.arange(1000, 2000))
        ws.append("records", more)
        assert ws.table_info("records")["revision"] == 2
        grown = aggregate(ws.read("records"), oracle="column:label", proxy="proxy", budget=600,
                          range=(0, 1), seed=3, workspace=ws)
        # answers for the first 1000 records were kept: only the new ones are paid for
        paid_old = [i for i in ws.labels(f"column:label@{ws.table_info('records')['identity']}")["id"]
                    if i < 1000]
        assert grown.labels_paid < grown.oracle_calls and len(paid_old) >= first.oracle_calls


def test_an_edited_file_pays_again_only_for_the_rows_that_changed(tmp_path):
    path = tmp_path / "records.csv"
    before = day()
    before.to_csv(path, index=False)
    asked = []

    def model(rows):
        asked.append(rows["id"].tolist())
        return rows["label"].to_numpy()

    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        r1 = select(path, proxy="proxy", oracle=model, budget=400, seed=4, workspace=ws)
        first = {i for batch in asked for i in batch}
        after = before.copy()
        changed = after["id"] % 2 == 0
        after.loc[changed, "label"] = 1 - after.loc[changed, "label"]
        after.to_csv(path, index=False)
        asked.clear()
        r2 = select(path, proxy="proxy", oracle=model, budget=400, seed=4, workspace=ws)
    second = [i for batch in asked for i in batch]
    assert r1.labels_paid == len(first) and r2.labels_paid == len(second)
    # every record asked again was one whose label field changed; unchanged ones were reused
    again = [i for i in second if i in first]
    assert again and all(i % 2 == 0 for i in again)
    assert r2.labels_paid < r2.oracle_calls


def test_a_changed_python_oracle_is_a_new_oracle(tmp_path, monkeypatch):
    mod = tmp_path / "my_oracle_mod.py"
    mod.write_text("def judge(rows):\n    return rows['label'].to_numpy()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_oracle_mod  # noqa: F401 - loaded by the spec below

    records = day()
    with assay.Workspace() as ws:
        r1 = mean_query(records, ws, name="recs")
        assert r1.labels_paid > 0
        spec = "python:my_oracle_mod:judge"
        a = aggregate(records, oracle=spec, proxy="proxy", error=0.02, range=(0, 1), seed=0,
                      workspace=ws)
        b = aggregate(records, oracle=spec, proxy="proxy", error=0.02, range=(0, 1), seed=0,
                      workspace=ws)
        assert a.labels_paid > 0 and b.labels_paid == 0
        # the function now answers 0 everywhere: same spec string, another oracle
        mod.write_text("def judge(rows):\n    return rows['label'].to_numpy() * 0\n")
        importlib.reload(sys.modules["my_oracle_mod"])
        c = aggregate(records, oracle=spec, proxy="proxy", error=0.02, range=(0, 1), seed=0,
                      workspace=ws)
        assert c.labels_paid == c.oracle_calls and c.lower <= 0.0 <= c.upper
        # a version the author gives names the answers instead of the source
        v = FunctionOracle(sys.modules["my_oracle_mod"].judge, version="2026-12")
        assert v.identity("x") == "python:my_oracle_mod:judge#2026-12"
    monkeypatch.delitem(sys.modules, "my_oracle_mod")


def test_two_human_folders_with_one_name_are_two_oracles(tmp_path):
    records = day(300)
    folders = [tmp_path / "team-a" / "labels", tmp_path / "team-b" / "labels"]
    for f in folders:
        f.parent.mkdir()
    answers = [records["label"], 1 - records["label"]]  # the teams disagree everywhere
    with assay.Workspace() as ws:
        results = []
        for folder, truth in zip(folders, answers, strict=True):
            for _ in range(50):
                try:
                    results.append(aggregate(records, oracle=f"human:{folder}", proxy="proxy",
                                             budget=60, range=(0, 1), seed=1, workspace=ws))
                    break
                except LabelsPending:
                    for req in folder.glob("request-*.csv"):
                        df = pd.read_csv(req)
                        df["label"] = truth.to_numpy()[df["id"].to_numpy()]
                        df.to_csv(req, index=False)
        a, b = results
        stored = [ws.labels(HumanOracle(f).identity("")) for f in folders]
        assert [len(s) for s in stored] == [a.oracle_calls, b.oracle_calls] == [60, 60]
        assert a.estimate + b.estimate == pytest.approx(1.0)
        # and a second label set in the same folder is a third oracle
        with pytest.raises(LabelsPending):
            aggregate(records, oracle=f"human:{folders[0]}#second-pass", proxy="proxy", budget=60,
                      range=(0, 1), seed=1, workspace=ws)


def test_an_explicit_key_shares_answers_by_id_across_data_sets(tmp_path):
    a = day()
    b = a.assign(proxy=np.clip(a["proxy"] + 0.01, 0, 1), note="rescored")
    asked = []

    def model(rows):
        asked.extend(rows["id"].tolist())
        return rows["label"].to_numpy()

    with assay.Workspace() as ws:
        ra = select(a, proxy="proxy", oracle=model, budget=300, seed=1, workspace=ws,
                    labels="birds-v1")
        rb = select(b, proxy="proxy", oracle=model, budget=300, seed=1, workspace=ws,
                    labels="birds-v1")
        assert ra.labels_paid > 0
        assert rb.labels_paid < rb.oracle_calls  # answers reused by id, though b's rows differ
        assert ws.oracles().set_index("oracle").loc["birds-v1", "kind"] == "key"
        # without the key, the rows differ in a field the model reads: b pays its own way
        asked.clear()
        rc = select(b, proxy="proxy", oracle=model, budget=300, seed=1, workspace=ws)
        assert rc.labels_paid == rc.oracle_calls == len(asked)


def test_runs_record_what_an_answer_rests_on(tmp_path):
    path = tmp_path / "records.csv"
    day().to_csv(path, index=False)
    with assay.Workspace() as ws:
        r = mean_query(path, ws)
        run = ws.runs().set_index("run_id").loc[r.run_id]
    assert run["kind"] == "query" and run["status"] == "ok"
    records, oracle = run["inputs"]
    assert records["identity"] == f"file:{path.resolve()}" and records["bytes"] == path.stat().st_size
    assert oracle["identity"] == f"column:label@file:{path.resolve()}" and oracle["fields"] == ["label"]
    assert run["summary"]["oracle_calls"] == r.oracle_calls
    assert {"assay", "python", "numpy", "duckdb"} <= set(run["versions"])


def test_a_slow_oracle_killed_mid_batch_loses_only_the_answer_in_flight(killed_and_resumed):
    resumed, fresh, repeats = killed_and_resumed(
        setup="""
            import time
            rng = np.random.default_rng(0)
            p = rng.uniform(size=400)
            recs = pd.DataFrame({"id": np.arange(400), "score": p,
                                 "truth": (rng.uniform(size=400) < p).astype(int)})
            ANSWER = "truth"
            _model = None
        """,
        query="""
            import time as _t
            def slow(rows):
                _t.sleep(0.25 * len(rows))  # a big model: a quarter second per record
                return model(rows)
            slow.__qualname__ = "slow"
            r = aggregate(recs, oracle=slow, proxy="score", budget=24, range=(0, 1), seed=3,
                          workspace=ws, batch_size=24)
            out = {"estimate": r.estimate, "calls": r.oracle_calls}
        """,
        kill_after=10)
    assert repeats <= 1  # the record in flight, not the batch of 24
    assert resumed == fresh


def test_a_person_answering_part_of_a_request_keeps_those_answers(tmp_path):
    records = day(500)
    folder = tmp_path / "labels"
    with assay.Workspace() as ws:
        with pytest.raises(LabelsPending):
            aggregate(records, oracle=HumanOracle(folder), proxy="proxy", budget=40, range=(0, 1),
                      seed=2, workspace=ws, batch_size=40)
        request = next(folder.glob("request-*.csv"))
        df = pd.read_csv(request)
        half = df.index < len(df) // 2
        df.loc[half, "label"] = records["label"].to_numpy()[df.loc[half, "id"]]
        df.to_csv(request, index=False)
        with pytest.raises(LabelsPending, match=str(request)):  # the same file, still open
            aggregate(records, oracle=HumanOracle(folder), proxy="proxy", budget=40, range=(0, 1),
                      seed=2, workspace=ws, batch_size=40)
        identity = HumanOracle(folder).identity("")
        assert len(ws.labels(identity)) == half.sum()  # saved though the batch is unfinished
        assert len(list(folder.glob("request-*.csv"))) == 1


def test_the_human_oracle_creates_only_its_own_folder(tmp_path):
    deep = tmp_path / "no" / "such" / "labels"
    with pytest.raises(assay.exceptions.InvalidParameterError, match="its parent .* does not exist"):
        aggregate(day(100), oracle=f"human:{deep}", proxy="proxy", budget=10, range=(0, 1), seed=0)
    assert not (tmp_path / "no").exists()


def test_a_stale_human_answer_is_not_used_for_a_changed_record(tmp_path):
    records = day(200)
    folder = tmp_path / "labels"
    oracle = HumanOracle(folder, fields=["note"])
    with pytest.raises(LabelsPending):
        aggregate(records.assign(note="frame a"), oracle=oracle, proxy="proxy", budget=10,
                  range=(0, 1), seed=0, batch_size=10)
    request = next(folder.glob("request-*.csv"))
    df = pd.read_csv(request)
    df["label"] = 1
    df.to_csv(request, index=False)
    done = aggregate(records.assign(note="frame a"), oracle=oracle, proxy="proxy", budget=10,
                     range=(0, 1), seed=0, batch_size=10)
    assert done.oracle_calls == 10
    with pytest.raises(LabelsPending):  # the records people judged changed: ask again
        aggregate(records.assign(note="frame b"), oracle=oracle, proxy="proxy", budget=10,
                  range=(0, 1), seed=0, batch_size=10)


def test_answers_are_not_keyed_by_the_proxy():
    records = day()

    def model(rows):
        return rows["label"].to_numpy()

    with assay.Workspace() as ws:
        a = select(records, proxy="proxy", oracle=model, budget=300, seed=1, workspace=ws, name="r")
        rescored = records.assign(proxy=records["proxy"] ** 2)
        b = select(rescored, proxy="proxy", oracle=model, budget=300, seed=1, workspace=ws, name="r")
    # a new proxy is not a new record: answers for records sampled again are reused
    assert b.labels_paid < b.oracle_calls and a.labels_paid == a.oracle_calls
