"""OpenTelemetry traces as OTLP JSON lines (the collector's file exporter format).

Each line is an ExportTraceServiceRequest: ``resourceSpans[].scopeSpans[].spans[]``. Quirks
handled: ids in hex (or base64 → hex), 64-bit integers as strings (``startTimeUnixNano``,
``intValue``), ``kind``/``status.code`` as ints or enum names, empty ``parentSpanId`` = root.
Attributes become a JSON object of key → scalar (arrays kept as JSON arrays).
Grain: one row per span; partitioned by span start (UTC day).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
import pyarrow as pa

from connectors._files import json_lines, list_files
from connectors.errors import SourceError

SOURCE = "otel_traces"
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {"otel_spans": pa.schema([
    ("trace_id", pa.string()), ("span_id", pa.string()), ("parent_span_id", pa.string()), ("name", pa.string()),
    ("kind", pa.int32()), ("start_time", TS), ("end_time", TS), ("status_code", pa.int32()),
    ("service_name", pa.string()), ("scope_name", pa.string()), ("attributes", pa.string()),
    ("resource_attributes", pa.string()), ("_source_uri", pa.string())])}
PARTITION_TS_COLUMN = {"otel_spans": "start_time"}

_KIND = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
         "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
_STATUS = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _any_value(v: dict):
    # OTLP AnyValue → a JSON scalar; intValue arrives as a string (64-bit) and becomes a number
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [_any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: _any_value(kv.get("value", {})) for kv in v["kvlistValue"].get("values", [])}
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _attrs(items) -> dict:
    # [{key, value: AnyValue}] → {key: scalar}
    return {kv["key"]: _any_value(kv.get("value") or {}) for kv in items or []}


_HEX = {32: re.compile(r"[0-9a-fA-F]{32}"), 16: re.compile(r"[0-9a-fA-F]{16}")}


def _hex_id(v: str | None, length: int) -> str | None:
    """OTLP/JSON ids are hex; protobuf-JSON mappings (some SDKs) write base64 — normalise to hex.

    A hex id of the expected length is never ambiguous: base64 of 16/8 bytes is 24/12 chars.
    """
    if not v:
        return None
    if _HEX[length].fullmatch(v):
        return v.lower()
    try:
        return base64.b64decode(v, validate=True).hex()
    except (binascii.Error, ValueError):
        return v


def _enum(v, table: dict) -> int | None:
    # kind / status.code: an int, a numeric string, or the enum name (SPAN_KIND_CLIENT)
    if v is None:
        return None
    if isinstance(v, int):
        return v
    s = str(v)
    return int(s) if s.isdigit() else table.get(s)


# Token-count attributes of every convention (OTel GenAI current and deprecated, OpenInference):
# a negative or absurd count is a broken instrumentation, not usage, and must not be priced.
_TOKEN_ATTR = re.compile(r"(gen_ai\.usage\..*tokens|llm\.token_count\..+)")
MAX_TOKENS_PER_SPAN = 1_000_000_000


_IS_TOKEN_KEY: dict[str, bool] = {}  # attribute names repeat on every span: match each name once


def _check_tokens(attrs: dict, where: str, span_id) -> None:
    for k, v in attrs.items():
        is_token = _IS_TOKEN_KEY.get(k)
        if is_token is None:
            is_token = _IS_TOKEN_KEY[k] = _TOKEN_ATTR.fullmatch(k) is not None
        if is_token and not (
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= MAX_TOKENS_PER_SPAN
                and v == int(v)):
            raise SourceError(SOURCE, where, f"span {span_id}: {k} = {v!r} is not a token count "
                                             f"(a whole number 0..{MAX_TOKENS_PER_SPAN:,})")


def read_spans(uri: str, start: datetime, end: datetime) -> pa.Table:
    """Spans whose start time falls in [start, end), from a directory, file or glob (``otel_spans``).

    One row per span. A line that is not JSON, a span without ids/times, or a token-count
    attribute that is negative, fractional or absurd (> 1e9) raises SourceError naming ``<file>:<line>``.
    """
    schema = SCHEMAS["otel_spans"]
    lo, hi = int(start.timestamp() * 1e9), int(end.timestamp() * 1e9)
    cols: dict[str, list] = {f.name: [] for f in schema}
    found = list_files(uri, (".jsonl", ".json"))
    if not found:
        raise SourceError(SOURCE, uri, "no trace files found")
    for f, n, req in json_lines(SOURCE, found, "OTLP JSON line"):
        try:
            for rs in req.get("resourceSpans") or []:
                res_attrs = _attrs((rs.get("resource") or {}).get("attributes"))
                res_json = json.dumps(res_attrs, sort_keys=True)
                service = res_attrs.get("service.name")
                for ss in rs.get("scopeSpans") or []:
                    scope = (ss.get("scope") or {}).get("name")
                    for sp in ss.get("spans") or []:
                        t0 = int(sp["startTimeUnixNano"])
                        if not lo <= t0 < hi:
                            continue
                        cols["trace_id"].append(_hex_id(sp["traceId"], 32))
                        cols["span_id"].append(_hex_id(sp["spanId"], 16))
                        cols["parent_span_id"].append(_hex_id(sp.get("parentSpanId"), 16))
                        cols["name"].append(sp.get("name"))
                        cols["kind"].append(_enum(sp.get("kind"), _KIND))
                        cols["start_time"].append(t0 // 1000)
                        cols["end_time"].append(int(sp["endTimeUnixNano"]) // 1000)
                        cols["status_code"].append(_enum((sp.get("status") or {}).get("code"), _STATUS))
                        cols["service_name"].append(service)
                        cols["scope_name"].append(scope)
                        attrs = _attrs(sp.get("attributes"))
                        _check_tokens(attrs, f"{f}:{n}", sp.get("spanId"))
                        cols["attributes"].append(json.dumps(attrs, sort_keys=True))
                        cols["resource_attributes"].append(res_json)
                        cols["_source_uri"].append(f)
        except (ValueError, KeyError, TypeError) as e:
            raise SourceError(SOURCE, f"{f}:{n}", f"malformed OTLP JSON line ({type(e).__name__}: {e})") from None
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)
