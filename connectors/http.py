"""The one HTTP client every API connector uses: timeouts, retries with backoff, pagination.

Retries (exponential backoff with full jitter, honouring ``Retry-After``) on 429, 5xx and
connection errors; other 4xx fail at once. Errors and recorded URLs never contain credentials:
keys travel in headers only, and `safe_url` strips any query parameter that looks like a secret.
"""

from __future__ import annotations

import random
import time
from typing import Any, Iterator, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

import requests

from connectors.errors import SourceError

RETRY_STATUS = {429, 500, 502, 503, 504}
_SECRET_PARAMS = {"key", "api_key", "apikey", "token", "access_token", "secret"}


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _SECRET_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))


class ApiClient:
    def __init__(self, source: str, base_url: str, headers: Mapping[str, str], *, timeout: float = 30,
                 max_retries: int = 5, backoff_base: float = 0.5, backoff_max: float = 30.0):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.headers.setdefault("User-Agent", "aispend/0.1")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        if retry_after:
            try:
                time.sleep(min(float(retry_after), self.backoff_max))
                return
            except ValueError:
                pass
        time.sleep(random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** attempt)))

    def get_json(self, path: str, params: list[tuple[str, Any]] | Mapping[str, Any]) -> tuple[dict, str]:
        """GET base_url+path; returns (json body, the URL without secrets)."""
        url = self.base_url + path
        shown = safe_url(requests.Request("GET", url, params=params).prepare().url)
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                r = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as e:
                last = f"connection failed ({type(e).__name__})"
                if attempt < self.max_retries:
                    self._sleep(attempt, None)
                    continue
                raise SourceError(self.source, shown, f"{last} after {attempt + 1} attempts") from None
            if r.status_code in RETRY_STATUS and attempt < self.max_retries:
                self._sleep(attempt, r.headers.get("Retry-After"))
                continue
            if r.status_code >= 400:
                detail = r.text[:200].replace("\n", " ")
                tries = f" after {attempt + 1} attempts" if r.status_code in RETRY_STATUS else ""
                raise SourceError(self.source, shown, f"HTTP {r.status_code}{tries}: {detail}")
            try:
                return r.json(), shown
            except ValueError:
                raise SourceError(self.source, shown, "response is not JSON") from None
        raise SourceError(self.source, shown, last or "retries exhausted")

    def paginate(self, path: str, params: list[tuple[str, Any]], *, page_param: str = "page",
                 next_key: str = "next_page", has_more_key: str = "has_more") -> Iterator[tuple[dict, str]]:
        """Yield (page, url) following an opaque next-page cursor until `has_more` is false."""
        cursor = None
        seen: set[str] = set()
        while True:
            p = list(params) + ([(page_param, cursor)] if cursor else [])
            page, url = self.get_json(path, p)
            yield page, url
            cursor = page.get(next_key)
            if not page.get(has_more_key) or not cursor:
                return
            if cursor in seen:
                raise SourceError(self.source, url, f"pagination loop: cursor {cursor!r} repeated")
            seen.add(cursor)
