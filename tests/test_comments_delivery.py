"""Never twice, without the site's help: uncertain attempts, read-back, deadlines, leases.

The sites here are the test's own loopback servers. They store a comment the moment it
arrives and answer late (after the client gave up), or trickle an answer forever; none
of them answers 409 to a duplicate, so only termnews can keep a comment from arriving
twice.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from termnews.comments import CommentService, PostOutcome
from termnews.config import Settings
from termnews.http import make_client
from termnews.model import ArticleDetail, Draft, Identity, OutboxState, TargetKind
from termnews.service import NewsService
from termnews.store import Store
from tests.support.commentsite import Site, comment_site, the_post

site = comment_site  # the fixture, under the name these tests use

ADA = Identity(name="ada")
SIGNED = Settings(name="Ada Quill", email="ada@example.org")


def commenter(service: NewsService, **options: Any) -> CommentService:
    return CommentService(service.store, SIGNED, ADA, **options)


async def target_of(comments: CommentService, article: ArticleDetail, kind: TargetKind):  # type: ignore[no-untyped-def]
    info = await comments.info(article)
    return next(t for t in info.targets if t.kind == kind)


def draft(article: ArticleDetail, body: str) -> Draft:
    return Draft(article_id=article.id, identity=ADA.name, body=body)


@pytest.mark.parametrize("kind", [TargetKind.COMMENTAPI, TargetKind.WORDPRESS_FORM])
async def test_a_late_answer_is_not_sent_again_when_the_site_has_it(
    site: Site, service: NewsService, kind: TargetKind
) -> None:
    article = await the_post(service, site)
    comments = commenter(service, timeout=0.3)
    target = await target_of(comments, article, kind)
    site.answer_delay = 1.0  # stores at once, answers after the client's timeout
    body = "Tide tables at last make sense — thanks!"
    first = await comments.post(article, draft(article, body), target)
    assert first.outcome is PostOutcome.FAILED and first.uncertain, first.message
    assert "may have reached the site; checking before any retry" in first.message
    [item] = comments.outbox()
    assert item.state is OutboxState.UNCERTAIN
    site.answer_delay = 0.0

    [retried] = await comments.retry_outbox(force=True)
    assert retried.outcome is PostOutcome.POSTED, retried.message
    assert "earlier attempt had reached it" in retried.message
    assert comments.outbox() == []
    assert await comments.retry_outbox(force=True) == []
    assert site.comments == [("Ada Quill", body)]
    assert site.posts == 1  # read back, found, never sent again


@pytest.mark.parametrize("kind", [TargetKind.COMMENTAPI, TargetKind.WORDPRESS_FORM])
async def test_a_connection_dropped_after_sending_is_checked_not_resent(
    site: Site, service: NewsService, kind: TargetKind
) -> None:
    article = await the_post(service, site)
    comments = commenter(service, timeout=2.0)
    target = await target_of(comments, article, kind)
    site.drop = True  # stores it, then hangs up without a word
    first = await comments.post(article, draft(article, "Hung up on."), target)
    assert first.outcome is PostOutcome.FAILED and first.uncertain, first.message
    assert "closed the connection" in first.message
    site.drop = False
    [retried] = await comments.retry_outbox(force=True)
    assert retried.outcome is PostOutcome.POSTED, retried.message
    assert site.comments == [("Ada Quill", "Hung up on.")] and site.posts == 1


async def test_a_refused_connection_is_certain_and_simply_sent_again(
    site: Site, service: NewsService
) -> None:
    article = await the_post(service, site)
    comments = commenter(service, timeout=2.0)
    target = await target_of(comments, article, TargetKind.COMMENTAPI)
    outgoing = comments._outgoing(article, draft(article, "Nobody home."), target)
    outgoing.api_url = "http://127.0.0.1:9/commentapi"  # nothing listens on the discard port
    backend = comments._backend_for(TargetKind.COMMENTAPI)
    assert backend is not None
    async with make_client(2.0) as client:
        result = await backend.post(client, outgoing, retrying=False)
    assert result.outcome is PostOutcome.FAILED and result.retryable
    assert not result.uncertain  # it never left: no need to read the site back
    assert result.message.startswith("could not post to 127.0.0.1: connection refused")


@pytest.mark.parametrize("kind", [TargetKind.COMMENTAPI, TargetKind.WORDPRESS_FORM])
async def test_an_uncertain_comment_the_site_lost_is_sent_again_once(
    site: Site, service: NewsService, kind: TargetKind
) -> None:
    article = await the_post(service, site)
    comments = commenter(service, timeout=0.3)
    target = await target_of(comments, article, kind)
    site.answer_delay, site.store = 1.0, False  # took it, then lost it
    first = await comments.post(article, draft(article, "Lost the first time."), target)
    assert first.uncertain
    site.answer_delay, site.store = 0.0, True
    [retried] = await comments.retry_outbox(force=True)
    assert retried.outcome is PostOutcome.POSTED, retried.message
    assert site.comments == [("Ada Quill", "Lost the first time.")]
    assert site.posts == 2


async def test_a_trickling_site_cannot_keep_a_send_open_past_the_deadline(
    site: Site, service: NewsService
) -> None:
    article = await the_post(service, site)
    comments = commenter(service, timeout=5.0, send_deadline=1.0)
    target = await target_of(comments, article, TargetKind.COMMENTAPI)
    site.trickle = True  # a byte every 0.1 s: no read timeout ever fires
    started = time.monotonic()
    result = await comments.post(article, draft(article, "Slowly, slowly."), target)
    took = time.monotonic() - started
    assert took < 3.0, took
    assert result.outcome is PostOutcome.FAILED and result.uncertain
    assert "within 1 s" in result.message
    assert [i.state for i in comments.outbox()] == [OutboxState.UNCERTAIN]


async def test_the_lease_is_renewed_while_a_send_runs(
    site: Site, service: NewsService, paths: Any
) -> None:
    article = await the_post(service, site)
    comments = commenter(service, timeout=5.0, lease=1.2, send_deadline=10.0)
    assert comments.send_deadline < comments.lease  # the deadline always ends first
    target = await target_of(comments, article, TargetKind.COMMENTAPI)
    site.answer_delay, site.store = 1.0, False
    await comments.post(article, draft(article, "Kept under lease."), target)
    [item] = comments.outbox()
    site.answer_delay, site.trickle = 0.0, True

    other = Store(paths.database, identity="ada")
    seen: list[float | None] = []
    stolen: list[bool] = []

    async def watch() -> None:
        for _ in range(8):
            await asyncio.sleep(0.1)
            seen.append(other.outbox_lease_until(item.id))
            states = (OutboxState.PENDING, OutboxState.UNCERTAIN)
            stolen.append(other.outbox_lease(item.id, 1.2, states) is not None)

    try:
        results, _ = await asyncio.gather(comments.retry_outbox(force=True), watch())
    finally:
        other.close()
    [result] = results
    assert result.outcome is PostOutcome.FAILED and result.uncertain
    leases = [s for s in seen if s]
    assert len(set(leases)) >= 2 and leases == sorted(leases)  # renewed, never shortened
    assert not any(stolen)  # no other process could take it meanwhile
    [after] = comments.outbox()
    assert after.state is OutboxState.UNCERTAIN and after.attempts == 2
