"""Shared reader for bucketed admin usage/cost APIs (OpenAI, Anthropic).

The providers differ only in the data passed in — endpoint, parameter names, how a bucket's
bounds are written, and a map from our column names to dotted paths inside each result — so
there is one loop, one paginator and one type conversion for both.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pyarrow as pa

from connectors.errors import SourceError
from connectors.http import ApiClient

log = logging.getLogger(__name__)
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Endpoint:
    """What differs between providers' bucketed report endpoints."""

    path: str
    # (param name, value) pairs sent on every request, e.g. bucket width and group_by dimensions
    fixed_params: tuple[tuple[str, str], ...]
    start_param: str
    end_param: str
    time_format: str  # "unix" | "rfc3339"
    bucket_start: str
    bucket_end: str
    fields: dict[str, str]  # column -> dotted path in a result
    # params some API versions reject (e.g. a newer group_by value): sent first; if the first
    # page answers 400 they are dropped and the query repeated — their columns stay null
    optional_params: tuple[tuple[str, str], ...] = ()
    # columns with one value for every row this endpoint returns (e.g. endpoint="embeddings")
    constants: tuple[tuple[str, str], ...] = ()
    # (result, bucket start) -> the problem when a result breaks an identity the provider's meaning
    # of its fields implies (e.g. parts larger than their total); raised, naming page and bucket
    check: Callable[[dict, datetime], str | None] | None = None


def _fmt(t: datetime, kind: str) -> str:
    if kind == "unix":
        return str(int(t.timestamp()))
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(v: Any, kind: str) -> datetime:
    if kind == "unix":
        return datetime.fromtimestamp(int(v), tz=timezone.utc)
    return datetime.fromisoformat(str(v).replace("Z", "+00:00")).astimezone(timezone.utc)


def dig(obj: Any, path: str) -> Any:
    """Value at a dotted path in nested dicts; None where any step is absent (newer/older APIs)."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


_WIDTH_S = {"1m": 60, "1h": 3600, "1d": 86400}


def page_cap(ep: Endpoint, start: datetime, end: datetime) -> tuple[int, str]:
    """The most pages a window can need, and how that was derived (named when it is exceeded).

    These APIs paginate by bucket: a page holds up to ``limit`` buckets and, however few it holds,
    at least one (an empty window answers one page). So a window of B buckets needs at most B pages,
    ceil(B / limit) when the server fills its pages; one more page is allowed for a trailing empty
    one. Sound whatever page size the server picks, and tight enough that an endless cursor stops
    after a handful of requests instead of running for ever.
    """
    width = dict(ep.fixed_params).get("bucket_width", "1d")
    buckets = max(1, math.ceil((end - start).total_seconds() / _WIDTH_S.get(width, 86400)))
    return buckets + 1, f"the window holds {buckets} bucket(s) of {width}, at most one page each plus one"


def _pages(client: ApiClient, ep: Endpoint, params: list[tuple[str, str]],
           cap: tuple[int, str]) -> Iterator[tuple[dict, str]]:
    max_pages, why = cap
    if not ep.optional_params:
        yield from client.paginate(ep.path, params, max_pages=max_pages, why=why)
        return
    pages = client.paginate(ep.path, params + list(ep.optional_params), max_pages=max_pages, why=why)
    try:
        first = next(pages)
    except StopIteration:
        return
    except SourceError as e:
        if e.status != 400:
            raise
        dropped = ", ".join(f"{k}={v}" for k, v in ep.optional_params)
        log.warning("%s: %s rejected optional params (%s); retrying without them", client.source, ep.path, dropped)
        yield from client.paginate(ep.path, params, max_pages=max_pages, why=why)
        return
    yield first
    yield from pages


def fetch(client: ApiClient, ep: Endpoint, schema: pa.Schema, start: datetime, end: datetime) -> pa.Table:
    """Every bucket in [start, end), one row per result, columns exactly `schema`.

    Result fields absent from the response are null; fields we do not map are ignored.
    """
    params = [(ep.start_param, _fmt(start, ep.time_format)), (ep.end_param, _fmt(end, ep.time_format)),
              *ep.fixed_params]
    cols: dict[str, list] = {f.name: [] for f in schema}
    last_url = client.base_url + ep.path
    for n, (page, url) in enumerate(_pages(client, ep, params, page_cap(ep, start, end)), start=1):
        last_url = url
        data = page.get("data")
        if not isinstance(data, list):
            # an empty list is a real answer; a missing/odd `data` is a broken page, never "no usage"
            raise SourceError(client.source, f"{url} [page {n}]", f"malformed page: no 'data' list "
                              f"(keys: {sorted(page)[:8]})")
        for bucket in data:
            try:
                b_start = _parse_time(bucket[ep.bucket_start], ep.time_format)
                b_end = _parse_time(bucket[ep.bucket_end], ep.time_format)
            except (KeyError, TypeError, ValueError) as e:
                raise SourceError(client.source, f"{url} [page {n}]",
                                  f"bucket without readable bounds ({type(e).__name__}: {e})") from None
            results = bucket.get("results") or []
            if not isinstance(results, list):
                raise SourceError(client.source, f"{url} [page {n}]", "malformed page: bucket 'results' is not a list")
            for result in results:
                problem = ep.check(result, b_start) if ep.check and isinstance(result, dict) else None
                if problem:
                    group = ", ".join(f"{k}={result[k]}" for k in ("project_id", "model", "api_key_id")
                                      if result.get(k) is not None)
                    raise SourceError(client.source, f"{url} [page {n}]",
                                      f"bucket {b_start:%Y-%m-%dT%H:%MZ}" + (f" ({group})" if group else "")
                                      + f": {problem}")
                for name, path in ep.fields.items():
                    cols[name].append(dig(result, path))
                for name, value in ep.constants:
                    cols[name].append(value)
                cols[ep.bucket_start].append(b_start)
                cols[ep.bucket_end].append(b_end)
                cols["_source_uri"].append(url)
    arrays = []
    for f in schema:
        try:
            arrays.append(pa.array(cols[f.name], f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise SourceError(client.source, last_url, f"field {f.name}: unexpected value type ({e})") from None
    return pa.Table.from_arrays(arrays, schema=schema)
