"""Any FOCUS export (`focus_files`) and AWS "FOCUS 1.2 with AWS columns" (`aws_focus`) → raw
`focus_lines`, per billing period."""

import pyarrow as pa

from connectors import focus_files as conn
from connectors import plausible
from pipelines.config import SourceConfig
from pipelines.ingest._factory import MonthlyExport, RawSpec
from pipelines.ingest.aws import aws_options, s3_client
from pipelines.options import Option, plausible_options


def _discover(src: SourceConfig) -> dict[str, MonthlyExport]:
    client = s3_client(src)  # profile / role_arn / endpoint_url / region options, as for every AWS source
    # `billing_currency: USD` names the currency of files that omit BillingCurrency (recorded in _extra)
    currency = src.options.get(conn.CURRENCY_OPTION)
    limits = plausible.Limits.from_options(src.options)

    def checked(t: pa.Table) -> pa.Table:  # `_row_number` is the row in its file
        plausible.check(t, src.type, conn.PLAUSIBLE, limits, rows="_row_number")
        return t

    if src.type == "aws_focus":
        # Manifest-driven like aws_cur: only complete periods; an unchanged manifest is skipped
        # without downloading, a changed one (restatement) replaces the period.
        return {p.billing_period: MonthlyExport(
                    p.fingerprint,
                    lambda p=p: checked(conn.read_aws_period(p, s3_client=client, billing_currency=currency)))
                for p in conn.discover_aws(src.uri, s3_client=client, billing_currency=currency)}
    # Plain files carry their periods inside: they are read once to group rows by period; the
    # fingerprint (files + content hashes per period) still skips the write of unchanged periods.
    # `mapping: azure_ea` / `mapping: oci` reads provider-native exports through a mapping CSV.
    return {p.billing_period: MonthlyExport(p.fingerprint, lambda p=p: checked(p.table))
            for p in conn.discover(src.uri, mapping=src.options.get("mapping"), s3_client=client,
                                   billing_currency=currency)}


OPTIONS = {
    "aws_focus": aws_options() + plausible_options(),
    "focus_files": (
        Option("mapping", "choice", "read a provider-native export (not FOCUS columns) through its "
                                    "mapping CSV in connectors/focus_mappings/", choices=conn.mapping_names()),
        Option("billing_currency", "str", "ISO 4217 currency of files that omit the BillingCurrency column",
               pattern=r"[A-Z]{3}", example="USD"),
        *aws_options(s3_only=True), *plausible_options()),
}


SPECS = [RawSpec(
    raw_table=conn.RAW_TABLE, source_type="focus_files", extra_source_types=("aws_focus",), cadence="monthly",
    schema=conn.SCHEMA, monthly_discover=_discover,
    negative_usage=lambda t: plausible.negative_usage(t, "ChargeCategory", "BilledCost", "BillingCurrency"),
    description="FOCUS cost and usage rows from any FOCUS 1.0–1.3 export (CSV/Parquet files, or AWS Data "
                "Exports' FOCUS 1.2 with AWS columns), brought to the FOCUS 1.2 column set; provider "
                "extensions and unknown columns kept in _extra (JSON). One folder per billing period; a "
                "changed export replaces its periods. Feeds focus_costs.",
)]
