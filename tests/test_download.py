"""Downloading attachments over real loopback HTTP: a server the test starts answers
slowly, drops the connection mid-body, announces lengths it does not keep, sends more
than the cap, and suggests hostile file names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from termnews.config import Settings
from termnews.download import DownloadProgress, download, file_name_for, safe_file_name
from termnews.errors import DownloadError
from termnews.http import make_client
from termnews.service import NewsService, ServiceError
from termnews.store import Store
from tests.support.feedserver import FeedServer

EPISODE = bytes(range(256)) * 400  # 100 KB of every byte value


def files(directory: Path) -> list[str]:
    """Everything in the directory, hidden files too (a partial would show here)."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def fetch(
    url: str, directory: Path, *, max_bytes: int = 10 << 20, timeout: float = 10.0
) -> tuple[Path, list[tuple[int, int | None]]]:
    seen: list[tuple[int, int | None]] = []

    def progress(state: DownloadProgress) -> None:
        seen.append((state.received, state.total))

    async with make_client(timeout) as client:
        path = await download(client, url, directory, max_bytes=max_bytes, progress=progress)
    return path, seen


def test_names_are_made_safe() -> None:
    assert safe_file_name("../../.bashrc") == "bashrc"
    assert safe_file_name("..\\..\\windows\\evil.exe") == "evil.exe"
    assert safe_file_name("...") == ""
    assert safe_file_name("ep\x1b[2J\x07 one.mp3") == "ep_[2J_ one.mp3"
    assert safe_file_name("a\u202egpj.exe") == "agpj.exe"  # no right-to-left override
    assert safe_file_name("x" * 300 + ".mp3") == "x" * 116 + ".mp3"
    assert safe_file_name("  .hidden  ") == "hidden"
    assert file_name_for("https://cdn.example/ep%201.mp3?x=1") == "ep 1.mp3"
    assert file_name_for("https://cdn.example/", "", "audio/mpeg") == "download.mp3"
    assert file_name_for("https://cdn.example/get", 'attachment; filename="/etc/passwd"') == (
        "passwd"
    )
    star = "attachment; filename*=UTF-8''%2e%2e%2f%1b%5d52%3bc%3bevil%07.mp3"
    name = file_name_for("https://cdn.example/x", star)
    assert name == "]52;c;evil_.mp3" and "/" not in name and "\x1b" not in name
    assert file_name_for("https://cdn.example/a.mp3", "attachment; filename=") == "a.mp3"


async def test_a_download_lands_whole_with_progress(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_slow(
        "/cdn/ep.mp3", EPISODE, chunk_size=16384, delay=0.02, content_type="audio/mpeg"
    )
    path, seen = await fetch(feed_server.url_for("/cdn/ep.mp3"), tmp_path / "dl")
    assert path == tmp_path / "dl" / "ep.mp3"
    assert path.read_bytes() == EPISODE
    assert files(tmp_path / "dl") == ["ep.mp3"]  # no partial left
    received = [r for r, _ in seen]
    assert received == sorted(received) and received[-1] == len(EPISODE)
    assert len(set(received)) > 3  # it moved in steps
    assert {total for _, total in seen} == {len(EPISODE)}


async def test_never_over_an_existing_file(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_feed("/cdn/ep.mp3", EPISODE, "audio/mpeg")
    target = tmp_path / "ep.mp3"
    target.write_bytes(b"mine")
    first, _ = await fetch(feed_server.url_for("/cdn/ep.mp3"), tmp_path)
    second, _ = await fetch(feed_server.url_for("/cdn/ep.mp3"), tmp_path)
    assert (first.name, second.name) == ("ep-2.mp3", "ep-3.mp3")
    assert target.read_bytes() == b"mine"
    assert first.read_bytes() == EPISODE == second.read_bytes()


async def test_content_disposition_names_the_file_safely(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed(
        "/get",
        EPISODE,
        "audio/mpeg",
        headers={"Content-Disposition": 'attachment; filename="../../.profile.mp3"'},
    )
    path, _ = await fetch(feed_server.url_for("/get"), tmp_path / "dl")
    assert path == tmp_path / "dl" / "profile.mp3"
    assert not (tmp_path / ".profile.mp3").exists()


async def test_a_dropped_connection_leaves_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_cut("/cdn/cut.mp3", EPISODE, cut_after=30000, content_type="audio/mpeg")
    with pytest.raises(DownloadError, match="closed mid-body"):
        await fetch(feed_server.url_for("/cdn/cut.mp3"), tmp_path)
    assert files(tmp_path) == []


async def test_an_announced_length_over_the_cap_is_refused_before_reading(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_large("/cdn/big.mp4", 50 << 20, content_type="video/mp4")
    with pytest.raises(DownloadError, match=r"larger than 1 MB \(general.max_download_mb\)"):
        await fetch(feed_server.url_for("/cdn/big.mp4"), tmp_path, max_bytes=1 << 20)
    assert files(tmp_path) == []


async def test_an_unannounced_huge_body_stops_at_the_cap(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_large("/cdn/huge", 40 << 20, send_length=False, content_type="video/mp4")
    seen: list[int] = []

    def progress(state: DownloadProgress) -> None:
        seen.append(state.received)

    async with make_client(10.0) as client:
        with pytest.raises(DownloadError, match="larger than 2 MB"):
            await download(
                client,
                feed_server.url_for("/cdn/huge"),
                tmp_path,
                max_bytes=2 << 20,
                progress=progress,
            )
    assert files(tmp_path) == []
    assert max(seen) <= 2 << 20


async def test_a_length_shorter_than_the_body_keeps_what_was_announced(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # The server says 1000 bytes and sends 100 KB: the answer ends where it said it would.
    feed_server.add_feed("/cdn/lie.mp3", EPISODE, "audio/mpeg")
    route = feed_server._routes["/cdn/lie.mp3"]
    route.send_length = False
    route.extra_headers["Content-Length"] = "1000"
    path, seen = await fetch(feed_server.url_for("/cdn/lie.mp3"), tmp_path)
    assert path.read_bytes() == EPISODE[:1000]
    assert seen[-1] == (1000, 1000)


async def test_errors_are_one_line(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_status("/cdn/gone.mp3", 404)
    with pytest.raises(DownloadError, match=r"answered HTTP 404 Not Found"):
        await fetch(feed_server.url_for("/cdn/gone.mp3"), tmp_path)
    with pytest.raises(DownloadError, match="unsupported URL scheme 'file'"):
        await fetch("file:///etc/passwd", tmp_path)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file")
    feed_server.add_feed("/cdn/ep.mp3", EPISODE, "audio/mpeg")
    with pytest.raises(DownloadError, match="cannot save to"):
        await fetch(feed_server.url_for("/cdn/ep.mp3"), blocked)
    assert files(tmp_path) == ["not-a-dir"]


async def test_redirects_are_followed_and_a_slow_server_times_out(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/cdn/ep.mp3", EPISODE, "audio/mpeg")
    feed_server.add_redirect("/episode", "/cdn/ep.mp3", 302)
    path, _ = await fetch(feed_server.url_for("/episode"), tmp_path)
    assert path.name == "ep.mp3" and path.read_bytes() == EPISODE
    feed_server.add_slow("/cdn/stuck.mp3", EPISODE, chunk_size=1000, delay=1.0)
    with pytest.raises(DownloadError, match=r"timed out after 0\.3 s"):
        await fetch(feed_server.url_for("/cdn/stuck.mp3"), tmp_path / "t", timeout=0.3)
    assert files(tmp_path / "t") == []


async def test_a_cancel_removes_the_partial(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_slow("/cdn/slow.mp3", EPISODE, chunk_size=2000, delay=0.05)
    started = asyncio.Event()

    def progress(state: DownloadProgress) -> None:
        if state.received:
            started.set()

    async def run() -> Path:
        async with make_client(10.0) as client:
            url = feed_server.url_for("/cdn/slow.mp3")
            return await download(client, url, tmp_path, max_bytes=1 << 20, progress=progress)

    task = asyncio.create_task(run())
    await asyncio.wait_for(started.wait(), 30)
    assert len(files(tmp_path)) == 1  # the hidden partial, while it downloads
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files(tmp_path) == []


async def test_a_served_session_never_downloads(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_feed("/cdn/ep.mp3", EPISODE, "audio/mpeg")
    store = Store(tmp_path / "db.sqlite")
    settings = Settings(download_dir=str(tmp_path / "dl"))
    served = NewsService(store, settings, restricted=True)
    try:
        with pytest.raises(ServiceError, match="Not available"):
            await served.download_attachment(feed_server.url_for("/cdn/ep.mp3"))
        own = NewsService(store, settings)
        path = await own.download_attachment(feed_server.url_for("/cdn/ep.mp3"))
        assert path == tmp_path / "dl" / "ep.mp3"
    finally:
        store.close()
    assert feed_server.hits("/cdn/ep.mp3") == 1
