"""GCP detailed billing export → raw `gcp_billing`, per invoice month."""

from connectors import gcp_billing as conn
from pipelines.config import SourceConfig
from pipelines.ingest._factory import MonthlyExport, RawSpec


def _discover(src: SourceConfig) -> dict[str, MonthlyExport]:
    # Files carry no manifest: a month is re-read every run (late credits land in old months).
    return {m: MonthlyExport(None, lambda m=m: conn.read_month(src.uri, m)) for m in conn.discover(src.uri)}


SPECS = [RawSpec(
    raw_table="gcp_billing", source_type="gcp_billing", cadence="monthly", schema=conn.SCHEMAS["gcp_billing"],
    monthly_discover=_discover,
    description="GCP billing export rows (cost, credits, labels, Vertex AI) per invoice month. Feeds "
                "focus_costs for GCP spend.",
)]
