"""Anthropic Admin API: usage_report/messages, cost_report and the Claude Code usage report.

Endpoints: ``GET /v1/organizations/usage_report/messages`` and ``GET /v1/organizations/cost_report``
with an admin key (``x-api-key``, ``anthropic-version``); daily buckets; ``has_more`` /
``next_page``. Quirks: ``uncached_input_tokens`` *excludes* cache reads and cache writes (both
separate counts); cost ``amount`` is in cents as a decimal string — kept as given in raw.
Claude Code (``GET /v1/organizations/usage_report/claude_code``) is not bucketed: one request per
day (``starting_at=YYYY-MM-DD``), records per actor with a nested per-model breakdown, flattened
here to one row per day × actor × model.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pyarrow as pa

from connectors._usage_api import TS, Endpoint, _parse_time, dig, fetch
from connectors.errors import SourceError
from connectors.http import ApiClient

SOURCE = "anthropic"
API_VERSION = "2023-06-01"

SCHEMAS = {
    "anthropic_usage": pa.schema([
        ("starting_at", TS), ("ending_at", TS), ("api_key_id", pa.string()), ("workspace_id", pa.string()),
        ("model", pa.string()), ("service_tier", pa.string()), ("context_window", pa.string()),
        ("uncached_input_tokens", pa.int64()), ("cache_read_input_tokens", pa.int64()),
        ("cache_creation_ephemeral_5m_input_tokens", pa.int64()),
        ("cache_creation_ephemeral_1h_input_tokens", pa.int64()), ("output_tokens", pa.int64()),
        ("server_tool_use_web_search_requests", pa.int64()), ("_source_uri", pa.string())]),
    "anthropic_costs": pa.schema([
        ("starting_at", TS), ("ending_at", TS), ("workspace_id", pa.string()), ("description", pa.string()),
        ("cost_type", pa.string()), ("model", pa.string()), ("service_tier", pa.string()),
        ("context_window", pa.string()), ("token_type", pa.string()), ("currency", pa.string()),
        ("amount", pa.string()), ("_source_uri", pa.string())]),
    "anthropic_claude_code": pa.schema([
        ("date", TS), ("actor_type", pa.string()), ("actor_email_address", pa.string()),
        ("actor_api_key_name", pa.string()), ("organization_id", pa.string()), ("customer_type", pa.string()),
        ("subscription_type", pa.string()), ("terminal_type", pa.string()),
        # per actor × day, repeated on each of the actor's model rows (aggregate with max, not sum)
        ("num_sessions", pa.int64()), ("lines_added", pa.int64()), ("lines_removed", pa.int64()),
        ("commits_by_claude_code", pa.int64()), ("pull_requests_by_claude_code", pa.int64()),
        ("model", pa.string()), ("input_tokens", pa.int64()), ("output_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()), ("cache_creation_tokens", pa.int64()),
        ("estimated_cost_currency", pa.string()),
        # cents, as the decimal text of the JSON number (exact; converted to USD in dbt)
        ("estimated_cost_amount", pa.string()), ("_source_uri", pa.string())]),
}
PARTITION_TS_COLUMN = {"anthropic_usage": "starting_at", "anthropic_costs": "starting_at",
                       "anthropic_claude_code": "date"}
# per raw table, money and count columns under a plausible-range check (connectors.plausible, USAGE
# limits); the amounts are cents as decimal text, compared with max_abs_cost × 100 (PLAUSIBLE_SCALE)
PLAUSIBLE = {"anthropic_usage": {"quantity": tuple(f.name for f in SCHEMAS["anthropic_usage"]
                                                   if pa.types.is_integer(f.type))},
             "anthropic_costs": {"cost": ("amount",)},
             "anthropic_claude_code": {"cost": ("estimated_cost_amount",),
                                       "quantity": ("input_tokens", "output_tokens", "cache_read_tokens",
                                                    "cache_creation_tokens")}}
PLAUSIBLE_SCALE = {"amount": 100, "estimated_cost_amount": 100}
CLAUDE_CODE_PATH = "/v1/organizations/usage_report/claude_code"
_CC_ACTOR = {"actor_type": "actor.type", "actor_email_address": "actor.email_address",
             "actor_api_key_name": "actor.api_key_name", "organization_id": "organization_id",
             "customer_type": "customer_type", "subscription_type": "subscription_type",
             "terminal_type": "terminal_type", "num_sessions": "core_metrics.num_sessions",
             "lines_added": "core_metrics.lines_of_code.added", "lines_removed": "core_metrics.lines_of_code.removed",
             "commits_by_claude_code": "core_metrics.commits_by_claude_code",
             "pull_requests_by_claude_code": "core_metrics.pull_requests_by_claude_code"}
_CC_MODEL = {"model": "model", "input_tokens": "tokens.input", "output_tokens": "tokens.output",
             "cache_read_tokens": "tokens.cache_read", "cache_creation_tokens": "tokens.cache_creation",
             "estimated_cost_currency": "estimated_cost.currency"}

_COMMON = dict(start_param="starting_at", end_param="ending_at", time_format="rfc3339",
               bucket_start="starting_at", bucket_end="ending_at")
_USAGE_FIELDS = {c: c for c in SCHEMAS["anthropic_usage"].names if c not in ("starting_at", "ending_at", "_source_uri")}
_USAGE_FIELDS.update({
    "cache_creation_ephemeral_5m_input_tokens": "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation_ephemeral_1h_input_tokens": "cache_creation.ephemeral_1h_input_tokens",
    "server_tool_use_web_search_requests": "server_tool_use.web_search_requests",
})
USAGE = Endpoint(
    path="/v1/organizations/usage_report/messages",
    fixed_params=(("bucket_width", "1d"), ("limit", "31"), ("group_by[]", "api_key_id"), ("group_by[]", "workspace_id"),
                  ("group_by[]", "model"), ("group_by[]", "service_tier"), ("group_by[]", "context_window")),
    fields=_USAGE_FIELDS, **_COMMON)
COSTS = Endpoint(
    path="/v1/organizations/cost_report",
    fixed_params=(("bucket_width", "1d"), ("group_by[]", "workspace_id"), ("group_by[]", "description")),
    fields={c: c for c in SCHEMAS["anthropic_costs"].names if c not in ("starting_at", "ending_at", "_source_uri")},
    **_COMMON)


def make_client(base_url: str, admin_key: str, *, key_env: str | None = "ANTHROPIC_ADMIN_KEY", **kw) -> ApiClient:
    """An ApiClient for the Anthropic Admin API (``base_url`` e.g. ``https://api.anthropic.com``).

    `key_env` is the variable the key came from, named in a 401/403 error.
    """
    return ApiClient(base_url, {"x-api-key": admin_key, "anthropic-version": API_VERSION}, source=SOURCE,
                     key_env=key_env, **kw)


BUCKET_LIMITS = {"1d": 31, "1h": 168}


def fetch_usage(client: ApiClient, start: datetime, end: datetime, *, bucket_width: str = "1d") -> pa.Table:
    """Messages usage, buckets (1d, or 1h) in [start, end): one row per bucket × group (``anthropic_usage``)."""
    if bucket_width not in BUCKET_LIMITS:
        raise SourceError(SOURCE, "bucket_width", f"{bucket_width!r} not supported (one of {', '.join(BUCKET_LIMITS)})")
    ep = USAGE
    if bucket_width != "1d":
        ep = replace(USAGE, fixed_params=(("bucket_width", bucket_width), ("limit", str(BUCKET_LIMITS[bucket_width])),
                                          *USAGE.fixed_params[2:]))
    return fetch(client, ep, SCHEMAS["anthropic_usage"], start, end)


def fetch_costs(client: ApiClient, start: datetime, end: datetime) -> pa.Table:
    """Cost report, daily buckets in [start, end): one row per bucket × workspace × description."""
    return fetch(client, COSTS, SCHEMAS["anthropic_costs"], start, end)


def _amount_text(v) -> str | None:
    # the JSON number as text (int stays "186", a float its shortest repr): exact, never binary-rounded
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise TypeError(f"estimated_cost.amount {v!r} is not a number")
    return str(v)


def fetch_claude_code(client: ApiClient, start: datetime, end: datetime, *, limit: int = 100) -> pa.Table:
    """Claude Code usage for each UTC day in [start, end): one row per day × actor × model
    (``anthropic_claude_code``; an actor without a model breakdown gives one row, model null)."""
    schema = SCHEMAS["anthropic_claude_code"]
    cols: dict[str, list] = {f.name: [] for f in schema}
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        params = [("starting_at", day.strftime("%Y-%m-%d")), ("limit", str(limit))]
        for n, (page, url) in enumerate(client.paginate(CLAUDE_CODE_PATH, params), start=1):
            where = f"{url} [page {n}]"
            data = page.get("data")
            if not isinstance(data, list):
                raise SourceError(client.source, where, f"malformed page: no 'data' list (keys: {sorted(page)[:8]})")
            for rec in data:
                try:
                    rec_day = _parse_time(rec.get("date") or day.isoformat(), "rfc3339")
                    actor = {c: dig(rec, p) for c, p in _CC_ACTOR.items()}
                    models = rec.get("model_breakdown") or [{}]
                    for m in models:
                        for c, p in _CC_MODEL.items():
                            cols[c].append(dig(m, p))
                        cols["estimated_cost_amount"].append(_amount_text(dig(m, "estimated_cost.amount")))
                        for c, v in actor.items():
                            cols[c].append(v)
                        cols["date"].append(rec_day)
                        cols["_source_uri"].append(url)
                except (AttributeError, TypeError, ValueError) as e:
                    raise SourceError(client.source, where, f"malformed record ({type(e).__name__}: {e})") from None
        day += timedelta(days=1)
    arrays = []
    for f in schema:
        try:
            arrays.append(pa.array(cols[f.name], f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise SourceError(client.source, client.base_url + CLAUDE_CODE_PATH,
                              f"field {f.name}: unexpected value type ({e})") from None
    return pa.Table.from_arrays(arrays, schema=schema)
