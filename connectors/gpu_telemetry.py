"""GPU telemetry written by the aispend collector (format v1): hourly gzip JSON-lines files.

Layout: ``<root>/<host>/YYYY-MM-DD/<host>-YYYYMMDDTHH.jsonl.gz``; lines are ``record`` = ``meta``
(one, first), ``process`` and ``gpu`` (one per GPU per sample). Only files whose hour falls in
the window are opened; only ``gpu`` records are returned (keyed by GPU UUID, never index).
Unknown record kinds and fields are ignored so newer collectors stay readable.
DuckDB's JSON reader does the parsing: ~2 M samples per month read in seconds, not minutes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from connectors.errors import SourceError

SOURCE = "gpu_telemetry"
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {"gpu_samples": pa.schema([
    ("ts", TS), ("host", pa.string()), ("gpu_uuid", pa.string()), ("gpu_index", pa.int32()), ("name", pa.string()),
    ("util_gpu_pct", pa.float64()), ("util_mem_pct", pa.float64()), ("mem_used_bytes", pa.int64()),
    ("mem_total_bytes", pa.int64()), ("power_w", pa.float64()), ("power_limit_w", pa.float64()),
    ("energy_mj", pa.int64()), ("temp_c", pa.float64()), ("sm_clock_mhz", pa.float64()),
    ("gpm_sm_activity_pct", pa.float64()), ("gpm_tensor_activity_pct", pa.float64()), ("mig_mode", pa.bool_()),
    ("driver_version", pa.string()), ("nvml_version", pa.string()), ("collector_version", pa.string()),
    ("_source_uri", pa.string())])}
PARTITION_TS_COLUMN = {"gpu_samples": "ts"}

_DUCK_TYPES = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.int64(): "BIGINT", pa.int32(): "INTEGER",
               pa.bool_(): "BOOLEAN", TS: "VARCHAR"}
_HOUR = re.compile(r"(\d{8}T\d{2})\.jsonl(\.gz)?$")


def hourly_files(uri: str, start: datetime, end: datetime) -> list[str]:
    """Collector files whose hour overlaps [start, end) (by name; unnamed files are always read)."""
    root = Path(uri)
    if not root.exists():
        raise SourceError(SOURCE, uri, "telemetry directory not found")
    out = []
    for f in [root] if root.is_file() else sorted(root.rglob("*.jsonl*")):
        m = _HOUR.search(f.name)
        if m:
            hour = datetime.strptime(m.group(1), "%Y%m%dT%H").replace(tzinfo=timezone.utc)
            # a sample's ts is the end of its window, so the first sample of the next hour file
            # can belong to this hour's boundary: include neighbours, filter by ts below
            if not (start - timedelta(hours=1) <= hour < end):
                continue
        out.append(str(f))
    return out


def read_samples(uri: str, start: datetime, end: datetime) -> pa.Table:
    """GPU samples (``record == "gpu"``) with ts in [start, end) from a local collector tree (``gpu_samples``).

    Only hour files overlapping the window are opened. Declared fields a collector did not write
    are null; other record kinds and unknown fields are ignored. A corrupt file raises SourceError.
    """
    schema = SCHEMAS["gpu_samples"]
    files = hourly_files(uri, start, end)
    if not files:
        return schema.empty_table()
    columns = {"record": "VARCHAR", **{f.name: _DUCK_TYPES[f.type] for f in schema if f.name != "_source_uri"}}
    col_sql = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    select = ", ".join(
        "cast(ts as timestamptz) as ts" if f.name == "ts" else ("filename as _source_uri" if f.name == "_source_uri" else f.name)
        for f in schema)
    con = duckdb.connect()
    try:
        con.execute("set timezone = 'UTC'")
        sql = (f"select {select} from read_json(?, format='newline_delimited', columns={col_sql}, "
               f"filename=true, compression='auto') where record = 'gpu' and cast(ts as timestamptz) >= ? "
               f"and cast(ts as timestamptz) < ? order by ts, gpu_uuid")
        t = con.sql(sql, params=[files, start, end]).to_arrow_table()
    except duckdb.Error as e:
        raise SourceError(SOURCE, uri, f"cannot read collector files: {str(e).splitlines()[0][:300]}") from None
    finally:
        con.close()
    return pa.Table.from_arrays([t.column(f.name).cast(f.type) for f in schema], schema=schema)
