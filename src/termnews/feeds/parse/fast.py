"""The fast reader: well-formed RSS 2.0, RSS 1.0 and Atom 1.0 read straight from an
ElementTree (expat, in C) into the same ParsedFeed feedparser would give.

A document built only from elements whose meaning is mirrored here is read directly.
Anything else -- a parse error, a DOCTYPE, an element feedparser would map onto one of our
fields in a way not mirrored here -- raises ``Decline`` inside and makes ``fast_parse``
return None, and feedparser parses the feed. tests/test_corpus_parse.py checks the two
agree over the whole corpus.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import urllib.parse
from xml.etree import ElementTree

from termnews.feeds.parse.common import clean_url, plain_text, timestamp
from termnews.feeds.parse.media import enclosures, enforce_href
from termnews.feeds.parse.meta import element_comment_meta
from termnews.feeds.parse.mirror import (
    ATOM_ENTRY_FIELDS,
    C1_RE,
    CP1252,
    FP_NAMES,
    HARMLESS,
    RSS_ENTRY_FIELDS,
    SUMMARY_LIKE,
    TEXT_CONTAINERS,
    TEXT_TYPES,
    TITLE_RESET,
    EntryTexts,
    attr_ci,
    feedparser_name,
    fp_parse_date,
    fp_safe_uri,
    fp_urljoin,
)
from termnews.model import CommentMeta, Enclosure, ParsedEntry, ParsedFeed, content_hash

__all__ = ["Decline", "FastReader", "fast_parse"]

_ATOM = "http://www.w3.org/2005/Atom"
_RSS1 = "http://purl.org/rss/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# Namespace declarations, read from the text: ElementTree drops the prefixes.
_XMLNS_RE = re.compile(rb"""\sxmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(["'])([^"'<>&]*)\2""")
_XML_DECL_RE = re.compile(rb"""^<\?xml[^>]*?encoding=["']([A-Za-z0-9._:-]+)["']""")


class Decline(Exception):
    """The fast path does not take this document; feedparser will."""


def fast_parse(body: bytes, url: str, content_type: str | None) -> ParsedFeed | None:
    try:
        return FastReader(body, url, content_type).read()
    except Exception:  # Decline, or a surprise: either way feedparser has the last word
        return None


class FastReader:
    def __init__(self, body: bytes, url: str, content_type: str | None) -> None:
        if FP_NAMES is None:
            raise Decline("feedparser internals unavailable")
        self.prefixes, self.handled = FP_NAMES
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
            raise Decline("UTF-16 byte order mark")  # feedparser decodes those its own way
        bom = body[:3] == b"\xef\xbb\xbf"
        if bom:
            body = body[3:]  # feedparser drops a UTF-8 one, then reads on as without it
        head = body[:4096]
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise Decline("DOCTYPE or ENTITY declaration")
        if self._check_content_type(head) != "utf-8" and bom:
            raise Decline("UTF-8 byte order mark on a document declared otherwise")
        if urllib.parse.urlsplit(self.base).scheme not in ("http", "https"):
            raise Decline("not an http(s) URL")
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, ValueError, LookupError) as exc:
            raise Decline("not well-formed XML") from exc
        if b"base=" in body:
            self._compute_bases(root)
        if root.tag == "rss":
            return self._rss(root)
        if root.tag == f"{{{_ATOM}}}feed":
            return self._atom(root)
        if root.tag == f"{{{_RDF}}}RDF":
            return self._rdf(root)
        raise Decline(f"root element {root.tag}")

    def _compute_bases(self, root: ElementTree.Element) -> None:
        """xml:base (or a bare base attribute) per element, resolved the way feedparser does."""
        stack = [(root, self.base)]
        while stack:
            el, parent = stack.pop()
            own = el.get(_XML_BASE) or el.get("base")
            base = (fp_safe_uri(parent, own) or parent) if own else parent
            self.bases[el] = base
            stack.extend((child, base) for child in el)

    def _base(self, el: ElementTree.Element) -> str:
        return self.bases.get(el, self.base) if self.bases else self.base

    def _check_content_type(self, head: bytes) -> str:
        """Decline where feedparser's choice of encoding may differ; the declared one."""
        match = _XML_DECL_RE.match(head)
        if match is None and head.startswith(b"<?xml") and b"encoding" in head.split(b">")[0]:
            raise Decline("unusual encoding declaration")
        try:
            declared = codecs.lookup(match.group(1).decode("ascii") if match else "utf-8").name
        except LookupError as exc:
            raise Decline("unknown declared encoding") from exc
        if match is None and not self.content_type and not self.body.isascii():
            # feedparser reads an undeclared document served without a type as ISO-8859-1
            raise Decline("no declared encoding, no content type")
        if self.content_type:
            media, _, params = self.content_type.partition(";")
            media = media.strip().lower()
            if not (
                media == "application/xml"
                or (media.startswith("application/") and media.endswith("+xml"))
            ):
                # feedparser's rules for text/* and unknown types differ
                raise Decline(f"content type {media}")
            charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.I)
            if charset:
                try:
                    if codecs.lookup(charset.group(1)).name != declared:
                        raise Decline("charset differs from the XML declaration")
                except LookupError as exc:
                    raise Decline("unknown charset") from exc
        return declared

    # -- formats --

    def _rss(self, root: ElementTree.Element) -> ParsedFeed:
        if (root.get("version") or "").strip() != "2.0":
            raise Decline("RSS version other than 2.0")
        channels = root.findall("channel")
        if len(channels) != 1:
            raise Decline("not exactly one channel")
        channel = channels[0]
        items = channel.findall("item")
        if sum(1 for _ in root.iter("item")) != len(items):
            raise Decline("items outside the channel")
        title, site_url, _ = self._channel(channel, "", {"item"})
        entries = [self._rss_entry(item, None, item in self.carry) for item in items]
        return ParsedFeed(title=title, site_url=site_url, entries=entries, format="rss20")

    def _rdf(self, root: ElementTree.Element) -> ParsedFeed:
        channels = root.findall(f"{{{_RSS1}}}channel")
        if len(channels) != 1:
            raise Decline("not exactly one channel")
        items = root.findall(f"{{{_RSS1}}}item")
        if sum(1 for _ in root.iter(f"{{{_RSS1}}}item")) != len(items):
            raise Decline("nested items")
        for child in root:
            name = self._name(child)
            if name not in ("channel", "item", "image", "textinput") and name in self.handled:
                raise Decline(f"RSS 1.0 top-level {name}")
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
            raise Decline("nested entries")
        title, site_url, _ = self._channel(root, _ATOM, {"entry"})
        entries = [self._atom_entry(entry, entry in self.carry) for entry in entries_el]
        return ParsedFeed(title=title, site_url=site_url, entries=entries, format="atom10")

    # -- pieces --

    def _name(self, el: ElementTree.Element) -> str:
        """The name feedparser gives an element: '<prefix>_<local>' or '<local>'."""
        tag = el.tag  # always a str: fromstring() drops comments and processing instructions
        name = feedparser_name(tag)
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
            raise Decline(f"namespace {uri} bound to {len(prefixes)} prefixes")
        prefix = next(iter(prefixes))
        if prefix and sum(prefix in bound for bound in self.declared.values()) != 1:
            raise Decline(f"prefix {prefix} bound to several namespaces")
        return f"{prefix.lower()}_{local.lower()}" if prefix else local.lower()

    def _nested(self, el: ElementTree.Element, texts: EntryTexts, depth: int) -> None:
        """Read what feedparser takes from el's descendants (el is at `depth` in the entry).

        Declines if one of them is an element feedparser would map onto our fields in a way
        not mirrored here.
        """
        if not len(el):
            return
        container = self._name(el)
        if container in TEXT_CONTAINERS:
            raise Decline(f"markup in {container}")
        for sub in el:
            name = self._name(sub)
            if _is_enclosure_part(name, sub) and not (
                name == "media_content" and container == "media_group" and depth == 1
            ):
                raise Decline(f"{name} inside {container}")  # _enclosures reads children only
            if container == "contributor" and name in ("name", "email", "uri"):
                self._text(sub)  # feedparser files these under contributors only
            elif name in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(sub), depth + 1, media=name == "media_title")
            elif name in SUMMARY_LIKE:
                texts.add_summary(self._content_text(sub), depth + 1)
            elif name in TITLE_RESET:
                self._text(sub)  # a leaf only
                texts.title_depth = -1
            elif name in self.handled and name not in HARMLESS:
                raise Decline(f"nested {name}")
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
            if name in SUMMARY_LIKE:
                if has_summary and not has_content:
                    has_content = True
                elif name in ("summary", "itunes_summary"):
                    has_summary = True
            elif name in ("content", "content_encoded"):
                has_summary = has_content = True
            elif name in ("id", "guid") and attr_ci(child, "ispermalink", "true") == "true":
                # feedparser takes an id as the link when no alternate link is given
                id_link = self._text(child, uri=True)
            elif name == "title":
                if title is not None:
                    raise Decline("two channel titles")
                title = self._text(child, atom=ns == _ATOM)
            elif name == "link":
                if child.get("href") is not None or ns == _ATOM:
                    href = self._alternate_href(child)
                    if href is not None:
                        link = href
                else:
                    link = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", self._text(child, uri=True))
            elif name in ("dc_title", "media_title", "itunes_title"):
                raise Decline(f"channel {name}")
        return plain_text(title), clean_url(link if link is not None else id_link), has_content

    def _content_text(self, el: ElementTree.Element) -> str:
        """A text construct's text (feedparser's push_content): plain text or HTML only.

        Any other type makes feedparser decode the text as base64 or serialize it as XHTML.
        """
        kind = el.get("type")
        if kind is not None and kind.lower() not in ("text", "plain", "html", *TEXT_TYPES):
            raise Decline(f"{self._name(el)} of type {kind}")
        return self._text(el)

    def _text(self, el: ElementTree.Element, *, uri: bool = False, atom: bool = False) -> str:
        """An element's text as feedparser's pop() leaves it (strict parser, no sanitizing)."""
        if len(el):
            # markup inside: feedparser serializes it its own way
            raise Decline(f"markup in {self._name(el)}")
        if atom and (el.get("type") or "text").lower() not in (
            "text",
            "html",
            "text/plain",
            "text/html",
        ):
            raise Decline(f"{self._name(el)} of type {el.get('type')}")
        if el.get("mode") is not None:
            raise Decline("Atom 0.3 mode attribute")  # Atom 0.3 escaping / base64
        text = (el.text or "").strip()
        if uri and text:
            text = fp_urljoin(self._base(el), text)
        # feedparser (which works on a UTF-8 copy of every document) repairs text that was
        # UTF-8 decoded as Latin-1 once too often, then maps stray C1 codes as cp1252.
        if not text.isascii():
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                text = text.encode("iso-8859-1").decode("utf-8")
            if C1_RE.search(text):
                text = text.translate(CP1252)
        return text

    def _alternate_href(self, el: ElementTree.Element) -> str | None:
        rel = el.get("rel", "alternate")
        kind = el.get("type", "application/atom+xml" if rel == "self" else "text/html")
        href = el.get("href")
        if href is None:
            raise Decline("link without href")
        if rel == "alternate" and kind.lower() in (
            "text/html",
            "application/xhtml+xml",
            "html",
            "xhtml",
        ):
            return fp_urljoin(self._base(el), href)
        return None

    def _rss_entry(
        self, item: ElementTree.Element, rdf_about: str | None, has_content: bool
    ) -> ParsedEntry:
        seen: set[str] = set()
        texts = EntryTexts(has_content)
        link = guid = author = None
        published = updated = None
        parts: list[tuple[str, ElementTree.Element]] = []
        for child in item:
            name = self._name(child)
            if name in seen and name in RSS_ENTRY_FIELDS:
                raise Decline(f"repeated {name}")
            seen.add(name)
            if name in _ENCLOSURE_CHILDREN:
                parts.append((name, child))
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
            elif name in SUMMARY_LIKE:
                texts.add_summary(self._content_text(child), 1)
            elif name == "guid":
                permalink = attr_ci(child, "ispermalink", "true") == "true"
                guid = self._text(child, uri=permalink)
                if permalink and link is None:
                    link = guid  # feedparser: a permalink guid is the link until <link> says
            elif name in ("author", "dc_creator", "itunes_author"):
                # feedparser keeps the last non-empty one; one with children is Atom-style
                found = self._atom_author(child, texts) if len(child) else self._text(child)
                author = found or author
                continue
            elif name in ("pubdate", "published"):
                published = self._date(child)
            elif name in ("dc_date", "updated"):
                updated = self._date(child)
            elif name == "content_encoded":
                texts.add_content(self._content_text(child))
            elif name in ("comments", "wfw_commentrss", "wfw_comment", "slash_comments"):
                self._text(child)
            elif name in TITLE_RESET:
                self._text(child)  # a leaf only
                texts.title_depth = -1
            elif name in self.handled and name not in HARMLESS:
                raise Decline(name)
            self._nested(child, texts, 1)
        return self._entry(
            guid=guid or rdf_about or "",
            link=link,
            author=author,
            published=published,
            updated=updated,
            texts=texts,
            comments=self._comments(item),
            enclosures=self._enclosures(parts),
        )

    def _atom_entry(self, entry: ElementTree.Element, has_content: bool) -> ParsedEntry:
        seen: set[str] = set()
        texts = EntryTexts(has_content)
        link = guid = author = None
        id_link = None
        published = updated = None
        parts: list[tuple[str, ElementTree.Element]] = []
        for child in entry:
            name = self._name(child)
            if name in seen and name in ATOM_ENTRY_FIELDS:
                raise Decline(f"repeated {name}")
            seen.add(name)
            if name in _ENCLOSURE_CHILDREN:
                parts.append((name, child))
            if name == "id":
                guid = self._text(child, uri=attr_ci(child, "ispermalink", "true") == "true")
                id_link = guid
            elif name in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(child), 1, media=name == "media_title")
            elif name == "link":
                href = self._alternate_href(child)
                if href is not None:
                    link = href
            elif name in SUMMARY_LIKE:
                texts.add_summary(self._content_text(child), 1)
            elif name == "content":
                if child.get("src") is not None:
                    raise Decline("content src")
                texts.add_content(self._content_text(child))
            elif name == "published":
                published = self._date(child)
            elif name == "updated":
                updated = self._date(child)
            elif name == "author":
                author = self._atom_author(child, texts)
                continue
            elif name in self.handled and name not in HARMLESS:
                raise Decline(name)
            self._nested(child, texts, 1)
        return self._entry(
            guid=guid or "",
            link=link if link is not None else id_link,
            author=author,
            published=published,
            updated=updated,
            texts=texts,
            comments=self._comments(entry),
            enclosures=self._enclosures(parts),
        )

    def _atom_author(self, el: ElementTree.Element, texts: EntryTexts) -> str | None:
        """An author element with children; titles and summaries inside go to the entry."""
        name = email = None
        for child in el:
            field = self._name(child)
            if _is_enclosure_part(field, child):
                raise Decline(f"{field} inside an author")
            if field == "name":
                name = self._text(child)
            elif field == "email":
                email = self._text(child)
            elif field == "uri":
                self._text(child, uri=True)
            elif field in ("title", "dc_title", "media_title"):
                texts.add_title(self._content_text(child), 2, media=field == "media_title")
            elif field in SUMMARY_LIKE:
                texts.add_summary(self._content_text(child), 2)
            elif field in self.handled and field not in HARMLESS:
                raise Decline(f"author {field}")
            self._nested(child, texts, 2)
        if name and email:
            return f"{name} ({email})"
        return name or email or None

    def _date(self, el: ElementTree.Element) -> float | None:
        return timestamp(fp_parse_date(self._text(el)))

    def _entry(
        self,
        *,
        guid: str,
        link: str | None,
        author: str | None,
        published: float | None,
        updated: float | None,
        texts: EntryTexts,
        comments: CommentMeta,
        enclosures: list[Enclosure],
    ) -> ParsedEntry:
        clean_title = plain_text(texts.title) or ""
        clean_link = clean_url(link)
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
            enclosures=enclosures,
        )

    def _enclosures(self, parts: list[tuple[str, ElementTree.Element]]) -> list[Enclosure]:
        """What feedparser files as the entry's enclosure links, media:content and
        itunes:duration (see media.py), from the entry's children of those names (_nested
        and _atom_author decline any deeper than a media:group)."""
        links: list[dict[str, str]] = []
        media: list[dict[str, str]] = []
        duration: str | dict[str, str] | None = None
        for name, child in parts:
            if name == "enclosure":
                links.append(enforce_href(_attributes(child)))
            elif name == "link" and _attributes(child).get("rel") == "enclosure":
                attrs = enforce_href(_attributes(child))
                attrs.setdefault("type", "text/html")  # feedparser's default for any link
                if attrs.get("href"):
                    attrs["href"] = fp_urljoin(self._base(child), attrs["href"])
                links.append(attrs)
            elif name == "media_content":
                media.append(_attributes(child))
            elif name == "itunes_duration":  # feedparser keeps the last; attributes: a dict
                duration = _attributes(child) if child.attrib else self._text(child)
            elif name == "media_group":
                media.extend(
                    _attributes(sub) for sub in child if self._name(sub) == "media_content"
                )
        if not links and not media:
            return []  # (an itunes:duration alone has nothing to be the duration of)
        return enclosures(links, media, duration)

    def _comments(self, item: ElementTree.Element) -> CommentMeta:
        return element_comment_meta(item, self._text, self._base)


def _attributes(el: ElementTree.Element) -> dict[str, str]:
    """An element's attributes as feedparser's strict parser hands them over: names in
    lower case, rel and type values too (namespaced ones left out: media.py reads none)."""
    return {
        key.lower(): value.lower() if key.lower() in ("rel", "type") else value
        for key, value in el.attrib.items()
        if key[:1] != "{"
    }


_ENCLOSURE_CHILDREN = frozenset(
    {"enclosure", "link", "media_content", "media_group", "itunes_duration"}
)


def _is_enclosure_part(name: str, el: ElementTree.Element) -> bool:
    if name == "link":
        return _attributes(el).get("rel") == "enclosure"
    return name in ("enclosure", "media_content", "itunes_duration")
