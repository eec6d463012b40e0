"""A BigQuery v2 REST peer on loopback, answering the billing connector's queries from fixture rows.

It speaks what google-cloud-bigquery's `query_and_wait` really sends (found by running the
client against it): ``POST /bigquery/v2/projects/{p}/queries`` (jobs.query) answering the first
page; when a page token is returned, ``GET .../jobs/{id}`` (jobs.get) and
``GET .../queries/{id}?pageToken=`` (jobs.getQueryResults) for the rest. Rows are encoded the
way BigQuery does: ``{"f": [{"v": ...}]}``, RECORDs nested the same way, REPEATED fields as
``[{"v": ...}]``, scalars as strings, TIMESTAMPs as int64 microseconds when the client asks for
``formatOptions.useInt64Timestamp`` (it always does) and float seconds otherwise.

Queries are recognised by shape (the two the connector issues) and their named parameters are
applied, so the peer answers like a table would; anything else is a 400 ``invalidQuery``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def _f(name, typ="STRING", mode="NULLABLE", fields=None):
    d = {"name": name, "type": typ, "mode": mode}
    if fields:
        d["fields"] = fields
    return d


_KV = [_f("key"), _f("value")]
DETAILED_SCHEMA = [
    _f("billing_account_id"),
    _f("service", "RECORD", fields=[_f("id"), _f("description")]),
    _f("sku", "RECORD", fields=[_f("id"), _f("description")]),
    _f("usage_start_time", "TIMESTAMP"), _f("usage_end_time", "TIMESTAMP"),
    _f("project", "RECORD", fields=[_f("id"), _f("number"), _f("name"), _f("labels", "RECORD", "REPEATED", _KV),
                                    _f("ancestry_numbers")]),
    _f("labels", "RECORD", "REPEATED", _KV), _f("system_labels", "RECORD", "REPEATED", _KV),
    _f("location", "RECORD", fields=[_f("location"), _f("country"), _f("region"), _f("zone")]),
    _f("resource", "RECORD", fields=[_f("name"), _f("global_name")]),
    _f("tags", "RECORD", "REPEATED", [_f("key"), _f("value"), _f("inherited", "BOOLEAN"), _f("namespace")]),
    _f("price", "RECORD", fields=[_f("effective_price", "NUMERIC"), _f("tier_start_amount", "NUMERIC"),
                                  _f("unit"), _f("pricing_unit_quantity", "NUMERIC")]),
    _f("export_time", "TIMESTAMP"), _f("cost", "FLOAT"), _f("currency"), _f("currency_conversion_rate", "FLOAT"),
    _f("usage", "RECORD", fields=[_f("amount", "FLOAT"), _f("unit"), _f("amount_in_pricing_units", "FLOAT"),
                                  _f("pricing_unit")]),
    _f("credits", "RECORD", "REPEATED", [_f("name"), _f("amount", "FLOAT"), _f("full_name"), _f("id"), _f("type")]),
    _f("invoice", "RECORD", fields=[_f("month"), _f("publisher_type")]),
    _f("cost_type"),
    _f("adjustment_info", "RECORD", fields=[_f("id"), _f("description"), _f("mode"), _f("type")]),
    _f("cost_at_list", "FLOAT"), _f("transaction_type"), _f("seller_name"),
]
# the standard export has no resource-level or price fields
STANDARD_SCHEMA = [f for f in DETAILED_SCHEMA if f["name"] not in ("resource", "price", "cost_at_list")]
MONTHS_SCHEMA = [_f("invoice_month"), _f("max_export_time", "TIMESTAMP"), _f("row_count", "INTEGER")]

_MONTHS = re.compile(r"^SELECT invoice\.month AS invoice_month, MAX\(export_time\) AS max_export_time, "
                     r"COUNT\(\*\) AS row_count FROM `([^`]+)` GROUP BY invoice_month ORDER BY invoice_month$")
_ROWS = re.compile(r"^SELECT \* FROM `([^`]+)` WHERE invoice\.month = @invoice_month "
                   r"AND export_time > @after AND export_time <= @upto$")


def _ts_param(v: str) -> datetime:
    return datetime.fromisoformat(v.replace(" UTC", "+00:00").replace("Z", "+00:00"))


def _encode(value, field, int64_ts: bool):
    if field.get("mode") == "REPEATED":  # BigQuery never returns a null array: absent = []
        item = dict(field, mode="NULLABLE")
        return [{"v": _encode(v, item, int64_ts)} for v in value or []]
    if value is None:
        return None
    t = field["type"]
    if t == "RECORD":
        return {"f": [{"v": _encode(value.get(sub["name"]), sub, int64_ts)} for sub in field["fields"]]}
    if t == "TIMESTAMP":
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        micros = round(value.timestamp() * 1_000_000)
        return str(micros) if int64_ts else repr(micros / 1e6)
    if t == "BOOLEAN":
        return "true" if value else "false"
    return str(value)


class BigQueryPeer:
    """Tables are {"project.dataset.table": (schema, rows)}; rows are dicts in the export's shape."""

    def __init__(self):
        self.tables: dict[str, tuple[list, list[dict]]] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, JSON body or query params)
        self.fail: tuple[int, str, str] | None = None  # (status, reason, message) for every request
        self._jobs: dict[str, dict] = {}
        self._lock = threading.Lock()

    # --- introspection for tests
    def queries(self, kind: str) -> list[dict]:
        """Request bodies of jobs.query calls of one shape ('months' or 'rows')."""
        rx = _MONTHS if kind == "months" else _ROWS
        return [b for m, p, b in self.requests if m == "POST" and rx.match(b.get("query", ""))]

    def row_fetches(self) -> int:
        """jobs.query calls for rows + getQueryResults pages: every request that moves export rows."""
        return len(self.queries("rows")) + sum(1 for m, p, _ in self.requests if m == "GET" and "/queries/" in p)

    # --- query evaluation
    def _run(self, body: dict) -> tuple[int, dict]:
        q = body.get("query", "")
        params = {p["name"]: p["parameterValue"]["value"] for p in body.get("queryParameters", [])}
        m = _MONTHS.match(q) or _ROWS.match(q)
        if not m:
            return 400, _error(400, "invalidQuery", f"peer does not know this query: {q[:80]}")
        name = m.group(1)
        if name not in self.tables:
            proj, ds, tbl = name.split(".")
            return 404, _error(404, "notFound", f"Not found: Table {proj}:{ds}.{tbl} was not found in location US")
        schema, rows = self.tables[name]
        if m.re is _MONTHS:
            agg: dict[str, list] = {}
            for r in rows:
                a = agg.setdefault(r["invoice"]["month"], [None, 0])
                et = _ts_param(r["export_time"]) if isinstance(r["export_time"], str) else r["export_time"]
                a[0] = et if a[0] is None or et > a[0] else a[0]
                a[1] += 1
            out = [{"invoice_month": k, "max_export_time": v[0], "row_count": v[1]} for k, v in sorted(agg.items())]
            return 200, {"schema": MONTHS_SCHEMA, "rows": out}
        after, upto = _ts_param(params["after"]), _ts_param(params["upto"])
        out = [r for r in rows if r["invoice"]["month"] == params["invoice_month"]
               and after < (_ts_param(r["export_time"]) if isinstance(r["export_time"], str)
                            else r["export_time"]) <= upto]
        return 200, {"schema": schema, "rows": out}

    def _page(self, job_id: str, token: str | None, max_results: int | None, int64_ts: bool, project: str) -> dict:
        job = self._jobs[job_id]
        start = int(token or 0)
        size = max_results or job["page_size"] or 100_000
        chunk = job["rows"][start:start + size]
        fields = {"fields": job["schema"]}
        resp = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "schema": fields,
            "totalRows": str(len(job["rows"])),
            "rows": [_encode(r, {"type": "RECORD", "fields": job["schema"]}, int64_ts) for r in chunk],
            "jobComplete": True,
            "cacheHit": False,
        }
        if start + size < len(job["rows"]):
            resp["pageToken"] = str(start + size)
        return resp

    def handle(self, method: str, url: str, body: dict) -> tuple[int, dict]:
        u = urlparse(url)
        qs = {k: v[-1] for k, v in parse_qs(u.query).items()}
        with self._lock:
            self.requests.append((method, u.path, body if method == "POST" else qs))
        if self.fail:
            status, reason, message = self.fail
            return status, _error(status, reason, message)
        m = re.match(r"^/bigquery/v2/projects/([^/]+)/(queries|jobs)(?:/([^/]+))?$", u.path)
        if not m:
            return 404, _error(404, "notFound", f"peer: no route {method} {u.path}")
        project, kind, job_id = m.groups()
        if method == "POST" and kind == "queries" and not job_id:
            status, result = self._run(body)
            if status != 200:
                return status, result
            job_id = "job_" + uuid.uuid4().hex[:12]
            self._jobs[job_id] = dict(result, query=body.get("query"), page_size=body.get("maxResults"))
            int64_ts = bool(body.get("formatOptions", {}).get("useInt64Timestamp"))
            resp = self._page(job_id, None, body.get("maxResults"), int64_ts, project)
            resp["kind"] = "bigquery#queryResponse"
            return 200, resp
        if job_id not in self._jobs:
            return 404, _error(404, "notFound", f"Not found: Job {project}:US.{job_id}")
        if method == "GET" and kind == "queries":
            int64_ts = qs.get("formatOptions.useInt64Timestamp", "").lower() == "true"
            max_results = int(qs["maxResults"]) if qs.get("maxResults") else self._jobs[job_id]["page_size"]
            return 200, self._page(job_id, qs.get("pageToken"), max_results, int64_ts, project)
        if method == "GET" and kind == "jobs":
            job = self._jobs[job_id]
            return 200, {"kind": "bigquery#job", "id": f"{project}:US.{job_id}",
                         "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
                         "configuration": {"jobType": "QUERY", "query": {"query": job["query"], "useLegacySql": False}},
                         "status": {"state": "DONE"},
                         "statistics": {"creationTime": "0", "startTime": "0", "endTime": "0",
                                        "query": {"totalBytesProcessed": "0", "statementType": "SELECT"}}}
        return 404, _error(404, "notFound", f"peer: no route {method} {u.path}")


def _error(code: int, reason: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "errors": [{"message": message, "domain": "global",
                                                                    "reason": reason}],
                      "status": {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED",
                                 404: "NOT_FOUND"}.get(code, "UNKNOWN")}}


class serve:  # lowercase: used as a context manager: `with serve(peer) as url:`
    """Run `peer` on a loopback port; yields the base URL for ``client_options.api_endpoint``."""

    def __init__(self, peer: BigQueryPeer):
        self.peer = peer

    def __enter__(self) -> str:
        peer = self.peer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = json.loads(raw) if raw else {}
                status, resp = peer.handle(method, self.path, body)
                data = json.dumps(resp).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


UTC = timezone.utc
