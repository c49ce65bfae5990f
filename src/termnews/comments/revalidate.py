"""Conditional GETs for the comment inbox, under the backends' own `read`.

A backend reads a thread with one or more GETs (a comment feed; a Mastodon status and its
context; WordPress' REST pages). The inbox check wraps every client made while it reads
(`termnews.http.transport_wrapper`) in `Revalidating`: a GET whose last response is kept
(it carried an ETag or a Last-Modified) goes out with If-None-Match / If-Modified-Since;
a 304 is answered from that kept response, so the backend reads what it read last time
and needs to know nothing of this. A thread whose every GET came back 304 is unchanged:
the check stops there. Only 200 answers of at most `MAX_KEPT_BYTES` (as sent, still
compressed) are kept.

Imports: httpx, termnews.model, termnews.store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from termnews.model import CachedResponse
from termnews.store import Store

MAX_KEPT_BYTES = 2 * 1024 * 1024
_KEPT_HEADERS = ("content-type", "content-encoding", "etag", "last-modified")


class Revalidating(httpx.AsyncBaseTransport):
    """Wraps a transport: GETs revalidate kept responses; counts what came back how."""

    def __init__(self, store: Store, now: float) -> None:
        self.store = store
        self.now = now
        self.fresh = 0  # GETs answered with a body (anything but 304)
        self.not_modified = 0  # GETs answered 304, served from the kept response
        self.validators: list[list[str]] = []  # [url, etag, last-modified] of each GET

    def wrap(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """The `transport_wrapper` hook: one Revalidating holds the transports it wraps."""
        return _Bound(self, inner)

    @property
    def unchanged(self) -> bool:
        """Every GET of the thread came back 304 (and there was at least one)."""
        return self.not_modified > 0 and self.fresh == 0

    def validator(self) -> str | None:
        return json.dumps(self.validators) if self.validators else None

    async def send(self, inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return await inner.handle_async_request(request)
        url = str(request.url)
        kept = self.store.cached_response(url)
        if kept is not None:
            if kept.etag:
                request.headers["If-None-Match"] = kept.etag
            if kept.last_modified:
                request.headers["If-Modified-Since"] = kept.last_modified
        response = await inner.handle_async_request(request)
        if response.status_code == 304 and kept is not None:
            await response.aclose()
            self.not_modified += 1
            self.validators.append([url, kept.etag or "", kept.last_modified or ""])
            self.store.response_used(url, self.now)
            return _answer(request, kept.headers, kept.body)
        self.fresh += 1
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        self.validators.append([url, etag or "", modified or ""])
        if response.status_code != 200 or not (etag or modified):
            return response
        return await self._keep(request, response, etag, modified)

    async def _keep(
        self,
        request: httpx.Request,
        response: httpx.Response,
        etag: str | None,
        modified: str | None,
    ) -> httpx.Response:
        """Read the body as sent (at most MAX_KEPT_BYTES) and keep it for the next check."""
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        head: list[bytes] = []
        size = 0
        iterator = stream.__aiter__()
        async for chunk in iterator:
            head.append(chunk)
            size += len(chunk)
            if size > MAX_KEPT_BYTES:  # too big to keep: hand on what was read and the rest
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    stream=_Rest(head, iterator, response),
                    request=request,
                    extensions=response.extensions,
                )
        await response.aclose()
        body = b"".join(head)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS]
        kept = CachedResponse(str(request.url), etag, modified, headers, body)
        self.store.keep_response(kept, self.now)
        return _answer(request, headers, body)


class _Rest(httpx.AsyncByteStream):
    """The chunks already read, then the rest of the same iterator."""

    def __init__(
        self, head: list[bytes], iterator: AsyncIterator[bytes], response: httpx.Response
    ) -> None:
        self.head = head
        self.iterator = iterator
        self.response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.head:
            yield chunk
        async for chunk in self.iterator:
            yield chunk

    async def aclose(self) -> None:
        await self.response.aclose()


class _Bound(httpx.AsyncBaseTransport):
    def __init__(self, owner: Revalidating, inner: httpx.AsyncBaseTransport) -> None:
        self.owner = owner
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.owner.send(self.inner, request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _answer(request: httpx.Request, headers: list[tuple[str, str]], body: bytes) -> httpx.Response:
    """A 200 with a body still to be streamed (the client reads it raw, under its cap)."""
    sized = [*headers, ("content-length", str(len(body)))]
    return httpx.Response(200, headers=sized, stream=httpx.ByteStream(body), request=request)
