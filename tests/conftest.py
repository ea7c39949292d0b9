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
