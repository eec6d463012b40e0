"""Token counts of the three OTel instrumentation families, through `aispend run` (one run).

Each span set is written from the instrumentation's own source (attribute names and what each
count includes), as the collector's file exporter writes OTLP JSON lines:
- official OTel GenAI (opentelemetry-python-genai openai-v2 / anthropic; semconv ≥ 1.40/1.41 names,
  and semantic-conventions-genai's `cache_write` rename): input INCLUDES cache reads and writes
  (the Anthropic instrumentation adds cache_read + cache_creation to Anthropic's input_tokens);
- OpenLLMetry (traceloop): `gen_ai.usage.reasoning_tokens`, `llm.usage.total_tokens`, the cache
  names before (`…cache_read_input_tokens`) and after (`…cache_read.input_tokens`) semconv-ai 0.5,
  and an older release that names the request type `llm.request.type` and the counts
  `prompt_tokens` / `completion_tokens`;
- OpenInference (Arize): `llm.token_count.*` with `prompt_details.cache_read / cache_write`,
  `completion_details.reasoning`, and a Responses API span whose reasoning count is only in the
  response body recorded as `output.value` (`usage.output_tokens_details.reasoning_tokens`).

Every call's cost is `genai_prices.calc_price` on (input incl. cache, cache read, cache write,
output) as of the call: reasoning tokens are inside output and must not be charged again.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from real_data import run_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from test_otel_genai import kv

T0 = datetime(2026, 11, 10, 9, tzinfo=timezone.utc)
NS = int(T0.timestamp()) * 10**9


def _span(span_id: str, name: str, attrs: dict, minute: int) -> dict:
    t = NS + minute * 60 * 10**9
    return {"traceId": span_id * 2, "spanId": span_id, "parentSpanId": "", "name": name, "kind": "SPAN_KIND_CLIENT",
            "startTimeUnixNano": str(t), "endTimeUnixNano": str(t + 2 * 10**9),
            "attributes": [kv(k, v) for k, v in attrs.items()], "status": {"code": "STATUS_CODE_OK"}}


def _request(service: str, scope: str, version: str, spans: list[dict]) -> str:
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [kv("service.name", service)]},
                                          "scopeSpans": [{"scope": {"name": scope, "version": version},
                                                          "spans": spans}]}]})


RESPONSE_BODY = {  # an OpenAI Responses API response (trimmed) as OpenInference records it in output.value
    "id": "resp_68f1", "object": "response", "status": "completed", "model": "o4-mini-2025-04-16",
    "output": [{"type": "reasoning", "id": "rs_1", "summary": []},
               {"type": "message", "id": "msg_1", "role": "assistant",
                "content": [{"type": "output_text", "text": "Refund approved."}]}],
    "usage": {"input_tokens": 6400, "input_tokens_details": {"cached_tokens": 4096},
              "output_tokens": 2500, "output_tokens_details": {"reasoning_tokens": 1920}, "total_tokens": 8900}}

# span id → (provider as the span names it, model the call is priced as, tokens: input incl. cache,
# cache read, cache write, output incl. reasoning, reasoning)
CALLS = {
    # official OTel GenAI
    "0e00000000000001": ("openai", "gpt-5-2025-08-07", 12000, 8000, 0, 3000, 2200),
    "0e00000000000002": ("anthropic", "claude-sonnet-4-20250514", 8100, 5000, 3000, 900, 0),
    "0e00000000000003": ("anthropic", "claude-sonnet-4-20250514", 2050, 0, 2000, 120, 0),
    # OpenLLMetry
    "0100000000000001": ("openai", "o3-2025-04-16", 20000, 15000, 0, 5000, 4100),
    "0100000000000002": ("anthropic", "claude-3-7-sonnet-20250219", 9003, 6000, 3000, 700, 0),
    "0100000000000003": ("Anthropic", "claude-3-7-sonnet-20250219", 4004, 0, 4000, 300, 0),
    # OpenInference
    "0a00000000000001": ("openai", "gpt-5-2025-08-07", 7000, 3072, 0, 1800, 1500),
    "0a00000000000002": ("anthropic", "claude-sonnet-4-20250514", 10020, 8000, 2000, 640, 0),
    "0a00000000000003": ("openai", "o4-mini-2025-04-16", 6400, 4096, 0, 2500, 1920),
}

OTEL_OPENAI = _request("support-agent", "opentelemetry.instrumentation.openai_v2", "2.3b0", [
    _span("0e00000000000001", "chat gpt-5", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-5",
        "gen_ai.response.model": "gpt-5-2025-08-07", "gen_ai.response.id": "chatcmpl-otel1",
        "gen_ai.usage.input_tokens": 12000, "gen_ai.usage.cache_read.input_tokens": 8000,
        "gen_ai.usage.output_tokens": 3000, "gen_ai.usage.reasoning.output_tokens": 2200}, 0)])
OTEL_ANTHROPIC = _request("support-agent", "opentelemetry.instrumentation.genai.anthropic", "0.1b0", [
    # Anthropic's usage {input_tokens: 100, cache_creation_input_tokens: 3000, cache_read_input_tokens:
    # 5000}: the instrumentation reports input = 100 + 3000 + 5000
    _span("0e00000000000002", "chat claude-sonnet-4-20250514", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-20250514", "gen_ai.response.model": "claude-sonnet-4-20250514",
        "gen_ai.usage.input_tokens": 8100, "gen_ai.usage.cache_creation.input_tokens": 3000,
        "gen_ai.usage.cache_read.input_tokens": 5000, "gen_ai.usage.output_tokens": 900}, 1),
    # semantic-conventions-genai's name for the cache write
    _span("0e00000000000003", "chat claude-sonnet-4-20250514", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-20250514", "gen_ai.usage.input_tokens": 2050,
        "gen_ai.usage.cache_write.input_tokens": 2000, "gen_ai.usage.output_tokens": 120}, 2)])
OPENLLMETRY_OPENAI = _request("billing-bot", "opentelemetry.instrumentation.openai.v1", "0.47.3", [
    _span("0100000000000001", "openai.chat", {
        "llm.request.type": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "o3",
        "gen_ai.response.model": "o3-2025-04-16", "gen_ai.usage.input_tokens": 20000,
        "gen_ai.usage.output_tokens": 5000, "llm.usage.total_tokens": 25000,
        "gen_ai.usage.cache_read_input_tokens": 15000, "gen_ai.usage.reasoning_tokens": 4100}, 3)])
OPENLLMETRY_ANTHROPIC = _request("billing-bot", "opentelemetry.instrumentation.anthropic", "0.50.1", [
    # semconv-ai 0.5: dotted cache names, gen_ai.operation.name; input = 3 + 3000 + 6000
    _span("0100000000000002", "anthropic.chat", {
        "gen_ai.operation.name": "chat", "gen_ai.system": "anthropic",
        "gen_ai.request.model": "claude-3-7-sonnet-20250219", "gen_ai.response.model": "claude-3-7-sonnet-20250219",
        "gen_ai.usage.input_tokens": 9003, "gen_ai.usage.output_tokens": 700, "llm.usage.total_tokens": 9703,
        "gen_ai.usage.cache_creation.input_tokens": 3000, "gen_ai.usage.cache_read.input_tokens": 6000}, 4)])
OPENLLMETRY_ANTHROPIC_OLD = _request("billing-bot", "opentelemetry.instrumentation.anthropic", "0.33.9", [
    # an older release: llm.request.type, prompt/completion tokens, underscore cache names, "Anthropic"
    _span("0100000000000003", "anthropic.chat", {
        "llm.request.type": "chat", "gen_ai.system": "Anthropic", "gen_ai.request.model": "claude-3-7-sonnet-20250219",
        "gen_ai.usage.prompt_tokens": 4004, "gen_ai.usage.completion_tokens": 300, "llm.usage.total_tokens": 4304,
        "gen_ai.usage.cache_creation_input_tokens": 4000, "gen_ai.usage.cache_read_input_tokens": 0}, 5)])
OPENINFERENCE = _request("research-app", "openinference.instrumentation.openai", "0.1.30", [
    _span("0a00000000000001", "ChatCompletion", {
        "openinference.span.kind": "LLM", "llm.provider": "openai", "llm.system": "openai",
        "llm.model_name": "gpt-5-2025-08-07", "llm.token_count.prompt": 7000,
        "llm.token_count.prompt_details.cache_read": 3072, "llm.token_count.completion": 1800,
        "llm.token_count.completion_details.reasoning": 1500, "llm.token_count.total": 8800}, 6),
    # the reasoning count only in the recorded Responses API body
    _span("0a00000000000003", "Response", {
        "openinference.span.kind": "LLM", "llm.provider": "openai", "llm.system": "openai",
        "llm.model_name": "o4-mini-2025-04-16", "llm.token_count.prompt": 6400,
        "llm.token_count.prompt_details.cache_read": 4096, "llm.token_count.completion": 2500,
        "llm.token_count.total": 8900, "output.mime_type": "application/json",
        "output.value": json.dumps(RESPONSE_BODY)}, 8)])
OPENINFERENCE_ANTHROPIC = _request("research-app", "openinference.instrumentation.anthropic", "0.1.20", [
    # prompt = input 20 + cache_creation 2000 + cache_read 8000 (openinference PR #1429)
    _span("0a00000000000002", "Messages", {
        "openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.system": "anthropic",
        "llm.model_name": "claude-sonnet-4-20250514", "llm.token_count.prompt": 10020,
        "llm.token_count.prompt_details.cache_read": 8000, "llm.token_count.prompt_details.cache_write": 2000,
        "llm.token_count.completion": 640, "llm.token_count.total": 10660}, 7)])


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    root = tmp_path_factory.mktemp("otel_families")
    traces = root / "traces.jsonl"
    traces.write_text("\n".join([OTEL_OPENAI, OTEL_ANTHROPIC, OPENLLMETRY_OPENAI, OPENLLMETRY_ANTHROPIC,
                                 OPENLLMETRY_ANTHROPIC_OLD, OPENINFERENCE, OPENINFERENCE_ANTHROPIC]) + "\n")
    run = run_config(root / "home", "aispend", "2026-11-10", "2026-11-10",
                     [f"{{name: traces, type: otel_traces, uri: '{traces}'}}"])
    con = run.connect()
    yield con
    con.close()


def _expected_cost(provider: str, model: str, inp: int, cache_read: int, cache_write: int, out: int, at) -> Decimal:
    import genai_prices
    usage = genai_prices.Usage(input_tokens=inp, cache_read_tokens=cache_read, cache_write_tokens=cache_write,
                               output_tokens=out)
    price = genai_prices.calc_price(usage, model, provider_id=provider.lower(), genai_request_timestamp=at)
    return price.total_price.quantize(Decimal("1e-9"))


def test_every_family_maps_every_token_count(families):
    rows = families.execute(
        "select call_id, provider, model, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, "
        "reasoning_tokens from fct_llm_calls where source_table = 'otel_spans' order by call_id").fetchall()
    assert rows == sorted((sid, p, m, i, cr, cw, o, r) for sid, (p, m, i, cr, cw, o, r) in CALLS.items())


def test_cost_charges_reasoning_once_and_cache_at_catalogue_rates(families):
    got = dict(families.execute("select call_id, cost_usd from fct_llm_calls where source_table = 'otel_spans'")
               .fetchall())
    assert set(got) == set(CALLS)
    for sid, (p, m, i, cr, cw, o, r) in CALLS.items():
        at = families.execute("select started_at from fct_llm_calls where call_id = ?", [sid]).fetchone()[0]
        want = _expected_cost(p, m, i, cr, cw, o, at)
        assert got[sid] == want, (sid, got[sid], want)
        if r:  # charging reasoning on top of output would cost more: the figure above rules it out
            assert _expected_cost(p, m, i, cr, cw, o + r, at) > want
    # the whole set, by hand: gpt-5 $1.25 / $0.125 cached / $10 per 1M, o3 $2 / $0.50 / $8, o4-mini
    # $1.10 / $0.275 / $4.40, Claude Sonnet 4 and 3.7 $3 / $0.30 read / $3.75 write / $15; e.g. the
    # OTel gpt-5 call: 4,000 × 1.25 + 8,000 × 0.125 + 3,000 × 10 = 36,000 per 1M = $0.036
    assert sum(got.values()) == Decimal("0.2300858000")


def test_token_identities_hold_on_every_family(families):
    # what the dbt test otel_token_counts_keep_their_identities checks, span by span, here all true
    rows = families.execute(
        "select scope_name, count(*), count(total_tokens), "
        "count_if(coalesce(coalesce(cached_input_tokens, 0) + coalesce(cache_write_tokens, 0) > input_tokens, false)), "
        "count_if(coalesce(reasoning_tokens > output_tokens, false)), "
        "count_if(coalesce(total_tokens <> input_tokens + output_tokens, false)) "
        "from stg_otel__spans group by 1 order by 1").fetchall()
    assert rows == [("openinference.instrumentation.anthropic", 1, 1, 0, 0, 0),
                    ("openinference.instrumentation.openai", 2, 2, 0, 0, 0),
                    ("opentelemetry.instrumentation.anthropic", 2, 2, 0, 0, 0),
                    ("opentelemetry.instrumentation.genai.anthropic", 2, 0, 0, 0, 0),
                    ("opentelemetry.instrumentation.openai.v1", 1, 1, 0, 0, 0),
                    ("opentelemetry.instrumentation.openai_v2", 1, 0, 0, 0, 0)]
