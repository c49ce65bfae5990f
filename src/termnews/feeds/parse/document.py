"""parse_feed: one feed document -> ParsedFeed: JSON Feed by its own reader, RSS/Atom by the
fast reader where it can, else by feedparser."""

from __future__ import annotations

from termnews.feeds.parse.common import FeedParseError, one_line
from termnews.feeds.parse.fast import fast_parse
from termnews.feeds.parse.jsonfeed import looks_like_json, parse_json_feed
from termnews.model import ParsedFeed

__all__ = ["parse_feed", "trim_before_declaration"]


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, fast: bool = True
) -> ParsedFeed:
    """Parse one feed document. Pure: safe to call in a worker process.

    A JSON document (it opens with "{", or a JSON type with no "<" first) is read as a
    JSON Feed. With fast=True, a plain well-formed RSS/Atom document is read by a quick
    ElementTree reader that mirrors feedparser; everything else goes to feedparser itself.
    Raises FeedParseError, and nothing else, for a document that yields no feed.
    """
    try:
        if looks_like_json(body, content_type):
            return parse_json_feed(body, url)
        body = trim_before_declaration(body)
        if fast:
            feed = fast_parse(body, url, content_type)
            if feed is not None and (feed.entries or feed.title):
                return feed
        # feedparser loads on the first feed the fast reader cannot take (the parse
        # workers' forkserver preloads it), not in every process that imports this.
        from termnews.feeds.parse.reference import parse_with_feedparser

        return parse_with_feedparser(body, url, content_type)
    except FeedParseError:
        raise
    except Exception as exc:  # a parser bug must not become a traceback for the user
        raise FeedParseError(f"could not parse the feed: {one_line(exc)}") from None


def trim_before_declaration(body: bytes) -> bytes:
    """Drop whitespace before "<?xml" (a common WordPress plugin bug).

    It is fatal to a strict XML parser, and feedparser's loose fallback is less faithful.
    """
    stripped = body.lstrip(b" \t\r\n")
    if stripped is not body and stripped.startswith(b"<?xml"):
        return stripped
    return body
