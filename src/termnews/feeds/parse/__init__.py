"""Feed bytes -> model objects (``ParsedFeed``, ``ParsedEntry``).

feedparser is the reference parser. Parsing is CPU-bound and holds the GIL, so the UI and
the refresher call it through ``ParsePool``, which runs ``parse_feed`` in worker processes.

Modules:

* ``document``: ``parse_feed``, which picks the reader for a document.
* ``jsonfeed``: JSON Feed 1.0/1.1, into the same entries as RSS/Atom.
* ``fast``: the fast reader (ElementTree) for plain well-formed RSS/Atom; ``mirror`` holds
  what of feedparser it mirrors, so both give the same articles.
* ``reference``: the feedparser path, for everything the fast reader declines.
* ``meta``: comment metadata (wfw, slash, thr, rel="replies") for both readers.
* ``media``: enclosures (RSS, Atom rel="enclosure", Media RSS, itunes:duration), for both.
* ``common``: ``FeedParseError`` and the field cleaning both readers share.
* ``pool``: ``ParsePool`` and ``start_helpers`` (the worker processes).

May import: ``termnews.model``, ``termnews.errors``, ``termnews.sanitize``, feedparser and
the standard library; nothing of the UI, the store or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from termnews.feeds.parse.common import FeedParseError
from termnews.feeds.parse.pool import ParsePool, start_helpers

if TYPE_CHECKING:
    from termnews.feeds.parse.document import parse_feed

__all__ = ["FeedParseError", "ParsePool", "parse_feed", "start_helpers"]


def __getattr__(name: str) -> object:
    # The readers (and feedparser, which the fast one mirrors) load on first use: a process
    # that only holds a ParsePool, like the reader at start, never needs them itself.
    if name == "parse_feed":
        from termnews.feeds.parse.document import parse_feed

        return parse_feed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
