"""The comments pane with outside discussions (HN, Mastodon, Bluesky stand-ins), via Pilot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.comments import CommentTarget, PostOutcome
from termnews.config import Settings
from termnews.model import ArticleDetail, ArticleQuery, Draft, Identity, TargetKind
from termnews.screens.comments import CommentsHeader, CommentsScreen
from termnews.screens.compose import ComposeScreen
from termnews.service import NewsService
from tests.support.discussions import DiscussionServer, Reply
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import subscribed
from tests.support.pilot import open_post, press_to, wait_until

THREAD = [
    Reply("101", "ada", "<p>First!</p>", None, 1_700_000_100),
    Reply("102", "bob", "<p>Answer to Ada</p>", "101", 1_700_000_200),
]


@pytest.fixture
def discussions() -> Iterator[DiscussionServer]:
    with DiscussionServer() as server:
        yield server


@contextmanager
def one_post(tmp_path: Path, content: str, settings: Settings) -> Iterator[tuple[NewsService, int]]:
    """ada's service, subscribed to a blog whose one post has `content`, and that post's id."""
    with FeedServer() as feeds:
        post = {"link": feeds.url_for("/post/1"), "content": content}
        feeds.add_feed("/feed.xml", make_rss("Blog", [post]))
        svc = subscribed(
            tmp_path, feeds.url_for("/feed.xml"), settings=settings, identity=Identity(name="ada")
        )
        try:
            [article_id] = svc.article_ids(ArticleQuery())
            yield svc, article_id
        finally:
            svc.close()


@pytest.fixture
def service(tmp_path: Path, discussions: DiscussionServer) -> Iterator[NewsService]:
    status = discussions.add_mastodon("110", THREAD)
    sky = discussions.add_bluesky("ada.example.com", "3kabc", THREAD)
    discussions.add_hackernews("https://elsewhere.example.org/", THREAD, story_id=4242)
    content = (
        "<p>A post.</p>"
        '<p><a href="https://news.ycombinator.com/item?id=4242">On HN</a>, '
        f'<a href="{status}">comment on Mastodon</a>, <a href="{sky}">or Bluesky</a>.</p>'
    )
    settings = Settings(refresh_on_start=False, discussions=discussions.settings())
    with one_post(tmp_path, content, settings) as (svc, _):
        yield svc


async def test_three_outside_sources_in_one_pane(
    service: NewsService, discussions: DiscussionServer
) -> None:
    [article_id] = service.article_ids(ArticleQuery())
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        assert discussions.requests == []  # nothing is looked up before the discussion opens
        screen = await press_to(pilot, "c", screen=CommentsScreen)
        await wait_until(pilot, lambda: len(screen.comments) == 6 and screen.sources != [])
        header = str(screen.query_one(CommentsHeader).render())
        assert "HN 412 points · 2 comments  https://news.ycombinator.com/item?id=4242" in header
        assert "Mastodon 40 favourites · 2 boosts · 2 replies" in header
        assert "Bluesky 12 likes · 1 repost · 2 replies" in header
        labels = {item.comment.source: item.depth for item in screen.comments}
        assert set(labels) == {"hackernews", "mastodon", "bluesky"}
        assert sorted(item.depth for item in screen.comments) == [0, 0, 0, 1, 1, 1]
        lines = [line.plain for line in screen.view.lines]
        assert any(line.endswith(" · HN") for line in lines)
        assert any(line.endswith(" · Mastodon") for line in lines)
        assert "/api/v1/search" not in discussions.paths()  # a loopback post: no URL lookup


@pytest.fixture
def mastodon_service(
    tmp_path: Path, discussions: DiscussionServer
) -> Iterator[tuple[NewsService, int]]:
    status = discussions.add_mastodon("110", THREAD)
    content = f'<p>A post. <a href="{status}">Comment on Mastodon</a></p>'
    account = discussions.settings(
        mastodon_instance=discussions.url,
        mastodon_token=discussions.mastodon_token,
        timeout=1.0,
    )
    settings = Settings(refresh_on_start=False, name="Ada", discussions=account)
    with one_post(tmp_path, content, settings) as found:
        yield found


@pytest.fixture
def bluesky_service(
    tmp_path: Path, discussions: DiscussionServer
) -> Iterator[tuple[NewsService, int]]:
    sky = discussions.add_bluesky("ada.example.com", "3kabc", THREAD)
    content = f'<p>A post. <a href="{sky}">Discuss on Bluesky</a></p>'
    handle, password = discussions.bluesky_login
    account = discussions.settings(
        bluesky_pds=discussions.url,
        bluesky_handle=handle,
        bluesky_app_password=password,
        timeout=1.0,
    )
    with one_post(
        tmp_path, content, Settings(refresh_on_start=False, discussions=account)
    ) as found:
        yield found


async def reply_through_a_timeout(
    service: NewsService,
    discussions: DiscussionServer,
    article: ArticleDetail,
    target: CommentTarget,
    parent_id: str | None,
) -> None:
    """Reply to `parent_id`: the first answer comes after the client gave up (the reply was
    stored: uncertain), and the outbox's retry finds it posted."""
    discussions.post_delay = 2.0
    draft = Draft(article.id, "ada", "Replying to Bob", parent_id=parent_id)
    first = await service.comments.post(article, draft, target)
    assert first.outcome is PostOutcome.FAILED and first.uncertain
    discussions.post_delay = 0.0
    [retried] = await service.comments.retry_outbox(force=True)
    assert retried.outcome is PostOutcome.POSTED, retried.message


async def shown_once_under(
    service: NewsService, article: ArticleDetail, parent_id: str | None
) -> None:
    shown = await service.comments.load(article)
    mine = [c for c in shown if "Replying to Bob" in c.content_html]
    assert len(mine) == 1 and mine[0].parent_id == parent_id


async def test_a_mastodon_reply_from_your_account_is_sent_exactly_once(
    mastodon_service: tuple[NewsService, int], discussions: DiscussionServer
) -> None:
    service, article_id = mastodon_service
    article = service.article(article_id)
    info = await service.comments.info(article)
    [target] = [t for t in info.targets if t.kind == TargetKind.MASTODON]
    assert target.label == f"to the post's Mastodon thread as @me@{discussions.url[7:]}"
    assert target.note == f"at most 500 characters ({discussions.url[7:]}'s limit)"
    comments = await service.comments.load(article)
    bob = next(c for c in comments if c.author == "Bob (@bob)")
    await reply_through_a_timeout(service, discussions, article, target, bob.remote_id)
    assert len(discussions.posted) == 1
    assert discussions.posted[0]["form"]["in_reply_to_id"] == "102"  # Bob's status
    await shown_once_under(service, article, bob.remote_id)


async def test_a_bluesky_reply_under_a_comment_is_sent_exactly_once(
    bluesky_service: tuple[NewsService, int], discussions: DiscussionServer
) -> None:
    service, article_id = bluesky_service
    article = service.article(article_id)
    info = await service.comments.info(article)
    [target] = [t for t in info.targets if t.kind == TargetKind.BLUESKY]
    assert target.label == "to the post's Bluesky thread as @me.bsky.social"
    bob = next(c for c in await service.comments.load(article) if "bob" in c.author)
    await reply_through_a_timeout(service, discussions, article, target, bob.remote_id)
    assert len(discussions.bluesky_records) == 1
    [record] = discussions.bluesky_records.values()
    assert record["value"]["reply"]["parent"]["uri"] == bob.remote_id.removeprefix("bluesky:")
    assert record["value"]["reply"]["root"]["uri"].endswith("/3kabc")
    await shown_once_under(service, article, bob.remote_id)


async def test_replying_to_a_mastodon_comment_from_the_compose_modal(
    mastodon_service: tuple[NewsService, int], discussions: DiscussionServer
) -> None:
    service, article_id = mastodon_service
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        screen = await press_to(pilot, "c", screen=CommentsScreen)
        await wait_until(pilot, lambda: screen.info is not None and len(screen.comments) == 2)
        await pilot.press("tab", "tab")  # the second comment: Bob's answer to Ada
        assert screen.comments[screen.selected].comment.author == "Bob (@bob)"
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        where = str(app.screen.query_one("#where").render())
        assert f"to the post's Mastodon thread as @me@{discussions.url[7:]}" in where
        await pilot.press(*"Thanks Bob")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(
            pilot, lambda: any("Thanks Bob" in c.comment.content_html for c in screen.comments)
        )
        mine = next(c for c in screen.comments if "Thanks Bob" in c.comment.content_html)
        assert mine.depth == 2  # under Bob, under Ada
    assert [p["form"]["in_reply_to_id"] for p in discussions.posted] == ["102"]


async def test_a_bluesky_reply_counts_300_graphemes_and_asks_no_name(
    bluesky_service: tuple[NewsService, int], discussions: DiscussionServer
) -> None:
    from textual.widgets import Static, TextArea

    service, article_id = bluesky_service
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        screen = await press_to(pilot, "c", screen=CommentsScreen)
        await wait_until(pilot, lambda: screen.info is not None and screen.comments != [])
        await pilot.press("tab", "r")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        modal = app.screen
        where = str(modal.query_one("#where").render())
        assert "Bluesky thread as @me.bsky.social" in where
        assert not modal.query_one("#identity-fields").display
        body = modal.query_one("#body", TextArea)
        body.text = "👨\u200d👩\u200d👧" * 300
        await pilot.pause()
        assert str(modal.query_one("#count", Static).render()) == "300 / 300 characters"
        body.text += "🇩🇪"
        await pilot.pause()
        assert str(modal.query_one("#count", Static).render()) == "301 / 300 characters"
        await pilot.press("ctrl+s")
        await pilot.pause()
        result = str(modal.query_one("#result", Static).render())
        assert "Too long to send: 301 characters, and Bluesky takes at most 300" in result
    assert discussions.bluesky_records == {}
