"""``assay review`` as a process: killed with SIGKILL between two answers it loses none and
asks none again; other assay commands use the workspace while it serves (and while its query
waits for the person); Ctrl-C stops it and its query."""

from __future__ import annotations

import subprocess
import sys

import pytest

import assay
from assay.review.queues import ANSWERS_TABLE

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")]

QUERY = "aggregate -r frames -p proxy -o 'review:people#kill' --range 0 30 --batch-size 3 --budget 6"


def batch_of(server, not_number=None):
    def ready():
        status, state = server.call("/api/query")
        assert status == 200, state
        if state["job"]["state"] == "failed":
            raise AssertionError(state["job"]["error"])
        b = state["batch"]
        return b if b and b["number"] != not_number else None

    return server.wait_for(ready, "a batch to answer")


def test_a_killed_server_loses_no_answer_and_asks_none_again(ws_path, server_process):
    server = server_process(ws_path, "--query", QUERY)
    _, finding = server.call("/api/item", kind="findings", tab="A")
    status, saved = server.call("/api/answer", {"kind": "findings", "key": finding["item"]["key"],
                                                "answer": {"action": "reject"}, "tab": "A"})
    assert status == 200 and saved["rejected"] == len(finding["item"]["subjects"])
    first = batch_of(server)
    asked = [r["id"] for r in first["records"]]
    assert len(asked) == 3
    status, got = server.call("/api/query/answer", {"batch": first["number"], "position": first["records"][0]["position"],
                                                    "value": 7})
    assert (status, got) == (200, {"saved": True})
    server.kill()  # between two answers

    with assay.Workspace(ws_path, read_only=True) as ws:
        assert ws.get_labels("review:people#kill").to_dict() == {asked[0]: 7.0}
        assert ws.read(ANSWERS_TABLE)["item"].tolist() == [finding["item"]["key"]]
        assert len(ws.read("curate.verdicts")) == len(finding["item"]["subjects"])

    again = server_process(ws_path, "--query", QUERY)
    _, nxt = again.call("/api/item", kind="findings", tab="A")
    assert nxt["item"]["key"] != finding["item"]["key"] and nxt["left"] == 6
    resumed = batch_of(again)
    assert [r["id"] for r in resumed["records"]] == asked[1:]  # the same batch, less the answer
    values = {asked[0]: 7.0}
    number = None
    while True:
        b = batch_of(again, not_number=number)
        number = b["number"]
        for r in b["records"]:
            status, got = again.call("/api/query/answer", {"batch": number, "position": r["position"], "value": 3})
            assert status == 200, got
            values[r["id"]] = 3.0
        if len(values) == 6:
            break
    done = again.wait_for(lambda: (s := again.call("/api/query")[1])["job"]["state"] == "done" and s, "the result")
    result = done["job"]["result"]
    assert result["oracle_calls"] == 6 and result["labels_paid_now"] == 5 and result["stopped"] == "budget"
    assert "Traceback" not in again.stop()
    with assay.Workspace(ws_path, read_only=True) as ws:
        assert ws.get_labels("review:people#kill").to_dict() == values
        assert len(ws.read(ANSWERS_TABLE)) == 1


def test_other_commands_use_the_workspace_while_the_server_waits(ws_path, server_process):
    import threading

    server = server_process(ws_path, "--query", QUERY, "--boxes", "tracker")
    batch_of(server)  # the query waits for the person, without holding the file
    polling = threading.Event()

    def page():  # an open Queries tab asks for the batch every 0.7 s
        while not polling.is_set():
            assert server.call("/api/query")[0] == 200
            polling.wait(0.7)

    poller = threading.Thread(target=page, daemon=True)
    poller.start()
    for args in (["info", ws_path], ["runs", "-w", ws_path, "--json"],
                 ["labels", "list", "-w", ws_path]):
        proc = subprocess.run([sys.executable, "-m", "assay.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "assay.cli", "check", "-w", str(ws_path), "-o", "tracker",
                           "-a", "builtin:appear", "--set", "appear.min_duration=1"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    polling.set()
    poller.join(timeout=30)
    _, opts = server.call("/api/options", kind="findings")
    assert len(opts["options"]["run"]) == 2  # the new check run is on the page at once
    err = server.stop()
    assert "Traceback" not in err
    with assay.Workspace(ws_path, read_only=True) as ws:
        runs = ws.runs()
        query = runs.loc[runs["kind"] == "query"].iloc[-1]
        assert query["status"] == "cancelled"  # Ctrl-C stopped its query; answers so far are kept
