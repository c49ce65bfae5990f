"""The key bar at the bottom of every screen: the screen's shown bindings on one line.

Textual's `Footer` makes a widget per key (and recomposes them when the bindings change):
half the CPU of a session's first screen went there. This draws the same line as one
`Text`, redrawn (not recomposed) when the bindings change; a click on a key presses it.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KeyBar"]


class KeyBar(Widget):
    """One line: ` key description ` for each shown binding; the palette key at the right."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-bar--disabled {
            text-style: dim;
        }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._spans: list[tuple[int, int, Binding, bool]] = []  # start, end, binding, enabled
        self._drawn: object = None  # what the line was drawn from (`_keys`)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # Textual signals on every focus change, several times as a screen opens: the line
        # is drawn again (a frame, and its bytes) only when what it shows changed.
        if self.is_attached and screen is self.screen and _keys(*self._shown()) != self._drawn:
            self.refresh()

    def _shown(self) -> tuple[list[tuple[Binding, bool]], tuple[Binding, bool] | None]:
        """The shown bindings, one per action in the screen's order, and the palette's."""
        active = self.screen.active_bindings
        seen: set[str] = set()
        shown: list[tuple[Binding, bool]] = []
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                shown.append((binding, enabled))
        palette = None
        if self.app.ENABLE_COMMAND_PALETTE:
            entry = active.get(self.app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                palette = (entry[1], entry[2])
        return shown, palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        disabled_style = self.get_component_rich_style("key-bar--disabled")
        shown, palette = self._shown()
        self._drawn = _keys(shown, palette)
        width = self.size.width
        tail = Text()
        if palette is not None:
            binding, enabled = palette
            tail.append("▏", description_style)
            tail.append(self.app.get_key_display(binding), key_style)
            tail.append(f" {binding.description} ", description_style)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        room = width - tail.cell_len if width else 0
        for binding, enabled in shown:
            item = Text()
            item.append(f" {self.app.get_key_display(binding)}", key_style)
            item.append(f" {binding.description} ", description_style)
            if not enabled:
                item.stylize(disabled_style)
            if room and line.cell_len + item.cell_len > room:
                break
            start = line.cell_len
            line.append_text(item)
            self._spans.append((start, line.cell_len, binding, enabled))
        if palette is not None and width:
            line.append(" " * max(0, width - line.cell_len - tail.cell_len))
            start = line.cell_len
            line.append_text(tail)
            self._spans.append((start, line.cell_len, palette[0], palette[1]))
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, binding, enabled in self._spans:
            if start <= event.x < end:
                event.stop()
                if enabled:
                    self.app.simulate_key(binding.key.split(",")[0])
                else:
                    self.app.bell()
                return


def _keys(shown: list[tuple[Binding, bool]], palette: tuple[Binding, bool] | None) -> object:
    """What the line shows of the bindings: compared to know whether to draw it again."""
    entries = [*shown, *([palette] if palette is not None else [])]
    return tuple((b.key, b.action, b.description, enabled) for b, enabled in entries)
