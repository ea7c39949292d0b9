"""Oracle labels: stored once, found again, never paid for twice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InvalidParameterError, WorkspaceError
from assay.store import Workspace


@pytest.fixture
def ws():
    with Workspace() as w:
        yield w


def test_put_and_get_int_ids(ws):
    assert ws.put_labels("o", np.array([5, 1, 3]), [0.5, 0.1, 0.3]) == 3
    got = ws.get_labels("o")
    assert got.index.tolist() == [1, 3, 5] and got.index.dtype == np.dtype("int64")
    assert got.tolist() == [0.1, 0.3, 0.5]
    assert got.name == "o" and got.index.name == "id" and got.dtype == np.dtype("float64")
    some = ws.get_labels("o", [3, 99, 5, 3])
    assert some.index.tolist() == [3, 5, 3] and some.tolist() == [0.3, 0.5, 0.3]
    assert ws.get_labels("other").empty
    assert ws.get_labels("o", []).empty


def test_put_and_get_str_ids(ws):
    ws.put_labels("o", pd.Series(["b", "a"], dtype="string[pyarrow]"), np.array([2.0, 1.0]))
    got = ws.get_labels("o")
    assert got.index.tolist() == ["a", "b"] and got.tolist() == [1.0, 2.0]
    assert ws.get_labels("o", ["b", "zz"]).to_dict() == {"b": 2.0}


def test_int_and_str_ids_share_the_text_key(ws):
    ws.put_labels("o", [7], [1.0])
    assert ws.get_labels("o", ["7"]).to_dict() == {"7": 1.0}
    ws.put_labels("o", ["x"], [2.0])
    mixed = ws.get_labels("o")
    assert mixed.to_dict() == {7: 1.0, "x": 2.0}


def test_oracles_are_separate_and_listed(ws):
    ws.put_labels("a", [1, 2], [1.0, 2.0])
    ws.put_labels("b", [1], [9.0])
    assert ws.get_labels("a", [1]).tolist() == [1.0]
    assert ws.get_labels("b", [1]).tolist() == [9.0]
    listing = ws.oracles()
    assert listing["oracle"].tolist() == ["a", "b"] and listing["labels"].tolist() == [2, 1]
    assert (listing["last"] >= listing["first"]).all()


def test_put_again_replaces_the_value(ws):
    ws.put_labels("o", [1, 2], [1.0, 2.0], run_id="query-1")
    ws.put_labels("o", [2, 3], [20.0, 3.0], run_id="query-2")
    assert ws.get_labels("o").to_dict() == {1: 1.0, 2: 20.0, 3: 3.0}
    with ws.transaction():  # twice in one transaction too
        ws.put_labels("o", [3], [30.0])
        ws.put_labels("o", [3], [300.0])
    assert ws.get_labels("o", [3]).tolist() == [300.0]
    runs = dict(ws._query("SELECT id, run_id FROM _assay.labels ORDER BY id"))
    assert runs == {"1": "query-1", "2": "query-2", "3": None}


@pytest.mark.parametrize(
    ("ids", "values", "match"),
    [
        ([1, 1], [1.0, 2.0], "must not repeat an id. Got 1 more than once"),
        ([1, "a"], [1.0, 2.0], "must hold integers or strings, one kind per call"),
        ([1.5, 2.0], [1.0, 2.0], "must hold integers or strings"),
        ([True, False], [1.0, 2.0], "must hold integers or strings"),
        (pd.array([1, None], dtype="Int64"), [1.0, 2.0], "must not have missing ids. Got a missing id at position 1"),
        (["a", None], [1.0, 2.0], "must not have missing ids"),
        (np.zeros((2, 2)), [1.0, 2.0], "must be a 1-D array-like"),
        (5, [1.0], "must be a 1-D array-like"),
        ("abc", [1.0], "must be a 1-D array-like"),
        ([1, 2], [1.0], r"must give one number per id \(2\)"),
        ([1, 2], [1.0, np.nan], "must not be NaN"),
        ([1, 2], ["a", "b"], "must be numbers"),
    ],
)
def test_bad_labels_are_refused(ws, ids, values, match):
    with pytest.raises(InvalidParameterError, match=match):
        ws.put_labels("o", ids, values)
    assert ws.get_labels("o").empty


def test_bad_oracle_key(ws):
    with pytest.raises(InvalidParameterError, match="The 'oracle' parameter of put_labels must be a non-empty key"):
        ws.put_labels(" ", [1], [1.0])
    with pytest.raises(InvalidParameterError, match="The 'oracle' parameter of get_labels must be a str"):
        ws.get_labels(3)


def test_labels_persist_across_close_and_reopen(tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.put_labels("o", np.arange(1000), np.arange(1000) / 10)
        ws.put_labels("s", ["x", "y"], [1.0, 0.0])
    with Workspace(path) as ws:
        got = ws.get_labels("o")
        assert got.index.tolist() == list(range(1000))
        np.testing.assert_array_equal(got.to_numpy(), np.arange(1000) / 10)
        assert ws.get_labels("s").to_dict() == {"x": 1.0, "y": 0.0}


def test_fetch_labels_pays_once(ws):
    calls: list[list[int]] = []

    def oracle(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.tolist())
        return batch * 2.0

    ws.put_labels("x2", [4], [8.0])
    got = ws.fetch_labels("x2", [1, 4, 2, 1, 3, 5, 2], oracle, batch_size=2)
    assert got.tolist() == [2.0, 8.0, 4.0, 2.0, 6.0, 10.0, 4.0]
    assert got.index.tolist() == [1, 4, 2, 1, 3, 5, 2]
    assert calls == [[1, 2], [3, 5]]
    again = ws.fetch_labels("x2", np.array([5, 1, 6]), oracle)
    assert again.tolist() == [10.0, 2.0, 12.0]
    assert calls[-1] == [6] and len(calls) == 3


def test_fetch_labels_str_ids(ws):
    got = ws.fetch_labels("len", ["aa", "b", "aa"], lambda ids: [len(i) for i in ids])
    assert got.to_dict() == {"aa": 2.0, "b": 1.0}
    assert got.tolist() == [2.0, 1.0, 2.0]


def test_fetch_labels_keeps_paid_batches_when_the_oracle_fails(ws):
    calls = []

    def flaky(batch):
        calls.append(batch.tolist())
        if len(calls) == 3:
            raise TimeoutError("labeling service down")
        return np.ones(len(batch))

    with pytest.raises(TimeoutError):
        ws.fetch_labels("h", np.arange(10), flaky, batch_size=3)
    assert ws.get_labels("h").index.tolist() == [0, 1, 2, 3, 4, 5]
    calls.clear()
    ws.fetch_labels("h", np.arange(10), lambda b: calls.append(b.tolist()) or np.zeros(len(b)))
    assert calls == [[6, 7, 8, 9]]


def test_fetch_labels_checks_the_answers(ws):
    with pytest.raises(InvalidParameterError, match=r"The 'fn' of fetch_labels must give one number per id \(2\)"):
        ws.fetch_labels("o", [1, 2], lambda b: [1.0])
    with pytest.raises(InvalidParameterError, match="The 'fn' of fetch_labels must not be NaN"):
        ws.fetch_labels("o", [1, 2], lambda b: [1.0, np.nan])
    with pytest.raises(InvalidParameterError, match="The 'batch_size' parameter of fetch_labels"):
        ws.fetch_labels("o", [1, 2], lambda b: b, batch_size=0)
    assert ws.get_labels("o").empty


def test_fetch_labels_refuses_to_run_inside_a_transaction(ws):
    with ws.transaction():
        with pytest.raises(WorkspaceError, match="cannot run inside a transaction"):
            ws.fetch_labels("o", [1], lambda b: b * 1.0)


def test_threads_share_a_workspace(ws):
    import threading

    errors = []

    def work(k: int) -> None:
        try:
            for b in range(20):
                ids = np.arange(b * 10, b * 10 + 10) + k * 1000
                ws.fetch_labels("t", ids, lambda i: i * 1.0, batch_size=4)
                ws.get_labels("t", ids)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    with ws.transaction():  # other threads wait for it
        ws.put_labels("t", [-1], [5.0])
    for t in threads:
        t.join()
    assert errors == []
    assert len(ws.get_labels("t")) == 3 * 200 + 1
