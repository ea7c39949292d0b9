"""assay.report: each section present exactly when the workspace holds its data, with what it
must show; the numbers it shows agree with the API that computes them elsewhere."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import Flicker, check, diff_findings, diff_runs
from assay.report import report, report_sections, sections_in
from assay.report._context import Context
from assay.report._monitoring import ALL, rates

from .conftest import add_campaign, add_check_runs, add_curves, add_queries, add_tables


def section(html: str, name: str) -> str:
    """The HTML of one section of a report."""
    m = re.search(rf'<section id="{name}" class="section">(.*?)</section>', html, re.S)
    assert m, f"no section {name}"
    return m.group(1)


def test_empty_workspace_says_so():
    html = report(assay.Workspace())
    assert sections_in(html) == []
    assert "Nothing to report yet" in html


def test_tables_only(demo_tables):
    ws = assay.Workspace()
    add_tables(ws, demo_tables)
    html = report(ws)
    assert sections_in(html) == ["tables"]
    body = section(html, "tables")
    labels, tracker = demo_tables
    for name in ("det", "gt", "TUD-Campus", "TUD-Stadtmitte", "640x480", "pedestrian"):
        assert name in body
    assert f"{len(tracker):,}" in body and f"{len(labels):,}" in body
    assert "<svg" not in html  # nothing to draw or plot


def test_full_workspace_has_every_section(full_report):
    assert sections_in(full_report) == ["tables", "assertions", "monitoring", "audits", "curation",
                                        "queries"]
    # the navigation links each section
    for name in sections_in(full_report):
        assert f'href="#{name}"' in full_report


def test_assertion_runs_draw_the_most_severe_findings(full_workspace, full_report):
    body = section(full_report, "assertions")
    with assay.Workspace(full_workspace, read_only=True) as ws:
        runs = ws.runs()
        latest = runs.loc[runs["kind"] == "check", "run_id"].iloc[-1]
        findings = ws.findings(latest)
    assert latest in body
    cards = re.findall(r'<article class="card">(.*?)</article>', body, re.S)
    assert len(cards) == min(5, len(findings))  # top=5
    # every card draws its frames, the finding's boxes picked out
    for card in cards:
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="frame"' in card
        assert 'class="box hit"' in card
    # the most severe finding comes first, with its observation drawn as the hit
    worst = findings.sort_values(["severity", "stream", "frame_start"], ascending=[False, True, True]).iloc[0]
    hit_ids = re.findall(r'class="box hit" data-obs="(\d+)"', cards[0])
    assert {int(i) for i in hit_ids} <= set(map(int, worst["obs_ids"])) and hit_ids
    # findings over the frames, plotted
    assert 'class="plot"' in body and "findings over the frames" in body
    # precision as reviewers judged it (the campaign's verdicts)
    assert "precision as reviewers judged it" in body


def test_diff_runs_in_duckdb_matches_diff_findings(full_workspace):
    """The report's diff (diff_runs, in DuckDB, top rows only) counts and orders what the
    in-memory diff_findings finds on the same two runs."""
    with assay.Workspace(full_workspace, read_only=True) as ws:
        runs = ws.runs()
        old, new = runs.loc[runs["kind"] == "check", "run_id"].tolist()[-2:]
        for by in ("obs_ids", "frames"):
            got = diff_runs(ws, old, new, by=by, top=5)
            expected = diff_findings(ws.findings(run_id=old), ws.findings(run_id=new), by=by)
            counts = got["counts"].set_index("assertion")
            for change in ("new", "resolved", "kept"):
                want = expected[change].groupby("assertion").size()
                have = counts[change][counts[change] > 0]
                assert have.sort_index().to_dict() == want.sort_index().to_dict(), (by, change)
                assert len(got[change]) == min(5, len(expected[change]))
                assert got[change]["severity"].is_monotonic_decreasing
                top = expected[change]["severity"].sort_values(ascending=False).head(5).tolist()
                assert got[change]["severity"].tolist() == top
                assert got[change]["frame_start"].dtype == "int64"
            full = diff_runs(ws, old, new, by=by)
            assert all(len(full[c]) == len(expected[c]) for c in ("new", "resolved", "kept"))


def test_diff_section_names_the_previous_run(full_workspace, full_report):
    body = section(full_report, "assertions")
    with assay.Workspace(full_workspace, read_only=True) as ws:
        runs = ws.runs()
    old = runs.loc[runs["kind"] == "check", "run_id"].iloc[-2]
    assert "against the previous run on this table" in body and old in body
    # appear ran only in the older run: its findings are "resolved", and the page says why
    assert "not run by the new run" in body


def test_monitoring_rates_are_findings_per_observation(demo_tables):
    ws = assay.Workspace()
    det = add_tables(ws, demo_tables)
    found = check(det, [Flicker()], workspace=ws, name="det")
    ctx = Context(ws, 20, None, None)
    r = rates(ctx)
    overall = r.loc[r["stream"] == ALL].iloc[0]
    assert overall["findings"] == len(found) and overall["checked"] == len(det)
    assert overall["rate"] == pytest.approx(len(found) / len(det))
    per = r.loc[r["stream"] != ALL].set_index("stream")
    for stream, rows in det.groupby("stream")["obs_id"].size().items():
        n = int((found["stream"] == stream).sum())
        assert per.loc[stream, "checked"] == rows
        assert per.loc[stream, "rate"] == pytest.approx(n / rows)


def test_monitoring_alerts_where_the_threshold_is_crossed(demo_tables):
    _, tracker = demo_tables
    ws = assay.Workspace()
    # three days of the same camera, the detector flickering more each day
    rng = np.random.default_rng(0)
    for day, extra in enumerate((0, 40, 160)):
        obs = tracker.loc[tracker["stream"] == "TUD-Stadtmitte"].reset_index(drop=True)
        noise = obs.sample(extra, random_state=day).assign(
            frame=lambda d: d["frame"], x1=lambda d: rng.uniform(0, 500, len(d)))
        noise["x2"] = noise["x1"] + 20.0
        start = int(obs["obs_id"].max()) + 1
        noise["obs_id"] = np.arange(start, start + len(noise))
        noise["track"] = pd.array(np.arange(len(noise)) + 10_000, dtype=obs["track"].dtype)
        obs = assay.validate(pd.concat([obs, noise], ignore_index=True), "observations")
        ws.add(f"day{day}", obs)
        check(ws.read(f"day{day}"), [Flicker()], workspace=ws, name=f"day{day}")
    ctx = Context(ws, 20, None, None)
    r = rates(ctx)
    overall = r.loc[r["stream"] == ALL, "rate"].to_numpy()
    assert overall[0] < overall[1] < overall[2]
    limit = float((overall[1] + overall[2]) / 2)  # only the last day is above it
    html = report(ws, threshold={"flicker": limit})
    body = section(html, "monitoring")
    alerts = re.search(r"drift alerts: each assertion.*?</table>", body, re.S).group(0)
    runs = ws.runs()["run_id"].tolist()
    assert runs[2] in alerts and runs[0] not in alerts and runs[1] not in alerts
    assert re.search(r'<div class="fact alert"><b>\d+</b><span>drift alerts</span>', html)
    # below every rate: every run alerts; above every rate: none
    assert "no rate went above its threshold" in section(report(ws, threshold=1.0), "monitoring")
    low = section(report(ws, threshold=0.0), "monitoring")
    first_above = runs[int(np.argmax(overall > 0))]
    assert first_above in re.search(r"drift alerts: each assertion.*?</table>", low, re.S).group(0)
    # without a threshold, no alert talk at all
    assert "drift alert" not in report(ws)


def test_monitoring_skips_assertions_a_run_did_not_run(full_workspace):
    with assay.Workspace(full_workspace, read_only=True) as ws:
        r = rates(Context(ws, 20, None, None))
        runs = ws.runs()
    checks = runs.loc[runs["kind"] == "check", "run_id"].tolist()
    appear = r.loc[(r["assertion"] == "appear") & (r["stream"] == ALL), "run_id"].tolist()
    assert appear == [checks[0]]  # the second run did not run appear: no rate, not a 0
    gap = r.loc[(r["assertion"] == "gap") & (r["stream"] == ALL)]
    assert gap["run_id"].tolist() == checks  # gap ran twice (found nothing: rate 0)


def test_audit_candidates_with_factor_bars(full_workspace, full_report):
    body = section(full_report, "audits")
    with assay.Workspace(full_workspace, read_only=True) as ws:
        runs = ws.runs()
        audit = runs.loc[runs["kind"] == "audit", "run_id"].iloc[-1]
        found = ws.findings(audit)
    assert audit in body
    cards = re.findall(r'<article class="card">(.*?)</article>', body, re.S)
    assert len(cards) == min(5, len(found))
    for card in cards:
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="factors"' in card
        assert re.search(r'class="bar (pos|neg)"', card)
        assert 'class="frame"' in card
    # the first card is the most likely candidate, and its bars carry its factors' values
    best = found.sort_values("severity", ascending=False).iloc[0]
    evidence = __import__("json").loads(best["evidence"])
    for key, value in evidence.items():
        if key.startswith("ll_") and value is not None:
            assert f"{key} = {value:.4g}" in cards[0]


def test_curation_rounds_queue_and_curves(full_report):
    body = section(full_report, "curation")
    assert "campaign <code>night</code>" in body
    assert "queue of round 1" in body
    assert "verdicts from reviewers" in body
    assert "learning curves <code>curate.sim.curves</code>" in body
    assert body.count('class="plot"') == 2  # the rounds and the learning curves
    assert 'class="frame"' in body  # queued frames drawn


def test_curation_absent_without_a_campaign(demo_tables):
    ws = assay.Workspace()
    add_tables(ws, demo_tables)
    add_curves(ws)
    html = report(ws)
    assert "curation" in sections_in(html)  # learning curves alone make the section
    body = section(html, "curation")
    assert "campaign" not in body and "learning curves" in body


def test_queries_show_guarantees_and_paths(full_workspace, full_report):
    body = section(full_report, "queries")
    with assay.Workspace(full_workspace, read_only=True) as ws:
        runs = ws.runs()
    queries = runs.loc[runs["kind"] == "query"]
    for _, run in queries.iterrows():
        assert run["run_id"] in body
        s = run["summary"]
        assert f"{s['oracle_calls']:,}" in body
    assert "finite-sample" in body and "asymptotic" in body
    selected = [s["selected"] for s in queries["summary"] if "selected" in s]
    assert selected and f"{selected[0]:,} selected of 250" in body
    assert body.count('class="plot"') == 1  # one figure, a panel per aggregation
    assert "oracle answers kept" in body


def test_sections_follow_the_data(demo_tables):
    ws = assay.Workspace()
    det = add_tables(ws, demo_tables)
    assert [s.id for s in report_sections(ws)] == ["tables"]
    add_queries(ws, demo_tables)
    assert [s.id for s in report_sections(ws)] == ["tables", "queries"]
    first, _ = add_check_runs(ws, det)
    assert [s.id for s in report_sections(ws)] == ["tables", "assertions", "monitoring", "queries"]
    add_campaign(ws, det, first)
    assert [s.id for s in report_sections(ws)] == ["tables", "assertions", "monitoring", "curation",
                                                   "queries"]


def test_top_limits_what_is_drawn(full_workspace):
    one = report(full_workspace, top=1)
    many = report(full_workspace, top=50)
    assert len(re.findall('<article class="card">', section(one, "assertions"))) == 1
    assert len(re.findall('<article class="card">', section(many, "assertions"))) > 1
    assert "showing 1 of" in section(one, "assertions")
