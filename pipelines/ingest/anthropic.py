"""Anthropic Admin usage_report/messages + cost_report → raw `anthropic_usage`, `anthropic_costs`."""

from connectors import anthropic as conn
from pipelines.config import SourceConfig
from pipelines.ingest._factory import RawSpec


def _client(src: SourceConfig):
    return conn.make_client(src.uri, src.secret("admin_key"))


SPECS = [
    RawSpec(raw_table="anthropic_usage", source_type="anthropic", cadence="daily",
            schema=conn.SCHEMAS["anthropic_usage"], ts_column=conn.PARTITION_TS_COLUMN["anthropic_usage"],
            daily_fetch=lambda src, s, e: conn.fetch_usage(_client(src), s, e),
            description="Anthropic message token usage per day × API key × workspace × model × tier "
                        "(input excludes cache reads/writes, which are separate counts)."),
    RawSpec(raw_table="anthropic_costs", source_type="anthropic", cadence="daily",
            schema=conn.SCHEMAS["anthropic_costs"], ts_column=conn.PARTITION_TS_COLUMN["anthropic_costs"],
            daily_fetch=lambda src, s, e: conn.fetch_costs(_client(src), s, e),
            description="Anthropic billed cost per day × workspace × description (amount in cents), used to "
                        "reconcile computed token cost."),
]
