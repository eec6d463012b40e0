"""OpenAI organization Usage API (every usage endpoint) and Costs API.

Endpoints: ``GET /v1/organization/usage/<endpoint>`` for each entry of `USAGE_ENDPOINTS` and
``GET /v1/organization/costs``, with an admin key (``Authorization: Bearer``); daily buckets
(hourly as an option); ``next_page`` cursor pagination.

Semantics followed: OpenAI's OpenAPI spec as synced 2026-07-15 (`USAGE_SEMANTICS_SINCE`).
``UsageCompletionsResult.input_tokens`` counts ALL input — cached, cache-write, audio and image
tokens included — and ``input_audio_tokens`` / ``output_audio_tokens`` are parts of
``input_tokens`` / ``output_tokens``, not additions. Buckets that start before that date were
written under the older meaning (text-only ``input_tokens``, audio counted beside it); dbt staging
reads each bucket by its start (seed ``openai_usage_semantics``). Every bucket under the current
meaning must satisfy ``input_tokens >= input_cached_tokens + input_cache_write_tokens +
input_audio_tokens`` and ``output_tokens >= output_audio_tokens``; a bucket that does not is a
`SourceError` naming the page and bucket (the provider changed the meaning again: any reading of
it would be a guess). Newer fields may be absent → null; fields we do not know are ignored.
A Costs result with ``line_item: null`` (an ungrouped answer, as the documented example) is kept
with a null line item (staging names it 'unspecified').
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from connectors._usage_api import TS, Endpoint, fetch
from connectors.errors import SourceError
from connectors.http import ApiClient

SOURCE = "openai"

# Per usage endpoint: the group_by dimensions it accepts (sent) and the metrics its results
# carry (documentation: every other metric column is null for it). Data, not code: a new
# endpoint is one line here plus, if it has new metrics, columns below.
USAGE_ENDPOINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "completions": (("project_id", "user_id", "api_key_id", "model", "batch"),
                    ("input_tokens", "output_tokens", "input_cached_tokens", "input_cache_write_tokens",
                     "input_uncached_tokens", "input_audio_tokens", "output_audio_tokens", "num_model_requests")),
    "embeddings": (("project_id", "user_id", "api_key_id", "model"), ("input_tokens", "num_model_requests")),
    "moderations": (("project_id", "user_id", "api_key_id", "model"), ("input_tokens", "num_model_requests")),
    "images": (("project_id", "user_id", "api_key_id", "model", "size", "source"), ("images", "num_model_requests")),
    "audio_speeches": (("project_id", "user_id", "api_key_id", "model"), ("characters", "num_model_requests")),
    "audio_transcriptions": (("project_id", "user_id", "api_key_id", "model"), ("seconds", "num_model_requests")),
    "vector_stores": (("project_id",), ("usage_bytes",)),
    "code_interpreter_sessions": (("project_id",), ("num_sessions",)),
    # tool calls, billed per call: file search has no model (vector store instead), web search has one
    "file_search_calls": (("project_id", "user_id", "api_key_id", "vector_store_id"), ("num_requests",)),
    "web_search_calls": (("project_id", "user_id", "api_key_id", "model"), ("num_requests", "num_model_requests")),
}
# the start of the current UsageCompletionsResult meaning (spec synced on this date); also the
# `since` of dbt seed openai_usage_semantics (a test keeps the two equal)
USAGE_SEMANTICS_SINCE = datetime(2026, 7, 15, tzinfo=timezone.utc)
# newer group_by values some API versions reject: sent first, dropped on a 400 (columns stay null)
OPTIONAL_GROUP_BY = {"completions": ("service_tier",)}
# buckets per page the API allows at each width (Usage API); Costs only serves 1d
BUCKET_LIMITS = {"1d": 31, "1h": 168}

SCHEMAS = {
    "openai_usage": pa.schema([
        ("start_time", TS), ("end_time", TS), ("project_id", pa.string()), ("user_id", pa.string()),
        ("api_key_id", pa.string()), ("model", pa.string()), ("batch", pa.bool_()), ("service_tier", pa.string()),
        ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("input_cached_tokens", pa.int64()),
        ("input_audio_tokens", pa.int64()), ("output_audio_tokens", pa.int64()), ("num_model_requests", pa.int64()),
        ("_source_uri", pa.string()),
        # added with the non-completions endpoints; appended so older partitions still read by name
        ("endpoint", pa.string()), ("input_cache_write_tokens", pa.int64()), ("input_uncached_tokens", pa.int64()),
        ("image_size", pa.string()), ("image_source", pa.string()), ("images", pa.int64()),
        ("characters", pa.int64()), ("seconds", pa.int64()), ("usage_bytes", pa.int64()),
        ("num_sessions", pa.int64()),
        # added with the tool-call endpoints (file_search_calls, web_search_calls)
        ("num_requests", pa.int64()), ("vector_store_id", pa.string())]),
    "openai_costs": pa.schema([
        ("start_time", TS), ("end_time", TS), ("project_id", pa.string()), ("organization_id", pa.string()),
        ("line_item", pa.string()), ("amount_value", pa.float64()), ("amount_currency", pa.string()),
        ("_source_uri", pa.string())]),
}
PARTITION_TS_COLUMN = {"openai_usage": "start_time", "openai_costs": "start_time"}
# per raw table, money and count columns under a plausible-range check (connectors.plausible, USAGE
# limits); usage_bytes (vector-store storage) is not a per-record count and stays out
PLAUSIBLE = {"openai_usage": {"quantity": tuple(f.name for f in SCHEMAS["openai_usage"]
                                                if pa.types.is_integer(f.type) and f.name != "usage_bytes")},
             "openai_costs": {"cost": ("amount_value",)}}

_COMMON = dict(start_param="start_time", end_param="end_time", time_format="unix",
               bucket_start="start_time", bucket_end="end_time")
_NOT_FIELDS = ("start_time", "end_time", "_source_uri", "endpoint")
_USAGE_FIELDS = {c: c for c in SCHEMAS["openai_usage"].names if c not in _NOT_FIELDS}
_USAGE_FIELDS.update({"image_size": "size", "image_source": "source"})


def usage_endpoint(name: str, bucket_width: str = "1d") -> Endpoint:
    """The `Endpoint` for one usage endpoint of `USAGE_ENDPOINTS` at a bucket width (1d or 1h)."""
    if name not in USAGE_ENDPOINTS:
        raise SourceError(SOURCE, "usage_endpoints",
                          f"unknown usage endpoint {name!r} (one of {', '.join(USAGE_ENDPOINTS)})")
    if bucket_width not in BUCKET_LIMITS:
        raise SourceError(SOURCE, "bucket_width", f"{bucket_width!r} not supported (one of {', '.join(BUCKET_LIMITS)})")
    group_by, _metrics = USAGE_ENDPOINTS[name]
    return Endpoint(
        path=f"/v1/organization/usage/{name}",
        fixed_params=(("bucket_width", bucket_width), ("limit", str(BUCKET_LIMITS[bucket_width])),
                      *(("group_by", g) for g in group_by)),
        optional_params=tuple(("group_by", g) for g in OPTIONAL_GROUP_BY.get(name, ())),
        fields=_USAGE_FIELDS, constants=(("endpoint", name),),
        check=_completions_identity if name == "completions" else None, **_COMMON)


def _completions_identity(result: dict, bucket_start: datetime) -> str | None:
    """The problem, if a completions result breaks the identities of the meaning it is read under.

    Under the current meaning the parts (cached, cache-write, audio input; audio output) are inside
    the totals; under the older one only the cached part was inside ``input_tokens``.
    """
    fields = ("input_tokens", "input_cached_tokens", "input_cache_write_tokens", "input_audio_tokens",
              "output_tokens", "output_audio_tokens")
    values = {f: result.get(f) for f in fields}
    if any(v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0) for v in values.values()):
        return None  # a wrong type or a negative count is named by the type conversion / the blocking suite

    def n(field: str) -> int:
        return values[field] or 0

    if bucket_start < USAGE_SEMANTICS_SINCE:
        if n("input_tokens") < n("input_cached_tokens"):
            return (f"input_tokens {n('input_tokens')} < input_cached_tokens {n('input_cached_tokens')}: "
                    "the cached part must be inside input_tokens")
        return None
    parts = n("input_cached_tokens") + n("input_cache_write_tokens") + n("input_audio_tokens")
    if n("input_tokens") < parts:
        return (f"input_tokens {n('input_tokens')} < input_cached_tokens {n('input_cached_tokens')} + "
                f"input_cache_write_tokens {n('input_cache_write_tokens')} + input_audio_tokens "
                f"{n('input_audio_tokens')} = {parts}: the parts must be inside input_tokens (OpenAI usage "
                f"semantics since {USAGE_SEMANTICS_SINCE:%Y-%m-%d}); the API's meaning changed, nothing is loaded")
    if n("output_tokens") < n("output_audio_tokens"):
        return (f"output_tokens {n('output_tokens')} < output_audio_tokens {n('output_audio_tokens')}: the audio "
                f"part must be inside output_tokens (OpenAI usage semantics since "
                f"{USAGE_SEMANTICS_SINCE:%Y-%m-%d}); the API's meaning changed, nothing is loaded")
    return None


USAGE = usage_endpoint("completions")
COSTS = Endpoint(
    path="/v1/organization/costs",
    fixed_params=(("bucket_width", "1d"), ("limit", "180"), ("group_by", "project_id"), ("group_by", "line_item")),
    fields={"project_id": "project_id", "organization_id": "organization_id", "line_item": "line_item",
            "amount_value": "amount.value", "amount_currency": "amount.currency"},
    **_COMMON)


def make_client(base_url: str, admin_key: str, *, key_env: str | None = "OPENAI_ADMIN_KEY", **kw) -> ApiClient:
    """An ApiClient for the OpenAI admin APIs (``base_url`` e.g. ``https://api.openai.com``).

    `key_env` is the variable the key came from, named in a 401/403 error.
    """
    return ApiClient(base_url, {"Authorization": f"Bearer {admin_key}"}, source=SOURCE, key_env=key_env, **kw)


def fetch_usage(client: ApiClient, start: datetime, end: datetime, *,
                endpoints: tuple[str, ...] | list[str] | None = None, bucket_width: str = "1d") -> pa.Table:
    """Usage of every endpoint in `endpoints` (default all), buckets in [start, end): one row per
    endpoint × bucket × group (``openai_usage``; the `endpoint` column says which)."""
    names = list(endpoints) if endpoints else list(USAGE_ENDPOINTS)
    schema = SCHEMAS["openai_usage"]
    eps = [usage_endpoint(n, bucket_width) for n in names]  # validate every name before any request
    return pa.concat_tables([fetch(client, ep, schema, start, end) for ep in eps])


def fetch_costs(client: ApiClient, start: datetime, end: datetime) -> pa.Table:
    """Costs, daily buckets in [start, end): one row per bucket × project × line item (``openai_costs``)."""
    return fetch(client, COSTS, SCHEMAS["openai_costs"], start, end)
