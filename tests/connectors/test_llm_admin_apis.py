"""OpenAI usage endpoints, Anthropic Claude Code report, and every bad-input case of the admin APIs.

Happy paths use the shapes of the providers' documented example payloads (OpenAI API reference
"Usage" / Anthropic Admin API "Usage Report"), served page by page from the loopback `peer`; the
bad-input cases run against the demo's API emulator (a real HTTP server) or the peer where the
emulator cannot misbehave that way (a cursor that repeats, a page 2 that is broken).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pytest

from connectors import anthropic, openai
from connectors.errors import SourceError
from demo import llm_apis, otel
from demo._common import Window
from demo.emulator import ApiEmulator
from pipelines.quality.ge import validate

UTC = timezone.utc
START, END = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
D3, D4, D5 = (int(datetime(2026, 11, d, tzinfo=UTC).timestamp()) for d in (3, 4, 5))
KEY = "sk-admin-do-not-print-me-1234567890"


def q(path: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(path).query)


def group_by(path: str) -> list[str]:
    return [v for k, v in q(path) if k == "group_by"]


def page(buckets, next_page=None):
    return {"object": "page", "data": buckets, "has_more": next_page is not None, "next_page": next_page}


def bucket(t0, results):
    return {"object": "bucket", "start_time": t0, "end_time": t0 + 86400, "results": results}


# Documented example results (OpenAI API reference, one per usage endpoint), grouped values added.
DOC_RESULTS = {
    # input_tokens = cached + cache write + uncached (OpenAPI spec synced 2026-07-15)
    "completions": {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 500,
                    "input_cached_tokens": 680, "input_audio_tokens": 0, "output_audio_tokens": 0,
                    "num_model_requests": 5, "project_id": "proj_abc", "user_id": None, "api_key_id": "key_abc",
                    "model": "gpt-4o-mini-2024-07-18", "batch": False, "service_tier": "default",
                    # newer fields some responses carry, plus one nobody knows yet
                    "input_cache_write_tokens": 120, "input_uncached_tokens": 200, "brand_new_metric": 9},
    "embeddings": {"object": "organization.usage.embeddings.result", "input_tokens": 16, "num_model_requests": 2,
                   "project_id": "proj_abc", "user_id": None, "api_key_id": "key_abc",
                   "model": "text-embedding-3-small"},
    "moderations": {"object": "organization.usage.moderations.result", "input_tokens": 16,
                    "num_model_requests": 2, "project_id": "proj_abc", "model": "omni-moderation-latest"},
    "images": {"object": "organization.usage.images.result", "images": 2, "num_model_requests": 2,
               "size": "1024x1024", "source": "image.generation", "project_id": "proj_abc", "model": "dall-e-3"},
    "audio_speeches": {"object": "organization.usage.audio_speeches.result", "characters": 45,
                       "num_model_requests": 1, "project_id": "proj_abc", "model": "tts-1"},
    "audio_transcriptions": {"object": "organization.usage.audio_transcriptions.result", "seconds": 20,
                             "num_model_requests": 1, "project_id": "proj_abc", "model": "whisper-1"},
    "vector_stores": {"object": "organization.usage.vector_stores.result", "usage_bytes": 1024,
                      "project_id": "proj_abc"},
    "code_interpreter_sessions": {"object": "organization.usage.code_interpreter_sessions.result",
                                  "num_sessions": 1, "project_id": "proj_abc"},
    "file_search_calls": {"object": "organization.usage.file_searches.result", "num_requests": 12,
                          "project_id": "proj_abc", "api_key_id": "key_abc", "vector_store_id": "vs_abc"},
    "web_search_calls": {"object": "organization.usage.web_searches.result", "num_requests": 3,
                         "num_model_requests": 2, "project_id": "proj_abc", "model": "gpt-4.1"},
}


def test_openai_every_usage_endpoint_with_its_own_group_by(peer):
    for name, result in DOC_RESULTS.items():
        if name == "completions":  # two pages
            peer.add(200, page([bucket(D3, [result])], next_page="page_AAA"))
            old = {k: v for k, v in result.items() if k not in ("input_cache_write_tokens", "input_uncached_tokens")}
            peer.add(200, page([bucket(D4, [old])]))
        else:
            peer.add(200, page([bucket(D3, [result]), bucket(D4, [])]))
    t = openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END)
    assert t.schema == openai.SCHEMAS["openai_usage"]
    assert t.num_rows == 11
    rows = t.to_pylist()
    by_ep: dict[str, list[dict]] = {}
    for r in rows:
        by_ep.setdefault(r["endpoint"], []).append(r)
    assert {k: len(v) for k, v in by_ep.items()} == {**{n: 1 for n in DOC_RESULTS}, "completions": 2}
    c_new, c_old = by_ep["completions"]
    assert (c_new["input_tokens"], c_new["input_cached_tokens"], c_new["input_cache_write_tokens"],
            c_new["input_uncached_tokens"]) == (1000, 680, 120, 200)
    assert c_old["input_cache_write_tokens"] is None and c_old["input_uncached_tokens"] is None
    assert c_old["start_time"] == datetime(2026, 11, 4, tzinfo=UTC)
    assert (by_ep["images"][0]["images"], by_ep["images"][0]["image_size"], by_ep["images"][0]["image_source"]) == \
        (2, "1024x1024", "image.generation")
    assert by_ep["audio_speeches"][0]["characters"] == 45 and by_ep["audio_transcriptions"][0]["seconds"] == 20
    assert by_ep["vector_stores"][0]["usage_bytes"] == 1024 and by_ep["vector_stores"][0]["model"] is None
    assert by_ep["code_interpreter_sessions"][0]["num_sessions"] == 1
    assert by_ep["embeddings"][0]["input_tokens"] == 16 and by_ep["embeddings"][0]["output_tokens"] is None
    fs, ws = by_ep["file_search_calls"][0], by_ep["web_search_calls"][0]
    assert (fs["num_requests"], fs["vector_store_id"], fs["model"]) == (12, "vs_abc", None)
    assert (ws["num_requests"], ws["num_model_requests"], ws["model"]) == (3, 2, "gpt-4.1")
    # one request per page, in USAGE_ENDPOINTS order, each with the group_by its endpoint accepts
    paths = [urlsplit(p).path for p, _ in peer.requests]
    assert paths == ["/v1/organization/usage/completions"] * 2 + [
        f"/v1/organization/usage/{n}" for n in list(DOC_RESULTS)[1:]]
    assert group_by(peer.requests[0][0]) == ["project_id", "user_id", "api_key_id", "model", "batch", "service_tier"]
    assert group_by(peer.requests[4][0]) == ["project_id", "user_id", "api_key_id", "model", "size", "source"]
    assert group_by(peer.requests[-3][0]) == ["project_id"]
    assert group_by(peer.requests[-2][0]) == ["project_id", "user_id", "api_key_id", "vector_store_id"]
    assert group_by(peer.requests[-1][0]) == ["project_id", "user_id", "api_key_id", "model"]
    assert ("page", "page_AAA") in q(peer.requests[1][0])
    assert all(("bucket_width", "1d") in q(p) and ("limit", "31") in q(p) for p, _ in peer.requests)
    assert KEY not in "".join(t["_source_uri"].to_pylist())


def test_openai_hourly_buckets_option(peer):
    h = 3600
    peer.add(200, page([{"start_time": D3 + i * h, "end_time": D3 + (i + 1) * h,
                         "results": [DOC_RESULTS["embeddings"]]} for i in range(2)]))
    t = openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, endpoints=["embeddings"],
                           bucket_width="1h")
    assert t["start_time"].to_pylist() == [START, START + timedelta(hours=1)]
    assert t["end_time"].to_pylist()[1] == START + timedelta(hours=2)
    assert ("bucket_width", "1h") in q(peer.requests[0][0]) and ("limit", "168") in q(peer.requests[0][0])
    with pytest.raises(SourceError, match="bucket_width: '1w' not supported"):
        openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, bucket_width="1w")
    with pytest.raises(SourceError, match="unknown usage endpoint 'chats'"):
        openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, endpoints=["chats"])


# Documented Claude Code report record shape (Anthropic Admin API "Get Claude Code Usage Report").
def cc_record(day, actor, models, sessions=3):
    return {"date": f"{day}T00:00:00Z", "actor": actor, "organization_id": "12345678-1234-5678-1234-567812345678",
            "customer_type": "api", "terminal_type": "vscode",
            "core_metrics": {"num_sessions": sessions, "lines_of_code": {"added": 342, "removed": 128},
                             "commits_by_claude_code": 8, "pull_requests_by_claude_code": 2},
            "tool_actions": {"edit_tool": {"accepted": 25, "rejected": 3}},
            "model_breakdown": [{"model": m, "tokens": {"input": i, "output": o, "cache_read": cr,
                                                        "cache_creation": cc},
                                 "estimated_cost": {"currency": "USD", "amount": amt}}
                                for m, i, o, cr, cc, amt in models]}


def test_anthropic_claude_code_report_one_request_per_day_flattened_per_model(peer):
    user = {"type": "user_actor", "email_address": "developer@company.com"}
    bot = {"type": "api_actor", "api_key_name": "ci-bot"}
    peer.add(200, {"data": [cc_record("2026-11-03", user, [
        ("claude-sonnet-4-5-20250929", 100000, 35000, 10000, 5000, 186),
        ("claude-haiku-4-5-20251001", 200, 50, 0, 0, 0.42)])], "has_more": True, "next_page": "cc_2"})
    peer.add(200, {"data": [cc_record("2026-11-03", bot, [])], "has_more": False, "next_page": None})
    peer.add(200, {"data": [], "has_more": False, "next_page": None})
    t = anthropic.fetch_claude_code(anthropic.make_client(peer.base_url, KEY), START, END)
    assert t.schema == anthropic.SCHEMAS["anthropic_claude_code"]
    a, b, c = t.to_pylist()
    assert (a["actor_type"], a["actor_email_address"], a["model"], a["input_tokens"], a["output_tokens"],
            a["cache_read_tokens"], a["cache_creation_tokens"], a["estimated_cost_amount"]) == \
        ("user_actor", "developer@company.com", "claude-sonnet-4-5-20250929", 100000, 35000, 10000, 5000, "186")
    assert b["estimated_cost_amount"] == "0.42" and b["num_sessions"] == 3 and b["lines_added"] == 342
    assert c["actor_api_key_name"] == "ci-bot" and c["model"] is None and c["date"] == START
    paths = [p for p, _ in peer.requests]
    assert [dict(q(p))["starting_at"] for p in paths] == ["2026-11-03", "2026-11-03", "2026-11-04"]
    assert ("page", "cc_2") in q(paths[1]) and urlsplit(paths[0]).path == anthropic.CLAUDE_CODE_PATH
    assert peer.requests[0][1]["x-api-key"] == KEY and peer.requests[0][1]["anthropic-version"] == "2023-06-01"


# --- bad input against the emulator --------------------------------------------------------------------

@pytest.fixture(scope="module")
def api_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("api-bad")
    window = Window(datetime(2026, 11, 1).date(), datetime(2026, 11, 4).date())
    traced, _, _ = otel.build_and_write(11, window, out / "otel")
    llm_apis.write(out / "api", llm_apis.build(11, window, traced))
    return out / "api"


@pytest.fixture()
def emu(api_dir):
    with ApiEmulator(api_dir) as e:
        yield e


class Sleeps(list):
    def __call__(self, s):
        self.append(s)


def test_emulator_claude_code_round_trip(emu, api_dir):
    c = anthropic.make_client(emu.base_url, emu.anthropic_admin_key)
    t = anthropic.fetch_claude_code(c, datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC), limit=1)
    window = Window(datetime(2026, 11, 1).date(), datetime(2026, 11, 4).date())
    rows = [r for r in llm_apis.build_claude_code(11, window)
            if r["day"] in ("2026-11-02", "2026-11-03")]
    assert t.num_rows == len(rows) > 0
    assert sum(t["input_tokens"].to_pylist()) == sum(r["input_tokens"] for r in rows)
    cents = sum(float(x) for x in t["estimated_cost_amount"].to_pylist())
    assert cents == pytest.approx(sum(r["estimated_cost_cents"] for r in rows), abs=1e-6)


@pytest.mark.parametrize("provider,status,env", [("openai", 401, "OPENAI_ADMIN_KEY"),
                                                  ("anthropic", 403, "ANTHROPIC_ADMIN_KEY")])
def test_auth_failure_names_the_env_var_never_the_key(emu, caplog, provider, status, env):
    caplog.set_level(logging.DEBUG)
    wrong = f"sk-wrong-{provider}-key-never-shown-0000"
    mod = openai if provider == "openai" else anthropic
    if status == 403:  # a valid key without the admin permission
        emu.inject("/v1/organizations/", 403)
        wrong = emu.anthropic_admin_key
    client = mod.make_client(emu.base_url, wrong, key_env=env, sleep=Sleeps())
    with pytest.raises(SourceError) as e:
        mod.fetch_usage(client, START, END)
    msg = str(e.value)
    assert e.value.status == status and f"HTTP {status}" in msg and env in msg
    assert wrong not in msg and wrong not in caplog.text
    assert e.value.source == provider and "/usage" in e.value.where and "[page 1]" in e.value.where
    assert len(emu.requests) == 1  # never retried


def test_429_retry_after_seconds_and_http_date_then_success(emu):
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    emu.inject("/v1/organization/costs", 429, retry_after=2)
    emu.inject("/v1/organization/costs", 429, times=1)  # consumed after the first
    sleeps = Sleeps()
    c = openai.make_client(emu.base_url, emu.openai_admin_key, sleep=sleeps, clock=lambda: now)
    t = openai.fetch_costs(c, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert t.num_rows > 0
    assert [s for _, s in emu.requests] == [429, 429, 200]
    assert sleeps[0] == 2.0 and 0 <= sleeps[1] <= 0.5 * 2  # server's value, then jittered backoff
    # an HTTP date: waits until then on the injected clock, capped by backoff_max
    emu.inject("/v1/organizations/cost_report", 503,
               retry_after=format_datetime(now + timedelta(seconds=7), usegmt=True))
    sleeps.clear()
    a = anthropic.make_client(emu.base_url, emu.anthropic_admin_key, sleep=sleeps, clock=lambda: now)
    assert anthropic.fetch_costs(a, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)).num_rows > 0
    assert sleeps == [7.0]


def test_5xx_retries_are_bounded_with_exponential_backoff(emu):
    emu.inject("/v1/organization/usage/completions", 500, times=10)
    sleeps = Sleeps()
    c = openai.make_client(emu.base_url, emu.openai_admin_key, sleep=sleeps, max_retries=3, backoff_base=1.0)
    with pytest.raises(SourceError, match=r"HTTP 500 after 4 attempts"):
        openai.fetch_usage(c, START, END, endpoints=["completions"])
    assert len(emu.requests) == 4 and len(sleeps) == 3
    assert all(0 <= s <= 2 ** i for i, s in enumerate(sleeps))  # full jitter under base·2^attempt


@pytest.mark.parametrize("body,problem", [("<html>gateway</html>", "response is not JSON"),
                                          ('{"object": "page", "has_more": false}', "malformed page: no 'data' list"),
                                          ('[1, 2]', "malformed page: a JSON list")])
def test_malformed_page_names_endpoint_and_page(emu, body, problem):
    emu.inject("/v1/organizations/usage_report/messages", 200, body=body)
    c = anthropic.make_client(emu.base_url, emu.anthropic_admin_key)
    with pytest.raises(SourceError) as e:
        anthropic.fetch_usage(c, START, END)
    assert problem in str(e.value)
    assert "/v1/organizations/usage_report/messages?" in e.value.where and e.value.where.endswith("[page 1]")


def test_malformed_second_page_is_named(peer):
    peer.add(200, page([bucket(D3, [DOC_RESULTS["embeddings"]])], next_page="p2"))
    peer.add(200, {"object": "page", "has_more": False, "datta": []})
    with pytest.raises(SourceError, match=r"page=p2 \[page 2\]: malformed page: no 'data' list"):
        openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, endpoints=["embeddings"])


def test_repeating_cursor_is_an_error_not_a_loop(peer):
    for _ in range(3):
        peer.add(200, page([bucket(D3, [])], next_page="same"))
    with pytest.raises(SourceError, match=r"usage/moderations\?.*\[page 2\]: pagination loop: cursor 'same' repeated"):
        openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, endpoints=["moderations"])
    assert len(peer.requests) == 2


def _with_partition(t: pa.Table, key: str = "2026-11-03") -> pa.Table:
    return t.append_column("_partition", pa.array([key] * t.num_rows, pa.string()))


def test_negative_and_absurd_token_counts_fail_the_suite_naming_the_page(peer):
    bad = [dict(DOC_RESULTS["completions"], input_tokens=-5),
           dict(DOC_RESULTS["completions"], output_tokens=10**15),
           dict(DOC_RESULTS["completions"], model="gpt-9-unknown-2031")]
    peer.add(200, page([bucket(D3, bad)]))
    t = openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, endpoints=["completions"])
    assert t.num_rows == 3  # the connector keeps everything; the blocking suite judges
    out = validate("openai_usage", _with_partition(t), openai.SCHEMAS["openai_usage"])
    assert not out.success
    text = out.summary()
    assert "input_tokens within [0, 10000000000000]' failed on 1 of 3 rows" in text
    assert "output_tokens within [0, 10000000000000]' failed on 1 of 3 rows" in text
    assert f"{peer.base_url}/v1/organization/usage/completions?" in text  # the page
    assert "model" not in [f.split("'")[1] for f in out.failures]  # an unknown model is not a failure


def test_unknown_model_is_kept(peer):
    peer.add(200, page([bucket(D3, [dict(DOC_RESULTS["completions"], model="gpt-9-unknown-2031")])]))
    t = openai.fetch_usage(openai.make_client(peer.base_url, KEY), START, END, endpoints=["completions"])
    out = validate("openai_usage", _with_partition(t), openai.SCHEMAS["openai_usage"])
    assert out.success and t["model"].to_pylist() == ["gpt-9-unknown-2031"]


def test_claude_code_suite_catches_negative_tokens(peer):
    peer.add(200, {"data": [cc_record("2026-11-03", {"type": "user_actor", "email_address": "x@y.z"},
                                      [("claude-sonnet-4-5-20250929", -1, 1, 0, 0, 1)])], "has_more": False})
    t = anthropic.fetch_claude_code(anthropic.make_client(peer.base_url, KEY), START, START + timedelta(days=1))
    out = validate("anthropic_claude_code", _with_partition(t), anthropic.SCHEMAS["anthropic_claude_code"])
    assert not out.success and "input_tokens within" in out.summary() and "claude_code?" in out.summary()
