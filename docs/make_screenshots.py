"""Regenerate the README's screenshot of ``assay report`` (docs/img/report.png).

Builds the demo workspace (``assay demo``: the built-in MOT15 TUD-Campus and TUD-Stadtmitte
data, a check run and queries), adds what a user would run next on it (a label audit of the
tracker against the labels, a curation round), writes its report with ``assay report``,
opens it in headless Chromium (Playwright driving Debian's ``/usr/bin/chromium``, or
``ASSAY_CHROMIUM``) and saves the page's header and one section as a PNG.

Usage::

    python docs/make_screenshots.py                      # docs/img/report.png
    python docs/make_screenshots.py --section audits -o /tmp/audits.png
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (one definition of the browser flags)


def assay(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "assay.cli", "--quiet", *args], cwd=cwd,
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"assay {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


def build_report(folder: Path) -> Path:
    assay("demo", "-w", "demo.duckdb", cwd=folder)
    assay("audit", "-w", "demo.duckdb", "--predictions", "tracker", "--labels", "labels",
          "--method", "fixy", cwd=folder)
    assay("curate", "-w", "demo.duckdb", "-o", "tracker", "--budget", "12", cwd=folder)
    assay("report", "demo.duckdb", "-o", "report.html", "--top", "6", "--threshold", "0.005",
          "--title", "assay report: demo workspace", cwd=folder)
    return folder / "report.html"


def screenshot(page_path: Path, out: Path, section: str, width: int, height: int) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
        page.goto(page_path.as_uri(), wait_until="load")
        header = page.locator("header.page").bounding_box()
        facts = page.locator("div.facts").bounding_box()
        top = Image.open(io.BytesIO(page.screenshot(clip={
            "x": 0, "y": 0, "width": width, "height": facts["y"] + facts["height"] + 8})))
        box = page.locator(f"section#{section}").bounding_box()
        if box is None:
            sys.exit(f"the report has no section {section!r}")
        part = Image.open(io.BytesIO(page.screenshot(full_page=True, clip={
            "x": 0, "y": box["y"] - 8, "width": width,
            "height": min(box["height"] + 16, height - top.height)})))
        browser.close()
    assert header is not None
    sheet = Image.new("RGB", (width, top.height + part.height), "white")
    sheet.paste(top, (0, 0))
    sheet.paste(part, (0, top.height))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB, {sheet.width}x{sheet.height})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "img" / "report.png")
    ap.add_argument("--section", default="assertions", help="the section shown under the header")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1700, help="most pixels of the image's height")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = build_report(Path(tmp))
        screenshot(page, args.output, args.section, args.width, args.height)


if __name__ == "__main__":
    main()
