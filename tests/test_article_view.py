"""The reader's body view: a new post's first frame already has the right scroll bar, and its
lines are drawn as Textual would draw them."""

from __future__ import annotations

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.scroll_view import ScrollView
from textual.strip import Strip

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


async def test_one_long_post_after_another_is_one_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between two posts that both scroll, the new text and the scroll bar's new thumb go
    out in one frame (Textual refreshed the bar again after every layout: a second frame
    per key)."""
    from textual.screen import Screen

    frames: list[set[str]] = []
    compositor_refresh = Screen._compositor_refresh

    def counting(screen: Screen[object]) -> None:
        dirty = {type(widget).__name__ for widget in screen._dirty_widgets}
        if dirty or screen._compositor._dirty_regions:
            frames.append(dirty)
        compositor_refresh(screen)

    monkeypatch.setattr(Screen, "_compositor_refresh", counting)
    app = ViewApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(ArticleView)
        view.show([Text(f"first post, line {n}") for n in range(200)])
        await pilot.pause(0.2)
        bar = view.vertical_scrollbar
        assert bar.window_virtual_size == 200
        frames.clear()
        view.show([Text(f"second post, line {n}") for n in range(90)])
        await pilot.pause(0.2)
        assert len(frames) == 1, frames
        assert bar.window_virtual_size == 90 and bar.window_size == view.container_size.height
        view.scroll_to(y=30, animate=False, immediate=True)  # the thumb follows a scroll
        await pilot.pause(0.2)
        assert bar.position == 30


async def test_a_post_opens_rendered_once_at_its_width(tmp_path, feed_server) -> None:  # type: ignore[no-untyped-def]
    """The reader renders a post once, at the width it is shown at: not first at 20 columns
    (before layout) and again when the view learns its size."""
    from termnews.app import TermNewsApp
    from termnews.screens.reader import ReaderScreen
    from tests.support.feedserver import make_rss
    from tests.support.news import subscribed_in_loop

    body = "<p>" + "word " * 400 + "</p>"
    items = [{"title": "Long", "link": "http://example.org/1", "guid": "1", "content": body}]
    feed_server.add_feed("/f.xml", make_rss("F", items))
    service = await subscribed_in_loop(tmp_path, feed_server.url_for("/f.xml"))
    try:
        widths: list[int] = []
        render = service.render

        def counting_render(article, width, **options):  # type: ignore[no-untyped-def]
            widths.append(width)
            return render(article, width, **options)

        service.render = counting_render  # type: ignore[method-assign]  # counts, still renders
        app = TermNewsApp(service)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("tab", "enter")
            await pilot.pause(0.3)
            assert isinstance(app.screen, ReaderScreen)
            assert widths == [100]  # reader_width, once
    finally:
        service.close()


async def test_the_post_the_next_step_shows_is_rendered_ahead(tmp_path, feed_server) -> None:  # type: ignore[no-untyped-def]
    from termnews.app import TermNewsApp
    from termnews.screens.reader import READ_AHEAD_DELAY, ReaderScreen
    from tests.support.feedserver import make_rss
    from tests.support.news import subscribed_in_loop

    items = [
        {"title": f"P{i}", "link": f"http://example.org/{i}", "guid": str(i), "content": "<p>x</p>"}
        for i in range(4)
    ]
    feed_server.add_feed("/f.xml", make_rss("F", items))
    service = await subscribed_in_loop(tmp_path, feed_server.url_for("/f.xml"))
    try:
        app = TermNewsApp(service)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("tab", "enter")
            await pilot.pause(READ_AHEAD_DELAY + 0.4)
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            following = reader.ids[reader.index + 1]
            cached = {key[0] for key in service._renders.kept()}
            assert following in cached  # rendered before the key that shows it
            await pilot.press("n")
            await pilot.pause()
            assert reader.article is not None and reader.article.id == following
            await pilot.press("n", "p")  # going back: the one before is read ahead
            service._renders.forget()
            await pilot.pause(READ_AHEAD_DELAY + 0.4)
            assert {key[0] for key in service._renders.kept()} == {reader.ids[reader.index - 1]}
    finally:
        service.close()


async def test_short_and_long_posts_wrap_to_one_width(tmp_path, feed_server) -> None:  # type: ignore[no-untyped-def]
    """The scroll bar's column is kept when a post needs none: a post rendered ahead is
    rendered at the width it is shown at, and no line runs under a scroll bar."""
    from termnews.app import TermNewsApp
    from termnews.screens.reader import READ_AHEAD_DELAY, ReaderScreen
    from tests.support.feedserver import make_rss
    from tests.support.news import subscribed_in_loop

    long = "<p>" + "A long line of harbour talk, " * 40 + "</p>"
    items = [
        {"title": f"P{i}", "link": f"http://example.org/{i}", "guid": str(i), "pub_date": 9 - i,
         "content": "<p>short</p>" if i % 2 else long * 30}
        for i in range(3)
    ]  # fmt: skip
    feed_server.add_feed("/f.xml", make_rss("F", items))
    service = await subscribed_in_loop(tmp_path, feed_server.url_for("/f.xml"))
    try:
        app = TermNewsApp(service)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("tab", "enter")  # a long post
            await pilot.pause(READ_AHEAD_DELAY + 0.4)
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            widths = {reader.view.text_width}
            assert reader.view.max_scroll_y > 0  # it scrolls
            for _ in range(2):
                await pilot.press("n")
                await pilot.pause(READ_AHEAD_DELAY + 0.4)
                widths.add(reader.view.text_width)
            assert widths == {100 - 2 - 1}  # the padding and the scroll bar's column
            assert {key[1] for key in service._renders.kept()} == widths
    finally:
        service.close()


def textual_lines(view: ArticleView, crop: Region) -> list[Strip]:
    """The lines as Textual's own styles cache draws them (the path the view skips)."""
    view._styles_cache.clear()
    view._pass = (view.rich_style, view.scrollable_content_region.width)
    try:
        return ScrollView.render_lines(view, crop)
    finally:
        view._pass = None


def cells(strips: list[Strip]) -> list[list[tuple[str, object]]]:
    return [[(text, style) for text, style, _ in strip] for strip in strips]


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark", "textual-light"])
async def test_the_view_draws_its_lines_as_textual_would(theme: str) -> None:
    """The view frames its lines itself (padding, background, the app's filters): cell for
    cell what Textual's styles cache would draw, wherever the view is scrolled or cropped,
    and again after a scroll reuses framed lines."""
    words = "tide [bold]gull[/] [@click=app.quit]ledger[/] 世界 café " * 9
    lines = [Text.from_markup(f"{n}: {words}"[: 40 + n]) for n in range(80)]
    lines[5] = Text("linked", style=Style(link="http://example.org/x", color="red"))
    lines[6] = Text("ansi colour", style="bright_magenta on blue")
    app = ViewApp()
    async with app.run_test(size=(60, 14)) as pilot:
        app.theme = theme
        view = app.query_one(ArticleView)
        view.show(lines)
        await pilot.pause()
        width, height = view.region.width, view.region.height
        for scroll in (0, 3, 3, 40, 0):
            view.scroll_to(y=scroll, animate=False, immediate=True)
            await pilot.pause()
            for crop in (Region(0, 0, width, height), Region(2, 1, width - 5, height - 3)):
                mine = view.render_lines(crop)
                assert view._framed  # the view's own path drew them
                if crop.x == 0:  # the text is there, after the padding column
                    shown = "".join(text for text, _ in cells(mine)[0])
                    assert shown.startswith(f" {scroll + crop.y}: tide"), shown
                assert cells(mine) == cells(textual_lines(view, crop)), (theme, scroll, crop)


async def test_a_styled_view_falls_back_to_textual() -> None:
    """A border (or tint, opacity...) is Textual's to draw: the view hands over."""
    app = ViewApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(ArticleView)
        view.show([Text(f"line {n}") for n in range(30)])
        await pilot.pause()
        view.render_lines(Region(0, 0, view.region.width, 3))
        assert view._framed
        view.styles.border = ("round", "red")
        await pilot.pause()
        crop = Region(0, 0, view.region.width, view.region.height)
        assert cells(view.render_lines(crop)) == cells(textual_lines(view, crop))
        assert not view._framed
        assert "╭" in "".join(text for text, _ in cells(view.render_lines(crop))[0])


async def test_the_header_lays_the_screen_out_only_when_its_height_changes(  # type: ignore[no-untyped-def]
    tmp_path, feed_server
) -> None:
    """Posts whose headers take one, one, three and one lines at 60 columns: each header is
    shown whole, the post starts right under it, and only the steps that change its height
    lay the screen out again."""
    from termnews.app import TermNewsApp
    from termnews.screens.reader import ReaderScreen
    from termnews.widgets.article_header import ArticleHeader
    from tests.support.feedserver import make_rss
    from tests.support.news import subscribed_in_loop

    titles = ["Short one", "Short two", "A title long enough to wrap " * 3, "Short four"]
    items = [
        {"title": title, "link": f"http://e.org/{i}", "guid": str(i), "pub_date": 9 - i,
         "content": f"<p>Body {i}</p>"}
        for i, title in enumerate(titles)
    ]  # fmt: skip
    feed_server.add_feed("/f.xml", make_rss("F", items))
    service = await subscribed_in_loop(tmp_path, feed_server.url_for("/f.xml"))
    try:
        app = TermNewsApp(service)
        async with app.run_test(size=(60, 24)) as pilot:
            await pilot.press("tab", "enter")
            await pilot.pause()
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            layouts = []
            real = reader._refresh_layout

            def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
                layouts.append(reader.index)
                return real(*args, **kwargs)

            reader._refresh_layout = counting  # type: ignore[method-assign]
            heights = []
            for step in range(len(titles)):
                if step:
                    await pilot.press("n")
                    await pilot.pause()
                header = reader.query_one(ArticleHeader)
                width = header.content_region.width
                wanted = header.get_content_height(header.size, header.size, width)
                assert header.content_region.height == wanted  # the whole header shows
                assert reader.view.region.y >= header.region.bottom  # the post right under it
                assert f"Body {step}" in "\n".join(
                    reader.view.render_line(y).text for y in range(3)
                )
                heights.append(wanted)
            assert heights[0] == heights[1] == heights[3] < heights[2]
            assert set(layouts) == {2, 3}  # onto the long header, and off it
    finally:
        service.close()
