"""Outside strings never act as Textual markup: no crash, no clickable action, anywhere.

Feeds, posts, authors and comments carry `[/]`, `[b]`, `[@click=...]` and `[link=...]`
through every place the UI shows an outside string; a click on each of them must not run
an action (the `@click` payload would write a screenshot file into a watched directory).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.style import Style
from rich.text import Text
from textual.command import CommandPalette
from textual.widgets import Input, Static

from termnews.app import TermNewsApp
from termnews.config import Paths, Settings
from termnews.model import Identity
from termnews.screens.comments import CommentsScreen
from termnews.screens.feeds import FeedsScreen
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.widgets.status_line import StatusLine
from tests.support.feedserver import FeedServer, make_rss


def payloads(target: Path) -> list[str]:
    click = f"[@click=app.screenshot('owned.svg','{target}')]CLICKME[/]"
    return [
        "Close [/] early",
        "[b]Bold[/b] claim",
        f"Click {click} here",
        "[link=http://evil.example/]LINKME[/link] there",
        f"All [b]{click}[/] [/]",
    ]


def screen_text(app: TermNewsApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())  # type: ignore[attr-defined]


async def click_every(app: TermNewsApp, pilot, *words: str) -> int:  # type: ignore[no-untyped-def]
    """Click on every place one of `words` is drawn; returns how many were found."""
    found = 0
    for word in words or ("@click", "CLICKME"):
        for y, line in enumerate(screen_text(app).splitlines()):
            x = line.find(word)
            while x >= 0:
                found += 1
                await pilot.click(offset=(x + 1, y))
                await pilot.pause()
                x = line.find(word, x + 1)
    return found


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A short relative directory, so the whole payload fits on screen."""
    monkeypatch.chdir(tmp_path)
    where = Path("w")
    where.mkdir()
    return where


@pytest.fixture
def hostile_service(tmp_path: Path, feed_server: FeedServer, target: Path) -> Iterator[NewsService]:
    for n, payload in enumerate(payloads(target)):
        post = feed_server.url_for(f"/post/{n}")
        feed_server.add_page(f"/post/{n}", "<html><body>post</body></html>")
        feed_server.add_feed(
            f"/comments/{n}.xml",
            make_rss(f"Comments on {n}", [{"title": payload, "author": payload, "guid": "c"}]),
        )
        item = {
            "title": payload,
            "author": payload,
            "link": post,
            "guid": f"g{n}",
            "content": f"<p>{payload}</p>",
            "comment_rss": feed_server.url_for(f"/comments/{n}.xml"),
            "comment_count": 1,
            "pub_date": 1_700_000_000 + n,
        }
        feed_server.add_feed(f"/feed/{n}.xml", make_rss(payload, [item]))
    paths = Paths(config_file=tmp_path / "config.toml", data_dir=tmp_path / "data")
    service = NewsService.open(paths, Settings(refresh_on_start=False), identity=Identity())
    for n in range(len(payloads(target))):
        service.subscribe(feed_server.url_for(f"/feed/{n}.xml"), tags=[payloads(target)[n]])
    asyncio.run(service.refresh())
    yield service
    service.close()


async def test_outside_markup_is_shown_as_text_everywhere_and_never_acts(
    hostile_service: NewsService, target: Path, feed_server: FeedServer
) -> None:
    app = TermNewsApp(hostile_service)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        # Feed list, tags and article list: shown literally.
        assert "Close [/] early" in screen_text(app)
        assert "[b]Bold[/b] claim" in screen_text(app)
        assert await click_every(app, pilot) >= 2
        for feed in hostile_service.feeds():
            # Article list title (border) for each feed, and the feed's own row.
            screen.feed_list.focus()
            screen.feed_list.select_key(f"feed:{feed.id}")
            screen.load_list(f"feed:{feed.id}")
            await pilot.pause()
            assert "CLICKME" in screen_text(app) or "LINKME" in screen_text(app)
            await click_every(app, pilot)
        # Status line and notifications: a refresh says each feed's title.
        screen.query_one(StatusLine).say(payloads(target)[2])
        app.tell(payloads(target)[0] + payloads(target)[2])
        await pilot.pause()
        assert "CLICKME" in screen.query_one(StatusLine).message
        await click_every(app, pilot)
        # Search box: the query becomes the list's title.
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "[/] [b]x [@click=app.bell()]y[/]"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FeedsScreen)
        assert "Search: [/] [b]x [@click=app.bell()]y[/]" in screen_text(app)
        # Reader header and body, then the comments under the post.
        screen.load_list("all")
        await pilot.pause()
        for index in range(len(screen.article_list.ids)):
            screen.article_list.focus()
            screen.article_list.go_to(index)
            await pilot.press("enter")
            await pilot.pause()
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            await click_every(app, pilot)
            await pilot.press("c")
            for _ in range(50):
                await pilot.pause(0.1)
                if isinstance(app.screen, CommentsScreen) and app.screen.comments:
                    break
            assert isinstance(app.screen, CommentsScreen)
            assert app.screen.comments, "the comment feed loaded"
            await click_every(app, pilot)
            await pilot.press("q")
            await pilot.pause()
            await pilot.press("q")
            await pilot.pause()
        # Palette hits: feeds by fuzzy match ("ee" matches every "Feed: ..."), posts by search.
        for query in ("ee", "early", "claim", "Click", "LINKME"):
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*query)
            await pilot.pause(0.5)
            shown = screen_text(app)
            assert "CLICKME" in shown or "LINKME" in shown or "[/]" in shown, query
            if query == "ee":  # a feed hit is drawn literally (Textual's highlight would crash)
                assert "Feed: Close [/] early" in shown
            await click_every(app, pilot)
            if isinstance(app.screen, CommandPalette):
                await pilot.press("escape")
            await pilot.pause()
    assert app.return_code in (None, 0)
    assert list(target.iterdir()) == [], "an action from outside text ran"


async def test_a_click_action_carried_in_text_is_refused(
    target: Path, service: NewsService
) -> None:
    """Even if some widget read outside text as markup, its `@click` would not run."""
    app = TermNewsApp(service)
    async with app.run_test(size=(80, 20)) as pilot:
        planted = f"app.screenshot('planted.svg','{target}')"
        text = Text("CLICKME", style=Style(meta={"@click": planted}))
        await app.screen.mount(Static(text, id="planted"))
        await pilot.pause()
        await pilot.click("#planted")
        await pilot.pause()
        # The app's own actions still run from keys (the screenshot itself works when asked).
        await app.run_action(f"app.screenshot('asked.svg','{target}')")
        await pilot.pause()
    assert [p.name for p in target.iterdir()] == ["asked.svg"]


async def test_restricted_mode_refuses_system_commands_that_write_or_run(
    target: Path, service: NewsService
) -> None:
    service.restricted = True
    app = TermNewsApp(service)
    async with app.run_test(size=(80, 20)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Theme" in titles and "Screenshot" not in titles
        await app.run_action(f"app.screenshot('owned.svg','{target}')")
        app.action_screenshot("owned.svg", str(target))
        await pilot.pause()
        assert any("Not available" in str(n.message) for n in app._notifications)  # type: ignore[attr-defined]
    assert list(target.iterdir()) == []
