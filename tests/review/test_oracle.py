"""PageOracle and its Board: answers handed to a query one by one, each stored before the page
hears it is saved; a withdrawn board cancels the query and keeps its answers; a rerun asks
only for what is missing."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

import assay
from assay.exceptions import InvalidParameterError
from assay.review import Board, PageOracle, QueryJob, QuestionsWithdrawn, parse_page_oracle

pytestmark = pytest.mark.timeout(120)


def test_identity_answers_and_specs():
    o = PageOracle("cars in view", label_set="second-pass", range=(0, 12))
    assert o.identity("file:/a.csv") == o.identity("table:x") == "review:cars in view#second-pass"
    assert o.detail() == {"question": "cars in view", "label_set": "second-pass", "yes_no": False, "range": [0.0, 12.0]}
    assert o.check_answer("3") == 3.0
    for bad in (13, -1, "x", None, float("nan")):
        with pytest.raises(InvalidParameterError, match="cars in view"):
            o.check_answer(bad)
    yes_no = PageOracle("a bus?", yes_no=True)
    assert yes_no.check_answer(True) == 1.0 and yes_no.range == (0.0, 1.0)
    with pytest.raises(InvalidParameterError, match="yes"):
        yes_no.check_answer(0.5)
    for question in ("", "  ", "a#b", "x" * 301):
        with pytest.raises(InvalidParameterError, match="question"):
            PageOracle(question)
    with pytest.raises(InvalidParameterError, match="range"):
        PageOracle("q", range=(3, 3))
    assert parse_page_oracle("review:cars in view").identity("x") == "review:cars in view#default"
    with pytest.raises(InvalidParameterError, match="review:QUESTION"):
        parse_page_oracle("human:cars")
    with pytest.raises(InvalidParameterError, match="assay review"):
        PageOracle("q")(pd.DataFrame({"id": [1]}))  # no board: nobody to ask


def wait_for(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (got := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
    return got


def test_each_answer_is_stored_before_the_page_is_told(ws_path):
    job = QueryJob(ws_path, "aggregate", {"records": "frames", "proxy": "proxy", "oracle": "review:people#t1",
                                          "value_range": (0, 30), "budget": 6, "batch_size": 3, "seed": 0}).start()
    stored = []
    for _ in range(2):
        batch = wait_for("a batch", lambda: (b := job.board.current()) and not b.given and b.open and b)
        assert list(batch.rows.columns) == ["id", "stream", "frame"]
        with pytest.raises(InvalidParameterError, match=r"\[0, 30\]"):
            job.board.answer(batch.number, 0, 40)
        for k, p in enumerate(list(batch.open)):
            assert job.board.answer(batch.number, p, 2 + p) == {"saved": True}
            stored.append(int(batch.rows["id"][p]))
            with assay.Workspace(ws_path) as ws:  # committed: another connection sees it
                assert sorted(ws.get_labels("review:people#t1").index) == sorted(stored)
            if k == 0:  # a second tab answering the same record
                assert job.board.answer(batch.number, p, 5)["reason"].startswith("already answered")
    job.join(timeout=30)
    assert job.state == "done", job.error
    assert job.result["oracle_calls"] == 6 and len(job.path_of_interval) >= 2
    assert job.board.answer(1, 0, 1)["saved"] is False  # the batch is over


def test_a_withdrawn_board_cancels_the_query_and_a_rerun_asks_only_the_rest(ws_path):
    params = {"records": "frames", "proxy": "proxy", "oracle": "review:busy?", "recall": 0.8, "budget": 8,
              "batch_size": 4, "seed": 3}
    job = QueryJob(ws_path, "select", params).start()
    batch = wait_for("a batch", job.board.current)
    assert job.oracle.yes_no and job.describe()["target"] == {"recall": 0.8}
    first = batch.open[:2]
    for p in first:
        assert job.board.answer(batch.number, p, 1)["saved"]
    asked = batch.rows["id"].tolist()
    job.cancel("the person went home")
    job.join(timeout=30)
    assert job.state == "cancelled" and "went home" in job.error
    with assay.Workspace(ws_path) as ws:
        run = ws.runs().iloc[-1]
        assert run["status"] == "cancelled"
        kept = ws.get_labels("review:busy?#default")
    assert sorted(kept.index) == sorted(batch.rows["id"][p] for p in first)

    again = QueryJob(ws_path, "select", params).start()
    rest = wait_for("the batch again", again.board.current)
    assert rest.rows["id"].tolist() == [i for i in asked if i not in kept.index]
    again.cancel()
    again.join(timeout=30)


def test_a_board_waits_for_its_oracle():
    board = Board()
    oracle = PageOracle("count", range=(0, 5), board=board)
    rows = pd.DataFrame({"id": [10, 11, 12], "x": [1, 2, 3]})
    out: dict = {}

    def ask():
        try:
            out["values"] = oracle(rows).tolist()
        except QuestionsWithdrawn as exc:
            out["withdrawn"] = str(exc)

    t = threading.Thread(target=ask)
    t.start()
    batch = wait_for("the batch", board.current)
    assert board.answer(batch.number + 1, 0, 1) == {"saved": False, "reason": "this batch is over: the page shows the next one"}
    with pytest.raises(InvalidParameterError, match="position 7"):
        board.answer(batch.number, 7, 1)
    assert board.answer(batch.number, 2, 5)["saved"]
    board.withdraw("stopped on the page")
    t.join(timeout=10)
    assert out == {"withdrawn": "stopped on the page"}
    assert batch.failed == "stopped on the page" and board.answers_saved == 1


def test_a_count_of_records_passing_a_question(ws_path):
    job = QueryJob(ws_path, "aggregate", {"records": "frames", "proxy": "proxy", "oracle": None, "stat": "count",
                                          "where": "review:busy frame?", "budget": 4, "batch_size": 2,
                                          "seed": 1}).start()
    assert job.oracle is None and job.where.yes_no and job.describe()["question"] == "busy frame?"
    for _ in range(2):
        batch = wait_for("a batch", lambda: (b := job.board.current()) and not b.given and b.open and b)
        for p in list(batch.open):
            assert job.board.answer(batch.number, p, p % 2) == {"saved": True}
    job.join(timeout=30)
    assert job.state == "done", job.error
    assert job.result["stat"] == "count" and job.result["oracle_calls"] == 4
    assert 0 <= job.result["lower"] <= job.result["estimate"] <= job.result["upper"] <= 250
