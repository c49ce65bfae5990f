"""The feed list and article list are drawn once at start-up, and again only when what they
show or their width changes (issue 13: every session on a host pays for its first frame).

Textual sends each widget a Resize after its first layout, so after the first frame; the
lists used to lay themselves out again for it at the width they had just been drawn at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import visual

from termnews.app import TermNewsApp
from termnews.service import NewsService
from termnews.widgets.article_list import ArticleList
from termnews.widgets.feed_list import FeedList
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import feed_items, subscribed


@pytest.fixture
def service(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    urls = []
    for name in ("alpha", "beta", "gamma"):
        feed_server.add_feed(
            f"/{name}.xml", make_rss(name.title(), feed_items(name, 4, 1_700_000_000))
        )
        urls.append(feed_server.url_for(f"/{name}.xml"))
    service = subscribed(tmp_path, *urls)
    yield service
    service.close()


@pytest.fixture
def feed_list_layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The width of every option of the feed list laid out into lines."""
    widths: list[int] = []
    to_strips = visual.Visual.to_strips

    def spy(widget: Any, item: Any, width: int, height: Any, style: Any, **kw: Any) -> Any:
        if isinstance(widget, FeedList):
            widths.append(width)
        return to_strips(widget, item, width, height, style, **kw)

    monkeypatch.setattr(visual.Visual, "to_strips", staticmethod(spy))
    return widths


async def test_each_feed_list_option_is_laid_out_once_at_start(
    service: NewsService, feed_list_layouts: list[int]
) -> None:
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause(0.2)
        feeds = app.screen.query_one(FeedList)
        assert feeds.option_count >= 6  # All, Unread, Starred, three feeds
        assert len(feed_list_layouts) == feeds.option_count
        assert set(feed_list_layouts) == {feeds.scrollable_content_region.width}


async def test_a_new_width_lays_the_feed_list_out_at_that_width(
    service: NewsService, feed_list_layouts: list[int]
) -> None:
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        feeds = app.screen.query_one(FeedList)
        wide = feeds.scrollable_content_region.width
        feed_list_layouts.clear()
        await pilot.resize_terminal(90, 40)  # narrow: the feed list takes the whole width
        await pilot.pause(0.2)
        width = feeds.scrollable_content_region.width
        assert width != wide
        assert feed_list_layouts and set(feed_list_layouts) == {width}
        lines = [feeds.render_line(y) for y in range(feeds.option_count)]
        assert {line.cell_length for line in lines} == {width}
        assert any("Alpha" in line.text for line in lines)
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert feeds.scrollable_content_region.width == wide
        assert feeds.render_line(2).cell_length == wide


async def test_each_article_row_is_drawn_once_at_start(
    service: NewsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: Counter[int] = Counter()
    render_line = ArticleList.render_line

    def spy(self: ArticleList, y: int) -> Any:
        drawn[y] += 1
        return render_line(self, y)

    monkeypatch.setattr(ArticleList, "render_line", spy)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause(0.2)
        articles = app.screen.query_one(ArticleList)
        assert len(articles.ids) == 12
        assert set(drawn) == set(range(articles.size.height))
        assert set(drawn.values()) == {1}
        await pilot.press("tab")  # focused: drawn in the focused style
        await pilot.pause()
        before = drawn.copy()
        await pilot.press("j")  # the cursor moves: its two rows are drawn again
        await pilot.pause()
        assert drawn - before == Counter({0: 1, 1: 1})


async def test_back_from_a_read_post_the_feed_list_is_laid_out_again_only_if_it_changed(
    service: NewsService, feed_list_layouts: list[int]
) -> None:
    """Leaving the reader reloads the feed counts: after a post read before (no count
    changes) the options are left as they are; after a new one the changed counts show."""
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        feeds = app.screen.query_one(FeedList)
        unread = service.unread_total()
        await pilot.press("tab", "enter")  # the first post: read now
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause(0.2)
        labels = {option.id: str(option.prompt) for option in feeds.options}
        assert labels["unread"] == f"Unread  {unread - 1}"  # the new count is shown
        feed_list_layouts.clear()
        await pilot.press("enter")  # the same post again: nothing changes
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause(0.2)
        assert feed_list_layouts == []
        assert {option.id: str(option.prompt) for option in feeds.options} == labels
