"""The reader's palette and the characters it draws with, in one place.

The UI may theme the reader by replacing entries of ``STYLES`` before parsing. Only named
attributes and the 8 basic colours, so 16-colour terminals work.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style

from termnews.sanitize import hyperlink_target

__all__ = ["STYLES", "linked"]

STYLES: dict[str, Style] = {
    "bold": Style(bold=True),
    "italic": Style(italic=True),
    "underline": Style(underline=True),
    "strike": Style(strike=True),
    "mark": Style(reverse=True),
    "heading.major": Style(bold=True, underline=True),  # h1, h2
    "heading": Style(bold=True),  # h3 .. h6
    "code": Style(color="green"),
    "code.block": Style(color="green"),
    "wrap.marker": Style(dim=True),
    "link": Style(underline=True),
    "link.number": Style(color="cyan"),
    "image": Style(color="magenta"),
    "media": Style(color="magenta"),
    "quote.bar": Style(dim=True),
    "list.marker": Style(bold=True),
    "rule": Style(dim=True),
    "caption": Style(dim=True),
    "table.header": Style(bold=True),
    "table.border": Style(dim=True),
    "links.title": Style(bold=True),
}

BULLETS = ("• ", "◦ ", "▪ ")
QUOTE_BAR = "│ "
RULE_CHAR = "─"
WRAP_MARK = "↩"
CODE_INDENT = "  "
DD_INDENT = "    "


@lru_cache(maxsize=4096)
def _hyperlink(target: str) -> Style:
    # One Style (so one OSC 8 id) per address: a link cut across lines hovers as one.
    return Style(link=target)


def linked(style: Style | None, url: str | None) -> Style | None:
    """``style`` that also makes its text an OSC 8 hyperlink to ``url`` (only if the address
    is one a hyperlink may carry: ``hyperlink_target``); the UI drops links it does not want."""
    target = hyperlink_target(url)
    if target is None:
        return style
    return (style or Style()) + _hyperlink(target)
