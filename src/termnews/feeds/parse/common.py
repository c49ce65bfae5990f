"""What both readers (the fast one and feedparser's) share: the error, and how a field's
raw value becomes the model's value."""

from __future__ import annotations

import calendar
import html
import re
from typing import Any

from termnews.errors import TermnewsError
from termnews.sanitize import strip_tags

__all__ = [
    "FeedParseError",
    "clean_url",
    "comment_count",
    "ns_key",
    "one_line",
    "plain_text",
    "timestamp",
]

_SPACE_RE = re.compile(r"\s+")
# Only ';'-terminated references: html.unescape alone would turn "?a=1&copy=2" into "?a=1©=2".
_URL_ENTITY_RE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


class FeedParseError(TermnewsError):
    """A document that is not a usable feed. str() is a one-line message for a human."""


def ns_key(uri: str) -> str:
    return uri.strip().lower().rstrip("/")


def timestamp(parsed: Any) -> float | None:
    if not parsed:
        return None
    try:
        return float(calendar.timegm(parsed))
    except (TypeError, ValueError, OverflowError):
        return None


def comment_count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def plain_text(value: Any) -> str | None:
    """Feed text as plain text: tags feedparser left in are dropped, entities decoded."""
    if not value:
        return None
    text = str(value)
    if "<" in text:
        text = strip_tags(text, "")
    if "&" in text:
        text = html.unescape(text)
    text = _SPACE_RE.sub(" ", text).strip()
    return text or None


def clean_url(value: Any) -> str | None:
    if not value:
        return None
    url = str(value).strip()
    if "&" in url:
        url = _URL_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), url)
    return url or None


def one_line(exc: BaseException) -> str:
    text = _SPACE_RE.sub(" ", str(exc)).strip()
    return text or type(exc).__name__
