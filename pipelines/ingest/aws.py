"""AWS Data Exports (CUR 2.0) → raw `aws_cur`, per billing period, manifest-driven."""

from connectors import aws_cur as conn
from pipelines.config import SourceConfig
from pipelines.ingest._factory import MonthlyExport, RawSpec


def _discover(src: SourceConfig) -> dict[str, MonthlyExport]:
    # A period is offered only when its manifest is complete; its fingerprint lets an unchanged
    # manifest be skipped without downloading, and a changed one (restatement) replace the period.
    return {p.billing_period: MonthlyExport(p.fingerprint, lambda p=p: conn.read_period(p))
            for p in conn.discover(src.uri)}


SPECS = [RawSpec(
    raw_table="aws_cur", source_type="aws_cur", cadence="monthly", schema=conn.SCHEMAS["aws_cur"],
    monthly_discover=_discover,
    description="AWS CUR 2.0 line items as exported (one folder per billing period; a restated "
                "period replaces the previous load). Feeds focus_costs for AWS spend incl. GPU "
                "instances and Bedrock tokens.",
)]
