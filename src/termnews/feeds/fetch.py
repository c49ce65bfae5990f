"""Feed fetching: conditional GET with limits, retries, per-host slots and plain-text errors.

How a request is made and how it fails (client, capped body, redirects, wording) is
`termnews.http`, shared with the comments; the fetcher's policy is here.

One `Fetcher` serves one refresh run. It owns one `httpx.AsyncClient` and puts two
semaphores in front of it (one per host, one global): httpx's pool gets slow when
many requests wait inside it, and a semaphore in front is the known fix.

Network problems never raise: every call returns a `FetchResult` whose `error` is
one line a person can act on ("HTTP 404 Not Found", "timed out after 20 s").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from termnews.http import (
    MAX_REDIRECTS,
    PERMANENT_REDIRECTS,
    REDIRECT_STATUSES,
    USER_AGENT,
    HttpFailure,
    check_url,
    drain,
    failure,
    make_client,
    parse_retry_after,
    read_body,
    redirect_target,
    status_line,
    timeout_message,
)
from termnews.model import FetchStatus

__all__ = ["FetchResult", "Fetcher"]

DEFAULT_USER_AGENT = USER_AGENT
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, application/xml;q=0.8, */*;q=0.5"


@dataclass(slots=True)
class FetchResult:
    """What one fetch came to. `body` is set only when `status` is OK."""

    status: FetchStatus
    url: str  # the URL requested
    final_url: str  # after redirects
    permanent_url: str | None  # set when every redirect hop was 301/308: the URL to store
    body: bytes | None  # already decoded from gzip/deflate/br
    etag: str | None
    last_modified: str | None
    content_type: str | None
    http_status: int | None
    error: str | None  # one plain line for a person
    retry_after: float | None  # seconds, from Retry-After on 429/503
    elapsed: float


@dataclass(slots=True)
class _Redirect:
    status: int
    location: str


def _header_value(value: str) -> bytes:
    # Validators are echoed back from an earlier answer; keep them to one clean line.
    cleaned = value.replace("\r", "").replace("\n", "").strip()
    return cleaned.encode("utf-8", "replace")


def _host_key(url: httpx.URL) -> str:
    return f"{url.host.lower()}:{url.port or (443 if url.scheme == 'https' else 80)}"


class Fetcher:
    """Fetches feeds and pages for one refresh run. Use as `async with Fetcher() as f:`."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 20 * 1024 * 1024,
        max_concurrency: int = 10,
        per_host: int = 2,
        user_agent: str | None = None,
        retries: int = 1,
        retry_backoff: float = 0.5,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_concurrency = max(1, max_concurrency)
        self.per_host = max(1, per_host)
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.retries = max(0, retries)
        self.retry_backoff = retry_backoff
        self._global = asyncio.Semaphore(self.max_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        self._client = make_client(
            self.timeout, user_agent=self.user_agent, max_connections=self.max_concurrency
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Conditional GET of a feed. A 304 keeps the given validators when it sends none."""
        headers = {b"Accept": FEED_ACCEPT.encode()}
        if etag:
            headers[b"If-None-Match"] = _header_value(etag)
        if last_modified:
            headers[b"If-Modified-Since"] = _header_value(last_modified)
        return await self._run(url, headers, self.max_bytes, etag, last_modified)

    async def get(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """Plain GET of a page (feed discovery, comment pages)."""
        headers = {b"Accept": PAGE_ACCEPT.encode()}
        return await self._run(url, headers, max_bytes or self.max_bytes, None, None)

    # -- internals ---------------------------------------------------------------------

    async def _run(
        self,
        url: str,
        headers: dict[bytes, bytes],
        max_bytes: int,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        started = time.monotonic()
        attempt = 0
        while True:
            result, retryable = await self._attempt(url, headers, max_bytes, etag, last_modified)
            if not retryable or attempt >= self.retries:
                break
            attempt += 1
            await asyncio.sleep(self.retry_backoff * attempt)
        result.elapsed = time.monotonic() - started
        return result

    async def _attempt(
        self,
        url: str,
        headers: dict[bytes, bytes],
        max_bytes: int,
        etag: str | None,
        last_modified: str | None,
    ) -> tuple[FetchResult, bool]:
        """One try through up to MAX_REDIRECTS hops. Returns the result and whether to retry."""
        hops: list[int] = []
        current = url.strip()
        # Only time spent holding a slot counts against the budget, not time queued.
        budget = self.timeout
        try:
            for _ in range(MAX_REDIRECTS + 1):
                target = check_url(current)
                began = time.monotonic()
                async with self._slot(target):
                    answer = await self._request(
                        target, headers, max_bytes, etag, last_modified, budget
                    )
                budget -= time.monotonic() - began
                if isinstance(answer, _Redirect):
                    hops.append(answer.status)
                    current = redirect_target(target, answer.location)
                    if budget <= 0:
                        raise HttpFailure(timeout_message(self.timeout))
                    continue
                result, retryable = answer
                result.url = url
                if hops and all(code in PERMANENT_REDIRECTS for code in hops):
                    result.permanent_url = result.final_url
                return result, retryable
            raise HttpFailure(f"too many redirects (more than {MAX_REDIRECTS})")
        except HttpFailure as problem:
            result = self._error(url, current, problem.message)
            if hops and all(code in PERMANENT_REDIRECTS for code in hops):
                result.permanent_url = current
            return result, problem.retryable

    @asynccontextmanager
    async def _slot(self, url: httpx.URL) -> AsyncIterator[None]:
        key = _host_key(url)
        host_sem = self._hosts.get(key)
        if host_sem is None:
            host_sem = self._hosts[key] = asyncio.Semaphore(self.per_host)
        # Host first, then global: a task queued for a busy host holds no global slot.
        async with host_sem, self._global:
            yield

    async def _request(
        self,
        url: httpx.URL,
        headers: dict[bytes, bytes],
        max_bytes: int,
        etag: str | None,
        last_modified: str | None,
        budget: float,
    ) -> _Redirect | tuple[FetchResult, bool]:
        if self._client is None:
            raise RuntimeError("Fetcher used outside 'async with'")
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        try:
            async with asyncio.timeout(max(budget, 0.001)):
                async with self._client.stream("GET", url, headers=headers) as response:
                    return await self._handle(response, max_bytes, etag, last_modified)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise failure(exc, host, timeout=self.timeout) from None

    async def _handle(
        self,
        response: httpx.Response,
        max_bytes: int,
        etag: str | None,
        last_modified: str | None,
    ) -> _Redirect | tuple[FetchResult, bool]:
        code = response.status_code
        if not 200 <= code < 300:
            await drain(response)
        if code in REDIRECT_STATUSES:
            location = response.headers.get("location", "").strip()
            if not location:
                result = self._from_response(response, FetchStatus.ERROR, None)
                result.error = f"{result.error} without a Location header"
                return result, False
            return _Redirect(code, location)
        if 200 <= code < 300:
            body = await self._read_body(response, max_bytes)
            return self._from_response(response, FetchStatus.OK, body), False
        if code == 304 and (etag or last_modified):
            result = self._from_response(response, FetchStatus.NOT_MODIFIED, None)
            result.etag = result.etag or etag
            result.last_modified = result.last_modified or last_modified
            result.error = None
            return result, False
        if code == 410:
            return self._from_response(response, FetchStatus.GONE, None), False
        result = self._from_response(response, FetchStatus.ERROR, None)
        if code in (429, 503):
            result.retry_after = parse_retry_after(response.headers.get("retry-after"))
        # Retry server errors once, unless the server said when to come back.
        retryable = 500 <= code < 600 and result.retry_after is None
        return result, retryable

    async def _read_body(self, response: httpx.Response, max_bytes: int) -> bytes:
        return await read_body(response, max_bytes)

    def _from_response(
        self, response: httpx.Response, status: FetchStatus, body: bytes | None
    ) -> FetchResult:
        code = response.status_code
        return FetchResult(
            status=status,
            url="",
            final_url=str(response.url),
            permanent_url=None,
            body=body,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_type=response.headers.get("content-type"),
            http_status=code,
            error=None if status is FetchStatus.OK else status_line(code),
            retry_after=None,
            elapsed=0.0,
        )

    def _error(self, url: str, final_url: str, message: str) -> FetchResult:
        return FetchResult(
            status=FetchStatus.ERROR,
            url=url,
            final_url=final_url,
            permanent_url=None,
            body=None,
            etag=None,
            last_modified=None,
            content_type=None,
            http_status=None,
            error=message,
            retry_after=None,
            elapsed=0.0,
        )
