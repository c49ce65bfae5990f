"""The one HTTP layer of termnews: client factory, capped reads, redirects, error wording.

Used by `feeds/` (the refresh fetcher and discovery) and by `comments/` (reading and
posting comments). Policy (which statuses mean what for a feed or a comment) stays with
the callers; what lives here is how a request is made and how it can fail:

- `make_client`: one `httpx.AsyncClient` shape; redirects are never followed implicitly
  (every hop is checked: http/https only, a bounded count).
- `read_body`: a streamed body undone from gzip/deflate/br under a size cap, so a small
  compressed answer cannot expand to gigabytes.
- `failure`: any exception of a request -> one plain line a person can act on, whether
  a retry may help, and whether the request may have reached the server.
- `exchange` / `get`: one capped request (with a by-hand redirect loop for GET).

Imports only httpx and the standard library (plus termnews.sanitize for error text).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email.utils
import functools
import http
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

try:
    import brotli
except ImportError:  # pragma: no cover - httpx[brotli] brings it
    brotli = None

from termnews import __version__
from termnews.sanitize import clean_line

USER_AGENT = f"termnews/{__version__} (+https://github.com/termnews/termnews)"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
# Only codings BodyDecoder can undo under the size cap.
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"

_KB = 1024
_MB = 1024 * 1024


class HttpFailure(Exception):
    """A request that got no usable answer.

    `message` is one line for a person; `retryable` marks transient causes; `sent` says
    the request may have reached the server (it was being written or was written when the
    failure came), which matters for anything that is not safe to repeat, like a comment.
    """

    def __init__(self, message: str, *, retryable: bool = False, sent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.sent = sent


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: building one costs ~100 ms, a client ~0.3 ms."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - httpx depends on certifi
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]
# Set while the comment inbox reads threads (comments/revalidate.py): every client made
# meanwhile, in that task, sends its requests through the wrapper (conditional GETs).
transport_wrapper: ContextVar[TransportWrapper | None] = ContextVar(
    "transport_wrapper", default=None
)


def make_client(
    timeout: float,
    *,
    user_agent: str = USER_AGENT,
    max_connections: int = 10,
) -> httpx.AsyncClient:
    """The client every part of termnews uses: redirects by hand, capped, our encodings."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=10.0,
    )
    wrap = transport_wrapper.get()
    transport = wrap(httpx.AsyncHTTPTransport(verify=_tls(), limits=limits)) if wrap else None
    return httpx.AsyncClient(
        verify=_tls(),
        headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(timeout),
        limits=limits,
        transport=transport,
        follow_redirects=False,
    )


# -- wording ---------------------------------------------------------------------------


def format_size(n: int) -> str:
    """20971520 -> "20 MB", 65536 -> "64 KB", 1500 -> "1.5 KB"."""
    if n >= _MB:
        return f"{n // _MB} MB" if n % _MB == 0 else f"{n / _MB:.1f} MB"
    if n >= _KB:
        return f"{n // _KB} KB" if n % _KB == 0 else f"{n / _KB:.1f} KB"
    return f"{n} bytes"


def status_line(code: int) -> str:
    """ "HTTP 404 Not Found": the standard phrase, never the server's own reason text."""
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def media_type(content_type: str | None) -> str:
    """ "text/html" of "Text/HTML; charset=utf-8": a Content-Type's media type, lower case."""
    return (content_type or "").split(";")[0].strip().lower()


def host_label(url: httpx.URL | str) -> str:
    """ "example.org" or "127.0.0.1:8080", for messages."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return ""
    return parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"


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
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=datetime.UTC)
    seconds = when.timestamp()
    return max(0.0, seconds - (time.time() if now is None else now))


def about(host: str, message: str) -> str:
    """`message` naming `host` once: "example.org: timed out after 10 s"."""
    return message if not host or host in message else f"{host}: {message}"


def timeout_message(timeout: float) -> str:
    return f"timed out after {timeout:g} s"


def _connect_failure(exc: BaseException, host: str) -> HttpFailure:
    """Name the real cause of a failed connection from the exception chain."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return HttpFailure(f"could not resolve host {host}")
        if isinstance(cause, ConnectionRefusedError):
            return HttpFailure(f"connection refused by {host}", retryable=True)
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or "certificate not trusted"
            return HttpFailure(f"TLS certificate of {host} rejected: {reason}")
        if isinstance(cause, ssl.SSLError):
            return HttpFailure(f"TLS handshake with {host} failed")
        if isinstance(cause, OSError) and cause.strerror:
            return HttpFailure(f"could not connect to {host}: {cause.strerror}", retryable=True)
        cause = cause.__cause__ or cause.__context__
    return HttpFailure(f"could not connect to {host}", retryable=True)


def failure(exc: BaseException, host: str, *, timeout: float, sent: bool = False) -> HttpFailure:
    """Any exception of one request as an HttpFailure (one wording for all of termnews).

    `sent`: the request had started to go out when `exc` came; kept on the result except
    where the cause proves nothing left (no connection was made). `retryable` is the
    feed fetcher's word for "try again at once"; timeouts are not (they would double a
    slow refresh).
    """
    if isinstance(exc, HttpFailure):
        exc.sent = exc.sent or sent
        return exc
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return HttpFailure(timeout_message(timeout))
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return HttpFailure(timeout_message(timeout), sent=sent)
    if isinstance(exc, httpx.ConnectError):
        return _connect_failure(exc, host)
    if isinstance(exc, httpx.RemoteProtocolError):
        message = f"{host} closed the connection without a complete answer"
        return HttpFailure(message, retryable=True, sent=sent)
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return HttpFailure(f"connection to {host} was reset", retryable=True, sent=sent)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return HttpFailure(f"invalid URL: {clean_line(str(exc), 200)}")
    if isinstance(exc, httpx.LocalProtocolError):
        return HttpFailure("the request could not be sent (invalid header or URL)")
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL):
        return HttpFailure(f"network error talking to {host} ({type(exc).__name__})", sent=sent)
    if isinstance(exc, OSError):
        text = clean_line(str(exc.strerror or exc), 120)
        return HttpFailure(f"network error talking to {host}: {text}", sent=sent)
    raise exc


# -- addresses and redirects ------------------------------------------------------------


def check_url(url: str) -> httpx.URL:
    """An http(s) URL with a host, or an HttpFailure saying what is wrong with it."""
    text = url.strip()
    if not text:
        raise HttpFailure("invalid URL: it is empty")
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise HttpFailure(f"invalid URL: {clean_line(str(exc), 200)}") from None
    if not parsed.scheme:
        raise HttpFailure("invalid URL: it needs to start with http:// or https://")
    if parsed.scheme not in ("http", "https"):
        raise HttpFailure(
            f"unsupported URL scheme '{clean_line(parsed.scheme, 20)}': only http and https work"
        )
    if not parsed.host:
        raise HttpFailure("invalid URL: it has no host name")
    return parsed


def redirect_target(base: httpx.URL | str, location: str) -> str:
    """Where a redirect points, joined to the request's URL; refuses bad addresses."""
    try:
        base_url = base if isinstance(base, httpx.URL) else httpx.URL(base)
        return str(base_url.join(location.strip()))
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise HttpFailure("redirected to an invalid URL") from None


# -- bodies -----------------------------------------------------------------------------


class BodyTooLarge(Exception):
    pass


class BadEncoding(Exception):
    pass


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
                raise BadEncoding from None
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                out = self._obj.decompress(data, limit)
            except zlib.error:
                raise BadEncoding from None
        self._started = True
        if self._obj.unconsumed_tail:  # stopped at the limit with input left
            raise BodyTooLarge
        return out

    def finish(self) -> bytes:
        try:
            return self._obj.flush()
        except zlib.error:
            raise BadEncoding from None


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
            raise BadEncoding from None
        if len(out) >= limit:
            raise BodyTooLarge
        return out


class BodyDecoder:
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
            raise BodyTooLarge
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


async def iter_body(response: httpx.Response, max_bytes: int) -> AsyncIterator[bytes]:
    """The body of a streamed response in decoded pieces, refusing more than `max_bytes`
    (a download writes them to a file as they come; `read_body` joins them)."""
    too_big = f"body larger than {format_size(max_bytes)}"
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise HttpFailure(too_big)
    coding = response.headers.get("content-encoding", "")
    # Decoded here rather than by httpx so the cap holds while decompressing.
    decoder = BodyDecoder(coding, max_bytes)
    try:
        async for raw in response.aiter_raw():
            data = decoder.feed(raw)
            if data:
                yield data
        tail = decoder.finish()
        if tail:
            yield tail
    except (httpx.RemoteProtocolError, httpx.ReadError):
        raise HttpFailure("connection closed mid-body", retryable=True, sent=True) from None
    except BodyTooLarge:
        raise HttpFailure(too_big) from None
    except BadEncoding:
        message = f"body could not be decoded (Content-Encoding: {clean_line(coding, 60)})"
        raise HttpFailure(message) from None


def declared_size(response: httpx.Response) -> int | None:
    """The body's size as the answer announces it, when it is sent as is (not encoded)."""
    declared = response.headers.get("content-length", "").strip()
    if not declared.isdigit() or response.headers.get("content-encoding", "identity") not in (
        "",
        "identity",
    ):
        return None
    return int(declared)


async def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a streamed response, decoded, refusing to hold more than `max_bytes`."""
    return b"".join([chunk async for chunk in iter_body(response, max_bytes)])


async def drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
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


# -- one exchange -----------------------------------------------------------------------


@dataclass(slots=True)
class Answer:
    """A complete, capped answer to one request."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    @property
    def media_type(self) -> str:
        return media_type(self.headers.get("content-type"))

    def text(self) -> str:
        charset = "utf-8"
        match = re.search(r"charset=([\w-]+)", self.headers.get("content-type", ""), re.I)
        if match:
            charset = match.group(1)
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


@dataclass(slots=True)
class _SendTrace:
    """httpcore's trace events tell when the request started to leave this machine."""

    sent: bool = False

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if ".send_request_headers." in event:
            self.sent = True


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    json: Any = None,
    auth: httpx.Auth | None = None,
) -> Answer:
    """One request with a capped body; any trouble becomes an HttpFailure.

    The failure's `sent` is true once the request had started to go out: a timeout or
    dropped connection after that may hide a request the server did act on.
    """
    target = check_url(url)
    host = host_label(target)
    trace = _SendTrace()
    timeout = client.timeout.read or client.timeout.connect or 0.0
    try:
        async with client.stream(
            method,
            target,
            headers=headers,
            content=content,
            data=data,
            json=json,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            extensions={"trace": trace},
        ) as response:
            body = await read_body(response, max_bytes)
            return Answer(response.status_code, response.headers, body, str(response.url))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise failure(exc, host, timeout=timeout, sent=trace.sent) from exc


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    accept: str = "*/*",
    max_redirects: int = MAX_REDIRECTS,
) -> Answer:
    """A GET that follows redirects by hand (the client never does): each hop is checked."""
    headers = {"Accept": accept}
    answer = await exchange(client, "GET", url, max_bytes=max_bytes, headers=headers)
    hops = 0
    while answer.status in REDIRECT_STATUSES:
        location = answer.headers.get("location", "").strip()
        if not location:
            break
        hops += 1
        if hops > max_redirects:
            raise HttpFailure(f"too many redirects (more than {max_redirects})")
        following = redirect_target(answer.url, location)
        answer = await exchange(client, "GET", following, max_bytes=max_bytes, headers=headers)
    return answer


async def get_ok(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, accept: str, what: str
) -> Answer:
    """A GET (redirects followed, body capped) that must end in 200 OK; otherwise an
    HttpFailure whose message names the host: "example.org: timed out after 20 s",
    "example.org answered HTTP 404 Not Found for the image" (`what`: "the image")."""
    host = host_label(url) or "its address"
    try:
        answer = await get(client, url, max_bytes=max_bytes, accept=accept)
    except HttpFailure as exc:
        exc.message = f"{host}: {exc.message}"
        raise
    if answer.status != 200:
        raise HttpFailure(f"{host} answered {status_line(answer.status)} for {what}")
    return answer


@contextlib.asynccontextmanager
async def open_get(
    client: httpx.AsyncClient,
    url: str,
    *,
    accept: str = "*/*",
    max_redirects: int = MAX_REDIRECTS,
) -> AsyncIterator[httpx.Response]:
    """A GET whose answer is handed over unread (read it with `iter_body`), for bodies
    too large to hold: redirects are followed by hand, each hop checked as `get` does."""
    current = url
    timeout = client.timeout.read or client.timeout.connect or 0.0
    for _ in range(max_redirects + 1):
        target = check_url(current)
        host = host_label(target)
        try:
            request = client.build_request("GET", target, headers={"Accept": accept})
            response = await client.send(request, stream=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise failure(exc, host, timeout=timeout, sent=True) from exc
        try:
            location = response.headers.get("location", "").strip()
            if response.status_code in REDIRECT_STATUSES and location:
                await drain(response)
                current = redirect_target(response.url, location)
                continue
            yield response
            return
        finally:
            await response.aclose()
    raise HttpFailure(f"too many redirects (more than {max_redirects})")
