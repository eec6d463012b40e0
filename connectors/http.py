"""The one HTTP client every API connector uses: timeouts, retries with backoff, pagination.

Retries (exponential backoff with full jitter, honouring ``Retry-After`` in seconds or as an
HTTP date) on 429, 5xx and connection errors; other 4xx fail at once because repeating a bad
request or a bad key cannot succeed. Errors, logs and recorded URLs never contain credentials:
keys travel in headers only, `safe_url` strips any query parameter that looks like a secret, and
a response body quoted in an error has every header value we sent masked (a peer may echo them).

Nothing waits for ever: besides the per-read `timeout`, every request has a total `request_deadline`
(a body trickled a byte at a time is cut off when it passes, not retried), the client has an
overall `deadline` that retries and their backoff count against (a ``Retry-After`` beyond what is
left fails at once), and a paginated fetch stops at a page cap (a server that keeps answering
``has_more`` with fresh cursors). Each of these is a `SourceError` naming the URL and the limit.
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
import urllib3

from connectors.errors import SourceError

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_SECRET_PARAMS = {"key", "api_key", "apikey", "token", "access_token", "secret", "password", "signature"}
Params = Sequence[tuple[str, Any]] | Mapping[str, Any]
# defaults of the limits (source options request_deadline_s, deadline_s, max_pages override them)
REQUEST_DEADLINE_S = 120
DEADLINE_S = 600
MAX_PAGES = 1000


class _Overrun(Exception):
    """A deadline passed while the answer was still arriving; `option` names the limit that did."""

    def __init__(self, limit: float, option: str):
        super().__init__(limit, option)
        self.limit, self.option = limit, option


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

    Limits (seconds): `timeout` bounds connecting and each read; `request_deadline` bounds one
    request from connect to the body's last byte; `deadline` bounds everything this client does,
    retries and their waits included, counted from its creation (one client per source fetch).
    `max_pages` is the hard cap on pages of one paginated fetch.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str], *, source: str = "api", timeout: float = 30,
                 max_retries: int = 5, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 key_env: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] | None = None, request_deadline: float = REQUEST_DEADLINE_S,
                 deadline: float = DEADLINE_S, max_pages: int = MAX_PAGES):
        self.source = source
        self.request_deadline, self.deadline, self.max_pages = request_deadline, deadline, max_pages
        self._ends = time.monotonic() + deadline
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

    def _left(self, shown: str) -> float:
        """Seconds left of the client's deadline; a SourceError naming it when none are."""
        left = self._ends - time.monotonic()
        if left <= 0:
            raise SourceError(self.source, shown, f"source deadline of {self.deadline:g}s passed (option deadline_s)")
        return left

    def _get(self, url: str, params: Params, shown: str) -> requests.Response:
        """One GET whose body is read in full before `request_deadline` (or the client's deadline) ends."""
        left = self._left(shown)
        limit = (self.request_deadline, "request_deadline_s") if self.request_deadline <= left else \
            (self.deadline, "deadline_s")
        ends = time.monotonic() + min(self.request_deadline, left)
        wait = min(self.timeout, left)
        r = self.session.get(url, params=params, timeout=(wait, wait), stream=True)
        try:
            body = bytearray()
            while True:
                left = ends - time.monotonic()
                if left <= 0:
                    raise _Overrun(*limit)
                # the read timeout bounds each recv, not the body: shrink it to what the deadline leaves,
                # and read what has arrived (read1), so a trickle is measured byte by byte
                sock = getattr(getattr(r.raw, "_connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(max(0.01, min(self.timeout, left)))
                try:
                    chunk = r.raw.read1(65536, decode_content=True)
                except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                    if sock is not None and left < self.timeout:
                        raise _Overrun(*limit) from None  # the deadline, not the peer's silence, cut this read
                    raise
                if not chunk:
                    break
                body += chunk
            r._content = bytes(body)
        finally:
            r.close()
        return r

    def get_json(self, path: str, params: Params) -> tuple[dict, str]:
        """GET base_url+path with retries; returns (JSON body, the URL without secrets).

        Raises SourceError naming that URL on a non-retryable 4xx, on retries exhausted, on a
        body that is not JSON, and on a request or client deadline passed (retries wait only
        while the client's deadline allows).
        """
        url = self.base_url + path
        shown = safe_url(requests.Request("GET", url, params=params).prepare().url)
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                r = self._get(url, params, shown)
            except _Overrun as e:
                what = "request" if e.option == "request_deadline_s" else "source"
                raise SourceError(self.source, shown, f"answer still arriving when the {what} deadline of "
                                  f"{e.limit:g}s passed (option {e.option})") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                last = f"connection failed ({type(e).__name__})"
                if attempt < self.max_retries:
                    self._wait(shown, self._delay(attempt, None), last, attempt)
                    continue
                self._left(shown)  # a timeout cut short by the deadline is named as that
                raise SourceError(self.source, shown, f"{last} after {attempt + 1} attempts") from None
            if r.status_code in RETRY_STATUS and attempt < self.max_retries:
                ra = r.headers.get("Retry-After")
                self._wait(shown, self._delay(attempt, ra), f"HTTP {r.status_code}" + (f" (Retry-After: {ra})" if ra
                                                                                       else ""), attempt)
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

    def _wait(self, shown: str, delay: float, why: str, attempt: int) -> None:
        """Sleep before retry `attempt`+1, or fail now when the client's deadline ends sooner."""
        left = self._left(shown)
        if delay >= left:
            raise SourceError(self.source, shown, f"{why}; the retry wait of {delay:.1f}s is beyond the {left:.1f}s "
                              f"left of the source deadline of {self.deadline:g}s (option deadline_s)")
        log.warning("%s: %s: %s; retry %d in %.1fs", self.source, shown, why, attempt + 1, delay)
        self._sleep(delay)

    def paginate(self, path: str, params: Params, *, page_param: str = "page", next_key: str = "next_page",
                 has_more_key: str = "has_more", max_pages: int | None = None,
                 why: str = "") -> Iterator[tuple[dict, str]]:
        """Yield (page, url) following an opaque next-page cursor until `has_more` is false.

        A cursor seen twice raises SourceError (a server bug would otherwise loop forever), and so
        does a page past the cap: `max_pages` (what the caller's window can need, `why` says how it
        was derived) or the client's hard cap, whichever is lower. Errors name the page number
        after the URL (``<url> [page 3]``) and a page that is not a JSON object is an error, not an
        empty page.
        """
        cap = min(self.max_pages, max_pages or self.max_pages)
        why = why if max_pages and max_pages < self.max_pages else "the hard cap, option max_pages"
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
            if n >= cap:
                raise SourceError(self.source, f"{url} [page {n}]", f"still has_more after the page cap of {cap} "
                                  f"pages ({why})")
            seen.add(cursor)
