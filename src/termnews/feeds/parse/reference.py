"""The reference path: feedparser, with its HTML sanitizer and URI resolving off (termnews
never emits HTML, and feedparser's sanitizer is its dominant cost)."""

from __future__ import annotations

import io
import re
import xml.sax
from collections.abc import Mapping
from typing import Any

import feedparser

from termnews.feeds.parse.common import (
    FeedParseError,
    clean_url,
    one_line,
    plain_text,
    timestamp,
)
from termnews.feeds.parse.media import enclosures
from termnews.feeds.parse.meta import comment_meta, namespace_prefixes
from termnews.model import Enclosure, ParsedEntry, ParsedFeed, content_hash

__all__ = ["parse_with_feedparser"]

_HTML_START_RE = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)


def parse_with_feedparser(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    if not body or not body.strip():
        raise FeedParseError("not a feed: the document is empty")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # A BytesIO, never bare bytes: feedparser tries to open() a bytes/str argument as a path.
    d = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    raw_entries = d.get("entries") or []
    feed_info = d.get("feed") or {}
    title = plain_text(feed_info.get("title"))
    version = d.get("version") or ""
    problem = _bozo_message(d.get("bozo_exception")) if d.get("bozo") else None
    if isinstance(d.get("bozo_exception"), feedparser.NonXMLContentType):
        problem = None  # a feed served as text/plain or without a type parses the same

    if not raw_entries:
        if _looks_like_html(body, content_type) and not version:
            raise FeedParseError("not a feed (got an HTML page)")
        if problem and not title:
            raise FeedParseError(f"not a feed: {problem}")
        if not version and not title:
            raise FeedParseError("not a feed: no entries and no feed title (not RSS or Atom)")

    prefixes = namespace_prefixes(d.get("namespaces") or {})
    entries = [_entry(e, prefixes) for e in raw_entries]
    return ParsedFeed(
        title=title,
        site_url=clean_url(feed_info.get("link")),
        entries=entries,
        format=version,
        warning=problem,
    )


def _entry(e: dict[str, Any], prefixes: Mapping[str, list[str]]) -> ParsedEntry:
    title = plain_text(e.get("title")) or ""
    summary = e.get("summary") or None
    link = clean_url(e.get("link"))
    guid = (e.get("id") or "").strip() or link or content_hash(title, summary)
    author = (e.get("author") or "").strip() or None
    if author is None:
        detail = e.get("author_detail") or {}
        author = (detail.get("name") or "").strip() or None
    # dict.get: FeedParserDict.get would alias updated_parsed to published_parsed (and warn).
    published = timestamp(dict.get(e, "published_parsed"))
    updated = timestamp(dict.get(e, "updated_parsed"))
    if published is None:
        published = updated if updated is not None else timestamp(dict.get(e, "created_parsed"))
    if updated is None:
        updated = published
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        author=author,
        published=published,
        updated=updated,
        summary=summary,
        content=_longest_content(e.get("content")),
        comments=comment_meta(e, prefixes),
        enclosures=_enclosures(e),
    )


def _enclosures(e: dict[str, Any]) -> list[Enclosure]:
    links = e.get("enclosures") or []  # feedparser's view of the links with rel="enclosure"
    media = e.get("media_content") or []
    return enclosures(
        [link for link in links if isinstance(link, Mapping)],
        [content for content in media if isinstance(content, Mapping)],
        e.get("itunes_duration"),
    )


def _longest_content(contents: Any) -> str | None:
    values = [c.get("value") or "" for c in contents or ()]
    best = max(values, key=len, default="")
    return best or None


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and content_type.split(";", 1)[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    ):
        return True
    head = body[:2048].lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START_RE.match(head))


def _bozo_message(exc: Any) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"not well-formed XML at line {exc.getLineNumber()}: {exc.getMessage()}"
    if exc is None:
        return "the document has errors"
    return one_line(exc)
