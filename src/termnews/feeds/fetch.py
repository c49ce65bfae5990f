"""HTTP for termnews: conditional GET with limits, retries, size caps and plain-text errors.

One `Fetcher` serves one refresh run. It owns one `httpx.AsyncClient` and puts two
semaphores in front of it (one per host, one global): httpx's pool gets slow when
many requests wait inside it, and a semaphore in front is the known fix.

Network problems never raise: every call returns a `FetchResult` whose `error` is
one line a person can act on ("HTTP 404 Not Found", "timed out after 20 s").
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import http
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

try:
    import brotli
except ImportError:  # pragma: no cover - httpx[brotli] brings it
    brotli = None

from termnews import __version__
from termnews.model import FetchStatus

DEFAULT_USER_AGENT = f"termnews/{__version__} (+https://github.com/termnews/termnews)"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# Only codings _BodyDecoder can undo under the size cap.
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, application/xml;q=0.8, */*;q=0.5"

_KB = 1024
_MB = 1024 * 1024


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


class _Failure(Exception):
    """A request that failed before a usable answer; `retryable` marks transient causes."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(slots=True)
class _Redirect:
    status: int
    location: str


def format_size(n: int) -> str:
    """20971520 -> "20 MB", 65536 -> "64 KB", 1500 -> "1.5 KB"."""
    if n >= _MB:
        return f"{n // _MB} MB" if n % _MB == 0 else f"{n / _MB:.1f} MB"
    if n >= _KB:
        return f"{n // _KB} KB" if n % _KB == 0 else f"{n / _KB:.1f} KB"
    return f"{n} bytes"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=datetime.UTC)
    seconds = when.timestamp()
    return max(0.0, seconds - (time.time() if now is None else now))


def _status_line(code: int) -> str:
    # The standard phrase, never the server's own reason text.
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _header_value(value: str) -> bytes:
    # Validators are echoed back from an earlier answer; keep them to one clean line.
    cleaned = value.replace("\r", "").replace("\n", "").strip()
    return cleaned.encode("utf-8", "replace")


def _host_key(url: httpx.URL) -> str:
    return f"{url.host.lower()}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _check_url(url: str) -> httpx.URL:
    text = url.strip()
    if not text:
        raise _Failure("invalid URL: it is empty")
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise _Failure(f"invalid URL: {exc}") from None
    if not parsed.scheme:
        raise _Failure("invalid URL: it needs to start with http:// or https://")
    if parsed.scheme not in ("http", "https"):
        raise _Failure(f"unsupported URL scheme '{parsed.scheme}': only http and https work")
    if not parsed.host:
        raise _Failure("invalid URL: it has no host name")
    return parsed


def _connect_failure(exc: BaseException, host: str) -> _Failure:
    """Name the real cause of a failed connection from the exception chain."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return _Failure(f"could not resolve host {host}")
        if isinstance(cause, ConnectionRefusedError):
            return _Failure(f"connection refused by {host}", retryable=True)
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or "certificate not trusted"
            return _Failure(f"TLS certificate of {host} rejected: {reason}")
        if isinstance(cause, ssl.SSLError):
            return _Failure(f"TLS handshake with {host} failed")
        if isinstance(cause, OSError) and cause.strerror:
            return _Failure(f"could not connect to {host}: {cause.strerror}", retryable=True)
        cause = cause.__cause__ or cause.__context__
    return _Failure(f"could not connect to {host}", retryable=True)


class _BodyTooLarge(Exception):
    pass


class _BadEncoding(Exception):
    pass


class _BodyDecoder:
    """Undoes Content-Encoding (gzip, deflate, br, in any stack) with a cap on the output."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        # Listed in the order applied, so undone last to first. Unknown codings are
        # passed through as httpx does; the parser will then say what it got.
        self._steps: list[_Step] = []
        for coding in reversed(codings):
            if coding in ("gzip", "x-gzip"):
                self._steps.append(_ZlibStep(zlib.MAX_WBITS | 16))
            elif coding == "deflate":
                self._steps.append(_ZlibStep(zlib.MAX_WBITS, raw_fallback=True))
            elif coding == "br" and brotli is not None:
                self._steps.append(_BrotliStep())

    def _room(self) -> int:
        return self.limit - self.size

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise _BodyTooLarge
        return data

    def feed(self, data: bytes) -> bytes:
        for step in self._steps:
            data = step.feed(data, self._room() + 1)
        return self._count(data)

    def finish(self) -> bytes:
        data = b""
        for step in self._steps:
            data = step.feed(data, self._room() + 1) + step.finish()
        return self._count(data)


class _Step:
    def feed(self, data: bytes, limit: int) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        return b""


class _ZlibStep(_Step):
    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._obj = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is sent both zlib-wrapped and raw
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if not data:
            return b""
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error:
            if not (self._raw_fallback and not self._started):
                raise _BadEncoding from None
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                out = self._obj.decompress(data, limit)
            except zlib.error:
                raise _BadEncoding from None
        self._started = True
        if self._obj.unconsumed_tail:  # stopped at the limit with input left
            raise _BodyTooLarge
        return out

    def finish(self) -> bytes:
        try:
            return self._obj.flush()
        except zlib.error:
            raise _BadEncoding from None


class _BrotliStep(_Step):
    def __init__(self) -> None:
        assert brotli is not None
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        if not data:
            return b""
        try:
            try:
                out: bytes = self._obj.process(data, output_buffer_limit=limit)
            except TypeError:  # brotli before 1.2 has no output limit
                out = self._obj.process(data)
        except brotli.error:
            raise _BadEncoding from None
        if len(out) >= limit:
            raise _BodyTooLarge
        return out


async def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a small unwanted body (304, redirect, error page) so the connection is reused.

    httpx closes a connection whose response was not read to the end; for the many
    304s of a conditional refresh that would mean a new connection per feed.
    """
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                return  # not worth it: let the connection close
    except httpx.HTTPError:
        return


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
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(
                max_connections=self.max_concurrency,
                max_keepalive_connections=self.max_concurrency,
                keepalive_expiry=10.0,
            ),
            follow_redirects=False,
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
        headers: dict[str, str | bytes] = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = _header_value(etag)
        if last_modified:
            headers["If-Modified-Since"] = _header_value(last_modified)
        return await self._run(url, headers, self.max_bytes, etag, last_modified)

    async def get(self, url: str, *, max_bytes: int | None = None) -> FetchResult:
        """Plain GET of a page (feed discovery, comment pages)."""
        headers: dict[str, str | bytes] = {"Accept": PAGE_ACCEPT}
        return await self._run(url, headers, max_bytes or self.max_bytes, None, None)

    # -- internals ---------------------------------------------------------------------

    async def _run(
        self,
        url: str,
        headers: dict[str, str | bytes],
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
        headers: dict[str, str | bytes],
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
                target = _check_url(current)
                began = time.monotonic()
                async with self._slot(target):
                    answer = await self._request(
                        target, headers, max_bytes, etag, last_modified, budget
                    )
                budget -= time.monotonic() - began
                if isinstance(answer, _Redirect):
                    hops.append(answer.status)
                    try:
                        current = str(target.join(answer.location))
                    except (httpx.InvalidURL, UnicodeError, ValueError):
                        raise _Failure("redirected to an invalid URL") from None
                    if budget <= 0:
                        raise _Failure(self._timeout_message())
                    continue
                result, retryable = answer
                result.url = url
                if hops and all(code in PERMANENT_REDIRECTS for code in hops):
                    result.permanent_url = result.final_url
                return result, retryable
            raise _Failure(f"too many redirects (more than {MAX_REDIRECTS})")
        except _Failure as failure:
            result = self._error(url, current, failure.message)
            if hops and all(code in PERMANENT_REDIRECTS for code in hops):
                result.permanent_url = current
            return result, failure.retryable

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
        headers: dict[str, str | bytes],
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
        except _Failure:
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise _Failure(self._timeout_message()) from None
        except httpx.ConnectError as exc:
            raise _connect_failure(exc, host) from None
        except httpx.RemoteProtocolError:
            raise _Failure(
                f"{host} closed the connection without a complete answer", retryable=True
            ) from None
        except httpx.ReadError:
            raise _Failure(f"connection to {host} was reset", retryable=True) from None
        except httpx.WriteError:
            raise _Failure(f"connection to {host} was reset", retryable=True) from None
        except httpx.UnsupportedProtocol as exc:
            raise _Failure(f"invalid URL: {exc}") from None
        except httpx.LocalProtocolError:
            raise _Failure("the request could not be sent (invalid header or URL)") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _Failure(f"network error talking to {host} ({type(exc).__name__})") from None
        except OSError as exc:
            raise _Failure(f"network error talking to {host}: {exc.strerror or exc}") from None

    async def _handle(
        self,
        response: httpx.Response,
        max_bytes: int,
        etag: str | None,
        last_modified: str | None,
    ) -> _Redirect | tuple[FetchResult, bool]:
        code = response.status_code
        if not 200 <= code < 300:
            await _drain(response)
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
        too_big = f"body larger than {format_size(max_bytes)}"
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > max_bytes:
            raise _Failure(too_big)
        coding = response.headers.get("content-encoding", "")
        # Decoded here rather than by httpx so the cap holds while decompressing:
        # a few KB of brotli can otherwise expand to gigabytes in one chunk.
        decoder = _BodyDecoder(coding, max_bytes)
        chunks: list[bytes] = []
        try:
            async for raw in response.aiter_raw():
                chunks.append(decoder.feed(raw))
            chunks.append(decoder.finish())
        except (httpx.RemoteProtocolError, httpx.ReadError):
            raise _Failure("connection closed mid-body", retryable=True) from None
        except _BodyTooLarge:
            raise _Failure(too_big) from None
        except _BadEncoding:
            raise _Failure(f"body could not be decoded (Content-Encoding: {coding})") from None
        return b"".join(chunks)

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
            error=None if status is FetchStatus.OK else _status_line(code),
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

    def _timeout_message(self) -> str:
        return f"timed out after {self.timeout:g} s"
