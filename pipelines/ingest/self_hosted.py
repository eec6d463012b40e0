"""Self-hosted model server request log → raw `self_hosted_requests`, per day."""

from connectors import self_hosted as conn
from pipelines.ingest._factory import RawSpec

OPTIONS = {"self_hosted_requests": ()}  # the uri only (and refetch_days, as every daily source)

SPECS = [RawSpec(
    raw_table="self_hosted_requests", source_type="self_hosted_requests", cadence="daily",
    schema=conn.SCHEMAS["self_hosted_requests"], ts_column=conn.PARTITION_TS_COLUMN["self_hosted_requests"],
    daily_fetch=lambda src, s, e: conn.read_requests(src.uri, s, e),
    description="One row per request served by an owned model server (tokens, timing, GPUs): priced "
                "by its share of GPU time, comparable with API calls.",
)]
