"""The reader's room: article HTML -> terminal lines and numbered links.

Modules, in the order text flows through them:

* ``blocks``: HTML (or plain text) -> ``Blocks``, once per article, width-independent and
  cacheable; ``tags`` says what each element means to it.
* ``document``: the ``Blocks`` data (flowing text with style spans, preformatted lines,
  tables, rules; each with its gap and line prefixes) and ``Link``/``RenderedDocument``.
* ``wrap``: where to cut a line of text to fit a number of terminal cells.
* ``lines``: ``Blocks`` -> Rich ``Text`` lines for one width, plus the link list.
* ``state``: what the parser of ``blocks`` keeps open while it reads.
* ``styles``: the palette and the characters drawn (bullets, bars, rules).

May import: ``termnews.sanitize`` (every outside string passes through it on the way in),
Rich and the standard library. Never Textual, the store or the service; sanitize never
imports render.
"""

from __future__ import annotations

from termnews.render.blocks import html_to_blocks
from termnews.render.document import Blocks, Link, RenderedDocument
from termnews.render.lines import layout, render_html
from termnews.render.styles import STYLES
from termnews.render.wrap import wrap_positions

__all__ = [
    "STYLES",
    "Blocks",
    "Link",
    "RenderedDocument",
    "html_to_blocks",
    "layout",
    "render_html",
    "wrap_positions",
]
