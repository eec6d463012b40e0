"""OpenAI organization Usage + Costs APIs → raw `openai_usage`, `openai_costs`, per day.

Source options: `admin_key_env` (required), `usage_endpoints` (list, default every endpoint in
`connectors.openai.USAGE_ENDPOINTS`), `bucket_width` (`1d` default, or `1h`; usage only),
`refetch_days` (default 3: providers finalise buckets late, so each run re-reads that many
trailing days — see the factory), and the HTTP limits `request_deadline_s`, `deadline_s`,
`max_pages` (`HTTP_LIMITS`, shared with anthropic; see connectors/http.py).
"""

from connectors import http, plausible
from connectors import openai as conn
from pipelines.config import SourceConfig
from pipelines.ingest._factory import RawSpec
from pipelines.options import Option, plausible_options

REFETCH_DAYS = 3


def client_limits(src: SourceConfig) -> dict[str, int]:
    """The `ApiClient` limits a source's options set (the client's defaults where unset)."""
    return {"request_deadline": src.options.get("request_deadline_s", http.REQUEST_DEADLINE_S),
            "deadline": src.options.get("deadline_s", http.DEADLINE_S),
            "max_pages": src.options.get("max_pages", http.MAX_PAGES)}


def _client(src: SourceConfig):
    return conn.make_client(src.uri, src.secret("admin_key"), key_env=src.options.get("admin_key_env"),
                            **client_limits(src))


def _usage(src: SourceConfig, s, e):
    # a record is named by its page URL (the "file") and bucket start
    return plausible.guard(conn.fetch_usage(_client(src), s, e, endpoints=src.options.get("usage_endpoints"),
                                            bucket_width=str(src.options.get("bucket_width", "1d"))),
                           src.type, src.options, conn.PLAUSIBLE["openai_usage"], ident=("start_time", "endpoint"))


ADMIN_KEY_ENV = Option("admin_key_env", "env", "environment variable holding the organization admin key",
                       required=True)
BUCKET_WIDTH = Option("bucket_width", "choice", "usage bucket width (the costs endpoint is always daily)",
                      default="1d", choices=tuple(conn.BUCKET_LIMITS))
# nothing waits for ever: a trickled body, a hung host and an endless cursor each fail naming the URL and limit
HTTP_LIMITS = (
    Option("request_deadline_s", "int", "seconds one request may take in all, connect to last byte of the body "
           "(the per-read timeout alone lets a trickled body run for ever)", default=http.REQUEST_DEADLINE_S,
           min=1),
    Option("deadline_s", "int", "seconds one fetch of this source (one raw table's window) may take in all, "
           "retries and their waits included; a Retry-After beyond it fails at once", default=http.DEADLINE_S,
           min=1),
    Option("max_pages", "int", "hard cap on pages of one paginated request (usage/cost reports are also capped "
           "at one page per bucket of the window, plus one)", default=http.MAX_PAGES, min=1),
)
OPTIONS = {"openai": (
    ADMIN_KEY_ENV,
    Option("usage_endpoints", "list", "Usage API endpoints read (default: every one)",
           choices=tuple(conn.USAGE_ENDPOINTS)),
    BUCKET_WIDTH,
    *HTTP_LIMITS,
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
