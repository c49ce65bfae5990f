"""A small blog of the tests' own on loopback: comment form, CommentAPI, comment feed, REST.

It stores a comment the moment it arrives and can answer late, trickle an answer, drop
its post page or lose what it got; it never answers 409 to a duplicate.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from termnews.model import ArticleDetail
from termnews.service import NewsService
from tests.support.feedserver import make_rss
from tests.support.news import only_article


@dataclass
class Site:
    """A small blog: one post with a comment form, CommentAPI and a comment feed."""

    answer_delay: float = 0.0  # seconds between storing a comment and answering
    store: bool = True  # False: the comment is lost (the site never got to store it)
    trickle: bool = False  # answer one byte every 0.1 s, for as long as the client listens
    drop: bool = False  # store the comment, then close the connection without an answer
    page_down: bool = False  # the post page's connection closes without an answer
    commentapi: bool = True  # the feed advertises a CommentAPI endpoint
    rest_error: tuple[int, str, str] | None = None  # POST /wp-json/…: (status, code, message)
    comments: list[tuple[str, str]] = field(default_factory=list)  # (author, text)
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def feed(self) -> bytes:
        item = {
            "title": "A post",
            "link": self.url("/post/"),
            "comment_rss": self.url("/post/feed/"),
        }
        if self.commentapi:
            item["comment_api"] = self.url("/commentapi")
        return make_rss("Blog", [item])

    def comment_feed(self) -> bytes:
        with self.lock:
            stored = list(self.comments)
        items: list[dict[str, Any]] = [
            {
                "title": f"By: {author}",
                "link": self.url(f"/post/#comment-{n + 1}"),
                "author": author,
                "content": f"<p>{html.escape(text)}</p>",
                "pub_date": 1_700_000_000 + n,
            }
            for n, (author, text) in enumerate(stored)
        ]
        return make_rss("Comments on: A post", items)

    def page(self) -> bytes:
        return (
            b"<html><head><title>A post</title></head><body><p>Words.</p>"
            b'<form action="/wp-comments-post.php" method="post" id="commentform">'
            b'<textarea name="comment"></textarea>'
            b"<input type='hidden' name='comment_post_ID' value='7' />"
            b"</form></body></html>"
        )


class _Handler(BaseHTTPRequestHandler):
    site: Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        site = self.site
        if self.path == "/feed.xml":
            self._send(200, site.feed(), "application/rss+xml")
        elif self.path == "/post/feed/":
            self._send(200, site.comment_feed(), "application/rss+xml")
        elif self.path == "/post/":
            if site.page_down:
                self.close_connection = True
                return
            self._send(200, site.page(), "text/html; charset=utf-8")
        else:
            self._send(404, b"not here", "text/plain")

    def do_POST(self) -> None:
        site = self.site
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        if self.path.startswith("/wp-json/") and site.rest_error is not None:
            status, code, message = site.rest_error
            answer = json.dumps({"code": code, "message": message, "data": {"status": status}})
            self._send(status, answer.encode(), "application/json")
            return
        if self.path == "/commentapi":
            text = html.unescape(re.search(r"<description>(.*)</description>", raw, re.S)[1])  # type: ignore[index]
            author = html.unescape(re.search(r"\((.*)\)</author>", raw)[1])  # type: ignore[index]
        else:
            form = urllib.parse.parse_qs(raw)
            text, author = form["comment"][0], form["author"][0]
        with site.lock:
            site.posts += 1
            if site.store:
                site.comments.append((author, text))
            number = len(site.comments)
        if site.drop:
            self.close_connection = True
            return
        if site.trickle:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(300):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        time.sleep(site.answer_delay)
        try:
            if self.path == "/commentapi":
                self._send(201, b"thanks", "text/plain")
            else:
                where = site.url(f"/post/#comment-{number}")
                self._send(302, b"", "text/html", {"Location": where})
        except OSError:
            pass  # the client gave up long ago


@pytest.fixture
def comment_site() -> Iterator[Site]:
    """The blog, started on a free port and shut down after the test."""
    state = Site()
    handler = type("Handler", (_Handler,), {"site": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def the_post(service: NewsService, site: Site) -> ArticleDetail:
    """The site's one post, through a subscription to its feed."""
    return await only_article(service, site.url("/feed.xml"))
