"""The DuckDB fast path of the `otel` connector against its precise Python path: identical tables
on every fixture (and no silent fallback on well-formed input); inputs it does not vouch for are
flagged and re-read by the Python path, so results and errors stay exactly the Python path's."""

import base64
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.compute as pc
import pytest

from connectors import otel
from connectors.errors import SourceError
from demo import otel as demo_otel
from demo._common import Window
from test_file_parsers import otlp_line
from test_otel_genai import line, span

UTC = timezone.utc
DAY = (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
LO, HI = (int(t.timestamp() * 1e9) for t in DAY)
T0 = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp() * 1e9)


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def every_kind_line(i: int) -> str:
    """One OTLP line with every AnyValue kind, base64 / upper-case hex ids and enum names."""
    attrs = [
        {"key": "z.last", "value": {"stringValue": "zz"}},  # keys arrive unsorted
        {"key": "s.plain", "value": {"stringValue": "chat gpt-4o"}},
        {"key": "s.escapes", "value": {"stringValue": 'quote " back \\ nl \n tab \t ctl \u0001 é 日本 😀 / \u2028'}},
        {"key": "s.empty", "value": {"stringValue": ""}},
        {"key": "i.small", "value": {"intValue": "42"}},
        {"key": "i.negative", "value": {"intValue": "-7"}},
        {"key": "i.big", "value": {"intValue": "9007199254740993"}},
        {"key": "i.number", "value": {"intValue": 12}},  # some SDKs write a JSON number
        {"key": "d.tenth", "value": {"doubleValue": 0.1}},
        {"key": "d.whole", "value": {"doubleValue": 3.0}},
        {"key": "d.huge", "value": {"doubleValue": 1e20}},
        {"key": "d.tiny", "value": {"doubleValue": 1e-07}},
        {"key": "d.string", "value": {"doubleValue": "2.5"}},
        {"key": "d.sum", "value": {"doubleValue": 0.1 + 0.2}},
        {"key": "b.true", "value": {"boolValue": True}},
        {"key": "b.false", "value": {"boolValue": False}},
        {"key": "bytes", "value": {"bytesValue": "aGVsbG8="}},
        {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": "3"},
                                                           {"doubleValue": 1.5}, {"boolValue": True}, {}]}}},
        {"key": "arr.empty", "value": {"arrayValue": {}}},
        {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "b", "value": {"intValue": "2"}},
                                                           {"key": "a", "value": {"stringValue": "x"}}]}}},
        {"key": "empty.value", "value": {}},
        {"key": "no.value"},
        {"key": "a b", "value": {"stringValue": "space sorts before the closing quote"}},
        {"key": "a", "value": {"stringValue": "prefix"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 12}},  # a bare number (JS exporters)
        {"key": "llm.token_count.prompt", "value": {"intValue": "0"}},
        {"key": "gen_ai.usage.cost", "value": {"doubleValue": 0.25}},
    ]
    trace = f"{i:032x}"
    spans = [
        {"traceId": trace.upper(), "spanId": f"{i:016X}", "parentSpanId": "", "name": "invoke_agent a",
         "kind": "SPAN_KIND_INTERNAL", "startTimeUnixNano": str(T0 + i), "endTimeUnixNano": str(T0 + i + 10**9),
         "attributes": attrs, "status": {"code": "STATUS_CODE_OK"}},
        {"traceId": _b64(trace), "spanId": _b64(f"{i + 1:016x}"), "parentSpanId": _b64(f"{i:016x}"),
         "name": "chat", "kind": 3, "startTimeUnixNano": str(T0 + i + 1), "endTimeUnixNano": str(T0 + i + 2),
         "status": {"code": 2}, "flags": 256},  # no attributes at all
        {"traceId": trace, "spanId": f"{i + 2:016x}", "name": "tool", "kind": "2",
         "startTimeUnixNano": str(T0 + i + 3), "endTimeUnixNano": str(T0 + i + 4), "status": {}, "attributes": []},
        {"traceId": "not-an-id", "spanId": f"{i + 3:016x}", "name": "odd id kept as is", "kind": "SPAN_KIND_CLIENT",
         "startTimeUnixNano": str(T0 + i + 5), "endTimeUnixNano": str(T0 + i + 6)},
        # outside the window: skipped without a look at its attributes
        {"traceId": trace, "spanId": f"{i + 4:016x}", "name": "tomorrow", "kind": 1,
         "startTimeUnixNano": str(T0 + 86_400 * 10**9), "endTimeUnixNano": "later",
         "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "-1"}}]},
    ]
    return json.dumps({"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc-é"}},
                                     {"key": "deployment", "value": {"kvlistValue": {"values": [
                                         {"key": "env", "value": {"stringValue": "prod"}}]}}},
                                     {"key": "host.cpus", "value": {"intValue": "16"}}]},
         "scopeSpans": [{"scope": {"name": "app", "version": "1"}, "spans": spans[:3]},
                        {"scope": {}, "spans": spans[3:]}]},
        {"resource": {}, "scopeSpans": [{"spans": []}]},  # no resource attributes, no spans
    ]}, ensure_ascii=i % 2 == 0)  # \u escapes or raw UTF-8: both decode to the same text


def _fast_and_python(files: list[str]):
    con = otel._connect()
    try:
        raw = otel._fast_table(con, files, LO, HI)
    finally:
        con.close()
    return raw, otel._python_table(files, LO, HI)


def _assert_fast_equals_python(files: list[str]) -> int:
    raw, py = _fast_and_python(files)
    assert pc.sum(raw["_bad"]).as_py() in (0, None), "well-formed input must not fall back"
    fast = otel._conform(raw)
    assert fast.schema == py.schema == otel.SCHEMAS["otel_spans"]
    for name in py.column_names:  # column by column: a failure names the column
        assert fast[name].to_pylist() == py[name].to_pylist(), name
    assert fast.equals(py)
    return py.num_rows


def test_every_anyvalue_kind_base64_ids_enum_names(tmp_path):
    f = tmp_path / "kinds.jsonl"
    f.write_text("\n".join(every_kind_line(i * 10) for i in range(4)) + "\n\n")
    assert _assert_fast_equals_python([str(f)]) == 16  # 4 in-window spans per line
    r = otel.read_spans(str(f), *DAY).to_pylist()
    src = json.loads(every_kind_line(0))["resourceSpans"][0]
    # the raw zone keeps OTLP's lists as given: order, value kinds, 64-bit ints as strings
    assert json.loads(r[0]["attributes"]) == src["scopeSpans"][0]["spans"][0]["attributes"]
    assert r[0]["attributes"].startswith('[{"key":"z.last","value":{"stringValue":"zz"}},{"key":"s.plain",')
    assert '{"key":"i.big","value":{"intValue":"9007199254740993"}}' in r[0]["attributes"]
    assert '{"key":"d.tiny","value":{"doubleValue":1e-7}}' in r[0]["attributes"]  # DuckDB's spelling
    assert r[1]["trace_id"] == r[0]["trace_id"] == f"{0:032x}" and r[1]["parent_span_id"] == r[0]["span_id"]
    assert (r[0]["kind"], r[0]["status_code"], r[1]["kind"], r[1]["status_code"], r[2]["kind"]) == (1, 1, 3, 2, 2)
    assert r[3]["trace_id"] == "not-an-id" and r[3]["scope_name"] is None
    assert r[1]["attributes"] == r[2]["attributes"] == "[]"  # absent and empty lists alike
    assert json.loads(r[0]["resource_attributes"]) == src["resource"]["attributes"]
    assert r[0]["service_name"] == "svc-é"


def test_existing_fixtures_identical(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
    from test_dbt_otel_genai import TRACES  # the dbt test's hand-priced traces
    (tmp_path / "genai.jsonl").write_text(line(TRACES[:5]) + "\n" + line(TRACES[5:], service="planner-app") + "\n")
    trace = "0af7651916cd43dd8448eb211c80319c"
    root = {"traceId": trace, "spanId": "b7ad6b7169203331", "parentSpanId": "", "name": "invoke_agent triage",
            "kind": "SPAN_KIND_INTERNAL", "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 5),
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}],
            "status": {"code": "STATUS_CODE_OK"}}
    (tmp_path / "parsers.jsonl").write_text(otlp_line([root]) + "\n\n" + otlp_line([]) + "\n")
    files = sorted(str(p) for p in tmp_path.glob("*.jsonl"))
    assert _assert_fast_equals_python(files) == 10


def test_demo_generator_traces_identical(tmp_path):
    window = Window(datetime(2026, 11, 9).date(), datetime(2026, 11, 11).date())
    demo_otel.build_and_write(7, window, tmp_path)
    files = sorted(str(p) for p in tmp_path.glob("*.jsonl"))
    assert _assert_fast_equals_python(files) > 100


# Attribute values other than token counts are not decoded: odd ones are kept as given, by both
# paths alike, without a fallback.
KEPT = {
    "nested array": {"arrayValue": {"values": [{"arrayValue": {"values": [{"intValue": "1"}]}}]}},
    "int beyond 64 bits": {"intValue": "123456789012345678901234"},
    "int with leading zeros": {"intValue": "007"},
    "NaN double": {"doubleValue": "NaN"},
    "string that is a number": {"stringValue": 5},
}


@pytest.mark.parametrize("label", list(KEPT))
def test_odd_values_kept_as_given(tmp_path, label):
    s = span("b" * 32, "2" * 16, "", "chat", {})
    s["attributes"] = [{"key": "odd", "value": KEPT[label]}, {"key": "ok", "value": {"stringValue": "y"}}]
    odd = tmp_path / "b.jsonl"
    odd.write_text(line([s]) + "\n")
    raw, py = _fast_and_python([str(odd)])
    assert raw["_bad"].to_pylist() == [False]
    assert otel._conform(raw).equals(py)
    assert json.loads(py["attributes"][0].as_py()) == s["attributes"]


# Inputs the fast path must not decide alone: each is flagged, and read_spans returns exactly the
# Python path's table (file order kept when good and flagged files share a batch).
TOKEN_ODD = {
    "double in exponent form": {"key": "gen_ai.usage.input_tokens", "value": {"doubleValue": "1e3"}},
    "int with leading zeros": {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "007"}},
    "value before key": {"value": {"intValue": "5"}, "key": "llm.token_count.prompt"},
    "escape in a token key": {"key": "gen_ai.usage.\"quoted\"_tokens", "value": {"intValue": "5"}},
    "int as a whole double": {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 5.0}},
    "whole double": {"key": "gen_ai.usage.output_tokens", "value": {"doubleValue": 12.0}},
    "the maximum itself": {"key": "llm.token_count.total", "value": {"intValue": "1000000000"}},
    "OpenLLMetry total as a double": {"key": "llm.usage.total_tokens", "value": {"doubleValue": 25000.0}},
}


@pytest.mark.parametrize("label", list(TOKEN_ODD))
def test_odd_token_entries_fall_back_to_python(tmp_path, label):
    good = tmp_path / "a.jsonl"
    good.write_text(line([span("a" * 32, "1" * 16, "", "chat", {"x": 1})]) + "\n")
    odd = tmp_path / "b.jsonl"
    s = span("b" * 32, "2" * 16, "", "chat", {})
    s["attributes"] = [TOKEN_ODD[label], {"key": "ok", "value": {"stringValue": "y"}}]
    odd.write_text(line([s]) + "\n")
    raw, py = _fast_and_python([str(good), str(odd)])
    assert raw["_bad"].to_pylist() == [False, True]
    assert otel.read_spans(str(tmp_path), *DAY).equals(py)
    assert py.num_rows == 2


def test_odd_service_name_and_lists_fall_back(tmp_path):
    files = []
    for i, (res, attrs) in enumerate([
            ([{"key": "service.name", "value": {"intValue": "5"}}], []),  # not a string: no service name
            ([{"key": "service.name", "value": {"stringValue": "a"}},
              {"key": "service.name", "value": {"stringValue": "b"}}], []),  # the last one wins
            ([], {}),  # an empty object reads as no attributes
    ]):
        s = span("c" * 32, f"{i:016x}", "", "chat", {})
        s["attributes"] = attrs
        f = tmp_path / f"t{i}.jsonl"
        f.write_text(json.dumps({"resourceSpans": [{"resource": {"attributes": res},
                                                    "scopeSpans": [{"spans": [s]}]}]}) + "\n")
        files.append(str(f))
    raw, py = _fast_and_python(files)
    assert raw["_bad"].to_pylist() == [True, True, True]
    assert py["service_name"].to_pylist() == [None, "b", None] and py["attributes"][2].as_py() == "[]"
    assert otel.read_spans(str(tmp_path), *DAY).equals(py)


def test_attributes_not_a_list_is_an_error(tmp_path):
    s = span("c" * 32, "3" * 16, "", "chat", {})
    s["attributes"] = {"gen_ai.usage.input_tokens": 5}
    f = tmp_path / "t.jsonl"
    f.write_text(line([s]) + "\n")
    with pytest.raises(SourceError,
                       match=rf"^otel_traces: {f}:1: malformed OTLP JSON line \(span attributes is a dict"):
        otel.read_spans(str(f), *DAY)


def test_repeated_keys_kept_as_given_bom_and_glob_chars_fall_back(tmp_path):
    s = span("c" * 32, "3" * 16, "", "chat", {"k": 1})
    s["attributes"].append({"key": "k", "value": {"intValue": "2"}})  # a repeated attribute: both kept
    # a repeated JSON member inside an entry: kept too, as DuckDB writes it (the pairs hook)
    dup = line([s]).replace('{"intValue": "2"}', '{"intValue": "2", "intValue": "3"}')
    (tmp_path / "dup.jsonl").write_text(dup + "\n")
    (tmp_path / "bom.jsonl").write_text("\ufeff" + line([span("d" * 32, "4" * 16, "", "chat", {})]) + "\n")
    (tmp_path / "odd[name].jsonl").write_text(line([span("e" * 32, "5" * 16, "", "chat", {})]) + "\n")
    raw, py = _fast_and_python([str(tmp_path / "dup.jsonl")])
    assert raw["_bad"].to_pylist() == [False] and otel._conform(raw).equals(py)
    t = otel.read_spans(str(tmp_path), *DAY)
    assert t.equals(otel.read_spans(str(tmp_path), *DAY, fast=False))
    assert t.num_rows == 3 and t["attributes"][1].as_py() == (
        '[{"key":"k","value":{"intValue":"1"}},{"key":"k","value":{"intValue":"2","intValue":"3"}}]')


def test_bad_line_in_a_later_file_of_a_batch_names_it(tmp_path):
    for i in range(3):
        (tmp_path / f"t{i}.jsonl").write_text(line([span("f" * 32, f"{i:016x}", "", "chat", {})]) + "\n")
    bad = tmp_path / "t3.jsonl"
    bad.write_text(line([]) + "\n"
                   + line([span("f" * 32, "9" * 16, "", "chat", {"gen_ai.usage.input_tokens": -3})]) + "\n")
    with pytest.raises(SourceError,
                       match=rf"^otel_traces: {bad}:2: span 9999999999999999: gen_ai.usage.input_tokens = -3"):
        otel.read_spans(str(tmp_path), *DAY)


def test_stream_of_batches(tmp_path, monkeypatch):
    for i in range(3):
        (tmp_path / f"t{i}.jsonl").write_text(every_kind_line(i) + "\n")
    monkeypatch.setattr(otel, "GROUP_BYTES", 1)  # one file per DuckDB query
    tables = list(otel.iter_spans(str(tmp_path), *DAY))
    assert [t.num_rows for t in tables] == [4, 4, 4]
    monkeypatch.undo()
    whole = otel.read_spans(str(tmp_path), *DAY)
    assert whole.equals(otel.read_spans(str(tmp_path), *DAY, fast=False))
    assert whole.to_pylist() == [r for t in tables for r in t.to_pylist()]


def test_crlf_and_missing_final_newline(tmp_path):
    f = tmp_path / "crlf.jsonl"
    f.write_bytes((every_kind_line(1) + "\r\n\r\n" + every_kind_line(2)).encode())
    assert _assert_fast_equals_python([str(f)]) == 8
