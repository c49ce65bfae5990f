"""End to end in a real PTY, the issue's whole story: a post discussed in three places, a
reply on Mastodon drafted, the line dropped (SIGHUP), termnews started again, the reply
sent (the instance gets it exactly once), someone answers it on the instance, and after a
refresh the answer is under "Replies" and opens the discussion at itself."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.discussion_shapes import T0
from tests.support.discussions import DiscussionServer
from tests.support.feedserver import FeedServer
from tests.support.terminal import Terminal
from tests.test_e2e_discussions import open_discussion, prepare

pytestmark = pytest.mark.e2e

BODY = "Will the ferry wait for the late train?"
ANSWER = "It waits ten minutes, every evening."


@pytest.fixture
def servers() -> Iterator[tuple[DiscussionServer, FeedServer]]:
    with DiscussionServer() as discussions, FeedServer() as feeds:
        yield discussions, feeds


def test_a_mastodon_reply_sent_once_and_its_answer_under_replies(
    tmp_path: Path, servers: tuple[DiscussionServer, FeedServer]
) -> None:
    discussions, feeds = servers
    args = prepare(tmp_path, discussions, feeds)

    term = Terminal(args)
    try:
        open_discussion(term)
        screen = term.wait_for("Bluesky 12 likes")  # three sources, one pane
        assert "Mastodon 40 favourites" in screen and "First from afar" in screen
        term.press("C")
        term.wait_for("Mastodon thread as @me@")
        term.type(BODY)
        term.wait_for(BODY)
        term.signal(signal.SIGHUP)  # the connection drops mid-draft
        term.wait_exit()
    finally:
        term.close()
    assert discussions.posted == []

    term = Terminal(args)
    try:
        term.wait_for("unsent comment draft")
        assert "Replies" not in term.screen()  # nothing posted yet: no entry
        open_discussion(term)
        term.press("C")
        term.wait_for(BODY)
        term.press("ctrl+s")
        term.wait_for("Reply posted on Mastodon", timeout=30)
        assert len(discussions.posted) == 1
        mine = discussions.posted[0]["status"]
        answer = discussions._status(
            "300001", "bea", f"<p>{ANSWER}</p>", mine["id"], T0 + 20_000,
            f"{discussions.url}/@bea/300001",
        )  # fmt: skip
        with discussions.lock:  # someone answers on the instance
            discussions.mastodon_threads["110"].append(answer)
        term.leave_to_lists()
        term.press("R")
        term.wait_for("1 new reply to you", timeout=30)
        term.wait_for("↩ Replies  1")
        term.press("I")
        screen = term.wait_for("Replies to your comments")
        assert "Bea (@bea) · Mastodon · Discussed elsewhere" in screen
        assert ANSWER in screen
        term.press("enter")
        term.wait_for("▸ Bea (@bea)")  # the discussion, the answer selected
        screen = term.wait_for(ANSWER)
        lines = screen.splitlines()
        at = next(i for i, line in enumerate(lines) if "▸ Bea (@bea)" in line)
        assert ANSWER in lines[at + 1]  # its text right under it, on screen
        term.press("q")
        term.wait_for("Replies to your comments")
        term.press("escape")
        term.wait_for("a Add")
        assert "↩ Replies  1" not in term.screen()  # read now
        assert term.quit_from_lists() == 0
    finally:
        term.close()
    assert [p["form"]["status"] for p in discussions.posted] == [BODY]  # exactly once
