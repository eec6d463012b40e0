"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Real public reference data lives beside the repository (never copied into it): ../shared/data.
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; tests that use it skip with the reason when it is absent (a bare clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (../shared/data beside the repository)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _restore_umask():
    """`aispend` sets the process umask for its home (pipelines.config.secure_home); a test that
    runs it in-process must not change the mode of files later tests write."""
    import os

    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
