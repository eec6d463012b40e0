"""OpenAI and Anthropic admin-API connectors against hand-made pages served on loopback.

Both go through the one ApiClient and the one bucket reader; these check the per-provider data
(paths, parameter names, field maps) and the behaviour that matters for cost numbers.
"""

import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from connectors import anthropic, openai
from connectors.errors import SourceError

UTC = timezone.utc
START, END = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
D3, D4, D5 = (int(datetime(2026, 11, d, tzinfo=UTC).timestamp()) for d in (3, 4, 5))
OPENAI_KEY, ANTHROPIC_KEY = "sk-admin-openai-test-key", "sk-ant-admin01-test-key"


def query(path_with_query: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(path_with_query).query)


def oa_result(**kw):
    base = {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 200,
            "input_cached_tokens": 400, "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": 5,
            "project_id": "proj_search", "user_id": None, "api_key_id": "key_1", "model": "gpt-4o-2024-08-06",
            "batch": False, "service_tier": "default"}
    base.update(kw)
    return base


def test_openai_usage_pages_fields_and_params(peer):
    peer.add(200, {"object": "page", "has_more": True, "next_page": "page_2",
                   "data": [{"object": "bucket", "start_time": D3, "end_time": D4,
                             "results": [oa_result(), oa_result(batch=True, service_tier="batch",
                                                                model="gpt-4.1-2025-04-14")]}]})
    # an older API response: no service_tier / audio fields, plus a field we do not know
    old = oa_result(model="gpt-4o-mini-2024-07-18", brand_new_metric=7)
    for k in ("service_tier", "input_audio_tokens", "output_audio_tokens"):
        del old[k]
    peer.add(200, {"object": "page", "has_more": False, "next_page": None,
                   "data": [{"object": "bucket", "start_time": D4, "end_time": D5, "results": [old]},
                            {"object": "bucket", "start_time": D5, "end_time": D5 + 86400, "results": []}]})
    t = openai.fetch_usage(openai.make_client(peer.base_url, OPENAI_KEY), START, END, endpoints=["completions"])
    assert t.schema == openai.SCHEMAS["openai_usage"]
    rows = t.to_pylist()
    assert len(rows) == 3
    assert rows[0]["start_time"] == START and rows[0]["end_time"] == datetime(2026, 11, 4, tzinfo=UTC)
    assert (rows[0]["input_tokens"], rows[0]["input_cached_tokens"], rows[0]["num_model_requests"]) == (1000, 400, 5)
    assert rows[1]["batch"] is True and rows[1]["service_tier"] == "batch"
    assert rows[2]["service_tier"] is None and rows[2]["input_audio_tokens"] is None
    # requests: path, unix window, daily buckets, every group_by, cursor on the 2nd page, key only in header
    (p1, h1), (p2, _) = peer.requests
    assert urlsplit(p1).path == "/v1/organization/usage/completions"
    q = query(p1)
    assert ("start_time", str(D3)) in q and ("end_time", str(D5)) in q and ("bucket_width", "1d") in q
    assert {v for k, v in q if k == "group_by"} == {"project_id", "user_id", "api_key_id", "model", "batch",
                                                    "service_tier"}
    assert ("page", "page_2") in query(p2)
    assert h1["Authorization"] == f"Bearer {OPENAI_KEY}"
    assert all(OPENAI_KEY not in u for u in t["_source_uri"].to_pylist())
    assert rows[0]["_source_uri"] != rows[2]["_source_uri"]  # each row names its own page


def test_openai_usage_drops_service_tier_grouping_when_rejected(peer):
    peer.add(400, {"error": {"message": "Invalid group_by: service_tier"}})
    peer.add(200, {"has_more": False,
                   "data": [{"start_time": D3, "end_time": D4, "results": [oa_result(service_tier=None)]}]})
    t = openai.fetch_usage(openai.make_client(peer.base_url, OPENAI_KEY), START, END, endpoints=["completions"])
    assert t.num_rows == 1
    assert "service_tier" in {v for k, v in query(peer.requests[0][0]) if k == "group_by"}
    assert "service_tier" not in {v for k, v in query(peer.requests[1][0]) if k == "group_by"}


def test_openai_other_400_is_not_retried_without_optional_params(peer):
    peer.add(401, {"error": {"message": "invalid key"}})
    with pytest.raises(SourceError, match=r"^openai: .*/v1/organization/usage/completions\?.*: HTTP 401"):
        openai.fetch_usage(openai.make_client(peer.base_url, OPENAI_KEY), START, END, endpoints=["completions"])
    assert len(peer.requests) == 1


def test_openai_costs(peer):
    results = [{"object": "organization.costs.result", "amount": {"value": 1.25, "currency": "usd"},
                "line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_search", "organization_id": "org_1"},
               {"object": "organization.costs.result", "amount": {"value": 0.5},
                "line_item": "gpt-4o-2024-08-06, output", "project_id": None}]
    peer.add(200, {"has_more": False, "next_page": None,
                   "data": [{"start_time": D3, "end_time": D4, "results": results}]})
    t = openai.fetch_costs(openai.make_client(peer.base_url, OPENAI_KEY), START, END)
    assert t.schema == openai.SCHEMAS["openai_costs"]
    assert t.to_pylist()[0] | {"_source_uri": None} == {
        "start_time": START, "end_time": datetime(2026, 11, 4, tzinfo=UTC), "project_id": "proj_search",
        "organization_id": "org_1", "line_item": "gpt-4o-2024-08-06, input", "amount_value": 1.25,
        "amount_currency": "usd", "_source_uri": None}
    assert t["amount_currency"].to_pylist()[1] is None and t["organization_id"].to_pylist()[1] is None
    q = query(peer.requests[0][0])
    assert urlsplit(peer.requests[0][0]).path == "/v1/organization/costs"
    assert {v for k, v in q if k == "group_by"} == {"project_id", "line_item"}


def test_openai_bad_value_type_is_a_source_error_naming_the_page(peer):
    peer.add(200, {"has_more": False, "data": [{"start_time": D3, "end_time": D4,
                                                 "results": [oa_result(input_tokens="lots")]}]})
    with pytest.raises(SourceError, match=r"^openai: .*/v1/organization/usage/completions\?.*: field input_tokens"):
        openai.fetch_usage(openai.make_client(peer.base_url, OPENAI_KEY), START, END, endpoints=["completions"])


def an_bucket(day_from: str, day_to: str, results):
    return {"starting_at": f"{day_from}T00:00:00Z", "ending_at": f"{day_to}T00:00:00Z", "results": results}


def test_anthropic_usage_nested_fields_and_params(peer):
    r = {"uncached_input_tokens": 100, "cache_read_input_tokens": 5000,
         "cache_creation": {"ephemeral_1h_input_tokens": 30, "ephemeral_5m_input_tokens": 70}, "output_tokens": 40,
         "server_tool_use": {"web_search_requests": 2}, "api_key_id": "apikey_1", "workspace_id": "wrkspc_support",
         "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k"}
    minimal = {"uncached_input_tokens": 1, "output_tokens": 2, "model": "claude-haiku-4-5-20251001",
               "workspace_id": None}
    peer.add(200, {"data": [an_bucket("2026-11-03", "2026-11-04", [r])], "has_more": True, "next_page": "cur_1"})
    peer.add(200, {"data": [an_bucket("2026-11-04", "2026-11-05", [minimal])], "has_more": False, "next_page": None})
    t = anthropic.fetch_usage(anthropic.make_client(peer.base_url, ANTHROPIC_KEY), START, END)
    assert t.schema == anthropic.SCHEMAS["anthropic_usage"]
    a, b = t.to_pylist()
    assert a["starting_at"] == START and a["ending_at"] == datetime(2026, 11, 4, tzinfo=UTC)
    assert (a["uncached_input_tokens"], a["cache_read_input_tokens"], a["cache_creation_ephemeral_5m_input_tokens"],
            a["cache_creation_ephemeral_1h_input_tokens"],
            a["server_tool_use_web_search_requests"]) == (100, 5000, 70, 30, 2)
    assert a["context_window"] == "0-200k" and a["service_tier"] == "standard"
    assert b["cache_creation_ephemeral_5m_input_tokens"] is None and b["server_tool_use_web_search_requests"] is None
    (p1, h1), (p2, _) = peer.requests
    assert urlsplit(p1).path == "/v1/organizations/usage_report/messages"
    q = query(p1)
    assert ("starting_at", "2026-11-03T00:00:00Z") in q and ("ending_at", "2026-11-05T00:00:00Z") in q
    assert {v for k, v in q if k == "group_by[]"} == {"api_key_id", "workspace_id", "model", "service_tier",
                                                      "context_window"}
    assert ("page", "cur_1") in query(p2)
    assert h1["x-api-key"] == ANTHROPIC_KEY and h1["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in h1


def test_anthropic_costs_keep_cents_as_decimal_strings(peer):
    results = [{"currency": "USD", "amount": "1234.5678", "workspace_id": "wrkspc_support",
                "description": "Claude Sonnet 4.5 Usage - Input Tokens", "cost_type": "tokens",
                "context_window": "0-200k", "model": "claude-sonnet-4-5-20250929", "service_tier": "standard",
                "token_type": "uncached_input_tokens"},
               {"currency": "USD", "amount": "12", "workspace_id": None, "description": "Web Search Usage",
                "cost_type": "web_search", "model": None, "token_type": None}]
    peer.add(200, {"data": [an_bucket("2026-11-03", "2026-11-04", results)], "has_more": False, "next_page": None})
    t = anthropic.fetch_costs(anthropic.make_client(peer.base_url, ANTHROPIC_KEY), START, END)
    assert t.schema == anthropic.SCHEMAS["anthropic_costs"]
    assert t["amount"].to_pylist() == ["1234.5678", "12"]
    assert t["cost_type"].to_pylist() == ["tokens", "web_search"] and t["token_type"].to_pylist()[1] is None
    assert {v for k, v in query(peer.requests[0][0]) if k == "group_by[]"} == {"workspace_id", "description"}
    assert urlsplit(peer.requests[0][0]).path == "/v1/organizations/cost_report"


def test_shared_paginator_handles_429_then_200_mid_pagination(peer):
    peer.add(200, {"data": [an_bucket("2026-11-03", "2026-11-04", [{"amount": "1"}])], "has_more": True,
                   "next_page": "c"})
    peer.add(429, {"error": "rate limited"}, {"Retry-After": "0"})
    peer.add(200, {"data": [an_bucket("2026-11-04", "2026-11-05", [{"amount": "2"}])], "has_more": False})
    t = anthropic.fetch_costs(anthropic.make_client(peer.base_url, ANTHROPIC_KEY, backoff_base=0.01), START, END)
    assert t["amount"].to_pylist() == ["1", "2"] and len(peer.requests) == 3
    assert json.dumps(t["_source_uri"].to_pylist()).count(ANTHROPIC_KEY) == 0
