"""A source's raw tables commit together or not at all, through `aispend run` against the API emulator.

OpenAI feeds `openai_usage` and `openai_costs`, Anthropic `anthropic_usage`, `anthropic_costs` and
`anthropic_claude_code`. When one endpoint fails (a 500 through every retry) after another returned
changed numbers, the run fails naming the source and the URL, and the raw zone and the warehouse
still hold the previous run's numbers for *every* table of that source. A process killed between
two partition swaps of one commit is finished by the next run (`clean_leftovers`).
"""

from __future__ import annotations

import inspect
import json
import multiprocessing
import os
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from connectors import rawzone
from connectors.http import ApiClient
from demo import generate
from demo.emulator import ApiEmulator
from pipelines.cli import clean_leftovers, main

# one request and every retry of it (the connectors' ApiClient default)
ATTEMPTS = inspect.signature(ApiClient).parameters["max_retries"].default + 1

DAYS = ("2026-11-13", "2026-11-14")  # the run's window: generate(days=3) serves 11-13 .. 11-15
SERVED_TABLES = {"openai_usage": "input_tokens", "openai_costs": "amount_value",
                 "anthropic_usage": "uncached_input_tokens", "anthropic_costs": "amount",
                 "anthropic_claude_code": "input_tokens"}


@pytest.fixture()
def org(tmp_path, monkeypatch):
    out = tmp_path / "org"
    generate(out, days=3)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    with ApiEmulator(out / "api") as e:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", e.openai_admin_key)
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", e.anthropic_admin_key)
        cfg = tmp_path / "aispend.yaml"
        cfg.write_text(f"start_date: {DAYS[0]}\nsources:\n"
                       f"  - {{name: oa, type: openai, uri: '{e.base_url}', admin_key_env: OPENAI_ADMIN_KEY}}\n"
                       f"  - {{name: an, type: anthropic, uri: '{e.base_url}', admin_key_env: ANTHROPIC_ADMIN_KEY}}\n")
        yield out / "api", e, cfg


def _served(api: Path, name: str, col: str) -> tuple[int, float]:
    rows = [json.loads(x) for x in (api / f"{name}.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["day"] in DAYS]
    return len(rows), sum(r[col] for r in rows)


def _raw(home: Path, table: str, col: str) -> tuple[int, float]:
    files = sorted((home / "lake" / "raw" / table).glob("source=*/day=*/*.parquet"))
    t = pa.concat_tables([pq.read_table(f) for f in files])
    values = t[col] if t[col].type != pa.string() else pc.cast(t[col], pa.float64())
    return t.num_rows, pc.sum(values).as_py()


def _warehouse(home: Path) -> tuple:
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    try:
        return (con.execute("select count(*), sum(input_tokens) from stg_openai__usage").fetchone(),
                con.execute("select count(*), sum(amount) from stg_openai__costs").fetchone())
    finally:
        con.close()


def _aispend_run(cfg: Path, home: Path, capsys) -> tuple[int, str]:
    rc = main(["run", "--config", str(cfg), "--home", str(home), "--end", DAYS[1]])
    return rc, capsys.readouterr().err


def _grow(api: Path, emu: ApiEmulator, name: str, col: str, by: int) -> None:
    """The provider now reports `by` more of `col` on the run's last day (a late-finalised bucket)."""
    rows = [json.loads(x) for x in (api / f"{name}.jsonl").read_text().splitlines()]
    day = [dict(r) for r in rows if r["day"] == DAYS[1]]
    day[0][col] += by
    emu.replace_day(name, DAYS[1], day)


@pytest.mark.faults("survived")
def test_a_failed_costs_endpoint_leaves_the_whole_source_at_the_previous_run(org, tmp_path, capsys):
    api, emu, cfg = org
    home = tmp_path / "home"
    rc, err = _aispend_run(cfg, home, capsys)
    assert rc == 0, err
    # golden: the emulator's own files for the two days, summed by hand above the wire
    assert _served(api, "openai_usage_completions", "input_tokens") == (14, 203856620)
    assert _served(api, "openai_costs", "amount_usd") == (38, pytest.approx(430.95116015))
    first = {t: _raw(home, t, c) for t, c in SERVED_TABLES.items()}
    assert first["openai_usage"] == (14, 203856620)
    assert first["openai_costs"] == (38, pytest.approx(430.95116015))
    assert first["anthropic_usage"] == _served(api, "anthropic_usage_messages", "uncached_input_tokens")
    assert first["anthropic_claude_code"] == _served(api, "anthropic_claude_code", "input_tokens")
    assert _warehouse(home) == ((14, 203856620), (38, Decimal("430.9511601500")))

    # second run: usage answers with 1,000 more input tokens, costs answers 500 through every retry;
    # likewise Anthropic's usage grows while its Claude Code report fails
    _grow(api, emu, "openai_usage_completions", "input_tokens", 1000)
    _grow(api, emu, "anthropic_usage_messages", "uncached_input_tokens", 1000)
    emu.inject("/v1/organization/costs", 500, times=ATTEMPTS)
    emu.inject("/v1/organizations/usage_report/claude_code", 500, times=ATTEMPTS)
    rc, err = _aispend_run(cfg, home, capsys)
    assert rc == 1
    assert "openai_costs: source 'oa' (openai): nothing written, previous data kept" in err
    assert f"{emu.base_url}/v1/organization/costs" in err
    assert "anthropic_claude_code: source 'an' (anthropic): nothing written, previous data kept" in err
    assert f"{emu.base_url}/v1/organizations/usage_report/claude_code" in err
    # the new usage was fetched and validated but not committed: every table holds run 1's numbers
    assert {t: _raw(home, t, c) for t, c in SERVED_TABLES.items()} == first
    assert _warehouse(home) == ((14, 203856620), (38, Decimal("430.9511601500")))
    assert not list((home / "lake" / "_commits").glob("*")), "a failed load leaves no commit intent"

    # the endpoints recover (every injected 500 was answered): the next run commits the new usage
    rc, err = _aispend_run(cfg, home, capsys)
    assert rc == 0, err
    assert _raw(home, "openai_usage", "input_tokens") == (14, 203856620 + 1000)
    assert _raw(home, "openai_costs", "amount_value") == first["openai_costs"]
    n, tokens = first["anthropic_usage"]
    assert _raw(home, "anthropic_usage", "uncached_input_tokens") == (n, tokens + 1000)
    assert _warehouse(home) == ((14, 203856620 + 1000), (38, Decimal("430.9511601500")))


# --- a kill -9 between two swaps of one commit -----------------------------------------------------
SCHEMA = pa.schema([("v", pa.int64())])


def _stage(home: Path, table: str, v: int, load_id: str) -> rawzone.StagedPartition:
    sp = rawzone.StagedPartition(home, table, "src", "day", "2026-11-13", SCHEMA, load_id)
    sp.write(pa.table({"v": [v, v]}, schema=SCHEMA))
    return sp


def _killed_after_first_swap(home: Path) -> None:
    swaps = []
    real = rawzone._swap_in

    def swap_then_die(*args):
        if swaps:
            os._exit(9)  # the process dies between the first and the second swap: no cleanup runs
        swaps.append(args)
        real(*args)

    rawzone._swap_in = swap_then_die
    rawzone.commit_together(home, "new", [_stage(home, "usage", 2, "new"), _stage(home, "costs", 20, "new")],
                            "run-2", [None, None])


def _values(home: Path, table: str) -> list[int]:
    return rawzone.read_partition(home, table, "src", "day", "2026-11-13")["v"].to_pylist()


@pytest.mark.faults("survived")
def test_a_commit_killed_between_two_swaps_is_finished_by_the_next_run(tmp_path):
    home = tmp_path / "home"
    rawzone.commit_together(home, "old", [_stage(home, "usage", 1, "old"), _stage(home, "costs", 10, "old")],
                            "run-1", [None, None])
    child = multiprocessing.get_context("fork").Process(target=_killed_after_first_swap, args=(home,))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    # what the kill left: usage already new, costs still old, the intent file naming both
    assert (_values(home, "usage"), _values(home, "costs")) == ([2, 2], [10, 10])
    assert [p.name for p in (home / "lake" / "_commits").glob("*")] == ["new.json"]

    # what `aispend run` does first, holding the home
    assert clean_leftovers(home, dg.DagsterInstance.ephemeral()) == [
        "finished an interrupted commit: swapped in 1 staged partition"]
    assert (_values(home, "usage"), _values(home, "costs")) == ([2, 2], [20, 20])
    assert not list((home / "lake" / "_commits").glob("*"))
    log = rawzone.read_load_log(home)
    assert sorted(zip(log["raw_table"].to_pylist(), log["load_id"].to_pylist())) == [
        ("costs", "new"), ("costs", "old"), ("usage", "new"), ("usage", "old")]
    assert rawzone.remove_scratch(home) == []  # every staged folder was swapped in, every old one removed
    assert rawzone.recover_commits(home) == (0, [])  # finished once: a second pass changes nothing
