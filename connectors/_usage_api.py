"""Shared reader for bucketed admin usage/cost APIs (OpenAI, Anthropic): the providers differ
only in the data passed in — endpoint, parameter names, how a bucket's bounds are written, and
a map from our column names to dotted paths inside each result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from connectors.http import ApiClient

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Endpoint:
    path: str
    # (param name, value) pairs sent on every request, e.g. bucket width and group_by dimensions
    fixed_params: tuple[tuple[str, str], ...]
    start_param: str
    end_param: str
    time_format: str  # "unix" | "rfc3339"
    bucket_start: str
    bucket_end: str
    fields: dict[str, str]  # column -> dotted path in a result


def _fmt(t: datetime, kind: str) -> str:
    if kind == "unix":
        return str(int(t.timestamp()))
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(v: Any, kind: str) -> datetime:
    if kind == "unix":
        return datetime.fromtimestamp(int(v), tz=timezone.utc)
    return datetime.fromisoformat(str(v).replace("Z", "+00:00")).astimezone(timezone.utc)


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def fetch(client: ApiClient, ep: Endpoint, schema: pa.Schema, start: datetime, end: datetime) -> pa.Table:
    """Every bucket in [start, end), one row per result, columns exactly `schema`."""
    params = [(ep.start_param, _fmt(start, ep.time_format)), (ep.end_param, _fmt(end, ep.time_format)),
              *ep.fixed_params]
    cols: dict[str, list] = {f.name: [] for f in schema}
    for page, url in client.paginate(ep.path, params):
        for bucket in page.get("data") or []:
            b_start = _parse_time(bucket[ep.bucket_start], ep.time_format)
            b_end = _parse_time(bucket[ep.bucket_end], ep.time_format)
            for result in bucket.get("results") or []:
                for name, path in ep.fields.items():
                    cols[name].append(_dig(result, path))
                cols[ep.bucket_start].append(b_start)
                cols[ep.bucket_end].append(b_end)
                cols["_source_uri"].append(url)
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)
