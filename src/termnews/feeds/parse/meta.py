"""Comment metadata of an entry: where its discussion lives and how long it is.

Read from feedparser's entry dicts (``comment_meta``: feedparser files namespaced elements
under prefix-dependent keys, so prefixes are looked up per feed) and from the fast reader's
ElementTree elements (``element_comment_meta``): `comments`, `wfw:commentRss`,
`wfw:comment`, `slash:comments`, Atom `link rel="replies"` (+ `thr:count`), `thr:total`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from xml.etree import ElementTree

from termnews.feeds.parse.common import clean_url, comment_count, ns_key
from termnews.feeds.parse.mirror import fp_urljoin
from termnews.model import CommentMeta

__all__ = [
    "SLASH_NS",
    "THREAD_NS",
    "WFW_NS",
    "comment_meta",
    "element_comment_meta",
    "namespace_prefixes",
]

WFW_NS = "http://wellformedweb.org/CommentAPI/"
SLASH_NS = "http://purl.org/rss/1.0/modules/slash/"
THREAD_NS = "http://purl.org/syndication/thread/1.0"
_K_RSS1, _K_ATOM = "http://purl.org/rss/1.0", "http://www.w3.org/2005/atom"
_K_WFW, _K_SLASH, _K_THREAD = (ns_key(u) for u in (WFW_NS, SLASH_NS, THREAD_NS))


def comment_meta(e: Mapping[str, Any], prefixes: Mapping[str, list[str]]) -> CommentMeta:
    def first(namespace: str, *names: str) -> Any:
        for prefix in prefixes.get(namespace, ()):
            for name in names:
                value = e.get(f"{prefix}_{name}")
                if value:
                    return value
        return None

    meta = CommentMeta(
        page_url=clean_url(e.get("comments")),
        feed_url=clean_url(first(WFW_NS, "commentrss")),
        api_url=clean_url(first(WFW_NS, "comment")),
        count=comment_count(first(SLASH_NS, "comments")),
    )
    if meta.count is None:
        meta.count = comment_count(first(THREAD_NS, "total"))
    for link in e.get("links") or ():
        if (link.get("rel") or "").lower() != "replies":
            continue
        href = clean_url(link.get("href"))
        kind = (link.get("type") or "").lower()
        if href and "html" in kind:
            meta.page_url = meta.page_url or href
        elif href and ("atom" in kind or "rss" in kind or "xml" in kind):
            meta.feed_url = meta.feed_url or href
        if meta.count is None:
            meta.count = comment_count(_link_count(link, prefixes.get(THREAD_NS, [])))
    return meta


def _link_count(link: Mapping[str, Any], thread_prefixes: list[str]) -> Any:
    for prefix in thread_prefixes:
        if link.get(f"{prefix}:count"):
            return link[f"{prefix}:count"]
    return link.get("count")


def namespace_prefixes(namespaces: Mapping[str, str]) -> dict[str, list[str]]:
    """Map each comment namespace to the prefixes this feed bound it to (plus the usual one).

    feedparser names an element `<prefix>_<name>` after the prefix the feed used (it renames
    only the namespaces it knows), so the prefix has to be looked up per feed.
    """
    wanted = {ns_key(WFW_NS): WFW_NS, ns_key(SLASH_NS): SLASH_NS, ns_key(THREAD_NS): THREAD_NS}
    found: dict[str, list[str]] = {WFW_NS: [], SLASH_NS: [], THREAD_NS: []}
    for prefix, uri in namespaces.items():
        namespace = wanted.get(ns_key(uri or ""))
        if namespace and prefix:
            found[namespace].append(prefix)
    for namespace, usual in ((WFW_NS, "wfw"), (SLASH_NS, "slash"), (THREAD_NS, "thr")):
        if usual not in found[namespace]:
            found[namespace].append(usual)
    return found


class TextOf(Protocol):
    """The fast reader's text of an element (with ``uri``: resolved against xml:base)."""

    def __call__(self, el: ElementTree.Element, *, uri: bool = False) -> str: ...


def element_comment_meta(
    item: ElementTree.Element,
    text_of: TextOf,
    base_of: Callable[[ElementTree.Element], str],
) -> CommentMeta:
    """Comment metadata from an RSS item's or Atom entry's child elements."""
    page_url = feed_url = api_url = slash_count = total = None
    replies: list[ElementTree.Element] = []
    for child in item:
        key, local = _split_tag(child.tag)  # fromstring() keeps no comments: tags are str
        if key in ("", _K_RSS1) and local == "comments":
            page_url = text_of(child, uri=True)
        elif key == _K_WFW and local == "commentrss":
            feed_url = feed_url or text_of(child, uri=True)
        elif key == _K_WFW and local == "comment":
            api_url = api_url or text_of(child, uri=True)
        elif key == _K_SLASH and local == "comments":
            slash_count = slash_count or text_of(child)
        elif key == _K_THREAD and local == "total":
            total = total or text_of(child)
        elif key == _K_ATOM and local == "link" and (child.get("rel") or "").lower() == "replies":
            replies.append(child)
    meta = CommentMeta(
        page_url=clean_url(page_url),
        feed_url=clean_url(feed_url),
        api_url=clean_url(api_url),
        count=comment_count(slash_count),
    )
    if meta.count is None:
        meta.count = comment_count(total)
    for link in replies:
        href = clean_url(fp_urljoin(base_of(link), link.get("href") or ""))
        kind = (link.get("type") or "text/html").lower()
        if href and "html" in kind:
            meta.page_url = meta.page_url or href
        elif href and ("atom" in kind or "rss" in kind or "xml" in kind):
            meta.feed_url = meta.feed_url or href
        if meta.count is None:
            value = next((v for k, v in link.attrib.items() if k == f"{{{THREAD_NS}}}count"), None)
            meta.count = comment_count(value)
    return meta


@functools.lru_cache(maxsize=1024)
def _split_tag(tag: str) -> tuple[str, str]:
    """'{uri}Local' -> (namespace key, 'local')."""
    uri, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
    return ns_key(uri), local.lower()
