"""The reader's palette and the characters it draws with, in one place.

The UI may theme the reader by replacing entries of ``STYLES`` before parsing. Only named
attributes and the 8 basic colours, so 16-colour terminals work.
"""

from __future__ import annotations

from rich.style import Style

__all__ = ["STYLES"]

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
