"""Make docs/img/review.png: the review page of `assay review` on the demo workspace.

Builds the demo workspace (``assay demo``: MOTChallenge TUD-Campus and TUD-Stadtmitte, real
ground truth and a real tracker's output) in a temporary folder, with a label audit, starts
``assay review`` on it, and has headless Chromium (Debian's, driven by Playwright) take a
picture of the findings queue with one box being corrected. Run from the repository root::

    python docs/make_review_screenshot.py            # writes docs/img/review.png
    python docs/make_review_screenshot.py -o x.png   # elsewhere

Needs the test extra (``pip install -e '.[test]'``: Playwright, the review extra) and
Chromium (``apt-get install chromium``; ``ASSAY_CHROMIUM`` names another binary).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")


def assay(*args: object) -> None:
    subprocess.run([sys.executable, "-m", "assay.cli", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=HERE / "img" / "review.png")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "assay-demo.duckdb"
        assay("demo", "-w", ws)
        assay("audit", "-w", ws, "--predictions", "tracker", "--labels", "labels")
        server = subprocess.Popen([sys.executable, "-m", "assay.cli", "review", str(ws), "--port", "0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = re.search(r"(http://\S+/)", server.stdout.readline()).group(1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM,
                                            args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 760}, device_scale_factor=1)
                page.goto(url)
                page.wait_for_selector("#frames svg.frame")
                page.keyboard.press("ArrowRight")  # the second most severe: boxes far apart
                page.locator("#item-head .position", has_text="item 2 of").wait_for()
                page.keyboard.press("c")
                box = page.locator("#frames figure").nth(1).locator("rect.subject").first
                b = box.bounding_box()
                x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
                page.mouse.move(x, y)
                page.mouse.down()
                page.mouse.move(x + 18, y + 6, steps=6)
                page.mouse.up()
                args.output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.output))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
