"""OSC 8 hyperlinks in `termnews serve` sessions: over real SSH, the client's TERM decides
(the host passes it on and nothing else); inline images stay off (a served session is
remote)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from termnews.demo import DemoSite
from termnews.demo.content import BLOGS, WORDPRESS
from tests.support import sshhost as sh

pytestmark = pytest.mark.e2e

LINK_OPEN = re.compile(rb"\x1b\]8;id=[!-~]+;(https?://[!-~]+)\x1b\\")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sh.Host]:
    base = tmp_path_factory.mktemp("serve-links")
    data_dir, config = base / "data", base / "config.toml"
    keys = sh.make_keys(base, ["ada"])
    with DemoSite(flood_seconds=0) as site:
        common = ["--data-dir", str(data_dir), "--config", str(config)]
        added = sh.termnews(base, "add", "--no-discover", site.feed_urls[0], *common)
        assert added.returncode == 0, added.stderr
        result = sh.termnews(base, "members", "add", "ada", f"{keys['ada']}.pub", *common)
        assert result.returncode == 0, result.stderr
        server = sh.start_server(base, data_dir, config)
        server.keys = keys
        server.feed_title = BLOGS[WORDPRESS].title
        try:
            yield server
        finally:
            sh.stop_server(server)


async def read_posts(host: sh.Host, term: str) -> bytes:
    """Open the reader and step through the first posts; every byte the session sent."""
    conn = await sh.connect(host, "ada")
    try:
        chan, terminal = await conn.create_session(
            sh.Terminal, encoding=None, term_type=term, term_size=(100, 30)
        )  # type: ignore[arg-type]
        await sh.until(lambda: host.feed_title in terminal.screen().text, "the feed list")
        chan.write(b"\t")
        await sh.settled(terminal)
        chan.write(b"\r")
        await sh.settled(terminal)
        for _ in range(4):
            chan.write(b"n")
            await sh.settled(terminal)
        return bytes(terminal.output)
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.parametrize("term", ["xterm-256color", "xterm-kitty"])
async def test_served_xterm_session_gets_clickable_links(host: sh.Host, term: str) -> None:
    out = await read_posts(host, term)
    targets = set(LINK_OPEN.findall(out))
    assert targets, "no OSC 8 link in the served session"
    assert all(b"\x1b" not in target and b"\x07" not in target for target in targets)
    # no pictures sent even to kitty (a post has some): served sessions are remote
    assert b"\x1b_G" not in out and "\U0010eeee".encode() not in out


@pytest.mark.parametrize("term", ["screen", "linux"])
async def test_served_session_without_hyperlinks_gets_none(host: sh.Host, term: str) -> None:
    out = await asyncio.wait_for(read_posts(host, term), 90)
    assert not LINK_OPEN.search(out)
