"""The comment-feed backend: a post's RSS `wfw:commentRss` or Atom `rel="replies"` feed.

Comment feeds are small, so feedparser runs in a thread of this process rather than in
the parse pool; the body is capped before it gets there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import feedparser
import httpx

from termnews import http
from termnews.comments.backend import (
    MAX_BODY_BYTES,
    MAX_COMMENTS,
    Capability,
    CommentError,
    Outgoing,
    PostOutcome,
    PostResult,
    Probe,
    hostname_of,
)
from termnews.comments.text import comment_number, local_id, timestamp
from termnews.model import ArticleDetail, Comment, CommentSource, TargetKind
from termnews.sanitize import clean_line, clean_url

SOURCE = CommentSource.FEED
THREAD_NS = "http://purl.org/syndication/thread/1.0"
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
# WordPress starts an RSS reply with "<p>In reply to <a href="…#comment-3">Name</a>.</p>".
_IN_REPLY_TO = re.compile(
    r"^\s*<p>\s*In reply to\s*<a\s[^>]*href=[\"'][^\"']*#comment-(\d+)[\"']", re.IGNORECASE
)


async def read_comment_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    max_comments: int = MAX_COMMENTS,
) -> list[Comment]:
    """Fetch and parse one comment feed; raises CommentError with a one-line reason."""
    host = hostname_of(url) or "the site"
    try:
        answer = await http.get(client, url, max_bytes=max_bytes, accept=FEED_ACCEPT)
    except http.HttpFailure as exc:
        raise CommentError(f"comment feed: {http.about(host, exc.message)}") from exc
    if answer.status != 200:
        raise CommentError(f"comment feed: {host} answered HTTP {answer.status}")
    return await asyncio.to_thread(parse_comment_feed, answer.body, url, max_comments)


def parse_comment_feed(body: bytes, url: str, max_comments: int = MAX_COMMENTS) -> list[Comment]:
    """Comment feed bytes -> comments (oldest first), author strings cleaned."""
    try:
        parsed = feedparser.parse(
            body, response_headers={"content-location": url}, sanitize_html=False
        )
    except Exception as exc:  # feedparser is robust, but a hostile feed must not crash a read
        raise CommentError(f"comment feed: cannot be read ({type(exc).__name__})") from exc
    if not parsed.entries and not parsed.get("version"):
        raise CommentError("comment feed: not a feed this reader understands")
    thread_key = _thread_key(parsed.get("namespaces", {}))
    comments: list[Comment] = []
    for entry in parsed.entries[:max_comments]:
        comments.append(_comment(entry, thread_key))
    # Atom's thr:in-reply-to of a top-level comment names the post itself.
    known = {c.remote_id for c in comments}
    for comment in comments:
        if comment.parent_id not in known:
            comment.parent_id = None
    comments.sort(key=lambda c: c.published or 0.0)
    return comments


def _thread_key(namespaces: Mapping[str, str]) -> str:
    for prefix, uri in namespaces.items():
        if uri.rstrip("/") == THREAD_NS.rstrip("/") and prefix:
            return f"{prefix}_in-reply-to"
    return "thr_in-reply-to"


def _content(entry: Mapping[str, Any]) -> str:
    contents = entry.get("content") or []
    values = [c.get("value", "") for c in contents if isinstance(c, Mapping)]
    best = max(values, key=len, default="")
    return best or entry.get("summary", "") or ""


def _comment(entry: Mapping[str, Any], thread_key: str) -> Comment:
    link = entry.get("link")
    guid = entry.get("id") or ""
    content = _content(entry)
    remote = comment_number(link, guid) or guid or local_id(link or "", content)
    parent: str | None = None
    reply = entry.get(thread_key)
    if isinstance(reply, Mapping):
        ref = reply.get("ref") or ""
        parent = comment_number(reply.get("href"), ref) or ref or None
    if parent is None:
        match = _IN_REPLY_TO.match(content)
        if match:
            parent = match.group(1)
    detail = entry.get("author_detail") or {}
    if not isinstance(detail, Mapping):
        detail = {}
    # feedparser's `author` is "Name (e-mail)" when the feed gives both; the name is enough.
    author = detail.get("name") or entry.get("author") or ""
    if not author:
        # WordPress titles comments "By: Name"; other feeds have only a title.
        title = entry.get("title") or ""
        author = title[4:] if title.startswith("By: ") else ""
    return Comment(
        source=SOURCE,
        remote_id=clean_line(remote, 500),
        parent_id=clean_line(parent, 500) if parent else None,
        author=clean_line(author, 100) or "anonymous",
        author_url=clean_url(detail.get("href")),
        published=timestamp(entry.get("published_parsed") or entry.get("updated_parsed")),
        content_html=content,
        link=clean_url(link),
    )


class CommentFeedBackend:
    """Reads the post's comment feed; it takes no comments."""

    source: CommentSource | None = SOURCE
    kinds: tuple[TargetKind, ...] = ()

    def __init__(self, deps: object) -> None:
        pass

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        return Probe(Capability.READ if article.comments.feed_url else Capability.NONE)

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        if not article.comments.feed_url:
            return None
        return await read_comment_feed(client, article.comments.feed_url)

    async def read_back(
        self, client: httpx.AsyncClient, outgoing: Outgoing
    ) -> list[Comment] | None:
        return None

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        return PostResult(PostOutcome.REJECTED, "a comment feed takes no comments", None, False)
