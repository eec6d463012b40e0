"""OpenAI organization Usage API (completions) and Costs API.

Endpoints: ``GET /v1/organization/usage/completions`` and ``GET /v1/organization/costs`` with an
admin key (``Authorization: Bearer``); daily buckets; ``next_page`` cursor pagination.
Quirk: ``input_tokens`` *includes* ``input_cached_tokens``. Newer fields may be absent → null.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from connectors._usage_api import TS, Endpoint, fetch
from connectors.http import ApiClient

SOURCE = "openai"

SCHEMAS = {
    "openai_usage": pa.schema([
        ("start_time", TS), ("end_time", TS), ("project_id", pa.string()), ("user_id", pa.string()),
        ("api_key_id", pa.string()), ("model", pa.string()), ("batch", pa.bool_()), ("service_tier", pa.string()),
        ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("input_cached_tokens", pa.int64()),
        ("input_audio_tokens", pa.int64()), ("output_audio_tokens", pa.int64()), ("num_model_requests", pa.int64()),
        ("_source_uri", pa.string())]),
    "openai_costs": pa.schema([
        ("start_time", TS), ("end_time", TS), ("project_id", pa.string()), ("organization_id", pa.string()),
        ("line_item", pa.string()), ("amount_value", pa.float64()), ("amount_currency", pa.string()),
        ("_source_uri", pa.string())]),
}
PARTITION_TS_COLUMN = {"openai_usage": "start_time", "openai_costs": "start_time"}

_COMMON = dict(start_param="start_time", end_param="end_time", time_format="unix",
               bucket_start="start_time", bucket_end="end_time")
USAGE = Endpoint(
    path="/v1/organization/usage/completions",
    fixed_params=(("bucket_width", "1d"), ("limit", "31"), ("group_by", "project_id"), ("group_by", "user_id"),
                  ("group_by", "api_key_id"), ("group_by", "model"), ("group_by", "batch")),
    # service_tier is a newer grouping: an API that rejects it gets the query without it
    optional_params=(("group_by", "service_tier"),),
    fields={c: c for c in SCHEMAS["openai_usage"].names if c not in ("start_time", "end_time", "_source_uri")},
    **_COMMON)
COSTS = Endpoint(
    path="/v1/organization/costs",
    fixed_params=(("bucket_width", "1d"), ("limit", "180"), ("group_by", "project_id"), ("group_by", "line_item")),
    fields={"project_id": "project_id", "organization_id": "organization_id", "line_item": "line_item",
            "amount_value": "amount.value", "amount_currency": "amount.currency"},
    **_COMMON)


def make_client(base_url: str, admin_key: str, **kw) -> ApiClient:
    """An ApiClient for the OpenAI admin APIs (``base_url`` e.g. ``https://api.openai.com``)."""
    return ApiClient(base_url, {"Authorization": f"Bearer {admin_key}"}, source=SOURCE, **kw)


def fetch_usage(client: ApiClient, start: datetime, end: datetime) -> pa.Table:
    """Completions usage, daily buckets in [start, end): one row per bucket × group (``openai_usage``)."""
    return fetch(client, USAGE, SCHEMAS["openai_usage"], start, end)


def fetch_costs(client: ApiClient, start: datetime, end: datetime) -> pa.Table:
    """Costs, daily buckets in [start, end): one row per bucket × project × line item (``openai_costs``)."""
    return fetch(client, COSTS, SCHEMAS["openai_costs"], start, end)
