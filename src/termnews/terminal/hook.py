"""Where the layer meets Textual: an App subclass whose frames go out as differences.

`App._display` (private; tested on Textual 8.2) gets each compositor update. Here full and
partial updates are drawn onto the model and only the difference reaches the driver, in
one write per frame inside Textual's synchronized-output markers. Everything else (inline
mode, other renderables, a Textual without the parts this needs) takes Textual's own path,
and the shadow is forgotten whenever something else may have drawn on the terminal.

While the terminal takes no output (a write still queued for the driver's writer thread,
or the PTY full, as when the SSH host waits for a slow link), frames are only drawn onto
the model; once the writer is free, one difference to the latest screen goes out, never
a backlog of stale frames.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import select
import termios
from dataclasses import replace
from typing import Any, TypeVar

from rich.color import ColorSystem
from rich.console import COLOR_SYSTEMS, RenderableType
from textual.app import App
from textual.driver import Driver
from textual.screen import Screen as TextualScreen
from textual.theme import Theme

from termnews.terminal.cells import PenTable
from termnews.terminal.diff import Capabilities, Screen
from termnews.terminal.stylesheets import share_parsed_rules

try:
    from termnews.terminal.updates import can_draw, draw_update
except ImportError:  # a Textual whose compositor moved: its own output only
    can_draw = None  # type: ignore[assignment]  # checked before every use

ReturnType = TypeVar("ReturnType")

SYNC_START = "\x1b[?2026h"
SYNC_END = "\x1b[?2026l"
# Written outside a frame, these leave every cell as it was: OSC strings (clipboard, pointer
# shape), Kitty graphics commands (images sent for placeholder cells, or freed), private
# modes (mouse, cursor, paste; not the alternate screen), mode queries, keyboard protocol
# and cursor shape requests, the bell.
HARMLESS = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b_G[^\x1b]*\x1b\\"
    r"|\x1b\[\?[0-9;]*[hl]"
    r"|\x1b\[[<>=?][0-9;]*[a-zA-Z]"
    r"|\x1b\[[0-9;?]*\$p"
    r"|\x1b\[[0-9]* q"
    r"|\x07"
)
WRITER_POLL_SECONDS = 0.01  # how often a held frame looks whether the writer is free
FREEZE_AFTER_SECONDS = 1.0  # after the first frame: when the start-up heap is frozen
NEW_SCREEN = re.compile(r"\x1b\[\?(?:[0-9;]*;)?(?:1049|1047|47)[;hl]")


def changes_cells(data: str) -> bool:
    """Whether text written to the terminal may have changed what it shows."""
    return bool(NEW_SCREEN.search(data)) or bool(HARMLESS.sub("", data))


class DiffOutputApp(App[ReturnType]):
    """An App that sends the terminal only what changed (set `diff_output` False to not)."""

    diff_output: bool = True
    # Class defaults: App.__init__ itself may refresh before this class's own __init__ runs.
    output_screen: Screen | None = None
    _pens: PenTable | None = None
    _shown_screen: TextualScreen[Any] | None = None
    _watched: Driver | None = None
    _driver_write: Any = None
    _held: asyncio.TimerHandle | None = None  # a frame waits for the writer
    _heap_frozen = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._capabilities = Capabilities.for_term(os.environ.get("TERM", ""))
        share_parsed_rules(self.stylesheet)

    def get_driver_class(self) -> type[Driver]:
        """Textual's Linux driver with an input thread that wakes only for input (unless
        TEXTUAL_DRIVER names another)."""
        driver_class = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver_class is LinuxDriver:
            from termnews.terminal.driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver_class

    def get_theme(self, theme_name: str) -> Theme | None:
        """Textual's own copies the table of themes twice per call, and every line drawn
        asks for the current theme (its ANSI colours): look the name up in place."""
        registered: dict[str, Theme] | None = getattr(self, "_registered_themes", None)
        if not isinstance(registered, dict):
            return super().get_theme(theme_name)
        for name in theme_name.split(","):
            theme = registered.get(name.strip())
            if theme is not None:
                return theme
        return None

    def invalidate_output(self) -> None:
        """Repaint every cell at the next frame (something else drew on the terminal)."""
        if self.output_screen is not None:
            self.output_screen.invalidate()

    def refresh(
        self, *, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Any:
        if repaint:
            self.invalidate_output()  # a full refresh is asked for: repaint, do not diff
        return super().refresh(repaint=repaint, layout=layout, recompose=recompose)

    def _display(self, screen: TextualScreen[Any], renderable: RenderableType | None) -> None:
        driver = self._driver
        if not self._layer_applies(renderable) or driver is None:
            if renderable is not None:
                self.invalidate_output()
            super()._display(screen, renderable)
            return
        try:
            self._send_frame(driver, screen, renderable)
        finally:
            self.post_display_hook()

    def _layer_applies(self, renderable: RenderableType | None) -> bool:
        driver = self._driver
        return (
            self.diff_output
            and can_draw is not None
            and can_draw(renderable)
            and not getattr(self, "_batch_count", 1)
            and getattr(self, "_running", False)
            and not getattr(self, "_closed", True)
            and not self.is_headless
            and driver is not None
            and not driver.is_inline
        )

    def _send_frame(self, driver: Driver, screen: TextualScreen[Any], update: Any) -> None:
        self._watch(driver)
        console = self.console
        color_system = COLOR_SYSTEMS.get(console.color_system or "", ColorSystem.TRUECOLOR)
        if self._pens is None or self._pens.color_system != color_system:
            self._pens = PenTable(color_system)
            self.output_screen = None
        width, height = self.size
        output = self.output_screen
        if output is None:
            capabilities = replace(self._capabilities, onlcr=translates_newlines(driver))
            output = self.output_screen = Screen(width, height, capabilities)
        output.resize(width, height)
        if screen is not self._shown_screen:
            self._shown_screen = screen
            output.invalidate()  # a screen switch repaints everything: a fresh start
        try:
            draw_update(output, update, self._pens)
        except Exception as error:
            output.invalidate()
            self._handle_exception(error)
            return
        if self._held is None:
            if writer_ready(driver):
                self._write_frame(driver, output)
            else:
                self._hold_frame()

    def _write_frame(self, driver: Driver, output: Screen) -> None:
        try:
            cursor = self.screen.outer_size.clamp_offset(self.cursor_position)
            text = output.frame((cursor.x, cursor.y))
        except Exception as error:
            output.invalidate()
            self._handle_exception(error)
            return
        if not text:
            return
        if getattr(self, "_sync_available", False):
            text = SYNC_START + text + SYNC_END
        self._driver_write(text)
        driver.flush()
        if not self._heap_frozen:
            self._heap_frozen = True
            self.set_timer(FREEZE_AFTER_SECONDS, freeze_start_up_heap)

    def _hold_frame(self) -> None:
        self._held = asyncio.get_running_loop().call_later(
            WRITER_POLL_SECONDS, self._send_held_frame
        )

    def _send_held_frame(self) -> None:
        """The model has every update since the last frame: send it once the writer is
        free (the app may have stopped, or left the terminal, meanwhile)."""
        self._held = None
        driver, output = self._driver, self.output_screen
        if driver is None or output is None or driver is not self._watched:
            return
        if not getattr(self, "_running", False) or getattr(self, "_closed", True):
            return
        thread = getattr(driver, "_writer_thread", None)
        if thread is not None and not thread.is_alive():
            output.invalidate()  # the terminal was handed over: repaint when back
        elif writer_ready(driver):
            self._write_frame(driver, output)
        else:
            self._hold_frame()

    def _watch(self, driver: Driver) -> None:
        """Route the driver's other writes through a check that forgets the shadow when
        they may have drawn (a resumed alternate screen, text from elsewhere)."""
        if driver is self._watched:
            return
        self._watched = driver
        write = self._driver_write = driver.write

        def watched_write(data: str) -> None:
            if changes_cells(data):
                self.invalidate_output()
            write(data)

        # The driver offers no hook for this; an instance attribute shadows its method.
        driver.write = watched_write  # type: ignore[method-assign]


def freeze_start_up_heap() -> None:
    """Move what is alive a moment after the first frame (the imports, the app, its first
    screen: most of the heap) to the collector's permanent generation. A full collection,
    which the hundreds of thousands of objects of a long post set off, then walks only what
    came after, instead of stalling a key for the whole heap. Frozen objects are still
    freed when nothing refers to them; only cycles among them are kept. Run once, and only
    in a real terminal (a test process that runs many apps would keep their cycles)."""
    gc.freeze()


def translates_newlines(driver: Driver) -> bool:
    """Whether the terminal's tty turns LF into CR LF (OPOST and ONLCR set); asked when the
    first frame is drawn, once the driver has set the terminal up. Textual's drivers write
    to `_file` (private: without it, the safe answer)."""
    try:
        oflag = termios.tcgetattr(driver._file.fileno())[1]  # type: ignore[attr-defined]
    except (AttributeError, termios.error, OSError, ValueError):
        return False
    return bool(oflag & termios.OPOST and oflag & termios.ONLCR)


def writer_ready(driver: Driver) -> bool:
    """Whether the terminal takes output now: nothing queued for the driver's writer
    thread (Textual's private `_writer_thread`; without one, always) and room in the PTY
    (a writer blocked on a full PTY has taken its write off the queue)."""
    thread = getattr(driver, "_writer_thread", None)
    queue = getattr(thread, "_queue", None)
    if thread is None or queue is None:
        return True
    if queue.qsize():
        return False
    try:
        poll = select.poll()
        poll.register(thread.fileno(), select.POLLOUT)
        return bool(poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return True


def terminal_theme(app: App[Any], theme: str, *, ansi: bool) -> str:
    """The theme to use: with the terminal's own colours, an ANSI theme (the one asked for
    if it is one, else "ansi-dark"), whose background is the terminal's."""
    if not ansi:
        return theme
    chosen = app.available_themes.get(theme)
    return theme if chosen is not None and chosen.ansi else "ansi-dark"
