"""Saved searches (virtual feeds from a query) and the killfile, from the settings file.

A query is words (matched with the search index, as `/` does) and filters:
`feed:NAME` (title or URL contains it), `tag:NAME`, `author:NAME` (contains),
`unread` / `is:unread`, `starred` / `is:starred`, `since:7d` / `since:12h` /
`since:2026-11-01` and `before:...` the same way. Quote values with spaces:
`feed:"Quay Gazette"`.

A kill rule hides (never stores) or marks read the posts it matches when a refresh
stores them: `title` and `author` are regular expressions (case-insensitive), `feed` is
contained in the feed's title or URL, `words` must all appear in the post's text. Every
field given must match.
"""

from __future__ import annotations

import calendar
import re
import shlex
import time
from dataclasses import dataclass

from termnews.model import ArticleQuery, ParsedEntry
from termnews.sanitize import strip_tags

KILL_ACTIONS = ("read", "hide")
_FILTERS = ("feed", "tag", "author", "since", "before", "is")


class QueryError(ValueError):
    """A query or a kill rule that cannot be used; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class SavedSearch:
    name: str
    text: str
    query: ArticleQuery


@dataclass(frozen=True, slots=True)
class KillRule:
    action: str = "read"
    title: re.Pattern[str] | None = None
    author: re.Pattern[str] | None = None
    feed: str | None = None
    words: tuple[str, ...] = ()

    def matches(self, entry: ParsedEntry, feed_title: str | None, feed_url: str) -> bool:
        if self.title is not None and not self.title.search(entry.title or ""):
            return False
        if self.author is not None and not self.author.search(entry.author or ""):
            return False
        if self.feed is not None:
            where = f"{feed_title or ''}\n{feed_url}".lower()
            if self.feed not in where:
                return False
        if self.words:
            text = " ".join(
                (
                    entry.title or "",
                    strip_tags(entry.summary or ""),
                    strip_tags(entry.content or ""),
                )
            ).lower()
            found = set(re.findall(r"\w+", text))
            if not all(word in found for word in self.words):
                return False
        return True


def _when(value: str, now: float) -> float:
    match = re.fullmatch(r"(\d+)([hdw])", value)
    if match:
        unit = {"h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
        return now - int(match.group(1)) * unit
    try:
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%d")))
    except ValueError:
        raise QueryError(f"not a date: {value!r} (use 7d, 12h, 2w or YYYY-MM-DD)") from None


def parse_query(text: str, *, now: float | None = None) -> ArticleQuery:
    """A saved search's query -> an ArticleQuery; QueryError says what is wrong."""
    now = time.time() if now is None else now
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise QueryError(f"{exc} in {text!r}") from None
    words: list[str] = []
    texts: dict[str, str] = {}
    times: dict[str, float] = {}
    flags: set[str] = set()
    for token in tokens:
        key, sep, value = token.partition(":")
        if token.lower() in ("unread", "starred"):
            key, sep, value = "is", ":", token.lower()
        if not sep or not key.isalpha():
            words.append(token)
            continue
        key = key.lower()
        if key not in _FILTERS:
            raise QueryError(
                f"unknown filter {key + ':'!r} (known: {', '.join(k + ':' for k in _FILTERS)})"
            )
        if not value:
            raise QueryError(f"{key}: needs a value")
        if key == "is":
            if value.lower() not in ("unread", "starred"):
                raise QueryError(f"is:{value} is not a filter (is:unread, is:starred)")
            flags.add(value.lower())
        elif key in ("since", "before"):
            times[key] = _when(value, now)
        else:
            texts[key] = value
    return ArticleQuery(
        search=" ".join(words) or None,
        unread_only="unread" in flags,
        starred_only="starred" in flags,
        tag=texts.get("tag"),
        feed_name=texts.get("feed"),
        author=texts.get("author"),
        since=times.get("since"),
        before=times.get("before"),
    )


def kill_rule(table: dict[str, object]) -> KillRule:
    """One [[kill]] table -> a KillRule; QueryError says what is wrong."""
    known = {"action", "title", "author", "feed", "words"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise QueryError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise QueryError(f"{key} must be a non-empty string")
    action = str(table.get("action", "read"))
    if action not in KILL_ACTIONS:
        raise QueryError(f'action must be "read" or "hide", got {action!r}')
    if not set(table) - {"action"}:
        raise QueryError("a rule needs title, author, feed or words (it would match everything)")

    def pattern(key: str) -> re.Pattern[str] | None:
        value = table.get(key)
        if value is None:
            return None
        try:
            return re.compile(str(value), re.IGNORECASE)
        except re.error as exc:
            raise QueryError(f"{key} is not a valid regular expression: {exc}") from None

    feed = table.get("feed")
    words = tuple(re.findall(r"\w+", str(table.get("words", "")).lower()))
    return KillRule(
        action=action,
        title=pattern("title"),
        author=pattern("author"),
        feed=str(feed).lower() if feed is not None else None,
        words=words,
    )


def apply_kills(
    rules: list[KillRule], entries: list[ParsedEntry], feed_title: str | None, feed_url: str
) -> tuple[list[ParsedEntry], list[str]]:
    """(entries to store, guids to mark read): hidden posts are left out."""
    if not rules:
        return entries, []
    kept: list[ParsedEntry] = []
    read: list[str] = []
    for entry in entries:
        actions = {r.action for r in rules if r.matches(entry, feed_title, feed_url)}
        if "hide" in actions:
            continue
        kept.append(entry)
        if "read" in actions:
            read.append(entry.guid)
    return kept, read
