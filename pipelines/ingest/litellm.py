"""LiteLLM gateway SpendLogs exports (CSV / Parquet / JSON lines) → raw `litellm_spend_logs`, per day."""

from connectors import litellm_logs as conn
from connectors import plausible
from pipelines.ingest._factory import RawSpec
from pipelines.options import plausible_options

OPTIONS = {"litellm_logs": plausible_options(usage=True)}  # (and refetch_days, as every daily source)

SPECS = [RawSpec(
    raw_table=conn.RAW_TABLE, source_type="litellm_logs", cadence="daily", schema=conn.SCHEMA,
    ts_column=conn.PARTITION_TS_COLUMN[conn.RAW_TABLE],
    daily_fetch=lambda src, s, e: plausible.guard(conn.read_logs(src.uri, s, e), src.type, src.options,
                                                  conn.PLAUSIBLE, ident=conn.IDENTITY),
    description="One row per request through the LiteLLM proxy (retries and failures included): model, "
                "tokens (cached in metadata.usage_object), LiteLLM's own spend, user / team / session. "
                "Per-call grain for gateway traffic; session_id groups the calls of one task.",
)]
