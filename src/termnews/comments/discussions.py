"""A post's outside discussions: every enabled source, read at once, each failing alone.

`wanted` says (without the network) which sources may have a discussion of a post;
`read_discussions` reads them concurrently and returns one `Outcome` per source: its
discussions, or one error line ("HN: hn.algolia.com did not answer in time"). Nothing here
runs until the user opens the post's discussion. Adding a source is one module with
`SERVICE`, `wanted` and `read`, and one entry in `SOURCES`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

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

__all__ = ["SOURCES", "Outcome", "post_of", "read_discussions", "wanted"]


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


def post_of(article: ArticleDetail, page_html: str | None = None) -> Post:
    """The parts of a post the sources look at: its link, its HTML (and page), its feed."""
    return Post(
        url=article.link,
        html=article.body_html + (page_html or ""),
        feed_url=article.feed_url,
    )


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
