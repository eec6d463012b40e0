"""Anthropic Admin API: usage_report/messages and cost_report.

Endpoints: ``GET /v1/organizations/usage_report/messages`` and ``GET /v1/organizations/cost_report``
with an admin key (``x-api-key``, ``anthropic-version``); daily buckets; ``has_more`` /
``next_page``. Quirks: ``uncached_input_tokens`` *excludes* cache reads and cache writes (both
separate counts); cost ``amount`` is in cents as a decimal string — kept as given in raw.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from connectors._usage_api import TS, Endpoint, fetch
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
}
PARTITION_TS_COLUMN = {"anthropic_usage": "starting_at", "anthropic_costs": "starting_at"}

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


def make_client(base_url: str, admin_key: str, **kw) -> ApiClient:
    """An ApiClient for the Anthropic Admin API (``base_url`` e.g. ``https://api.anthropic.com``)."""
    return ApiClient(base_url, {"x-api-key": admin_key, "anthropic-version": API_VERSION}, source=SOURCE, **kw)


def fetch_usage(client: ApiClient, start: datetime, end: datetime) -> pa.Table:
    """Messages usage, daily buckets in [start, end): one row per bucket × group (``anthropic_usage``)."""
    return fetch(client, USAGE, SCHEMAS["anthropic_usage"], start, end)


def fetch_costs(client: ApiClient, start: datetime, end: datetime) -> pa.Table:
    """Cost report, daily buckets in [start, end): one row per bucket × workspace × description."""
    return fetch(client, COSTS, SCHEMAS["anthropic_costs"], start, end)
