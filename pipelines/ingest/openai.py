"""OpenAI organization Usage + Costs APIs → raw `openai_usage`, `openai_costs`, per day.

Source options: `admin_key_env` (required), `usage_endpoints` (list, default every endpoint in
`connectors.openai.USAGE_ENDPOINTS`), `bucket_width` (`1d` default, or `1h`; usage only),
`refetch_days` (default 3: providers finalise buckets late, so each run re-reads that many
trailing days — see the factory).
"""

from connectors import openai as conn
from connectors import plausible
from pipelines.config import SourceConfig
from pipelines.ingest._factory import RawSpec
from pipelines.options import Option, plausible_options

REFETCH_DAYS = 3


def _client(src: SourceConfig):
    return conn.make_client(src.uri, src.secret("admin_key"), key_env=src.options.get("admin_key_env"))


def _usage(src: SourceConfig, s, e):
    # a record is named by its page URL (the "file") and bucket start
    return plausible.guard(conn.fetch_usage(_client(src), s, e, endpoints=src.options.get("usage_endpoints"),
                                            bucket_width=str(src.options.get("bucket_width", "1d"))),
                           src.type, src.options, conn.PLAUSIBLE["openai_usage"], ident=("start_time", "endpoint"))


ADMIN_KEY_ENV = Option("admin_key_env", "env", "environment variable holding the organization admin key",
                       required=True)
BUCKET_WIDTH = Option("bucket_width", "choice", "usage bucket width (the costs endpoint is always daily)",
                      default="1d", choices=tuple(conn.BUCKET_LIMITS))
OPTIONS = {"openai": (
    ADMIN_KEY_ENV,
    Option("usage_endpoints", "list", "Usage API endpoints read (default: every one)",
           choices=tuple(conn.USAGE_ENDPOINTS)),
    BUCKET_WIDTH,
    *plausible_options(usage=True),
)}

SPECS = [
    RawSpec(raw_table="openai_usage", source_type="openai", cadence="daily", schema=conn.SCHEMAS["openai_usage"],
            ts_column=conn.PARTITION_TS_COLUMN["openai_usage"], daily_fetch=_usage, refetch_days=REFETCH_DAYS,
            description="OpenAI usage per day × endpoint (completions, embeddings, images, audio, moderations, "
                        "vector stores, code interpreter, file search and web search tool calls) × project × API "
                        "key × model × batch × tier: the quantity side of API spend, priced in dbt as of each "
                        "day; completions fields read by the meaning of their day (seed openai_usage_semantics)."),
    RawSpec(raw_table="openai_costs", source_type="openai", cadence="daily", schema=conn.SCHEMAS["openai_costs"],
            ts_column=conn.PARTITION_TS_COLUMN["openai_costs"], refetch_days=REFETCH_DAYS,
            daily_fetch=lambda src, s, e: plausible.guard(conn.fetch_costs(_client(src), s, e), src.type, src.options,
                                                          conn.PLAUSIBLE["openai_costs"], ident=("start_time",)),
            description="OpenAI billed cost per day × project × line item (null when the API answers "
                        "ungrouped): what the invoice says, used to reconcile computed token cost."),
]
