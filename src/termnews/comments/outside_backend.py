"""Outside discussions as read-only comment backends: one per source, one line each in BACKENDS.

Each wraps a source module of `comments/` (hackernews, lobsters, reddit, mastodon,
bluesky): `probe` asks the module, without the network, whether the post may be discussed
there; `read` reads it (only when the user opens the discussion) into the cache under the
source's name and keeps its header line ("HN 412 points · 96 comments") for the pane.
HN, Lobsters and Reddit are read-only; `MastodonBackend` and `BlueskyBackend` also reply
in the post's thread from the accounts in `[discussions]` (mastodon_instance and
mastodon_token; bluesky_handle and bluesky_app_password).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence

import httpx

from termnews.comments import bluesky, mastodon
from termnews.comments.backend import (
    Capability,
    CommentBackend,
    CommentError,
    CommentTarget,
    Outgoing,
    PostOutcome,
    PostResult,
    Probe,
)
from termnews.comments.deps import Deps
from termnews.comments.discussions import (
    Outcome,
    Source,
    forget_read,
    mark_read,
    post_of,
    remember,
    stale,
)
from termnews.comments.outside import DiscussionError, SendFailure, make_client
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
        mark_read(self.deps.store, article.id, service.value)
        return [comment for discussion in discussions for comment in discussion.comments]

    def due(self, article: ArticleDetail, *, opened_before: bool = False) -> bool:
        """Read it now? Never read for this post: yes (unless only `opened_before` ones are
        wanted); read before: when older than discussions.refresh_after minutes."""
        minutes = self.deps.settings.discussions.refresh_after
        state = stale(self.deps.store, article.id, self.module.SERVICE.value, minutes)
        return not opened_before if state is None else state

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


class MastodonBackend(OutsideBackend):
    """Reads the post's Mastodon thread, and replies in it from your own account.

    Never twice: every attempt at one reply carries the same Idempotency-Key (Mastodon
    answers a repeat with the status it made), and a retry first looks for the reply in
    the thread on your instance.
    """

    kinds: tuple[TargetKind, ...] = (TargetKind.MASTODON,)

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps, mastodon)

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        probe = await super().probe(client, article)
        settings = self.deps.settings.discussions
        me = mastodon.account(settings)
        statuses = mastodon.linked_statuses(post_of(article), settings)
        if me is None or not statuses or self.deps.restricted:
            return probe  # a served host's members never use the operator's account
        try:
            async with make_client(settings) as own:
                who = await mastodon.whoami(own, me)
                limit = await self._limit(own, me)
        except DiscussionError as exc:
            probe.note = str(exc)
            return probe
        probe.can |= Capability.POST
        probe.targets.append(
            CommentTarget(
                kind=TargetKind.MASTODON,
                label=f"to the post's Mastodon thread as {who}",
                host=me.host,
                needs_email=False,
                note=f"at most {limit} characters ({me.host}'s limit)",
                thread_url=statuses[0].link,
                max_chars=limit,
            )
        )
        return probe

    async def _limit(self, client: httpx.AsyncClient, me: mastodon.Account) -> int:
        """The instance's character limit, asked once a day (kept in the store)."""
        key = f"mastodon-limit:{me.host}"
        limit, _, when = (self.deps.store.get_value(key) or "").partition("@")
        if limit.isdigit() and _fresh(when, LIMIT_KEPT):
            return int(limit)
        found = await mastodon.character_limit(client, me)
        self.deps.store.set_value(key, f"{found}@{time.time():.0f}")
        return found

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        settings = self.deps.settings.discussions
        me = mastodon.account(settings)
        if me is None or not outgoing.thread_url:
            return PostResult(
                PostOutcome.REJECTED, "no Mastodon account or thread for this reply", None, False
            )
        key = _reply_key(outgoing)
        try:
            async with make_client(settings) as own:
                status_url = await self._answered(own, outgoing.thread_url, outgoing.parent_id)
                if retrying:
                    found = await mastodon.find_sent(own, me, status_url, outgoing.body)
                    if found is not None:
                        message = "Reply delivered on Mastodon (an earlier attempt had made it)."
                        forget_read(self.deps.store, outgoing.article_id, mastodon.SERVICE.value)
                        return PostResult(PostOutcome.POSTED, message, found, False)
                sent = await mastodon.reply(own, me, status_url, outgoing.body, key=key)
        except SendFailure as exc:
            outcome = PostOutcome.FAILED if exc.retryable else PostOutcome.REJECTED
            return PostResult(outcome, str(exc), None, exc.retryable, uncertain=exc.uncertain)
        except DiscussionError as exc:  # reading back or finding the status answered
            return PostResult(PostOutcome.FAILED, str(exc), None, True, uncertain=retrying)
        forget_read(self.deps.store, outgoing.article_id, mastodon.SERVICE.value)
        return PostResult(PostOutcome.POSTED, f"Reply posted on Mastodon ({me.host}).", sent, False)

    async def _answered(
        self, client: httpx.AsyncClient, thread_url: str, parent_id: str | None
    ) -> str:
        """The URL of the status the reply answers: a comment of the thread, or its root."""
        roots = mastodon.linked_statuses_of(thread_url)
        rest = parent_id.removeprefix("mastodon:") if parent_id else ""
        host, _, status_id = rest.rpartition(":")  # remote ids are mastodon:HOST[:PORT]:ID
        if not roots or rest == parent_id or host != roots[0].host or not status_id.isdigit():
            return thread_url
        root = roots[0]
        return await mastodon.status_link(client, root.instance, status_id) or thread_url


def to_read(
    backends: Sequence[CommentBackend],
    article: ArticleDetail,
    force: bool,
    stale_only: bool,
    prefetch: bool,
) -> list[CommentBackend]:
    """The readers a load asks (see CommentService.load): outside discussions only when due
    (never read, or older than discussions.refresh_after), every one with `force`."""
    background = stale_only or prefetch  # only outside discussions, only when due
    return [
        b
        for b in backends
        if b.source is not None
        and (force or not isinstance(b, OutsideBackend) or b.due(article, opened_before=stale_only))
        and (not background or isinstance(b, OutsideBackend))
    ]


LIMIT_KEPT = 24 * 3600.0  # seconds an instance's character limit is trusted


def _fresh(stamp: str, seconds: float) -> bool:
    try:
        return time.time() - float(stamp) < seconds
    except ValueError:
        return False


def _reply_key(outgoing: Outgoing) -> str:
    """The same for every attempt at one reply: Mastodon's Idempotency-Key."""
    parts = (str(outgoing.article_id), outgoing.parent_id or "", outgoing.body)
    return "termnews-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class BlueskyBackend(OutsideBackend):
    """Reads the post's Bluesky thread, and replies in it (handle + app password).

    Never twice: the record key comes from the first attempt's time, so every attempt
    writes the same record, and a retry reads it back first.
    """

    kinds: tuple[TargetKind, ...] = (TargetKind.BLUESKY,)

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps, bluesky)

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        probe = await super().probe(client, article)
        settings = self.deps.settings.discussions
        account = bluesky.login(settings)
        posts = bluesky.linked_posts(post_of(article))
        if account is None or not posts or self.deps.restricted:
            return probe
        probe.can |= Capability.POST
        link = f"{bluesky.APP}/profile/{posts[0].actor}/post/{posts[0].rkey}"
        probe.targets.append(
            CommentTarget(
                kind=TargetKind.BLUESKY,
                label=f"to the post's Bluesky thread as @{account.handle}",
                host=account.handle,
                needs_email=False,
                note=f"at most {bluesky.MAX_GRAPHEMES} characters",
                thread_url=link,
                max_chars=bluesky.MAX_GRAPHEMES,
            )
        )
        return probe

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        settings = self.deps.settings.discussions
        if not outgoing.thread_url:
            return PostResult(PostOutcome.REJECTED, "no Bluesky thread for this reply", None, False)
        parent = outgoing.parent_id or ""
        parent_uri = parent.removeprefix("bluesky:") if parent.startswith("bluesky:at://") else None
        try:
            async with make_client(settings) as own:
                sent = await bluesky.reply(
                    own,
                    settings,
                    outgoing.thread_url,
                    outgoing.body,
                    created=outgoing.created or 1.0,
                    retrying=retrying,
                    parent_uri=parent_uri,
                )
        except SendFailure as exc:
            outcome = PostOutcome.FAILED if exc.retryable else PostOutcome.REJECTED
            return PostResult(outcome, str(exc), None, exc.retryable, uncertain=exc.uncertain)
        except DiscussionError as exc:
            return PostResult(PostOutcome.FAILED, str(exc), None, True, uncertain=retrying)
        forget_read(self.deps.store, outgoing.article_id, bluesky.SERVICE.value)
        return PostResult(PostOutcome.POSTED, "Reply posted on Bluesky.", sent, False)
