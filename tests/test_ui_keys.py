"""Daily use with Pilot: quitting, opening the post, next unread across feeds, the newsboat
preset, `[keys]` problems, failing feeds, the loaded comment count, feeds under every tag."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import OptionList

from termnews.app import TermNewsApp
from termnews.config import KEYMAPS
from termnews.model import ArticleQuery
from termnews.screens.comments import CommentsScreen
from termnews.screens.dialogs import LinksScreen
from termnews.screens.feeds import FeedsScreen
from termnews.screens.help import HelpScreen
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.widgets.status_line import StatusLine
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import feed_items, open_service, subscribed


@pytest.fixture
def news(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed("/alpha.xml", make_rss("Alpha", feed_items("alpha", 3, 1_700_000_000)))
    feed_server.add_feed("/beta.xml", make_rss("Beta", feed_items("beta", 2, 1_600_000_000)))
    alpha, beta = feed_server.url_for("/alpha.xml"), feed_server.url_for("/beta.xml")
    service = subscribed(tmp_path, alpha, beta, tags={alpha: ["news", "daily"], beta: ["news"]})
    yield service
    service.close()


def feed_id(service: NewsService, title: str) -> int:
    return next(f.id for f in service.feeds() if f.title == title)


def messages(app: TermNewsApp) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


async def open_list(app: TermNewsApp, pilot, key: str) -> FeedsScreen:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, FeedsScreen)
    screen.feed_list.select_key(key)
    screen.load_list(key)
    await pilot.pause()
    return screen


async def test_escape_never_quits_q_does_at_the_top(news: NewsService) -> None:
    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("escape", "escape")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "escape", "escape")
        await pilot.pause()
        assert app.screen is screen and app.return_code is None
        await pilot.press("tab", "escape")  # from the articles back to the feeds
        await pilot.pause()
        assert screen.feed_list.has_focus and app.return_code is None
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_o_opens_the_post_first_in_the_links_and_from_the_list(news: NewsService) -> None:
    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        app.ssh = True  # over SSH: the post's address is copied with OSC 52
        screen = await open_list(app, pilot, f"feed:{feed_id(news, 'Alpha')}")
        await pilot.press("tab")
        post = screen.article_list.current
        assert post is not None and post.link
        await pilot.press("o")  # from the list
        await pilot.pause()
        assert any(post.link in m and "Copied" in m for m in messages(app))
        app.clear_notifications()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("o")
        await pilot.pause()
        links = app.screen
        assert isinstance(links, LinksScreen)
        options = links.query_one(OptionList)
        first = options.get_option_at_index(0)
        assert first.id == "post" and post.link in str(first.prompt)
        assert options.option_count == 2  # the post, then the body's link
        await pilot.press("enter")
        await pilot.pause()
        assert any(post.link in m for m in messages(app))
        app.clear_notifications()
        await pilot.press("O")
        await pilot.pause()
        assert any(post.link in m for m in messages(app))


async def test_next_unread_moves_on_to_the_next_feed_with_unread_posts(
    news: NewsService,
) -> None:
    app = TermNewsApp(news)
    alpha, beta = feed_id(news, "Alpha"), feed_id(news, "Beta")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_list(app, pilot, f"feed:{alpha}")
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        await pilot.press("N", "N")  # the rest of Alpha
        assert reader.article is not None and reader.article.feed_id == alpha
        await pilot.press("N")  # end of Alpha: on to Beta
        await pilot.pause()
        assert reader.article.feed_id == beta
        assert any("on to Beta" in m for m in messages(app))
        assert "on to Beta" in screen.query_one(StatusLine).message
        await pilot.press("q")
        await pilot.pause()
        assert screen.article_list.query_spec.feed_id == beta  # the list follows
        assert screen.feed_list.highlighted_key == f"feed:{beta}"


async def test_newsboat_keymap(news: NewsService) -> None:
    news.settings.keymap = "newsboat"
    news.settings.mark_read_on_open = False
    ids = list(news.article_ids(ArticleQuery()))
    news.mark_read([ids[1]])
    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        app.ssh = True
        assert [m for m in messages(app) if "Settings" in m] == []  # the preset is clean
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen) and reader.article is not None
        assert reader.article.id == ids[0]
        await pilot.press("n")  # next unread skips the read one
        assert reader.article.id == ids[2]
        await pilot.press("p")  # previous unread
        assert reader.article.id == ids[0]
        await pilot.press("J")
        assert reader.article.id == ids[1]
        await pilot.press("K")
        assert reader.article.id == ids[0]
        assert not news.article(ids[0]).read
        await pilot.press("N")  # toggle read
        assert news.article(ids[0]).read
        await pilot.press("o")  # open in the browser (copied over SSH)
        await pilot.pause()
        assert any(reader.article.link in m for m in messages(app) if reader.article.link)
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, LinksScreen)
        await pilot.press("escape", "q", "A")  # back to the list, mark it read
        await pilot.pause()
        assert not news.article_ids(ArticleQuery(unread_only=True))
        await pilot.press("Q")
        await pilot.pause()
        assert app.return_code == 0


async def test_keys_problems_are_reported_at_start(news: NewsService, tmp_path: Path) -> None:
    news.settings.keys = {"no_such_binding": "x", "next_article": "n,p"}
    news.settings.path = tmp_path / "missing.toml"
    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = " | ".join(messages(app))
        assert "no_such_binding: no such binding id" in shown
        assert "p is bound to both" in shown and "next_article" in shown
        assert "previous_article" in shown and "reader" in shown
        assert "missing.toml does not exist" in shown
        news.settings.keys = {}
        for preset in KEYMAPS.values():  # the presets themselves bind no key twice
            assert [p for p in app.keymap_problems(preset) if "bound to both" in p] == []


async def test_failing_feeds_say_why_and_when_and_one_summary(
    news: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_status("/gone.xml", 404)
    feed_server.add_status("/broken.xml", 500)
    gone = news.subscribe(feed_server.url_for("/gone.xml"), title="Gone feed")
    news.subscribe(feed_server.url_for("/broken.xml"), title="Broken feed")
    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_refresh(None)
        for _ in range(100):
            await pilot.pause(0.1)
            if any("failed" in m for m in messages(app)):
                break
        errors = [n for n in app._notifications if n.severity == "error"]  # type: ignore[attr-defined]
        assert len(errors) == 1 and "2 feeds failed" in str(errors[0].message)
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        screen.feed_list.focus()
        screen.feed_list.select_key(f"feed:{gone.id}")  # as the cursor keys would
        await pilot.pause()
        said = screen.query_one(StatusLine).message
        assert "Gone feed" in said and "404" in said and "next try at" in said


async def test_reader_header_shows_the_loaded_comment_count(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    comments = make_rss("Comments", [{"title": f"c{i}", "guid": f"c{i}"} for i in range(2)])
    feed_server.add_feed("/c.xml", comments)
    feed_server.add_page("/post", "<html><body>a post</body></html>")
    post = {
        "title": "Discussed",
        "link": feed_server.url_for("/post"),
        "guid": "d",
        "comment_rss": feed_server.url_for("/c.xml"),
        "comment_count": 7,  # stale: the feed says 7, the discussion has 2
        "pub_date": 1_700_000_000,
    }
    feed_server.add_feed("/d.xml", make_rss("Discussions", [post]))
    service = open_service(tmp_path)
    service.subscribe(feed_server.url_for("/d.xml"))
    await service.refresh()
    app = TermNewsApp(service)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("tab", "enter")
            await pilot.pause()
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            assert "7 comments" in str(reader.query_one("#article-header").render())
            await pilot.press("c")
            for _ in range(100):
                await pilot.pause(0.1)
                if isinstance(app.screen, CommentsScreen) and not app.screen.state:
                    break
            await pilot.press("q")
            await pilot.pause()
            header = str(reader.query_one("#article-header").render())
            assert "2 comments" in header and "7 comments" not in header
    finally:
        service.close()


async def test_a_feed_with_several_tags_is_under_each(news: NewsService) -> None:
    alpha = feed_id(news, "Alpha")
    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        feeds = screen.feed_list
        keys = [feeds.get_option_at_index(i).id for i in range(feeds.option_count)]
        assert "tag:daily" in keys and "tag:news" in keys
        under = [k for k in keys if k and k.startswith(f"feed:{alpha}")]
        assert len(under) == 2  # under "daily" and under "news"
        feeds.focus()
        feeds.highlighted = keys.index(under[1])
        await pilot.pause()
        assert screen.article_list.query_spec.feed_id == alpha
        assert feeds.current_feed is not None and feeds.current_feed.id == alpha
        await pilot.press("enter")
        await pilot.pause()
        assert len(screen.article_list.ids) == 3


async def test_q_typed_fast_from_the_reader_loses_no_key(news: NewsService) -> None:
    """Three `q` at once from the reader: back to the list, back to the feeds, quit. Keys
    typed before the reader has gone must reach the screen under it, not vanish."""
    from textual import events

    app = TermNewsApp(news)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_list(app, pilot, "all")
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        for _ in range(3):  # all queued before the first is handled, as a fast typist's
            app.post_message(events.Key("q", "q"))
        for _ in range(20):
            await pilot.pause(0.05)
            if app.return_code is not None:
                break
        assert app.return_code == 0, (app.screen, screen.feed_list.has_focus)
