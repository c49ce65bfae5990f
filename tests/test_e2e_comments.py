"""End to end in a real PTY: a draft survives a dropped connection and is sent exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.service import NewsService
from termnews.store import Store
from tests.support.terminal import Terminal

pytestmark = pytest.mark.e2e

BODY = "A comment typed before the line dropped"


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0).start() as demo:
        yield demo


def prepare(tmp_path: Path, site: DemoSite) -> tuple[Path, Path]:
    data, config = tmp_path / "data", tmp_path / "config.toml"
    config.write_text(
        '[general]\nrefresh_on_start = false\n[profile]\nname = "Ada Reader"\n'
        'email = "ada@example.org"\n',
        encoding="utf-8",
    )
    service = NewsService.open(Paths(config, data), Settings())
    service.subscribe(site.feed_urls[0])
    asyncio.run(service.refresh())
    service.close()
    return data, config


def open_newest_post(term: Terminal, title: str) -> None:
    term.wait_for("Feeds")
    term.press("tab")
    term.press("enter")
    term.wait_for(title)
    # The title shows in the article list too: wait for the reader's own footer, or a key
    # typed next can reach the list before the reader is up.
    term.wait_for("Write comment")


def test_sighup_mid_draft_keeps_it_and_it_is_sent_once(tmp_path: Path, site: DemoSite) -> None:
    data, config = prepare(tmp_path, site)
    newest = max((p for p in site.posts if p.blog == site.posts[0].blog), key=lambda p: p.published)
    args = ["--data-dir", str(data), "--config", str(config)]

    term = Terminal(args)
    try:
        open_newest_post(term, newest.title[:30])
        term.press("C")
        term.wait_for("Comment on")
        term.type(BODY)
        term.wait_for(BODY)
        term.signal(signal.SIGHUP)  # what sshd sends when the connection drops
        term.wait_exit()
    finally:
        term.close()

    drafts = Store(data / "termnews.db").db.execute("SELECT body FROM drafts").fetchall()
    assert [row[0] for row in drafts] == [BODY]

    term = Terminal(args)
    try:
        term.wait_for("unsent comment draft")
        open_newest_post(term, newest.title[:30])
        term.press("C")
        term.wait_for(BODY)  # the draft is offered back
        term.press("ctrl+s")
        term.wait_for("Comment posted", timeout=30)
        term.press("ctrl+q")  # quits from anywhere (fast q q q can outrun a closing screen)
        assert term.wait_exit() == 0
    finally:
        term.close()

    stored = [c for c in site.comments_for(newest.id) if BODY in c["text"]]
    assert len(stored) == 1
    assert Store(data / "termnews.db").db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


def test_ctrl_e_edits_the_comment_in_the_users_editor(tmp_path: Path, site: DemoSite) -> None:
    data, config = prepare(tmp_path, site)
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written in the editor" >> "$1"\n', encoding="utf-8")
    editor.chmod(0o755)
    newest = max((p for p in site.posts if p.blog == site.posts[0].blog), key=lambda p: p.published)
    term = Terminal(
        ["--data-dir", str(data), "--config", str(config)],
        env={"EDITOR": str(editor), "VISUAL": ""},
    )
    try:
        open_newest_post(term, newest.title[:30])
        term.press("C")
        term.wait_for("Comment on")
        term.type("First line. ")
        term.press("ctrl+e")
        term.wait_for("written in the editor")  # back in the modal, with the editor's text
        term.press("escape")
        term.wait_for("Draft kept")
        term.press("ctrl+q")  # quits from anywhere (fast q q q can outrun a closing screen)
        assert term.wait_exit() == 0
    finally:
        term.close()
    drafts = Store(data / "termnews.db").db.execute("SELECT body FROM drafts").fetchall()
    assert [row[0] for row in drafts] == ["First line. written in the editor"]
