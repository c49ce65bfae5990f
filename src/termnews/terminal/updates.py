"""Textual's compositor updates drawn onto the model, cell for cell as Textual writes them.

`LayoutUpdate` (the whole screen) and `ChopsUpdate` (changed spans of lines) are what
`App._display` receives; Textual turns them into text with `render_segments`. Here the
same strips, cropped the same way, are drawn into `Screen`'s model instead.
"""

from __future__ import annotations

from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate

from termnews.terminal.cells import PenTable, put_segments
from termnews.terminal.diff import Screen


def can_draw(update: object) -> bool:
    """An update this layer draws (inline updates stay on Textual's path)."""
    return isinstance(update, (LayoutUpdate, ChopsUpdate))


def draw_update(screen: Screen, update: CompositorUpdate, pens: PenTable) -> None:
    if isinstance(update, LayoutUpdate):
        draw_layout(screen, update, pens)
    elif isinstance(update, ChopsUpdate):
        draw_chops(screen, update, pens)
    else:
        raise TypeError(f"cannot draw {type(update).__name__}")


def draw_layout(screen: Screen, update: LayoutUpdate, pens: PenTable) -> None:
    region = update.region
    for y, line in enumerate(update.strips, region.y):
        if not 0 <= y < screen.height:
            continue
        row = screen.row(y)
        x = region.x
        for strip in line:
            put_segments(row, x, strip, pens)
            x += strip.cell_length


def draw_chops(screen: Screen, update: ChopsUpdate, pens: PenTable) -> None:
    # The same walk as ChopsUpdate.render_segments: a chop is written from its start,
    # cropped at the span's end.
    for y, x1, x2 in update.spans:
        if not 0 <= y < screen.height:
            continue
        row = screen.row(y)
        for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if not (x2 > x >= x1 and end <= x2):
                strip = strip.crop(0, min(end, x2) - x)
            put_segments(row, x, strip, pens)
