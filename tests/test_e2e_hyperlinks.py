"""OSC 8 hyperlinks end to end: termnews in a real PTY, the bytes it writes read as they are
(pyte drops OSC 8, so the test reads the raw output)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from termnews.config import Paths, Settings
from termnews.model import Identity
from termnews.service import NewsService
from tests.support.feedserver import FeedServer, make_rss
from tests.support.terminal import Terminal, termnews_env

pytestmark = pytest.mark.e2e

OSC8 = re.compile(rb"\x1b\]8;([^\x1b\x07]*)\x1b\\")


def fill(data: Path, feed_server: FeedServer) -> None:
    items = [
        {
            "title": "Linked post",
            "link": "http://example.org/post",
            "guid": "linked",
            "content": "<p>Read <a href='https://example.org/quay'>the quay</a> and "
            "<a href='javascript:steal()'>this one</a> today.</p>",
            "pub_date": 1_700_000_000,
        }
    ]
    feed_server.add_feed("/links.xml", make_rss("Links", items))
    paths = Paths(config_file=data / "unused.toml", data_dir=data)
    service = NewsService.open(paths, Settings(refresh_on_start=False), identity=Identity())
    service.subscribe(feed_server.url_for("/links.xml"))
    asyncio.run(service.refresh())
    service.close()


def reader_bytes(tmp_path: Path, feed_server: FeedServer, setting: str | None, term: str) -> bytes:
    data = tmp_path / "data"
    fill(data, feed_server)
    env = termnews_env(tmp_path)
    env["TERM"] = term
    config = tmp_path / "xdg-config" / "termnews"
    config.mkdir(parents=True)
    if setting is not None:
        (config / "config.toml").write_text(f'[general]\nhyperlinks = "{setting}"\n', "utf-8")
    terminal = Terminal(["--data-dir", str(data)], env=env, columns=100, lines=30)
    try:
        terminal.wait_for("Linked post")
        start = len(terminal.raw)
        terminal.press("tab", "enter")
        terminal.wait_for("the quay")
        terminal.pump(0.5)
        return bytes(terminal.raw[start:])
    finally:
        terminal.close()


def test_link_text_is_an_osc8_hyperlink_in_the_pty(tmp_path: Path, feed_server: FeedServer) -> None:
    out = reader_bytes(tmp_path, feed_server, None, "xterm-256color")
    opened = re.search(
        rb"\x1b\]8;id=[!-~]+;https://example.org/quay\x1b\\(.*?)\x1b\]8;;\x1b\\", out, re.S
    )
    assert opened is not None, out[-2000:]
    assert re.sub(rb"\x1b\[[0-9;]*m", b"", opened.group(1)).startswith(b"the quay")
    targets = {m.group(1).split(b";", 1)[-1] for m in OSC8.finditer(out) if m.group(1) != b";"}
    # the reader's link, its number and the link list: one address, never the javascript one
    assert targets == {b"https://example.org/quay"}
    assert [m.group(1) for m in OSC8.finditer(out)][-1] == b";"  # nothing left open


@pytest.mark.parametrize(("setting", "term"), [("off", "xterm-256color"), (None, "linux")])
def test_no_hyperlinks_when_off_or_unsupported(
    tmp_path: Path, feed_server: FeedServer, setting: str | None, term: str
) -> None:
    out = reader_bytes(tmp_path, feed_server, setting, term)
    assert b"the quay" in out
    assert b"\x1b]8;id=" not in out
