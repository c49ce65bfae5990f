"""The demo's discussed post in the UI (Pilot): sections per source, folding, and the compose
modal for Mastodon (account identity, live counter, limit) and read-only HN, over real HTTP
to the sample site's stand-ins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static, TextArea

from termnews.app import TermNewsApp
from termnews.cli.demo import write_demo_settings
from termnews.config import Paths, load_settings
from termnews.demo import DemoSite
from termnews.model import Identity
from termnews.screens.comments import CommentsScreen
from termnews.screens.compose import ComposeScreen
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from tests.support.news import article_linking
from tests.support.pilot import open_post, press_to, wait_until


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[DemoSite, NewsService, int]]:
    with DemoSite() as site:
        settings = load_settings(write_demo_settings(site, tmp_path / "none.toml", tmp_path))
        settings.refresh_on_start = False
        paths = Paths(tmp_path / "config.toml", tmp_path / "data")
        service = NewsService.open(paths, settings, identity=Identity(name="ada"))
        service.subscribe(site.feed_urls[0])
        asyncio.run(service.refresh())
        article_id = article_linking(service, site.post_for("threaded").url)
        yield site, service, article_id
        service.close()


async def open_discussion(app: TermNewsApp, pilot: object, article_id: int) -> CommentsScreen:
    await open_post(pilot, article_id)
    screen = await press_to(pilot, "c", screen=CommentsScreen)
    await wait_until(pilot, lambda: len(screen.comments) == 18 and screen.info is not None)  # type: ignore[arg-type]
    return screen


def select(screen: CommentsScreen, author: str) -> None:
    screen.selected = next(n for n, c in enumerate(screen.comments) if c.comment.author == author)


async def test_every_source_has_its_section_and_a_source_folds(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    _site, service, article_id = demo
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_discussion(app, pilot, article_id)
        lines = [line.plain for line in screen.view.lines]
        sections = [line for line in lines if line.startswith(("▾ ", "▸ "))]
        assert sections == [
            "▾ On 127.0.0.1 · 7 comments",
            "▾ HN 87 points · 6 comments",
            "▾ Lobsters 14 points · 2 comments",
            "▾ Mastodon 19 favourites · 4 boosts · 3 replies",
        ]
        assert [screen.groups.count(g) for g in ("site", "hackernews", "lobsters", "mastodon")] == [
            7,
            6,
            2,
            3,
        ]
        assert screen.groups == sorted(screen.groups, key=screen.groups.index)  # contiguous
        select(screen, "quaywalker")
        await pilot.press("z")
        lines = [line.plain for line in screen.view.lines]
        assert "▸ HN 87 points · 6 comments  folded: z shows them" in lines
        assert not any("quaywalker" in line or "netmender" in line for line in lines)
        assert any("saltpan" in line for line in lines)
        await pilot.press("tab")  # the folded section was one stop: the next is Lobsters
        assert screen.comments[screen.selected].comment.author == "saltpan"
        await pilot.press("shift+tab", "z")
        lines = [line.plain for line in screen.view.lines]
        assert any("netmender" in line for line in lines)


async def test_a_mastodon_reply_shows_the_account_counts_and_refuses_too_long(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    site, service, article_id = demo
    posted = site.discussions.instance.posted
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_discussion(app, pilot, article_id)
        select(screen, "Mill Lane Folk (@millanefolk)")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        modal = app.screen
        assert isinstance(modal, ComposeScreen)
        host = site.url[7:].rstrip("/")
        assert f"Mastodon thread as @you@{host}" in str(modal.query_one("#where").render())
        assert not modal.query_one("#identity-fields").display  # the account is the identity
        modal.query_one("#body", TextArea).text = "e\u0301 👍🏽 🇩🇪 https://example.org/ " + "a" * 60
        await pilot.pause()
        count = str(modal.query_one("#count", Static).render())
        assert count == "90 / 500 characters"  # é, 👍🏽 and the flag are one each; the URL 23
        modal.query_one("#body", TextArea).text = "x" * 501
        await pilot.pause()
        assert str(modal.query_one("#count", Static).render()) == "501 / 500 characters"
        await pilot.press("ctrl+s")
        await pilot.pause()
        result = str(modal.query_one("#result", Static).render())
        assert result.startswith("Too long to send: 501 characters")
        assert app.screen is modal and posted == []
        modal.query_one("#body", TextArea).text = "Parking first, then the move."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(
            pilot, lambda: any("Parking first" in c.comment.content_html for c in screen.comments)
        )
    assert [p["in_reply_to_id"] for p in posted] == ["115611024000000203"]


async def test_a_reply_to_hn_is_read_only_and_offers_the_comment_page(
    demo: tuple[DemoSite, NewsService, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, service, article_id = demo
    app = TermNewsApp(service)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_url", copied.append)  # OSC 52 cannot be read back here
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_discussion(app, pilot, article_id)
        select(screen, "netmender")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        modal = app.screen
        text = str(modal.query_one("#read-only", Static).render())
        assert "HN is read-only in termnews" in text
        page = f"{site.url}hn/item?id=46210944"  # the demo's own HN pages
        assert page in text
        assert not modal.query(TextArea)
        await pilot.press("ctrl+s", "ctrl+y")
        assert copied == [page]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
    assert site.discussions.instance.posted == []
    assert service.comments.draft(article_id) is None


async def test_the_list_and_the_reader_show_the_combined_count_once_cached(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    site, service, article_id = demo
    assert service.articles([article_id])[article_id].total_comments == 7  # the feed's count
    assert site.discussions.requests == []  # nothing looked up before the discussion opens
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.screen.article_list  # type: ignore[attr-defined]
        listing.go_to_id(article_id)
        row = listing.render_line(listing.cursor - int(listing.scroll_y)).text
        assert "(7)" in row
        screen = await open_discussion(app, pilot, article_id)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        assert "· 18 comments" in str(app.screen.query_one("ArticleHeader").render())
        await pilot.press("q")
        await wait_until(pilot, lambda: not isinstance(app.screen, ReaderScreen))
        await pilot.pause()
        row = listing.render_line(listing.cursor - int(listing.scroll_y)).text
        assert "(18)" in row and "(7)" not in row
        assert screen.comments  # read
    # A fresh reader (no pane opened this time) adds the cached outside discussions.
    detail = service.article(article_id)
    assert detail is not None and detail.outside_comments == 11
    assert service.articles([article_id])[article_id].total_comments == 18


def test_counting_a_page_of_rows_is_one_query_on_the_index(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    from termnews.store import _OUTSIDE_COUNT

    _site, service, _article_id = demo
    db = service.store.db
    plan = " | ".join(
        row[3]
        for row in db.execute(
            f"EXPLAIN QUERY PLAN SELECT {_OUTSIDE_COUNT} FROM articles a WHERE a.id IN (1, 2)"
        )
    )
    assert "USING COVERING INDEX" in plan and "SCAN c" not in plan


def outside_requests(site: DemoSite) -> list[str]:
    return [path for _method, path in site.discussions.requests]


async def test_an_outside_discussion_is_read_again_only_when_older_than_refresh_after(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    from termnews.comments.discussions import mark_read

    site, service, article_id = demo
    article = service.article(article_id)
    assert article is not None
    comments = service.comments
    assert len(await comments.load(article)) == 18
    first = len(outside_requests(site))
    assert first >= 3  # HN, Lobsters, Mastodon
    await comments.load(article)  # just read: refresh_after (60 minutes) keeps the cache
    assert len(outside_requests(site)) == first
    assert await comments.load(article, stale_only=True) == []
    old = time.time() - 61 * 60
    mark_read(service.store, article_id, "hackernews", now=old)
    assert len(await comments.load(article, stale_only=True)) == 18  # HN alone, read again
    again = outside_requests(site)[first:]
    assert again and all(path.startswith("/hn/") for path in again)
    await comments.load(article, force=True)  # ctrl+r: everything
    assert any(p.startswith("/lobsters/") for p in outside_requests(site)[first + len(again) :])


async def test_refresh_after_zero_never_reads_again_on_open(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    from termnews.comments.discussions import mark_read

    site, service, article_id = demo
    article = service.article(article_id)
    assert article is not None
    service.settings.discussions.refresh_after = 0
    await service.comments.load(article)
    for source in ("hackernews", "lobsters", "mastodon"):
        mark_read(service.store, article_id, source, now=1.0)
    count = len(outside_requests(site))
    await service.comments.load(article)
    assert len(outside_requests(site)) == count


async def test_opening_a_post_refreshes_its_stale_discussion_but_never_a_new_one(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    from termnews.comments.discussions import mark_read

    site, service, article_id = demo
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        await pilot.pause(0.3)
        assert site.discussions.requests == []  # never opened: nothing is looked up
        await pilot.press("q")
    article = service.article(article_id)
    assert article is not None
    await service.comments.load(article)
    before = len(outside_requests(site))
    site.discussions.instance._statuses["115611024000000299"] = site.discussions.instance.status_of(
        "115611024000000299", "gullwatch", "<p>Late to this.</p>", "115611024000000100", 0
    )
    mark_read(service.store, article_id, "mastodon", now=time.time() - 2 * 3600)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        header = app.screen.query_one("ArticleHeader")
        await wait_until(pilot, lambda: "· 19 comments" in str(header.render()))
    again = outside_requests(site)[before:]
    assert again and all("/api/v1/statuses/" in path for path in again)


async def test_the_counter_uses_the_instances_own_limit_asked_once(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    site, service, article_id = demo
    site.discussions.instance.max_characters = 120
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_discussion(app, pilot, article_id)
        for _ in range(2):  # the pane asked once; each compose asks where replies go again
            select(screen, "Gull Watch (@gullwatch)")
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
            modal = app.screen
            modal.query_one("#body", TextArea).text = "y" * 121
            await pilot.pause()
            assert str(modal.query_one("#count", Static).render()) == "121 / 120 characters"
            modal.query_one("#body", TextArea).text = ""
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen)
    asked = [p for p in outside_requests(site) if p.startswith("/api/v2/instance")]
    assert len(asked) == 1


async def test_with_prefetch_opening_the_post_reads_its_outside_discussions(
    demo: tuple[DemoSite, NewsService, int],
) -> None:
    site, service, article_id = demo
    service.settings.discussions.prefetch = True
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        header = app.screen.query_one("ArticleHeader")
        await wait_until(pilot, lambda: "· 18 comments" in str(header.render()))
        seen = len(outside_requests(site))
        assert any(p.startswith("/hn/api/v1/search") for p in outside_requests(site))
        await pilot.press("q")
        await pilot.press("enter")  # opened again: fresh, nothing read again
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await pilot.pause(0.3)
    assert len(outside_requests(site)) == seen
