"""Enclosures: the files an entry carries (podcast episodes, videos, downloads).

Both readers hand over the same raw values, as feedparser keeps them: the entry's
enclosure links (RSS ``<enclosure>``, Atom ``<link rel="enclosure">``: attribute dicts
with ``href``), its Media RSS ``media:content`` attribute dicts (also those inside a
``media:group``) and its ``itunes:duration`` text. ``enclosures`` turns them into the
model's ``Enclosure`` list: enclosure links first, in document order, then audio and
video ``media:content`` not already listed (Media RSS images are illustrations, not
enclosures); a ``media:content`` for a URL already listed fills in its type, size and
duration; ``itunes:duration`` is the duration of the first enclosure that has none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from termnews.feeds.parse.common import clean_url
from termnews.model import Enclosure
from termnews.sanitize import clean_url as safe_url

__all__ = ["enclosure_url", "enclosures", "enforce_href", "parse_duration"]

_CLOCK = re.compile(r"(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)")
_MEDIA_KINDS = ("audio", "video")
_WEB = ("https://", "http://")


def enforce_href(attrs: Mapping[str, str]) -> dict[str, str]:
    """feedparser's _enforce_href: the first of url, uri, href becomes href."""
    out = dict(attrs)
    href = out.get("url", out.get("uri", out.get("href")))
    if href:
        out.pop("url", None)
        out.pop("uri", None)
        out["href"] = href
    return out


def enclosures(
    links: Iterable[Mapping[str, Any]],
    media: Iterable[Mapping[str, Any]],
    itunes_duration: Any = None,
) -> list[Enclosure]:
    found: list[Enclosure] = []
    index: dict[str, int] = {}
    for link in links:
        url = enclosure_url(link.get("href"))
        if url is None or url in index:
            continue
        index[url] = len(found)
        found.append(
            Enclosure(
                url=url,
                type=_mime(link.get("type")),
                length=_size(link.get("length")),
                title=_title(link.get("title")),
            )
        )
    for content in media:
        url = enclosure_url(content.get("url"))
        if url is None:
            continue
        kind = _mime(content.get("type"))
        length = _size(content.get("filesize"))
        duration = parse_duration(content.get("duration"))
        at = index.get(url)
        if at is not None:  # the same file as an enclosure link: fill in what it lacks
            known = found[at]
            found[at] = dataclasses.replace(
                known,
                type=known.type or kind,
                length=known.length if known.length is not None else length,
                duration=known.duration if known.duration is not None else duration,
            )
            continue
        medium = _word(content.get("medium"))
        if medium in _MEDIA_KINDS or (kind is not None and kind.startswith(_MEDIA_KINDS)):
            index[url] = len(found)
            found.append(Enclosure(url=url, type=kind, length=length, duration=duration))
    duration = parse_duration(itunes_duration)
    if duration is not None:
        for at, known in enumerate(found):
            if known.duration is None:
                found[at] = dataclasses.replace(known, duration=duration)
                break
    return found


def parse_duration(value: Any) -> float | None:
    """Seconds from "3723", "3723.5", "62:03" or "1:02:03" (iTunes and Media RSS forms)."""
    if not isinstance(value, str):
        return None
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        return None
    first, second, last = match.groups()
    parts = [int(p) for p in (first, second) if p is not None]
    seconds = float(last)
    if len(parts) == 2:
        seconds += parts[0] * 3600 + parts[1] * 60
    elif parts:
        seconds += parts[0] * 60
    return seconds if seconds > 0 else None


def enclosure_url(value: Any) -> str | None:
    """Only URLs a player may be given: http(s) or relative (never javascript: and such)."""
    url = clean_url(value)
    if url is not None and url[:8].lower().startswith(_WEB) and url.isprintable():
        return url  # the common case, without sanitize's full check (a third of the cost)
    return safe_url(url)


def _mime(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    kind = value.split(";", 1)[0].strip().lower()
    return kind if "/" in kind and len(kind) <= 100 else None


def _size(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    number = int(text)
    return number if number > 0 else None  # length="0" means "unknown" in the wild


def _word(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def _title(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None
