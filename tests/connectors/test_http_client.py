"""The shared HTTP client against a real HTTP server on loopback: retries, errors, pagination."""

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from connectors.errors import SourceError
from connectors.http import ApiClient, retry_after_seconds, safe_url

SECRET = "sk-admin-super-secret"


def client(peer, **kw):
    return ApiClient(peer.base_url, {"Authorization": f"Bearer {SECRET}"}, source="openai", backoff_base=0.01, **kw)


def test_429_with_retry_after_then_success(peer):
    peer.add(429, {"error": "slow down"}, {"Retry-After": "0"})
    peer.add(200, {"ok": 1})
    body, url = client(peer).get_json("/v1/x", [("a", "1")])
    assert body == {"ok": 1}
    assert len(peer.requests) == 2
    assert url == f"{peer.base_url}/v1/x?a=1"
    assert peer.requests[0][1]["Authorization"] == f"Bearer {SECRET}"


def test_500_then_success(peer):
    peer.add(500, "boom")
    peer.add(502, "bad gateway")
    peer.add(200, {"ok": 2})
    assert client(peer).get_json("/v1/x", {})[0] == {"ok": 2}
    assert len(peer.requests) == 3


def test_persistent_503_gives_up_naming_url_never_the_key(peer):
    for _ in range(4):
        peer.add(503, "unavailable")
    with pytest.raises(SourceError) as e:
        client(peer, max_retries=3).get_json("/v1/organization/costs", [("start_time", "1")])
    msg = str(e.value)
    assert msg.startswith(f"openai: {peer.base_url}/v1/organization/costs?start_time=1: HTTP 503 after 4 attempts")
    assert SECRET not in msg
    assert len(peer.requests) == 4


def test_400_fails_at_once(peer):
    peer.add(400, {"error": {"message": "bad group_by"}})
    with pytest.raises(SourceError, match="HTTP 400: .*bad group_by"):
        client(peer).get_json("/v1/x", {})
    assert len(peer.requests) == 1


def test_non_json_body(peer):
    peer.add(200, "<html>login</html>")
    with pytest.raises(SourceError, match="response is not JSON"):
        client(peer).get_json("/v1/x", {})


def test_connection_refused_is_a_source_error():
    c = ApiClient("http://127.0.0.1:9", {}, source="anthropic", max_retries=1, backoff_base=0.01, timeout=2)
    with pytest.raises(SourceError, match=r"anthropic: http://127.0.0.1:9/v1/x: connection failed .* after 2 attempts"):
        c.get_json("/v1/x", {})


def test_pagination_follows_cursor_until_has_more_false(peer):
    peer.add(200, {"data": [1], "has_more": True, "next_page": "c1"})
    peer.add(200, {"data": [2], "has_more": True, "next_page": "c2"})
    peer.add(200, {"data": [3], "has_more": False, "next_page": None})
    pages = [p["data"][0] for p, _ in client(peer).paginate("/v1/x", [("limit", "1")])]
    assert pages == [1, 2, 3]
    assert [r[0] for r in peer.requests] == ["/v1/x?limit=1", "/v1/x?limit=1&page=c1", "/v1/x?limit=1&page=c2"]


def test_repeated_cursor_is_an_error(peer):
    peer.add(200, {"data": [], "has_more": True, "next_page": "same"})
    peer.add(200, {"data": [], "has_more": True, "next_page": "same"})
    with pytest.raises(SourceError, match="pagination loop"):
        list(client(peer).paginate("/v1/x", []))


def test_safe_url_strips_secret_params():
    assert safe_url("https://h/p?api_key=abc&day=1&token=t") == "https://h/p?day=1"


def test_retry_after_is_honoured(peer):
    peer.add(429, "slow", {"Retry-After": "1"})
    peer.add(200, {"ok": 3})
    t0 = time.monotonic()
    assert client(peer).get_json("/v1/x", {})[0] == {"ok": 3}
    assert time.monotonic() - t0 >= 0.9  # waited what the server asked, not the 0.01 s backoff


def test_retry_after_formats():
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 30


def test_persistent_500_error_never_echoes_the_key(peer):
    """Even when the peer echoes our Authorization header in its error body."""
    for _ in range(3):
        peer.add(500, f"internal error for Bearer {SECRET}")
    with pytest.raises(SourceError) as e:
        client(peer, max_retries=2).get_json("/v1/organization/usage/completions", {"start_time": "1"})
    msg = str(e.value)
    assert e.value.source == "openai" and e.value.status == 500
    assert e.value.where == f"{peer.base_url}/v1/organization/usage/completions?start_time=1"
    assert "HTTP 500 after 3 attempts" in msg and SECRET not in msg and "***" in msg


# --- limits: nothing waits for ever (the aispend-run cases are in tests/pipelines/test_http_limits.py) ---
def test_retry_after_beyond_the_deadline_fails_at_once_naming_it(peer):
    peer.add(429, {"error": "slow down"}, {"Retry-After": "20"})
    slept = []
    with pytest.raises(SourceError) as e:
        client(peer, deadline=5, sleep=slept.append).get_json("/v1/x", {})
    assert slept == [] and len(peer.requests) == 1
    assert str(e.value).startswith(f"openai: {peer.base_url}/v1/x: HTTP 429 (Retry-After: 20); the retry wait of "
                                   "20.0s is beyond the ")
    assert str(e.value).endswith("s left of the source deadline of 5s (option deadline_s)")


def test_retries_stop_when_the_deadline_has_passed(peer):
    for _ in range(6):
        peer.add(503, "unavailable", {"Retry-After": "0.2"})
    with pytest.raises(SourceError) as e:
        client(peer, deadline=0.5).get_json("/v1/x", {})
    # the waits count against the deadline: 0.5 s holds two waits of 0.2 s, not the five retries allowed
    assert len(peer.requests) == 3
    assert str(e.value).startswith(f"openai: {peer.base_url}/v1/x: HTTP 503 (Retry-After: 0.2); the retry wait of "
                                   "0.2s is beyond the 0.")
    assert str(e.value).endswith("s left of the source deadline of 0.5s (option deadline_s)")


def test_page_cap_from_the_caller_and_the_hard_cap(peer):
    for i in range(4):
        peer.add(200, {"data": [], "has_more": True, "next_page": f"c{i}"})
    pages = client(peer).paginate("/v1/p", {}, max_pages=3, why="3 buckets")
    with pytest.raises(SourceError) as e:
        list(pages)
    assert str(e.value) == (f"openai: {peer.base_url}/v1/p?page=c1 [page 3]: still has_more after the page cap of "
                            "3 pages (3 buckets)")
    peer.script.clear()
    for i in range(4):
        peer.add(200, {"data": [], "has_more": True, "next_page": f"d{i}"})
    with pytest.raises(SourceError) as e:
        list(client(peer, max_pages=2).paginate("/v1/p", {}, max_pages=3, why="3 buckets"))
    assert str(e.value).endswith("[page 2]: still has_more after the page cap of 2 pages (the hard cap, option "
                                 "max_pages)")
