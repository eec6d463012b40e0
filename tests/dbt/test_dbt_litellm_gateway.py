"""LiteLLM gateway rows through connector → raw zone → dbt (`fct_llm_calls`).

LiteLLM logs a request under the provider response's id (its `get_spend_logs_id`: the response
`id`, else its own `litellm_call_id`); when its response cache answers, the row is
`<id>_cache_hit<time>` with `cache_hit` 'True' and spend 0: no provider was called, so the call
costs nothing and claims no provider response id. gpt-4o at $2.50 input / $10 output per 1M tokens.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import duckdb
import pytest

from connectors import litellm_logs as ll
from connectors import rawzone
from raw_fixture import write_raw_zone
from test_dbt_build import build_selected

UTC = timezone.utc
ROWS = [
    # 40 × 2.5 + 10 × 10 = 200 per 1M tokens → $0.0002
    {"request_id": "chatcmpl-Z", "call_type": "acompletion", "spend": 0.0002, "prompt_tokens": 40,
     "completion_tokens": 10, "total_tokens": 50, "startTime": "2026-11-10 10:00:00", "endTime": "2026-11-10 10:00:01",
     "model": "gpt-4o", "custom_llm_provider": "openai", "session_id": "s-1", "status": "success",
     "cache_hit": "False", "metadata": {}},
    # the same question again, answered from LiteLLM's cache: would be $0.0002 at list price
    {"request_id": "chatcmpl-Z_cache_hit1762768860.25", "call_type": "acompletion", "spend": 0.0, "prompt_tokens": 40,
     "completion_tokens": 10, "total_tokens": 50, "startTime": "2026-11-10 10:01:00", "endTime": "2026-11-10 10:01:00",
     "model": "gpt-4o", "custom_llm_provider": "openai", "session_id": "s-1", "status": "success",
     "cache_hit": "True", "metadata": {}},
]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    home = tmp_path_factory.mktemp("litellm_gateway")
    raw = rawzone.raw_root(home)
    write_raw_zone(raw, {"llm_prices": [{
        "provider_id": "openai", "model_id": "gpt-4o", "model_match": "{}", "price_start_at": None,
        "price_end_at": None, "input_mtok": 2.5, "cache_read_mtok": 1.25, "cache_write_mtok": None,
        "output_mtok": 10.0, "input_audio_mtok": None, "output_audio_mtok": None, "tiered": False,
        "genai_prices_version": "test"}],
        "llm_price_matches": [{"provider_id": "openai", "model_id": "gpt-4o", "match_kind": "starts_with",
                               "match_value": "gpt-4o"}]})
    gw = home / "spend.jsonl"
    gw.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    logs = ll.read_logs(str(gw), datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
    rawzone.write_partitions(home, ll.RAW_TABLE, "gateway", "day", {"2026-11-10": logs}, ll.SCHEMA, "load-gw", None)
    db = build_selected(home, "+fct_cost_per_query")
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


def test_cache_hit_costs_nothing(con):
    assert con.execute("select call_id, input_tokens, output_tokens, cost_usd, recorded_cost_usd, price_source, "
                       "is_unpriced, is_recorded_cost_mismatch from fct_llm_calls order by started_at").fetchall() == [
        ("chatcmpl-Z", 40, 10, Decimal("0.0002000000"), Decimal("0.0002000000"), "list_price", False, False),
        ("chatcmpl-Z_cache_hit1762768860.25", 40, 10, Decimal("0E-10"), Decimal("0E-10"), "gateway_cache_hit", False,
         False),
    ]


def test_session_cost_counts_the_provider_call_once(con):
    # both rows are the gateway session s-1's calls; only the first reached OpenAI
    assert con.execute("select task_id, calls, cost_usd from fct_cost_per_query").fetchall() == [
        ("s-1", 2, Decimal("0.0002000000"))]
