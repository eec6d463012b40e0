"""OpenAI organization Usage + Costs APIs → raw `openai_usage`, `openai_costs`, per day."""

from connectors import openai as conn
from pipelines.config import SourceConfig
from pipelines.ingest._factory import RawSpec


def _client(src: SourceConfig):
    return conn.make_client(src.uri, src.secret("admin_key"))


SPECS = [
    RawSpec(raw_table="openai_usage", source_type="openai", cadence="daily", schema=conn.SCHEMAS["openai_usage"],
            ts_column=conn.PARTITION_TS_COLUMN["openai_usage"],
            daily_fetch=lambda src, s, e: conn.fetch_usage(_client(src), s, e),
            description="OpenAI completions token usage per day × project × API key × model × batch: the "
                        "quantity side of API spend, priced in dbt as of each day."),
    RawSpec(raw_table="openai_costs", source_type="openai", cadence="daily", schema=conn.SCHEMAS["openai_costs"],
            ts_column=conn.PARTITION_TS_COLUMN["openai_costs"],
            daily_fetch=lambda src, s, e: conn.fetch_costs(_client(src), s, e),
            description="OpenAI billed cost per day × project × line item: what the invoice says, used to "
                        "reconcile computed token cost."),
]
