"""OpenTelemetry traces as OTLP JSON lines (the collector's file exporter format).

Each line is an ExportTraceServiceRequest: ``resourceSpans[].scopeSpans[].spans[]``. Quirks
handled: ids in hex (or base64 → hex), 64-bit integers as strings (``startTimeUnixNano``,
``intValue``), ``kind``/``status.code`` as ints or enum names, empty ``parentSpanId`` = root.
The span's and resource's attribute lists are kept as OTLP gives them (compact JSON text of the
list; dbt staging extracts the keys); only token-count attributes are checked here.
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
    # OTLP AnyValue → a Python scalar; intValue arrives as a string (64-bit)
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


# Token-count attributes of every convention (OTel GenAI current and deprecated, OpenLLMetry's
# llm.usage.*tokens, OpenInference): a negative or absurd count is a broken instrumentation, not
# usage, and must not be priced.
_TOKEN_ATTR = re.compile(r"(gen_ai\.usage\..*tokens|llm\.usage\..*tokens|llm\.token_count\..+)")
MAX_TOKENS_PER_SPAN = 1_000_000_000


_IS_TOKEN_KEY: dict[str, bool] = {}  # attribute names repeat on every span: match each name once


def _attr_list(items, where: str, what: str) -> list:
    """An OTLP attribute list as given; absent / null / empty → []. Anything else is malformed."""
    if not items:
        return []
    if not isinstance(items, list):
        raise SourceError(SOURCE, where, f"malformed OTLP JSON line ({what} is a {type(items).__name__}, not a list)")
    return items


def _check_tokens(items: list, where: str, span_id) -> None:
    """Token-count attributes (top level of the span's list) must hold a whole number 0..MAX.

    Other attributes are kept as OTLP gives them and are not decoded here (staging does)."""
    for kv in items:
        k = kv.get("key") if isinstance(kv, dict) else None
        if not isinstance(k, str):
            continue
        is_token = _IS_TOKEN_KEY.get(k)
        if is_token is None:
            is_token = _IS_TOKEN_KEY[k] = _TOKEN_ATTR.fullmatch(k) is not None
        if not is_token:
            continue
        raw = kv.get("value")
        try:
            v = _any_value(raw) if isinstance(raw, dict) else None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            v = raw
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= MAX_TOKENS_PER_SPAN
                and v == int(v)):
            raise SourceError(SOURCE, where, f"span {span_id}: {k} = {v!r} is not a token count "
                                             f"(a whole number 0..{MAX_TOKENS_PER_SPAN:,})")


def _service_name(items: list) -> str | None:
    # the last top-level `service.name` attribute, when it is a string (Python's dict semantics)
    name = None
    for kv in items:
        if isinstance(kv, dict) and kv.get("key") == "service.name":
            v = kv.get("value")
            name = v.get("stringValue") if isinstance(v, dict) else None
            name = name if isinstance(name, str) else None
    return name


class _Pairs(dict):
    """A JSON object with a repeated key: lookups see the last value (as `json.loads` does), while
    `items()` — what the json encoder writes — gives every pair in order, as DuckDB keeps them."""
    pairs: list

    def items(self):
        return self.pairs


def _object(pairs: list):
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    o = _Pairs(d)
    o.pairs = pairs
    return o


def _canonical_json(texts: list[str]) -> list[str]:
    """`texts` (JSON written by Python) as DuckDB writes the same JSON: the fast path stores the
    attribute lists as DuckDB re-serialises them (yyjson: its number and escape spelling), so the
    Python path passes its own serialisation through the same writer. Text DuckDB refuses (a
    lone surrogate; a file DuckDB refused in the first place) stays as Python wrote it."""
    uniq = list(dict.fromkeys(texts))
    if not uniq:
        return []
    con = duckdb.connect()
    try:
        t = pa.table({"i": pa.array(range(len(uniq)), pa.int64()),  # noqa: F841 (read by DuckDB's replacement scan)
                      "s": pa.array(uniq, pa.string())})
        out = con.sql("select coalesce(try(json(s)::VARCHAR), s) from t order by i").fetchall()
    finally:
        con.close()
    canon = {u: o[0] for u, o in zip(uniq, out)}
    return [canon[x] for x in texts]


def _dumps(items: list) -> str:
    # ASCII escapes: any text DuckDB's JSON parser reads back (see _canonical_json)
    return json.dumps(items, separators=(",", ":")) if items else "[]"


def _python_table(files: list[str], lo: int, hi: int) -> pa.Table:
    """The precise path: a per-span Python loop; raises SourceError naming ``<file>:<line>``."""
    schema = SCHEMAS["otel_spans"]
    cols: dict[str, list] = {f.name: [] for f in schema}
    for f, n, req in json_lines(SOURCE, files, "OTLP JSON line", object_pairs_hook=_object):
        try:
            for rs in req.get("resourceSpans") or []:
                res_items = _attr_list((rs.get("resource") or {}).get("attributes"), f"{f}:{n}", "resource attributes")
                res_json = _dumps(res_items)
                service = _service_name(res_items)
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
                        items = _attr_list(sp.get("attributes"), f"{f}:{n}", "span attributes")
                        _check_tokens(items, f"{f}:{n}", sp.get("spanId"))
                        cols["attributes"].append(_dumps(items))
                        cols["resource_attributes"].append(res_json)
                        cols["_source_uri"].append(f)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise SourceError(SOURCE, f"{f}:{n}", f"malformed OTLP JSON line ({type(e).__name__}: {e})") from None
    cols["attributes"] = _canonical_json(cols["attributes"])
    cols["resource_attributes"] = _canonical_json(cols["resource_attributes"])
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


# ---------------------------------------------------------------------------------------------
# Fast path: DuckDB parses the lines (read_ndjson_objects + json_transform — its read_json with a
# columns struct is ~5× slower on 100 kB exporter lines) and builds every column in SQL, for a
# batch of files per query. The attribute lists are not decoded: json_transform hands each one
# over as its JSON text (yyjson's compact re-serialisation), and only the token-count entries
# are looked at, by pattern. Each row carries a `_bad` flag raised wherever the Python path could
# raise or decide differently (unparseable time, missing ids, a token-count entry not in the
# plain `{"key":…,"value":{"intValue":…}}` form or out of range, an attribute container that is
# not a list, an unknown enum name, a service.name the pattern cannot vouch for…). A file with
# any flagged row, or one DuckDB refuses (malformed JSON, a BOM, odd base64), is re-read by the
# Python path, which returns the same rows or raises the precise `<file>:<line>` error.
# ---------------------------------------------------------------------------------------------

_LINE = json.dumps({"resourceSpans": [{"resource": {"attributes": "JSON"}, "scopeSpans": [{
    "scope": {"name": "VARCHAR"}, "spans": [{
        "traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR", "name": "VARCHAR", "kind": "VARCHAR",
        "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR", "attributes": "JSON",
        "status": {"code": "VARCHAR"}}]}]}]})

# The token-count check on an attribute list's text, as ONE regex search (a per-entry
# decode costs ~3× more). yyjson's compact text has no whitespace and escapes every quote inside
# a string, so `"key":"` only ever starts a member named key. Vouched for: a token key (the names
# of _TOKEN_ATTR, no escapes in it) followed by exactly `,"value":{"intValue":N}}` or `…:"N"}}`,
# N a canonical decimal 0..999,999,999. The search finds a token key followed by anything else
# (the complement of that form, spelled out deviation by deviation), or an escape in a key with a
# token prefix: such a row goes to the Python path, which accepts or rejects it exactly
# (doubles, 1e9 itself, a reordered or repeated member, …).
def _deviates(lit: str) -> str:
    """Regex: text that starts with a proper prefix of `lit` and then differs from it."""
    return "(?:" + "|".join(re.escape(lit[:i]) + "[^" + re.escape(ch) + "]" for i, ch in enumerate(lit)) + ")"


_INT = ',"value":{"intValue":'
# after `_INT`: a quoted or bare number that is not a canonical 0..999,999,999 closing the entry
_QUOTED_BAD = r'(?:[^0-9]|0(?:[^"]|"[^}]|"\}[^}])|[1-9][0-9]{0,8}(?:[^"0-9]|"[^}]|"\}[^}])|[1-9][0-9]{9})'
_BARE_BAD = r'(?:0(?:[^}]|\}[^}])|[1-9][0-9]{0,8}(?:[^}0-9]|\}[^}])|[1-9][0-9]{9})'
_TOKEN_BAD = (r'"key":"(?:(?:gen_ai\.usage\.|llm\.usage\.|llm\.token_count\.)[^"]*\\|'
              r'(?:gen_ai\.usage\.[^"\\]*tokens|llm\.usage\.[^"\\]*tokens|llm\.token_count\.[^"\\]+)"'
              f'(?:{_deviates(_INT)}|{re.escape(_INT)}(?:[^"0-9]|"{_QUOTED_BAD}|{_BARE_BAD})))')
assert MAX_TOKENS_PER_SPAN >= 999_999_999  # what the pattern vouches for


def _sql_token_bad(a: str) -> str:
    """SQL: the attribute list text `a` holds a token-count entry the fast path cannot vouch for."""
    return f"regexp_matches({a}, '{_TOKEN_BAD}')"


# service.name from the resource's list text: vouched for only in the plain form, appearing once
_SERVICE = r'\{"key":"service\.name","value":\{"stringValue":("(?:[^"\\]|\\.)*")\}\}'
_LIST = json.dumps([{"key": "VARCHAR", "value": {"stringValue": "JSON"}}])


def _sql_id(v: str, n: int) -> str:
    """SQL mirror of `_hex_id`: hex of the expected length → lower case; strict base64 → hex; else as is."""
    return (f"CASE WHEN {v} IS NULL OR {v} = '' THEN NULL "
            f"WHEN length({v}) = {n} AND regexp_full_match({v}, '[0-9a-fA-F]+') THEN lower({v}) "
            f"WHEN length({v}) % 4 = 0 AND regexp_full_match({v}, '[A-Za-z0-9+/]*={{0,2}}') "
            f"THEN lower(hex(from_base64({v}))) "
            f"ELSE {v} END")


def _sql_enum(v: str, table: dict) -> str:
    names = " ".join(f"WHEN '{k}' THEN {i}" for k, i in table.items())
    return f"CASE WHEN regexp_full_match({v}, '[0-9]+') THEN TRY_CAST({v} AS INTEGER) ELSE CASE {v} {names} END END"


def _sql_nanos_bad(v: str, parsed: str) -> str:
    # int() in the Python path: anything but a plain non-negative decimal goes there
    return f"({parsed} IS NULL OR {parsed} < 0 OR {parsed}::VARCHAR <> {v})"


def _sql_list_bad(a: str) -> str:
    # the Python path reads absent / null as [] and raises on any other non-list
    return f"({a} IS NOT NULL AND NOT starts_with({a}, '['))"


_SQL = f"""
with l as (
    select filename, json_transform(json, '{_LINE}') as x from read_ndjson_objects($files, filename = true)
), r as (  -- a line, resource or scope that is not an object yields a null span: flagged below
    select filename, unnest(if(x is null, [null], x.resourceSpans)) as rs from l
), r1 as (
    select filename, rs.resource.attributes::VARCHAR as res, rs from r
), r2 as (
    select filename, coalesce(res, '[]') as res_json,
           list_filter(json_transform(res, '{_LIST}'), lambda a: a.key = 'service.name')[-1].value.stringValue as svc,
           {_sql_list_bad('res')}
             or (len(regexp_extract_all(res, '"service\\.name"')) > 0
                 and not (len(regexp_extract_all(res, '"service\\.name"')) = 1
                          and regexp_extract(res, '{_SERVICE}', 1) IS NOT DISTINCT FROM svc::VARCHAR)) as res_bad,
           unnest(if(rs is null, [null], rs.scopeSpans)) as ss from r1
), s as (
    select filename, res_json, svc::JSON ->> '$' as service_name, ss.scope.name as scope_name, res_bad,
           unnest(if(ss is null, [null], ss.spans)) as sp from r2
), t as (
    select *, TRY_CAST(sp.startTimeUnixNano AS BIGINT) as t0 from s
), u as (  -- only spans in the window, and any row the Python path raises on whatever its time
    select *, sp is null or {_sql_nanos_bad('sp.startTimeUnixNano', 't0')} or coalesce(res_bad, false) as bad0 from t
    where (t0 >= $lo and t0 < $hi) or bad0
), v as (
    select *, TRY_CAST(sp.endTimeUnixNano AS BIGINT) as t1, sp.attributes::VARCHAR as a from u
)
select {_sql_id('sp.traceId', 32)} as trace_id, {_sql_id('sp.spanId', 16)} as span_id,
       {_sql_id('sp.parentSpanId', 16)} as parent_span_id, sp.name as name,
       {_sql_enum('sp.kind', _KIND)} as kind, t0 // 1000 as start_time, t1 // 1000 as end_time,
       {_sql_enum('sp.status.code', _STATUS)} as status_code, service_name, scope_name,
       coalesce(a, '[]') as attributes, res_json as resource_attributes, filename as _source_uri,
       bad0 or sp.traceId is null or sp.spanId is null or {_sql_nanos_bad('sp.endTimeUnixNano', 't1')}
         or {_sql_list_bad('a')} or {_sql_token_bad('a')}
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
    found = list_files(uri, (".jsonl", ".json"), source=SOURCE)
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
