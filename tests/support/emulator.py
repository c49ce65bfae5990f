"""A pyte terminal that measures text as Rich does and keeps every SGR attribute.

pyte measures each codepoint with wcwidth and stops drawing at a zero-width joiner; a
modern terminal (and Textual's compositor) treats an emoji ZWJ sequence as one wide cell.
This screen draws grapheme by grapheme with Rich's widths, and records the attributes pyte
leaves out (dim, conceal, double underline, blink2, frame, encircle, overline) in `extra`.
pyte ignores REP (repeat the last character), which this screen draws, and OSC 8, which
`LinkStream` reads: each cell keeps the hyperlink it was drawn with in `link` ("id=...;url"
as the sequence carried it, "" for none).
It also records `widest`: the furthest column the output drew or erased to, or moved past
the right edge to, so a test can tell output drawn for a wider terminal. Every support
module reads terminal output through `emulator()` (or `feed()`), never a parser of its own.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import pyte
from pyte import modes
from rich.cells import split_graphemes

# SGR parameter -> bit set in `extra`; clearing parameter -> bits cleared.
EXTRA_ON = {2: 1, 6: 2, 8: 4, 21: 8, 51: 16, 52: 32, 53: 64}
EXTRA_OFF = {22: 1, 25: 2, 28: 4, 24: 8, 54: 16 | 32, 55: 64}


class Cell(NamedTuple):
    data: str
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    extra: int = 0
    link: str = ""


class RichScreen(pyte.Screen):
    link = ""  # the hyperlink OSC 8 opened ("" none): what cells drawn now get
    widest = 0
    last_drawn = ""  # the last graphic character drawn: what REP repeats

    @property
    def default_char(self) -> Any:  # a Cell: pyte's Char and `extra`
        return Cell(data=" ", reverse=modes.DECSCNM in self.mode)

    @property
    def text(self) -> str:
        """The screen's characters, row by row (a wide character's second cell is empty)."""
        rows = (self.buffer[y] for y in range(self.lines))
        return "\n".join("".join(row[x].data for x in range(self.columns)) for row in rows)

    def reset(self) -> None:
        super().reset()
        self.link = ""
        self.cursor.attrs = self.default_char
        self.widest = 0

    def _reached(self, column: int) -> None:
        self.widest = max(self.widest, column)

    # pyte keeps the cursor on the screen; a move past the right edge is recorded first.
    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        if (column or 1) > self.columns:
            self._reached(column or 1)
        super().cursor_position(line, column)

    def cursor_to_column(self, column: int | None = None) -> None:
        if (column or 1) > self.columns:
            self._reached(column or 1)
        super().cursor_to_column(column)

    def cursor_forward(self, count: int | None = None) -> None:
        if self.cursor.x + (count or 1) >= self.columns:
            self._reached(self.cursor.x + (count or 1) + 1)
        super().cursor_forward(count)

    def erase_characters(self, count: int | None = None) -> None:
        self._reached(min(self.cursor.x + (count or 1), self.columns))
        super().erase_characters(count)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        self._reached(self.columns if how != 1 else self.cursor.x + 1)
        super().erase_in_line(how, private)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """As a terminal does (with bce, in the current background): every cell of the rows
        erased takes the cursor's attributes. pyte's own leaves the cells nothing was ever
        drawn in as they were."""
        super().erase_in_display(how, *args, **kwargs)
        rows = {0: range(self.cursor.y + 1, self.lines), 1: range(self.cursor.y)}
        self._reached(self.columns)
        for y in rows.get(how, range(self.lines) if how in (2, 3) else range(0)):
            line = self.buffer[y]
            for x in range(self.columns):
                line[x] = self.cursor.attrs

    def set_link(self, link: str) -> None:
        self.link = link
        attrs: Any = self.cursor.attrs
        self.cursor.attrs = Cell(*attrs)._replace(link=link)

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        extra: int = getattr(self.cursor.attrs, "extra", 0)
        super().select_graphic_rendition(*attrs)
        params = list(attrs) or [0]
        index = 0
        while index < len(params):
            param = params[index]
            if param in (38, 48) and index + 1 < len(params):
                index += 3 if params[index + 1] == 5 else 5
                continue
            if param == 0:
                extra = 0
            extra |= EXTRA_ON.get(param, 0)
            extra &= ~EXTRA_OFF.get(param, 0)
            index += 1
        attrs_now: Any = self.cursor.attrs
        if not isinstance(attrs_now, Cell):
            attrs_now = Cell(*attrs_now)
        self.cursor.attrs = attrs_now._replace(extra=extra, link=self.link)

    def repeat_character(self, count: int | None = None, **kwargs: Any) -> None:
        """REP (CSI n b): the last graphic character drawn again n times (pyte has none)."""
        if self.last_drawn:
            self.draw(self.last_drawn * max(count or 1, 1))

    def draw(self, data: str) -> None:
        spans, _ = split_graphemes(data)
        for start, end, width in spans:
            grapheme = data[start:end]
            if width:
                self.last_drawn = grapheme
            self._reached(self.cursor.x + width)  # past the edge, when drawn for a wider one
            if width == 0:
                x, y = self.cursor.x, self.cursor.y
                if x:
                    last = self.buffer[y][x - 1]
                    self.buffer[y][x - 1] = last._replace(data=last.data + grapheme)
                continue
            if self.cursor.x + width > self.columns:
                if modes.DECAWM in self.mode:
                    self.carriage_return()
                    self.linefeed()
                else:
                    self.cursor.x = self.columns - width
            line = self.buffer[self.cursor.y]
            line[self.cursor.x] = self.cursor.attrs._replace(data=grapheme)
            if width == 2 and self.cursor.x + 1 < self.columns:
                line[self.cursor.x + 1] = self.cursor.attrs._replace(data="")
            self.cursor.x = min(self.cursor.x + width, self.columns)
        self.dirty.add(self.cursor.y)

    def cells(self) -> list[list[Cell]]:
        return [[Cell(*self.buffer[y][x]) for x in range(self.columns)] for y in range(self.lines)]


# OSC 8 ; params ; URI, ended by ST or BEL (the URI may hold ";").
OSC8 = re.compile(rb"\x1b\]8;([^;\x07\x1b]*);([^\x07\x1b]*)(?:\x1b\\|\x07)")


class RepStream(pyte.ByteStream):
    """pyte's byte stream, reading REP too."""

    csi = {**pyte.ByteStream.csi, "b": "repeat_character"}


class LinkStream:
    """pyte's byte stream with OSC 8 read between its pieces. Output read from a PTY comes
    in pieces that may cut a sequence anywhere: an unfinished OSC at the end of a piece
    waits for the next one."""

    def __init__(self, screen: RichScreen) -> None:
        self.screen = screen
        self.stream = RepStream(screen)
        self.held = b""

    def feed(self, data: bytes) -> None:
        data, self.held = self.held + data, b""
        at = 0
        for match in OSC8.finditer(data):
            self.stream.feed(data[at : match.start()])
            params, uri = match.group(1).decode(), match.group(2).decode()
            self.screen.set_link(f"{params};{uri}" if uri else "")
            at = match.end()
        start = data.rfind(b"\x1b]", at)
        if data.endswith(b"\x1b"):
            start = len(data) - 1 if start == -1 else start
        if start != -1 and b"\x07" not in data[start:] and b"\x1b\\" not in data[start:]:
            data, self.held = data[:start], data[start:]
        self.stream.feed(data[at:])


def emulator(columns: int, lines: int) -> tuple[RichScreen, LinkStream]:
    screen = RichScreen(columns, lines)
    return screen, LinkStream(screen)


def feed(output: bytes, columns: int, lines: int) -> RichScreen:
    """What a terminal of that size shows after `output`."""
    screen, stream = emulator(columns, lines)
    stream.feed(output)
    return screen
