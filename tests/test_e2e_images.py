"""Inline images end to end: termnews in a real PTY that calls itself kitty sends the
picture once with Kitty's graphics protocol and draws placeholder cells through the output
layer; over SSH (auto) it sends none."""

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
from tests.test_images import png

pytestmark = pytest.mark.e2e

PLACEHOLDER = "\U0010eeee".encode()


def run_reader(tmp_path: Path, feed_server: FeedServer, extra_env: dict[str, str]) -> bytes:
    feed_server.add_feed("/red.png", png(60, 30), "image/png")
    content = f"<p>Above.</p><p><img src='{feed_server.url_for('/red.png')}' alt='red'></p>"
    items = [{"title": "Picture post", "guid": "p", "content": content, "pub_date": 1_700_000_000}]
    feed_server.add_feed("/pictures.xml", make_rss("Pictures", items))
    data = tmp_path / "data"
    paths = Paths(config_file=tmp_path / "unused.toml", data_dir=data)
    service = NewsService.open(paths, Settings(refresh_on_start=False), identity=Identity())
    service.subscribe(feed_server.url_for("/pictures.xml"))
    asyncio.run(service.refresh())
    service.close()
    env = termnews_env(tmp_path)
    env.update(TERM="xterm-kitty", **extra_env)
    env.pop("TMUX", None)
    terminal = Terminal(["--data-dir", str(data)], env=env, columns=100, lines=30)
    try:
        terminal.wait_for("Picture post")
        start = len(terminal.raw)
        terminal.press("tab", "enter")
        terminal.wait_for("[image: red]")
        terminal.pump(1.5)
        for _ in range(20):
            terminal.pump(0.2)
        return bytes(terminal.raw[start:])
    finally:
        terminal.close()


def test_kitty_terminal_gets_the_picture_once_and_placeholder_cells(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    out = run_reader(tmp_path, feed_server, {})
    commands = re.findall(rb"\x1b_G([^;\x1b]*)", out)
    transmits = [c for c in commands if c.startswith(b"a=T")]
    assert len(transmits) == 1, commands
    keys = dict(kv.split(b"=") for kv in transmits[0].split(b","))
    assert keys[b"U"] == b"1" and keys[b"f"] == b"24"
    columns, rows = int(keys[b"c"]), int(keys[b"r"])
    assert out.count(PLACEHOLDER) >= columns * rows  # every cell of the placement drawn
    assert len([r for r in feed_server.requests if r.path == "/red.png"]) == 1


def test_no_inline_pictures_over_ssh_by_default(tmp_path: Path, feed_server: FeedServer) -> None:
    out = run_reader(tmp_path, feed_server, {"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"})
    assert b"\x1b_G" not in out and PLACEHOLDER not in out
    assert not [r for r in feed_server.requests if r.path == "/red.png"]
