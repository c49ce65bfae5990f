"""termnews end to end in a real PTY: the command line fills a data dir from the sample site
and a hostile feed over loopback HTTP, then the reader runs in a 120x40 pseudo-terminal.

Checks what a user sees (feed titles, the reader header, n/p, q back and quit, exit 0) and
the raw bytes that reach the terminal: escape sequences a feed carries (clear screen,
OSC 52 clipboard write, OSC 8 hyperlink, window title, C1 CSI, bidi override) must never
get through, while the feed's visible words do.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ptyprocess import PtyProcess

from termnews.config import database_path
from termnews.demo import DemoSite
from termnews.model import ArticleQuery
from termnews.sanitize import clean_line
from termnews.store import Store
from tests.support.emulator import emulator
from tests.support.feedserver import FeedServer, make_rss
from tests.support.terminal import termnews_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
COLS, ROWS = 120, 40
WAIT = 45.0  # seconds to wait for one screen; generous for a loaded machine

# Payloads a feed must never get to the terminal; each carries a marker to look for.
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;ZXZpbC1jbGlw\x07"  # base64 of "evil-clip"
HYPERLINK = "\x1b]8;;http://evil.example/\x07"
WINDOW_TITLE = "\x1b]0;evil-window\x07"
C1_CSI = "\x9b31m"
BIDI = "\u202e"
FEED_TITLE = f"Tidemark{CLEAR}{CLIPBOARD} Alerts{C1_CSI} {BIDI}board"
LINK_END = "\x1b]8;;\x07"
POST_TITLE = f"Quayside{HYPERLINK} notice{LINK_END} of{WINDOW_TITLE} the week"
# The body carries them raw, and once as an HTML character reference.
POST_BODY = (
    f"<p>Gulls{CLEAR} nested\x1b]52;c;Ym9keS1jbGlw\x07 on{C1_CSI} the {BIDI}pier "
    f"\x1b]8;;http://evil.example/body\x07roof{LINK_END} again &#27;[1;1H.</p>"
)
NEVER = [
    b"\x1b]52;",  # no clipboard write at all (termnews itself copies only when asked)
    b"ZXZpbC1jbGlw",  # the payloads: base64 of "evil-clip" and "body-clip"
    b"Ym9keS1jbGlw",
    b"evil",  # only ever inside escape sequences: the hyperlinks and the window title
    b"\xc2\x9b",  # C1 CSI in UTF-8
    b"\x9b31m",
    "\u202e".encode(),
]

ANSI = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1b[PX^_][^\x1b]*\x1b\\"
    rb"|\x1b[ -/]*[0-~]"
)


def screen_text(raw: bytes) -> str:
    """The text in terminal output with the escape sequences taken out (for searching)."""
    return ANSI.sub(b"", raw).decode("utf-8", "replace")


class Terminal:
    """A child process in a PTY; all its output is kept, so the raw bytes can be checked."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = PtyProcess.spawn(argv, env=env, cwd=str(ROOT), dimensions=(ROWS, COLS))
        self.output = bytearray()
        self.eof = False
        # What the terminal shows: with the output layer only changed cells are sent, so
        # text is looked for on an emulated screen, not in the bytes.
        self.screen, self.stream = emulator(COLS, ROWS)

    def _pump(self, timeout: float) -> None:
        if self.eof:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.proc.fd], [], [], timeout)
        if ready:
            try:
                data = os.read(self.proc.fd, 1 << 16)
            except OSError:  # EIO: the child closed its end
                data = b""
            self.eof = not data
            self.output += data
            self.stream.feed(data)

    def send(self, keys: bytes) -> int:
        """Type keys; returns the output offset to look for their effect after."""
        mark = len(self.output)
        os.write(self.proc.fd, keys)
        return mark

    def wait_for(self, *texts: str, since: int = 0) -> None:
        """Until every text shows on screen. `since` (the output offset of the key) is not
        needed: the screen before the key never shows what the callers wait for."""
        deadline = time.monotonic() + WAIT
        while True:
            shown = "\n".join(self.screen.display)
            missing = [t for t in texts if t not in shown]
            if not missing:
                return
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"never shown: {missing!r}; screen text at the end: {shown[-1500:]!r}")
            self._pump(0.05)

    def wait_for_footer(self, test: Callable[[str], bool], since: int = 0) -> None:
        """Until the footer on screen passes `test` (it gets the key hints)."""
        deadline = time.monotonic() + WAIT
        while True:
            shown = self.screen.display[-1]
            end = shown.rfind("^p Commands")
            start = shown.rfind("Back/Quit", 0, end) if end >= 0 else -1
            footer = shown[max(0, start - 12) : end] if start >= 0 else ""
            if footer and test(footer):
                return
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"the footer never passed the test; last one: {footer!r}")
            self._pump(0.05)

    def wait_exit(self) -> int:
        """Drain output (a full PTY blocks the child) until it exits; its exit status."""
        deadline = time.monotonic() + WAIT
        while not self.eof and time.monotonic() < deadline:
            self._pump(0.05)
        # The PTY closes a moment before the process is gone.
        while self.proc.isalive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.proc.isalive():
            pytest.fail("termnews did not exit")
        return int(self.proc.wait())

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)
        self.proc.close(force=True)


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    return termnews_env(tmp_path)


@pytest.fixture
def demo_site() -> Iterator[DemoSite]:
    site = DemoSite().start()
    yield site
    site.stop()


def termnews(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "termnews", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_read_posts_in_a_real_terminal_and_no_feed_escapes_reach_it(
    tmp_path: Path, child_env: dict[str, str], demo_site: DemoSite, feed_server: FeedServer
) -> None:
    data = str(tmp_path / "data")
    newest = time.time() - 60  # the hostile post tops the All list
    feed_server.add_feed(
        "/tidemark.xml",
        make_rss(
            FEED_TITLE,
            [
                {
                    "title": POST_TITLE,
                    "guid": "tidemark-1",
                    "link": "http://example.org/tidemark/1",
                    "author": f"Harbour{WINDOW_TITLE} master",
                    "content": POST_BODY,
                    "pub_date": newest,
                }
            ],
        ),
    )
    urls = tmp_path / "urls"
    urls.write_text("\n".join(demo_site.feed_urls) + "\n", encoding="utf-8")
    imported = termnews(child_env, "import", str(urls), "--data-dir", data)
    assert imported.returncode == 0, imported.stderr
    refreshed = termnews(child_env, "refresh", "--data-dir", data)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    added = termnews(
        child_env, "add", "--no-discover", feed_server.url_for("/tidemark.xml"), "--data-dir", data
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert "\x1b" not in added.stdout and "evil" not in added.stdout
    # What the screen should show is the stored text, cleaned: the parser already turns the
    # C1 byte into a harmless character, but the other escapes reach the database as they are.
    store = Store(database_path(Path(data)))
    try:
        feed = next(f for f in store.feeds() if f.url.endswith("/tidemark.xml"))
        post = store.article(store.article_ids(ArticleQuery(feed_id=feed.id))[0])
    finally:
        store.close()
    assert post is not None and feed.title is not None
    for raw_text, payloads in ((feed.title, (CLEAR, CLIPBOARD, BIDI)), (post.title, (HYPERLINK,))):
        assert all(p in raw_text for p in payloads), raw_text  # so the UI is what must strip them
    feed_title, post_title = clean_line(feed.title), clean_line(post.title)
    assert "Tidemark Alerts" in feed_title and post_title == "Quayside notice of the week"

    demo_posts = sorted(demo_site.posts, key=lambda p: p.published, reverse=True)
    total = len(demo_posts) + 1
    blog_titles = ["Saltmarsh Quay Gazette", "The Allotment Ledger", "Tidewater release notes"]

    term = Terminal([sys.executable, "-m", "termnews", "--data-dir", data], child_env)
    try:
        # The feed list, with every feed's title.
        term.wait_for("Feeds", *blog_titles, feed_title)
        # Tab to the article list, Enter opens its first post: the reader header
        # shows the title, the position in the list and the author.
        term.send(b"\t")
        mark = term.send(b"\r")
        term.wait_for(f"1/{total}", post_title, "Harbour master", "Gulls", "roof", since=mark)
        # n: the next post of the list, the sample site's newest.
        mark = term.send(b"n")
        term.wait_for(f"2/{total}", demo_posts[0].title, since=mark)
        # p: back to the first.
        mark = term.send(b"p")
        term.wait_for(f"1/{total}", post_title, since=mark)
        # q: back to the lists (the footer shows the list keys again).
        mark = term.send(b"q")
        term.wait_for("Refresh all", since=mark)
        # q moves from the article list to the feed list (the footer loses "⏎ Open"; a key
        # typed before that lands would still see the article list focused) ...
        mark = term.send(b"q")
        term.wait_for_footer(lambda footer: "Open" not in footer, since=mark)
        # ... and q there quits, with status 0.
        term.send(b"q")
        assert term.wait_exit() == 0
    finally:
        term.close()

    raw = bytes(term.output)
    shown = screen_text(raw)
    assert feed_title in shown and post_title in shown
    for payload in NEVER:
        assert payload not in raw, f"{payload!r} reached the terminal"
    # The feed's clear-screen must not get through either; termnews' own screen handling
    # never asks the terminal to clear (Textual repaints cell by cell), nor sets its title.
    assert CLEAR.encode() not in raw
    assert not re.search(rb"\x1b\](?:0|1|2|8);[^\x07\x1b]*evil", raw)
    # No operating system command (title, clipboard, hyperlink) and no bell, except
    # Textual's own mouse pointer shape (OSC 22) and termnews' own OSC 8 links (printable
    # http(s)/mailto addresses the parser cleaned; none of them evil, checked above).
    rest = re.sub(rb"\x1b\]22;[a-z-]*\x07", b"", raw)
    rest = re.sub(rb"\x1b\]8;(?:id=[!-~]+;(?:https?:|mailto:)[!-~]+|;)\x1b\\", b"", rest)
    assert b"\x1b]" not in rest and b"\x07" not in rest


def test_welcome_screen_opens_the_sample_site_without_touching_the_users_data(
    tmp_path: Path,
) -> None:
    """The welcome screen's sample site runs as `termnews demo` does, in a throwaway data
    dir: the user's own (empty) data dir is not subscribed to a port that dies on exit."""
    from tests.support.terminal import Terminal as Screen

    mine = tmp_path / "mine"
    term = Screen(["--data-dir", str(mine)], env=termnews_env(tmp_path))
    try:
        shown = term.wait_for("Open the sample site", WAIT)
        assert "You have no feeds yet" in shown
        term.press("tab", "tab", "tab", "tab")  # address, file, Add, Import, sample site
        term.press("enter")
        term.wait_for("Saltmarsh Quay Gazette", WAIT)
        term.press("q")
        assert term.wait_exit() == 0
    finally:
        term.close()
    assert Store(database_path(mine)).feeds() == []


def test_a_click_on_hostile_markup_runs_nothing_in_a_restricted_session(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The attack from the outside test, in a real terminal: a feed titled with
    `[@click=app.screenshot(...)]` markup, a search for it, and mouse clicks on every place
    it is drawn, in a restricted session (`--as`). Nothing may be written, nothing crash."""
    from tests.support.terminal import Terminal as Screen

    target = tmp_path / "target"
    target.mkdir()
    click = f"[@click=app.screenshot('members','{target}')]CLICK[/]"
    title = f"Harbour {click} notes [/]"
    feed_server.add_feed(
        "/hostile.xml",
        make_rss(title, [{"title": title, "author": title, "guid": "h", "pub_date": 1}]),
    )
    home, data = tmp_path / "home", tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text("[general]\nmouse = true\nrefresh_on_start = false\n", encoding="utf-8")
    env = termnews_env(home)
    assert (
        termnews(
            env,
            "--data-dir",
            str(data),
            "add",
            "--no-discover",
            feed_server.url_for("/hostile.xml"),
        ).returncode
        == 0
    )
    assert termnews(env, "--data-dir", str(data), "refresh").returncode == 0
    term = Screen(
        ["--data-dir", str(data), "--config", str(config), "--as", "ada"],
        env={**env, "TERMNEWS_SERVED": "1"},
        cwd=tmp_path,
    )

    def click_everywhere() -> int:
        found = 0
        for y, line in enumerate(term.screen().splitlines()):
            for word in ("CLICK", "@click"):
                x = line.find(word)
                while x >= 0:
                    found += 1
                    # SGR mouse press and release, 1-based cells
                    term.type(f"\x1b[<0;{x + 2};{y + 1}M\x1b[<0;{x + 2};{y + 1}m")
                    term.pump(0.2)
                    x = line.find(word, x + 1)
        return found

    try:
        term.wait_for("Harbour", WAIT)
        assert click_everywhere() >= 2  # the feed list and the article list
        term.press("/")
        term.wait_for("Search titles and text", WAIT)
        term.type("harbour")
        term.press("enter")
        term.wait_for("Search: harbour", WAIT)
        click_everywhere()
        term.press("\x10")  # ctrl+p: the palette's hits for the feed and the post
        term.type("Harbour")
        time.sleep(1.0)
        term.pump(0.5)
        assert "Harbour" in term.screen()
        click_everywhere()
        term.press("escape")
        term.pump(0.5)
        assert term.child.isalive(), term.screen()
        assert "internal error" not in term.screen()
        term.press("\x11")  # ctrl+q
        assert term.wait_exit() == 0
    finally:
        term.close()
    assert list(target.iterdir()) == []
    assert not (tmp_path / "members").exists() and not (data / "members").exists()
