"""Character cells: what one cell of the terminal holds, and how Textual's strips become cells.

A cell is `(text, pen)`: the grapheme drawn there ("" for the right half of a wide character)
and the pen it was drawn with. A pen is what SGR and OSC 8 set: attribute bits, the SGR
parameters of the foreground and background ("" for the terminal's default) and a link.
Widths are Rich's, exactly as Textual's compositor measures them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import lru_cache

from rich.cells import cell_len, split_graphemes
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style

# attribute bits, fg params, bg params, link ("" or "id;url" as OSC 8 takes it)
Pen = tuple[int, str, str, str]
Cell = tuple[str, Pen]
Row = list[Cell]

DEFAULT_PEN: Pen = (0, "", "", "")
BLANK: Cell = (" ", DEFAULT_PEN)
# What an unknown terminal cell is compared as: equal to no cell the model can hold.
UNKNOWN: Cell = ("", (-1, "", "", ""))

# Rich's attributes in the order Textual writes them (textual.strip.SGR_STYLES), with the
# SGR parameter that sets each one and the one that clears it (some clear two at once).
ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ("bold", "1", "22"),
    ("dim", "2", "22"),
    ("italic", "3", "23"),
    ("underline", "4", "24"),
    ("blink", "5", "25"),
    ("blink2", "6", "25"),
    ("reverse", "7", "27"),
    ("conceal", "8", "28"),
    ("strike", "9", "29"),
    ("underline2", "21", "24"),
    ("frame", "51", "54"),
    ("encircle", "52", "54"),
    ("overline", "53", "55"),
)
# What an OSC 8 link may hold ("id=...;address"): printable ASCII only, so no ESC, BEL or
# ST can end the sequence early, and a length cap. The renderer checks addresses already
# (sanitize.hyperlink_target); this is the last gate for any link a style carries.
SAFE_LINK = re.compile(r"[!-~]{1,2200}")

# Attributes that show on a blank cell: a run of blanks drawn with them cannot be erased.
SHOWN_ON_BLANK = sum(
    1 << bit
    for bit, (name, _, _) in enumerate(ATTRIBUTES)
    if name in ("underline", "reverse", "strike", "underline2", "frame", "encircle", "overline")
)


class PenTable:
    """Rich styles to pens for one colour system (cached: a screen uses few styles)."""

    LIMIT = 4096

    def __init__(self, color_system: ColorSystem) -> None:
        self.color_system = color_system
        self._pens: dict[Style, Pen] = {}
        self._interned: dict[Pen, Pen] = {DEFAULT_PEN: DEFAULT_PEN}

    def blank(self, pen: Pen) -> Pen:
        """The pen a blank drawn with `pen` is kept with: what a blank shows of it only (its
        background, and attributes that show on a blank), so that blanks that look the same
        compare equal and runs of them erase as one."""
        if pen[0] & SHOWN_ON_BLANK or pen[3] or not (pen[0] or pen[1]):
            return pen
        plain = (0, "", pen[2], "")
        return self._interned.setdefault(plain, plain)

    def pen(self, style: Style | None) -> Pen:
        if style is None:
            return DEFAULT_PEN
        pen = self._pens.get(style)
        if pen is None:
            if len(self._pens) > self.LIMIT:
                self._pens.clear()
            made = self._make(style)
            # One object per distinct pen, so comparing cells mostly compares identities.
            pen = self._pens[style] = self._interned.setdefault(made, made)
        return pen

    def _make(self, style: Style) -> Pen:
        bits = 0
        for bit, (name, _, _) in enumerate(ATTRIBUTES):
            if getattr(style, name):
                bits |= 1 << bit
        fg = bg = ""
        if style.color is not None:
            fg = ";".join(style.color.downgrade(self.color_system).get_ansi_codes(True))
            fg = "" if fg == "39" else fg
        if style.bgcolor is not None:
            bg = ";".join(style.bgcolor.downgrade(self.color_system).get_ansi_codes(False))
            bg = "" if bg == "49" else bg
        # The id is the address's: Rich gives every combined style a new one, so a link cut
        # across lines would hover as two, and a line drawn again would change its pens.
        link = f"id={zlib.crc32(style.link.encode()):x};{style.link}" if style.link else ""
        if link and SAFE_LINK.fullmatch(link) is None:
            link = ""  # drawn as plain text: never a sequence the terminal could misread
        return (bits, fg, bg, link)


def blank_of(pen: Pen) -> Pen:
    """What a blank drawn with `pen` shows of it (compare with `PenTable.blank`)."""
    if pen[0] & SHOWN_ON_BLANK or pen[3] or not (pen[0] or pen[1]):
        return pen
    return (0, "", pen[2], "")


def erasable(cell: Cell) -> bool:
    """A blank the terminal can draw by erasing (no attribute that shows on a blank)."""
    text, pen = cell
    return text == " " and not pen[0] & SHOWN_ON_BLANK and not pen[3]


@lru_cache(maxsize=8192)
def graphemes(text: str) -> tuple[tuple[str, int], ...]:
    """`text` as (grapheme, width) pairs, Rich's widths (0 for a mark with nothing before)."""
    spans, _ = split_graphemes(text)
    return tuple((text[start:end], width) for start, end, width in spans)


@lru_cache(maxsize=8192)
def width(text: str) -> int:
    """Cells a cell's text takes, by Rich's measure (2 for a wide character)."""
    return cell_len(text)


@lru_cache(maxsize=8192)
def trusted(text: str) -> bool:
    """Whether every terminal agrees with Rich on this cell's width, so the cursor position
    after it is known. Multi-codepoint clusters and emoji are where terminals disagree."""
    if len(text) != 1:
        return False
    code = ord(text)
    if code < 0x7F:
        return code >= 0x20
    # Symbols with emoji presentations are where terminals' tables disagree.
    return not (0x2600 <= code < 0x27C0 or code >= 0x1F000)


@lru_cache(maxsize=256)
def ascii_cells(text: str, pen: Pen, blank: Pen) -> tuple[Cell, ...]:
    """The cells of a printable ASCII segment (spaces take `blank`). Frames repeat their
    segments (a scrolled line, the padding of every row): the same cells serve each time,
    and comparing a row with the terminal's then finds them identical at once. A screen's
    worth are kept (4096 held 18 MB of cells after a hundred posts, for the collector to
    walk)."""
    return tuple((char, blank if char == " " else pen) for char in text)


def put_segments(row: Row, x: int, segments: Iterable[Segment], pens: PenTable) -> None:
    """Draw segments into `row` from column `x`, as the terminal would draw their text."""
    width = len(row)
    for text, style, control in segments:
        if control or not text:
            continue
        pen = pens.pen(style)
        blank = pens.blank(pen)
        if text.isascii() and text.isprintable():
            end = min(x + len(text), width)
            if end > x:
                run = ascii_cells(text, pen, blank)
                row[x:end] = run if end - x == len(run) else run[: end - x]
            x += len(text)
            continue
        for grapheme, cells in graphemes(text):
            if cells == 0:
                _combine(row, min(x, width), grapheme)
                continue
            if x + cells > width:
                x = width
                break
            row[x] = (grapheme, blank if grapheme == " " else pen)
            if cells == 2:
                row[x + 1] = ("", pen)
            x += cells
        if x >= width:
            break


def _combine(row: Row, x: int, mark: str) -> None:
    """A zero-width mark joins the cell before it, as terminals do."""
    while x > 0:
        x -= 1
        text, pen = row[x]
        if text:
            row[x] = (text + mark, pen)
            return
