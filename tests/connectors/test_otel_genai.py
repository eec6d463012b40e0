"""OTLP JSON lines as the collector's file exporter writes them, across attribute conventions,
and the token-count sanity check."""

import json
from datetime import datetime, timezone

import pytest

from connectors import otel
from connectors.errors import SourceError

UTC = timezone.utc
DAY = (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
T0 = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp() * 1e9)


def kv(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # 64-bit ints are JSON strings
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def span(trace, span_id, parent, name, attrs, t=0, kind=3):
    return {"traceId": trace, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": kind,
            "startTimeUnixNano": str(T0 + t), "endTimeUnixNano": str(T0 + t + 10**9),
            "attributes": [kv(k, v) for k, v in attrs.items()], "status": {}, "flags": 256}


def line(spans, service="app"):
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [kv("service.name", service)]},
                                          "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2",
                                                                    "version": "2.1b0"}, "spans": spans}]}]})


def test_conventions_kept_verbatim(tmp_path):
    spans = [span("a" * 32, "1" * 16, "", "chat gpt-4o", {"gen_ai.system": "openai", "gen_ai.usage.prompt_tokens": 10,
                                                            "gen_ai.usage.completion_tokens": 2}),
             span("b" * 32, "2" * 16, "", "ChatOpenAI", {"openinference.span.kind": "LLM", "llm.token_count.prompt": 7,
                                                          "llm.token_count.prompt_details.cache_read": 3,
                                                          "session.id": "s-1"})]
    (tmp_path / "t.jsonl").write_text(line(spans) + "\n")
    rows = otel.read_spans(str(tmp_path), *DAY).to_pylist()
    # the raw zone keeps OTLP's attribute list as given (staging extracts the keys)
    assert [json.loads(r["attributes"]) for r in rows] == [s["attributes"] for s in spans]
    assert rows[0]["attributes"] == (
        '[{"key":"gen_ai.system","value":{"stringValue":"openai"}},'
        '{"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"10"}},'
        '{"key":"gen_ai.usage.completion_tokens","value":{"intValue":"2"}}]')


@pytest.mark.parametrize("attr,value", [("gen_ai.usage.input_tokens", -5), ("gen_ai.usage.output_tokens", 10**12),
                                        ("llm.token_count.completion", 2.5), ("gen_ai.usage.input_tokens", "many"),
                                        ("llm.usage.total_tokens", -1)])  # OpenLLMetry's total
def test_absurd_or_negative_token_counts(tmp_path, attr, value):
    good = span("c" * 32, "3" * 16, "", "chat", {"gen_ai.usage.input_tokens": 5})
    bad = span("c" * 32, "4" * 16, "", "chat", {attr: value})
    f = tmp_path / "t.jsonl"
    f.write_text(line([good]) + "\n" + line([bad]) + "\n")
    with pytest.raises(SourceError,
                       match=rf"otel_traces: {f}:2: span 4444444444444444: {attr} = .* is not a token count"):
        otel.read_spans(str(f), *DAY)


def test_cost_attribute_is_not_a_token_count(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text(line([span("d" * 32, "5" * 16, "", "chat", {"gen_ai.usage.cost": 0.25})]) + "\n")
    assert otel.read_spans(str(f), *DAY).num_rows == 1
