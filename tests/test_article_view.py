"""The reader's body view: a new post's first frame already has the right scroll bar."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from termnews.widgets.article_view import ArticleView


class ViewApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ArticleView(id="view")


async def test_the_scroll_bar_is_decided_when_a_post_is_shown() -> None:
    app = ViewApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(ArticleView)
        view.show([Text(f"line {n}") for n in range(3)])
        await pilot.pause()
        assert not view.show_vertical_scrollbar
        # Decided at once, not after the next layout: otherwise the first frame of the new
        # post shows the old one's scroll bar and a second frame redraws the column.
        view.show([Text(f"line {n}") for n in range(200)])
        assert view.show_vertical_scrollbar
        await pilot.pause()
        assert view.show_vertical_scrollbar
        view.show([Text("short")])
        assert not view.show_vertical_scrollbar
        await pilot.pause()
        assert not view.show_vertical_scrollbar
        assert view.scroll_y == 0
