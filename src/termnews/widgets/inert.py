"""The one way a string from outside reaches the screen: as rich `Text`, never as markup.

Textual reads a plain `str` as markup almost everywhere (border titles, `Static`, `Label`,
palette prompts and help, `Select` prompts, notifications unless told otherwise): a feed
title with `[/]` would raise `MarkupError`, and `[@click=app.x()]` would become a clickable
action. `inert` gives a `Text`, which Textual shows as it is.
"""

from __future__ import annotations

from rich.style import StyleType
from rich.text import Text

from termnews.sanitize import clean_line, clean_text

__all__ = ["inert"]


def inert(
    value: str | None,
    max_len: int | None = None,
    *,
    style: StyleType = "",
    multiline: bool = False,
    empty: str = "",
) -> Text:
    """Outside text, safe for any Textual widget: controls removed, markup never parsed.

    One line (whitespace collapsed, cropped to ``max_len`` cells with "…") unless
    ``multiline``; ``empty`` stands in for a blank value.
    """
    text = clean_text(value) if multiline else clean_line(value, max_len)
    return Text(text or empty, style=style, end="")
