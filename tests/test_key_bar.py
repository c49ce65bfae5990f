"""The key bar: the screen's shown keys on one line, redrawn when they change, clickable."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from termnews.widgets.key_bar import KeyBar


class BarApp(App[None]):
    BINDINGS = [
        Binding("x", "press('x')", "Ex", id="x"),
        Binding("y", "press('y')", "Why", show=False, id="y"),
        Binding("z,Z", "press('z')", "Zed", id="z"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pressed: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyBar()

    def action_press(self, what: str) -> None:
        self.pressed.append(what)


async def test_shows_the_shown_keys_and_a_click_presses_one() -> None:
    app = BarApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        line = str(bar.render())
        assert " x Ex " in line and " z Zed " in line and "Why" not in line
        assert line.rstrip().endswith("^p palette") and len(line) == 80
        start = line.index(" z Zed ")
        await pilot.click(KeyBar, offset=(start + 2, 0))
        assert app.pressed == ["z"]
        await pilot.click(KeyBar, offset=(line.index(" x Ex ") + 1, 0))
        assert app.pressed == ["z", "x"]
        await pilot.click(KeyBar, offset=(start - 1 + len(" z Zed ") + 5, 0))  # blank: nothing
        assert app.pressed == ["z", "x"]


async def test_a_narrow_bar_drops_whole_keys_and_keeps_the_palette() -> None:
    app = BarApp()
    async with app.run_test(size=(24, 10)) as pilot:
        await pilot.pause()
        line = str(app.query_one(KeyBar).render())
        assert len(line) <= 24 and line.rstrip().endswith("^p palette")
        assert " x Ex " in line and "Zed" not in line  # not half a key


class SwitchApp(BarApp):
    """`x` can be turned off: its key then shows dim (check_action)."""

    x_enabled = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "press" and parameters == ("x",):
            return self.x_enabled or None  # None: shown, disabled
        return True


async def test_the_bar_is_drawn_again_only_when_what_it_shows_changes() -> None:
    app = SwitchApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        renders = []
        real = bar.render

        def counting() -> object:
            renders.append(1)
            return real()

        bar.render = counting  # type: ignore[method-assign]
        app.screen.bindings_updated_signal.publish(app.screen)  # as on a focus change
        app.refresh_bindings()
        await pilot.pause()
        assert renders == []  # the same keys: nothing drawn again
        app.x_enabled = False
        app.refresh_bindings()
        await pilot.pause()
        assert renders  # x is now disabled: drawn again
        line = real()
        start = str(line).index(" x Ex ")
        assert any(
            span.start <= start < span.end and "dim" in str(span.style) for span in line.spans
        )
