"""A decoded picture as terminal lines: half blocks (any colour terminal) or Kitty's
graphics protocol with Unicode placeholders (the image is sent once; the lines hold
placeholder cells that say which part of it each cell shows).

Both are plain Rich `Text` lines, so the reader draws them like text: scrolled, cut at the
window's edge and diffed cell by cell by the output layer, never written around it.
"""

from __future__ import annotations

import base64
import zlib
from functools import lru_cache
from typing import Protocol

from rich.color import Color
from rich.style import Style
from rich.text import Span, Text

__all__ = ["fit_cells", "halfblock_lines", "kitty_delete", "kitty_lines", "kitty_transmit"]

UPPER_HALF = "\u2580"  # ▀: the top pixel is the foreground, the bottom one the background
PLACEHOLDER = "\U0010eeee"
# Kitty's row/column diacritics (rowcolumn-diacritics.txt), the first 64: enough for an
# image of 64 x 64 cells, the most the reader draws.
DIACRITICS = [
    0x0305, 0x030D, 0x030E, 0x0310, 0x0312, 0x033D, 0x033E, 0x033F, 0x0346, 0x034A, 0x034B,
    0x034C, 0x0350, 0x0351, 0x0352, 0x0357, 0x035B, 0x0363, 0x0364, 0x0365, 0x0366, 0x0367,
    0x0368, 0x0369, 0x036A, 0x036B, 0x036C, 0x036D, 0x036E, 0x036F, 0x0483, 0x0484, 0x0485,
    0x0486, 0x0487, 0x0592, 0x0593, 0x0594, 0x0595, 0x0597, 0x0598, 0x0599, 0x059C, 0x059D,
    0x059E, 0x059F, 0x05A0, 0x05A1, 0x05A8, 0x05A9, 0x05AB, 0x05AC, 0x05AF, 0x05C4, 0x0610,
    0x0611, 0x0612, 0x0613, 0x0614, 0x0615, 0x0616, 0x0617, 0x0657, 0x0658,
]  # fmt: skip
MAX_CELLS = len(DIACRITICS)
CHUNK = 4096  # base64 bytes per graphics command, as the protocol asks


class PictureLike(Protocol):
    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def pixel(self, x: int, y: int) -> tuple[int, int, int]: ...


def fit_cells(picture: PictureLike, columns: int, rows: int) -> tuple[int, int]:
    """Cells (columns, rows) that show the picture whole within columns x rows, a cell
    being about twice as tall as wide; never more than MAX_CELLS either way."""
    columns = max(1, min(columns, MAX_CELLS, picture.width))
    rows = max(1, min(rows, MAX_CELLS))
    height = max(1, round(columns * picture.height / picture.width / 2))
    if height > rows:
        columns = max(1, round(rows * 2 * picture.width / picture.height))
        height = rows
    return columns, height


@lru_cache(maxsize=8192)
def _pair(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))


def halfblock_lines(picture: PictureLike, columns: int, rows: int) -> list[Text]:
    """The picture in half blocks: each cell shows two pixels, one above the other."""
    columns, rows = fit_cells(picture, columns, rows)
    lines = []
    for row in range(rows):
        top_y = min(picture.height - 1, (2 * row) * picture.height // (2 * rows))
        bottom_y = min(picture.height - 1, (2 * row + 1) * picture.height // (2 * rows))
        spans = []
        for column in range(columns):
            x = min(picture.width - 1, column * picture.width // columns)
            style = _pair(picture.pixel(x, top_y), picture.pixel(x, bottom_y))
            spans.append(Span(column, column + 1, style))
        lines.append(Text(UPPER_HALF * columns, spans=spans, end=""))
    return lines


def kitty_lines(image_id: int, columns: int, rows: int, *, truecolor: bool = True) -> list[Text]:
    """Placeholder cells for image `image_id` (its number is the colour: 24 bits, or an
    indexed colour 1..255 where the terminal gets no truecolor), each cell naming its row
    and column, so any part of the lines redrawn alone is right."""
    if truecolor:
        red, green, blue = image_id >> 16 & 255, image_id >> 8 & 255, image_id & 255
        style = Style(color=Color.from_rgb(red, green, blue))
    else:
        style = Style(color=Color.from_ansi(image_id & 255))
    lines = []
    for row in range(rows):
        mark = chr(DIACRITICS[row])
        cells = "".join(PLACEHOLDER + mark + chr(DIACRITICS[column]) for column in range(columns))
        lines.append(Text(cells, style=style, end=""))
    return lines


def kitty_transmit(picture: PictureLike, rgb: bytes, image_id: int, columns: int, rows: int) -> str:
    """The graphics commands that send the picture (raw RGB, zlib-compressed) and make a
    virtual placement of columns x rows cells for the placeholders to show."""
    payload = base64.b64encode(zlib.compress(rgb)).decode("ascii")
    head = (
        f"a=T,U=1,q=2,f=24,o=z,s={picture.width},v={picture.height},"
        f"i={image_id},c={columns},r={rows}"
    )
    chunks = [payload[at : at + CHUNK] for at in range(0, len(payload), CHUNK)] or [""]
    out = []
    for index, chunk in enumerate(chunks):
        more = 1 if index < len(chunks) - 1 else 0
        keys = f"{head},m={more}" if index == 0 else f"m={more}"
        out.append(f"\x1b_G{keys};{chunk}\x1b\\")
    return "".join(out)


def kitty_delete(image_id: int) -> str:
    """Free the image and its placements in the terminal."""
    return f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\"
