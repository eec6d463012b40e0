"""Admin-API ingest through `dg.materialize` against the emulator: late finalisation, Claude Code."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from demo import generate
from demo.emulator import ApiEmulator
from pipelines.definitions import build_definitions
from pipelines.ingest._factory import with_trailing_days


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("org-llm")
    generate(out, days=6)  # 2026-11-10 .. 2026-11-15
    return out


@pytest.fixture()
def emu(org, monkeypatch):
    with ApiEmulator(org / "api") as e:
        monkeypatch.setenv("AISPEND_EMULATOR_URL", e.base_url)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", e.openai_admin_key)
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", e.anthropic_admin_key)
        yield e


def _run(defs, key: str, partition_key: str):
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey.from_user_string(key)], resources=defs.resources,
                          partition_key=partition_key, raise_on_error=False)


def _partitions(home: Path, table: str) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for f in sorted((home / "lake" / "raw" / table).glob("source=*/day=*/*.parquet")):
        out.setdefault(f.parent.name.removeprefix("day="), []).append(f)
    return out


def _sum(files: list[Path], col: str) -> tuple[int, int]:
    tables = [pq.read_table(f) for f in files]
    return sum(t.num_rows for t in tables), sum(sum(x or 0 for x in t[col].to_pylist()) for t in tables)


def test_trailing_days():
    assert with_trailing_days(["2026-11-12"], 3) == ["2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12"]
    assert with_trailing_days(["2026-11-12", "2026-11-13"], 3, "2026-11-10") == [
        "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"]
    assert with_trailing_days(["2026-11-12"], 0) == ["2026-11-12"]


def test_late_finalised_bucket_replaces_the_stale_one_without_duplicates(org, tmp_path, emu):
    home = tmp_path / "home"
    defs = build_definitions(str(org / "aispend.yaml"), str(home))
    assert _run(defs, "raw/openai_usage", "2026-11-12").success
    parts = _partitions(home, "openai_usage")
    # refetch_days=3, clamped at the config's start_date (2026-11-10)
    assert sorted(parts) == ["2026-11-10", "2026-11-11", "2026-11-12"]
    rows_before, tokens_before = _sum(parts["2026-11-10"], "input_tokens")
    rows_11 = _sum(parts["2026-11-11"], "input_tokens")
    assert rows_before > 0

    # OpenAI finalises 2026-11-10 late: one bucket group grows by 1,000 input tokens
    stored = [json.loads(x) for x in (org / "api" / "openai_usage_completions.jsonl").read_text().splitlines()]
    day = [dict(r) for r in stored if r["day"] == "2026-11-10"]
    day[0]["input_tokens"] += 1000
    emu.replace_day("openai_usage_completions", "2026-11-10", day)

    assert _run(defs, "raw/openai_usage", "2026-11-12").success  # the daily run two days later
    parts = _partitions(home, "openai_usage")
    assert [len(v) for v in parts.values()] == [1, 1, 1]  # one file per day: swapped, not appended
    assert _sum(parts["2026-11-10"], "input_tokens") == (rows_before, tokens_before + 1000)
    assert _sum(parts["2026-11-11"], "input_tokens") == rows_11

    # the next day's run re-reads 11-11..11-13 only: 11-10 keeps its corrected value
    assert _run(defs, "raw/openai_usage", "2026-11-14").success
    parts = _partitions(home, "openai_usage")
    assert sorted(parts) == ["2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14"]
    assert _sum(parts["2026-11-10"], "input_tokens") == (rows_before, tokens_before + 1000)


def test_claude_code_report_lands_in_its_raw_table(org, tmp_path, emu):
    home = tmp_path / "home"
    defs = build_definitions(str(org / "aispend.yaml"), str(home))
    res = _run(defs, "raw/anthropic_claude_code", "2026-11-11")
    assert res.success
    parts = _partitions(home, "anthropic_claude_code")
    assert sorted(parts) == ["2026-11-10", "2026-11-11"]
    expected = [json.loads(x) for x in (org / "api" / "anthropic_claude_code.jsonl").read_text().splitlines()]
    for day in parts:
        exp = [r for r in expected if r["day"] == day]
        assert _sum(parts[day], "input_tokens") == (len(exp), sum(r["input_tokens"] for r in exp))
