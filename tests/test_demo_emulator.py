"""The OpenAI / Anthropic admin API emulator, exercised over real HTTP with `requests`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from demo import llm_apis, otel
from demo._common import Window
from demo.emulator import ApiEmulator

START, END = date(2026, 11, 1), date(2026, 11, 10)  # 10 days of data
T0 = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
T_END = T0 + 10 * 86400
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def api_dir(tmp_path_factory):
    """Only the API datasets (traces are generated because usage folds them in)."""
    out = tmp_path_factory.mktemp("api-org")
    window = Window(START, END)
    traced, _, _ = otel.build_and_write(7, window, out / "otel")
    llm_apis.write(out / "api", llm_apis.build(7, window, traced))
    return out / "api"


@pytest.fixture()
def emu(api_dir):
    with ApiEmulator(api_dir) as e:
        yield e


def _rows(api_dir: Path, name: str) -> list[dict]:
    return [json.loads(x) for x in (api_dir / f"{name}.jsonl").read_text().splitlines()]


def _oa(emu):
    return {"Authorization": f"Bearer {emu.openai_admin_key}"}


def _an(emu):
    return {"x-api-key": emu.anthropic_admin_key, "anthropic-version": "2023-06-01"}


def _walk(emu, path, params, headers):
    pages, page = [], None
    while True:
        p = dict(params, **({"page": page} if page else {}))
        r = requests.get(emu.base_url + path, params=p, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        if not body["has_more"]:
            assert body["next_page"] is None
            return pages
        page = body["next_page"]
        assert page


def test_openai_usage_pagination_walks_all_pages(emu, api_dir):
    pages = _walk(emu, "/v1/organization/usage/completions",
                  {"start_time": T0, "end_time": T_END, "bucket_width": "1d", "limit": 3}, _oa(emu))
    assert [len(p["data"]) for p in pages] == [3, 3, 3, 1]
    buckets = [b for p in pages for b in p["data"]]
    assert [b["start_time"] for b in buckets] == list(range(T0, T_END, 86400))
    assert all(b["object"] == "bucket" and b["end_time"] == b["start_time"] + 86400 for b in buckets)
    assert all(p["object"] == "page" for p in pages)
    got = sum(r["input_tokens"] for b in buckets for r in b["results"])
    assert got == sum(r["input_tokens"] for r in _rows(api_dir, "openai_usage_completions"))
    # default limit is 7 buckets for 1d
    r = requests.get(emu.base_url + "/v1/organization/usage/completions",
                     params={"start_time": T0, "end_time": T_END}, headers=_oa(emu), timeout=10)
    assert len(r.json()["data"]) == 7 and r.json()["has_more"]


def test_openai_group_by(emu, api_dir):
    url = emu.base_url + "/v1/organization/usage/completions"
    base = {"start_time": T0, "end_time": T0 + 86400}
    flat = requests.get(url, params=base, headers=_oa(emu), timeout=10).json()["data"][0]["results"]
    assert len(flat) == 1 and flat[0]["project_id"] is None and flat[0]["model"] is None
    rep = requests.get(url, params={**base, "group_by": ["project_id", "model"]}, headers=_oa(emu),
                       timeout=10).json()["data"][0]["results"]
    comma = requests.get(url, params={**base, "group_by": "project_id,model"}, headers=_oa(emu),
                         timeout=10).json()["data"][0]["results"]
    assert rep == comma
    keys = {(r["project_id"], r["model"]) for r in rep}
    assert len(keys) == len(rep) and {"proj_search", "proj_research"} <= {k[0] for k in keys}
    assert all(r["api_key_id"] is None and r["object"] == "organization.usage.completions.result"
               for r in rep)
    assert sum(r["input_tokens"] for r in rep) == flat[0]["input_tokens"]
    day = [r for r in _rows(api_dir, "openai_usage_completions") if r["day"] == "2026-11-01"]
    assert flat[0]["num_model_requests"] == sum(r["num_model_requests"] for r in day)
    filt = requests.get(url, params={**base, "project_ids": "proj_search", "group_by": "project_id"},
                        headers=_oa(emu), timeout=10).json()["data"][0]["results"]
    assert [r["project_id"] for r in filt] == ["proj_search"]


def test_openai_costs(emu, api_dir):
    pages = _walk(emu, "/v1/organization/costs",
                  {"start_time": T0, "end_time": T_END, "group_by": ["project_id", "line_item"],
                   "limit": 4}, _oa(emu))
    res = [r for p in pages for b in p["data"] for r in b["results"]]
    assert all(r["object"] == "organization.costs.result" and r["amount"]["currency"] == "usd"
               and r["line_item"] and r["project_id"] for r in res)
    total = sum(r["amount"]["value"] for r in res)
    assert total == pytest.approx(sum(r["amount_usd"] for r in _rows(api_dir, "openai_costs")))


def test_anthropic_usage_and_costs(emu, api_dir):
    pages = _walk(emu, "/v1/organizations/usage_report/messages",
                  {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-11T00:00:00Z",
                   "group_by[]": ["workspace_id", "model"], "limit": 4}, _an(emu))
    assert len(pages) == 3
    buckets = [b for p in pages for b in p["data"]]
    assert buckets[0]["starting_at"] == "2026-11-01T00:00:00Z"
    assert buckets[-1]["ending_at"] == "2026-11-11T00:00:00Z"
    res = [r for b in buckets for r in b["results"]]
    assert {r["workspace_id"] for r in res} == {"wrkspc_support", "wrkspc_research"}
    assert all(r["api_key_id"] is None and "ephemeral_5m_input_tokens" in r["cache_creation"]
               for r in res)
    assert sum(r["output_tokens"] for r in res) == \
        sum(r["output_tokens"] for r in _rows(api_dir, "anthropic_usage_messages"))
    pages = _walk(emu, "/v1/organizations/cost_report",
                  {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-11T00:00:00Z",
                   "group_by[]": ["workspace_id", "description"]}, _an(emu))
    res = [r for p in pages for b in p["data"] for r in b["results"]]
    assert all(isinstance(r["amount"], str) and r["currency"] == "USD" for r in res)
    assert {r["token_type"] for r in res if r["cost_type"] == "tokens"} >= {
        "uncached_input_tokens", "output_tokens", "cache_read_input_tokens"}
    cents = sum(float(r["amount"]) for r in res)
    assert cents == pytest.approx(sum(r["amount_cents"] for r in _rows(api_dir, "anthropic_costs")))
    flat = requests.get(emu.base_url + "/v1/organizations/cost_report",
                        params={"starting_at": "2026-11-01T00:00:00Z",
                                "ending_at": "2026-11-02T00:00:00Z"}, headers=_an(emu), timeout=10)
    (only,) = flat.json()["data"][0]["results"]
    assert only["description"] is None and only["model"] is None


def test_auth_and_bad_params(emu):
    u = emu.base_url
    r = requests.get(u + "/v1/organization/costs", params={"start_time": T0},
                     headers={"Authorization": "Bearer sk-wrong"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = requests.get(u + "/v1/organization/costs", params={"start_time": T0}, timeout=10)
    assert r.status_code == 401
    r = requests.get(u + "/v1/organizations/cost_report", params={"starting_at": "2026-11-01T00:00:00Z"},
                     headers={"x-api-key": "nope", "anthropic-version": "2023-06-01"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    # the OpenAI key does not open the Anthropic API
    r = requests.get(u + "/v1/organizations/cost_report", params={"starting_at": "2026-11-01T00:00:00Z"},
                     headers={"x-api-key": emu.openai_admin_key, "anthropic-version": "2023-06-01"},
                     timeout=10)
    assert r.status_code == 401
    for params in ({}, {"start_time": "yesterday"}, {"start_time": T0, "limit": 0},
                   {"start_time": T0, "limit": 32}, {"start_time": T0, "bucket_width": "1h"},
                   {"start_time": T0, "group_by": "colour"}, {"start_time": T0, "page": "garbage"},
                   {"start_time": T0, "end_time": T0 - 86400}):
        r = requests.get(u + "/v1/organization/usage/completions", params=params,
                         headers=_oa(emu), timeout=10)
        assert r.status_code == 400, params
        assert r.json()["error"]["message"]
    # a cursor from another query is rejected
    first = requests.get(u + "/v1/organization/usage/completions",
                         params={"start_time": T0, "end_time": T_END, "limit": 2},
                         headers=_oa(emu), timeout=10).json()
    r = requests.get(u + "/v1/organization/usage/completions",
                     params={"start_time": T0, "end_time": T_END, "limit": 2, "group_by": "model",
                             "page": first["next_page"]}, headers=_oa(emu), timeout=10)
    assert r.status_code == 400
    r = requests.get(u + "/v1/organizations/usage_report/messages",
                     params={"starting_at": "not-a-date"}, headers=_an(emu), timeout=10)
    assert r.status_code == 400 and r.json()["type"] == "error"
    r = requests.get(u + "/v1/organizations/usage_report/messages",
                     params={"starting_at": "2026-11-01T00:00:00Z"},
                     headers={"x-api-key": emu.anthropic_admin_key}, timeout=10)
    assert r.status_code == 400  # anthropic-version missing
    assert requests.get(u + "/v1/nothing", headers=_oa(emu), timeout=10).status_code == 404


def test_inject_faults_then_ok(emu):
    emu.inject("/v1/organization/costs", 429, times=2, retry_after=1)
    emu.inject("/v1/organizations/", 503, times=1)
    url = emu.base_url + "/v1/organization/costs"
    p = {"start_time": T0, "end_time": T0 + 86400}
    for _ in range(2):
        r = requests.get(url, params=p, headers=_oa(emu), timeout=10)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert requests.get(url, params=p, headers=_oa(emu), timeout=10).status_code == 200
    # other prefixes are untouched by the first fault; the second fires once
    an = emu.base_url + "/v1/organizations/cost_report"
    q = {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z"}
    r = requests.get(an, params=q, headers=_an(emu), timeout=10)
    assert r.status_code == 503 and "Retry-After" not in r.headers
    assert requests.get(an, params=q, headers=_an(emu), timeout=10).status_code == 200
    assert [s for _, s in emu.requests] == [429, 429, 200, 503, 200]


def test_standalone_process(api_dir):
    proc = subprocess.Popen([sys.executable, "-m", "demo.emulator", "--api-dir", str(api_dir),
                             "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        env = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(3))
        url = env["AISPEND_EMULATOR_URL"]
        r = requests.get(url + "/v1/organization/costs", params={"start_time": T0},
                         headers={"Authorization": f"Bearer {env['OPENAI_ADMIN_KEY']}"}, timeout=10)
        assert r.status_code == 200 and r.json()["data"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_openai_other_usage_endpoints_answer_empty_buckets_and_check_group_by(emu):
    for ep in ("embeddings", "images", "vector_stores", "code_interpreter_sessions"):
        pages = _walk(emu, f"/v1/organization/usage/{ep}",
                      {"start_time": T0, "end_time": T0 + 3 * 86400, "group_by": "project_id"}, _oa(emu))
        assert [b["results"] for p in pages for b in p["data"]] == [[], [], []], ep
    r = requests.get(emu.base_url + "/v1/organization/usage/vector_stores",
                     params={"start_time": T0, "group_by": "model"}, headers=_oa(emu), timeout=10)
    assert r.status_code == 400 and "group_by" in r.json()["error"]["message"]


def test_claude_code_report_pages_per_day(emu, api_dir):
    stored = [r for r in _rows(api_dir, "anthropic_claude_code") if r["day"] == "2026-11-03"]
    actors = {(r["actor_type"], r.get("email_address"), r.get("api_key_name")) for r in stored}
    pages = _walk(emu, "/v1/organizations/usage_report/claude_code", {"starting_at": "2026-11-03", "limit": 2},
                  _an(emu))
    records = [rec for p in pages for rec in p["data"]]
    assert len(pages) == -(-len(actors) // 2) and len(records) == len(actors) > 0
    assert all(rec["date"] == "2026-11-03T00:00:00Z" for rec in records)
    got = sum(m["tokens"]["input"] for rec in records for m in rec["model_breakdown"])
    assert got == sum(r["input_tokens"] for r in stored)
    assert {rec["actor"]["type"] for rec in records} <= {"user_actor", "api_actor"}


def test_inject_malformed_body_and_http_date_retry_after(emu):
    emu.inject("/v1/organization/costs", 200, body="<html>oops</html>")
    emu.inject("/v1/organization/costs", 429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    p = {"start_time": T0, "end_time": T0 + 86400}
    r1 = requests.get(emu.base_url + "/v1/organization/costs", params=p, headers=_oa(emu), timeout=10)
    assert r1.status_code == 200 and r1.text == "<html>oops</html>"
    r2 = requests.get(emu.base_url + "/v1/organization/costs", params=p, headers=_oa(emu), timeout=10)
    assert r2.status_code == 429 and r2.headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert requests.get(emu.base_url + "/v1/organization/costs", params=p, headers=_oa(emu),
                        timeout=10).status_code == 200
