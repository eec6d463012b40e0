"""Local emulator of the OpenAI and Anthropic organisation usage / cost admin APIs.

Serves the data `demo.generate()` stored under ``<out>/api/`` over real HTTP (stdlib
`ThreadingHTTPServer` on 127.0.0.1), so the connectors and the shared HTTP client are tested
against a protocol peer: auth headers, query parameters, daily buckets, group_by aggregation,
opaque-cursor pagination, error bodies and (through `inject`) throttling / server errors.

Endpoints (contracts.md §Emulator):
- ``GET /v1/organization/usage/completions``  OpenAI; ``Authorization: Bearer <admin key>``
- ``GET /v1/organization/usage/{embeddings,moderations,images,audio_speeches,audio_transcriptions,
  vector_stores,code_interpreter_sessions,file_search_calls,web_search_calls}``  OpenAI; served from
  ``openai_usage_<endpoint>.jsonl`` when the demo (or a test) wrote one, else empty buckets;
  per-endpoint group_by values as the real API; a metric no stored row carries is left out of
  the results (an older API version's answer)
- ``GET /v1/organization/costs``              OpenAI (a stored ``line_item`` / ``project_id`` of
  null is served as null, as in the documented ungrouped example)
- ``GET /v1/organizations/usage_report/messages``  Anthropic; ``x-api-key`` +
  ``anthropic-version: 2023-06-01``
- ``GET /v1/organizations/cost_report``       Anthropic
- ``GET /v1/organizations/usage_report/claude_code``  Anthropic; one day per request
  (``starting_at=YYYY-MM-DD``), records per actor with a ``model_breakdown``; ``limit`` records
  per page (default 20, max 1000), from ``anthropic_claude_code.jsonl``

Behaviour worth knowing:
- Only ``bucket_width=1d`` is served (the stored data is daily); others -> 400.
- Buckets are UTC days; a start that is not midnight is floored to its day. Days without
  data are returned as buckets with empty results (as the real APIs do).
- ``limit`` = buckets per page: default 7, max 31 (OpenAI costs: max 180). ``next_page`` is
  an opaque base64 cursor bound to the query; a cursor from another query -> 400.
- group_by: repeatable or comma separated (``group_by=a&group_by=b`` or ``group_by=a,b``;
  Anthropic also ``group_by[]=a``). Fields not grouped on are null; amounts are summed.
- Filters: OpenAI ``project_ids``, ``models``, ``api_key_ids``; Anthropic ``workspace_ids[]``,
  ``models[]``, ``api_key_ids[]``.
- Anthropic cost_report ``amount`` is a decimal string in cents; the parsed fields (model,
  cost_type, token_type, service_tier, context_window) are set only when grouping by
  description, as in the real API.

Run standalone (e.g. for `make dev`): ``python -m demo.emulator --api-dir DIR --port N``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import signal
import threading
from collections import defaultdict
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

OPENAI_ADMIN_KEY = "sk-admin-aispend-demo-0000000000000000"
ANTHROPIC_ADMIN_KEY = "sk-ant-admin01-aispend-demo-000000000000"
OPENAI_ORG = "org-aispenddemo0001"
ANTHROPIC_ORG = "12345678-aaaa-bbbb-cccc-aispenddemo01"
ANTHROPIC_VERSION = "2023-06-01"
DAY = 86400


class BadRequest(Exception):
    pass


def _load(api_dir: Path, name: str) -> dict[int, list[dict]]:
    """Rows of one dataset keyed by the unix start of their UTC day."""
    by_day: dict[int, list[dict]] = defaultdict(list)
    path = api_dir / f"{name}.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            if line:
                row = json.loads(line)
                d = datetime.fromisoformat(row["day"]).replace(tzinfo=timezone.utc)
                by_day[int(d.timestamp())].append(row)
    return dict(by_day)


def _rfc3339(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_rfc3339(value: str, name: str) -> int:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an RFC 3339 timestamp: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())


def _int(q: dict, name: str, default: int | None = None) -> int | None:
    vals = q.get(name)
    if not vals:
        return default
    try:
        return int(vals[-1])
    except ValueError:
        raise BadRequest(f"{name}: not an integer: {vals[-1]!r}") from None


def _multi(q: dict, name: str) -> list[str]:
    """A repeatable parameter: name=a&name=b, name=a,b, or name[]=a."""
    out: list[str] = []
    for key in (name, f"{name}[]"):
        for v in q.get(key, []):
            out += [x for x in v.split(",") if x]
    return out


def _aggregate(rows: list[dict], group_by: list[str], groupable: list[str],
               sums: list[str]) -> list[dict]:
    groups: dict[tuple, dict] = {}
    for r in rows:
        key = tuple(r.get(g) for g in group_by)
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = {f: (r.get(f) if f in group_by else None) for f in groupable}
        for s in sums:
            if s in r:
                acc[s] = acc.get(s, 0) + r[s]
    return list(groups.values())


class ApiEmulator:
    """OpenAI + Anthropic admin API emulator over `api_dir` (see module docstring).

    Use as a context manager; `base_url`, `openai_admin_key`, `anthropic_admin_key`.
    `inject(path_prefix, status, times, retry_after=None, body=None)` makes the next `times`
    requests whose path starts with `path_prefix` answer `status` (then it serves normally);
    `body` (text) replaces the error body, e.g. a malformed 200 page. `replace_day(name, day,
    rows)` swaps one day's stored rows (a provider finalising a bucket late).
    `requests` lists the (path, status) of every request served, for assertions.
    """

    def __init__(self, api_dir: Path | str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_dir = Path(api_dir)
        self.openai_admin_key = OPENAI_ADMIN_KEY
        self.anthropic_admin_key = ANTHROPIC_ADMIN_KEY
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._faults: list[list] = []
        self.requests: list[tuple[str, int]] = []
        self.data = {name: _load(self.api_dir, name) for name in (
            *(f"openai_usage_{e}" for e in OPENAI_USAGE), "openai_costs", "anthropic_usage_messages",
            "anthropic_costs", "anthropic_claude_code")}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "ApiEmulator":
        handler = type("Handler", (_Handler,), {"emu": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="aispend-api-emulator")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "ApiEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # -- fault injection ---------------------------------------------------------------
    def inject(self, path_prefix: str, status: int, times: int = 1,
               retry_after: float | str | None = None, body: str | None = None) -> None:
        with self._lock:
            self._faults.append([path_prefix, status, times, retry_after, body])

    def _take_fault(self, path: str) -> tuple[int, float | str | None, str | None] | None:
        with self._lock:
            for f in self._faults:
                if path.startswith(f[0]) and f[2] > 0:
                    f[2] -= 1
                    return f[1], f[3], f[4]
        return None

    def replace_day(self, name: str, day: str, rows: list[dict]) -> None:
        """Serve `rows` (demo row format, each with ``day``) for one UTC day of dataset `name`."""
        d = int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp())
        with self._lock:
            self.data[name][d] = rows

    # -- endpoint logic (pure: query dict -> response dict) -------------------------------
    def _buckets(self, start: int, end: int | None, limit: int, cursor: str | None,
                 qsig: str) -> tuple[list[int], str | None]:
        start -= start % DAY
        if end is None:  # default: up to the last day we have data for
            last = max((max(d) for d in self.data.values() if d), default=start)
            end = last + DAY
        if end <= start:
            raise BadRequest("end must be after start")
        if cursor:
            try:
                c = json.loads(base64.urlsafe_b64decode(cursor.encode()))
                pos, sig = int(c["p"]), c["q"]
            except Exception:
                raise BadRequest("page: invalid cursor") from None
            if sig != qsig or not start <= pos < end:
                raise BadRequest("page: cursor does not belong to this query")
            start = pos
        days = list(range(start, end, DAY))
        page, rest = days[:limit], days[limit:]
        nxt = None
        if rest:
            nxt = base64.urlsafe_b64encode(
                json.dumps({"p": rest[0], "q": qsig}).encode()).decode()
        return page, nxt

    @staticmethod
    def _qsig(q: dict) -> str:
        items = sorted((k, v) for k, vs in q.items() if k != "page" for v in vs)
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]

    @staticmethod
    def _limit(q: dict, maximum: int) -> int:
        limit = _int(q, "limit", 7)
        if not 1 <= limit <= maximum:
            raise BadRequest(f"limit: must be between 1 and {maximum}")
        return limit

    @staticmethod
    def _bucket_width(q: dict) -> None:
        bw = (q.get("bucket_width") or ["1d"])[-1]
        if bw != "1d":
            raise BadRequest(f"bucket_width: only '1d' is served by the emulator, got {bw!r}")

    @staticmethod
    def _group_by(q: dict, allowed: list[str]) -> list[str]:
        gb = _multi(q, "group_by")
        bad = [g for g in gb if g not in allowed]
        if bad:
            raise BadRequest(f"group_by: unsupported value(s) {bad}; allowed: {allowed}")
        return [g for g in allowed if g in gb]

    def openai_usage(self, q: dict, endpoint: str = "completions") -> dict:
        self._bucket_width(q)
        start = _int(q, "start_time")
        if start is None:
            raise BadRequest("start_time: required")
        limit = self._limit(q, 31)
        groupable, sums, obj = OPENAI_USAGE[endpoint]
        gb = self._group_by(q, groupable)
        filters = {"project_id": _multi(q, "project_ids"), "model": _multi(q, "models"),
                   "api_key_id": _multi(q, "api_key_ids"), "user_id": _multi(q, "user_ids")}
        filters = {k: v for k, v in filters.items() if k in groupable}
        days, nxt = self._buckets(start, _int(q, "end_time"), limit,
                                  (q.get("page") or [None])[-1], self._qsig(q))
        data = []
        for d in days:
            rows = [r for r in self.data[f"openai_usage_{endpoint}"].get(d, [])
                    if all(not v or r[k] in v for k, v in filters.items())]
            results = [{"object": f"organization.usage.{obj}.result", **res}
                       for res in _aggregate(rows, gb, groupable, sums)]
            data.append({"object": "bucket", "start_time": d, "end_time": d + DAY,
                         "results": results})
        return {"object": "page", "data": data, "has_more": nxt is not None, "next_page": nxt}

    def openai_costs(self, q: dict) -> dict:
        self._bucket_width(q)
        start = _int(q, "start_time")
        if start is None:
            raise BadRequest("start_time: required")
        limit = self._limit(q, 180)
        groupable = ["project_id", "line_item"]
        gb = self._group_by(q, groupable)
        projects = _multi(q, "project_ids")
        days, nxt = self._buckets(start, _int(q, "end_time"), limit,
                                  (q.get("page") or [None])[-1], self._qsig(q))
        data = []
        for d in days:
            rows = [r for r in self.data["openai_costs"].get(d, [])
                    if not projects or r["project_id"] in projects]
            results = [{"object": "organization.costs.result",
                        "amount": {"value": round(a["amount_usd"], 10), "currency": "usd"},
                        "line_item": a["line_item"], "project_id": a["project_id"],
                        "organization_id": OPENAI_ORG}
                       for a in _aggregate(rows, gb, groupable, ["amount_usd"])]
            data.append({"object": "bucket", "start_time": d, "end_time": d + DAY,
                         "results": results})
        return {"object": "page", "data": data, "has_more": nxt is not None, "next_page": nxt}

    def _anthropic_window(self, q: dict) -> tuple[int, int | None]:
        if not q.get("starting_at"):
            raise BadRequest("starting_at: required")
        start = _parse_rfc3339(q["starting_at"][-1], "starting_at")
        end = (_parse_rfc3339(q["ending_at"][-1], "ending_at") if q.get("ending_at") else None)
        return start, end

    def anthropic_usage(self, q: dict) -> dict:
        self._bucket_width(q)
        start, end = self._anthropic_window(q)
        limit = self._limit(q, 31)
        groupable = ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
        gb = self._group_by(q, groupable)
        filters = {"workspace_id": _multi(q, "workspace_ids"), "model": _multi(q, "models"),
                   "api_key_id": _multi(q, "api_key_ids")}
        days, nxt = self._buckets(start, end, limit, (q.get("page") or [None])[-1],
                                  self._qsig(q))
        sums = ["uncached_input_tokens", "cache_read_input_tokens",
                "cache_creation_ephemeral_5m_input_tokens",
                "cache_creation_ephemeral_1h_input_tokens", "output_tokens",
                "web_search_requests"]
        data = []
        for d in days:
            rows = [r for r in self.data["anthropic_usage_messages"].get(d, [])
                    if all(not v or r[k] in v for k, v in filters.items())]
            results = []
            for a in _aggregate(rows, gb, groupable, sums):
                results.append({
                    "uncached_input_tokens": a["uncached_input_tokens"],
                    "cache_read_input_tokens": a["cache_read_input_tokens"],
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": a["cache_creation_ephemeral_1h_input_tokens"],
                        "ephemeral_5m_input_tokens": a["cache_creation_ephemeral_5m_input_tokens"]},
                    "output_tokens": a["output_tokens"],
                    "server_tool_use": {"web_search_requests": a["web_search_requests"]},
                    **{g: a[g] for g in groupable},
                })
            data.append({"starting_at": _rfc3339(d), "ending_at": _rfc3339(d + DAY),
                         "results": results})
        return {"data": data, "has_more": nxt is not None, "next_page": nxt}

    def anthropic_costs(self, q: dict) -> dict:
        self._bucket_width(q)
        start, end = self._anthropic_window(q)
        limit = self._limit(q, 31)
        gb = self._group_by(q, ["workspace_id", "description"])
        parsed = ["cost_type", "model", "service_tier", "context_window", "token_type"]
        # grouping by description also splits by (and reports) the parsed fields
        key_fields = gb + (parsed if "description" in gb else [])
        groupable = ["workspace_id", "description"] + parsed
        workspaces = _multi(q, "workspace_ids")
        days, nxt = self._buckets(start, end, limit, (q.get("page") or [None])[-1],
                                  self._qsig(q))
        data = []
        for d in days:
            rows = [r for r in self.data["anthropic_costs"].get(d, [])
                    if not workspaces or r["workspace_id"] in workspaces]
            results = [{"currency": "USD", "amount": f"{a['amount_cents']:.6f}".rstrip("0")
                        .rstrip("."), **{g: a[g] for g in groupable}}
                       for a in _aggregate(rows, key_fields, groupable, ["amount_cents"])]
            data.append({"starting_at": _rfc3339(d), "ending_at": _rfc3339(d + DAY),
                         "results": results})
        return {"data": data, "has_more": nxt is not None, "next_page": nxt}


    def anthropic_claude_code(self, q: dict) -> dict:
        """One day's records per actor (the real API is not bucketed); cursor = record offset."""
        if not q.get("starting_at"):
            raise BadRequest("starting_at: required")
        day_s = q["starting_at"][-1]
        try:
            d = int(datetime.strptime(day_s, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp())
        except ValueError:
            raise BadRequest(f"starting_at: not a YYYY-MM-DD date: {day_s!r}") from None
        limit = _int(q, "limit", 20)
        if not 1 <= limit <= 1000:
            raise BadRequest("limit: must be between 1 and 1000")
        actors: dict[tuple, dict] = {}
        for r in self.data["anthropic_claude_code"].get(d, []):
            key = (r["actor_type"], r.get("email_address"), r.get("api_key_name"), r["terminal_type"])
            rec = actors.get(key)
            if rec is None:
                actor = ({"type": "user_actor", "email_address": r["email_address"]}
                         if r["actor_type"] == "user_actor" else
                         {"type": "api_actor", "api_key_name": r["api_key_name"]})
                rec = actors[key] = {
                    "date": _rfc3339(d), "actor": actor, "organization_id": ANTHROPIC_ORG,
                    "customer_type": r["customer_type"], "terminal_type": r["terminal_type"],
                    "core_metrics": {"num_sessions": r["num_sessions"],
                                     "lines_of_code": {"added": r["lines_added"], "removed": r["lines_removed"]},
                                     "commits_by_claude_code": r["commits"],
                                     "pull_requests_by_claude_code": r["pull_requests"]},
                    "tool_actions": {}, "model_breakdown": []}
                if r["customer_type"] == "subscription":
                    rec["subscription_type"] = r.get("subscription_type")
            rec["model_breakdown"].append({
                "model": r["model"],
                "tokens": {"input": r["input_tokens"], "output": r["output_tokens"],
                           "cache_read": r["cache_read_tokens"], "cache_creation": r["cache_creation_tokens"]},
                "estimated_cost": {"currency": "USD", "amount": r["estimated_cost_cents"]}})
        records = list(actors.values())
        qsig = self._qsig(q)
        offset = 0
        cursor = (q.get("page") or [None])[-1]
        if cursor:
            try:
                c = json.loads(base64.urlsafe_b64decode(cursor.encode()))
                offset, sig = int(c["o"]), c["q"]
            except Exception:
                raise BadRequest("page: invalid cursor") from None
            if sig != qsig:
                raise BadRequest("page: cursor does not belong to this query")
        page = records[offset:offset + limit]
        nxt = None
        if offset + limit < len(records):
            nxt = base64.urlsafe_b64encode(json.dumps({"o": offset + limit, "q": qsig}).encode()).decode()
        return {"data": page, "has_more": nxt is not None, "next_page": nxt}


# OpenAI usage endpoint -> (group_by values it accepts, summed metrics, result object name)
_OA_DIMS = ["project_id", "user_id", "api_key_id", "model"]
OPENAI_USAGE = {
    "completions": (_OA_DIMS + ["batch", "service_tier"],
                    ["input_tokens", "output_tokens", "input_cached_tokens", "input_cache_write_tokens",
                     "input_uncached_tokens", "input_audio_tokens", "output_audio_tokens", "num_model_requests"],
                    "completions"),
    "embeddings": (_OA_DIMS, ["input_tokens", "num_model_requests"], "embeddings"),
    "moderations": (_OA_DIMS, ["input_tokens", "num_model_requests"], "moderations"),
    "images": (_OA_DIMS + ["size", "source"], ["images", "num_model_requests"], "images"),
    "audio_speeches": (_OA_DIMS, ["characters", "num_model_requests"], "audio_speeches"),
    "audio_transcriptions": (_OA_DIMS, ["seconds", "num_model_requests"], "audio_transcriptions"),
    "vector_stores": (["project_id"], ["usage_bytes"], "vector_stores"),
    "code_interpreter_sessions": (["project_id"], ["num_sessions"], "code_interpreter_sessions"),
    "file_search_calls": (["project_id", "user_id", "api_key_id", "vector_store_id"], ["num_requests"],
                          "file_searches"),
    "web_search_calls": (_OA_DIMS, ["num_requests", "num_model_requests"], "web_searches"),
}

ROUTES = {
    **{f"/v1/organization/usage/{e}": ("openai", "openai_usage", e) for e in OPENAI_USAGE},
    "/v1/organization/costs": ("openai", "openai_costs"),
    "/v1/organizations/usage_report/messages": ("anthropic", "anthropic_usage"),
    "/v1/organizations/cost_report": ("anthropic", "anthropic_costs"),
    "/v1/organizations/usage_report/claude_code": ("anthropic", "anthropic_claude_code"),
}


def _error_body(flavour: str, status: int, message: str) -> dict:
    if flavour == "anthropic":
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
    kind = {429: "requests", 400: "invalid_request_error", 401: "invalid_request_error"}.get(
        status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    emu: ApiEmulator
    protocol_version = "HTTP/1.1"
    server_version = "aispend-emulator/0.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        self._send_raw(status, json.dumps(body, separators=(",", ":")).encode(), headers)

    def _send_raw(self, status: int, raw: bytes, headers: dict | None = None) -> None:
        with self.emu._lock:  # record before replying, so a client sees it in order
            self.emu.requests.append((self.path.split("?")[0], status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        route = ROUTES.get(parts.path.rstrip("/"))
        flavour = route[0] if route else "openai"
        fault = self.emu._take_fault(parts.path)
        if fault:
            status, retry_after, body = fault
            hdrs = {}
            if retry_after is not None:  # seconds, or an HTTP date given as text
                hdrs["Retry-After"] = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
            if body is not None:
                self._send_raw(status, body.encode(), hdrs)
            else:
                self._send(status, _error_body(flavour, status, f"injected fault {status}"), hdrs)
            return
        if route is None:
            self._send(404, _error_body(flavour, 404, f"unknown path {parts.path}"))
            return
        if flavour == "openai":
            if self.headers.get("Authorization") != f"Bearer {self.emu.openai_admin_key}":
                self._send(401, _error_body(flavour, 401, "Incorrect API key provided."))
                return
        else:
            if self.headers.get("x-api-key") != self.emu.anthropic_admin_key:
                self._send(401, _error_body(flavour, 401, "invalid x-api-key"))
                return
            if not self.headers.get("anthropic-version"):
                self._send(400, _error_body(flavour, 400, "anthropic-version header is required"))
                return
        q = parse_qs(parts.query, keep_blank_values=True)
        try:
            body = getattr(self.emu, route[1])(q, *route[2:])
        except BadRequest as e:
            self._send(400, _error_body(flavour, 400, str(e)))
            return
        self._send(200, body)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m demo.emulator", description=__doc__.split("\n")[0])
    ap.add_argument("--api-dir", required=True, type=Path, help="<demo out>/api")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = a free port")
    args = ap.parse_args(argv)
    emu = ApiEmulator(args.api_dir, host=args.host, port=args.port).start()
    print(f"AISPEND_EMULATOR_URL={emu.base_url}")
    print(f"OPENAI_ADMIN_KEY={emu.openai_admin_key}")
    print(f"ANTHROPIC_ADMIN_KEY={emu.anthropic_admin_key}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
