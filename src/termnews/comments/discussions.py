"""A post's outside discussions: every enabled source, read at once, each failing alone.

`wanted` says (without the network) which sources may have a discussion of a post;
`read_discussions` reads them concurrently and returns one `Outcome` per source: its
discussions, or one error line ("HN: hn.algolia.com did not answer in time"). Nothing here
runs until the user opens the post's discussion. Adding a source is one module with
`SERVICE`, `wanted` and `read`, and one entry in `SOURCES`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import httpx

from termnews.comments import bluesky, hackernews, lobsters, mastodon, reddit
from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    Service,
    make_client,
)
from termnews.config import DiscussionSettings
from termnews.model import ArticleDetail, Comment

__all__ = [
    "SOURCES",
    "Outcome",
    "SourceHeader",
    "forget_read",
    "mark_read",
    "post_of",
    "read_discussions",
    "remember",
    "remembered",
    "stale",
    "wanted",
]


class Source(Protocol):
    SERVICE: Service

    def wanted(self, post: Post, settings: DiscussionSettings) -> bool: ...

    async def read(
        self, client: httpx.AsyncClient, post: Post, settings: DiscussionSettings
    ) -> list[Discussion]: ...


SOURCES: tuple[Source, ...] = (hackernews, lobsters, reddit, mastodon, bluesky)


@dataclass(slots=True)
class Outcome:
    service: Service
    discussions: list[Discussion] = field(default_factory=list)
    error: str | None = None

    @property
    def comments(self) -> list[Comment]:
        return [comment for d in self.discussions for comment in d.comments]


_RECENT: dict[tuple[int, str | None, str | None, int], Post] = {}


def post_of(article: ArticleDetail, page_html: str | None = None) -> Post:
    """The parts of a post the sources look at: its link, its HTML (and page), its feed.

    The same article asks five sources twice (probe, read): its HTML is scanned once.
    """
    html = article.body_html + (page_html or "")
    key = (article.id, article.link, article.feed_url, hash(html))
    post = _RECENT.get(key)
    if post is None:
        if len(_RECENT) >= 8:
            _RECENT.pop(next(iter(_RECENT)))
        post = _RECENT[key] = Post(url=article.link, html=html, feed_url=article.feed_url)
    return post


def wanted(post: Post, settings: DiscussionSettings) -> list[Source]:
    return [source for source in SOURCES if source.wanted(post, settings)]


async def read_discussions(
    post: Post,
    settings: DiscussionSettings,
    *,
    client: httpx.AsyncClient | None = None,
    sources: list[Source] | None = None,
) -> list[Outcome]:
    """Every wanted source, concurrently; one Outcome each, in SOURCES order."""
    chosen = wanted(post, settings) if sources is None else sources
    if not chosen:
        return []
    if client is None:
        async with make_client(settings) as own:
            return await _read_all(own, post, settings, chosen)
    return await _read_all(client, post, settings, chosen)


async def _read_all(
    client: httpx.AsyncClient, post: Post, settings: DiscussionSettings, chosen: list[Source]
) -> list[Outcome]:
    results = await asyncio.gather(
        *(source.read(client, post, settings) for source in chosen), return_exceptions=True
    )
    outcomes = []
    for source, result in zip(chosen, results, strict=True):
        if isinstance(result, DiscussionError):
            outcomes.append(Outcome(source.SERVICE, error=str(result)))
        elif isinstance(result, Exception):
            # A bug or a shape no check foresaw: one line, never a traceback on screen.
            label = source.SERVICE.label
            outcomes.append(
                Outcome(
                    source.SERVICE,
                    error=f"{label}: internal error reading "
                    f"the discussion ({type(result).__name__})",
                )
            )
        elif isinstance(result, BaseException):
            raise result
        else:
            outcomes.append(Outcome(source.SERVICE, discussions=result))
    return outcomes


# -- what the comments pane shows above each source's comments, kept for offline reading --


@dataclass(slots=True)
class SourceHeader:
    """One source's line in the discussion pane: "HN 412 points · 96 comments" and a link."""

    service: str
    header: str
    url: str | None
    title: str = ""
    note: str | None = None
    error: str | None = None  # the last read failed; the header is from an earlier read
    fetched: float = 0.0


class KeyValues(Protocol):
    """The store's key/value table (`Store.get_value` / `Store.set_value`)."""

    def get_value(self, key: str, default: str | None = None) -> str | None: ...

    def set_value(self, key: str, value: str) -> None: ...


def _key(article_id: int) -> str:
    return f"discussions:{article_id}"


def remembered(store: KeyValues, article_id: int) -> list[SourceHeader]:
    """The headers of the last reads of this post's outside discussions (no network)."""
    try:
        rows = json.loads(store.get_value(_key(article_id)) or "[]")
    except ValueError:
        return []
    headers = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            try:
                headers.append(SourceHeader(**_known(row)))
            except TypeError:
                continue
    return headers


def _known(row: dict[str, Any]) -> dict[str, Any]:
    names = SourceHeader.__dataclass_fields__
    return {name: value for name, value in row.items() if name in names}


def remember(
    store: KeyValues, article_id: int, outcomes: list[Outcome], now: float | None = None
) -> list[SourceHeader]:
    """Keep what these reads found; a source that failed keeps its earlier header."""
    when = time.time() if now is None else now
    earlier = remembered(store, article_id)
    read = {outcome.service.value for outcome in outcomes if outcome.error is None}
    failed = {outcome.service.value: outcome.error for outcome in outcomes if outcome.error}
    kept: list[SourceHeader] = []
    for header in earlier:
        if header.service in read:
            continue
        if header.service in failed:
            header.error = failed.pop(header.service)
        kept.append(header)
    for service, error in failed.items():  # failed, and never read before
        kept.append(SourceHeader(service, "", None, error=error, fetched=when))
    for outcome in outcomes:
        for discussion in outcome.discussions:
            kept.append(
                SourceHeader(
                    service=outcome.service.value,
                    header=discussion.header,
                    url=discussion.url,
                    title=discussion.title,
                    note=discussion.note,
                    fetched=when,
                )
            )
    order = {source.SERVICE.value: n for n, source in enumerate(SOURCES)}
    kept.sort(key=lambda header: order.get(header.service, len(order)))
    store.set_value(_key(article_id), json.dumps([asdict(header) for header in kept]))
    return kept


# -- when each source was last read for a post (found or not), for discussions.refresh_after --


def _read_key(article_id: int) -> str:
    return f"discussions-read:{article_id}"


def read_times(store: KeyValues, article_id: int) -> dict[str, float]:
    try:
        times = json.loads(store.get_value(_read_key(article_id)) or "{}")
    except ValueError:
        return {}
    if not isinstance(times, dict):
        return {}
    return {k: float(v) for k, v in times.items() if isinstance(v, int | float)}


def mark_read(store: KeyValues, article_id: int, service: str, now: float | None = None) -> None:
    times = read_times(store, article_id)
    times[service] = time.time() if now is None else now
    store.set_value(_read_key(article_id), json.dumps(times))


def forget_read(store: KeyValues, article_id: int, service: str) -> None:
    """The next load reads this source again (a reply was just posted there)."""
    times = read_times(store, article_id)
    if times.pop(service, None) is not None:
        store.set_value(_read_key(article_id), json.dumps(times))


def stale(
    store: KeyValues, article_id: int, service: str, minutes: int, now: float | None = None
) -> bool | None:
    """None: never read for this post; True: read more than `minutes` ago (0: never stale)."""
    when = read_times(store, article_id).get(service)
    if when is None:
        return None
    return minutes > 0 and (time.time() if now is None else now) - when >= minutes * 60
