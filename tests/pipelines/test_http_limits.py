"""Nothing waits for ever: misbehaving API peers on loopback, met through `aispend run`.

An earlier good load of source `oa` (the admin-API emulator, a real HTTP server) is in the raw
zone; then the same source points at a peer that (a) answers every page with a fresh cursor and
``has_more: true``, or (b) trickles its body one byte every 2 s. Before the limits, (a) ran for ever
(3,253 requests in 150 s and counting) and (b) never timed out (each byte reset the read timeout).
Now each run exits 1 with one line naming the URL and the limit, writes nothing from the source and
keeps the earlier partition byte for byte; small limits come from source options.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from demo.emulator import ApiEmulator
from pipelines.cli import main
from pipelines.definitions import build_definitions

KEY_ENV = "AISPEND_TEST_HTTP_LIMITS_KEY"
DAY = "2026-10-01"
USAGE = {"day": DAY, "project_id": "proj_l", "user_id": None, "api_key_id": "key_l", "model": "gpt-4o",
         "batch": False, "service_tier": "default", "input_tokens": 1000, "output_tokens": 10,
         "input_cached_tokens": 0, "num_model_requests": 1}


class BadPeer:
    """`endless`: every page has_more with a new cursor. `trickle`: a 200-byte body, a byte every 2 s."""

    def __init__(self, mode: str):
        self.mode, self.requests, self.stop = mode, 0, threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                peer.requests += 1
                if peer.mode == "endless":
                    body = json.dumps({"object": "page", "data": [], "has_more": True,
                                       "next_page": f"cursor-{peer.requests}"}).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Length", "200")
                self.end_headers()
                for _ in range(200):
                    if peer.stop.wait(2):
                        return
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def _lake(home: Path) -> dict[str, str]:
    """Every raw-zone data file of the openai tables (other sources, e.g. the price catalogue, load in each
    run; `_schema/` holds a run's empty schema stubs for dbt, no rows)."""
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for t in ("openai_usage", "openai_costs") for p in sorted((home / "lake" / "raw" / t).rglob("*"))
            if p.is_file() and "_schema" not in p.parts}


@pytest.fixture()
def loaded(tmp_path, monkeypatch):
    """A home whose raw zone holds a good load of source `oa` for DAY (usage and costs)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    api_dir = tmp_path / "api"
    api_dir.mkdir()
    (api_dir / "openai_usage_completions.jsonl").write_text(json.dumps(USAGE) + "\n")
    home = tmp_path / "home"
    with ApiEmulator(api_dir) as emu:
        monkeypatch.setenv(KEY_ENV, emu.openai_admin_key)
        cfg = tmp_path / "good.yaml"
        cfg.write_text(f"start_date: {DAY}\nsources:\n"
                       f"  - {{name: oa, type: openai, uri: '{emu.base_url}', admin_key_env: {KEY_ENV}, "
                       "usage_endpoints: [completions]}\n")
        defs = build_definitions(str(cfg), str(home))
        tables = [dg.AssetKey(["raw", "openai_usage"]), dg.AssetKey(["raw", "openai_costs"])]
        assert dg.materialize(list(defs.assets), selection=tables, resources=defs.resources,
                              partition_key=DAY).success
    before = _lake(home)
    assert {k.split("/")[2] for k in before} == {"openai_usage", "openai_costs"}, before
    return tmp_path, home, before


def _fails(loaded, mode: str, options: str, capsys) -> tuple[str, str, float, int]:
    """`aispend run` of source `oa` against a `mode` peer: it must exit 1, keep the earlier raw partitions
    byte for byte and publish nothing. Returns (peer url, stderr, seconds the run took, requests served)."""
    tmp_path, home, before = loaded
    peer = BadPeer(mode)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"start_date: {DAY}\nsources:\n"
                   f"  - {{name: oa, type: openai, uri: '{peer.base_url}', admin_key_env: {KEY_ENV}, "
                   f"usage_endpoints: [completions], refetch_days: 0, {options}}}\n")
    capsys.readouterr()
    t0 = time.monotonic()
    try:
        rc = main(["run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02"])
    finally:
        peer.close()
    took = time.monotonic() - t0
    assert rc == 1
    assert _lake(home) == before  # the earlier good partitions, byte for byte, and nothing new
    assert not (home / "warehouse" / "aispend.duckdb").exists()
    return peer.base_url, capsys.readouterr().err, took, peer.requests


def _step_line(err: str, table: str) -> str:
    # one step fetches all of a source's tables and commits them together: it stops at the first failure
    (line,) = [ln for ln in err.splitlines() if ln.startswith(f"  step raw__openai: {table}:")]
    return line


def _assert_usage_line(err: str, url: str, page: int, problem: str) -> None:
    """The one line for raw openai_usage: the source, the page's URL and `problem` (a regex)."""
    line = _step_line(err, "openai_usage")
    assert re.fullmatch(
        r"  step raw__openai: openai_usage: source 'oa' \(openai\): nothing written, previous data kept: "
        rf"openai: {re.escape(url)}/v1/organization/usage/completions\?\S+ \[page {page}\]: {problem}", line), line


@pytest.mark.faults("survived")
def test_endless_cursor_stops_at_the_window_page_cap(loaded, capsys):
    url, err, _took, requests = _fails(loaded, "endless", "max_pages: 1000", capsys)
    # the window 2026-10-01..2026-10-02 is 2 daily buckets: at most 2 pages + 1, then a clear stop
    _assert_usage_line(err, url, 3, r"still has_more after the page cap of 3 pages \(the window holds 2 "
                                    r"bucket\(s\) of 1d, at most one page each plus one\)")
    assert requests == 3  # 3 pages of usage, where the run used to go on for ever; costs not asked for


@pytest.mark.faults("survived")
def test_hard_page_cap_option_is_named_when_lower(loaded, capsys):
    _url, err, _took, _requests = _fails(loaded, "endless", "max_pages: 2", capsys)
    assert _step_line(err, "openai_usage").endswith(
        "[page 2]: still has_more after the page cap of 2 pages (the hard cap, option max_pages)")


@pytest.mark.faults("survived")
def test_trickled_body_fails_at_the_request_deadline(loaded, capsys):
    url, err, took, requests = _fails(loaded, "trickle", "request_deadline_s: 3", capsys)
    _assert_usage_line(err, url, 1, r"answer still arriving when the request deadline of 3s passed "
                                    r"\(option request_deadline_s\)")
    assert requests == 1  # one request, not retried (a 200-byte body would take 400 s); costs not asked for
    assert took < 60, took


@pytest.mark.faults("survived")
def test_a_hung_source_fails_at_its_deadline(loaded, capsys):
    # each request would be cut at 3 s; the source deadline (2 s) is shorter, so it is the one named
    _url, err, took, _requests = _fails(loaded, "trickle", "request_deadline_s: 3, deadline_s: 2", capsys)
    assert _step_line(err, "openai_usage").endswith(
        "[page 1]: answer still arriving when the source deadline of 2s passed (option deadline_s)")
    assert took < 60, took
