"""The reader's D key over loopback HTTP: the progress bar moves, the file lands, Escape
cancels (nothing kept), and a served session neither offers nor runs it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot

from termnews.app import TermNewsApp
from termnews.config import Settings
from termnews.screens.dialogs import LinksScreen
from termnews.screens.help import HelpScreen, binding_rows
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.widgets.download_bar import DownloadBar
from tests.support.feedserver import FeedServer
from tests.support.news import subscribed
from tests.support.pilot import wait_until

EPISODE = bytes(range(256)) * 800  # 200 KB


def feed(server: FeedServer, files: list[str]) -> bytes:
    enclosures = "".join(
        f'<enclosure url="{server.url_for("/cdn/" + name)}" length="1" type="audio/mpeg"/>'
        for name in files
    )
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Radio</title>
<link>{server.url}</link><item><title>Episode 2</title><guid>ep2</guid>
<description>Nets.</description>{enclosures}</item></channel></rss>""".encode()


@pytest.fixture
def radio(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_slow("/cdn/ep2.mp3", EPISODE, chunk_size=8192, delay=0.05)
    feed_server.add_feed("/radio.xml", feed(feed_server, ["ep2.mp3"]))
    settings = Settings(refresh_on_start=False, download_dir=str(tmp_path / "dl"))
    service = subscribed(tmp_path, feed_server.url_for("/radio.xml"), settings=settings)
    yield service
    service.close()


def bar_text(app: TermNewsApp) -> str:
    bar = app.screen.query_one(DownloadBar)
    return str(bar.render()) if bar.display else ""


def table_text(screen: HelpScreen) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(binding_rows(screen.sources, screen.keymap, screen.hidden))
    return console.export_text()


def dl(tmp_path: Path) -> list[str]:
    where = tmp_path / "dl"
    return sorted(p.name for p in where.iterdir()) if where.exists() else []


async def start_download(pilot: Pilot[int]) -> ReaderScreen:
    """D on the first post of the feeds screen, once its first bytes have come in."""
    await pilot.press("tab", "enter", "D")
    reader = pilot.app.screen
    assert isinstance(reader, ReaderScreen)

    def started() -> bool:
        bar = reader.query_one(DownloadBar)
        return bar.progress is not None and bar.progress.received > 0

    await wait_until(pilot, started)
    return reader


async def test_the_bar_moves_and_the_file_lands(radio: NewsService, tmp_path: Path) -> None:
    app = TermNewsApp(radio)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        assert "E plays, D downloads" in str(reader.query_one("#article-header").render())
        assert bar_text(app) == ""
        await pilot.press("D")
        seen: list[int] = []

        def moving() -> bool:
            bar = reader.query_one(DownloadBar)
            if bar.progress is not None and 0 < bar.progress.received < len(EPISODE):
                seen.append(bar.progress.received)
            return len(set(seen)) >= 2

        await wait_until(pilot, moving)
        shown = bar_text(app)
        assert "ep2.mp3" in shown and "of 200 KB" in shown and "/s" in shown and "█" in shown
        await wait_until(pilot, lambda: dl(tmp_path) == ["ep2.mp3"])
        await wait_until(pilot, lambda: bar_text(app) == "")
        assert isinstance(app.screen, ReaderScreen)  # the reader stayed usable throughout
    assert (tmp_path / "dl" / "ep2.mp3").read_bytes() == EPISODE


async def test_escape_cancels_and_keeps_nothing(
    radio: NewsService, tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_slow("/cdn/ep2.mp3", EPISODE, chunk_size=2048, delay=0.2)
    app = TermNewsApp(radio)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = await start_download(pilot)
        assert len(dl(tmp_path)) == 1  # the hidden partial
        await pilot.press("escape")
        await wait_until(pilot, lambda: not reader.downloading)
        await wait_until(pilot, lambda: dl(tmp_path) == [])
        assert app.screen is reader  # Escape stopped the download, not the reader
        assert bar_text(app) == ""
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReaderScreen)


async def test_several_attachments_offer_a_choice(
    radio: NewsService, tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/cdn/bonus.mp3", b"bonus", "audio/mpeg")
    feed_server.set_feed("/radio.xml", feed(feed_server, ["ep2.mp3", "bonus.mp3"]))
    await radio.refresh()
    app = TermNewsApp(radio)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter", "D")
        await wait_until(pilot, lambda: isinstance(app.screen, LinksScreen))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: dl(tmp_path) == ["bonus.mp3"])
    assert (tmp_path / "dl" / "bonus.mp3").read_bytes() == b"bonus"


async def test_a_served_session_does_not_offer_it(
    radio: NewsService, tmp_path: Path, feed_server: FeedServer
) -> None:
    served = NewsService(radio.store, radio.settings, restricted=True)
    app = TermNewsApp(served)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        assert "D downloads" not in str(reader.query_one("#article-header").render())
        titles = [command.title for command in app.get_system_commands(reader)]
        assert "Full article" in titles and "Download attachment" not in titles
        await pilot.press("D")
        await pilot.pause(0.5)
        assert not reader.downloading and bar_text(app) == ""
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "download_attachment" in app.screen.hidden
        assert "Download attachment" not in table_text(app.screen)
        await pilot.press("escape")
        app.restricted = False  # the same table outside a served session lists it
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "Download attachment" in table_text(app.screen)
    assert dl(tmp_path) == []
    assert feed_server.hits("/cdn/ep2.mp3") == 0


async def test_quitting_mid_download_keeps_no_partial(
    radio: NewsService, tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_slow("/cdn/ep2.mp3", EPISODE, chunk_size=2048, delay=0.2)
    app = TermNewsApp(radio)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_download(pilot)
        assert len(dl(tmp_path)) == 1
        await pilot.press("ctrl+q")
    assert dl(tmp_path) == []
