"""Enclosures stored from a podcast feed over loopback HTTP, shown in the reader, listed
with the links and played with the configured player (a real program the test writes)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.attachments import PlayerError, describe, format_duration
from termnews.model import Enclosure
from termnews.screens.dialogs import LinksScreen
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService, ServiceError
from tests.support.feedserver import FeedServer
from tests.support.news import by_guid, subscribed


def podcast(server: FeedServer, second: str = "ep1.mp3") -> bytes:
    cdn = server.url_for("/cdn/")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Harbour Radio</title><link>{server.url}</link>
  <item><title>Episode 2: nets</title><guid isPermaLink="false">ep2</guid>
    <pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate>
    <description>Nets.</description>
    <enclosure url="{cdn}ep2.mp3" length="48211200" type="audio/mpeg"/>
    <itunes:duration>1:02:04</itunes:duration></item>
  <item><title>Episode 1: ropes</title><guid isPermaLink="false">ep1</guid>
    <pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate>
    <description>Ropes.</description>
    <enclosure url="{cdn}{second}" length="1000" type="audio/mpeg"/></item>
  <item><title>Notes</title><guid isPermaLink="false">notes</guid>
    <pubDate>Sun, 29 Nov 2026 10:00:00 GMT</pubDate><description>No file.</description></item>
</channel></rss>""".encode()


@pytest.fixture
def radio(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed("/radio.xml", podcast(feed_server))
    service = subscribed(tmp_path, feed_server.url_for("/radio.xml"))
    yield service
    service.close()


def recording_player(tmp_path: Path) -> tuple[str, Path]:
    """A real player stand-in: writes the arguments it was given, one a line."""
    out = tmp_path / "played.txt"
    script = tmp_path / "player.py"
    script.write_text(
        f"import sys\nopen({str(out)!r}, 'w').write('\\n'.join(sys.argv[1:]) + '\\n')\n"
    )
    return f"{sys.executable} {script}", out


def wait_for_file(path: Path) -> str:
    import time

    for _ in range(200):
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def test_descriptions() -> None:
    assert format_duration(3723.5) == "1:02:03"
    assert format_duration(95) == "1:35"
    assert (
        describe(Enclosure("u", "audio/mpeg", 48211200, 3724.0)) == "audio/mpeg · 46.0 MB · 1:02:04"
    )
    assert describe(Enclosure("u")) == "file"
    assert "\x1b" not in describe(Enclosure("u", "audio/\x1b[2Jmpeg", None, None, "t\x07"))


def test_enclosures_are_stored_and_replaced_when_the_feed_changes(
    radio: NewsService, feed_server: FeedServer
) -> None:
    cdn = feed_server.url_for("/cdn/")
    ep2 = radio.article(by_guid(radio, "ep2"))
    assert ep2 is not None
    assert ep2.enclosures == [Enclosure(f"{cdn}ep2.mp3", "audio/mpeg", 48211200, 3724.0)]
    assert radio.article(by_guid(radio, "notes")).enclosures == []  # type: ignore[union-attr]
    feed_server.set_feed("/radio.xml", podcast(feed_server, second="ep1-fixed.mp3"))
    asyncio.run(radio.refresh())
    ep1 = radio.article(by_guid(radio, "ep1"))
    assert ep1 is not None and [e.url for e in ep1.enclosures] == [f"{cdn}ep1-fixed.mp3"]
    radio.remove_feed(ep1.feed_id)  # the rows go with the post (ON DELETE CASCADE)
    assert radio.store.db.execute("SELECT COUNT(*) FROM enclosures").fetchone()[0] == 0


def test_the_player_gets_the_urls(radio: NewsService, tmp_path: Path) -> None:
    radio.settings.player, out = recording_player(tmp_path)
    ep2 = radio.article(by_guid(radio, "ep2"))
    assert ep2 is not None
    radio.play_attachments(ep2)
    assert wait_for_file(out).split() == [ep2.enclosures[0].url]


def test_only_web_addresses_are_played(radio: NewsService, tmp_path: Path) -> None:
    radio.settings.player, out = recording_player(tmp_path)
    ep2 = radio.article(by_guid(radio, "ep2"))
    assert ep2 is not None
    ep2.enclosures = [Enclosure("file:///etc/passwd"), Enclosure("--script=evil.lua")]
    with pytest.raises(PlayerError, match="no attachment"):
        radio.play_attachments(ep2)
    assert not out.exists()


def test_no_player_and_a_broken_player_are_one_line(
    radio: NewsService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ep2 = radio.article(by_guid(radio, "ep2"))
    assert ep2 is not None
    monkeypatch.setenv("PATH", str(tmp_path))  # no mpv here
    with pytest.raises(PlayerError, match=r"install mpv, or set general\.player"):
        radio.play_attachments(ep2)
    radio.settings.player = str(tmp_path / "no-such-player")
    with pytest.raises(PlayerError, match="Could not start the player"):
        radio.play_attachments(ep2)


def test_a_served_session_never_plays(radio: NewsService, tmp_path: Path) -> None:
    served = NewsService(radio.store, radio.settings, restricted=True)
    served.settings.player, out = recording_player(tmp_path)
    ep2 = served.article(by_guid(served, "ep2"))
    assert ep2 is not None
    with pytest.raises(ServiceError, match="Not available"):
        served.play_attachments(ep2)
    assert not out.exists()


def header_text(reader: ReaderScreen) -> str:
    return str(reader.query_one("#article-header").render())


async def test_reader_shows_lists_and_plays_attachments(radio: NewsService, tmp_path: Path) -> None:
    radio.settings.player, out = recording_player(tmp_path)
    app = TermNewsApp(radio)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen) and reader.article is not None
        assert reader.article.guid == "ep2"
        assert "Attachment: audio/mpeg · 46.0 MB · 1:02:04" in header_text(reader)
        await pilot.press("o")
        await pilot.pause()
        links = app.screen
        assert isinstance(links, LinksScreen)
        assert links.attachments == [
            (reader.article.enclosures[0].url, describe(reader.article.enclosures[0]))
        ]
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("E")
        await pilot.pause()
    assert wait_for_file(out).split() == [e.url for e in reader.article.enclosures]


async def test_a_served_reader_refuses_to_play(radio: NewsService, tmp_path: Path) -> None:
    served = NewsService(radio.store, radio.settings, restricted=True)
    served.settings.player, out = recording_player(tmp_path)
    app = TermNewsApp(served)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("E")
        await pilot.pause(0.3)
    assert not out.exists()
