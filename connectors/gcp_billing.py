"""GCP Cloud Billing detailed export, as files (JSON lines as BigQuery exports them).

Grain: one row per export row (service × SKU × project × resource × usage hour). Nested records
are flattened to prefixed columns; ``labels``/``system_labels`` ([{key, value}]) become JSON
objects and ``credits`` a JSON array (net cost = cost + Σ credits.amount is computed in dbt).
Partition: ``invoice.month`` (late credits for old usage land in the month they are invoiced).
A BigQuery-table reader (incremental by ``export_time``) comes later behind the same schema.
"""

from __future__ import annotations

import json
from datetime import datetime
import pyarrow as pa

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


def _dig(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _ts(v):
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        return datetime.fromtimestamp(v / 1e6 if v > 1e12 else v).astimezone()
    return datetime.fromisoformat(str(v).replace("Z", "+00:00").replace(" UTC", "+00:00"))


def _rows(uri: str):
    files = list_files(uri, (".jsonl", ".json"))
    if not files:
        raise SourceError(SOURCE, uri, "no export files found")
    for f, n, row in json_lines(SOURCE, files, "export row"):
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise SourceError(SOURCE, f"{f}:{n}", f"missing required field(s) {', '.join(missing)}")
        yield f, n, row


def discover(uri: str) -> list[str]:
    """Invoice months present in the files, as 'YYYY-MM'."""
    months = {str(_dig(r, "invoice.month")) for _, _, r in _rows(uri)}
    return sorted(f"{m[:4]}-{m[4:6]}" for m in months if m and m != "None")


def read_month(uri: str, period: str) -> pa.Table:
    """Rows invoiced in `period` ('YYYY-MM'), flattened to the declared schema."""
    schema = SCHEMAS["gcp_billing"]
    want = period.replace("-", "")
    cols: dict[str, list] = {f.name: [] for f in schema}
    for f, n, row in _rows(uri):
        if str(_dig(row, "invoice.month")) != want:
            continue
        for col, path in FIELDS.items():
            v = _dig(row, path)
            cols[col].append(_ts(v) if schema.field(col).type == TS else v)
        for col in KV_COLUMNS:
            kv = row.get(col) or []
            cols[col].append(json.dumps({d.get("key"): d.get("value") for d in kv}, sort_keys=True))
        cols["credits"].append(json.dumps(row.get("credits") or []))
        cols["_source_uri"].append(f)
    try:
        return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise SourceError(SOURCE, uri, f"invoice month {period}: bad value type: {e}") from None
