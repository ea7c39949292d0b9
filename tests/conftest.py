"""Shared fixtures. Real data lives in ../shared/data (next to the repository); tests that
need it skip on a user's clone and fail in CI (where CI is set) when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the real data folder {d} is missing.")
        pytest.skip(f"needs the real data in {d} (../shared/data next to the repository; "
                    "set ASSAY_SHARED_DATA to point elsewhere)")
    return d


CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")
#: Flags for a headless Chromium in a closed sandbox: no background connections (they are
#: refused here, many at a time), no sandboxing (tests run as root), no GPU.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-default-apps"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (pointed at the system browser:
    browsers that tools download are not reachable). Skips with a reason when it is missing;
    in CI (where .ci/run installs it) a missing browser fails."""
    if not Path(CHROMIUM).exists():
        reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("needs playwright (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
