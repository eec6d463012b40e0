"""OpenTelemetry GenAI traces (OTLP JSON lines) → raw `otel_spans`, per day."""

from connectors import otel as conn
from pipelines.ingest._factory import RawSpec

OPTIONS = {"otel_traces": ()}  # the uri only (and refetch_days, as every daily source)

SPECS = [RawSpec(
    raw_table="otel_spans", source_type="otel_traces", cadence="daily", schema=conn.SCHEMAS["otel_spans"],
    ts_column=conn.PARTITION_TS_COLUMN["otel_spans"],
    daily_fetch=lambda src, s, e: conn.iter_spans(src.uri, s, e),  # a stream of batches of files
    description="One row per span of the applications' GenAI traces: agent invocations, model calls "
                "with token usage, tool calls. The per-call grain behind cost per query and agent loops.",
)]
