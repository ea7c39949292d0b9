"""Drawing helpers the report adds to assay.report.draw (shared with the review page)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import assay
from assay.exceptions import WorkspaceError
from assay.report.draw import draw_finding, factor_bars, finding_window


def widths(svg: str) -> dict[str, float]:
    """Bar width per factor name."""
    names = re.findall(r'text-anchor="end">([^<]*)</text><rect', svg)
    sizes = [float(w) for w in re.findall(r'class="bar (?:pos|neg)" x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    return dict(zip(names, sizes, strict=True))


def test_factor_bars_sides_and_scale():
    evidence = {"ll_area": -0.5, "ll_score": 1.0, "score": 9.0, "ll_bad": None, "ll_flag": True}
    svg = factor_bars(json.dumps(evidence))
    assert svg.count('class="bar pos"') == 1 and svg.count('class="bar neg"') == 1
    w = widths(svg)
    assert set(w) == {"area", "score"}
    assert w["score"] == pytest.approx(2 * w["area"], rel=0.05)  # lengths follow the values
    # a common scale: the same value draws the same bar whatever else the candidate has
    shared = widths(factor_bars({"ll_area": -0.5}, scale=1.0))
    assert shared["area"] == pytest.approx(w["area"], rel=0.05)
    assert "ll_score = 1" in svg  # the exact value as a tooltip


def test_factor_bars_nothing_to_draw_and_escaping():
    assert factor_bars({"score": 1.0}) == "" and factor_bars("not json") == "" and factor_bars("[1]") == ""
    svg = factor_bars({"ll_<b>x</b>": 1.0})
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg


def test_finding_window_reads_only_around_the_finding():
    obs = assay.as_observations(pd.DataFrame({
        "frame": [1, 5, 6, 7, 8, 20], "cls": "car", "x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 40.0}),
        stream="cam", source="model", fps=1)
    other = obs.assign(stream="other", obs_id=obs["obs_id"] + 100)
    table = pd.concat([obs, other], ignore_index=True)
    ws = assay.Workspace()
    ws.add("det", table)
    finding = {"stream": "cam", "frame_start": 6, "frame_end": 7, "obs_ids": [2, 3], "track": None}
    window, size = finding_window(ws, "det", finding)
    assert window["frame"].tolist() == [5, 6, 7, 8] and set(window["stream"]) == {"cam"}
    assert size == (640.0, 360.0)  # no recorded image size: a frame that holds the boxes
    svgs = draw_finding(window, finding, size=size)
    assert len(svgs) == 2 and all('class="box hit"' in s for s in svgs)
    with pytest.raises(WorkspaceError):
        finding_window(ws, "missing", finding)
