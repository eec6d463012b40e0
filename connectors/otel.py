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
import os
import re
from datetime import datetime
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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


def _dumps(obj) -> str:
    # compact, keys sorted, UTF-8 kept: the exact text the DuckDB fast path builds in SQL
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _python_table(files: list[str], lo: int, hi: int) -> pa.Table:
    """The precise path: a per-span Python loop; raises SourceError naming ``<file>:<line>``."""
    schema = SCHEMAS["otel_spans"]
    cols: dict[str, list] = {f.name: [] for f in schema}
    for f, n, req in json_lines(SOURCE, files, "OTLP JSON line"):
        try:
            for rs in req.get("resourceSpans") or []:
                res_attrs = _attrs((rs.get("resource") or {}).get("attributes"))
                res_json = _dumps(res_attrs)
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
                        cols["attributes"].append(_dumps(attrs))
                        cols["resource_attributes"].append(res_json)
                        cols["_source_uri"].append(f)
        except (ValueError, KeyError, TypeError) as e:
            raise SourceError(SOURCE, f"{f}:{n}", f"malformed OTLP JSON line ({type(e).__name__}: {e})") from None
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


# ---------------------------------------------------------------------------------------------
# Fast path: DuckDB parses the lines (read_ndjson_objects + json_transform — its read_json with a
# columns struct is ~5× slower on 100 kB exporter lines) and builds every column in SQL, for a
# batch of files per query. It vouches only for well-formed OTLP: each row carries a `_bad` flag
# raised wherever the Python path could raise or decide differently (unparseable time, missing
# ids, a token count out of range, an intValue that does not round-trip, containers nested
# deeper than one level, duplicate keys, unknown enum names…). A file with any flagged row, or
# one DuckDB refuses (malformed JSON, a BOM, odd base64), is re-read by the Python path, which
# returns the same rows or raises the precise `<file>:<line>` error.
# ---------------------------------------------------------------------------------------------

# AnyValue as json_transform reads it: scalars as VARCHAR / JSON, which accept any JSON value (a
# typed field would be silently nulled on a mismatch); containers kept as JSON text, decoded only
# where present (rare), so the hot path is a flat struct.
_ANY = {"stringValue": "JSON", "intValue": "VARCHAR", "doubleValue": "VARCHAR", "boolValue": "JSON",
        "bytesValue": "JSON", "arrayValue": "JSON", "kvlistValue": "JSON"}
_KVS = [{"key": "VARCHAR", "value": _ANY}]
# Top-level attribute values are read as their compact JSON text (yyjson re-serialises them):
# the usual one-field forms are decoded with prefix tests and slices, anything else by
# json_transform into _ANY — cheaper than a 7-field struct per attribute.
_TOP_KVS = [{"key": "VARCHAR", "value": "VARCHAR"}]
_LINE = json.dumps({"resourceSpans": [{"resource": {"attributes": _TOP_KVS}, "scopeSpans": [{"scope": {"name": "VARCHAR"}, "spans": [{
    "traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR", "name": "VARCHAR", "kind": "VARCHAR",
    "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR", "attributes": _TOP_KVS, "status": {"code": "VARCHAR"}}]}]}]})
_ARRAY = json.dumps({"values": [_ANY]})
_KVLIST = json.dumps({"values": _KVS})
_ANY_JSON = json.dumps(_ANY)


# A control character never appears unescaped in JSON text: it marks a value the fast path does
# not vouch for inside the built object, so one string search flags the whole list.
_NOT_VOUCHED = "chr(1)"


def _sql_value(v: str, depth: int) -> str:
    """SQL: the JSON text the Python path writes for AnyValue `v`; NULL = not vouched for."""
    if depth == 0:  # one level of arrays / kvlists in SQL; deeper nesting goes to the Python path
        arr = f"coalesce(json_transform({v}.arrayValue, '{_ARRAY}').values, [])"
        kvs = f"coalesce(json_transform({v}.kvlistValue, '{_KVLIST}').values, [])"
        containers = (f"WHEN {v}.arrayValue IS NOT NULL THEN '[' || array_to_string(list_transform({arr}, "
                      f"lambda x: coalesce({_sql_value('x', 1)}, {_NOT_VOUCHED})), ',') || ']' "
                      f"WHEN {v}.kvlistValue IS NOT NULL THEN {_sql_object(kvs, 1)} ")
    else:
        containers = f"WHEN {v}.arrayValue IS NOT NULL OR {v}.kvlistValue IS NOT NULL THEN NULL "
    return (
        "CASE "
        f"WHEN {v}.stringValue IS NOT NULL THEN if(starts_with({v}.stringValue, '\"'), {v}.stringValue::VARCHAR, NULL) "
        f"WHEN {v}.intValue IS NOT NULL THEN if(TRY_CAST({v}.intValue AS BIGINT)::VARCHAR = {v}.intValue, {v}.intValue, NULL) "
        # DuckDB prints a double as Python's repr does (shortest round trip); non-finite → Python path
        f"WHEN {v}.doubleValue IS NOT NULL THEN if(regexp_full_match({v}.doubleValue, '-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?') "
        f"AND isfinite(TRY_CAST({v}.doubleValue AS DOUBLE)), TRY_CAST({v}.doubleValue AS DOUBLE)::VARCHAR, NULL) "
        f"WHEN {v}.boolValue IS NOT NULL THEN if({v}.boolValue::VARCHAR IN ('true', 'false'), {v}.boolValue::VARCHAR, NULL) "
        + containers +
        f"WHEN {v}.bytesValue IS NOT NULL THEN if(starts_with({v}.bytesValue, '\"'), {v}.bytesValue::VARCHAR, NULL) "
        "ELSE 'null' END")


_DEFERRED = "chr(2)"


def _sql_text_value(t: str, deferred: bool = False) -> str:
    """SQL: `_sql_value` for an AnyValue given as its compact JSON text `t`. With `deferred`, rare
    forms (arrays, kvlists, bytes, several fields) give the _DEFERRED marker instead: the caller
    rebuilds those lists with the full decoder (it costs even when no element takes its branch)."""
    num = "'-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?'"
    i, d = f"trim({t}[13:-2], '\"')", f"trim({t}[16:-2], '\"')"
    return (
        f"CASE WHEN {t} IS NULL THEN 'null' "
        # no '","' in the text: the string is the object's only field (inside a serialised string
        # every quote is escaped)
        f"WHEN starts_with({t}, '{{\"stringValue\":\"') THEN "
        f"if(ends_with({t}, '\"}}') AND NOT contains({t}, '\",\"'), {t}[16:-2], NULL) "
        f"WHEN starts_with({t}, '{{\"intValue\":') THEN if(TRY_CAST({i} AS BIGINT)::VARCHAR = {i}, {i}, NULL) "
        f"WHEN starts_with({t}, '{{\"doubleValue\":') THEN if(regexp_full_match({d}, {num}) "
        f"AND isfinite(TRY_CAST({d} AS DOUBLE)), TRY_CAST({d} AS DOUBLE)::VARCHAR, NULL) "
        f"WHEN {t} = '{{\"boolValue\":true}}' THEN 'true' WHEN {t} = '{{\"boolValue\":false}}' THEN 'false' "
        + (f"ELSE {_DEFERRED} END" if deferred else
           f"ELSE {_sql_value(f'json_transform({t}, {chr(39)}{_ANY_JSON}{chr(39)})', 0)} END"))


def _sql_token_bad(key: str, t: str) -> str:
    """SQL: attribute `key` is a token count (the names of _TOKEN_ATTR) whose value (JSON text `t`)
    is not a whole number 0..MAX_TOKENS_PER_SPAN."""
    # CASE, not AND: the regex runs only on names with a token prefix
    is_token = (f"CASE WHEN starts_with({key}, 'gen_ai.usage.') OR starts_with({key}, 'llm.token_count.') "
                f"THEN regexp_full_match({key}, '{_TOKEN_ATTR.pattern}') ELSE false END")
    d = f"TRY_CAST(trim({t}[16:-2], '\"') AS DOUBLE)"
    ok = (f"CASE WHEN starts_with({t}, '{{\"intValue\":') THEN "
          f"coalesce(TRY_CAST(trim({t}[13:-2], '\"') AS BIGINT) BETWEEN 0 AND {MAX_TOKENS_PER_SPAN}, false) "
          f"WHEN starts_with({t}, '{{\"doubleValue\":') THEN "
          f"coalesce({d} BETWEEN 0 AND {MAX_TOKENS_PER_SPAN} AND {d} = floor({d}), false) ELSE false END")
    return f"({is_token} AND NOT ({ok}))"


def _sql_object(kvs: str, depth: int, tokens: bool = False, deferred: bool = False) -> str:
    """SQL: a [{key, value}] list → the JSON object text with keys sorted, holding the marker
    where a key is missing or a value is not vouched for (or, with `tokens`, is a bad token count)."""
    value = _sql_value("a.value", depth) if depth else _sql_text_value("a.value", deferred)
    if tokens:
        value = f"if({_sql_token_bad('a.key', 'a.value')}, NULL, {value})"
    entry = f"coalesce(to_json(a.key)::VARCHAR || ':' || {value}, {_NOT_VOUCHED})"
    return (f"'{{' || array_to_string(list_transform(list_sort(list_transform(coalesce({kvs}, []), "
            f"lambda a: {{'k': a.key, 's': {entry}}})), lambda e: e.s), ',') || '}}'")


def _sql_dup_keys(kvs: str) -> str:
    # Python's dict keeps the last of duplicate keys: such lists go to the Python path
    return f"list_unique(list_transform({kvs}, lambda a: a.key)) < len({kvs})"


def _sql_id(v: str, n: int) -> str:
    """SQL mirror of `_hex_id`: hex of the expected length → lower case; strict base64 → hex; else as is."""
    return (f"CASE WHEN {v} IS NULL OR {v} = '' THEN NULL "
            f"WHEN length({v}) = {n} AND regexp_full_match({v}, '[0-9a-fA-F]+') THEN lower({v}) "
            f"WHEN length({v}) % 4 = 0 AND regexp_full_match({v}, '[A-Za-z0-9+/]*={{0,2}}') THEN lower(hex(from_base64({v}))) "
            f"ELSE {v} END")


def _sql_enum(v: str, table: dict) -> str:
    names = " ".join(f"WHEN '{k}' THEN {i}" for k, i in table.items())
    return f"CASE WHEN regexp_full_match({v}, '[0-9]+') THEN TRY_CAST({v} AS INTEGER) ELSE CASE {v} {names} END END"


def _sql_nanos_bad(v: str, parsed: str) -> str:
    # int() in the Python path: anything but a plain non-negative decimal goes there
    return f"({parsed} IS NULL OR {parsed} < 0 OR {parsed}::VARCHAR <> {v})"


_SQL = f"""
with l as (
    select filename, json_transform(json, '{_LINE}') as x from read_ndjson_objects($files, filename = true)
), r as (  -- a line, resource or scope that is not an object yields a null span: flagged below
    select filename, unnest(if(x is null, [null], x.resourceSpans)) as rs from l
), r2 as (
    select filename, {_sql_object('rs.resource.attributes', 0)} as res_json,
           {_sql_dup_keys('rs.resource.attributes')} as res_dup,
           {_sql_text_value("list_filter(rs.resource.attributes, lambda a: a.key = 'service.name')[-1].value")} as svc,
           unnest(if(rs is null, [null], rs.scopeSpans)) as ss from r
), s as (
    select filename, res_json, if(starts_with(svc, '"'), svc::JSON ->> '$', NULL) as service_name,
           ss.scope.name as scope_name,
           -- a resource the Python path would decide differently on; service.name only as a string
           contains(res_json, {_NOT_VOUCHED}) or coalesce(res_dup, false)
             or (svc <> 'null' and not starts_with(svc, '"')) as res_bad,
           unnest(if(ss is null, [null], ss.spans)) as sp from r2
), t as (
    select *, TRY_CAST(sp.startTimeUnixNano AS BIGINT) as t0 from s
), u as (  -- only spans in the window, and any row the Python path raises on whatever its time
    select *, sp is null or {_sql_nanos_bad('sp.startTimeUnixNano', 't0')} or res_bad as bad0 from t
    where (t0 >= $lo and t0 < $hi) or bad0
), v0 as (
    select *, TRY_CAST(sp.endTimeUnixNano AS BIGINT) as t1,
           {_sql_object('sp.attributes', 0, tokens=True, deferred=True)} as attributes0 from u
), v as (
    select * exclude (attributes0), if(contains(attributes0, {_DEFERRED}),
           {_sql_object('sp.attributes', 0, tokens=True)}, attributes0) as attributes from v0
)
select {_sql_id('sp.traceId', 32)} as trace_id, {_sql_id('sp.spanId', 16)} as span_id,
       {_sql_id('sp.parentSpanId', 16)} as parent_span_id, sp.name as name,
       {_sql_enum('sp.kind', _KIND)} as kind, t0 // 1000 as start_time, t1 // 1000 as end_time,
       {_sql_enum('sp.status.code', _STATUS)} as status_code, service_name, scope_name,
       attributes, res_json as resource_attributes, filename as _source_uri,
       bad0 or sp.traceId is null or sp.spanId is null or {_sql_nanos_bad('sp.endTimeUnixNano', 't1')}
         or contains(attributes, {_NOT_VOUCHED}) or coalesce({_sql_dup_keys('sp.attributes')}, false)
         or (sp.kind is not null and kind is null) or (sp.status.code is not null and status_code is null) as _bad
from v
"""


# Files per DuckDB query: at most this many bytes of JSON (the query's result is held until its
# files are vouched for, so this bounds memory with the largest single file).
GROUP_BYTES = 256 << 20
_GLOB_CHARS = set("*?[]{}")


def _fast_table(con, files: list[str], lo: int, hi: int) -> pa.Table:
    return con.sql(_SQL, params={"files": files, "lo": lo, "hi": hi}).to_arrow_table()


def _conform(t: pa.Table) -> pa.Table:
    schema = SCHEMAS["otel_spans"]
    return pa.table({f.name: t.column(f.name).cast(pa.int64() if f.type == TS else f.type).cast(f.type)
                     for f in schema}, schema=schema)


def _group_table(con, files: list[str], lo: int, hi: int) -> pa.Table:
    """One batch of files: the fast path, each file it cannot vouch for re-read by the Python path."""
    if any(set(f) & _GLOB_CHARS for f in files):  # DuckDB would expand these as patterns
        return pa.concat_tables([_group_table(con, [f], lo, hi) if not set(f) & _GLOB_CHARS
                                 else _python_table([f], lo, hi) for f in files])
    try:
        t = _fast_table(con, files, lo, hi)
    except duckdb.Error:
        if len(files) == 1:
            return _python_table(files, lo, hi)  # raises the precise error, or reads what DuckDB refused
        return pa.concat_tables([_group_table(con, [f], lo, hi) for f in files])
    bad = t.column("_bad")
    if not pc.any(bad).as_py():
        return _conform(t)
    redo = set(pc.unique(t.column("_source_uri").filter(bad)).to_pylist())
    uri = t.column("_source_uri")
    return pa.concat_tables([_python_table([f], lo, hi) if f in redo else _conform(t.filter(pc.equal(uri, f)))
                             for f in files])


def _connect():
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")  # a library: never draw on the caller's terminal
    con.execute("set preserve_insertion_order = true")  # rows in file, line, span order like the Python path
    return con


def iter_spans(uri: str, start: datetime, end: datetime, *, fast: bool = True) -> Iterator[pa.Table]:
    """Spans whose start time falls in [start, end), as a stream of tables (``otel_spans``).

    Files are read in batches of up to GROUP_BYTES by DuckDB (see the fast-path notes above);
    `fast=False` reads every file with the Python path. A line that is not JSON, a span without
    ids/times, or a token-count attribute that is negative, fractional or absurd (> 1e9) raises
    SourceError naming ``<file>:<line>``.
    """
    lo, hi = int(start.timestamp() * 1e9), int(end.timestamp() * 1e9)
    found = list_files(uri, (".jsonl", ".json"))
    if not found:
        raise SourceError(SOURCE, uri, "no trace files found")
    if not fast:
        yield _python_table(found, lo, hi)
        return
    groups: list[list[str]] = [[]]
    size = 0
    for f in found:
        n = os.path.getsize(f)
        if groups[-1] and size + n > GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += n
    con = _connect()
    try:
        for g in groups:
            yield _group_table(con, g, lo, hi)
    finally:
        con.close()


def read_spans(uri: str, start: datetime, end: datetime, *, fast: bool = True) -> pa.Table:
    """Spans whose start time falls in [start, end), from a directory, file or glob (``otel_spans``).

    One row per span; the same rows as `iter_spans`, concatenated. Errors as in `iter_spans`.
    """
    tables = list(iter_spans(uri, start, end, fast=fast))
    return pa.concat_tables(tables) if tables else SCHEMAS["otel_spans"].empty_table()
