"""Anthropic Admin usage_report/messages + cost_report + Claude Code usage report → raw
`anthropic_usage`, `anthropic_costs`, `anthropic_claude_code`.

Source options: `admin_key_env` (required), `bucket_width` (`1d` default, or `1h`; messages
usage only), `claude_code` (default true; false skips the Claude Code report), `refetch_days`
(default 3: late-finalised buckets are re-read — see the factory), and the HTTP limits
`request_deadline_s`, `deadline_s`, `max_pages` (as openai's).
"""

from connectors import anthropic as conn
from connectors import plausible
from pipelines.config import SourceConfig
from pipelines.ingest._factory import RawSpec
from pipelines.ingest.openai import ADMIN_KEY_ENV, BUCKET_WIDTH, HTTP_LIMITS, client_limits
from pipelines.options import Option, plausible_options

REFETCH_DAYS = 3


def _client(src: SourceConfig):
    return conn.make_client(src.uri, src.secret("admin_key"), key_env=src.options.get("admin_key_env"),
                            **client_limits(src))


def _checked(src: SourceConfig, table: str, t, ident: tuple[str, ...]):
    """A record is named by its page URL (the "file") and `ident`; amounts are cents (PLAUSIBLE_SCALE)."""
    return plausible.guard(t, src.type, src.options, conn.PLAUSIBLE[table], ident=ident, scale=conn.PLAUSIBLE_SCALE)


def _claude_code(src: SourceConfig, s, e):
    if src.options.get("claude_code", True) in (False, "false", "no", 0):
        return conn.SCHEMAS["anthropic_claude_code"].empty_table()
    return _checked(src, "anthropic_claude_code", conn.fetch_claude_code(_client(src), s, e),
                    ("date", "actor_type", "actor_email_address", "actor_api_key_name", "model"))


OPTIONS = {"anthropic": (
    ADMIN_KEY_ENV,
    BUCKET_WIDTH,
    Option("claude_code", "bool", "also read the Claude Code usage report", default=True),
    *HTTP_LIMITS,
    *plausible_options(usage=True),
)}

SPECS = [
    RawSpec(raw_table="anthropic_usage", source_type="anthropic", cadence="daily",
            schema=conn.SCHEMAS["anthropic_usage"], ts_column=conn.PARTITION_TS_COLUMN["anthropic_usage"],
            daily_fetch=lambda src, s, e: _checked(
                src, "anthropic_usage",
                conn.fetch_usage(_client(src), s, e, bucket_width=str(src.options.get("bucket_width", "1d"))),
                ("starting_at", "model")),
            refetch_days=REFETCH_DAYS,
            description="Anthropic message token usage per day × API key × workspace × model × tier "
                        "(input excludes cache reads/writes, which are separate counts)."),
    RawSpec(raw_table="anthropic_costs", source_type="anthropic", cadence="daily",
            schema=conn.SCHEMAS["anthropic_costs"], ts_column=conn.PARTITION_TS_COLUMN["anthropic_costs"],
            daily_fetch=lambda src, s, e: _checked(src, "anthropic_costs", conn.fetch_costs(_client(src), s, e),
                                                   ("starting_at", "description")),
            refetch_days=REFETCH_DAYS,
            description="Anthropic billed cost per day × workspace × description (amount in cents), used to "
                        "reconcile computed token cost."),
    RawSpec(raw_table="anthropic_claude_code", source_type="anthropic", cadence="daily",
            schema=conn.SCHEMAS["anthropic_claude_code"], ts_column=conn.PARTITION_TS_COLUMN["anthropic_claude_code"],
            daily_fetch=_claude_code, refetch_days=REFETCH_DAYS,
            description="Claude Code usage per day × actor (user or API key) × model: tokens and Anthropic's "
                        "estimated cost (cents), plus the actor's sessions / lines / commits / PRs that day."),
]
