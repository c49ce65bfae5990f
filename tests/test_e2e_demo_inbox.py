"""The issue's real-PTY story on the sample site's own stand-ins: the fish market post
discussed on the site, HN and Mastodon in one pane; a reply on the Mastodon stand-in
drafted, the line dropped (SIGHUP), termnews started again, the reply sent (the stand-in
gets it exactly once); a neighbour answers it through the stand-in, and after a refresh
the answer is under "Replies"."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from termnews.cli.demo import write_demo_settings
from termnews.config import Paths, load_settings
from termnews.demo import DemoSite
from termnews.demo.fediverse import ME, NEIGHBOUR_TOKEN
from termnews.service import NewsService
from tests.support.terminal import Terminal

pytestmark = pytest.mark.e2e

BODY = "Parking first, then the move."
ANSWER = "Parking is on the agenda for January."


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0).start() as demo:
        yield demo


def prepare(tmp_path: Path, site: DemoSite) -> list[str]:
    """A data dir subscribed to the sample site, with the demo's [discussions] settings."""
    data = tmp_path / "data"
    data.mkdir()
    yours = tmp_path / "config.toml"
    yours.write_text("[general]\nrefresh_on_start = false\n", encoding="utf-8")
    config = write_demo_settings(site, yours, data)
    service = NewsService.open(Paths(config, data), load_settings(config))
    for url in site.feed_urls:
        service.subscribe(url, tags=["sample site"])
    asyncio.run(service.refresh())
    service.close()
    return ["--data-dir", str(data), "--config", str(config)]


def open_fish_market(term: Terminal) -> str:
    term.wait_for("11 articles")
    term.press("tab", "down", "enter")  # the second post: the fish market
    term.wait_for("comment on Mastodon")
    term.press("c")
    term.wait_for("Mastodon 19 favourites")
    term.wait_for("HN 87 points · 6 comments")
    return term.wait_for("▾ On 127.0.0.1")  # three sources, one pane


def mine(site: DemoSite) -> list[dict[str, object]]:
    assert site.discussions is not None
    posted = site.discussions.instance.posted
    return [s for s in posted if s["account"]["acct"] == ME]  # type: ignore[index]


def test_a_reply_on_the_demo_mastodon_is_sent_once_and_its_answer_is_under_replies(
    tmp_path: Path, site: DemoSite
) -> None:
    args = prepare(tmp_path, site)
    term = Terminal(args)
    try:
        open_fish_market(term)
        term.press("[")  # the last comment: Mill Lane Folk's, on Mastodon
        term.press("r")
        term.wait_for("Mastodon thread as @you@127.0.0.1")
        term.type(BODY)
        term.wait_for(BODY)
        term.signal(signal.SIGHUP)  # the connection drops mid-draft
        term.wait_exit()
    finally:
        term.close()
    assert mine(site) == []

    term = Terminal(args)
    try:
        term.wait_for("unsent comment draft")
        open_fish_market(term)
        term.press("[", "r")
        term.wait_for(BODY)  # the draft is offered back, for the same thread
        term.press("ctrl+s")
        term.wait_for("Reply posted on Mastodon", timeout=30)
        [sent] = mine(site)
        answered = httpx.post(  # a neighbour answers through the stand-in's API
            f"{site.url}api/v1/statuses",
            json={"status": ANSWER, "in_reply_to_id": sent["id"]},
            headers={"Authorization": f"Bearer {NEIGHBOUR_TOKEN}"},
        )
        assert answered.status_code == 200, answered.text
        term.leave_to_lists()
        term.press("R")
        term.wait_for("1 new reply to you", timeout=30)
        term.wait_for("↩ Replies  1")
        term.press("I")
        term.wait_for("Replies to your comments")
        screen = term.wait_for(ANSWER)
        assert "Gull Watch (@gullwatch) · Mastodon · " in screen
        term.press("enter")
        screen = term.wait_for("▸ Gull Watch (@gullwatch)")  # the discussion, at the answer
        lines = screen.splitlines()
        at = next(i for i, line in enumerate(lines) if "▸ Gull Watch (@gullwatch)" in line)
        assert ANSWER in lines[at + 1]  # its text right under it, on screen
        term.press("q")
        term.wait_for("Replies to your comments")
        term.press("escape")
        term.wait_for("a Add")
        assert term.quit_from_lists() == 0
    finally:
        term.close()
    assert [s["content"] for s in mine(site)] == [f"<p>{BODY}</p>"]  # exactly once
