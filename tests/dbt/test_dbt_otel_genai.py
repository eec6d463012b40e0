"""OTLP traces in three attribute conventions through connector → raw zone → dbt: current OTel
GenAI names, deprecated ones, OpenInference. Agent spans carrying rolled-up usage never add to
their children's tokens; an agent span whose model calls were not traced is the call itself.

gpt-4o at $2.50 input / $1.25 cache read / $10 output per 1M tokens (hand-computed below).
A LiteLLM gateway export logs one of the traced calls again (same provider response id): it counts once."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from connectors import litellm_logs as ll
from connectors import otel, rawzone
from raw_fixture import write_raw_zone
from test_dbt_build import build_selected, dbt_build

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from test_otel_genai import line, span

UTC = timezone.utc
A, B, C, D = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
GPT = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"}
TRACES = [
    # A: current names; invoke_agent carries the roll-up of its two chat spans (3000 / 300)
    span(A, "a000000000000001", "", "invoke_agent triage", {"gen_ai.operation.name": "invoke_agent",
         "gen_ai.agent.name": "triage", "gen_ai.agent.id": "asst_1", "gen_ai.conversation.id": "conv-A",
         "gen_ai.usage.input_tokens": 3000, "gen_ai.usage.output_tokens": 300}, kind=1),
    # 600 × 2.5 + 400 × 1.25 + 100 × 10 = 3000 per 1M → $0.003
    span(A, "a000000000000002", "a000000000000001", "chat gpt-4o", {**GPT, "gen_ai.operation.name": "chat",
         "gen_ai.response.id": "chatcmpl-A2", "gen_ai.usage.input_tokens": 1000,
         "gen_ai.usage.cache_read.input_tokens": 400, "gen_ai.usage.output_tokens": 100}, t=1),
    span(A, "a000000000000003", "a000000000000001", "execute_tool lookup", {"gen_ai.operation.name": "execute_tool",
         "gen_ai.tool.name": "lookup"}, t=2, kind=1),
    # 2000 × 2.5 + 200 × 10 = 7000 → $0.007 (reasoning tokens are part of output)
    span(A, "a000000000000004", "a000000000000001", "chat gpt-4o", {**GPT, "gen_ai.operation.name": "chat",
         "gen_ai.usage.input_tokens": 2000, "gen_ai.usage.output_tokens": 200,
         "gen_ai.usage.reasoning.output_tokens": 50}, t=3),
    # B: deprecated names: 100 × 2.5 + 10 × 10 = 350 → $0.00035
    span(B, "b000000000000001", "", "chat gpt-4o", {"gen_ai.system": "openai", "gen_ai.operation.name": "chat",
         "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 100, "gen_ai.usage.completion_tokens": 10}),
    # C: OpenInference AGENT with roll-up, one LLM child: 400 × 2.5 + 100 × 1.25 + 50 × 10 = 1625 → $0.001625
    span(C, "c000000000000001", "", "agent", {"openinference.span.kind": "AGENT", "agent.name": "planner",
         "llm.token_count.prompt": 500, "llm.token_count.completion": 50}, kind=1),
    span(C, "c000000000000002", "c000000000000001", "ChatOpenAI", {"openinference.span.kind": "LLM",
         "llm.provider": "openai", "llm.model_name": "gpt-4o", "llm.token_count.prompt": 500,
         "llm.token_count.prompt_details.cache_read": 100, "llm.token_count.completion": 50, "session.id": "s-9"}, t=1),
    span(C, "c000000000000003", "c000000000000001", "search", {"openinference.span.kind": "TOOL",
         "tool.name": "search"}, t=2, kind=1),
    # D: only the agent span is traced: it is the call. 800 × 2.5 + 80 × 10 = 2800 → $0.0028
    span(D, "d000000000000001", "", "invoke_agent solo", {"gen_ai.operation.name": "invoke_agent",
         "gen_ai.agent.name": "solo", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
         "gen_ai.usage.input_tokens": 800, "gen_ai.usage.output_tokens": 80}, kind=1),
]

# the gateway's view: chatcmpl-A2 is span a…02 again (same response id); chatcmpl-Z was never traced
GATEWAY = [
    {"request_id": "chatcmpl-A2", "call_type": "acompletion", "spend": 0.0031, "prompt_tokens": 1000,
     "completion_tokens": 100, "total_tokens": 1100, "startTime": "2026-11-10 09:00:01",
     "endTime": "2026-11-10 09:00:02", "model": "gpt-4o", "custom_llm_provider": "openai", "team_id": "support",
     "session_id": "gw-sess",
     "status": "success", "metadata": {"usage_object": {"prompt_tokens": 1000, "completion_tokens": 100,
                                                       "prompt_tokens_details": {"cached_tokens": 400}}}},
    # 40 × 2.5 + 10 × 10 = 200 per 1M → $0.0002
    {"request_id": "chatcmpl-Z", "call_type": "acompletion", "spend": 0.0002, "prompt_tokens": 40,
     "completion_tokens": 10, "total_tokens": 50, "startTime": "2026-11-10 10:00:00", "endTime": "2026-11-10 10:00:01",
     "model": "gpt-4o", "custom_llm_provider": "openai", "session_id": None, "status": "success", "metadata": {}},
]


def _price(model, inp, cache_read, out):
    return {"provider_id": "openai", "model_id": model, "model_match": "{}", "price_start_at": None,
            "price_end_at": None, "input_mtok": inp, "cache_read_mtok": cache_read, "cache_write_mtok": None,
            "output_mtok": out, "input_audio_mtok": None, "output_audio_mtok": None, "tiered": False,
            "genai_prices_version": "test"}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    home = tmp_path_factory.mktemp("otel_genai")
    raw = rawzone.raw_root(home)
    write_raw_zone(raw, {"llm_prices": [_price("gpt-4o", 2.5, 1.25, 10.0)],
                         "llm_price_matches": [{"provider_id": "openai", "model_id": "gpt-4o",
                                                "match_kind": "starts_with", "match_value": "gpt-4o"}]})
    f = home / "traces.jsonl"
    f.write_text(line(TRACES[:5]) + "\n" + line(TRACES[5:], service="planner-app") + "\n")
    spans = otel.read_spans(str(f), datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
    rawzone.write_partitions(home, "otel_spans", "traces", "day", {"2026-11-10": spans},
                             otel.SCHEMAS["otel_spans"], "load-otel", None)
    gw = home / "spend.jsonl"
    gw.write_text("\n".join(json.dumps(r) for r in GATEWAY) + "\n")
    logs = ll.read_logs(str(gw), datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
    rawzone.write_partitions(home, ll.RAW_TABLE, "gateway", "day", {"2026-11-10": logs}, ll.SCHEMA, "load-gw", None)
    db = build_selected(home, "+fct_agent_loops", "+fct_cost_per_query")
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


def test_calls_per_trace_never_double_count(con):
    rows = con.execute("select trace_id, count(*), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), "
                       "sum(cost_usd) from fct_llm_calls group by 1 order by 1").fetchall()
    assert rows == [
        (A, 2, 3000, 400, 300, Decimal("0.0100000000")),
        (B, 1, 100, 0, 10, Decimal("0.0003500000")),
        (C, 1, 500, 100, 50, Decimal("0.0016250000")),
        (D, 1, 800, 0, 80, Decimal("0.0028000000")),
        (None, 1, 40, 0, 10, Decimal("0.0002000000")),   # the untraced gateway call only
    ]
    assert con.execute("select call_id, provider, model, reasoning_tokens from fct_llm_calls "
                       "where trace_id = ? order by 1", [A]).fetchall() == [
        ("a000000000000002", "openai", "gpt-4o-2024-08-06", 0), ("a000000000000004", "openai", "gpt-4o-2024-08-06", 50)]


def test_tasks_and_agent_loops(con):
    assert con.execute("select task_id, calls, cost_usd from fct_cost_per_query order by 1").fetchall() == [
        (A, 2, Decimal("0.0100000000")), (B, 1, Decimal("0.0003500000")),
        (C, 1, Decimal("0.0016250000")), ("chatcmpl-Z", 1, Decimal("0.0002000000")),
        (D, 1, Decimal("0.0028000000"))]
    loops = con.execute("select task_id, agent, conversation_id, llm_calls, tool_calls from fct_agent_loops "
                        "order by 1").fetchall()
    assert loops == [(A, "triage", "conv-A", 2, 1), (C, "planner", "s-9", 1, 1), (D, "solo", None, 1, 0)]


def test_mapping_is_data(con):
    # every field the staging model reads comes from the seed, current names first
    rows = con.execute("select field, attribute from otel_genai_attributes where priority = 1 "
                       "order by field").fetchall()
    assert ("input_tokens", "gen_ai.usage.input_tokens") in rows and ("provider_name", "gen_ai.provider.name") in rows
    assert con.execute("select count(*) from otel_genai_attributes "
                       "where convention = 'openinference'").fetchone()[0] >= 10


def test_call_in_trace_and_gateway_counts_once(con):
    # the span row is kept (it sits in task A's tree); the gateway's team and spend fill its gaps
    assert con.execute("select call_id, source_table, task_id, team, cost_usd, recorded_cost_usd, "
                       "is_recorded_cost_mismatch, also_seen_in from fct_llm_calls "
                       "where call_id in ('a000000000000002', 'chatcmpl-A2', 'chatcmpl-Z') order by 1").fetchall() == [
        ("a000000000000002", "otel_spans", A, "support", Decimal("0.0030000000"), Decimal("0.0031000000"), True,
         "litellm_spend_logs"),
        ("chatcmpl-Z", "litellm_spend_logs", "chatcmpl-Z", None, Decimal("0.0002000000"), Decimal("0.0002000000"),
         False, None)]
    assert con.execute("select count(*), sum(call_count) from fct_llm_calls").fetchone() == (6, 6)


def test_staging_reads_every_convention_from_otlp_lists(con):
    # the raw zone keeps OTLP's attribute lists as given; staging pulls each field out by key:
    # current OTel GenAI names (A, D), deprecated ones (B), OpenInference (C)
    raw = con.execute("select attributes_json, resource_attributes_json from stg_otel__spans "
                      "where span_id = 'b000000000000001'").fetchone()
    assert raw == ('[{"key":"gen_ai.system","value":{"stringValue":"openai"}},'
                   '{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},'
                   '{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},'
                   '{"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"100"}},'
                   '{"key":"gen_ai.usage.completion_tokens","value":{"intValue":"10"}}]',
                   '[{"key":"service.name","value":{"stringValue":"app"}}]')
    rows = con.execute("select span_id, operation_name, provider_name, request_model, response_model, input_tokens, "
                       "output_tokens, cached_input_tokens, reasoning_tokens, conversation_id, agent_name, agent_id, "
                       "tool_name, response_id, application from stg_otel__spans order by span_id").fetchall()
    gpt = ("openai", "gpt-4o", "gpt-4o-2024-08-06")
    assert rows == [
        ("a000000000000001", "invoke_agent", None, None, None, 3000, 300, None, None, "conv-A", "triage", "asst_1",
         None, None, "app"),
        ("a000000000000002", "chat", *gpt, 1000, 100, 400, None, None, None, None, None, "chatcmpl-A2", "app"),
        ("a000000000000003", "execute_tool", None, None, None, None, None, None, None, None, None, None, "lookup", None,
         "app"),
        ("a000000000000004", "chat", *gpt, 2000, 200, None, 50, None, None, None, None, None, "app"),
        ("b000000000000001", "chat", "openai", "gpt-4o", None, 100, 10, None, None, None, None, None, None, None,
         "app"),
        ("c000000000000001", "invoke_agent", None, None, None, 500, 50, None, None, None, "planner", None, None, None,
         "planner-app"),
        ("c000000000000002", "chat", "openai", "gpt-4o", "gpt-4o", 500, 50, 100, None, "s-9", None, None, None, None,
         "planner-app"),
        ("c000000000000003", "execute_tool", None, None, None, None, None, None, None, None, None, None, "search", None,
         "planner-app"),
        ("d000000000000001", "invoke_agent", "openai", "gpt-4o", None, 800, 80, None, None, None, "solo", None, None,
         None, "planner-app"),
    ]


def _usage_span(i: int, attrs: dict) -> dict:
    return span("e" * 32, f"{i:016x}", "", "chat claude-sonnet-4", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-20250514", **attrs}, t=i)


def test_a_changed_token_semantics_fails_the_build_naming_the_instrumentation(tmp_path):
    """An instrumentation that passes Anthropic's input_tokens through (cache reads and writes NOT
    included, unlike what the seed says) breaks input ≥ cache reads + writes on every cached call:
    the build fails naming its scope. One odd span among 20 good ones in another scope passes."""
    passes_through = [_usage_span(i, {"gen_ai.usage.input_tokens": 12, "gen_ai.usage.cache_read.input_tokens": 4000,
                                      "gen_ai.usage.output_tokens": 80}) for i in range(6)]
    good = [_usage_span(100 + i, {"gen_ai.usage.input_tokens": 4012, "gen_ai.usage.cache_read.input_tokens": 4000,
                                  "gen_ai.usage.output_tokens": 80}) for i in range(20)]
    odd = [_usage_span(200, {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 20,
                             "gen_ai.usage.output_tokens": 5})]
    f = tmp_path / "traces.jsonl"
    f.write_text(line(passes_through).replace("opentelemetry.instrumentation.openai_v2", "old.anthropic.instrumentor")
                 + "\n" + line(good + odd) + "\n")
    spans = otel.read_spans(str(f), datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
    rawzone.write_partitions(tmp_path, "otel_spans", "traces", "day", {"2026-11-10": spans},
                             otel.SCHEMAS["otel_spans"], "load-otel", None)
    run = dbt_build(tmp_path, "+otel_token_counts_keep_their_identities")
    out = run.stdout
    assert run.returncode != 0
    assert ("old.anthropic.instrumentor: input_tokens >= cache reads + cache writes broken on 6 of 6 spans "
            "(e.g. span 0000000000000000)") in out, out[-3000:]
    assert "opentelemetry.instrumentation.openai_v2" not in out.split("semantics changed?")[-1]
