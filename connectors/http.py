"""The one HTTP client every API connector uses: timeouts, retries with backoff, pagination.

Retries (exponential backoff with full jitter, honouring ``Retry-After`` in seconds or as an
HTTP date) on 429, 5xx and connection errors; other 4xx fail at once because repeating a bad
request or a bad key cannot succeed. Errors, logs and recorded URLs never contain credentials:
keys travel in headers only, `safe_url` strips any query parameter that looks like a secret, and
a response body quoted in an error has every header value we sent masked (a peer may echo them).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from connectors.errors import SourceError

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_SECRET_PARAMS = {"key", "api_key", "apikey", "token", "access_token", "secret", "password", "signature"}
Params = Sequence[tuple[str, Any]] | Mapping[str, Any]


def safe_url(url: str) -> str:
    """`url` without its fragment and without query parameters that look like credentials."""
    parts = urlsplit(url)
    q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _SECRET_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or HTTP date); None when absent or unreadable.

    `now` (default: the wall clock) is what an HTTP date is measured from.
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class ApiClient:
    """A `requests.Session` bound to one API: base URL, auth headers, timeout and retry policy.

    `source` names the connector in errors (``<source>: <url>: <problem>``). `key_env` names the
    environment variable the credential came from: a 401/403 error points there (never at the
    key). `sleep` and `clock` are injectable so tests of backoff and ``Retry-After`` dates run
    without real waiting.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str], *, source: str = "api", timeout: float = 30,
                 max_retries: int = 5, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 key_env: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] | None = None):
        self.source = source
        self.key_env = key_env
        self._sleep = sleep
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.headers.setdefault("User-Agent", "aispend/0.1")
        # values to mask if a peer echoes them back in an error body
        self._secrets = [v for v in headers.values() if v and len(v) >= 8]

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        # the server knows best when it will take us again; otherwise full jitter, so many
        # clients that failed together do not retry in lockstep
        ra = retry_after_seconds(retry_after, self._clock())
        if ra is not None:
            return min(ra, self.backoff_max)
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** attempt))

    def _mask(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
            if " " in s:  # "Bearer <key>": mask the bare key too
                text = text.replace(s.split(" ", 1)[1], "***")
        return text

    def get_json(self, path: str, params: Params) -> tuple[dict, str]:
        """GET base_url+path with retries; returns (JSON body, the URL without secrets).

        Raises SourceError naming that URL on a non-retryable 4xx, on retries exhausted, or on a
        body that is not JSON.
        """
        url = self.base_url + path
        shown = safe_url(requests.Request("GET", url, params=params).prepare().url)
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                r = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as e:
                last = f"connection failed ({type(e).__name__})"
                if attempt < self.max_retries:
                    delay = self._delay(attempt, None)
                    log.warning("%s: %s: %s; retry %d in %.1fs", self.source, shown, last, attempt + 1, delay)
                    self._sleep(delay)
                    continue
                raise SourceError(self.source, shown, f"{last} after {attempt + 1} attempts") from None
            if r.status_code in RETRY_STATUS and attempt < self.max_retries:
                delay = self._delay(attempt, r.headers.get("Retry-After"))
                log.warning("%s: %s: HTTP %d; retry %d in %.1fs", self.source, shown, r.status_code, attempt + 1, delay)
                self._sleep(delay)
                continue
            if r.status_code >= 400:
                detail = self._mask(r.text[:300].replace("\n", " "))
                tries = f" after {attempt + 1} attempts" if r.status_code in RETRY_STATUS else ""
                if r.status_code in (401, 403):
                    # the one actionable hint: which variable holds the key to fix (never its value)
                    where_key = f"environment variable {self.key_env}" if self.key_env else "the configured credential"
                    tries = f" (authentication/permission refused: check the admin key in {where_key})"
                raise SourceError(self.source, shown, f"HTTP {r.status_code}{tries}: {detail}", status=r.status_code)
            try:
                return r.json(), shown
            except ValueError:
                raise SourceError(self.source, shown, "response is not JSON", status=r.status_code) from None
        raise SourceError(self.source, shown, last or "retries exhausted")  # pragma: no cover (loop returns/raises)

    def paginate(self, path: str, params: Params, *, page_param: str = "page", next_key: str = "next_page",
                 has_more_key: str = "has_more") -> Iterator[tuple[dict, str]]:
        """Yield (page, url) following an opaque next-page cursor until `has_more` is false.

        A cursor seen twice raises SourceError (a server bug would otherwise loop forever). Errors
        name the page number after the URL (``<url> [page 3]``) and a page that is not a JSON
        object is an error, not an empty page.
        """
        base = list(params.items()) if isinstance(params, Mapping) else list(params)
        cursor = None
        seen: set[str] = set()
        n = 0
        while True:
            n += 1
            try:
                page, url = self.get_json(path, base + ([(page_param, cursor)] if cursor else []))
            except SourceError as e:
                raise SourceError(e.source, f"{e.where} [page {n}]", e.problem, status=e.status) from None
            if not isinstance(page, dict):
                raise SourceError(self.source, f"{url} [page {n}]", f"malformed page: a JSON {type(page).__name__}, "
                                  "not an object")
            yield page, url
            cursor = page.get(next_key)
            if not page.get(has_more_key) or not cursor:
                return
            if cursor in seen:
                raise SourceError(self.source, f"{url} [page {n}]", f"pagination loop: cursor {cursor!r} repeated")
            seen.add(cursor)
