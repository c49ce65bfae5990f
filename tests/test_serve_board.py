"""The host's board over real SSH: one member comments, another reads it, the host records it.

`termnews serve` runs as a subprocess with a fresh data dir subscribed to the sample site's
Blogger-like feed, so the board is the only place a comment can go. Two members log in at
once with their own keys through asyncssh; what they see is read through pyte, a terminal
emulator, as a person would see it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from termnews.demo import DemoSite
from termnews.demo.content import BLOGGER, BLOGS, POSTS
from tests.support.sshhost import (
    Host,
    Terminal,
    connect,
    make_keys,
    session,
    start_server,
    stop_server,
    termnews,
)

WAIT = 30.0  # upper bound for a busy machine; never a speed check
COLUMNS, ROWS = 100, 30
FEED_TITLE = BLOGS[BLOGGER].title
NEWEST = max((p for p in POSTS if p.blog == BLOGGER), key=lambda p: p.published).title
BODY = "Beer traps under the brassicas did better than pellets here."


@dataclass
class Member:
    name: str
    conn: asyncssh.SSHClientConnection
    chan: asyncssh.SSHClientChannel[bytes]
    term: Terminal

    def text(self) -> str:
        return self.term.live(COLUMNS, ROWS).text

    def press(self, keys: str) -> None:
        self.chan.write(keys.encode())

    def look(self, text: str) -> tuple[object, ...]:
        """How the first cell of `text` is drawn (colours, bold, reverse)."""
        for row, line in enumerate(self.text().splitlines()):
            col = line.find(text)
            if col >= 0:
                char = self.term.live(COLUMNS, ROWS).buffer[row][col]
                return (char.fg, char.bg, char.bold, char.reverse)
        pytest.fail(f"{text!r} is not on {self.name}'s screen")

    async def settled(self, quiet: float = 0.3) -> None:
        """Wait until nothing on the screen has changed for `quiet` seconds."""
        shown, since = "", time.monotonic()
        while time.monotonic() - since < quiet:
            now = self.text() + repr(self.look(NEWEST))
            if now != shown:
                shown, since = now, time.monotonic()
            await asyncio.sleep(0.05)

    async def open_newest(self) -> None:
        """Tab to the article list, then Enter on its first (newest) post.

        Textual moves focus a moment after the key that asks for it, so an Enter sent
        with the Tab would reach the feed list: wait until the article list looks focused.
        """
        await self.settled()
        before = self.look(NEWEST)  # its row is the list's cursor
        self.press("\t")
        deadline = time.monotonic() + WAIT
        while self.look(NEWEST) == before:
            if time.monotonic() > deadline:
                pytest.fail(f"Tab never moved {self.name}'s focus:\n{self.text()}")
            await asyncio.sleep(0.05)
        self.press("\r")
        await self.wait_for(NEWEST, "Write comment")

    async def wait_for(self, *texts: str, timeout: float = WAIT) -> str:
        """The screen once it shows every one of `texts`; fails showing what it shows."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.text()
            if all(text in shown for text in texts):
                return shown
            if self.term.closed.is_set() or time.monotonic() > deadline:
                pytest.fail(f"{self.name}'s screen never showed {texts!r}; it shows:\n{shown}")
            await asyncio.sleep(0.05)

    async def wait_gone(self, text: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while text in self.text():
            if self.term.closed.is_set() or time.monotonic() > deadline:
                pytest.fail(f"{text!r} stayed on {self.name}'s screen:\n{self.text()}")
            await asyncio.sleep(0.05)


async def _log_in(host: Host, key: str, username: str) -> Member:
    """Connect with `key`'s private key while claiming to be `username`."""
    conn = await connect(host, key, username)
    chan, term = await session(conn, size=(COLUMNS, ROWS))
    member = Member(key, conn, chan, term)
    await member.wait_for(FEED_TITLE, NEWEST)  # the feed list and its article list
    return member


@contextmanager
def board_server(tmp_path: Path, *extra: str) -> Iterator[Host]:
    """A served host whose only feed is the sample Blogger blog; members ada and bob;
    `extra` arguments for `termnews serve`."""
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    common = ["--data-dir", str(data_dir), "--config", str(config)]
    keys = make_keys(tmp_path, ["ada", "bob"])
    with DemoSite(flood_seconds=0) as site:
        added = termnews(tmp_path, "add", "--no-discover", site.feed_urls[1], *common)
        assert added.returncode == 0, added.stderr
        for name in keys:
            result = termnews(tmp_path, "members", "add", name, f"{keys[name]}.pub", *common)
            assert result.returncode == 0, result.stderr
        host = start_server(tmp_path, data_dir, config, *extra)
        host.keys, host.feed_title = keys, FEED_TITLE
        try:
            yield host
        finally:
            stop_server(host)


@pytest.fixture
def board_host(tmp_path: Path) -> Iterator[Host]:
    with board_server(tmp_path) as host:
        yield host


def _board_rows(data_dir: Path) -> list[tuple[str, str]]:
    uri = (data_dir / "termnews.db").as_uri() + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        return db.execute("SELECT identity, body FROM board ORDER BY id").fetchall()


@pytest.mark.e2e
async def test_board_comment_from_one_member_reaches_another(board_host: Host) -> None:
    # Each claims the other's SSH username: only the key may decide who they are.
    ada, bob = await asyncio.gather(
        _log_in(board_host, "ada", username="bob"), _log_in(board_host, "bob", username="ada")
    )
    try:
        await ada.open_newest()
        ada.press("C")
        compose = await ada.wait_for("to this host's board as @ada")
        assert "@bob" not in compose
        assert "E-mail" not in compose  # the board asks for no name or address
        ada.press(BODY)
        await ada.wait_for(BODY)
        ada.press("\x13")  # ctrl+s
        await ada.wait_for("Comment posted to this host's board")

        await bob.open_newest()
        bob.press("c")
        shown = await bob.wait_for("@ada", BODY)
        lines = shown.splitlines()
        author = next(i for i, line in enumerate(lines) if "@ada" in line)
        assert "board" in lines[author]  # marked as a board comment
        assert BODY in "\n".join(lines[author + 1 : author + 4])  # the text under its author
        # Bob's own name shows only where his comment would go, never as a comment's author.
        authors = [line for line in lines if line.strip().startswith("•")]
        assert authors and not any("@bob" in line for line in authors)
    finally:
        for member in (ada, bob):
            member.conn.close()
        await asyncio.gather(ada.conn.wait_closed(), bob.conn.wait_closed())

    assert _board_rows(board_host.data_dir) == [("ada", BODY)]
    activity = (board_host.data_dir / "activity.log").read_text(encoding="utf-8").splitlines()
    assert len(activity) == 1
    fields = activity[0].split("\t")
    assert fields[1] == "ada" and fields[2] == "board"


@pytest.mark.e2e
async def test_board_rate_limit_refuses_politely_and_keeps_the_draft(board_host: Host) -> None:
    where = "to this host's board as @ada"
    ada = await _log_in(board_host, "ada", username="ada")
    try:
        await ada.open_newest()
        first = time.monotonic()
        for number in range(1, 7):
            await ada.wait_gone(where)  # keys now reach the reader, not a closing modal
            ada.press("C")
            await ada.wait_for(where)
            ada.press(f"Board note number {number}.")
            await ada.wait_for(f"Board note number {number}.")
            ada.press("\x13")
            if number <= 5:
                await ada.wait_gone(where)
                assert len(_board_rows(board_host.data_dir)) == number
        if time.monotonic() - first > 55:
            pytest.skip("the machine took most of a minute for five posts: no limit to test")
        refused = await ada.wait_for("at most 5 comments a minute")
        assert where in refused and "Board note number 6." in refused  # still open, text kept
        ada.press("\x1b")
        await ada.wait_for("Draft kept")
        await ada.wait_gone(where)
        ada.press("C")
        await ada.wait_for(where, "Board note number 6.", "Your unsent draft is back")
    finally:
        ada.conn.close()
        await ada.conn.wait_closed()

    rows = _board_rows(board_host.data_dir)
    assert rows == [("ada", f"Board note number {n}.") for n in range(1, 6)]
    activity = (board_host.data_dir / "activity.log").read_text(encoding="utf-8").splitlines()
    assert len(activity) == 5
