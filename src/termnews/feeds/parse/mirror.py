"""The parts of feedparser the fast reader mirrors: its internals (date parsing, URL
joining, element naming), the element tables the fast reader reads or declines by, and the
bookkeeping by which feedparser settles an entry's title, summary and content."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from xml.etree import ElementTree

__all__ = [
    "FP_NAMES",
    "EntryTexts",
    "attr_ci",
    "feedparser_name",
    "fp_parse_date",
    "fp_safe_uri",
    "fp_urljoin",
]

try:  # feedparser internals the fast path mirrors; without them it stays off
    from feedparser.api import StrictFeedParser
    from feedparser.datetimes import _parse_date
    from feedparser.mixin import _FeedParserMixin
    from feedparser.urls import _urljoin, make_safe_absolute_uri

    # feedparser publishes no types: these say what its functions take and give.
    fp_parse_date: Callable[[str], time.struct_time | None] = _parse_date
    fp_urljoin: Callable[[str, str], str] = _urljoin
    fp_safe_uri: Callable[[str, str], str] = make_safe_absolute_uri
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


FP_NAMES = _feedparser_names()

# Element names (feedparser's "<prefix>_<name>") read by the fast path, per entry format.
# A repeat of one of these declines (link and the authors are taken last-wins; titles,
# summaries and content go through EntryTexts).
RSS_ENTRY_FIELDS = frozenset(
    {"guid", "pubdate", "author", "comments", "itunes_author", "dc_date", "updated", "published"}
)
ATOM_ENTRY_FIELDS = frozenset({"id", "published", "updated", "author"})
# feedparser handles these, but nothing it does with them touches the fields termnews keeps.
HARMLESS = frozenset(
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
SUMMARY_LIKE = frozenset(
    {"description", "dc_description", "media_description", "summary", "itunes_summary"}
)
# Elements that reset feedparser's title_depth (so a later media:title may win); taken as
# leaves only.
TITLE_RESET = frozenset({"image", "source"})
# Text constructs read with push_content: markup inside them is serialized, not parsed.
TEXT_CONTAINERS = frozenset({"rights", "copyright", "subtitle", "tagline", "itunes_subtitle"})
TEXT_TYPES = ("text/plain", "text/html")
C1_RE = re.compile("[\x80-\x9f]")
CP1252 = str.maketrans(
    {i: bytes([i]).decode("cp1252") for i in range(128, 160) if i not in (129, 141, 143, 144, 157)}
)


class EntryTexts:
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


@functools.lru_cache(maxsize=1024)
def feedparser_name(tag: str) -> str:
    if tag[:1] != "{":
        return tag.lower()
    uri, _, local = tag[1:].partition("}")
    prefix = FP_NAMES[0].get(uri.lower()) if FP_NAMES else None
    if prefix is None and "backend.userland.com/rss" in uri.lower():
        prefix = ""  # feedparser takes every such namespace as RSS's own
    if prefix is None:
        return f"{{{uri}}}{local.lower()}"  # unknown namespace: named per document
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


def attr_ci(el: ElementTree.Element, name: str, default: str) -> str:
    for key, value in el.attrib.items():
        if key.lower() == name:
            return value
    return default
