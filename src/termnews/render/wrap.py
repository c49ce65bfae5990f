"""Where to cut text into terminal lines: word wrap by cells, and hard wrap for code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rich.cells import get_character_cell_size, split_graphemes

from termnews.sanitize import is_single_cell

__all__ = ["chop", "wrap_positions"]


@lru_cache(maxsize=64)
def _line_pattern(width: int) -> re.Pattern[str]:
    # Greedy word wrap in C: the longest run of at most `width` characters that starts with a
    # non-space and ends before a space (or the end); else a hard break of a long word.
    return re.compile(rf"[^ ](?:[^\n]{{0,{width - 1}}}(?= |\Z))|[^ ]{{1,{width}}}")


def wrap_positions(text: str, width: int) -> list[tuple[int, int]]:
    """Where to cut ``text`` (single spaces, no newlines) into lines of <= width cells.

    Returns (start, end) index pairs; the spaces at the cuts are left out.
    """
    width = max(1, width)
    if is_single_cell(text):
        if len(text) <= width:
            return [(0, len(text))]
        return [m.span() for m in _line_pattern(width).finditer(text)]
    return _wrap_graphemes(text, width)


def _wrap_graphemes(text: str, width: int) -> list[tuple[int, int]]:
    """Wrap text with wide or zero-width characters: break at spaces and beside wide
    characters (CJK has no spaces), never inside a grapheme."""
    widths = list(map(get_character_cell_size, text))
    graphemes: Iterable[tuple[int, int, int]]
    if 0 in widths:  # combining marks, ZWJ sequences, variation selectors: ask Rich
        graphemes, total = split_graphemes(text)
    else:  # every character is its own grapheme (CJK, most emoji): 3x cheaper
        total = sum(widths)
        graphemes = zip(range(len(text)), range(1, len(text) + 1), widths, strict=True)
    if total <= width:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0  # index where the current line starts
    used = 0  # cells from start up to the current grapheme
    brk_end = -1  # the line would end here if we broke at the last opportunity
    brk_next = 0  # ... and the next line would start here
    brk_used = 0  # cells from start to brk_next
    for g_start, g_end, cells in graphemes:
        if text[g_start] == " ":
            if g_start == start:
                start = g_end
                continue
            brk_end, brk_next, brk_used = g_start, g_end, used + cells
            used += cells
            continue
        if cells == 2 and g_start > start and text[g_start - 1] != " ":
            brk_end, brk_next, brk_used = g_start, g_start, used
        while used + cells > width and g_start > start:
            if brk_end > start:
                out.append((start, brk_end))
                start = brk_next
                used -= brk_used
            else:  # one word longer than the line: hard break
                out.append((start, g_start))
                start = g_start
                used = 0
            brk_end = -1
        used += cells
    if start < len(text):
        out.append((start, len(text)))
    return out


def chop(text: str, width: int) -> list[str]:
    """Hard-wrap preformatted text: pieces of width-1 cells (a marker follows each), and a
    last piece of at most ``width`` cells."""
    if width < 2:
        return _graphemes(text)
    pieces: list[str] = []
    if is_single_cell(text):
        step = width - 1
        while len(text) > width:
            pieces.append(text[:step])
            text = text[step:]
        pieces.append(text)
        return pieces
    graphemes, left = split_graphemes(text)  # left: cells from `start` to the end
    start = used = 0
    for g_start, _g_end, cells in graphemes:
        if left <= width:
            break  # the rest fits as the last piece
        if used + cells > width - 1 and used:
            pieces.append(text[start:g_start])
            left -= used
            start, used = g_start, 0
            if left <= width:
                break
        used += cells
    pieces.append(text[start:])
    return pieces


def _graphemes(text: str) -> list[str]:
    return [text[start:end] for start, end, _cells in split_graphemes(text)[0]]
