"""Self-hosted model server request logs (vLLM-style JSON lines), one row per request.

Native line: ``request_id, arrival_time, finished_time`` (unix seconds, float), ``model``,
``prompt_tokens``, ``completion_tokens``, ``status``, ``host``, ``gpus`` (UUIDs serving it),
``headers`` (``x-task-id``, ``x-application`` propagated by the caller).
"""

from __future__ import annotations

import glob
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from connectors.errors import SourceError

SOURCE = "self_hosted_requests"
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {"self_hosted_requests": pa.schema([
    ("request_id", pa.string()), ("task_id", pa.string()), ("application", pa.string()), ("model", pa.string()),
    ("host", pa.string()), ("gpu_uuids", pa.string()), ("started_at", TS), ("finished_at", TS),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("status", pa.string()),
    ("_source_uri", pa.string())])}
PARTITION_TS_COLUMN = {"self_hosted_requests": "started_at"}


def _files(uri: str) -> list[str]:
    p = Path(uri)
    if p.is_dir():
        return sorted(str(f) for f in p.rglob("*.jsonl"))
    return [str(p)] if p.is_file() else sorted(glob.glob(uri))


def read_requests(uri: str, start: datetime, end: datetime) -> pa.Table:
    schema = SCHEMAS["self_hosted_requests"]
    lo, hi = start.timestamp(), end.timestamp()
    cols: dict[str, list] = {f.name: [] for f in schema}
    for f in _files(uri):
        with open(f, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    t0 = float(r["arrival_time"])
                    if not lo <= t0 < hi:
                        continue
                    h = r.get("headers") or {}
                    cols["request_id"].append(str(r["request_id"]))
                    cols["task_id"].append(h.get("x-task-id"))
                    cols["application"].append(h.get("x-application"))
                    cols["model"].append(r["model"])
                    cols["host"].append(r.get("host"))
                    cols["gpu_uuids"].append(json.dumps(r.get("gpus") or []))
                    cols["started_at"].append(datetime.fromtimestamp(t0, timezone.utc))
                    fin = r.get("finished_time")
                    cols["finished_at"].append(datetime.fromtimestamp(float(fin), timezone.utc) if fin is not None else None)
                    cols["prompt_tokens"].append(r.get("prompt_tokens"))
                    cols["completion_tokens"].append(r.get("completion_tokens"))
                    cols["status"].append(r.get("status"))
                    cols["_source_uri"].append(f)
                except (ValueError, KeyError, TypeError) as e:
                    raise SourceError(SOURCE, f"{f}:{n}", f"malformed request log line ({type(e).__name__}: {e})") from None
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)
