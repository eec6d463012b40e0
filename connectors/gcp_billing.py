"""GCP Cloud Billing detailed export, as files (JSON lines as BigQuery exports them).

Grain: one row per export row (service × SKU × project × resource × usage hour). Nested records
are flattened to prefixed columns; ``labels``/``system_labels`` ([{key, value}]) become JSON
objects and ``credits`` a JSON array (net cost = cost + Σ credits.amount is computed in dbt).
Partition: ``invoice.month`` (late credits for old usage land in the month they are invoiced).
Files: JSON lines (``.jsonl``/``.json``, as ``bq extract --destination_format
NEWLINE_DELIMITED_JSON`` writes them) or Parquet (``.parquet``, nested columns kept).

Seam for the BigQuery reader (later issue, incremental by ``export_time``): it only has to yield
``(where, row_dict)`` pairs in the export's nested shape — ``google.cloud.bigquery`` Row objects
converted with ``dict(row)`` are exactly that — and call `rows_to_table`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from connectors._files import json_lines, list_files
from connectors.errors import SourceError

SOURCE = "gcp_billing"
TS = pa.timestamp("us", tz="UTC")
_S, _F = pa.string(), pa.float64()
SCHEMAS = {"gcp_billing": pa.schema([
    ("billing_account_id", _S), ("service_id", _S), ("service_description", _S), ("sku_id", _S),
    ("sku_description", _S), ("usage_start_time", TS), ("usage_end_time", TS), ("project_id", _S),
    ("project_name", _S), ("project_number", _S), ("labels", _S), ("system_labels", _S), ("location_location", _S),
    ("location_country", _S), ("location_region", _S), ("location_zone", _S), ("resource_name", _S),
    ("resource_global_name", _S), ("cost", _F), ("currency", _S), ("currency_conversion_rate", _F),
    ("usage_amount", _F), ("usage_unit", _S), ("usage_amount_in_pricing_units", _F), ("usage_pricing_unit", _S),
    ("credits", _S), ("invoice_month", _S), ("cost_type", _S), ("export_time", TS), ("price_effective_price", _F),
    ("price_unit", _S), ("price_pricing_unit_quantity", _F), ("cost_at_list", _F), ("transaction_type", _S),
    ("seller_name", _S), ("_source_uri", _S)])}

# column -> dotted path in an export row; per-field differences are data, not code
FIELDS = {
    "billing_account_id": "billing_account_id", "service_id": "service.id", "service_description": "service.description",
    "sku_id": "sku.id", "sku_description": "sku.description", "usage_start_time": "usage_start_time",
    "usage_end_time": "usage_end_time", "project_id": "project.id", "project_name": "project.name",
    "project_number": "project.number", "location_location": "location.location", "location_country": "location.country",
    "location_region": "location.region", "location_zone": "location.zone", "resource_name": "resource.name",
    "resource_global_name": "resource.global_name", "cost": "cost", "currency": "currency",
    "currency_conversion_rate": "currency_conversion_rate", "usage_amount": "usage.amount", "usage_unit": "usage.unit",
    "usage_amount_in_pricing_units": "usage.amount_in_pricing_units", "usage_pricing_unit": "usage.pricing_unit",
    "invoice_month": "invoice.month", "cost_type": "cost_type", "export_time": "export_time",
    "price_effective_price": "price.effective_price", "price_unit": "price.unit",
    "price_pricing_unit_quantity": "price.pricing_unit_quantity", "cost_at_list": "cost_at_list",
    "transaction_type": "transaction_type", "seller_name": "seller_name",
}
KV_COLUMNS = ("labels", "system_labels")
REQUIRED = ("billing_account_id", "service", "sku", "cost", "invoice", "usage_start_time")
SUFFIXES = (".jsonl", ".json", ".parquet")


def _dig(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _ts(v):
    # JSON export: RFC 3339 ("...Z") or BigQuery's "YYYY-MM-DD HH:MM:SS[.ffffff] UTC"; Parquet and the
    # BigQuery client give datetimes; epoch numbers (seconds or micros) appear in some re-exports
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    if isinstance(v, (int, float)):
        return datetime.fromtimestamp(v / 1e6 if v > 1e12 else v, tz=timezone.utc)
    return datetime.fromisoformat(str(v).replace("Z", "+00:00").replace(" UTC", "+00:00"))


def _kv_json(items) -> str:
    # labels arrive as [{key, value}] (JSON, BigQuery) — or as a map [(k, v)] from some Parquet writers
    out = {}
    for d in items or []:
        if isinstance(d, dict):
            out[d.get("key")] = d.get("value")
        else:
            out[d[0]] = d[1]
    return json.dumps(out, sort_keys=True)


def _json_default(v):
    return v.isoformat() if isinstance(v, datetime) else str(v)


def _file_rows(files: list[str]) -> Iterator[tuple[str, str, dict]]:
    """(file, where, row) for every row; `where` is ``file:line`` (JSON) or ``file#row`` (Parquet)."""
    for f in files:
        if f.endswith(".parquet"):
            try:
                rows = pq.read_table(f).to_pylist()
            except Exception as e:  # pyarrow raises several types for corrupt/truncated files
                raise SourceError(SOURCE, f, f"unreadable Parquet ({type(e).__name__}: {str(e)[:120]})") from None
            for i, row in enumerate(rows, 1):
                yield f, f"{f}#{i}", row
        else:
            for name, n, row in json_lines(SOURCE, [f], "export row"):
                yield name, f"{name}:{n}", row


def _rows(uri: str) -> Iterator[tuple[str, str, dict]]:
    files = list_files(uri, SUFFIXES)
    if not files:
        raise SourceError(SOURCE, uri, "no export files found")
    for f, where, row in _file_rows(files):
        if not isinstance(row, dict):
            raise SourceError(SOURCE, where, "export row is not a JSON object")
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise SourceError(SOURCE, where, f"missing required field(s) {', '.join(missing)}")
        yield f, where, row


def discover(uri: str) -> list[str]:
    """Invoice months present in the export files at `uri` (directory, file or glob), as 'YYYY-MM'."""
    months = {str(_dig(r, "invoice.month")) for _, _, r in _rows(uri)}
    return sorted(f"{m[:4]}-{m[4:6]}" for m in months if m and m != "None")


def rows_to_table(rows: Iterable[tuple[str, dict]], source: str = SOURCE) -> pa.Table:
    """Flatten export rows in BigQuery's nested shape into ``gcp_billing``.

    `rows` yields (source_uri, row). Nested records become prefixed columns (``FIELDS``),
    ``labels``/``system_labels`` JSON objects, ``credits`` a JSON array; unknown fields are ignored.
    """
    schema = SCHEMAS["gcp_billing"]
    cols: dict[str, list] = {f.name: [] for f in schema}
    ts_cols = {f.name for f in schema if f.type == TS}
    for uri, row in rows:
        for col, path in FIELDS.items():
            v = _dig(row, path)
            if col in ts_cols:
                try:
                    v = _ts(v)
                except (TypeError, ValueError, OverflowError):
                    raise SourceError(source, uri, f"{path}: not a timestamp: {v!r}") from None
            elif col == "invoice_month" and v is not None:
                v = str(v)
            cols[col].append(v)
        for col in KV_COLUMNS:
            cols[col].append(_kv_json(row.get(col)))
        cols["credits"].append(json.dumps(row.get("credits") or [], default=_json_default))
        cols["_source_uri"].append(uri)
    arrays = []
    for f in schema:
        try:
            arrays.append(pa.array(cols[f.name], f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise SourceError(source, f.name, f"unexpected value type: {e}") from None
    return pa.Table.from_arrays(arrays, schema=schema)


def read_month(uri: str, period: str) -> pa.Table:
    """Rows invoiced in `period` ('YYYY-MM') from the export files at `uri`, flattened to ``gcp_billing``."""
    want = period.replace("-", "")
    picked = ((f, r) for f, _, r in _rows(uri) if str(_dig(r, "invoice.month")) == want)
    try:
        return rows_to_table(picked)
    except SourceError as e:
        if e.where in SCHEMAS["gcp_billing"].names:  # a column-level type error: say which month
            raise SourceError(SOURCE, uri, f"invoice month {period}: column {e.where}: {e.problem}") from None
        raise
