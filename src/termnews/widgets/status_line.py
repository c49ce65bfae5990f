"""The line under the lists: what is happening and what went wrong."""

from __future__ import annotations

from textual.widgets import Static

from termnews.widgets.inert import inert


class StatusLine(Static):
    """One line of status; the app finds it by type (there is one per list screen)."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.message = ""

    def say(self, message: str) -> None:
        self.message = message
        text = inert(message)
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.update(text)
