"""The reader's header: the post's title, where and when it is from, and its address."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static


class ArticleHeader(Static):
    """A few lines above the post. `show` lays the screen out again only when the new
    header takes another number of lines than the one shown: stepping from post to post
    is then a repaint, without a layout pass of the whole screen."""

    DEFAULT_CSS = """
    ArticleHeader { background: $panel; padding: 0 1; height: auto; max-height: 6; }
    """

    _measured: tuple[int, int] | None = None  # (width, content height) of what is shown

    def show(self, header: Text) -> None:
        width = self.content_region.width
        self.update(header, layout=False)
        self.clear_cached_dimensions()  # the next layout measures the new text
        if width <= 0:  # not laid out yet
            self._measured = None
            self.refresh(layout=True)
            return
        measured = self._measure(width)
        if measured != self._measured:
            self.refresh(layout=True)
        self._measured = measured

    def _measure(self, width: int) -> tuple[int, int]:
        return width, self.get_content_height(self.size, self.size, width)

    def on_resize(self, event: events.Resize) -> None:
        self._measured = self._measure(self.content_region.width)  # what the layout made
