"""OpenAI usage as the API means it now, and the Costs API's ungrouped answer, through `aispend run`.

Fixtures follow the documented shapes (OpenAI API reference, OpenAPI spec synced 2026-07-15):
`UsageCompletionsResult` with `input_tokens` counting cached, cache-write, audio and image input
(`input_audio_tokens` / `output_audio_tokens` are parts of the totals), the `file_search_calls` /
`web_search_calls` results (`num_requests`), and the Costs example whose result has
`line_item: null` (and `project_id: null`). They are served by the demo's admin-API emulator (a real
HTTP server); expected costs come from `genai_prices.calc_price`, whose `Usage` follows the same
"parts inside the total" convention, so they are computed independently of the dbt models.

How old and new buckets are told apart: by the bucket's start day against the date of the change
(seed `openai_usage_semantics`, = `connectors.openai.USAGE_SEMANTICS_SINCE`): 2026-07-14 is read
under the legacy meaning (audio beside the text totals), 2026-07-15 under the current one.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from genai_prices import Usage, calc_price

from connectors import openai
from connectors.errors import SourceError
from demo.emulator import ApiEmulator
from pipelines.cli import main

UTC = timezone.utc
SEEDS = Path(__file__).resolve().parents[2] / "dbt" / "seeds"
LEGACY, CURRENT = "2026-07-14", "2026-07-15"
KEY_ENV = "AISPEND_TEST_OPENAI_SEMANTICS_KEY"

_dims = {"project_id": "proj_sem", "user_id": None, "api_key_id": "key_sem", "batch": False,
         "service_tier": "default"}
COMPLETIONS = [
    # current meaning: 200k input = 50k cached + 30k cache write + 120k uncached text (no audio)
    {"day": CURRENT, **_dims, "model": "gpt-6-sol", "input_tokens": 200_000, "input_cached_tokens": 50_000,
     "input_cache_write_tokens": 30_000, "input_uncached_tokens": 120_000, "input_audio_tokens": 0,
     "output_tokens": 10_000, "output_audio_tokens": 0, "num_model_requests": 40},
    # current meaning: 100k input of which 60k audio; 20k output of which 15k audio
    {"day": CURRENT, **_dims, "model": "gpt-audio", "input_tokens": 100_000, "input_cached_tokens": 0,
     "input_cache_write_tokens": 0, "input_uncached_tokens": 100_000, "input_audio_tokens": 60_000,
     "output_tokens": 20_000, "output_audio_tokens": 15_000, "num_model_requests": 10},
    # legacy meaning (an answer before the change: no cache-write / uncached fields): the same
    # traffic as above, text totals with audio beside them
    {"day": LEGACY, **_dims, "model": "gpt-audio", "input_tokens": 40_000, "input_cached_tokens": 0,
     "input_audio_tokens": 60_000, "output_tokens": 5_000, "output_audio_tokens": 15_000, "num_model_requests": 10},
]
WEB_SEARCHES = [{"day": CURRENT, "project_id": "proj_sem", "user_id": None, "api_key_id": "key_sem",
                 "model": "gpt-6-sol", "num_requests": 7, "num_model_requests": 7}]
FILE_SEARCHES = [{"day": CURRENT, "project_id": "proj_sem", "user_id": None, "api_key_id": "key_sem",
                  "vector_store_id": "vs_sem", "num_requests": 40}]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _catalogue(model: str, day: str, **usage) -> Decimal:
    return calc_price(Usage(**usage), model, provider_id="openai", genai_request_timestamp=_at(day)).total_price


# what each bucket costs, from the catalogue (parts inside input_tokens / output_tokens, as genai-prices counts)
SOL = _catalogue("gpt-6-sol", CURRENT, input_tokens=200_000, cache_read_tokens=50_000, cache_write_tokens=30_000,
                 output_tokens=10_000)
AUDIO = _catalogue("gpt-audio", CURRENT, input_tokens=100_000, input_audio_tokens=60_000, output_tokens=20_000,
                   output_audio_tokens=15_000)
AUDIO_LEGACY = _catalogue("gpt-audio", LEGACY, input_tokens=100_000, input_audio_tokens=60_000,
                          output_tokens=20_000, output_audio_tokens=15_000)


def _threshold(name: str) -> Decimal:
    with open(SEEDS / "thresholds.csv") as f:
        return next(Decimal(r["value"]) for r in csv.DictReader(f) if r["name"] == name)


TOOLS = 7 * _threshold("openai_web_search_usd_per_request") + 40 * _threshold("openai_file_search_usd_per_request")
# the Costs API's documented ungrouped result for the new day (line_item and project_id null) bills
# exactly what the usage costs; the legacy day is billed by line item
COSTS = [
    {"day": CURRENT, "project_id": None, "line_item": None, "amount_usd": float(SOL + AUDIO + TOOLS)},
    {"day": LEGACY, "project_id": "proj_sem", "line_item": "gpt-audio, input", "amount_usd": 2.02},
    {"day": LEGACY, "project_id": "proj_sem", "line_item": "gpt-audio, output", "amount_usd": 1.01},
]


def _write(api_dir: Path, name: str, rows: list[dict]) -> None:
    (api_dir / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api_dir = tmp_path_factory.mktemp("openai_api")
    _write(api_dir, "openai_usage_completions", COMPLETIONS)
    _write(api_dir, "openai_usage_web_search_calls", WEB_SEARCHES)
    _write(api_dir, "openai_usage_file_search_calls", FILE_SEARCHES)
    _write(api_dir, "openai_costs", COSTS)
    with ApiEmulator(api_dir) as emu:
        yield emu


@pytest.fixture(scope="module")
def wh(api, tmp_path_factory):
    root = tmp_path_factory.mktemp("openai_semantics")
    cfg = root / "aispend.yaml"
    cfg.write_text(f"home: {root / 'home'}\nstart_date: {LEGACY}\nsources:\n"
                   f"  - {{name: oa, type: openai, uri: '{api.base_url}', admin_key_env: {KEY_ENV}}}\n")
    saved = {k: os.environ.get(k) for k in (KEY_ENV, "DAGSTER_HOME")}
    os.environ[KEY_ENV] = api.openai_admin_key
    os.environ["DAGSTER_HOME"] = str(root / "dagster")
    try:
        assert main(["run", "--config", str(cfg), "--home", str(root / "home"), "--end", CURRENT]) == 0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    con = duckdb.connect(str(root / "home" / "warehouse" / "aispend.duckdb"), read_only=True)
    yield con
    con.close()


def test_expected_figures_are_the_hand_computed_ones():
    # gpt-6-sol: 120k uncached × $2 + 50k cached × $0.2 + 30k cache writes × $2.5 + 10k out × $10 per M
    assert SOL == Decimal("0.425")
    # gpt-audio: 40k text × $2.5 + 60k audio × $32 + 5k text out × $10 + 15k audio out × $64 per M
    assert AUDIO == AUDIO_LEGACY == Decimal("3.03")
    assert TOOLS == Decimal("0.17")  # 7 web searches × $0.01 + 40 file searches × $0.0025


def test_current_buckets_split_input_into_its_parts_and_price_cache_writes(wh):
    rows = wh.execute("""
        select usage_date::varchar, model, token_type, tokens, cost_usd, price_source
        from int_llm_api_daily_cost where account_id = 'proj_sem' order by 1, 2, 3""").fetchall()
    def audio(day):  # the same gpt-audio traffic, whichever meaning its day is read under
        return [(day, "gpt-audio", token_type, n, Decimal(usd), "list_price") for token_type, n, usd in (
            ("input", 40_000, "0.1"), ("input_audio", 60_000, "1.92"), ("output", 5_000, "0.05"),
            ("output_audio", 15_000, "0.96"))]

    assert rows == [
        *audio(LEGACY),
        (CURRENT, "gpt-6-sol", "cache_write", 30_000, Decimal("0.075"), "list_price"),
        (CURRENT, "gpt-6-sol", "cached_input", 50_000, Decimal("0.01"), "list_price"),
        (CURRENT, "gpt-6-sol", "input", 120_000, Decimal("0.24"), "list_price"),
        (CURRENT, "gpt-6-sol", "output", 10_000, Decimal("0.1"), "list_price"),
        (CURRENT, "gpt-6-sol", "web_search", 7, Decimal("0.07"), "list_price"),
        *audio(CURRENT),
        (CURRENT, None, "file_search", 40, Decimal("0.1"), "list_price"),
    ]
    per_model = dict(wh.execute("""select usage_date::varchar || ' ' || coalesce(model, '-'), sum(cost_usd)
        from int_llm_api_daily_cost group by 1""").fetchall())
    assert per_model == {f"{CURRENT} gpt-6-sol": SOL + Decimal("0.07"), f"{CURRENT} gpt-audio": AUDIO,
                         f"{LEGACY} gpt-audio": AUDIO_LEGACY, f"{CURRENT} -": Decimal("0.1")}
    # the same traffic under both meanings: the same all-input total (text + audio)
    usage = wh.execute("""select usage_date::varchar, input_tokens, uncached_input_tokens, output_tokens,
        output_audio_tokens from int_llm_api_daily_usage where model = 'gpt-audio' order by 1""").fetchall()
    assert usage == [(LEGACY, 100_000, 40_000, 5_000, 15_000), (CURRENT, 100_000, 40_000, 5_000, 15_000)]


def test_tool_call_counts_land_with_their_endpoint(wh):
    assert wh.execute("""select endpoint, tool_calls, model, vector_store_id from stg_openai__usage_endpoints
        where endpoint like '%search_calls' order by 1""").fetchall() == [
        ("file_search_calls", 40, None, "vs_sem"), ("web_search_calls", 7, "gpt-6-sol", None)]
    # and they are spend in FOCUS terms, per call (file searches name no model)
    assert wh.execute("""select x_token_type, x_model, "SkuId", "ConsumedQuantity", "BilledCost" from focus_costs
        where x_token_type in ('web_search', 'file_search') order by 1""").fetchall() == [
        ("file_search", None, "openai-file-search", Decimal("40"), Decimal("0.1")),
        ("web_search", "gpt-6-sol", "gpt-6-sol-web-search", Decimal("7"), Decimal("0.07"))]


def test_ungrouped_costs_answer_loads_and_reconciles_its_whole_day(wh):
    assert wh.execute("""select cost_date::varchar, project_id, line_item, line_item_model, amount
        from stg_openai__costs where cost_date = ?""", [CURRENT]).fetchall() == [
        (CURRENT, None, "unspecified", None, Decimal("3.625"))]
    rows = wh.execute("""select day::varchar, account_id, model, computed_cost_usd, billed_cost_usd, status,
        is_flagged, gap_reason like '%without a line item%' from fct_llm_reconciliation
        where provider = 'openai' order by 1, 3""").fetchall()
    assert rows == [
        (LEGACY, "proj_sem", "gpt-audio", AUDIO_LEGACY, Decimal("3.03"), "match", False, False),
        (CURRENT, None, None, SOL + AUDIO + TOOLS, Decimal("3.625"), "match", False, True),
    ]
    # every billed and computed dollar is in exactly one row
    assert wh.execute("select sum(billed_cost_usd), sum(computed_cost_usd) from fct_llm_reconciliation "
                      "where provider = 'openai'").fetchone() == (Decimal("6.655"), Decimal("6.655"))


def test_semantics_change_date_is_one_date(tmp_path):
    with open(SEEDS / "openai_usage_semantics.csv") as f:
        current = next(r for r in csv.DictReader(f) if r["meaning"] == "current")
    assert _at(current["valid_from"]) == openai.USAGE_SEMANTICS_SINCE


def test_a_bucket_breaking_the_current_identity_fails_naming_page_and_bucket(tmp_path):
    # parts larger than their total: the meaning changed again; a legacy bucket with audio beside
    # the text total is fine
    _write(tmp_path, "openai_usage_completions", [
        {**COMPLETIONS[2]},
        {"day": CURRENT, **_dims, "model": "gpt-6-sol", "input_tokens": 100, "input_cached_tokens": 80,
         "input_cache_write_tokens": 30, "input_audio_tokens": 0, "output_tokens": 5, "output_audio_tokens": 0,
         "num_model_requests": 1}])
    _write(tmp_path, "openai_usage_web_search_calls", [])
    with ApiEmulator(tmp_path) as emu:
        base_url = emu.base_url
        client = openai.make_client(base_url, emu.openai_admin_key)
        assert openai.fetch_usage(client, _at(LEGACY), _at(CURRENT), endpoints=["completions"]).num_rows == 1
        with pytest.raises(SourceError) as e:
            openai.fetch_usage(client, _at(LEGACY), _at("2026-07-16"), endpoints=["completions"])
    msg = str(e.value)
    assert msg.startswith(f"openai: {base_url}/v1/organization/usage/completions?")
    assert (f"[page 1]: bucket {CURRENT}T00:00Z (project_id=proj_sem, model=gpt-6-sol, api_key_id=key_sem): "
            "input_tokens 100 < input_cached_tokens 80 + input_cache_write_tokens 30 + input_audio_tokens 0 = 110: "
            "the parts must be inside input_tokens (OpenAI usage semantics since 2026-07-15)") in msg


def test_output_audio_larger_than_output_fails(tmp_path):
    _write(tmp_path, "openai_usage_completions", [
        {"day": CURRENT, **_dims, "model": "gpt-audio", "input_tokens": 10, "input_cached_tokens": 0,
         "input_audio_tokens": 0, "output_tokens": 5, "output_audio_tokens": 6, "num_model_requests": 1}])
    with ApiEmulator(tmp_path) as emu, pytest.raises(SourceError, match=r"\[page 1\]: bucket 2026-07-15T00:00Z .*"
                                                     r"output_tokens 5 < output_audio_tokens 6"):
        openai.fetch_usage(openai.make_client(emu.base_url, emu.openai_admin_key), _at(CURRENT),
                           _at("2026-07-16"), endpoints=["completions"])
