"""Outside discussions as read-only comment backends: one per source, one line each in BACKENDS.

Each wraps a source module of `comments/` (hackernews, lobsters, reddit, mastodon,
bluesky): `probe` asks the module, without the network, whether the post may be discussed
there; `read` reads it (only when the user opens the discussion) into the cache under the
source's name and keeps its header line ("HN 412 points · 96 comments") for the pane.
Posting is not offered here (read-only); Mastodon and Bluesky replies live in their
modules for the compose modal to use.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from termnews.comments.backend import (
    Capability,
    CommentError,
    Outgoing,
    PostOutcome,
    PostResult,
    Probe,
)
from termnews.comments.deps import Deps
from termnews.comments.discussions import Outcome, Source, post_of, remember
from termnews.comments.outside import DiscussionError, make_client
from termnews.model import ArticleDetail, Comment, CommentSource, TargetKind


class OutsideBackend:
    kinds: tuple[TargetKind, ...] = ()

    def __init__(self, deps: Deps, module: Source) -> None:
        self.deps = deps
        self.module = module
        self.source: CommentSource | None = CommentSource(module.SERVICE.value)

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        wanted = self.module.wanted(post_of(article), self.deps.settings.discussions)
        return Probe(can=Capability.READ if wanted else Capability.NONE)

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        settings = self.deps.settings.discussions
        post = post_of(article)
        if not self.module.wanted(post, settings):
            return None
        service = self.module.SERVICE
        try:
            async with make_client(settings) as own:  # the discussions' own timeout
                discussions = await self.module.read(own, post, settings)
        except DiscussionError as exc:
            remember(self.deps.store, article.id, [Outcome(service, error=str(exc))])
            raise CommentError(str(exc)) from exc
        remember(self.deps.store, article.id, [Outcome(service, discussions)])
        return [comment for discussion in discussions for comment in discussion.comments]

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        label = self.module.SERVICE.label
        return PostResult(
            PostOutcome.REJECTED, f"{label} is read-only in termnews", None, retryable=False
        )

    async def read_back(
        self, client: httpx.AsyncClient, outgoing: Outgoing
    ) -> list[Comment] | None:
        return None


def backend(module: Source) -> Callable[[Deps], OutsideBackend]:
    """The BACKENDS entry for one source module."""

    def make(deps: Deps) -> OutsideBackend:
        return OutsideBackend(deps, module)

    return make
