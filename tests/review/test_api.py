"""The review app over HTTP (Starlette's TestClient): tokens, hosts, the queues, answers and
what they write, two tabs, and image files that must stay under the images folder."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import assay
from assay.curate import FRAME_ORACLE, assertion_precision, verdict_oracle
from assay.review import ReviewServer, create_app
from assay.review.queues import ANSWERS_TABLE, LABELS_TABLE, FindingsQueue

from .conftest import write_png


@pytest.fixture
def app(ws_path, tmp_path):
    images = tmp_path / "images"
    write_png(images / "TUD-Campus" / "img1" / "000026.jpg".replace(".jpg", ".png"))
    server = ReviewServer(ws_path, images=images, image_layout="{stream}/img1/{frame:06d}.png")
    with TestClient(create_app(server), base_url="http://127.0.0.1") as client:
        client.headers["X-Assay-Token"] = server.token
        yield client, server


def item(client, kind="findings", tab="A", **params):
    r = client.get("/api/item", params={"kind": kind, "tab": tab, **params})
    assert r.status_code == 200, r.text
    return r.json()


def answer(client, got, action="accept", tab="A", **extra):
    return client.post("/api/answer", json={"kind": got["item"]["kind"], "key": got["item"]["key"],
                                            "answer": {"action": action, **extra}, "tab": tab})


def test_every_api_request_needs_the_session_token(app):
    client, server = app
    page = client.get("/")
    assert page.status_code == 200 and server.token in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    got = item(client)
    for token in (None, "", "not-the-token", server.token[:-1]):
        headers = {"X-Assay-Token": token} if token is not None else {}
        bare = TestClient(client.app, base_url="http://127.0.0.1")
        assert bare.get("/api/item", params={"kind": "findings"}, headers=headers).status_code == 403
        r = bare.post("/api/answer", headers=headers, json={"kind": "findings", "key": got["item"]["key"],
                                                            "answer": {"action": "accept"}})
        assert r.status_code == 403
        assert bare.post("/api/query/stop", headers=headers, json={}).status_code == 403
    with assay.Workspace(server.path) as ws:
        assert ANSWERS_TABLE not in ws  # nothing was written
    # a page served under another host name (DNS rebinding) is refused
    other = TestClient(client.app, base_url="http://attacker.example")
    assert other.get("/").status_code == 400
    assert other.get("/api/item", headers={"X-Assay-Token": server.token}).status_code == 400


def test_findings_most_severe_first_filtered(app):
    client, _ = app
    opts = client.get("/api/options", params={"kind": "findings"}).json()
    assert opts["total"] == opts["left"] == 7 and opts["options"]["assertion"] == ["appear"]
    severities = []
    for offset in range(7):
        severities.append(item(client, offset=offset)["item"]["severity"])
    assert severities == sorted(severities, reverse=True) and len(severities) == 7
    assert item(client, offset=99)["position"] == 6  # past the end: the last one
    stadt = item(client, stream="TUD-Stadtmitte")
    assert stadt["item"]["stream"] == "TUD-Stadtmitte" and stadt["left"] == 1
    assert item(client, min_severity="0.4")["left"] == 2
    bad = client.get("/api/item", params={"kind": "findings", "min_severity": "lots"})
    assert bad.status_code == 400 and "min_severity" in bad.json()["error"]
    assert client.get("/api/item", params={"kind": "nope"}).status_code == 400


def test_an_item_is_drawn_with_its_boxes_and_image(app):
    client, _ = app
    got = item(client)["item"]
    assert got["stream"] == "TUD-Campus" and (got["frame_start"], got["frame_end"]) == (26, 31)
    assert [f["frame"] for f in got["frames"]] == [26, 28, 31]
    first = got["frames"][0]["svg"]
    for oid in got["subjects"]:
        if f'data-obs="{oid}"' in first:
            break
    else:
        raise AssertionError("no subject box drawn on the first frame")
    assert 'class="box hit"' in first and "/images/TUD-Campus/img1/000026.png" in first
    assert "<image" not in got["frames"][1]["svg"]  # no image of frame 28: a blank canvas
    assert 'class="canvas"' in got["frames"][1]["svg"]
    png = client.get("/images/TUD-Campus/img1/000026.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"


def test_accept_reject_and_edit_write_verdicts_in_one_answer_each(app):
    client, server = app
    first = item(client)
    assert answer(client, first, "accept").json()["accepted"] == len(first["item"]["subjects"])
    second = item(client)
    assert second["item"]["key"] != first["item"]["key"] and second["left"] == 6
    assert answer(client, second, "reject").json()["rejected"] == len(second["item"]["subjects"])
    third = item(client)
    moved, gone = third["item"]["subjects"][:2]
    r = answer(client, third, "edit", boxes=[{"obs_id": moved, "verdict": "corrected", "box": [10, 20, 60, 140]},
                                             {"obs_id": gone, "verdict": "rejected"}],
               added=[{"frame": third["item"]["frame_start"], "box": [300, 40, 340, 160], "cls": "pedestrian"}])
    assert r.status_code == 200, r.text
    assert r.json() == {"saved": True, "key": third["item"]["key"], "accepted": len(third["item"]["subjects"]) - 2,
                        "rejected": 1, "corrected": 1, "added": 1, "labels": 0}
    with assay.Workspace(server.path) as ws:
        answers = ws.read(ANSWERS_TABLE)
        assert answers["action"].tolist() == ["accept", "reject", "edit"]
        assert answers["item"].tolist() == [g["item"]["key"] for g in (first, second, third)]
        verdicts = ws.read("curate.verdicts")
        labels = ws.get_labels(verdict_oracle(ws, "tracker"))
        expect = {**{o: 1.0 for o in first["item"]["subjects"]}, **{o: 0.0 for o in second["item"]["subjects"]},
                  **{o: 1.0 for o in third["item"]["subjects"]}, moved: 2.0, gone: 0.0}
        assert labels.to_dict() == expect
        corrected = verdicts.loc[verdicts["verdict"] == "corrected"]
        assert corrected[["obs_id", "x1", "y1", "x2", "y2"]].values.tolist() == [[moved, 10, 20, 60, 140]]
        added = verdicts.loc[verdicts["verdict"] == "added"]
        assert added[["frame", "cls", "x1"]].values.tolist() == [[third["item"]["frame_start"], "pedestrian", 300.0]]
        # each judged finding is evidence of its assertion's precision
        prec = assertion_precision(ws).set_index("arm")
        assert prec.loc["appear", "confirmed"] > 0
        reviewed = set(ws.get_labels(FRAME_ORACLE).index)
        assert f"TUD-Campus#{first['item']['frame_start']}" in reviewed


def test_answers_are_checked_against_the_item(app):
    client, server = app
    got = item(client)
    other = item(client, offset=1)["item"]["subjects"][0]
    cases = [
        {"action": "maybe"},
        {"action": "edit", "boxes": [{"obs_id": other, "verdict": "corrected", "box": [1, 2, 3, 4]}]},
        {"action": "edit", "boxes": [{"obs_id": got["item"]["subjects"][0], "verdict": "corrected",
                                      "box": [1, 2, "x", 4]}]},
        {"action": "edit", "boxes": [{"obs_id": got["item"]["subjects"][0], "verdict": "corrected",
                                      "box": [5, 5, 5, 9]}]},
        {"action": "edit", "added": [{"frame": 9999, "box": [1, 2, 30, 40], "cls": "car"}]},
        {"action": "edit", "added": [{"frame": got["item"]["frame_start"], "box": [1, 2, 30, 40], "cls": ""}]},
    ]
    for case in cases:
        r = client.post("/api/answer", json={"kind": "findings", "key": got["item"]["key"], "answer": case})
        assert r.status_code == 400, (case, r.text)
    assert client.post("/api/answer", json={"kind": "findings", "key": "findings:nope", "answer": {"action": "accept"}}).status_code == 400
    assert client.post("/api/answer", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post("/api/answer", content=b"x=1", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    with assay.Workspace(server.path) as ws:
        assert ANSWERS_TABLE not in ws and "curate.verdicts" not in ws


def test_two_tabs_are_shown_different_items_and_never_answer_one_twice(app):
    client, server = app
    a, b = item(client, tab="A"), item(client, tab="B")
    assert a["item"]["key"] != b["item"]["key"]
    assert answer(client, a, "accept", tab="A").status_code == 200
    again = answer(client, a, "reject", tab="B")  # B had it open too, in an old page
    assert again.status_code == 409 and "answered already" in again.json()["error"]
    assert item(client, tab="B")["item"]["key"] == b["item"]["key"]
    assert item(client, tab="A")["item"]["key"] not in (a["item"]["key"], b["item"]["key"])
    with assay.Workspace(server.path) as ws:
        assert len(ws.read(ANSWERS_TABLE)) == 1
        assert set(ws.read("curate.verdicts")["verdict"]) == {"accepted"}


def test_a_confirmed_audit_candidate_becomes_review_labels(app):
    client, server = app
    got = item(client, kind="audit")
    assert got["item"]["arm"] == "missing_label" and got["left"] == 3
    assert answer(client, got, "accept").json()["labels"] == len(got["item"]["subjects"])
    rejected = item(client, kind="audit")
    assert answer(client, rejected, "reject").json() == {
        "saved": True, "key": rejected["item"]["key"], "accepted": 0,
        "rejected": len(rejected["item"]["subjects"]), "corrected": 0, "added": 0, "labels": 0}
    with assay.Workspace(server.path) as ws:
        labels = ws.read(LABELS_TABLE)
        tracker = ws.read("tracker").set_index("obs_id")
        assert len(labels) == len(got["item"]["subjects"]) and set(labels["source"]) == {"review"}
        assert set(labels["labels_table"]) == {"labels"} and labels["obs_id"].is_unique
        src = tracker.loc[labels["from_obs_id"].astype(int)]
        np.testing.assert_allclose(labels[["x1", "y1", "x2", "y2"]].to_numpy(), src[["x1", "y1", "x2", "y2"]].to_numpy())
        assert labels["frame"].tolist() == src["frame"].tolist() and set(labels["stream"]) == {got["item"]["stream"]}
        assert ws.table_info("labels")["revision"] == 1  # the labelers' table is left as it was
        verdicts = ws.get_labels(verdict_oracle(ws, "tracker"))
        assert set(verdicts.loc[rejected["item"]["subjects"]]) == {0.0}


def test_curation_queue_in_priority_order_without_reviewed_frames(app):
    client, server = app
    with assay.Workspace(server.path) as ws:
        queued = assay.curate.Campaign(ws, "default").queue()
    first = item(client, kind="curation")
    assert (first["item"]["stream"], first["item"]["frame_start"]) == (queued["stream"][0], queued["frame"][0])
    subjects = first["item"]["subjects"]
    with assay.Workspace(server.path) as ws:
        here = ws.read("tracker", stream=first["item"]["stream"], frames=(first["item"]["frame_start"],) * 2)
    assert sorted(subjects) == sorted(here["obs_id"].tolist())  # every box of the frame is judged
    r = answer(client, first, "edit", boxes=[{"obs_id": subjects[0], "verdict": "rejected"}])
    assert r.json()["rejected"] == 1 and r.json()["accepted"] == len(subjects) - 1
    # a frame reviewed elsewhere (assay curate import) leaves the queue too
    second = (queued["stream"][1], int(queued["frame"][1]))
    with assay.Workspace(server.path) as ws:
        assay.curate.import_verdicts([{"stream": second[0], "frame": second[1], "verdict": "added",
                                       "box": [1, 1, 9, 9], "cls": "pedestrian"}], ws)
        reviews = ws.read("curate.reviews")
    assert reviews["arm"].iloc[0] == first["item"]["arm"]
    import time

    time.sleep(2.1)  # frames reviewed elsewhere are looked up every 2 s
    nxt = item(client, kind="curation")
    assert (nxt["item"]["stream"], nxt["item"]["frame_start"]) == (queued["stream"][2], queued["frame"][2])
    assert nxt["left"] == len(queued) - 2


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_images_are_served_only_from_under_the_folder(app, tmp_path):
    client, server = app
    root = server.images.root
    secret = write_png(tmp_path / "secret.png", rgb=(255, 0, 0))
    (root / "notes.txt").write_text("not an image")
    os.symlink(secret, root / "link.png")
    os.symlink(tmp_path, root / "out")
    bad = ["/images/../secret.png", "/images/%2e%2e/secret.png", "/images/%2E%2E%2Fsecret.png",
           "/images/TUD-Campus/../../secret.png", "/images/%252e%252e/secret.png",
           "/images//etc/passwd", "/images/%2Fetc%2Fpasswd", f"/images/{secret}", "/images/link.png",
           "/images/out/secret.png", "/images/notes.txt", "/images/..%5Csecret.png",
           "/images/TUD-Campus/img1/000026.png%00.txt", "/images/", "/images/nope.png"]
    for url in bad:
        r = client.get(url)
        assert r.status_code in (403, 404), (url, r.status_code)
        assert r.content != secret.read_bytes()
    assert client.get("/images/link.png").status_code == 403
    assert client.get("/images/out/secret.png").status_code == 403
    assert client.get("/images/TUD-Campus/img1/000026.png").status_code == 200
    # the raw path, as a client that does not normalise '..' sends it
    raw = client.build_request("GET", "http://127.0.0.1/images/x")
    raw.url = raw.url.copy_with(raw_path=b"/images/../secret.png")
    assert client.send(raw).status_code in (403, 404)


def test_a_page_query_asks_through_the_api(app):
    client, server = app
    spec = {"verb": "aggregate", "params": {"records": "frames", "proxy": "proxy", "oracle": "review:people#api",
                                            "value_range": [0, 30], "budget": 6, "batch_size": 3, "seed": 0},
            "boxes": "tracker"}
    assert client.post("/api/query", json=spec).json()["started"]
    assert client.post("/api/query", json=spec).status_code == 400  # one at a time
    seen = []
    for _ in range(2):
        state = wait(client, lambda s: s["batch"] and s["batch"]["number"] not in seen)
        batch = state["batch"]
        seen.append(batch["number"])
        assert batch["range"] == [0, 30] and not batch["yes_no"]
        rec = batch["records"][0]
        assert set(rec["fields"]) == {"stream", "frame"}  # the proxy is not shown
        assert rec["frame"].startswith("<svg") and f"frame {rec['fields']['frame']}" in rec["frame"]
        bad = client.post("/api/query/answer", json={"batch": batch["number"], "position": batch["records"][0]["position"],
                                                     "value": 31})
        assert bad.status_code == 400 and "[0, 30]" in bad.json()["error"]
        for rec in batch["records"]:
            r = client.post("/api/query/answer", json={"batch": batch["number"], "position": rec["position"], "value": 4})
            assert r.json() == {"saved": True}
        dup = client.post("/api/query/answer", json={"batch": batch["number"], "position": batch["records"][0]["position"],
                                                     "value": 5})
        assert dup.status_code == 409
    done = wait(client, lambda s: s["job"]["state"] == "done")
    result = done["job"]["result"]
    assert result["oracle_calls"] == 6 and result["stopped"] == "budget" and result["estimate"] == 4.0
    assert [p["labels"] for p in done["job"]["path"]] == [3, 6]
    with assay.Workspace(server.path) as ws:
        assert ws.get_labels("review:people#api").tolist() == [4.0] * 6


def test_a_sql_query_asks_the_page_and_answers_as_sql_would(app):
    """A query of `assay sql` whose oracle is named with a review: spec is asked on the page,
    only about the records that pass its cheap conditions; the answers are stored under the
    spec, as any page answer."""
    client, server = app
    with assay.Workspace(server.path) as ws:
        ws.add_oracle("people", "review:people#sql", value_range=(0, 30))
        ws.add_oracle("busy", "review:is it busy#sql")
    q = "SELECT AVG(people(frame)) FROM frames WHERE frame > 2 ORACLE LIMIT 6 USING proxy WITH PROBABILITY 90%"
    for bad, why in ((q.replace("WITH PROBABILITY", "GROUP BY stream WITH PROBABILITY"), "GROUP BY stream"),
                     ("SELECT count(*) FROM frames", "exact SQL"),
                     (q.replace("LIMIT 6", "LIMT 6"), "line 1, column")):
        r = client.post("/api/query", json={"verb": "sql", "params": {"query": bad}})
        assert r.status_code == 400 and why in r.json()["error"], r.json()
    started = client.post("/api/query", json={"verb": "sql", "params": {"query": q, "batch_size": 3},
                                               "boxes": "tracker"}).json()
    assert started["job"]["verb"] == "aggregate" and started["job"]["sql"] == q
    asked = set()
    for _ in range(2):
        state = wait(client, lambda s: s["batch"] and s["batch"]["records"]
                     and not {r["id"] for r in s["batch"]["records"]} & asked)
        batch = state["batch"]
        assert state["job"]["question"] == "people" and batch["range"] == [0, 30]
        for rec in batch["records"]:
            assert rec["fields"]["frame"] > 2  # the cheap condition ran before the page was asked
            asked.add(rec["id"])
            assert client.post("/api/query/answer", json={"batch": batch["number"], "position": rec["position"],
                                                          "value": rec["fields"]["frame"] % 5}).json()["saved"]
    done = wait(client, lambda s: s["job"]["state"] == "done")
    result = done["job"]["result"]
    assert result["oracle_calls"] == 6 and result["delta"] == pytest.approx(0.1)
    with assay.Workspace(server.path) as ws:
        labels = ws.get_labels("review:people#sql")
        assert sorted(labels.index) == sorted(asked) and len(labels) == 6
    # a selection asks yes / no, its oracle a page question
    sel = "SELECT * FROM frames WHERE busy(frame) ORACLE LIMIT 3 USING proxy RECALL TARGET 80%"
    job = client.post("/api/query", json={"verb": "sql", "params": {"query": sel, "batch_size": 3}}).json()["job"]
    assert job["verb"] == "select" and job["target"] == {"recall": 0.8} and job["yes_no"]
    while (state := wait(client, lambda s: s["job"]["state"] == "done" or s["batch"] and s["batch"]["records"]))[
            "job"]["state"] != "done":
        for rec in state["batch"]["records"]:
            client.post("/api/query/answer", json={"batch": state["batch"]["number"], "position": rec["position"],
                                                   "value": 1})
    done = state
    assert done["job"]["result"]["oracle_calls"] == 3 and done["job"]["result"]["selected"] >= 3


def wait(client, predicate, timeout=30.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get("/api/query").json()
        if state.get("job") and state["job"]["state"] == "failed":
            raise AssertionError(state["job"]["error"])
        if predicate(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"timed out: {state}")


def test_the_queues_are_empty_without_runs(tmp_path):
    path = tmp_path / "empty.duckdb"
    with assay.Workspace(path) as ws:
        ws.add("t", pd.DataFrame({"x": [1]}), kind="table")
    server = ReviewServer(path)
    with TestClient(create_app(server), base_url="http://127.0.0.1") as client:
        client.headers["X-Assay-Token"] = server.token
        for kind in ("findings", "audit", "curation"):
            assert item(client, kind=kind) == {"item": None, "left": 0, "position": 0}
        assert client.get("/api/query").json()["job"] is None


def test_public_names():
    import importlib
    import subprocess
    import sys

    review = importlib.import_module("assay.review")
    assert sorted(review.__all__) == ["Board", "PageOracle", "QueryJob", "QuestionsWithdrawn", "ReviewServer",
                                      "create_app", "parse_page_oracle", "serve"]
    for name in review.__all__:
        assert getattr(review, name) is not None
    # the web libraries load only when the server starts
    code = "import sys, assay.review; print(any(m in sys.modules for m in ('starlette', 'uvicorn', 'jinja2')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_findings_queue_orders_by_priority_across_assertions(tmp_path):
    """Raw severities are not comparable across assertions (a multibox count against a
    flicker's IoU shortfall): the queue follows ``priority``, as ``check`` does."""
    from assay.assertions import Flicker, Multibox, check

    rows = [(f, 10.0 * k, 0.0) for f in range(1, 9) for k in range(4)]  # 4 overlapping boxes per frame
    rows += [(1, 300.0, 0.0), (2, 300.0, 0.0), (4, 300.0, 0.0)]  # a flicker at frame 3
    df = pd.DataFrame(rows, columns=["frame", "x1", "y1"]).assign(cls="car", score=0.9)
    df["x2"], df["y2"] = df["x1"] + 40, df["y1"] + 40
    obs = assay.as_observations(df, stream="cam", source="model:v1", fps=10)
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        ws.add("boxes", obs)
        found = check(ws.read("boxes"), [Flicker(), Multibox(iou=0.1)], workspace=ws, name="boxes")
        assert set(found["assertion"]) == {"flicker", "multibox"}
        cands = FindingsQueue().candidates(ws)
    assert cands["priority"].is_monotonic_decreasing
    assert list(cands["assertion"]) == list(found["assertion"])  # check's order
    assert not cands["severity"].is_monotonic_decreasing  # which raw severity would not give


def test_a_joint_weighted_sql_query_shows_both_targets_and_its_weight():
    from assay.approx.language import parse
    from assay.review.jobs import _plan_params

    ws = assay.Workspace()
    ws.add("r", pd.DataFrame({"id": [1, 2], "s": [0.2, 0.9], "secs": [1.0, 2.0]}), kind="records")
    ws.add_oracle("busy", "review:is it busy#joint")
    plan = parse(ws, "SELECT * FROM r WHERE busy(id) USING s RECALL TARGET 90% PRECISION TARGET 80% "
                     "WEIGHTED BY secs")
    got = _plan_params(plan)
    assert (got["recall"], got["precision"], got["weight"]) == (0.9, 0.8, "secs") and "joint" not in got
