"""Subscription lists in and out: OPML 1/2 and newsboat `urls` files."""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate

from termnews.errors import TermnewsError
from termnews.model import Feed
from termnews.sanitize import clean_line

VIRTUAL_FEEDS = ("query:", "exec:", "filter:")  # newsboat-only feeds made of other feeds
_WEB_ADDRESS = re.compile(r"https?://[^\s/]+", re.I)


class ImportError_(TermnewsError):
    """A subscription file termnews cannot read (the message names the problem)."""


@dataclass(slots=True)
class Subscription:
    url: str
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    custom_title: bool = False  # the user's own title (newsboat's "~Title"): it wins


class SubscriptionList(list[Subscription]):
    """The feeds a file lists, and the lines it had that termnews does not import."""

    def __init__(self, feeds: list[Subscription], skipped: list[str] | None = None) -> None:
        super().__init__(feeds)
        self.skipped = skipped or []


def parse_subscriptions(text: str, name: str = "file") -> SubscriptionList:
    """Detect OPML or a newsboat urls file and read its feeds with their tags; refuse a
    file that is neither."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        return SubscriptionList(parse_opml(stripped, name))
    found = parse_newsboat_urls(text)
    if found.skipped and not found and not any(s.startswith(VIRTUAL_FEEDS) for s in found.skipped):
        raise ImportError_(
            f"{name} is neither OPML nor a newsboat urls file "
            f"(no line starts with a feed URL; the first is {clean_line(found.skipped[0], 60)!r})"
        )
    return found


def parse_opml(text: str, name: str = "file") -> list[Subscription]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ImportError_(f"{name} is not valid OPML: {exc}") from exc
    if root.tag.lower() != "opml":
        raise ImportError_(f"{name} is XML but not OPML (root element <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise ImportError_(f"{name} has no <body>: not an OPML subscription list")
    found: list[Subscription] = []

    def walk(node: ET.Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            url = outline.get("xmlUrl") or outline.get("xmlurl")
            label = outline.get("title") or outline.get("text")
            if url:
                tags = list(folders)
                for category in (outline.get("category") or "").split(","):
                    category = category.strip().strip("/")
                    if category and category not in tags:
                        tags.append(category)
                found.append(Subscription(url.strip(), label, tags))
            else:
                walk(outline, [*folders, label] if label else folders)

    walk(body, [])
    return found


def parse_newsboat_urls(text: str) -> SubscriptionList:
    """newsboat's format: `URL "tag" "other tag" "~Custom title"` one feed a line.

    newsboat's virtual feeds (`query:`, `exec:`, `filter:`) and lines that do not start
    with a web address are listed in `skipped`, not imported.
    """
    found: list[Subscription] = []
    skipped: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        if not words:
            continue
        url, rest = words[0], words[1:]
        if url.startswith(VIRTUAL_FEEDS) or not _WEB_ADDRESS.match(url):
            skipped.append(url)
            continue
        title = None
        tags: list[str] = []
        for word in rest:
            if word.startswith("~"):
                title = word[1:] or None
            elif word.startswith("!"):
                continue  # "hidden" marker
            else:
                tags.append(word)
        found.append(Subscription(url, title, tags, custom_title=title is not None))
    return SubscriptionList(found, skipped)


def to_opml(feeds: list[Feed], title: str = "termnews subscriptions") -> str:
    """OPML 2.0: feeds grouped in folders by their first tag, every tag in `category`."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = formatdate(usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            first = feed.tags[0]
            if first not in folders:
                folders[first] = ET.SubElement(body, "outline", text=first, title=first)
            parent = folders[first]
        # XML 1.0 cannot carry control characters: titles from feeds lose them here.
        title = clean_line(feed.display_title)
        attrs = {
            "type": "rss",
            "text": title,
            "title": title,
            "xmlUrl": feed.url,
        }
        if feed.site_url:
            attrs["htmlUrl"] = feed.site_url
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
