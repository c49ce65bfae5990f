"""`termnews demo` in a real PTY: the fish market post discussed on the site, HN, Lobsters
and Mastodon at once, and a reply that really goes to the Mastodon stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.terminal import Terminal, termnews_env

pytestmark = pytest.mark.e2e


def test_the_demo_post_is_discussed_in_three_places_and_takes_a_mastodon_reply(
    tmp_path: Path,
) -> None:
    term = Terminal(["demo"], env=termnews_env(tmp_path))
    try:
        term.wait_for("11 articles")
        term.press("tab", "down", "enter")  # the second post: the fish market
        term.wait_for("comment on Mastodon")
        term.press("c")
        screen = term.wait_for("Mastodon 19 favourites · 4 boosts · 3 replies")
        assert "HN 87 points · 6 comments" in screen
        assert "Lobsters 14 points · 2 comments" in screen
        assert "▾ On 127.0.0.1 · 7 comments" in screen
        term.press("[")  # from the top, back to the last comment: Mill Lane Folk's, on Mastodon
        term.press("r")
        screen = term.wait_for("Mastodon thread as @you@127.0.0.1")
        assert "Name" not in screen and "E-mail" not in screen
        term.type("Parking first, then the move.")
        term.wait_for("29 / 500 characters")
        term.press("ctrl+s")
        term.wait_for("Reply posted on Mastodon", timeout=30)
        term.press("G")
        term.wait_for("You (demo) (@you)")
        term.wait_for("Parking first, then the move.")
        term.leave_to_lists()
        assert term.quit_from_lists() == 0
    finally:
        term.close()
