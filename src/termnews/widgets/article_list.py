"""A virtual article list: rows are drawn from SQLite pages on demand.

The list holds only the ordered ids of its articles (8 bytes a row); the rows on
screen are fetched a page at a time and cached, so 100k rows open and scroll as
fast as ten.
"""

from __future__ import annotations

import contextlib
import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from termnews.model import Article, ArticleQuery
from termnews.sanitize import clean_line
from termnews.service import NewsService

PAGE = 128
MAX_PAGES = 64


def format_date(when: float | None, now: float | None = None) -> str:
    if not when:
        return ""
    now = now or time.time()
    local = time.localtime(when)
    if abs(now - when) < 20 * 3600 and time.localtime(now).tm_yday == local.tm_yday:
        return time.strftime("%H:%M", local)
    if time.localtime(now).tm_year == local.tm_year:
        return time.strftime("%b %d", local)
    return time.strftime("%Y-%m-%d", local)


@dataclass(slots=True)
class Position:
    """Where the list was opened from, so the reader can step through it."""

    ids: array[int]
    index: int


class ArticleList(ScrollView, can_focus=True):
    """Rows of articles: unread/star marks, title, feed and date."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("g,home", "first", "Top", show=False, id="top"),
        Binding("G,end", "last", "Bottom", show=False, id="bottom"),
        Binding("space,pagedown", "page_down", "Page down", show=False, id="page_down"),
        Binding("b,pageup", "page_up", "Page up", show=False, id="page_up"),
        Binding("enter", "select", "Open", id="open"),
    ]

    COMPONENT_CLASSES = {
        "article-list--cursor",
        "article-list--unread",
        "article-list--read",
        "article-list--meta",
        "article-list--star",
        "article-list--empty",
    }

    DEFAULT_CSS = """
    ArticleList {
        background: $surface;
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    ArticleList > .article-list--cursor { background: $block-cursor-blurred-background; }
    ArticleList:focus > .article-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    ArticleList > .article-list--unread { text-style: bold; }
    ArticleList > .article-list--read { color: $text-muted; }
    ArticleList > .article-list--meta { color: $text-muted; }
    ArticleList > .article-list--star { color: $warning; }
    ArticleList > .article-list--empty { color: $text-muted; text-style: italic; }
    """

    # No repaint: watch_cursor redraws the two rows that change (or scrolls), not all rows.
    cursor: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)

    class Selected(Message):
        """Enter on a row."""

        def __init__(self, article_list: ArticleList, article_id: int, index: int) -> None:
            super().__init__()
            self.article_list = article_list
            self.article_id = article_id
            self.index = index

    class Highlighted(Message):
        def __init__(self, article_list: ArticleList, article_id: int | None) -> None:
            super().__init__()
            self.article_list = article_list
            self.article_id = article_id

    def __init__(
        self,
        service: NewsService,
        *,
        show_feed: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.service = service
        self.show_feed = show_feed
        self.query_spec = ArticleQuery()
        self.ids: array[int] = array("q")
        self._pages: OrderedDict[int, dict[int, Article]] = OrderedDict()
        self.empty_text = "No articles here."

    # -- data ---------------------------------------------------------------------

    def load(self, query: ArticleQuery, *, keep_position: bool = False) -> None:
        """Show a list; with keep_position the same article stays under the cursor."""
        self.show(query, self.service.article_ids(query), keep_position=keep_position)

    def show(self, query: ArticleQuery, ids: array[int], *, keep_position: bool = False) -> None:
        """Show the ids `query` found (a search runs in a worker, then shows its result)."""
        keep_id = self.current_id if keep_position and query == self.query_spec else None
        screen_row = self.cursor - int(self.scroll_y)
        self.query_spec = query
        self.ids = ids
        self._pages.clear()
        # No width: rows are cut to the width they are drawn at and the list never scrolls
        # sideways (a width here changed at the first layout and laid the screen out again).
        self.virtual_size = Size(0, len(self.ids))
        index = 0
        if keep_id is not None:
            try:
                index = self.ids.index(keep_id)
            except ValueError:
                index = min(self.cursor, max(0, len(self.ids) - 1))
            # Keep the row where it was on screen, so new articles above don't move it.
            self.scroll_to(y=max(0, index - screen_row), animate=False, immediate=True)
        else:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.set_reactive(ArticleList.cursor, index)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_id))

    def grow(self, ids: array[int]) -> bool:
        """The rest of the list, read after its first rows: `ids` begins with the ids shown
        now, which keep their rows, cursor and place (False, and nothing done, if not)."""
        shown = len(self.ids)
        if len(ids) < shown or ids[:shown] != self.ids:
            return False
        if shown % PAGE:
            self._pages.pop(shown // PAGE, None)  # read short: it has rows to add
        self.ids = ids
        self.virtual_size = Size(0, len(ids))
        self.refresh()
        return True

    def invalidate(self, article_id: int | None = None) -> None:
        """Drop cached rows (one article's page, or all) after its state changed."""
        if article_id is None:
            self._pages.clear()
        else:
            for page, rows in list(self._pages.items()):
                if article_id in rows:
                    del self._pages[page]
        self.refresh()

    def _row(self, index: int) -> Article | None:
        page = index // PAGE
        rows = self._pages.get(page)
        if rows is None:
            chunk = self.ids[page * PAGE : (page + 1) * PAGE]
            rows = self.service.articles(list(chunk))
            self._pages[page] = rows
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows.get(self.ids[index])

    @property
    def current_id(self) -> int | None:
        if 0 <= self.cursor < len(self.ids):
            return self.ids[self.cursor]
        return None

    @property
    def current(self) -> Article | None:
        if 0 <= self.cursor < len(self.ids):
            return self._row(self.cursor)
        return None

    @property
    def position(self) -> Position:
        return Position(self.ids, self.cursor)

    def go_to(self, index: int) -> None:
        if self.ids:
            self.cursor = max(0, min(index, len(self.ids) - 1))

    def go_to_id(self, article_id: int) -> None:
        with contextlib.suppress(ValueError):
            self.go_to(self.ids.index(article_id))

    # -- drawing ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        if not self.ids:
            if y == 0:
                style = self.get_component_rich_style("article-list--empty")
                return Strip([Segment(f" {self.empty_text}", style)]).crop_extend(0, width, None)
            return Strip.blank(width, self.rich_style)
        if index >= len(self.ids):
            return Strip.blank(width, self.rich_style)
        article = self._row(index)
        if article is None:  # deleted under us; the next reload drops it
            return Strip.blank(width, self.rich_style)
        strip = self._format(article, width)
        if index == self.cursor:
            # Over the row's own colours (post_style), or its background would hide it.
            cursor = self.get_component_rich_style("article-list--cursor")
            strip = Strip(Segment.apply_style(list(strip), None, cursor), strip.cell_length)
        return strip

    def _format(self, article: Article, width: int) -> Strip:
        base = self.rich_style
        meta = self.get_component_rich_style("article-list--meta", partial=True)
        title_style = self.get_component_rich_style(
            "article-list--read" if article.read else "article-list--unread", partial=True
        )
        star = self.get_component_rich_style("article-list--star", partial=True)
        date = format_date(article.published)
        date_width = 11  # " 2025-10-08": a gap after the feed name
        feed_width = 0
        if self.show_feed and width >= 70:
            feed_width = min(22, max(12, width // 6))
        count = article.total_comments  # the site's and the outside discussions', with the row
        count_width = COUNT_WIDTH if width >= 60 else 0
        title_width = max(
            1, width - 4 - feed_width - date_width - count_width - (1 if feed_width else 0)
        )
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(" ")
        text.append("●" if not article.read else " ", style=title_style)
        text.append("★" if article.starred else " ", style=star)
        text.append(" ")
        title = clean_line(article.title, 500) or "(untitled)"
        text.append_text(_fit(title, title_width, title_style))
        if feed_width:
            text.append(" ")
            text.append_text(_fit(clean_line(article.feed_title, 200), feed_width, meta))
        if count_width:
            shown = f"({count})" if count else ""
            text.append_text(_fit(shown.rjust(count_width), count_width, meta))
        text.append_text(_fit(date.rjust(date_width), date_width, meta))
        segments = list(text.render(self.app.console, end=""))
        return Strip(Segment.apply_style(segments, base)).crop_extend(0, width, base)

    # -- behaviour ------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old - int(self.scroll_y))
        self.refresh_line(new - int(self.scroll_y))
        height = self.scrollable_content_region.height
        if new < self.scroll_y:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif height and new >= self.scroll_y + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.post_message(self.Highlighted(self, self.current_id))

    def action_cursor_down(self) -> None:
        self.go_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.go_to(self.cursor - 1)

    def action_first(self) -> None:
        self.go_to(0)

    def action_last(self) -> None:
        self.go_to(len(self.ids) - 1)

    def action_page_down(self) -> None:
        self.go_to(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_page_up(self) -> None:
        self.go_to(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_select(self) -> None:
        article_id = self.current_id
        if article_id is not None:
            self.post_message(self.Selected(self, article_id, self.cursor))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self.ids):
            if index == self.cursor and event.chain >= 2:
                self.action_select()
            self.go_to(index)


COUNT_WIDTH = 7  # " (1234)": comments on the post, everywhere


def _fit(text: str, width: int, style: Style) -> Text:
    part = Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")
    part.truncate(width, overflow="ellipsis", pad=True)
    return part
