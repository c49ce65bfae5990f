"""End to end in a real PTY: three outside sources in one pane, and a Mastodon reply that
survives a dropped connection and reaches the (loopback) instance exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.config import Paths, load_settings
from termnews.service import NewsService
from tests.support.discussions import DiscussionServer, Reply
from tests.support.feedserver import FeedServer, make_rss
from tests.support.terminal import Terminal

pytestmark = pytest.mark.e2e

BODY = "A reply typed before the line dropped"
THREAD = [
    Reply("101", "ada", "<p>First from afar</p>", None, 1_700_000_100),
    Reply("102", "bob", "<p>Answer to Ada</p>", "101", 1_700_000_200),
]


@pytest.fixture
def servers() -> Iterator[tuple[DiscussionServer, FeedServer]]:
    with DiscussionServer() as discussions, FeedServer() as feeds:
        yield discussions, feeds


def prepare(tmp_path: Path, discussions: DiscussionServer, feeds: FeedServer) -> list[str]:
    status = discussions.add_mastodon("110", THREAD)
    sky = discussions.add_bluesky("ada.example.com", "3kabc", THREAD)
    discussions.add_hackernews("https://elsewhere.example.org/", THREAD, story_id=4242)
    content = (
        "<p>A post discussed elsewhere.</p>"
        '<p><a href="https://news.ycombinator.com/item?id=4242">On HN</a>, '
        f'<a href="{status}">comment on Mastodon</a>, <a href="{sky}">or Bluesky</a>.</p>'
    )
    post = {"title": "Discussed elsewhere", "link": feeds.url_for("/post/1"), "content": content}
    feeds.add_feed("/feed.xml", make_rss("Blog", [post]))
    url = discussions.url
    data, config = tmp_path / "data", tmp_path / "config.toml"
    config.write_text(
        "[general]\nrefresh_on_start = false\n"
        f'[discussions]\nhackernews = "{url}"\nbluesky = "{url}"\n'
        f'mastodon_instance = "{url}"\nmastodon_token = "{discussions.mastodon_token}"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    service = NewsService.open(Paths(config, data), load_settings(config))
    service.subscribe(feeds.url_for("/feed.xml"))
    asyncio.run(service.refresh())
    service.close()
    return ["--data-dir", str(data), "--config", str(config)]


def open_discussion(term: Terminal) -> None:
    term.wait_for("Feeds")
    term.press("tab")
    term.press("enter")
    term.wait_for("Discussed elsewhere")
    term.press("c")
    term.wait_for("HN 412 points")


def test_three_sources_and_a_mastodon_reply_sent_once_across_a_dropped_line(
    tmp_path: Path, servers: tuple[DiscussionServer, FeedServer]
) -> None:
    discussions, feeds = servers
    args = prepare(tmp_path, discussions, feeds)

    term = Terminal(args)
    try:
        open_discussion(term)
        screen = term.wait_for("Bluesky 12 likes")
        assert "Mastodon 40 favourites" in screen
        assert "First from afar" in screen
        term.press("C")
        term.wait_for("Mastodon thread as @me@")
        term.type(BODY)
        term.wait_for(BODY)
        term.signal(signal.SIGHUP)  # what sshd sends when the connection drops
        term.wait_exit()
    finally:
        term.close()
    assert discussions.posted == []

    term = Terminal(args)
    try:
        term.wait_for("unsent comment draft")
        open_discussion(term)
        term.press("C")
        term.wait_for(BODY)  # the draft is offered back, still for the Mastodon thread
        term.press("ctrl+s")
        term.wait_for("Reply posted on Mastodon", timeout=30)
        term.wait_for(BODY)  # back in the pane, the reply listed under the post
        term.leave_to_lists()
        assert term.quit_from_lists() == 0
    finally:
        term.close()
    assert [p["form"]["status"] for p in discussions.posted] == [BODY]
    assert discussions.posted[0]["form"]["in_reply_to_id"] == "110"
