"""assay.report as a page: names from data are text, never markup; nothing is loaded from
anywhere; frame images inline; the public entry points; the command line."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assay
from assay.assertions import Flicker, check, point_assertion
from assay.cli import cli
from assay.exceptions import DataFileNotFoundError, InvalidParameterError, MissingDependencyError
from assay.report import sections_in

HOSTILE = "<script>alert(1)</script>"
HOSTILE_CLS = '"><img src=x onerror=alert(2)>'


class Elements(HTMLParser):
    """Every element of a page (tag and attributes, as a browser's parser sees them) and its
    text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def hostile_workspace() -> assay.Workspace:
    """Names from data that are markup: a stream, a class, a source, an assertion, a title."""
    boxes = pd.DataFrame({"frame": [1, 2, 3, 4, 5], "cls": HOSTILE_CLS,
                          "x1": [10.0, 10.0, 300.0, 10.0, 10.0], "y1": 10.0,
                          "x2": [60.0, 60.0, 350.0, 60.0, 60.0], "y2": 50.0, "score": 0.9,
                          "track": [1, 1, 2, 1, 1]})
    obs = assay.as_observations(boxes, stream=HOSTILE, source="model:<b>x</b>", fps=10)
    obs.attrs["image_sizes"] = {HOSTILE: [640, 480]}
    ws = assay.Workspace()
    ws.add("det", obs)

    @point_assertion(name="</td><script>alert(3)</script>")
    def busy(frame, boxes):
        return float(len(boxes))

    check(ws.read("det"), [Flicker(), busy], workspace=ws, name="det")
    curves = pd.DataFrame({"strategy": "$\\frac{<i>$", "seed": 0, "round": [0, 1],
                           "labels": [1, 2], "quality": [0.1, 0.2]})
    ws.add("curate.sim.curves", curves, kind="table")
    return ws


def test_names_from_data_are_escaped():
    html = assay.report(hostile_workspace(), title=f"title {HOSTILE}", threshold=0.1)
    assert sections_in(html) == ["tables", "assertions", "monitoring", "curation"]
    page = Elements(html)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "img", "iframe", "object", "embed"}
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]  # no handlers
    text = "".join(page.text)
    assert HOSTILE in text                      # the stream, shown as text
    assert "</td><script>alert(3)</script>" in text  # the assertion's name
    assert "model:<b>x</b>" in text             # the source
    # the class is an attribute value (and a tooltip), never markup
    assert HOSTILE_CLS in {attrs.get("data-cls") for _, attrs in page.tags}
    assert f"title {HOSTILE}" in text


def test_no_external_loads(full_report):
    html = full_report
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and "<iframe" not in lowered
    assert "@import" not in lowered
    assert not re.search(r"""\ssrc\s*=""", lowered)
    for url in re.findall(r"""(?:href|xlink:href)\s*=\s*["']([^"']*)["']""", html):
        assert url.startswith(("#", "data:")), url  # anchors and inline images only
    assert not re.search(r"url\((?!#)", html)  # CSS and SVG url() only point inside the page
    # and the browser is told to load nothing, should anything slip through
    policy = [attrs for tag, attrs in Elements(html).tags
              if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy and policy[0]["content"].startswith("default-src 'none';")
    assert "script-src" not in policy[0]["content"]  # scripts fall under default-src: none


def _frames_root(tmp_path, streams, frames, size=(1920, 1080)):
    from PIL import Image

    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for stream in streams:
        folder = root / stream / "img1"
        folder.mkdir(parents=True)
        for f in frames:
            pixels = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).resize(size).save(folder / f"{f:06d}.jpg", quality=70)
    return root


def test_frame_images_inline_and_shrunk(tmp_path, demo_tables):
    from PIL import Image

    from .conftest import add_check_runs, add_tables

    ws = assay.Workspace()
    det = add_tables(ws, demo_tables)
    add_check_runs(ws, det)
    found = ws.sql("SELECT DISTINCT stream, frame_start FROM findings")
    frames = sorted({int(f) + d for f in found["frame_start"] for d in (-1, 0, 1)})
    root = _frames_root(tmp_path, ["TUD-Campus", "TUD-Stadtmitte"], frames)
    html = assay.report(ws, images=root, image_layout="mot", top=3)
    uris = re.findall(r'<image href="(data:image/jpeg;base64,[^"]+)"', html)
    assert uris
    with Image.open(io.BytesIO(base64.b64decode(uris[0].split(",", 1)[1]))) as im:
        assert im.width == 720  # shrunk from 1920 wide
    # the frame keeps its coordinates: the image covers the recorded frame size
    assert re.search(r'<image href="data:[^"]+" x="0" y="0" width="640.0" height="480.0"', html)
    # a pattern layout finds them too; without images, blank canvases
    assert re.findall(r'<image href="data:', assay.report(ws, images=root,
                      image_layout="{stream}/img1/{frame:06d}.jpg", top=3))
    assert "<image" not in assay.report(ws, top=3)


def test_callable_package_and_function(tmp_path, full_workspace):
    import assay.report.draw as draw
    from assay.report import report

    assert "report" in assay.__all__ and callable(assay.report)
    assert assay.report.report is report and assay.report.draw is draw
    out = tmp_path / "r.html"
    via_package = assay.report(full_workspace, out, top=2)
    assert out.read_text(encoding="utf-8") == via_package
    via_function = report(full_workspace, top=2)
    strip = re.compile(r"made \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert strip.sub("", via_function) == strip.sub("", via_package)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def test_report_keeps_an_open_workspace_open(demo_tables):
    ws = assay.Workspace()
    assay.report(ws)
    assert not ws.closed


def test_bad_parameters(tmp_path):
    ws = assay.Workspace()
    with pytest.raises(InvalidParameterError, match="'top' parameter of report"):
        assay.report(ws, top=0)
    with pytest.raises(InvalidParameterError, match="'threshold' parameter of report"):
        assay.report(ws, threshold=-0.1)
    with pytest.raises(InvalidParameterError, match=r"threshold\['flicker'\]"):
        assay.report(ws, threshold={"flicker": -1})
    with pytest.raises(InvalidParameterError, match="'image_layout' parameter of report"):
        assay.report(ws, image_layout="mot")
    with pytest.raises(InvalidParameterError, match="'images' parameter of report"):
        assay.report(ws, images=tmp_path / "nowhere")
    with pytest.raises(InvalidParameterError, match="'image_layout' parameter of report"):
        assay.report(ws, images=tmp_path, image_layout="flat")
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        assay.report(ws, tmp_path / "missing" / "r.html")


def test_matplotlib_missing_names_the_extra(monkeypatch, full_workspace, demo_tables):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'assay\[report\]'"):
        assay.report(full_workspace)
    # a workspace with nothing to plot needs no matplotlib
    from .conftest import add_tables

    ws = assay.Workspace()
    add_tables(ws, demo_tables)
    assert sections_in(assay.report(ws)) == ["tables"]


def test_big_runs_are_counted_in_the_workspace(monkeypatch, demo_tables):
    """A run's findings never come into Python whole: only counts and the top rows."""
    _, tracker = demo_tables
    ws = assay.Workspace()
    ws.add("det", tracker)
    run = ws.start_run("check", {"observations": "det", "rows": len(tracker)},
                       inputs=[{"role": "observations", "identity": "frame:det", "rows": len(tracker)}])
    n = 20_000
    rng = np.random.default_rng(1)
    rows = tracker.sample(n, replace=True, random_state=1).reset_index(drop=True)
    ws.add_findings(pd.DataFrame({
        "assertion": rng.choice(["flicker", "gap"], n), "scope": "obs",
        "stream": rows["stream"].astype(str).to_numpy(), "frame_start": rows["frame"].to_numpy(),
        "frame_end": rows["frame"].to_numpy(), "obs_ids": [[int(i)] for i in rows["obs_id"]],
        "track": pd.array([None] * n, dtype="Int64"), "severity": rng.random(n), "evidence": "{}"}),
        run_id=run)
    ws.finish_run(run, "ok", {"findings": n})

    def refuse(*args, **kwargs):
        raise AssertionError("the report read a whole findings table")

    real_read = assay.Workspace.read
    monkeypatch.setattr(assay.Workspace, "findings", refuse)
    monkeypatch.setattr(assay.Workspace, "read", lambda self, name, **kw: refuse() if
                        name == "findings" else real_read(self, name, **kw))
    html = assay.report(ws, top=7)
    body = re.search(r'<section id="assertions".*?</section>', html, re.S).group(0)
    assert len(re.findall('<article class="card">', body)) == 7
    assert "showing 7 of 20,000 findings" in body
    best = ws.sql("SELECT max(severity) AS s FROM findings")["s"].iloc[0]
    assert f"severity {best:.4g}" in body


# ---------------------------------------------------------------------- command line


def test_cli_writes_the_report(tmp_path, full_workspace):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(full_workspace), "-o", str(out), "--top", "3",
                                      "--threshold", "flicker=0.001", "--title", "nightly"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<title>nightly</title>" in html and "drift alert" in html
    assert f"wrote {out}" in result.output and "assertions" in result.output
    result = CliRunner().invoke(cli, ["report", str(full_workspace), "-o", str(out), "--json"])
    got = json.loads(result.output)
    assert got["sections"] == sections_in(out.read_text(encoding="utf-8"))
    assert got["bytes"] == out.stat().st_size


@pytest.mark.parametrize(("args", "message"), [
    (["--threshold", "abc"], "--threshold"),
    (["--threshold", "0.1", "--threshold", "gap=0.2"], "not both"),
    (["--threshold", "=0.2"], "no assertion name"),
    (["--threshold", "-1"], ">= 0"),
    (["--image-layout", "mot"], "--images"),
    (["--images", "nowhere"], "--images"),
    (["--top", "0"], "--top"),
    (["-o", "missing/r.html"], "--output"),
])
def test_cli_errors_name_the_flag(tmp_path, full_workspace, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["report", str(full_workspace), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_missing_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["report", "nope.duckdb"])
    assert result.exit_code == 2 and "WORKSPACE nope.duckdb" in result.output
    assert not (tmp_path / "report.html").exists()
