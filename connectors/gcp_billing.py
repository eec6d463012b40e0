"""GCP Cloud Billing export: the BigQuery tables themselves, or files extracted from them.

Grain: one row per export row (service × SKU × project × resource × usage hour). Nested records
are flattened to prefixed columns; ``labels``/``system_labels`` ([{key, value}]) become JSON
objects and ``credits`` a JSON array (net cost = cost + Σ credits.amount is computed in dbt).
Partition: ``invoice.month`` (late credits for old usage land in the month they are invoiced).
Files: JSON lines (``.jsonl``/``.json``, as ``bq extract --destination_format
NEWLINE_DELIMITED_JSON`` writes them) or Parquet (``.parquet``, nested columns kept).

BigQuery (``uri: bq://<project>.<dataset>.<table>``, the standard ``gcp_billing_export_v1_*`` or
detailed ``gcp_billing_export_resource_v1_*`` table; fields the standard one lacks, e.g.
``resource.*`` and ``price.*``, become null). Incremental per invoice month by ``export_time``:

* `bq_months` — one cheap aggregate query: per invoice month ``max(export_time)`` and ``count(*)``.
  That pair is the month's fingerprint; an unchanged month is skipped without reading a row.
* `bq_read_month` — a changed month reads only rows with ``watermark < export_time <= max`` where
  the watermark is the newest ``export_time`` already in the month's raw partition, and returns
  old ∪ new (the caller swaps the partition whole, so a rerun never duplicates). Late credits and
  adjustments are new export rows with a later ``export_time`` in the month they are *invoiced*,
  so they land. With no previous partition, or when old ∪ new does not add up to the month's row
  count (rows rewritten or removed upstream, a partition loaded from files), the whole month is
  read again.

Both paths yield ``(where, row_dict)`` pairs in the export's nested shape into `rows_to_table`
(``google.cloud.bigquery`` Row objects converted with ``dict(row)`` are exactly that shape).
Values are always bound query parameters; the table name cannot be one, so it is validated
against BigQuery's identifier rules before it is put into the SQL.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors import plausible
from connectors._files import json_lines, list_files
from connectors.errors import SourceError
from connectors.rawzone import conform

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
    "billing_account_id": "billing_account_id", "service_id": "service.id",
    "service_description": "service.description", "sku_id": "sku.id", "sku_description": "sku.description",
    "usage_start_time": "usage_start_time", "usage_end_time": "usage_end_time", "project_id": "project.id",
    "project_name": "project.name", "project_number": "project.number", "location_location": "location.location",
    "location_country": "location.country", "location_region": "location.region", "location_zone": "location.zone",
    "resource_name": "resource.name",
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
# money and quantity fields under a plausible-range check (connectors.plausible), per source;
# credits[].amount is money too
PLAUSIBLE = {"cost": ("cost", "cost_at_list", "price.effective_price"),
             "quantity": ("usage.amount", "usage.amount_in_pricing_units", "price.pricing_unit_quantity")}
_INVOICE_MONTH = re.compile(r"^\d{4}(0[1-9]|1[0-2])$")


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
    if isinstance(v, Decimal):
        return float(v)
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
    files = list_files(uri, SUFFIXES, source=SOURCE)
    if not files:
        raise SourceError(SOURCE, uri, "no export files found")
    for f, where, row in _file_rows(files):
        if not isinstance(row, dict):
            raise SourceError(SOURCE, where, "export row is not a JSON object")
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise SourceError(SOURCE, where, f"missing required field(s) {', '.join(missing)}")
        # the month is the row's partition: a row without a real one would belong to none and be lost
        month = _dig(row, "invoice.month")
        if not _INVOICE_MONTH.match(str(month)):
            raise SourceError(SOURCE, where, f"invoice.month {month!r} is not a month (YYYYMM)")
        yield f, where, row


def _plausible(rows: Iterable[tuple[str, str, dict]], limits: plausible.Limits) -> Iterator[tuple[str, dict]]:
    """(source_uri, row) of (source_uri, where, row), each row's money and quantities checked."""
    for uri, where, row in rows:
        for kind, paths in PLAUSIBLE.items():
            for path in paths:
                plausible.check_value(_dig(row, path), SOURCE, where, path, kind, limits)
        for c in row.get("credits") or []:
            if isinstance(c, dict):
                plausible.check_value(c.get("amount"), SOURCE, where, "credits.amount", "cost", limits)
        yield uri, row


def discover(uri: str) -> list[str]:
    """Invoice months present in the export files at `uri` (directory, file or glob), as 'YYYY-MM'."""
    months = {str(_dig(r, "invoice.month")) for _, _, r in _rows(uri)}
    return sorted(f"{m[:4]}-{m[4:6]}" for m in months)


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
            elif isinstance(v, Decimal):  # BigQuery NUMERIC (price.*) arrives as Decimal
                v = float(v)
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


def read_month(uri: str, period: str, limits: plausible.Limits = plausible.DEFAULT) -> pa.Table:
    """Rows invoiced in `period` ('YYYY-MM') from the export files at `uri`, flattened to ``gcp_billing``."""
    want = period.replace("-", "")
    picked = ((f, w, r) for f, w, r in _rows(uri) if str(_dig(r, "invoice.month")) == want)
    try:
        return rows_to_table(_plausible(picked, limits))
    except SourceError as e:
        if e.where in SCHEMAS["gcp_billing"].names:  # a column-level type error: say which month
            raise SourceError(SOURCE, uri, f"invoice month {period}: column {e.where}: {e.problem}") from None
        raise


# ---------------------------------------------------------------------------------------------
# BigQuery export tables
# ---------------------------------------------------------------------------------------------

# Project ids (optionally domain-scoped, "example.com:proj"), dataset and table names. Table names
# may hold more characters than this, but billing export tables never do; a stricter pattern
# keeps anything that could escape the backquotes out of the SQL.
_BQ_URI = re.compile(r"^bq://((?:[a-z0-9][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,61}[a-z0-9])"
                     r"\.([A-Za-z0-9_]{1,1024})\.([A-Za-z0-9_-]{1,1024})$")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

MONTHS_SQL = ("SELECT invoice.month AS invoice_month, MAX(export_time) AS max_export_time, "
              "COUNT(*) AS row_count FROM `{table}` GROUP BY invoice_month ORDER BY invoice_month")
ROWS_SQL = ("SELECT * FROM `{table}` WHERE invoice.month = @invoice_month "
            "AND export_time > @after AND export_time <= @upto")


def is_bigquery(uri: str) -> bool:
    """Whether `uri` names a BigQuery table (``bq://...``) rather than export files."""
    return uri.startswith("bq://")


@dataclass(frozen=True)
class BigQueryTable:
    """A billing export table, validated so its name can be placed in SQL."""

    project: str
    dataset: str
    table: str

    @classmethod
    def parse(cls, uri: str) -> "BigQueryTable":
        m = _BQ_URI.match(uri)
        if not m:
            raise SourceError(SOURCE, uri, "not a BigQuery table URI bq://<project>.<dataset>.<table> "
                                           "(letters, digits, '_' in dataset and table names)")
        return cls(*m.groups())

    @property
    def uri(self) -> str:
        return f"bq://{self.project}.{self.dataset}.{self.table}"

    @property
    def sql_name(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"


@dataclass(frozen=True)
class MonthState:
    """What the export table holds for one invoice month right now."""

    period: str  # YYYY-MM
    max_export_time: datetime
    rows: int

    @property
    def fingerprint(self) -> str:
        return f"bq:{self.max_export_time.isoformat()}:{self.rows}"


def bq_client(table: BigQueryTable, *, api_endpoint: str | None = None, anonymous: bool = False,
              billing_project: str | None = None):
    """A BigQuery client: application-default credentials, jobs billed to `billing_project`
    (default: the table's project). `api_endpoint` + `anonymous` point it at an emulator."""
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import bigquery

    kwargs: dict[str, Any] = {"project": billing_project or table.project}
    if api_endpoint:
        kwargs["client_options"] = {"api_endpoint": api_endpoint}
    if anonymous:
        kwargs["credentials"] = AnonymousCredentials()
    try:
        return bigquery.Client(**kwargs)
    except DefaultCredentialsError as e:
        raise SourceError(SOURCE, table.uri, f"no Google credentials (application default): {e}") from None


@contextmanager
def _bq_errors(table: BigQueryTable, what: str):
    """Turn google-api-core errors into a SourceError naming the table and the problem."""
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import GoogleAuthError

    try:
        yield
    except gexc.Forbidden as e:
        raise SourceError(SOURCE, table.uri, f"{what}: permission denied (403): {_msg(e)}") from None
    except gexc.Unauthorized as e:
        raise SourceError(SOURCE, table.uri, f"{what}: not authenticated (401): {_msg(e)}") from None
    except gexc.NotFound as e:
        raise SourceError(SOURCE, table.uri, f"{what}: table or dataset not found (404): {_msg(e)}") from None
    except gexc.GoogleAPIError as e:
        raise SourceError(SOURCE, table.uri, f"{what}: BigQuery error: {_msg(e)}") from None
    except GoogleAuthError as e:
        raise SourceError(SOURCE, table.uri, f"{what}: credentials error: {e}") from None


def _msg(e) -> str:
    # BigQuery's own reason text (e.errors) reads better than the client's "POST <url>: ..." prefix
    errors = getattr(e, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    text = first.get("message") or getattr(e, "message", None) or str(e)
    return str(text)[:300]


def bq_months(client, table: BigQueryTable) -> dict[str, MonthState]:
    """{YYYY-MM: MonthState} for every invoice month in the table (one aggregate query, no rows read)."""
    out = {}
    with _bq_errors(table, "listing invoice months"):
        for row in client.query_and_wait(MONTHS_SQL.format(table=table.sql_name)):
            m = str(row["invoice_month"])
            if not _INVOICE_MONTH.match(m):
                raise SourceError(SOURCE, table.uri, f"invoice.month {m!r} is not a month (YYYYMM)")
            out[f"{m[:4]}-{m[4:]}"] = MonthState(f"{m[:4]}-{m[4:]}", _ts(row["max_export_time"]),
                                                 int(row["row_count"]))
    return out


def _bq_rows(client, table: BigQueryTable, state: MonthState, after: datetime,
             page_size: int | None, limits: plausible.Limits = plausible.DEFAULT) -> pa.Table:
    from google.cloud import bigquery

    params = [bigquery.ScalarQueryParameter("invoice_month", "STRING", state.period.replace("-", "")),
              bigquery.ScalarQueryParameter("after", "TIMESTAMP", after),
              bigquery.ScalarQueryParameter("upto", "TIMESTAMP", state.max_export_time)]
    config = bigquery.QueryJobConfig(query_parameters=params)
    with _bq_errors(table, f"reading invoice month {state.period}"):
        rows = client.query_and_wait(ROWS_SQL.format(table=table.sql_name), job_config=config,
                                     page_size=page_size)
        # Row.items() deep-copies every value; rows are ours alone, so index by key instead
        triples = ((table.uri, f"{table.uri} invoice month {state.period} row {n}", {k: r[k] for k in r.keys()})
                   for n, r in enumerate(rows, 1))
        try:
            return rows_to_table(_plausible(triples, limits))
        except SourceError as e:
            if e.where in SCHEMAS["gcp_billing"].names:  # a column-level type error: say which table and month
                raise SourceError(SOURCE, table.uri, f"invoice month {state.period}: column {e.where}: "
                                                     f"{e.problem}") from None
            raise


def bq_read_month(client, table: BigQueryTable, state: MonthState, previous: pa.Table | None = None,
                  page_size: int | None = None, limits: plausible.Limits = plausible.DEFAULT) -> pa.Table:
    """The invoice month's rows up to ``state.max_export_time``: old ∪ rows newer than the watermark.

    `previous` is the month's raw partition (any extra lineage columns are dropped). Without it, or
    when the union does not add up to ``state.rows``, the whole month is read.
    """
    schema = SCHEMAS["gcp_billing"]
    if previous is not None and previous.num_rows:
        old = conform(previous, schema)  # drops lineage columns; a column added since → null
        watermark = pc.max(old.column("export_time")).as_py()
        if watermark is not None and watermark <= state.max_export_time:
            new = _bq_rows(client, table, state, watermark, page_size, limits)
            if old.num_rows + new.num_rows == state.rows:
                return pa.concat_tables([old, new])
    return _bq_rows(client, table, state, EPOCH, page_size, limits)
