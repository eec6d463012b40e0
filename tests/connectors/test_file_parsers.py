"""File-based parsers on small hand-made native inputs: exact columns, values, errors naming file:line."""

import base64
import gzip
import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from connectors import gcp_billing, gpu_telemetry, llm_prices, otel, self_hosted
from connectors._files import list_files
from connectors.errors import SourceError

UTC = timezone.utc
DAY = (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
T0 = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp() * 1e9)


def kv(key, value):
    return {"key": key, "value": value}


def otlp_line(spans, service="support-agent"):
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [kv("service.name", {"stringValue": service}),
                                                                      kv("team", {"stringValue": "support"})]},
                                          "scopeSpans": [{"scope": {"name": "app"}, "spans": spans}]}]})


def test_otel_spans(tmp_path):
    trace = "0af7651916cd43dd8448eb211c80319c"
    root = {"traceId": trace, "spanId": "b7ad6b7169203331", "parentSpanId": "", "name": "invoke_agent triage",
            "kind": "SPAN_KIND_INTERNAL", "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 5_000_000_000),
            "attributes": [kv("gen_ai.operation.name", {"stringValue": "invoke_agent"})],
            "status": {"code": "STATUS_CODE_OK"}}
    chat = {"traceId": base64.b64encode(bytes.fromhex(trace)).decode(),
            "spanId": base64.b64encode(bytes.fromhex("00f067aa0ba902b7")).decode(),
            "parentSpanId": "b7ad6b7169203331", "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": str(T0 + 1000), "endTimeUnixNano": str(T0 + 2_000_000_000),
            "attributes": [kv("app.request.bytes", {"intValue": "9007199254740993"}),
                           kv("gen_ai.request.temperature", {"doubleValue": 0.2}),
                           kv("gen_ai.response.finish_reasons", {"arrayValue": {"values": [{"stringValue": "stop"}]}})],
            "status": {"code": 2}}
    late = dict(root, spanId="1111111111111111", startTimeUnixNano=str(T0 + 86_400 * 10**9))
    (tmp_path / "traces.jsonl").write_text(otlp_line([root, chat]) + "\n\n" + otlp_line([late]) + "\n")
    t = otel.read_spans(str(tmp_path), *DAY)
    assert t.schema.names == otel.SCHEMAS["otel_spans"].names
    rows = t.to_pylist()
    assert len(rows) == 2  # the span starting the next day is outside the window
    r0, r1 = rows
    assert r0["parent_span_id"] is None and r0["kind"] == 1 and r0["status_code"] == 1
    assert (r1["trace_id"] == trace and r1["span_id"] == "00f067aa0ba902b7"
            and r1["parent_span_id"] == "b7ad6b7169203331")
    assert r1["kind"] == 3 and r1["status_code"] == 2
    # OTLP's attribute lists kept as given (compact JSON): 64-bit ints stay exact strings
    assert r1["attributes"] == ('[{"key":"app.request.bytes","value":{"intValue":"9007199254740993"}},'
                                '{"key":"gen_ai.request.temperature","value":{"doubleValue":0.2}},'
                                '{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":'
                                '[{"stringValue":"stop"}]}}}]')
    assert r0["resource_attributes"] == ('[{"key":"service.name","value":{"stringValue":"support-agent"}},'
                                         '{"key":"team","value":{"stringValue":"support"}}]')
    assert r0["service_name"] == "support-agent"
    assert r1["start_time"] == datetime(2026, 11, 10, 12, 0, 0, 1, tzinfo=UTC)


def test_otel_malformed_line_names_file_and_line(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text(otlp_line([]) + "\n" + '{"resourceSpans": [ broken\n')
    with pytest.raises(SourceError, match=rf"otel_traces: {f}:2: malformed OTLP JSON line"):
        otel.read_spans(str(tmp_path), *DAY)


def gcp_row(**over):
    row = {"billing_account_id": "01A2B3", "service": {"id": "C7E2", "description": "Vertex AI"},
           "sku": {"id": "S1", "description": "Gemini 2.5 Pro input"}, "usage_start_time": "2026-10-31T23:00:00Z",
           "usage_end_time": "2026-11-01T00:00:00Z", "project": {"id": "p1", "name": "P1", "number": "123"},
           "labels": [{"key": "team", "value": "ml-research"}, {"key": "application", "value": "eval-harness"}],
           "system_labels": [], "location": {"region": "us-central1"}, "cost": 12.5, "currency": "USD",
           "usage": {"amount": 1000.0, "unit": "count", "amount_in_pricing_units": 0.001, "pricing_unit": "1M count"},
           "credits": [{"name": "CUD", "amount": -2.5, "type": "COMMITTED_USAGE_DISCOUNT"}],
           "invoice": {"month": "202610"}, "cost_type": "regular", "export_time": "2026-11-01T04:00:00Z",
           "new_field_from_google": {"x": 1}}
    row.update(over)
    return json.dumps(row)


def test_gcp_flattening_and_invoice_month(tmp_path):
    (tmp_path / "a.jsonl").write_text("\ufeff" + gcp_row() + "\n"
                                      + gcp_row(invoice={"month": "202611"}, cost=1.0) + "\n")
    assert gcp_billing.discover(str(tmp_path)) == ["2026-10", "2026-11"]
    t = gcp_billing.read_month(str(tmp_path), "2026-10")
    assert t.schema.names == gcp_billing.SCHEMAS["gcp_billing"].names
    r = t.to_pylist()[0]
    assert t.num_rows == 1 and r["cost"] == 12.5 and r["service_description"] == "Vertex AI"
    assert json.loads(r["labels"]) == {"team": "ml-research", "application": "eval-harness"}
    assert json.loads(r["credits"])[0]["amount"] == -2.5
    assert r["usage_start_time"] == datetime(2026, 10, 31, 23, tzinfo=UTC) and r["invoice_month"] == "202610"


def test_gcp_bad_lines(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(gcp_row() + "\n" + json.dumps({"billing_account_id": "x"}) + "\n")
    with pytest.raises(SourceError, match=rf"gcp_billing: {f}:2: missing required field\(s\) service, sku, cost"):
        gcp_billing.read_month(str(tmp_path), "2026-10")


def test_gpu_collector_files(tmp_path):
    host = tmp_path / "gpu-node-01" / "2026-11-10"
    host.mkdir(parents=True)
    def lines(hour):
        yield {"record": "meta", "format_version": 1, "host": "gpu-node-01"}
        yield {"record": "process", "ts": f"2026-11-10T{hour:02d}:00:00Z", "pid": 1}
        for s in range(3):
            yield {"record": "gpu", "ts": f"2026-11-10T{hour:02d}:00:{10 * (s + 1):02d}Z", "host": "gpu-node-01",
                   "gpu_uuid": "GPU-a", "gpu_index": 0, "util_gpu_pct": 50.0, "power_w": 300.0,
                   "energy_mj": 1000 + s, "gpm_sm_activity_pct": None, "future_field": 1}
        yield {"record": "future_kind", "ts": "2026-11-10T00:00:00Z"}
    for hour in (3, 4):
        data = "\n".join(json.dumps(x) for x in lines(hour)) + "\n"
        (host / f"gpu-node-01-20261110T{hour:02d}.jsonl.gz").write_bytes(gzip.compress(data.encode()))
    files = gpu_telemetry.hourly_files(str(tmp_path), datetime(2026, 11, 10, 4, tzinfo=UTC),
                                       datetime(2026, 11, 10, 5, tzinfo=UTC))
    assert len(files) == 2  # the previous hour's file is read too (boundary samples), then filtered by ts
    t = gpu_telemetry.read_samples(str(tmp_path), datetime(2026, 11, 10, 4, tzinfo=UTC),
                                   datetime(2026, 11, 10, 5, tzinfo=UTC))
    assert t.schema.names == gpu_telemetry.SCHEMAS["gpu_samples"].names
    assert t.num_rows == 3 and pc.sum(t["energy_mj"]).as_py() == 3003
    assert (t["gpm_sm_activity_pct"].null_count == 3
            and t["ts"][0].as_py() == datetime(2026, 11, 10, 4, 0, 10, tzinfo=UTC))


def test_self_hosted_requests(tmp_path):
    base = datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp()
    lines = [{"request_id": "r1", "arrival_time": base, "finished_time": base + 2.5, "model": "llama",
              "prompt_tokens": 10, "completion_tokens": 5, "status": "ok", "host": "h", "gpus": ["GPU-a", "GPU-b"],
              "headers": {"x-task-id": "task-1", "x-application": "internal-chat"}},
             {"request_id": "r2", "arrival_time": base + 86400, "finished_time": base + 86401, "model": "llama"}]
    (tmp_path / "requests-2026-11-10.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    t = self_hosted.read_requests(str(tmp_path), *DAY)
    assert t.schema.names == self_hosted.SCHEMAS["self_hosted_requests"].names
    r = t.to_pylist()
    assert len(r) == 1 and r[0]["task_id"] == "task-1" and r[0]["application"] == "internal-chat"
    assert json.loads(r[0]["gpu_uuids"]) == ["GPU-a", "GPU-b"]
    assert (r[0]["finished_at"] - r[0]["started_at"]).total_seconds() == 2.5


def test_llm_price_catalogue():
    snap = llm_prices.snapshot()
    prices = {(r["provider_id"], r["model_id"]): r for r in snap["llm_prices"].to_pylist()
              if r["price_start_at"] is None}
    gpt4o = prices[("openai", "gpt-4o")]
    assert (gpt4o["input_mtok"], gpt4o["output_mtok"], gpt4o["cache_read_mtok"]) == (2.5, 10.0, 1.25)
    sonnet = prices[("anthropic", "claude-sonnet-4-5")]
    assert (sonnet["input_mtok"], sonnet["output_mtok"], sonnet["cache_write_mtok"]) == (3.0, 15.0, 3.75)
    matches = snap["llm_price_matches"].to_pylist()
    assert {"provider_id": "openai", "model_id": "gpt-4o", "match_kind": "equals", "match_value": "gpt-4o-2024-08-06",
            "_source_uri": matches[0]["_source_uri"]} in matches
    # time-versioned: a model whose price changed has consecutive periods
    periods = [r for r in snap["llm_prices"].to_pylist()
               if (r["provider_id"], r["model_id"]) == ("anthropic", "claude-sonnet-4-6")]
    assert len(periods) == 2 and periods[0]["price_end_at"] == periods[1]["price_start_at"] is not None


def test_otel_span_without_ids_names_file_and_line(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text(otlp_line([{"name": "x", "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0)}]) + "\n")
    with pytest.raises(SourceError, match=rf"^otel_traces: {f}:1: malformed OTLP JSON line \(KeyError"):
        otel.read_spans(str(f), *DAY)


def test_otel_glob_and_empty_window(tmp_path):
    span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "chat x", "kind": "3",
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1), "status": {}}
    (tmp_path / "a-1.jsonl").write_text(otlp_line([span]) + "\n")
    (tmp_path / "b-1.jsonl").write_text(otlp_line([{**span, "spanId": "c7ad6b7169203332"}]) + "\n")
    t = otel.read_spans(str(tmp_path / "a-*.jsonl"), *DAY)
    assert t.num_rows == 1 and t["kind"].to_pylist() == [3] and t["status_code"].to_pylist() == [None]
    assert t["_source_uri"].to_pylist() == [str(tmp_path / "a-1.jsonl")]
    empty = otel.read_spans(str(tmp_path), datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    assert empty.num_rows == 0 and empty.schema == otel.SCHEMAS["otel_spans"]


def test_gcp_parquet_export_and_seam(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    rows = [json.loads(gcp_row()), json.loads(gcp_row(invoice={"month": "202611"}))]
    for r in rows:  # a Parquet export carries real timestamps, not strings
        r["usage_start_time"] = datetime(2026, 10, 31, 23, tzinfo=UTC)
        r.pop("new_field_from_google")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "export.parquet")
    assert gcp_billing.discover(str(tmp_path)) == ["2026-10", "2026-11"]
    t = gcp_billing.read_month(str(tmp_path / "export.parquet"), "2026-11")
    r = t.to_pylist()[0]
    assert t.num_rows == 1 and r["usage_start_time"] == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert json.loads(r["labels"])["team"] == "ml-research" and r["location_region"] == "us-central1"
    # the BigQuery reader's seam: (source_uri, nested row) pairs in, the same table out
    seam = gcp_billing.rows_to_table([("bq://proj.ds.table", json.loads(gcp_row()))])
    assert seam.schema == gcp_billing.SCHEMAS["gcp_billing"] and seam["_source_uri"].to_pylist() == ["bq://proj.ds.table"]


def test_gcp_bad_timestamp_and_malformed_line(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(gcp_row(usage_start_time="yesterday") + "\n")
    with pytest.raises(SourceError, match=rf"^gcp_billing: {f}: usage_start_time: not a timestamp"):
        gcp_billing.read_month(str(tmp_path), "2026-10")
    f.write_text(gcp_row() + "\n{oops\n")
    with pytest.raises(SourceError, match=rf"^gcp_billing: {f}:2: malformed export row"):
        gcp_billing.discover(str(tmp_path))


def test_gpu_truncated_file_is_a_source_error(tmp_path):
    d = tmp_path / "h" / "2026-11-10"
    d.mkdir(parents=True)
    data = gzip.compress(b'{"record":"gpu","ts":"2026-11-10T04:00:10Z","gpu_uuid":"GPU-a"}\n' * 100)
    (d / "h-20261110T04.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"^gpu_telemetry: "):
        gpu_telemetry.read_samples(str(tmp_path), datetime(2026, 11, 10, 4, tzinfo=UTC),
                                   datetime(2026, 11, 10, 5, tzinfo=UTC))
    # files outside the window (by name) are not even opened
    t = gpu_telemetry.read_samples(str(tmp_path), datetime(2026, 11, 11, tzinfo=UTC),
                                   datetime(2026, 11, 12, tzinfo=UTC))
    assert t.num_rows == 0 and t.schema == gpu_telemetry.SCHEMAS["gpu_samples"]


def test_self_hosted_malformed_line_names_file_and_line(tmp_path):
    f = tmp_path / "requests-2026-11-10.jsonl"
    f.write_text(json.dumps({"request_id": "r1", "model": "m"}) + "\n")
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {f}:1: started_at \('arrival_time'\): missing$"):
        self_hosted.read_requests(str(tmp_path), *DAY)


def test_wrong_path_is_an_error_not_an_empty_day(tmp_path):
    for read, src in ((self_hosted.read_requests, "self_hosted_requests"), (otel.read_spans, "otel_traces")):
        with pytest.raises(SourceError, match=rf"^{src}: {tmp_path / 'nope'}: no .* files found"):
            read(str(tmp_path / "nope"), *DAY)
    with pytest.raises(SourceError, match=r"^gpu_telemetry: .*nope: telemetry directory not found"):
        gpu_telemetry.read_samples(str(tmp_path / "nope"), *DAY)


def test_llm_price_lines_long_form_variants_tiers_periods():
    from decimal import Decimal

    lines = llm_prices.snapshot()["llm_price_lines"].to_pylist()
    assert set(llm_prices.SCHEMAS["llm_price_lines"].names) == set(lines[0])
    gemini = {(r["valid_from"].date().isoformat() if r["valid_from"] else None, r["variant"], r["tier_start_tokens"]):
              r["usd_per_unit"] for r in lines
              if (r["provider_id"], r["model_id"], r["price_key"]) == ("google", "gemini-2.5-pro", "input_mtok")}
    # context tier above 200k input tokens, and the Batch variant genai-prices dates from 2026-10-14
    assert gemini[("1970-01-01", "standard", 0)] == Decimal("1.25")
    assert gemini[("1970-01-01", "standard", 200000)] == Decimal("2.5")
    assert gemini[("2026-10-14", "processing=batch", 0)] == Decimal("0.625")
    assert gemini[("2026-10-14", "processing=batch", 200000)] == Decimal("1.25")
    # before its start date the Batch variant does not exist: no rows (pricing falls back to standard
    # and says so), rather than standard prices under the Batch label
    assert not any(k[1] == "processing=batch" and k[0] < "2026-10-14" for k in gemini)
    keys = {(r["provider_id"], r["model_id"], r["valid_from"], r["variant"], r["tier_start_tokens"], r["price_key"])
            for r in lines}
    assert len(keys) == len(lines)                       # the grain is a key
    assert {r["unit_size"] for r in lines if r["price_key"].endswith("_mtok")} == {1_000_000}
    assert {"processing=batch", "service_tier=flex", "service_tier=priority"} <= {r["variant"] for r in lines}


def test_identical_files_are_refused_only_when_they_hold_rows(tmp_path):
    """A copy of a file with rows is refused naming both; copies without rows (blank, a CSV header
    only, a zero-row Parquet) double nothing and pass; same size, other bytes pass."""
    (tmp_path / "a.csv").write_text("id,cost\n")
    (tmp_path / "b.csv").write_text("id,cost\n")
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp_path / "c.parquet")
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp_path / "d.parquet")
    (tmp_path / "e.csv").write_text("id,cost\n1,2.5\n")
    (tmp_path / "f.csv").write_text("id,cost\n1,3.5\n")  # same size, other bytes
    assert len(list_files(str(tmp_path), (".csv", ".parquet"), source="s")) == 6
    (tmp_path / "g.csv.gz").write_bytes(gzip.compress(b"id,cost\n1,2.5\n", mtime=0))
    (tmp_path / "h.csv.gz").write_bytes(gzip.compress(b"id,cost\n1,2.5\n", mtime=0))
    with pytest.raises(SourceError) as e:
        list_files(str(tmp_path), (".csv", ".parquet", ".gz"), source="s")
    assert str(e.value) == (f"s: {tmp_path / 'h.csv.gz'}: same content as {tmp_path / 'g.csv.gz'}: loading both "
                            "would count each of its lines twice; remove the copy")
    assert len(list_files(str(tmp_path), (".csv", ".parquet", ".gz"))) == 8  # without a source: no check
