"""LiteLLM proxy SpendLogs exports (the ``LiteLLM_SpendLogs`` table) as CSV, Parquet or JSON lines.

Grain: one row per request the gateway logged — failed attempts and retries included (each is
its own row with its own ``request_id``; they are calls that were made). Columns keep LiteLLM's
own names (``startTime``, ``custom_llm_provider``…); ``metadata`` and ``request_tags`` are kept as
JSON text (CSV exports already hold them as JSON text, JSON lines / Parquet as objects).
Quirks: ``startTime``/``endTime`` are written without a zone by Postgres exports (UTC); ``spend``
is LiteLLM's own cost estimate in USD (kept as a recorded cost, not trusted as the bill);
``prompt_tokens`` follows OpenAI semantics (includes cached tokens), the cached part lives in
``metadata.usage_object``. Columns an older LiteLLM did not write arrive as nulls.
Partitioned by ``startTime`` (UTC day).
"""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from connectors._files import json_lines, list_files, read_table
from connectors.errors import SourceError

SOURCE = "litellm_logs"
RAW_TABLE = "litellm_spend_logs"
TS = pa.timestamp("us", tz="UTC")
S, I64, F = pa.string(), pa.int64(), pa.float64()
SCHEMA = pa.schema([
    ("request_id", S), ("call_type", S), ("api_key", S), ("spend", F), ("total_tokens", I64),
    ("prompt_tokens", I64), ("completion_tokens", I64), ("startTime", TS), ("endTime", TS),
    ("completionStartTime", TS), ("model", S), ("model_id", S), ("model_group", S),
    ("custom_llm_provider", S), ("api_base", S), ("user", S), ("team_id", S), ("organization_id", S),
    ("end_user", S), ("session_id", S), ("status", S), ("cache_hit", S), ("request_tags", S),
    ("metadata", S), ("_source_uri", S),
])
SCHEMAS = {RAW_TABLE: SCHEMA}
PARTITION_TS_COLUMN = {RAW_TABLE: "startTime"}
# money and count columns under a plausible-range check (connectors.plausible, USAGE limits); the
# reader has no row numbers after its filters, so a record is named by IDENTITY
PLAUSIBLE = {"cost": ("spend",), "quantity": ("prompt_tokens", "completion_tokens", "total_tokens")}
IDENTITY = ("request_id",)
_JSON_COLS = ("metadata", "request_tags")
_TS_COLS = ("startTime", "endTime", "completionStartTime")


def _read_file(f: str) -> pa.Table:
    if f.endswith((".parquet", ".csv", ".csv.gz")):
        return read_table(f)  # CSV as text: casting below names the column that does not parse
    rows = []
    for _, _, obj in json_lines(SOURCE, [f], "SpendLogs JSON line"):
        rows.append({k: (json.dumps(v, sort_keys=True) if k in _JSON_COLS and not isinstance(v, (str, type(None)))
                         else v) for k, v in obj.items()})
    return pa.Table.from_pylist(rows)


def _column(t: pa.Table, name: str, typ: pa.DataType, f: str) -> pa.Array:
    if name not in t.column_names:
        return pa.nulls(t.num_rows, typ)
    col = t[name]
    if name in _JSON_COLS and not pa.types.is_string(col.type):
        col = pa.array([None if v is None else json.dumps(v, sort_keys=True) for v in col.to_pylist()], S)
    if name in _TS_COLS and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        # "2024-05-01 12:00:00.123" (Postgres, UTC) or ISO with Z / offset
        text = pc.replace_substring_regex(col, r"(Z|[+-]00:?00)$", "")
        try:
            return pc.assume_timezone(pc.cast(text, pa.timestamp("us")), "UTC")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise SourceError(SOURCE, f, f"column {name}: not a UTC timestamp ({e})") from None
    if pa.types.is_timestamp(col.type) and col.type.tz is None:
        return pc.assume_timezone(col.cast(pa.timestamp("us")), "UTC")
    try:
        return pc.cast(col, typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise SourceError(SOURCE, f, f"column {name}: cannot read as {typ} ({e})") from None


def read_logs(uri: str, start: datetime, end: datetime) -> pa.Table:
    """SpendLogs rows whose ``startTime`` falls in [start, end) from ``.csv``/``.parquet``/``.jsonl`` files.

    Raises SourceError naming the file (and line, for JSON lines) for unreadable rows, a missing
    ``request_id``/``startTime`` column, or negative token counts / spend.
    """
    files = list_files(uri, (".csv", ".parquet", ".jsonl", ".json", ".gz"), source=SOURCE)
    if not files:
        raise SourceError(SOURCE, uri, "no SpendLogs export files (.csv / .parquet / .jsonl) found")
    parts = []
    for f in files:
        try:
            t = _read_file(f)
        except (pa.ArrowInvalid, OSError) as e:
            raise SourceError(SOURCE, f, f"unreadable SpendLogs export ({e})") from None
        for required in ("request_id", "startTime"):
            if required not in t.column_names:
                raise SourceError(SOURCE, f, f"missing column {required!r} (is this a LiteLLM_SpendLogs export?)")
        cols = {fld.name: _column(t, fld.name, fld.type, f) for fld in SCHEMA if fld.name != "_source_uri"}
        out = pa.table({**cols, "_source_uri": pa.array([f] * t.num_rows, S)}, schema=SCHEMA)
        for c in ("prompt_tokens", "completion_tokens", "total_tokens", "spend"):
            bad = pc.sum(pc.less(out[c], 0)).as_py()
            if bad:
                raise SourceError(SOURCE, f, f"{bad} row(s) with negative {c}")
        ts = out["startTime"]
        keep = pc.and_(pc.greater_equal(ts, pa.scalar(start, TS)), pc.less(ts, pa.scalar(end, TS)))
        parts.append(out.filter(keep))
    return pa.concat_tables(parts)
