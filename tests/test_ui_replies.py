"""The "Replies" entry of the feed list and the list of replies to you, driven with Pilot
against the sample site (real HTTP, a real SQLite file)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.widgets import OptionList

from termnews.app import TermNewsApp
from termnews.comments import PostOutcome
from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.model import ArticleDetail, ArticleQuery, Draft, Identity
from termnews.screens.comments import CommentsScreen
from termnews.screens.feeds import FeedsScreen
from termnews.screens.replies import RepliesScreen
from termnews.service import NewsService
from termnews.widgets.feed_list import REPLIES, FeedList
from tests.support.pilot import wait_until

HOSTILE = "[@click=app.quit]Eve[/] \x1b]0;owned\x07"


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0).start() as demo:
        yield demo


@pytest.fixture
def service(tmp_path: Path, site: DemoSite) -> Iterator[NewsService]:
    settings = Settings(refresh_on_start=False, name="Ada Reader", email="ada@example.org")
    settings.check_minutes = 0
    paths = Paths(tmp_path / "config.toml", tmp_path / "data")
    svc = NewsService.open(paths, settings, identity=Identity(name="ada"))
    svc.subscribe(site.feed_urls[0])
    asyncio.run(svc.refresh())
    yield svc
    svc.close()


def threaded(service: NewsService, site: DemoSite) -> ArticleDetail:
    url = site.post_for("threaded").url
    for article_id in service.article_ids(ArticleQuery()):
        article = service.article(article_id)
        if article is not None and article.link == url:
            return article
    raise AssertionError("no threaded post")


async def answered(
    service: NewsService, site: DemoSite, author: str = "Bea Other"
) -> ArticleDetail:
    """Ada comments on the threaded post, someone answers on the site, a refresh finds it."""
    article = threaded(service, site)
    info = await service.comments.info(article)
    form = next(t for t in info.targets if t.kind == "wordpress-form")
    draft = Draft(article_id=article.id, identity="ada", body="Is the quay open late?")
    result = await service.comments.post(article, draft, form)
    assert result.outcome is PostOutcome.POSTED and result.comment is not None
    mine = result.comment.remote_id
    post_id = next(p.id for p in site.posts if p.url == article.link)
    answer = httpx.post(
        site.comment_post_url,
        data={
            "comment_post_ID": str(post_id),
            "comment_parent": mine,
            "author": author,
            "email": "bea@example.net",
            "comment": "Until ten on Fridays.\n\nAnd later in summer.",
        },
    )
    assert answer.status_code == 302
    assert (await service.refresh()).new_replies == 1
    return article


def option_text(feeds: FeedList, key: str) -> str:
    return str(feeds.get_option(key).prompt)


async def test_no_replies_entry_until_something_was_posted(service: NewsService) -> None:
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        feeds = app.screen.query_one(FeedList)
        keys = [feeds.get_option_at_index(i).id for i in range(feeds.option_count)]
        assert REPLIES not in keys
        assert feeds.highlighted_key == "all"


async def test_the_replies_entry_opens_the_discussion_at_the_reply(
    service: NewsService, site: DemoSite
) -> None:
    article = await answered(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        feeds = app.screen.query_one(FeedList)
        assert feeds.get_option_at_index(0).id == REPLIES  # at the top
        assert option_text(feeds, REPLIES) == "↩ Replies  1"
        assert feeds.highlighted_key == "all"  # the list opens on All, as before
        await pilot.press("home")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RepliesScreen))
        replies = app.screen
        listing = replies.query_one(OptionList)
        shown = str(listing.get_option_at_index(0).prompt)
        assert "Bea Other · site · " in shown and article.title in shown
        assert "Until ten on Fridays." in shown and "later in summer" not in shown
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CommentsScreen))
        comments = app.screen
        await wait_until(pilot, lambda: comments.selected >= 0)
        chosen = comments.comments[comments.selected].comment
        assert chosen.author == "Bea Other" and "Until ten" in chosen.content_html
        await pilot.pause(0.2)
        start = comments.starts[comments.selected]
        view = comments.view
        assert view.scroll_y <= start < view.scroll_y + view.size.height  # scrolled to it
        assert service.unread_replies() == 0  # opening it marked it read
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is replies)
        assert "●" not in str(listing.get_option_at_index(0).prompt)
        await pilot.press("m")  # back to unread
        assert service.unread_replies() == 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        assert option_text(feeds, REPLIES) == "↩ Replies  1"


async def test_I_opens_the_replies_and_outside_text_stays_text(
    service: NewsService, site: DemoSite
) -> None:
    await answered(service, site, author=HOSTILE)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        await pilot.press("I")
        await wait_until(pilot, lambda: isinstance(app.screen, RepliesScreen))
        shown = str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
        assert "[@click=app.quit]Eve[/]" in shown  # markup shown as typed, never run
        assert "\x1b" not in shown and "\x07" not in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        assert app.is_running


async def test_the_palette_offers_the_replies(service: NewsService, site: DemoSite) -> None:
    await answered(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        assert any(c.title == "Replies to you" for c in app.get_system_commands(app.screen))
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Replies to you")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RepliesScreen))
        assert len(app.screen.replies) == 1
