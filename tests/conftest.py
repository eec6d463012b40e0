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


# --- the fault-injection suite (README "Guarantees"): a tally of its cases at the end of a run -------
FAULT_OUTCOMES = ("rejected", "shown", "survived")
_fault_cases: dict[str, str] = {}


def pytest_collection_modifyitems(items):
    for item in items:
        m = item.get_closest_marker("faults")
        if m is None:
            continue
        outcome = m.args[0] if m.args else None
        if outcome not in FAULT_OUTCOMES:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.faults needs an outcome, one of {FAULT_OUTCOMES}")
        _fault_cases[item.nodeid] = outcome


def fault_tally(reports) -> dict[str, int]:
    """Cases tried and how they ended, from the test reports of the fault-marked items."""
    tally = dict.fromkeys(("tried", *FAULT_OUTCOMES, "not held", "skipped"), 0)
    seen: dict[str, str] = {}
    for rep in reports:
        if rep.nodeid not in _fault_cases:
            continue
        if rep.failed:
            seen[rep.nodeid] = "not held"
        elif rep.skipped:
            seen.setdefault(rep.nodeid, "skipped")
        elif rep.when == "call" and seen.get(rep.nodeid) != "not held":
            seen[rep.nodeid] = _fault_cases[rep.nodeid]
    for result in seen.values():
        tally["tried"] += result != "skipped"
        tally[result] += 1
    return tally


def pytest_terminal_summary(terminalreporter):
    reports = [r for key in ("passed", "failed", "error", "skipped") for r in terminalreporter.stats.get(key, [])
               if hasattr(r, "nodeid")]
    t = fault_tally(reports)
    if t["tried"] or t["skipped"]:
        terminalreporter.write_line(
            f"fault-injection suite: {t['tried']} cases tried: {t['rejected']} rejected clearly, "
            f"{t['shown']} let through and shown, {t['survived']} survived, {t['not held']} not held"
            + (f" ({t['skipped']} skipped)" if t["skipped"] else ""))
