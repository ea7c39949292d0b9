"""The review page in a real browser (Chromium through Playwright), against ``assay review``
run as a command: a person judges findings and an audit candidate with the keyboard and the
mouse and answers a human-oracle query; the workspace then holds exactly those answers. And
strings from the data render as text; a frame without its image is a blank canvas."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import assay
from assay.assertions import Flicker, check
from assay.curate import verdict_oracle
from assay.review.queues import ANSWERS_TABLE, LABELS_TABLE, AuditQueue, FindingsQueue

from .conftest import write_png

pytestmark = pytest.mark.timeout(300)

QUESTION = "people in the frame"


def test_a_person_reviews_and_answers_a_query_in_the_browser(browser, ws_path, server_process):
    from playwright.sync_api import expect

    server = server_process(
        ws_path, "--boxes", "tracker", "--query",
        f"aggregate -r frames -p proxy -o 'review:{QUESTION}' --range 0 30 --batch-size 3 --budget 60")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
    page.goto(server.url)
    left = page.locator('[data-left="findings"]')
    expect(left).to_have_text("(7)")
    expect(page.locator("#frames svg.frame").first).to_be_visible()

    # accept 3, reject 2, with the keyboard
    for n, key in zip(range(6, 1, -1), "aaarr", strict=True):
        page.keyboard.press(key)
        expect(left).to_have_text(f"({n})")
        expect(page.locator("#status")).to_contain_text("saved:")

    # correct one box by dragging it
    page.keyboard.press("c")
    box = page.locator("#frames figure").first.locator("rect.subject").first
    obs = int(box.get_attribute("data-obs"))
    b = box.bounding_box()
    x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 15, steps=8)
    page.mouse.up()
    expect(box).to_have_class(re.compile(r"\bcorrected\b"))
    moved = [float(box.get_attribute(a)) for a in ("x", "y", "width", "height")]
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("1 corrected")
    expect(left).to_have_text("(1)")

    # confirm one audit candidate: the labeler missed it
    page.click('button[data-view="audit"]')
    expect(page.locator('[data-left="audit"]')).to_have_text("(3)")
    expect(page.locator("#item-head h2")).to_have_text("missing_label")
    page.keyboard.press("a")
    expect(page.locator('[data-left="audit"]')).to_have_text("(2)")
    expect(page.locator("#status")).to_contain_text("label")

    # answer two batches of the query, stopping it (anytime-valid) during the second
    page.click('button[data-view="queries"]')
    expect(page.locator("#query-question")).to_have_text(QUESTION)
    given = {}

    def answer_one(value: int) -> None:
        card = page.locator("#query-batch .record").first
        rid = int(card.locator("dd").first.inner_text())
        expect(card.locator("svg.frame")).to_be_visible()  # the record is a frame: drawn
        card.locator("input").fill(str(value))
        card.locator("input").press("Enter")
        expect(page.locator(f'#query-batch .record:has(dd:text-is("{rid}"))')).to_have_count(0)
        given[rid] = float(value)

    expect(page.locator("#query-batch .record")).to_have_count(3)
    for v in (2, 5, 3):
        answer_one(v)
    expect(page.locator("#query-interval .interval")).to_contain_text("after 3 labels")
    expect(page.locator("#query-batch h3")).to_contain_text("batch 2")
    answer_one(4)
    answer_one(6)
    page.click("#query-stop")
    expect(page.locator("#query-progress")).to_contain_text("stops when this batch is answered")
    answer_one(1)
    result = page.locator("#query-result .result")
    expect(result).to_contain_text("stopped on stopped after 6 labels")
    assert not problems, problems
    page.close()
    assert "Traceback" not in server.stop()

    with assay.Workspace(ws_path, read_only=True) as ws:
        answers = ws.read(ANSWERS_TABLE)
        assert answers["action"].tolist() == ["accept"] * 3 + ["reject"] * 2 + ["edit", "accept"]
        assert answers["kind"].tolist() == ["findings"] * 6 + ["audit"]
        findings = FindingsQueue().candidates(ws).set_index("key")
        audit = AuditQueue().candidates(ws).set_index("key")
        expect_verdicts = {}
        for key, action in zip(answers["item"], answers["action"], strict=True):
            ids = (findings if key in findings.index else audit).loc[key, "obs_ids"]
            expect_verdicts.update({int(o): 0.0 if action == "reject" else 1.0 for o in ids})
        expect_verdicts[obs] = 2.0
        assert ws.get_labels(verdict_oracle(ws, "tracker")).to_dict() == expect_verdicts
        verdicts = ws.read("curate.verdicts")
        assert len(verdicts) == len(expect_verdicts)
        corrected = verdicts.loc[verdicts["verdict"] == "corrected"].iloc[0]
        assert int(corrected["obs_id"]) == obs
        x0, y0, w, h = moved
        assert [corrected["x1"], corrected["y1"], corrected["x2"], corrected["y2"]] == pytest.approx(
            [x0, y0, x0 + w, y0 + h], abs=0.11)
        tracker = ws.read("tracker").set_index("obs_id")
        assert corrected["x1"] > tracker.loc[obs, "x1"] + 5  # it moved right, as dragged
        confirmed = audit.loc[answers["item"].iloc[-1], "obs_ids"]
        labels = ws.read(LABELS_TABLE)
        assert sorted(labels["from_obs_id"].astype(int)) == sorted(confirmed)
        assert set(labels["source"]) == {"review"}
        assert ws.get_labels(f"review:{QUESTION}#default").to_dict() == given
        run = ws.runs().iloc[-1]
        assert run["status"] == "ok" and run["summary"]["stopped"] == "stopped"
        assert run["summary"]["oracle_calls"] == 6
        assert sorted({p[0] for p in run["summary"]["path"]}) == [3, 6]  # two batches


def test_a_sql_query_is_answered_in_the_browser(browser, ws_path, server_process):
    """`assay review --query` takes a query of `assay sql` whose oracle is a page question: the
    page shows the query, asks the records that pass its cheap condition, and shows the answer."""
    from playwright.sync_api import expect

    with assay.Workspace(ws_path) as ws:
        ws.add_oracle("people", f"review:{QUESTION}#sql", value_range=(0, 30))
    q = "SELECT AVG(people(frame)) FROM frames WHERE frame > 2 ORACLE LIMIT 4 USING proxy"
    server = server_process(ws_path, "--boxes", "tracker", "--query", q)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url)
    page.click('button[data-view="queries"]')
    expect(page.locator("#query-question")).to_have_text(QUESTION)
    expect(page.locator("#query-sql")).to_have_text(q)
    given = {}
    result = page.locator("#query-result .result")
    while len(given) < 4:
        card = page.locator("#query-batch .record").first
        expect(card).to_be_visible()
        rid = int(card.locator("dd").first.inner_text())
        frame = int(card.locator("dd").nth(2).inner_text())
        assert frame > 2  # WHERE ran before the person was asked
        card.locator("input").fill("7")
        card.locator("input").press("Enter")
        expect(page.locator(f'#query-batch .record:has(dd:text-is("{rid}"))')).to_have_count(0)
        given[rid] = 7.0
    expect(result).to_contain_text("after 4 labels")
    expect(result).to_contain_text("mean 7")
    assert not problems, problems
    page.close()
    assert "Traceback" not in server.stop()
    with assay.Workspace(ws_path, read_only=True) as ws:
        assert ws.get_labels(f"review:{QUESTION}#sql").to_dict() == given
        assert ws.runs().iloc[-1]["status"] == "ok"


def test_strings_from_data_render_as_text_and_a_missing_image_is_a_blank_canvas(browser, tmp_path, server_process):
    from playwright.sync_api import expect

    hostile = "<script>alert(1)</script>"
    evil_cls = '<img src=x onerror="alert(2)">'
    parts = []
    for stream in (hostile, "cam"):
        steady = pd.DataFrame({"frame": range(5), "cls": "car", "x1": 10.0, "y1": 10.0, "x2": 60.0, "y2": 50.0})
        lone = pd.DataFrame({"frame": [2], "cls": [evil_cls], "x1": [200.0], "y1": [80.0], "x2": [260.0], "y2": [140.0]})
        parts.append(assay.as_observations(pd.concat([steady, lone]), stream=stream, source="model:x", fps=10))
    det = pd.concat(parts, ignore_index=True)
    det["obs_id"] = range(len(det))
    path = tmp_path / "hostile.duckdb"
    with assay.Workspace(path) as ws:
        ws.add("det", det)
        found = check(ws.read("det"), [Flicker()], workspace=ws, name="det")
    assert set(found["stream"]) == {hostile, "cam"}
    images = tmp_path / "images"
    image = write_png(images / "cam" / "000002.png")

    server = server_process(path, "--images", images, "--image-layout", "{stream}/{frame:06d}.png")
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url)
    stream = page.locator('#filters select[name="stream"]')
    expect(stream.locator("option")).to_have_count(3)
    assert hostile in stream.locator("option").all_inner_texts()
    stream.select_option(hostile)
    expect(page.locator("#item-head .where")).to_contain_text(hostile)
    expect(page.locator("#frames svg text.caption")).to_contain_text(hostile)
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # the page's own
    assert page.evaluate("document.querySelectorAll('#frames img, #details img, #item-head img').length") == 0
    titles = page.evaluate(
        "(cls) => Array.from(document.querySelectorAll('#frames rect')).filter(r => r.dataset.cls === cls)"
        ".map(r => r.querySelector('title').textContent)", evil_cls)
    assert titles and all(evil_cls in t for t in titles)  # the class name, as text

    stream.select_option("cam")
    expect(page.locator("#item-head .where")).to_contain_text("cam, frame 2")
    href = page.locator("#frames svg image").get_attribute("href")
    assert href == "/images/cam/000002.png"
    assert page.request.get(server.url.rstrip("/") + href).status == 200
    image.unlink()  # gone since: the same item is drawn on a blank canvas
    page.reload()
    page.locator('#filters select[name="stream"]').select_option("cam")
    expect(page.locator("#item-head .where")).to_contain_text("cam, frame 2")
    expect(page.locator("#frames svg rect.canvas")).to_have_count(1)
    expect(page.locator("#frames svg image")).to_have_count(0)

    # draw the box the model missed, on the empty right of the frame
    page.keyboard.press("n")
    frame = page.locator("#frames svg.frame").first.bounding_box()
    x, y = frame["x"] + frame["width"] * 0.75, frame["y"] + frame["height"] * 0.3
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 50, steps=5)
    page.mouse.up()
    expect(page.locator("#frames rect.added")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("1 added")
    with assay.Workspace(path, wait=10.0) as ws:  # the server lets the file go a second after
        added = ws.read("curate.verdicts").query("verdict == 'added'")
    assert added[["stream", "frame", "cls"]].values.tolist() == [["cam", 2, evil_cls]]  # the subject's class
    assert added["x1"].iloc[0] > 300  # where it was drawn, in the frame's pixels
    assert not dialogs
    page.close()
