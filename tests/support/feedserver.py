"""A real HTTP server on 127.0.0.1 that serves feeds, and misbehaves on request.

Used by the fetch, discovery, refresh and service tests and by bench/refresh.py:

    with FeedServer() as server:
        server.add_feed("/a.xml", make_rss("A", [{"title": "one"}]))
        url = server.url_for("/a.xml")

Every route answers conditional GETs (ETag, Last-Modified, 304) unless told not to,
and every request is logged in `server.requests`.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import hashlib
import json
import mimetypes
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

import brotli

__all__ = [
    "FeedServer",
    "LoggedRequest",
    "make_atom",
    "make_json_feed",
    "make_rss",
]

FEED_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
}


@dataclass(slots=True)
class LoggedRequest:
    path: str  # without the query string
    query: str
    method: str
    headers: dict[str, str]  # names in lower case
    client_port: int = 0  # the same port twice means a reused keep-alive connection

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class _Route:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/rss+xml"
    etag: str | None = None
    last_modified: float | None = None  # POSIX seconds
    extra_headers: dict[str, str] = field(default_factory=dict)
    content_encoding: str | None = None  # gzip, br or deflate, applied if the client accepts
    chunk_size: int = 0  # > 0 with chunk_delay: send the body in slow pieces
    chunk_delay: float = 0.0
    generated_size: int | None = None  # stream this many filler bytes instead of `body`
    send_length: bool = True
    cut_after: int | None = None  # send this many body bytes, then drop the connection
    hold: float = 0.0  # sleep before answering (concurrency tests)
    encoded: bytes | None = None  # `body` after content_encoding, made on first use


def _http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def _etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


def _encode(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(body, mtime=0)
    if coding == "br":
        return brotli.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    raise ValueError(f"unknown content coding {coding!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FeedServer/1"
    timeout = 10  # idle keep-alive connections give up their thread
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        logged = LoggedRequest(
            path=parts.path,
            query=parts.query,
            method=self.command,
            headers={k.lower(): v for k, v in self.headers.items()},
            client_port=int(self.client_address[1]),
        )
        owner._enter(logged)
        try:
            route = owner._route_for(parts.path, parts.query)
            if route is None:
                self._send_simple(404, b"not found\n", "text/plain", send_body)
                return
            if route.hold:
                time.sleep(route.hold)
            self._send_route(route, send_body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to tell it
        finally:
            owner._leave()

    def _send_simple(self, status: int, body: bytes, ctype: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _not_modified(self, route: _Route) -> bool:
        if route.status != 200:
            return False
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            if route.etag is None:
                return False
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or route.etag.removeprefix("W/") in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and route.last_modified is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, IndexError):
                return False
            return int(route.last_modified) <= since
        return False

    def _send_route(self, route: _Route, send_body: bool) -> None:
        if self._not_modified(route):
            self.send_response(304)
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified is not None:
                self.send_header("Last-Modified", _http_date(route.last_modified))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return

        body = route.body
        coding = route.content_encoding
        accepted = self.headers.get("Accept-Encoding", "")
        if coding and coding in [c.split(";")[0].strip() for c in accepted.split(",")]:
            if route.encoded is None:
                route.encoded = _encode(body, coding)
            body = route.encoded
        else:
            coding = None
        length = route.generated_size if route.generated_size is not None else len(body)

        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        if coding:
            self.send_header("Content-Encoding", coding)
            self.send_header("Vary", "Accept-Encoding")
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified is not None:
            self.send_header("Last-Modified", _http_date(route.last_modified))
        for name, value in route.extra_headers.items():
            self.send_header(name, value)
        if route.send_length:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not send_body:
            return

        if route.cut_after is not None:
            self.wfile.write(body[: route.cut_after])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if route.generated_size is not None:
            piece = b"<!-- filler -->\n" * 4096  # 64 KiB
            left = route.generated_size
            while left > 0:
                chunk = piece[: min(left, len(piece))]
                self.wfile.write(chunk)
                left -= len(chunk)
                if route.chunk_delay:
                    self.wfile.flush()
                    time.sleep(route.chunk_delay)
            return
        if route.chunk_size and route.chunk_delay:
            for start in range(0, len(body), route.chunk_size):
                self.wfile.write(body[start : start + route.chunk_size])
                self.wfile.flush()
                time.sleep(route.chunk_delay)
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-answer are part of the tests


class FeedServer:
    """A loopback HTTP server for feeds. Start with `with FeedServer() as server:`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._directories: list[tuple[str, Path]] = []
        self._file_cache: dict[Path, _Route] = {}
        self.requests: list[LoggedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FeedServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()

    def server_close(self) -> None:
        if self._httpd is not None:
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FeedServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, with a trailing slash: http://127.0.0.1:PORT/"""
        return f"http://127.0.0.1:{self.port}/"

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # -- routes ------------------------------------------------------------------------

    def _put(self, path: str, route: _Route) -> None:
        if not path.startswith("/"):
            raise ValueError(f"route paths start with '/': {path!r}")
        with self._lock:
            self._routes[path] = route

    def add_feed(
        self,
        path: str,
        body: bytes,
        content_type: str | None = "application/rss+xml",
        *,
        etag: bool = True,
        last_modified: bool = True,
        encoding: str | None = None,
        charset: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve `body` at `path` with validators and 304s.

        `encoding` is a Content-Encoding applied on the wire ("gzip", "br", "deflate") when
        the client accepts it; `charset` is appended to the Content-Type.
        """
        if charset and content_type:
            content_type = f"{content_type}; charset={charset}"
        previous = self._routes.get(path)
        stamp = float(int(time.time()))
        if previous is not None and previous.last_modified is not None:
            stamp = max(stamp, previous.last_modified + 1)  # HTTP dates have 1 s resolution
        self._put(
            path,
            _Route(
                body=body,
                content_type=content_type,
                etag=_etag_for(body) if etag else None,
                last_modified=stamp if last_modified else None,
                content_encoding=encoding,
                extra_headers=dict(headers or {}),
            ),
        )

    def set_feed(self, path: str, body: bytes, *args: Any, **kwargs: Any) -> None:
        """Replace the body at `path` (new ETag, a later Last-Modified)."""
        self.add_feed(path, body, *args, **kwargs)

    def add_page(self, path: str, html: str | bytes, *, charset: str = "utf-8") -> None:
        """An HTML page (no validators)."""
        body = html.encode(charset) if isinstance(html, str) else html
        self._put(path, _Route(body=body, content_type=f"text/html; charset={charset}"))

    def add_redirect(self, path: str, target: str, status: int = 301) -> None:
        """Answer `status` with `Location: target` (a path, or an absolute URL)."""
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"not a redirect status: {status}")
        self._put(
            path,
            _Route(
                status=status,
                body=b"moved\n",
                content_type="text/plain",
                extra_headers={"Location": target},
            ),
        )

    def add_status(
        self,
        path: str,
        status: int,
        *,
        body: bytes = b"",
        content_type: str = "text/html",
        retry_after: str | int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer a fixed status, e.g. 404, 410, 500, or 429/503 with Retry-After."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        self._put(
            path,
            _Route(
                status=status,
                body=body or f"status {status}\n".encode(),
                content_type=content_type,
                extra_headers=extra,
            ),
        )

    def add_slow(
        self,
        path: str,
        body: bytes,
        *,
        chunk_size: int = 256,
        delay: float = 0.1,
        content_type: str = "application/rss+xml",
    ) -> None:
        """Send `body` in pieces of `chunk_size` bytes, sleeping `delay` s after each."""
        self._put(
            path,
            _Route(
                body=body,
                content_type=content_type,
                chunk_size=max(1, chunk_size),
                chunk_delay=delay,
            ),
        )

    def add_held(
        self, path: str, body: bytes, *, hold: float, content_type: str = "application/rss+xml"
    ) -> None:
        """Wait `hold` seconds before answering (for counting simultaneous requests)."""
        self._put(path, _Route(body=body, content_type=content_type, hold=hold))

    def add_large(
        self,
        path: str,
        size: int,
        *,
        send_length: bool = True,
        content_type: str = "application/rss+xml",
        delay: float = 0.0,
    ) -> None:
        """Stream `size` filler bytes without building them in memory.

        With `send_length=False` there is no Content-Length: the body ends when the
        connection closes, so only a streaming cap can stop it.
        """
        self._put(
            path,
            _Route(
                content_type=content_type,
                generated_size=size,
                send_length=send_length,
                chunk_delay=delay,
            ),
        )

    def add_cut(
        self,
        path: str,
        body: bytes,
        *,
        cut_after: int,
        content_type: str = "application/rss+xml",
    ) -> None:
        """Announce the whole body's length, send `cut_after` bytes, then close."""
        self._put(path, _Route(body=body, content_type=content_type, cut_after=cut_after))

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    def serve_directory(self, prefix: str, directory: str | Path) -> list[str]:
        """Serve each file of `directory` under `prefix`; returns the paths served.

        Content types are guessed from the extension; ETag/Last-Modified/304 as for feeds.
        Files are read on first request and kept in memory.
        """
        root = Path(directory).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"not a directory: {root}")
        prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        with self._lock:
            self._directories.append((prefix, root))
        return sorted(prefix + p.name for p in root.iterdir() if p.is_file())

    def _file_route(self, path: str) -> _Route | None:
        for prefix, root in self._directories:
            if not path.startswith(prefix):
                continue
            name = path[len(prefix) :]
            if not name or "/" in name or name in (".", ".."):
                continue
            file = root / name
            route = self._file_cache.get(file)
            if route is not None:
                return route
            if not file.is_file():
                continue
            body = file.read_bytes()
            ctype = FEED_TYPES.get(file.suffix.lower()) or mimetypes.guess_type(name)[0]
            route = _Route(
                body=body,
                content_type=ctype or "application/octet-stream",
                etag=_etag_for(body),
                last_modified=float(int(file.stat().st_mtime)),
            )
            with self._lock:
                self._file_cache[file] = route
            return route
        return None

    def _route_for(self, path: str, query: str) -> _Route | None:
        with self._lock:
            route = self._routes.get(f"{path}?{query}") if query else None
            route = route or self._routes.get(path)
        return route or self._file_route(path)

    # -- request log -------------------------------------------------------------------

    def _enter(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def hits(self, path: str) -> int:
        """How many requests reached `path` (any method)."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def requests_for(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight


# -- feed builders ---------------------------------------------------------------------


def _text(value: Any) -> str:
    return escape(str(value))


def _rfc822(value: float | str) -> str:
    return value if isinstance(value, str) else email.utils.formatdate(value, usegmt=True)


def _iso(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def _xml_bytes(text: str, encoding: str) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
    return (head + text).encode(encoding, errors="xmlcharrefreplace")


def make_rss(
    title: str,
    items: list[dict[str, Any]],
    *,
    link: str = "http://example.org/",
    description: str = "A feed made for the tests",
    encoding: str = "utf-8",
    self_url: str | None = None,
) -> bytes:
    """An RSS 2.0 document.

    Item keys (all optional): title, link, guid, description (HTML, escaped), content
    (content:encoded), author, pub_date (POSIX seconds or an RFC 822 string), and comment
    metadata: comments (page URL), comment_rss (wfw:commentRss), comment_api (wfw:comment),
    comment_count (slash:comments).
    """
    out = [
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
        ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{_text(title)}</title>",
        f"<link>{_text(link)}</link>",
        f"<description>{_text(description)}</description>",
    ]
    if self_url:
        out.append(f'<atom:link href={quoteattr(self_url)} rel="self" type="application/rss+xml"/>')
    for n, item in enumerate(items):
        out.append("<item>")
        out.append(f"<title>{_text(item.get('title', f'Item {n + 1}'))}</title>")
        if "link" in item:
            out.append(f"<link>{_text(item['link'])}</link>")
        guid = item.get("guid", item.get("link", f"urn:termnews-test:{title}:{n}"))
        out.append(f'<guid isPermaLink="false">{_text(guid)}</guid>')
        if "description" in item:
            out.append(f"<description>{_text(item['description'])}</description>")
        if "content" in item:
            out.append(f"<content:encoded>{_text(item['content'])}</content:encoded>")
        if "author" in item:
            out.append(f"<dc:creator>{_text(item['author'])}</dc:creator>")
        if "pub_date" in item:
            out.append(f"<pubDate>{_text(_rfc822(item['pub_date']))}</pubDate>")
        if "comments" in item:
            out.append(f"<comments>{_text(item['comments'])}</comments>")
        if "comment_rss" in item:
            out.append(f"<wfw:commentRss>{_text(item['comment_rss'])}</wfw:commentRss>")
        if "comment_api" in item:
            out.append(f"<wfw:comment>{_text(item['comment_api'])}</wfw:comment>")
        if "comment_count" in item:
            out.append(f"<slash:comments>{int(item['comment_count'])}</slash:comments>")
        out.append("</item>")
    out.append("</channel>\n</rss>\n")
    return _xml_bytes("\n".join(out), encoding)


def make_json_feed(
    title: str,
    items: list[dict[str, Any]],
    *,
    home_page_url: str = "http://example.org/",
    version: str = "https://jsonfeed.org/version/1.1",
) -> bytes:
    """A JSON Feed document; items are JSON Feed item objects, passed through as they are."""
    document = {"version": version, "title": title, "home_page_url": home_page_url}
    return json.dumps({**document, "items": items}, indent=1).encode("utf-8")


def make_atom(
    title: str,
    entries: list[dict[str, Any]],
    *,
    link: str = "http://example.org/",
    feed_id: str = "urn:termnews-test:feed",
    updated: float | str = 1_700_000_000.0,
    encoding: str = "utf-8",
    self_url: str | None = None,
) -> bytes:
    """An Atom 1.0 document.

    Entry keys (all optional): id, title, link, summary, content (HTML), author,
    updated/published (POSIX seconds or ISO strings), and comment metadata: replies_html
    (rel="replies" type text/html), replies_feed (rel="replies" type application/atom+xml),
    thr_count (on both replies links), thr_total.
    """
    out = [
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">',
        f"<title>{_text(title)}</title>",
        f"<id>{_text(feed_id)}</id>",
        f"<updated>{_iso(updated)}</updated>",
        f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>',
    ]
    if self_url:
        out.append(f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>')
    for n, entry in enumerate(entries):
        out.append("<entry>")
        out.append(f"<id>{_text(entry.get('id', f'{feed_id}:{n}'))}</id>")
        out.append(f"<title>{_text(entry.get('title', f'Entry {n + 1}'))}</title>")
        out.append(f"<updated>{_iso(entry.get('updated', updated))}</updated>")
        if "published" in entry:
            out.append(f"<published>{_iso(entry['published'])}</published>")
        if "link" in entry:
            out.append(f'<link rel="alternate" type="text/html" href={quoteattr(entry["link"])}/>')
        if "author" in entry:
            out.append(f"<author><name>{_text(entry['author'])}</name></author>")
        if "summary" in entry:
            out.append(f'<summary type="html">{_text(entry["summary"])}</summary>')
        if "content" in entry:
            out.append(f'<content type="html">{_text(entry["content"])}</content>')
        count = entry.get("thr_count")
        thr = f' thr:count="{int(count)}"' if count is not None else ""
        if "replies_html" in entry:
            href = quoteattr(entry["replies_html"])
            out.append(f'<link rel="replies" type="text/html" href={href}{thr}/>')
        if "replies_feed" in entry:
            href = quoteattr(entry["replies_feed"])
            out.append(f'<link rel="replies" type="application/atom+xml" href={href}{thr}/>')
        if "thr_total" in entry:
            out.append(f"<thr:total>{int(entry['thr_total'])}</thr:total>")
        out.append("</entry>")
    out.append("</feed>\n")
    return _xml_bytes("\n".join(out), encoding)


@contextlib.contextmanager
def running_feed_server() -> Iterator[FeedServer]:
    """`with running_feed_server() as server:` for code that wants a plain generator."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.close()
