"""GCP billing export → raw `gcp_billing`, per invoice month: BigQuery tables or exported files;
with ``catalog: true``, the Cloud Billing Catalog's GPU/TPU list prices → raw `gcp_catalog_skus`."""

from connectors import gcp_billing as conn
from connectors import gcp_catalog, plausible
from pipelines.config import SourceConfig
from pipelines.ingest._factory import MonthlyExport, RawSpec
from pipelines.options import Option, plausible_options


def _bigquery(src: SourceConfig) -> dict[str, MonthlyExport]:
    # Fingerprint = (max export_time, row count) per invoice month: unchanged months are skipped
    # without reading rows; a changed month with a raw partition reads only past its watermark.
    table = conn.BigQueryTable.parse(src.uri)
    client = conn.bq_client(table, api_endpoint=src.options.get("api_endpoint"),
                            anonymous=bool(src.options.get("anonymous", False)),
                            billing_project=src.options.get("billing_project"))
    page_size = src.options.get("page_size")
    page_size = int(page_size) if page_size else None
    limits = plausible.Limits.from_options(src.options)
    return {m: MonthlyExport(
        st.fingerprint,
        read=lambda st=st: conn.bq_read_month(client, table, st, page_size=page_size, limits=limits),
        read_incremental=lambda prev, st=st: conn.bq_read_month(client, table, st, prev, page_size=page_size,
                                                                limits=limits),
    ) for m, st in conn.bq_months(client, table).items()}


def _discover(src: SourceConfig) -> dict[str, MonthlyExport]:
    if conn.is_bigquery(src.uri):
        return _bigquery(src)
    # Files carry no manifest: a month is re-read every run (late credits land in old months).
    limits = plausible.Limits.from_options(src.options)
    return {m: MonthlyExport(None, lambda m=m: conn.read_month(src.uri, m, limits)) for m in conn.discover(src.uri)}


def _catalog(src: SourceConfig):
    if not src.options.get("catalog"):
        return None
    endpoint = src.options.get("catalog_api_endpoint") or gcp_catalog.DEFAULT_ENDPOINT
    cat = gcp_catalog.client(endpoint, anonymous=bool(src.options.get("anonymous", False)))
    services = src.options.get("catalog_services") or gcp_catalog.DEFAULT_SERVICES
    return {"gcp_catalog_skus": gcp_catalog.sku_rows(cat, endpoint, services, src.options.get("currency"))}


OPTIONS = {"gcp_billing": (
    Option("billing_project", "str", "bq:// uri: project billed for the queries (default: the table's)"),
    Option("api_endpoint", "str", "bq:// uri: BigQuery API endpoint (a proxy or emulator)"),
    Option("anonymous", "bool", "call the BigQuery / Cloud Catalog endpoints without credentials "
                                "(emulators)", default=False),
    Option("page_size", "int", "bq:// uri: rows per page read from BigQuery", min=1),
    Option("catalog", "bool", "also snapshot the Cloud Billing Catalog's GPU/TPU list prices into "
                              "gcp_catalog_skus", default=False),
    Option("catalog_services", "list", "with catalog: Cloud Catalog services whose accelerator SKUs are read",
           default=list(gcp_catalog.DEFAULT_SERVICES)),
    Option("catalog_api_endpoint", "str", "with catalog: Cloud Billing Catalog API endpoint",
           default=gcp_catalog.DEFAULT_ENDPOINT),
    Option("currency", "str", "with catalog: ISO 4217 currency of the list prices (default: the API's, USD)",
           pattern=r"[A-Z]{3}", example="USD"),
    *plausible_options(),
)}

SPECS = [RawSpec(
    raw_table="gcp_billing", source_type="gcp_billing", cadence="monthly", schema=conn.SCHEMAS["gcp_billing"],
    monthly_discover=_discover,
    description="GCP billing export rows (cost, credits, labels, Vertex AI) per invoice month, from the BigQuery "
                "export (incremental by export_time) or exported files. Feeds focus_costs for GCP spend.",
), RawSpec(
    raw_table="gcp_catalog_skus", source_type="gcp_billing", cadence="snapshot",
    schema=gcp_catalog.SCHEMAS["gcp_catalog_skus"], source_snapshot=_catalog,
    snapshot_schemas={"gcp_catalog_skus": gcp_catalog.SCHEMAS["gcp_catalog_skus"]},
    description="GCP Cloud Billing Catalog list prices of GPU/TPU SKUs (per SKU × tier, current prices; "
                "gcp_billing sources with catalog: true). The cloud side of GPU repatriation.",
)]
