"""Replies to you on a served host, over real SSH: Bob answers Ada's board comment, the
host's scheduled refresh finds it, and only Ada's "Replies" entry counts it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sshhost import Host
from tests.test_serve_board import WAIT, Member, _log_in, board_server

ASKED = "Does the ferry run in fog?"
ANSWERED = "Only when the horn is working."


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    """The board host of test_serve_board, refreshing every second (the inbox's checks)."""
    with board_server(tmp_path, "--refresh-every", "0.02") as served:
        yield served


async def select_comment(member: Member, text: str) -> None:
    """Tab through the comments until the one showing `text` is selected (▸)."""
    deadline = time.monotonic() + WAIT
    while True:
        lines = member.text().splitlines()
        if any("▸" in line and text in line for line in lines):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"never selected {text!r}:\n{member.text()}")
        member.press("\t")
        await asyncio.sleep(0.2)


@pytest.mark.e2e
async def test_a_board_reply_counts_only_in_its_addressees_replies(host: Host) -> None:
    ada, bob = await asyncio.gather(
        _log_in(host, "ada", username="ada"), _log_in(host, "bob", username="bob")
    )
    try:
        assert "Replies" not in ada.text()  # nothing posted yet
        await ada.open_newest()
        ada.press("C")
        await ada.wait_for("to this host's board as @ada")
        ada.press(ASKED)
        await ada.wait_for(ASKED)
        ada.press("\x13")  # ctrl+s
        await ada.wait_for("Comment posted to this host's board")

        await bob.open_newest()
        bob.press("c")
        await bob.wait_for("@ada", ASKED)
        await select_comment(bob, "@ada")
        bob.press("r")
        await bob.wait_for("to this host's board as @bob", "in reply to @ada")
        await asyncio.sleep(0.5)  # the text area takes focus a moment after the modal shows
        bob.press(ANSWERED)
        await bob.wait_for(ANSWERED)
        bob.press("\x13")
        await bob.wait_for("Comment posted to this host's board")

        ada.press("q")  # out of the reader, to the lists
        await ada.wait_for("↩ Replies  1", timeout=WAIT)  # the host's refresh found it
        ada.press("I")
        shown = await ada.wait_for("Replies to your comments", ANSWERED)
        assert "@bob · board · " in shown
        bob.press("q")
        bob.press("q")
        shown = await bob.wait_for("↩ Replies")  # Bob posted too: his entry, with no count
        assert "↩ Replies  1" not in shown and ANSWERED not in shown
    finally:
        for member in (ada, bob):
            member.conn.close()
        await asyncio.gather(ada.conn.wait_closed(), bob.conn.wait_closed())
