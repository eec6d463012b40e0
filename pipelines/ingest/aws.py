"""AWS Data Exports (CUR 2.0) and legacy CUR CSV → raw `aws_cur`, per billing period, manifest-driven."""

from connectors import aws_cur as conn
from connectors import aws_cur_legacy as legacy
from pipelines.config import SourceConfig
from pipelines.ingest._factory import MonthlyExport, RawSpec

# source type → connector module (same discover/read_period contract, same raw table)
READERS = {"aws_cur": conn, "aws_cur_legacy": legacy}


def s3_client(src: SourceConfig):
    """The S3 client a source's options ask for (profile / role_arn / endpoint_url / region); None for local."""
    if not src.uri.startswith("s3://"):
        return None
    o = src.options
    return conn.s3_client(profile=o.get("profile"), role_arn=o.get("role_arn"), endpoint_url=o.get("endpoint_url"),
                          region=o.get("region"), source=src.type)


def _discover(src: SourceConfig) -> dict[str, MonthlyExport]:
    # A period is offered only when its manifest is complete; its fingerprint lets an unchanged
    # manifest be skipped without downloading, and a changed one (restatement) replace the period.
    reader, client = READERS[src.type], s3_client(src)
    return {p.billing_period: MonthlyExport(p.fingerprint, lambda p=p: reader.read_period(p, s3_client=client),
                                            read_batches=lambda p=p: reader.iter_period(p, s3_client=client))
            for p in reader.discover(src.uri, s3_client=client)}


SPECS = [RawSpec(
    raw_table="aws_cur", source_type="aws_cur", extra_source_types=("aws_cur_legacy",), cadence="monthly",
    schema=conn.SCHEMAS["aws_cur"], monthly_discover=_discover,
    description="AWS CUR 2.0 line items as exported (CUR 2.0 Parquet / gzip CSV, or legacy CUR CSV "
                "renamed to CUR 2.0 columns; one folder per billing period; a restated period "
                "replaces the previous load). Feeds focus_costs for AWS spend incl. GPU instances "
                "and Bedrock tokens.",
)]
