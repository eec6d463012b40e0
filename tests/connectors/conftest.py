"""A scriptable HTTP peer on loopback: each test queues the responses the server will give."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from moto_peer import moto_s3  # noqa: F401 (the S3 fixture, for every module here)


class Peer:
    def __init__(self):
        self.script: list[tuple[int, dict, str]] = []  # (status, headers, body)
        self.requests: list[tuple[str, dict]] = []  # (path with query, headers)

    def add(self, status: int, body, headers: dict | None = None):
        self.script.append((status, headers or {}, body if isinstance(body, str) else json.dumps(body)))


@pytest.fixture
def peer():
    p = Peer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            p.requests.append((self.path, dict(self.headers)))
            status, headers, body = p.script.pop(0) if p.script else (500, {}, "script exhausted")
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    p.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield p
    server.shutdown()
    server.server_close()
