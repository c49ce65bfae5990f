"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> the same ParsedFeed as RSS/Atom.

The mapping follows what the rest of termnews expects of an entry from feedparser: text
fields are stored as HTML (``content_text`` and ``summary``, plain text in JSON Feed, are
escaped), the summary falls back to the content, dates are POSIX seconds (UTC), and an
item without an id is known by its URL, else by a hash of its title and summary. Items
without authors take the feed's, as the specification says; attachments are enclosures.
Values of the wrong JSON type count as absent; a document that is not JSON, or JSON that
is not a JSON Feed, raises FeedParseError with a one-line reason.
"""

from __future__ import annotations

import codecs
import email.utils
import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from termnews.feeds.parse.common import FeedParseError, one_line
from termnews.feeds.parse.media import enclosure_url
from termnews.model import Enclosure, ParsedEntry, ParsedFeed, content_hash

__all__ = ["JSON_FEED_TYPES", "is_json_feed", "looks_like_json", "parse_json_feed"]

JSON_FEED_TYPES = frozenset({"application/feed+json", "application/json"})
VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_LEAD = b" \t\r\n"
_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
_SPACE = re.compile(r"\s+")


def _start(body: bytes) -> bytes:
    return body.removeprefix(codecs.BOM_UTF8).lstrip(_LEAD)


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """True when the document is to be read as JSON: it opens with "{" (no XML or HTML
    document does), or it has a JSON type and is not empty and does not open with "<"."""
    first = _start(body[:4096])[:1]
    if first == b"{":
        return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in JSON_FEED_TYPES and first not in (b"", b"<")


def is_json_feed(body: bytes) -> bool:
    """A cheap test on the first bytes: an object that names a JSON Feed version."""
    head = _start(body[:4096])
    return head[:1] == b"{" and b"jsonfeed.org/version/" in head


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed document fetched from ``url`` (relative URLs resolve against it)."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise FeedParseError(
            f"not a feed: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise FeedParseError("not a feed: JSON that is not UTF-8 text") from None
    except RecursionError:
        raise FeedParseError("not a feed: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise FeedParseError(f"not a feed: unreadable JSON: {one_line(exc)}") from None
    if not isinstance(document, dict):
        raise FeedParseError("not a feed: JSON, but not an object (not a JSON Feed)")
    version = _string(document.get("version"))
    if version is None or not version.startswith(VERSION_PREFIXES):
        raise FeedParseError("not a feed: JSON without a JSON Feed version")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedParseError('not a feed: a JSON Feed without an "items" list')
    feed_authors = _authors(document)
    base = _url(document.get("feed_url"), url) or url
    entries = [_entry(item, base, feed_authors) for item in items if isinstance(item, dict)]
    number = version.rstrip("/").rpartition("/")[2]
    return ParsedFeed(
        title=_line(document.get("title")),
        site_url=_url(document.get("home_page_url"), base),
        entries=entries,
        format="json" + number.replace(".", ""),
    )


def _entry(item: dict[str, Any], base: str, feed_authors: str | None) -> ParsedEntry:
    title = _line(item.get("title")) or ""
    link = _url(item.get("url"), base) or _url(item.get("external_url"), base)
    content = _string(item.get("content_html"))
    if content is None:
        text = _string(item.get("content_text"))
        content = _text_to_html(text) if text is not None else None
    summary_text = _string(item.get("summary"))
    summary = _text_to_html(summary_text) if summary_text is not None else content
    published = _date(item.get("date_published"))
    updated = _date(item.get("date_modified"))
    raw_id = item.get("id")
    if isinstance(raw_id, bool):  # JSON true/false: not an id
        raw_id = None
    guid = str(raw_id).strip() if isinstance(raw_id, str | int | float) else ""
    return ParsedEntry(
        guid=guid or link or content_hash(title, summary),
        link=link,
        title=title,
        author=_authors(item) or feed_authors,
        published=published if published is not None else updated,
        updated=updated if updated is not None else published,
        summary=summary or None,
        content=content or None,
        enclosures=_attachments(item.get("attachments"), base),
    )


def _attachments(value: Any, base: str) -> list[Enclosure]:
    """JSON Feed attachments: url and mime_type (required), title, size, duration."""
    found: list[Enclosure] = []
    seen: set[str] = set()
    for attachment in value if isinstance(value, list) else ():
        if not isinstance(attachment, dict):
            continue
        url = enclosure_url(_url(attachment.get("url"), base))
        if url is None or url in seen:
            continue
        seen.add(url)
        kind = _string(attachment.get("mime_type"))
        size = _number(attachment.get("size_in_bytes"))
        found.append(
            Enclosure(
                url=url,
                type=kind.strip().lower() if kind is not None else None,
                length=int(size) if size is not None and size.is_integer() else None,
                duration=_number(attachment.get("duration_in_seconds")),
                title=_line(attachment.get("title")),
            )
        )
    return found


def _number(value: Any) -> float | None:
    """A positive finite JSON number (true/false are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if 0 < number < 1e18 else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _line(value: Any) -> str | None:
    text = _string(value)
    return _SPACE.sub(" ", text).strip() if text is not None else None


def _url(value: Any, base: str) -> str | None:
    text = _string(value)
    if text is None:
        return None
    try:
        return urljoin(base, text.strip())
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None


def _authors(owner: dict[str, Any]) -> str | None:
    """Names from 1.1's "authors" list, else 1.0's "author" object, joined with ", "."""
    found = owner.get("authors")
    people = found if isinstance(found, list) else [owner.get("author")]
    names = [_line(p.get("name")) for p in people if isinstance(p, dict)]
    return ", ".join(name for name in names if name) or None


def _date(value: Any) -> float | None:
    """RFC 3339, as the specification asks; RFC 822 as feeds sometimes give instead."""
    text = _string(value)
    if text is None:
        return None
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _text_to_html(text: str) -> str:
    """Plain text -> HTML: paragraphs at blank lines, line breaks kept, all escaped."""
    paragraphs = _PARAGRAPHS.split(text.replace("\r\n", "\n").replace("\r", "\n").strip())
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p)
