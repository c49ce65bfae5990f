"""Feed bytes -> model objects.

feedparser is the reference parser. Parsing is CPU-bound and holds the GIL, so the UI and
the refresher call it through `ParsePool`, which runs `parse_feed` in worker processes.
"""

from __future__ import annotations

import asyncio
import calendar
import codecs
import contextlib
import functools
import html
import io
import multiprocessing
import os
import re
import sys
import threading
import urllib.parse
import xml.sax
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar
from xml.etree import ElementTree

import feedparser

from termnews.errors import TermnewsError
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


class FeedParseError(TermnewsError):
    """A document that is not a usable feed. str() is a one-line message for a human."""


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, fast: bool = True
) -> ParsedFeed:
    """Parse one feed document. Pure: safe to call in a worker process.

    With fast=True, a plain well-formed RSS/Atom document is read by a quick ElementTree
    reader that mirrors feedparser; everything else goes to feedparser itself.
    Raises FeedParseError, and nothing else, for a document that yields no feed.
    """
    try:
        body = _trim_before_declaration(body)
        if fast:
            feed = _fast_parse(body, url, content_type)
            if feed is not None and (feed.entries or feed.title):
                return feed
        return _parse_with_feedparser(body, url, content_type)
    except FeedParseError:
        raise
    except Exception as exc:  # a parser bug must not become a traceback for the user
        raise FeedParseError(f"could not parse the feed: {_one_line(exc)}") from None


def _trim_before_declaration(body: bytes) -> bytes:
    """Drop whitespace before "<?xml" (a common WordPress plugin bug).

    It is fatal to a strict XML parser, and feedparser's loose fallback is less faithful.
    """
    stripped = body.lstrip(b" \t\r\n")
    if stripped is not body and stripped.startswith(b"<?xml"):
        return stripped
    return body


def _parse_with_feedparser(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
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
                ctx.set_forkserver_preload(["termnews.feeds.parse"])
                _context = ctx
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def _ready() -> bool:
    return True


def start_helpers() -> None:
    """Start multiprocessing's helper processes (resource tracker, forkserver) now.

    Call before a UI takes over the terminal: both hand their new process the current
    `sys.stderr.fileno()`, and Textual's stand-in for stderr has none, so starting them
    later from inside the app fails ("bad value(s) in fds_to_keep"). Cheap: the
    forkserver imports termnews.feeds.parse in its own process, without waiting.
    """
    from multiprocessing import resource_tracker

    context = _mp_context()
    resource_tracker.ensure_running()
    if isinstance(context, multiprocessing.context.ForkServerContext):
        from multiprocessing import forkserver

        forkserver.ensure_running()


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

    def warm_up(self) -> None:
        """Start the workers now (call from a thread): starting the forkserver and its
        feedparser import takes ~0.1 s that would otherwise wait for the first feed."""
        executor = self._get_executor()
        for future in [executor.submit(_ready) for _ in range(self._max_workers)]:
            future.result()

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


# --- fast path ------------------------------------------------------------------------------
# A well-formed RSS 2.0 / RSS 1.0 / Atom 1.0 document built only from elements whose meaning
# is listed below is read straight from an ElementTree (expat in C), mirroring what feedparser
# would make of it. Anything else -- a parse error, a DOCTYPE, an element feedparser
# would map onto one of our fields in a way not mirrored here -- returns None, and feedparser
# parses the feed. tests/test_corpus_parse.py checks the two agree over the whole corpus.

_ATOM = "http://www.w3.org/2005/Atom"
_RSS1 = "http://purl.org/rss/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_K_RSS1, _K_ATOM = _RSS1.rstrip("/"), _ATOM.lower()
_K_WFW, _K_SLASH, _K_THREAD = (u.lower().rstrip("/") for u in (WFW_NS, SLASH_NS, THREAD_NS))
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# Namespace declarations, read from the text: ElementTree drops the prefixes.
_XMLNS_RE = re.compile(rb"""\sxmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(["'])([^"'<>&]*)\2""")
_XML_DECL_RE = re.compile(rb"""^<\?xml[^>]*?encoding=["']([A-Za-z0-9._:-]+)["']""")


class _Decline(Exception):
    """The fast path does not take this document; feedparser will."""


def _fast_parse(body: bytes, url: str, content_type: str | None) -> ParsedFeed | None:
    try:
        return _FastReader(body, url, content_type).read()
    except Exception:  # _Decline, or a surprise: either way feedparser has the last word
        return None


try:  # feedparser internals the fast path mirrors; without them it stays off
    from feedparser.api import StrictFeedParser
    from feedparser.datetimes import _parse_date as _fp_parse_date
    from feedparser.mixin import _FeedParserMixin
    from feedparser.urls import _urljoin as _fp_urljoin
    from feedparser.urls import make_safe_absolute_uri as _fp_safe_uri

    _FP_INTERNALS = True
except ImportError:  # pragma: no cover - a feedparser too different to mirror
    _FP_INTERNALS = False


def _feedparser_names() -> tuple[dict[str, str], frozenset[str]] | None:
    """feedparser's namespace -> prefix map and the element names it has handlers for."""
    if not _FP_INTERNALS:  # pragma: no cover
        return None
    prefixes = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
    handled = frozenset(
        name.split("_", 2)[2]
        for name in dir(StrictFeedParser)
        if name.startswith(("_start_", "_end_"))
    )
    return prefixes, handled


_FP_NAMES = _feedparser_names()

# Element names (feedparser's "<prefix>_<name>") read by the fast path, per entry format.
# A repeat of one of these declines (link and the authors are taken last-wins; titles,
# summaries and content go through _EntryTexts).
_RSS_ENTRY_FIELDS = frozenset(
    {"guid", "pubdate", "author", "comments", "itunes_author", "dc_date", "updated", "published"}
)
_ATOM_ENTRY_FIELDS = frozenset({"id", "published", "updated", "author"})
# feedparser handles these, but nothing it does with them touches the fields termnews keeps.
_HARMLESS = frozenset(
    {
        "category", "enclosure", "rights", "copyright", "tags", "keywords", "contributor",
        "cc_license", "creativecommons_license", "creativeCommons_license", "dc_contributor",
        "dc_language", "dc_publisher", "dc_rights", "dc_subject", "itunes_block",
        "itunes_category", "itunes_explicit", "itunes_image", "itunes_keywords", "itunes_link",
        "media_category", "media_content", "media_credit", "media_group", "media_keywords",
        "media_license", "media_player", "media_rating", "media_restriction", "media_thumbnail",
        "psc_chapter", "psc_chapters", "georss_point", "georss_line", "georss_polygon",
        "georss_box", "georss_where", "where", "geom", "georssgeom", "gml_point", "gml_pos",
        "gml_poslist", "gml_linestring", "gml_polygon", "gml_exterior", "gml_linearring",
        "width", "height", "url", "subtitle", "tagline", "itunes_subtitle",
    }
)  # fmt: skip
# Elements feedparser reads through _start_description / _start_summary: the first becomes
# the summary, a later one becomes content while the entry has no content yet.
_SUMMARY_LIKE = frozenset(
    {"description", "dc_description", "media_description", "summary", "itunes_summary"}
)
# Elements that reset feedparser's title_depth (so a later media:title may win); taken as
# leaves only.
_TITLE_RESET = frozenset({"image", "source"})
# Text constructs read with push_content: markup inside them is serialized, not parsed.
_TEXT_CONTAINERS = frozenset({"rights", "copyright", "subtitle", "tagline", "itunes_subtitle"})
_TEXT_TYPES = ("text/plain", "text/html")
_C1_RE = re.compile("[\x80-\x9f]")
_CP1252 = str.maketrans(
    {i: bytes([i]).decode("cp1252") for i in range(128, 160) if i not in (129, 141, 143, 144, 157)}
)


class _EntryTexts:
    """An entry's title, summary and content as feedparser's bookkeeping settles them.

    feedparser keeps, per entry, the depth each value was stored at (a deeper element does
    not overwrite a shallower one), a title_depth that makes it skip later titles, and a
    hasContent flag: a summary-like element arriving while the entry already has a summary
    but no content is stored as content instead (namespaces/_base.py, mixin.py pop()).
    """

    __slots__ = (
        "contents", "has_content", "summary", "summary_at", "title", "title_at", "title_depth"
    )  # fmt: skip

    def __init__(self, has_content: bool) -> None:
        self.title: str | None = None
        self.title_at: int | None = None  # depth the title was stored at
        self.title_depth = -1  # feedparser's title_depth
        self.summary: str | None = None  # None: no 'summary' key yet
        self.summary_at: int | None = None  # None: never stored by depth (or absent)
        self.has_content = has_content
        self.contents: list[str] = []

    def add_title(self, text: str, depth: int, *, media: bool) -> None:
        """_start_title/_end_title; media:title leaves title_depth as it was."""
        if not -1 < self.title_depth <= depth and (self.title_at is None or depth <= self.title_at):
            self.title, self.title_at = text, depth
        if text and not media:
            self.title_depth = depth

    def add_summary(self, text: str, depth: int) -> None:
        if self.summary is not None and not self.has_content:
            self.add_content(text)
        elif self.summary_at is None or depth <= self.summary_at:
            self.summary, self.summary_at = text, depth

    def add_content(self, text: str) -> None:
        self.has_content = True
        self.contents.append(text)
        if self.summary is None:
            self.summary = text  # _save(): setdefault, with no depth recorded


class _FastReader:
    def __init__(self, body: bytes, url: str, content_type: str | None) -> None:
        if _FP_NAMES is None:
            raise _Decline("feedparser internals unavailable")
        self.prefixes, self.handled = _FP_NAMES
        self.body = body
        self.base = url
        self.bases: dict[ElementTree.Element, str] = {}
        self.declared: dict[str, set[str]] | None = None  # namespace -> prefixes, from the text
        self.unknown_names: dict[str, str] = {}
        self.carry: set[ElementTree.Element] = set()  # entries that start with hasContent set
        self.content_type = content_type

    # -- document level --

    def read(self) -> ParsedFeed:
        body = self.body
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise _Decline("UTF-16 byte order mark")  # feedparser decodes those its own way
        bom = body[:3] == b"\xef\xbb\xbf"
        if bom:
            body = body[3:]  # feedparser drops a UTF-8 one, then reads on as without it
        head = body[:4096]
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise _Decline("DOCTYPE or ENTITY declaration")
        if self._check_content_type(head) != "utf-8" and bom:
            raise _Decline("UTF-8 byte order mark on a document declared otherwise")
        if urllib.parse.urlsplit(self.base).scheme not in ("http", "https"):
            raise _Decline("not an http(s) URL")
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, ValueError, LookupError) as exc:
            raise _Decline("not well-formed XML") from exc
        if b"base=" in body:
            self._compute_bases(root)
        if root.tag == "rss":
            return self._rss(root)
        if root.tag == f"{{{_ATOM}}}feed":
            return self._atom(root)
        if root.tag == f"{{{_RDF}}}RDF":
            return self._rdf(root)
        raise _Decline(f"root element {root.tag}")

    def _compute_bases(self, root: ElementTree.Element) -> None:
        """xml:base (or a bare base attribute) per element, resolved the way feedparser does."""
        stack = [(root, self.base)]
        while stack:
            el, parent = stack.pop()
            own = el.get(_XML_BASE) or el.get("base")
            base = (_fp_safe_uri(parent, own) or parent) if own else parent
            self.bases[el] = base
            stack.extend((child, base) for child in el)

    def _base(self, el: ElementTree.Element) -> str:
        return self.bases.get(el, self.base) if self.bases else self.base

    def _check_content_type(self, head: bytes) -> str:
        """Decline where feedparser's choice of encoding may differ; the declared one."""
        match = _XML_DECL_RE.match(head)
        if match is None and head.startswith(b"<?xml") and b"encoding" in head.split(b">")[0]:
            raise _Decline("unusual encoding declaration")
        try:
            declared = codecs.lookup(match.group(1).decode("ascii") if match else "utf-8").name
        except LookupError as exc:
            raise _Decline("unknown declared encoding") from exc
        if match is None and not self.content_type and not self.body.isascii():
            # feedparser reads an undeclared document served without a type as ISO-8859-1
            raise _Decline("no declared encoding, no content type")
        if self.content_type:
            media, _, params = self.content_type.partition(";")
            media = media.strip().lower()
            if not (
                media == "application/xml"
                or (media.startswith("application/") and media.endswith("+xml"))
            ):
                # feedparser's rules for text/* and unknown types differ
                raise _Decline(f"content type {media}")
            charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.I)
            if charset:
                try:
                    if codecs.lookup(charset.group(1)).name != declared:
                        raise _Decline("charset differs from the XML declaration")
                except LookupError as exc:
                    raise _Decline("unknown charset") from exc
        return declared

    # -- formats --

    def _rss(self, root: ElementTree.Element) -> ParsedFeed:
        if (root.get("version") or "").strip() != "2.0":
            raise _Decline("RSS version other than 2.0")
        channels = root.findall("channel")
        if len(channels) != 1:
            raise _Decline("not exactly one channel")
        channel = channels[0]
        items = channel.findall("item")
        if sum(1 for _ in root.iter("item")) != len(items):
            raise _Decline("items outside the channel")
        title, site_url, _ = self._channel(channel, "", {"item"})
        entries = [self._rss_entry(item, None, item in self.carry) for item in items]
        return ParsedFeed(title=title, site_url=site_url, entries=entries, format="rss20")

    def _rdf(self, root: ElementTree.Element) -> ParsedFeed:
        channels = root.findall(f"{{{_RSS1}}}channel")
        if len(channels) != 1:
            raise _Decline("not exactly one channel")
        items = root.findall(f"{{{_RSS1}}}item")
        if sum(1 for _ in root.iter(f"{{{_RSS1}}}item")) != len(items):
            raise _Decline("nested items")
        for child in root:
            name = self._name(child)
            if name not in ("channel", "item", "image", "textinput") and name in self.handled:
                raise _Decline(f"RSS 1.0 top-level {name}")
        title, site_url, has_content = self._channel(channels[0], _RSS1, {"items"})
        after_channel = False
        for child in root:  # feedparser's hasContent carries from the channel to the next item
            if child is channels[0]:
                after_channel = True
            elif after_channel and child.tag == f"{{{_RSS1}}}item":
                if has_content:
                    self.carry.add(child)
                break
        entries = [
            self._rss_entry(item, item.get(f"{{{_RDF}}}about"), item in self.carry)
            for item in items
        ]
        return ParsedFeed(title=title, site_url=site_url, entries=entries, format="rss10")

    def _atom(self, root: ElementTree.Element) -> ParsedFeed:
        entries_el = root.findall(f"{{{_ATOM}}}entry")
        if sum(1 for _ in root.iter(f"{{{_ATOM}}}entry")) != len(entries_el):
            raise _Decline("nested entries")
        title, site_url, _ = self._channel(root, _ATOM, {"entry"})
        entries = [self._atom_entry(entry, entry in self.carry) for entry in entries_el]
        return ParsedFeed(title=title, site_url=site_url, entries=entries, format="atom10")

    # -- pieces --

    def _name(self, el: ElementTree.Element) -> str:
        """The name feedparser gives an element: '<prefix>_<local>' or '<local>'."""
        tag = el.tag
        if not isinstance(tag, str):
            return ""
        name = _feedparser_name(tag)
        if name[:1] != "{":
            return name
        known = self.unknown_names.get(tag)
        if known is None:
            known = self.unknown_names[tag] = self._unknown_name(tag)
        return known

    def _unknown_name(self, tag: str) -> str:
        """The name of an element in a namespace feedparser does not know.

        feedparser names it after the prefix the document bound that namespace to (so
        xmlns:content="...modules/content" without the final slash still makes
        content_encoded), or by its local name alone where it is the default namespace.
        """
        if self.declared is None:
            self.declared = {}
            for match in _XMLNS_RE.finditer(self.body):
                prefix = (match.group(1) or b"").decode("ascii", "replace")
                uri = match.group(3).decode("utf-8", "replace")
                self.declared.setdefault(uri, set()).add(prefix)
        uri, _, local = tag[1:].partition("}")
        prefixes = self.declared.get(uri, set())
        if len(prefixes) != 1:
            raise _Decline(f"namespace {uri} bound to {len(prefixes)} prefixes")
        prefix = next(iter(prefixes))
        if prefix and sum(prefix in bound for bound in self.declared.values()) != 1:
            raise _Decline(f"prefix {prefix} bound to several namespaces")
        return f"{prefix.lower()}_{local.lower()}" if prefix else local.lower()

    def _nested(self, el: ElementTree.Element, texts: _EntryTexts, depth: int) -> None:
        """Read what feedparser takes from el's descendants (el is at `depth` in the entry).

        Declines if one of them is an element feedparser would map onto our fields in a way
        not mirrored here.
        """
        if not len(el):
            return
        container = self._name(el)
        if container in _TEXT_CONTAINERS:
            raise _Decline(f"markup in {container}")
        for sub in el:
            name = self._name(sub)
            if container == "contributor" and name in ("name", "email", "uri"):
                self._text(sub)  # feedparser files these under contributors only
            elif name in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(sub), depth + 1, media=name == "media_title")
            elif name in _SUMMARY_LIKE:
                texts.add_summary(self._content_text(sub), depth + 1)
            elif name in _TITLE_RESET:
                self._text(sub)  # a leaf only
                texts.title_depth = -1
            elif name in self.handled and name not in _HARMLESS:
                raise _Decline(f"nested {name}")
            self._nested(sub, texts, depth + 1)

    def _channel(
        self, channel: ElementTree.Element, ns: str, entry_tags: set[str]
    ) -> tuple[str | None, str | None, bool]:
        """The feed's title and site link, read from the channel's (or Atom feed's) children.

        Also follows feedparser's hasContent flag, which a channel-level summary-like element
        can set and only the end of an entry clears: entries that start with it set go into
        self.carry, and the third value is the flag at the channel's end.
        """
        title: str | None = None
        link: str | None = None
        id_link: str | None = None
        has_summary = has_content = False
        for child in channel:
            name = self._name(child)
            if name in entry_tags:
                if has_content and name != "items":
                    self.carry.add(child)
                has_content = False
                continue
            if name in _SUMMARY_LIKE:
                if has_summary and not has_content:
                    has_content = True
                elif name in ("summary", "itunes_summary"):
                    has_summary = True
            elif name in ("content", "content_encoded"):
                has_summary = has_content = True
            elif name in ("id", "guid") and _attr_ci(child, "ispermalink", "true") == "true":
                # feedparser takes an id as the link when no alternate link is given
                id_link = self._text(child, uri=True)
            elif name == "title":
                if title is not None:
                    raise _Decline("two channel titles")
                title = self._text(child, atom=ns == _ATOM)
            elif name == "link":
                if child.get("href") is not None or ns == _ATOM:
                    href = self._alternate_href(child)
                    if href is not None:
                        link = href
                else:
                    link = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", self._text(child, uri=True))
            elif name in ("dc_title", "media_title", "itunes_title"):
                raise _Decline(f"channel {name}")
        return _plain_text(title), _clean_url(link if link is not None else id_link), has_content

    def _content_text(self, el: ElementTree.Element) -> str:
        """A text construct's text (feedparser's push_content): plain text or HTML only.

        Any other type makes feedparser decode the text as base64 or serialize it as XHTML.
        """
        kind = el.get("type")
        if kind is not None and kind.lower() not in ("text", "plain", "html", *_TEXT_TYPES):
            raise _Decline(f"{self._name(el)} of type {kind}")
        return self._text(el)

    def _text(self, el: ElementTree.Element, *, uri: bool = False, atom: bool = False) -> str:
        """An element's text as feedparser's pop() leaves it (strict parser, no sanitizing)."""
        if len(el):
            # markup inside: feedparser serializes it its own way
            raise _Decline(f"markup in {self._name(el)}")
        if atom and (el.get("type") or "text").lower() not in (
            "text",
            "html",
            "text/plain",
            "text/html",
        ):
            raise _Decline(f"{self._name(el)} of type {el.get('type')}")
        if el.get("mode") is not None:
            raise _Decline("Atom 0.3 mode attribute")  # Atom 0.3 escaping / base64
        text = (el.text or "").strip()
        if uri and text:
            text = _fp_urljoin(self._base(el), text)
        # feedparser (which works on a UTF-8 copy of every document) repairs text that was
        # UTF-8 decoded as Latin-1 once too often, then maps stray C1 codes as cp1252.
        if not text.isascii():
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                text = text.encode("iso-8859-1").decode("utf-8")
            if _C1_RE.search(text):
                text = text.translate(_CP1252)
        return text

    def _alternate_href(self, el: ElementTree.Element) -> str | None:
        rel = el.get("rel", "alternate")
        kind = el.get("type", "application/atom+xml" if rel == "self" else "text/html")
        href = el.get("href")
        if href is None:
            raise _Decline("link without href")
        if rel == "alternate" and kind.lower() in (
            "text/html",
            "application/xhtml+xml",
            "html",
            "xhtml",
        ):
            return _fp_urljoin(self._base(el), href)
        return None

    def _rss_entry(
        self, item: ElementTree.Element, rdf_about: str | None, has_content: bool
    ) -> ParsedEntry:
        seen: set[str] = set()
        texts = _EntryTexts(has_content)
        link = guid = author = None
        published = updated = None
        for child in item:
            name = self._name(child)
            if name in seen and name in _RSS_ENTRY_FIELDS:
                raise _Decline(f"repeated {name}")
            seen.add(name)
            if name in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(child), 1, media=name == "media_title")
            elif name == "link":
                if child.get("href") is not None:
                    href = self._alternate_href(child)
                    if href is not None:
                        link = href
                    continue
                value = self._text(child, uri=True).replace("&amp;", "&")
                link = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value)
            elif name in _SUMMARY_LIKE:
                texts.add_summary(self._content_text(child), 1)
            elif name == "guid":
                permalink = _attr_ci(child, "ispermalink", "true") == "true"
                guid = self._text(child, uri=permalink)
                if permalink and link is None:
                    link = guid  # feedparser: a permalink guid is the link until <link> says
            elif name in ("author", "dc_creator", "itunes_author"):
                # feedparser keeps the last non-empty one; one with children is Atom-style
                value = self._atom_author(child, texts) if len(child) else self._text(child)
                author = value or author
                continue
            elif name in ("pubdate", "published"):
                published = self._date(child)
            elif name in ("dc_date", "updated"):
                updated = self._date(child)
            elif name == "content_encoded":
                texts.add_content(self._content_text(child))
            elif name in ("comments", "wfw_commentrss", "wfw_comment", "slash_comments"):
                self._text(child)
            elif name in _TITLE_RESET:
                self._text(child)  # a leaf only
                texts.title_depth = -1
            elif name in self.handled and name not in _HARMLESS:
                raise _Decline(name)
            self._nested(child, texts, 1)
        return self._entry(
            guid=guid or rdf_about or "",
            link=link,
            author=author,
            published=published,
            updated=updated,
            texts=texts,
            comments=self._comments(item),
        )

    def _atom_entry(self, entry: ElementTree.Element, has_content: bool) -> ParsedEntry:
        seen: set[str] = set()
        texts = _EntryTexts(has_content)
        link = guid = author = None
        id_link = None
        published = updated = None
        for child in entry:
            name = self._name(child)
            if name in seen and name in _ATOM_ENTRY_FIELDS:
                raise _Decline(f"repeated {name}")
            seen.add(name)
            if name == "id":
                guid = self._text(child, uri=_attr_ci(child, "ispermalink", "true") == "true")
                id_link = guid
            elif name in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(child), 1, media=name == "media_title")
            elif name == "link":
                href = self._alternate_href(child)
                if href is not None:
                    link = href
            elif name in _SUMMARY_LIKE:
                texts.add_summary(self._content_text(child), 1)
            elif name == "content":
                if child.get("src") is not None:
                    raise _Decline("content src")
                texts.add_content(self._content_text(child))
            elif name == "published":
                published = self._date(child)
            elif name == "updated":
                updated = self._date(child)
            elif name == "author":
                author = self._atom_author(child, texts)
                continue
            elif name in self.handled and name not in _HARMLESS:
                raise _Decline(name)
            self._nested(child, texts, 1)
        return self._entry(
            guid=guid or "",
            link=link if link is not None else id_link,
            author=author,
            published=published,
            updated=updated,
            texts=texts,
            comments=self._comments(entry),
        )

    def _atom_author(self, el: ElementTree.Element, texts: _EntryTexts) -> str | None:
        """An author element with children; titles and summaries inside go to the entry."""
        name = email = None
        for child in el:
            field = self._name(child)
            if field == "name":
                name = self._text(child)
            elif field == "email":
                email = self._text(child)
            elif field == "uri":
                self._text(child, uri=True)
            elif field in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(child), 2, media=field == "media_title")
            elif field in _SUMMARY_LIKE:
                texts.add_summary(self._content_text(child), 2)
            elif field in self.handled and field not in _HARMLESS:
                raise _Decline(f"author {field}")
            self._nested(child, texts, 2)
        if name and email:
            return f"{name} ({email})"
        return name or email or None

    def _date(self, el: ElementTree.Element) -> float | None:
        return _timestamp(_fp_parse_date(self._text(el)))

    def _entry(
        self,
        *,
        guid: str,
        link: str | None,
        author: str | None,
        published: float | None,
        updated: float | None,
        texts: _EntryTexts,
        comments: CommentMeta,
    ) -> ParsedEntry:
        clean_title = _plain_text(texts.title) or ""
        clean_link = _clean_url(link)
        summary = texts.summary or None
        if published is None:
            published = updated
        if updated is None:
            updated = published
        return ParsedEntry(
            guid=guid.strip() or clean_link or content_hash(clean_title, summary),
            link=clean_link,
            title=clean_title,
            author=(author or "").strip() or None,
            published=published,
            updated=updated,
            summary=summary,
            content=max(texts.contents, key=len, default="") or None,
            comments=comments,
        )

    def _comments(self, item: ElementTree.Element) -> CommentMeta:
        page_url = feed_url = api_url = count = total = None
        replies: list[ElementTree.Element] = []
        for child in item:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            key, local = _split_tag(tag)
            if key in ("", _K_RSS1) and local == "comments":
                page_url = self._text(child, uri=True)
            elif key == _K_WFW and local == "commentrss":
                feed_url = feed_url or self._text(child, uri=True)
            elif key == _K_WFW and local == "comment":
                api_url = api_url or self._text(child, uri=True)
            elif key == _K_SLASH and local == "comments":
                count = count or self._text(child)
            elif key == _K_THREAD and local == "total":
                total = total or self._text(child)
            elif (
                key == _K_ATOM and local == "link" and (child.get("rel") or "").lower() == "replies"
            ):
                replies.append(child)
        meta = CommentMeta(
            page_url=_clean_url(page_url),
            feed_url=_clean_url(feed_url),
            api_url=_clean_url(api_url),
            count=_count(count),
        )
        if meta.count is None:
            meta.count = _count(total)
        for link in replies:
            href = _clean_url(_fp_urljoin(self._base(link), link.get("href") or ""))
            kind = (link.get("type") or "text/html").lower()
            if href and "html" in kind:
                meta.page_url = meta.page_url or href
            elif href and ("atom" in kind or "rss" in kind or "xml" in kind):
                meta.feed_url = meta.feed_url or href
            if meta.count is None:
                value = next(
                    (v for k, v in link.attrib.items() if k == f"{{{THREAD_NS}}}count"), None
                )
                meta.count = _count(value)
        return meta


@functools.lru_cache(maxsize=1024)
def _feedparser_name(tag: str) -> str:
    if tag[:1] != "{":
        return tag.lower()
    uri, _, local = tag[1:].partition("}")
    prefix = _FP_NAMES[0].get(uri.lower()) if _FP_NAMES else None
    if prefix is None and "backend.userland.com/rss" in uri.lower():
        prefix = ""  # feedparser takes every such namespace as RSS's own
    if prefix is None:
        return f"{{{uri}}}{local.lower()}"  # unknown namespace: named per document
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


@functools.lru_cache(maxsize=1024)
def _split_tag(tag: str) -> tuple[str, str]:
    """'{uri}Local' -> (namespace key, 'local')."""
    uri, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
    return _ns_key(uri), local.lower()


def _attr_ci(el: ElementTree.Element, name: str, default: str) -> str:
    for key, value in el.attrib.items():
        if key.lower() == name:
            return value
    return default
