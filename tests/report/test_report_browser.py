"""The report in a real browser (headless Chromium): the demo's report renders without errors,
draws something, makes no request, and names from data stay text."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import assay

from .test_report_page import HOSTILE, hostile_workspace


def run_assay(*args: str, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "assay.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    """`assay demo` into a fresh workspace, then `assay report` of it."""
    d = tmp_path_factory.mktemp("demo")
    run_assay("demo", "-w", "demo.duckdb", cwd=d)
    run_assay("report", "demo.duckdb", "-o", "report.html", "--threshold", "0.001", cwd=d)
    return d / "report.html"


def open_page(browser, path):
    """A page showing ``path``, with what it logged, requested and raised."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = {"console": [], "errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


def test_demo_report_renders(browser, demo_report):
    from PIL import Image

    page, seen = open_page(browser, demo_report)
    try:
        assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
        assert seen["errors"] == [] and seen["dialogs"] == []
        assert seen["requests"] == [demo_report.as_uri()]  # the file itself, nothing else
        for name in ("tables", "assertions", "monitoring", "queries"):
            box = page.locator(f"section#{name}").bounding_box()
            assert box is not None and box["height"] > 50, name
        # findings drawn as frames, the finding's boxes picked out, and plots
        assert page.locator("svg.frame").count() >= 1
        assert page.locator("svg.frame rect.hit").count() >= 1
        assert page.locator("svg.plot").count() >= 3
        frame = page.locator("svg.frame").first.bounding_box()
        assert frame["width"] > 100 and frame["height"] > 50  # laid out, not collapsed
        # the canvas is painted with the page's style (the inline CSS applied)
        fill = page.locator("svg.frame rect.canvas").first.evaluate("e => getComputedStyle(e).fill")
        assert fill == "rgb(42, 47, 55)"
        shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
        pixels = np.asarray(shot).reshape(-1, 3)
        assert pixels.std(axis=0).max() > 20  # not a blank page
        assert len(np.unique(pixels, axis=0)) > 50
        drawn = page.locator("svg.frame").first.screenshot()
        frame_pixels = np.asarray(Image.open(io.BytesIO(drawn)).convert("RGB")).reshape(-1, 3)
        assert len(np.unique(frame_pixels, axis=0)) > 5  # boxes on the canvas
    finally:
        page.close()


def test_hostile_names_run_nothing_in_the_browser(browser, tmp_path):
    path = tmp_path / "hostile.html"
    assay.report(hostile_workspace(), path, title=HOSTILE, threshold=0.1)
    page, seen = open_page(browser, path)
    try:
        assert seen["dialogs"] == [] and seen["errors"] == []
        assert page.evaluate("document.querySelectorAll('script, img[onerror]').length") == 0
        assert page.title() == HOSTILE
        assert HOSTILE in page.locator("section#tables").inner_text()
    finally:
        page.close()
