"""AWS Data Exports (CUR 2.0) and legacy CUR CSV → raw `aws_cur`, per billing period, manifest-driven."""

import pyarrow as pa

from connectors import aws_cur as conn
from connectors import aws_cur_legacy as legacy
from connectors import plausible
from pipelines.config import SourceConfig
from pipelines.ingest._factory import MonthlyExport, RawSpec
from pipelines.options import Option, plausible_options

# source type → connector module (same discover/read_period contract, same raw table)
READERS = {"aws_cur": conn, "aws_cur_legacy": legacy}


def aws_options(s3_only: bool = False) -> tuple[Option, ...]:
    """The S3 access options every source reading s3:// takes (boto3's default chain otherwise)."""
    return (Option("profile", "str", "named AWS profile (~/.aws/config) for the S3 reads", s3_only=s3_only),
            Option("role_arn", "str", "IAM role assumed through STS for the S3 reads (e.g. a billing bucket in "
                                      "the payer account)", pattern=r"arn:aws[a-z-]*:iam::\d{12}:role/.+",
                   example="arn:aws:iam::123456789012:role/billing-read", s3_only=s3_only),
            Option("endpoint_url", "str", "S3 endpoint (an S3-compatible store, a VPC endpoint)", s3_only=s3_only),
            Option("region", "str", "AWS region of the bucket", s3_only=s3_only))


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
    limits = plausible.Limits.from_options(src.options)

    def batches(p):
        return plausible.check_batches(reader.iter_period(p, s3_client=client), src.type, conn.PLAUSIBLE, limits)

    return {p.billing_period: MonthlyExport(p.fingerprint, lambda p=p: _concat(batches(p)),
                                            read_batches=lambda p=p: batches(p))
            for p in reader.discover(src.uri, s3_client=client)}


def _concat(tables) -> pa.Table:
    tables = list(tables)
    return pa.concat_tables(tables) if tables else conn.SCHEMAS["aws_cur"].empty_table()


OPTIONS = {"aws_cur": aws_options() + plausible_options(), "aws_cur_legacy": aws_options() + plausible_options()}

SPECS = [RawSpec(
    raw_table="aws_cur", source_type="aws_cur", extra_source_types=("aws_cur_legacy",), cadence="monthly",
    schema=conn.SCHEMAS["aws_cur"], monthly_discover=_discover,
    negative_usage=lambda t: plausible.negative_usage(t, "line_item_line_item_type", "line_item_unblended_cost",
                                                      "line_item_currency_code"),
    description="AWS CUR 2.0 line items as exported (CUR 2.0 Parquet / gzip CSV, or legacy CUR CSV "
                "renamed to CUR 2.0 columns; one folder per billing period; a restated period "
                "replaces the previous load). Feeds focus_costs for AWS spend incl. GPU instances "
                "and Bedrock tokens.",
)]
