"""Feed bytes -> model objects.

feedparser is the reference parser. Parsing is CPU-bound and holds the GIL, so the UI and
the refresher call it through `ParsePool`, which runs `parse_feed` in worker processes.
"""

from __future__ import annotations

import asyncio
import calendar
import html
import io
import multiprocessing
import os
import re
import sys
import threading
import xml.sax
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import feedparser

from termnews.model import CommentMeta, ParsedEntry, ParsedFeed, content_hash

__all__ = ["FeedParseError", "ParsePool", "parse_feed"]

T = TypeVar("T")

WFW_NS = "http://wellformedweb.org/CommentAPI/"
SLASH_NS = "http://purl.org/rss/1.0/modules/slash/"
THREAD_NS = "http://purl.org/syndication/thread/1.0"

_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->", re.DOTALL)
_SPACE_RE = re.compile(r"\s+")
# Only ';'-terminated references: html.unescape alone would turn "?a=1&copy=2" into "?a=1©=2".
_URL_ENTITY_RE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_HTML_START_RE = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)


class FeedParseError(Exception):
    """A document that is not a usable feed. str() is a one-line message for a human."""


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse one feed document. Pure: safe to call in a worker process.

    Raises FeedParseError, and nothing else, for a document that yields no feed.
    """
    try:
        return _parse_with_feedparser(body, url, content_type)
    except FeedParseError:
        raise
    except Exception as exc:  # a parser bug must not become a traceback for the user
        raise FeedParseError(f"could not parse the feed: {_one_line(exc)}") from None


def _parse_with_feedparser(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    if not body or not body.strip():
        raise FeedParseError("not a feed: the document is empty")
    stripped = body.lstrip(b" \t\r\n")
    if stripped is not body and stripped.startswith(b"<?xml"):
        # Whitespace before the XML declaration (a common WordPress plugin bug) is fatal to
        # the strict parser, and feedparser's loose fallback is less faithful.
        body = stripped
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
    title = _plain_text(feed_info.get("title"))
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

    prefixes = _namespace_prefixes(d.get("namespaces") or {})
    entries = [_entry(e, prefixes) for e in raw_entries]
    return ParsedFeed(
        title=title,
        site_url=_clean_url(feed_info.get("link")),
        entries=entries,
        format=version,
        warning=problem,
    )


def _entry(e: Mapping[str, Any], prefixes: Mapping[str, list[str]]) -> ParsedEntry:
    title = _plain_text(e.get("title")) or ""
    summary = e.get("summary") or None
    link = _clean_url(e.get("link"))
    guid = (e.get("id") or "").strip() or link or content_hash(title, summary)
    author = (e.get("author") or "").strip() or None
    if author is None:
        detail = e.get("author_detail") or {}
        author = (detail.get("name") or "").strip() or None
    # dict.get: FeedParserDict.get would alias updated_parsed to published_parsed (and warn).
    published = _timestamp(dict.get(e, "published_parsed"))
    updated = _timestamp(dict.get(e, "updated_parsed"))
    if published is None:
        published = updated if updated is not None else _timestamp(dict.get(e, "created_parsed"))
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
        comments=_comment_meta(e, prefixes),
    )


def _comment_meta(e: Mapping[str, Any], prefixes: Mapping[str, list[str]]) -> CommentMeta:
    def first(namespace: str, *names: str) -> Any:
        for prefix in prefixes.get(namespace, ()):
            for name in names:
                value = e.get(f"{prefix}_{name}")
                if value:
                    return value
        return None

    meta = CommentMeta(
        page_url=_clean_url(e.get("comments")),
        feed_url=_clean_url(first(WFW_NS, "commentrss")),
        api_url=_clean_url(first(WFW_NS, "comment")),
        count=_count(first(SLASH_NS, "comments")),
    )
    if meta.count is None:
        meta.count = _count(first(THREAD_NS, "total"))
    for link in e.get("links") or ():
        if (link.get("rel") or "").lower() != "replies":
            continue
        href = _clean_url(link.get("href"))
        kind = (link.get("type") or "").lower()
        if href and "html" in kind:
            meta.page_url = meta.page_url or href
        elif href and ("atom" in kind or "rss" in kind or "xml" in kind):
            meta.feed_url = meta.feed_url or href
        if meta.count is None:
            meta.count = _count(_link_count(link, prefixes.get(THREAD_NS, ())))
    return meta


def _link_count(link: Mapping[str, Any], thread_prefixes: list[str]) -> Any:
    for prefix in thread_prefixes:
        if link.get(f"{prefix}:count"):
            return link[f"{prefix}:count"]
    return link.get("count")


def _namespace_prefixes(namespaces: Mapping[str, str]) -> dict[str, list[str]]:
    """Map each comment namespace to the prefixes this feed bound it to (plus the usual one).

    feedparser names an element `<prefix>_<name>` after the prefix the feed used (it renames
    only the namespaces it knows), so the prefix has to be looked up per feed.
    """
    wanted = {_ns_key(WFW_NS): WFW_NS, _ns_key(SLASH_NS): SLASH_NS, _ns_key(THREAD_NS): THREAD_NS}
    found: dict[str, list[str]] = {WFW_NS: [], SLASH_NS: [], THREAD_NS: []}
    for prefix, uri in namespaces.items():
        namespace = wanted.get(_ns_key(uri or ""))
        if namespace and prefix:
            found[namespace].append(prefix)
    for namespace, usual in ((WFW_NS, "wfw"), (SLASH_NS, "slash"), (THREAD_NS, "thr")):
        if usual not in found[namespace]:
            found[namespace].append(usual)
    return found


def _ns_key(uri: str) -> str:
    return uri.strip().lower().rstrip("/")


def _longest_content(contents: Any) -> str | None:
    values = [c.get("value") or "" for c in contents or ()]
    best = max(values, key=len, default="")
    return best or None


def _timestamp(parsed: Any) -> float | None:
    if not parsed:
        return None
    try:
        return float(calendar.timegm(parsed))
    except (TypeError, ValueError, OverflowError):
        return None


def _count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _plain_text(value: Any) -> str | None:
    """Feed text as plain text: tags feedparser left in are dropped, entities decoded."""
    if not value:
        return None
    text = str(value)
    if "<" in text:
        text = _TAG_RE.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = _SPACE_RE.sub(" ", text).strip()
    return text or None


def _clean_url(value: Any) -> str | None:
    if not value:
        return None
    url = str(value).strip()
    if "&" in url:
        url = _URL_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), url)
    return url or None


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
    return _one_line(exc)


def _one_line(exc: BaseException) -> str:
    text = _SPACE_RE.sub(" ", str(exc)).strip()
    return text or type(exc).__name__


# --- process pool ---------------------------------------------------------------------------

_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver on Linux (fork is unsafe once the UI's threads exist); spawn elsewhere."""
    global _context
    with _context_lock:
        if _context is None:
            if sys.platform.startswith("linux"):
                ctx = multiprocessing.get_context("forkserver")
                # Workers fork from a server that has already imported feedparser.
                ctx.set_forkserver_preload(["termnews.parse"])
                _context = ctx
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


class ParsePool:
    """Runs parse_feed in a process pool: parsing is CPU-bound and must never run on the
    UI's event loop or in a thread."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._max_workers = max_workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def parse(self, body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
        """parse_feed in a worker process. Raises FeedParseError for every failure."""
        return await self._call(parse_feed, body, url, content_type)

    async def _call(self, func: Callable[..., T], *args: Any) -> T:
        executor = self._get_executor()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, func, *args)
        except FeedParseError:
            raise
        except BrokenProcessPool:
            self._discard(executor)
            raise FeedParseError(
                "the parser process stopped unexpectedly on this feed (it has been restarted)"
            ) from None
        except Exception as exc:
            raise FeedParseError(f"could not parse the feed: {_one_line(exc)}") from None

    def _get_executor(self) -> Executor:
        with self._lock:
            if self._closed:
                raise FeedParseError("the parser pool has been closed")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self._max_workers, mp_context=_mp_context()
                )
            return self._executor

    def _discard(self, broken: Executor) -> None:
        """Forget a broken executor so the next call starts a fresh one."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
