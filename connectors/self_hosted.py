"""Self-hosted model server request logs (vLLM-style JSON lines), one row per request.

Native line: ``request_id, arrival_time, finished_time`` (unix seconds, float), ``model``,
``prompt_tokens``, ``completion_tokens``, ``status``, ``host``, ``gpus`` (UUIDs serving it),
``headers`` (``x-task-id``, ``x-application`` propagated by the caller).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa

from connectors._files import json_lines, list_files
from connectors.errors import SourceError

SOURCE = "self_hosted_requests"
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {"self_hosted_requests": pa.schema([
    ("request_id", pa.string()), ("task_id", pa.string()), ("application", pa.string()), ("model", pa.string()),
    ("host", pa.string()), ("gpu_uuids", pa.string()), ("started_at", TS), ("finished_at", TS),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("status", pa.string()),
    ("_source_uri", pa.string())])}
PARTITION_TS_COLUMN = {"self_hosted_requests": "started_at"}


def read_requests(uri: str, start: datetime, end: datetime) -> pa.Table:
    """Requests that arrived in [start, end), from a directory, file or glob (``self_hosted_requests``).

    A line that is not JSON or lacks ``request_id``/``arrival_time``/``model`` raises SourceError
    naming ``<file>:<line>``.
    """
    schema = SCHEMAS["self_hosted_requests"]
    lo, hi = start.timestamp(), end.timestamp()
    cols: dict[str, list] = {f.name: [] for f in schema}
    files = list_files(uri, (".jsonl",))
    if not files:  # a wrong path must not look like a quiet day
        raise SourceError(SOURCE, uri, "no request log files found")
    for f, n, r in json_lines(SOURCE, files, "request log line"):
        try:
            t0 = float(r["arrival_time"])
            if not lo <= t0 < hi:
                continue
            h = r.get("headers") or {}
            fin = r.get("finished_time")
            row = {"request_id": str(r["request_id"]), "task_id": h.get("x-task-id"),
                   "application": h.get("x-application"), "model": r["model"], "host": r.get("host"),
                   "gpu_uuids": json.dumps(r.get("gpus") or []),
                   "started_at": datetime.fromtimestamp(t0, timezone.utc),
                   "finished_at": datetime.fromtimestamp(float(fin), timezone.utc) if fin is not None else None,
                   "prompt_tokens": r.get("prompt_tokens"), "completion_tokens": r.get("completion_tokens"),
                   "status": r.get("status"), "_source_uri": f}
        except (ValueError, KeyError, TypeError) as e:
            raise SourceError(SOURCE, f"{f}:{n}", f"malformed request log line ({type(e).__name__}: {e})") from None
        for k, v in row.items():  # appended only once the whole line parsed: columns stay aligned
            cols[k].append(v)
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)
