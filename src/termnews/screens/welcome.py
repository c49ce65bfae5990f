"""First run: no feeds yet. Offer a feed URL, an import, or the sample site."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from termnews.feeds.opml import ImportError_
from termnews.screens.base import TermNewsAccess
from termnews.service import ServiceError
from termnews.widgets.inert import inert
from termnews.widgets.key_bar import KeyBar

WELCOME = """Welcome to termnews.

You have no feeds yet. Type a feed or site address below and press Enter,
import an OPML or newsboat urls file, or open the bundled sample site
(a small blog served on this machine, in a throwaway data dir: no network
needed, and nothing is added to your own feeds)."""

WELCOME_NO_SAMPLE = """Welcome to termnews.

You have no feeds yet. Type a feed or site address below and press Enter,
or import an OPML or newsboat urls file. `termnews demo` tries termnews on a
bundled sample site (no network needed)."""


HOSTED = """Welcome to termnews.

This host has no feeds yet. Its operator adds them with `termnews add URL`;
come back once there is something to read."""


class WelcomeScreen(TermNewsAccess, Screen[None]):
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", id="quit"),  # Escape never quits
    ]

    def compose(self) -> ComposeResult:
        restricted = self.tn_app.service.restricted
        with Vertical(classes="dialog wide", id="welcome"):
            if restricted:
                yield Static(Text(HOSTED))
                with Horizontal(classes="buttons"):
                    yield Button("Quit", id="quit")
                return
            yield Static(Text(WELCOME if self.tn_app.offer_sample_site else WELCOME_NO_SAMPLE))
            yield Input(placeholder="https://example.org/feed/", id="url")
            if not restricted:
                yield Input(placeholder="path to subscriptions.opml or newsboat urls", id="file")
            with Horizontal(classes="buttons"):
                yield Button("Add feed", variant="primary", id="add")
                if not restricted:
                    yield Button("Import file", id="import")
                    if self.tn_app.offer_sample_site:
                        yield Button("Open the sample site", id="demo")
                yield Button("Quit", id="quit")
            yield Static("", id="welcome-status")
        yield KeyBar()

    def say(self, message: str) -> None:
        self.query_one("#welcome-status", Static).update(inert(message, style="bold"))

    @on(Input.Submitted, "#url")
    @on(Button.Pressed, "#add")
    def add(self) -> None:
        url = self.query_one("#url", Input).value.strip()
        if url:
            self.add_feed(url)
        else:
            self.say("Type a feed or site address first.")

    @on(Input.Submitted, "#file")
    @on(Button.Pressed, "#import")
    def import_file(self) -> None:
        from pathlib import Path

        name = self.query_one("#file", Input).value.strip()
        if not name:
            self.say("Type the path of an OPML or newsboat urls file first.")
            return
        try:
            text = Path(name).expanduser().read_text(encoding="utf-8-sig")
            subs = self.tn_app.service.import_subscriptions(text, name)
        except (OSError, UnicodeDecodeError, ImportError_) as exc:
            self.say(f"Could not import: {exc}")
            return
        if not subs:
            self.say("That file lists no feeds.")
            return
        self.tn_app.show_feeds(refresh=True)

    @on(Button.Pressed, "#demo")
    def demo(self) -> None:
        # The sample site opens in a throwaway data dir, never in the user's own.
        self.tn_app.open_sample_site()

    @on(Button.Pressed, "#quit")
    def quit(self) -> None:
        self.app.exit(0)

    @work(exclusive=True, exit_on_error=False)
    async def add_feed(self, url: str) -> None:
        self.say(f"Looking for a feed at {url} …")
        try:
            await self.tn_app.service.add_feed(url)
        except ServiceError as exc:
            self.say(f"Could not add it: {exc}")
            return
        self.tn_app.show_feeds(refresh=True)
