"""Find the feeds of a web site from any URL a person pastes.

The URL may be a feed itself (RSS, Atom, RDF or JSON Feed), or a page that advertises feeds
with `<link rel="alternate" type="application/rss+xml" href="…">` (or Atom's, RDF's or JSON
Feed's `application/feed+json`). If neither, a few
common feed paths are tried before giving up with a `DiscoveryError`.
"""

from __future__ import annotations

import asyncio
import codecs
import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from termnews.errors import TermnewsError
from termnews.feeds.fetch import Fetcher, FetchResult
from termnews.feeds.parse.jsonfeed import is_json_feed
from termnews.http import media_type
from termnews.model import FetchStatus
from termnews.sanitize import clean_line, strip_tags

FEED_LINK_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    # Not plain application/json: WordPress advertises its REST API with that type.
    "application/feed+json": "json",
}
COMMON_FEED_PATHS = ("/feed/", "/rss.xml", "/atom.xml", "/index.xml")
PAGE_MAX_BYTES = 5 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024

_SPACE = re.compile(r"\s+")
# Things that may come before the root element of an XML document.
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S | re.I)
_ROOT = re.compile(r"\s*<([A-Za-z_][\w.-]*(?::[\w.-]+)?)[\s>/]")
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_TITLE = re.compile(r"<(?:\w+:)?title\b[^>]*>(.*?)</(?:\w+:)?title\s*>", re.S | re.I)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    url: str
    title: str | None
    kind: str  # "rss", "atom", "rdf" or "json"


class DiscoveryError(TermnewsError):
    """No feed could be found; `message` says why, in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    # Titles arrive once unescaped by the parser; some sites escape twice ("&amp;raquo;").
    if "&" in text:
        text = html.unescape(text)
    return clean_line(text) or None


def _sniff_text(body: bytes) -> str:
    """The start of a document as text, good enough to find its root element."""
    head = body[:_SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    # Latin-1 keeps every ASCII tag intact whatever the real encoding is.
    return head.removeprefix(codecs.BOM_UTF8).decode("latin-1")


def _root_element(text: str) -> str | None:
    pos = 0
    while True:
        prolog = _PROLOG.match(text, pos)
        if prolog is None:
            break
        pos = prolog.end()
    root = _ROOT.match(text, pos)
    return root.group(1).lower() if root else None


def feed_kind(body: bytes) -> str | None:
    """ "rss", "atom" or "rdf" when the body's root element is a feed's, "json" for a JSON
    Feed, else None."""
    if is_json_feed(body):
        return "json"
    root = _root_element(_sniff_text(body))
    if root is None:
        return None
    local = root.rpartition(":")[2]
    if local == "rss":
        return "rss"
    if local == "feed":
        return "atom"
    if local == "rdf":
        return "rdf"
    return None


def is_probably_feed(body: bytes, content_type: str | None) -> bool:
    """True when the body looks like an RSS, Atom, RDF or JSON Feed document.

    The bytes decide; the content type only breaks a tie when the start of the body
    is unreadable (servers label feeds text/html and pages application/xml alike).
    """
    if not body or not body.strip():
        return False
    if body.lstrip(b" \t\r\n").removeprefix(codecs.BOM_UTF8)[:1] == b"{":
        return is_json_feed(body)  # JSON: the bytes decide
    text = _sniff_text(body)
    if _root_element(text) is not None:
        return feed_kind(body) is not None
    return media_type(content_type) in FEED_LINK_TYPES


def _decode(body: bytes, content_type: str | None) -> str:
    charset = None
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    if charset is None:
        declared = _XML_ENCODING.search(body[:200])
        charset = declared.group(1).decode("ascii") if declared else None
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def feed_title(body: bytes, content_type: str | None = None) -> str | None:
    """The first <title> of a feed document (a JSON Feed's "title"), as plain text."""
    if is_json_feed(body):
        return _json_title(body)
    match = _TITLE.search(_decode(body[:_SNIFF_BYTES], content_type))
    if match is None:
        return None
    raw = _CDATA.sub(lambda m: html.escape(m.group(1)), match.group(1))
    return _clean(html.unescape(strip_tags(raw, "")))


def _json_title(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # a broken feed: the refresh will say why
        return None
    title = document.get("title") if isinstance(document, dict) else None
    return clean_line(title) or None if isinstance(title, str) else None


class _LinkCollector(HTMLParser):
    """Collects <base href> and the feed <link>s of an HTML page, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[tuple[str, str | None, str]] = []  # href, title, kind

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "base"):
            return
        values = {name.lower(): value for name, value in attrs if value is not None}
        href = (values.get("href") or "").strip()
        if not href:
            return
        if tag == "base":
            if self.base is None:
                self.base = href
            return
        rels = values.get("rel", "").lower().split()
        kind = FEED_LINK_TYPES.get(media_type(values.get("type")))
        if "alternate" in rels and kind is not None:
            self.links.append((href, values.get("title"), kind))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _is_comment_feed(url: str, title: str | None) -> bool:
    lowered = (title or "").lower()
    if "comments feed" in lowered or "comment feed" in lowered:
        return True
    parts = urlsplit(url)
    return "/comments/feed" in parts.path or "feed=comments-" in parts.query


def _absolute(href: str, base: str) -> str | None:
    if href.lower().startswith("feed:"):  # feed:https://… and feed://…
        href = href[5:]
        if href.startswith("//"):
            href = "http:" + href
    url = urljoin(base, href)
    return url if urlsplit(url).scheme in ("http", "https") else None


def feed_links(page: str, page_url: str) -> list[DiscoveredFeed]:
    """The feeds an HTML page advertises: main feeds first, comment feeds after."""
    collector = _LinkCollector()
    try:
        collector.feed(page)
        collector.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    base = urljoin(page_url, collector.base) if collector.base else page_url
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()
    for href, title, kind in collector.links:
        url = _absolute(href, base)
        if url is None or url in seen:
            continue
        seen.add(url)
        found.append(DiscoveredFeed(url, _clean(title), kind))
    # sorted() is stable: page order holds within each group.
    return sorted(found, key=lambda f: _is_comment_feed(f.url, f.title))


def _as_feed(result: FetchResult, url: str) -> DiscoveredFeed | None:
    if result.status is not FetchStatus.OK or not result.body:
        return None
    kind = feed_kind(result.body)
    if kind is None:
        return None
    return DiscoveredFeed(result.permanent_url or url, feed_title(result.body), kind)


async def _common_paths(fetcher: Fetcher, page_url: str) -> list[DiscoveredFeed]:
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}"
    urls = [root + path for path in COMMON_FEED_PATHS]
    results = await asyncio.gather(*(fetcher.get(u) for u in urls))
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()
    for url, result in zip(urls, results, strict=True):
        feed = _as_feed(result, url)
        # Two paths redirecting to one feed count once.
        key = result.final_url
        if feed is not None and key not in seen:
            seen.add(key)
            found.append(feed)
    return found


async def discover_feeds(fetcher: Fetcher, url: str) -> list[DiscoveredFeed]:
    """The feeds behind `url`, best first. Raises DiscoveryError when there are none."""
    text = url.strip()
    if not text:
        raise DiscoveryError("no URL given")
    candidates = [text]
    if "://" not in text:
        # "example.org" as people type it: try https first, then plain http.
        candidates = [f"https://{text}", f"http://{text}"]

    for candidate in candidates:
        result = await fetcher.get(candidate, max_bytes=PAGE_MAX_BYTES)
        if result.http_status is not None:  # the server answered: no other scheme to try
            break
    page_url = result.url

    if result.status is not FetchStatus.OK or result.body is None:
        raise DiscoveryError(f"could not load {page_url}: {result.error}")

    if is_probably_feed(result.body, result.content_type):
        kind = feed_kind(result.body) or "rss"
        title = feed_title(result.body, result.content_type)
        return [DiscoveredFeed(result.permanent_url or page_url, title, kind)]

    mime = media_type(result.content_type)
    if mime in ("", "text/html", "application/xhtml+xml") or "html" in mime:
        page = _decode(result.body, result.content_type)
        links = feed_links(page, result.final_url)
        if links:
            return links

    found = await _common_paths(fetcher, result.final_url)
    if found:
        return found
    what = "the page links to none" if "html" in mime or not mime else f"it is {mime}"
    raise DiscoveryError(
        f"no feed found at {page_url}: {what}, and "
        + ", ".join(COMMON_FEED_PATHS)
        + " do not answer with a feed"
    )
