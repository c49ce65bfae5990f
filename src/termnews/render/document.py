"""The width-independent document that ``blocks`` builds and ``layout`` lays out.

``Blocks`` is a flat list of blocks (flowing text with style spans, preformatted lines,
tables, rules), each carrying its gap and the prefixes (quote bars, list markers, indents)
its lines get, so layout is a single pass with no tree walking. ``Inline`` collects the text
of one paragraph or table cell, with HTML whitespace collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin

from rich.style import Style
from rich.text import Span, Text

from termnews.sanitize import clean_text, clean_url


@dataclass(slots=True)
class Link:
    number: int
    url: str
    text: str
    image: bool = False  # an <img>'s address (the reader can show the picture)


def resolve_url(base_url: str | None, url: str | None) -> str | None:
    """``url`` cleaned and made absolute against ``base_url`` (None: not one to keep)."""
    url = clean_url(url)
    if url is None or not base_url:
        return url
    try:
        return clean_url(urljoin(base_url, url))
    except ValueError:
        return None


@dataclass(slots=True)
class RenderedDocument:
    lines: Sequence[Text]  # a list, or (loaded from a RenderStore) lines made as read
    links: list[Link]
    width: int


@dataclass(frozen=True, slots=True)
class Prefix:
    """What goes in front of a block's lines: quote bars, list markers, indents."""

    plain: str = ""
    spans: tuple[Span, ...] = ()

    @property
    def cells(self) -> int:
        return len(self.plain)  # prefixes are built from single-cell characters only

    def head(self, cells: int) -> Prefix:
        """The first ``cells`` cells of the prefix."""
        if cells >= len(self.plain):
            return self
        spans = tuple(
            Span(s.start, min(s.end, cells), s.style) for s in self.spans if s.start < cells
        )
        return Prefix(self.plain[:cells], spans)

    def crop(self, cells: int) -> Prefix:
        """The last ``cells`` cells of the prefix (the innermost containers)."""
        if cells >= len(self.plain):
            return self
        plain = self.plain[len(self.plain) - cells :] if cells > 0 else ""
        shift = len(self.plain) - len(plain)
        spans = tuple(
            Span(max(0, s.start - shift), s.end - shift, s.style)
            for s in self.spans
            if s.end > shift
        )
        return Prefix(plain, spans)


NO_PREFIX = Prefix()


@dataclass(slots=True)
class Block:
    """One block of the document. ``gap`` blank lines go before it (0 or 1)."""

    gap: int
    first: Prefix  # prefix of the first line
    rest: Prefix  # prefix of the following lines
    blank: Prefix  # prefix of the blank line before it (quote bars)


@dataclass(slots=True)
class FlowBlock(Block):
    """Wrapped text. ``text`` has single spaces; "\\n" is a forced line break."""

    text: str = ""
    spans: list[Span] = field(default_factory=list)


@dataclass(slots=True)
class PreBlock(Block):
    """Preformatted lines, never word-wrapped."""

    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RuleBlock(Block):
    pass


@dataclass(slots=True)
class Cell:
    text: str
    spans: list[Span]
    header: bool


@dataclass(slots=True)
class TableBlock(Block):
    rows: list[list[Cell]] = field(default_factory=list)
    caption: str = ""


@dataclass(slots=True)
class Blocks:
    """A parsed document, independent of the terminal width: cache this, lay out per width."""

    blocks: list[Block]
    links: list[Link]


_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_UNICODE_SPACE = re.compile(
    "[\x0b\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


def _collapse_space(text: str) -> str:
    """HTML whitespace runs -> one space (no-break and other Unicode spaces are kept)."""
    if len(text) < 200 or _UNICODE_SPACE.search(text) is not None:
        return _HTML_SPACE.sub(" ", text)
    # str.split() also splits on Unicode spaces, hence the check above; it is 3x faster
    body = " ".join(text.split())
    if not body:
        return " " if text else ""
    lead = " " if text[0] in " \t\n\r\f" else ""
    trail = " " if text[-1] in " \t\n\r\f" else ""
    return lead + body + trail


class Inline:
    """Text being collected for one paragraph (or one table cell), whitespace collapsed."""

    __slots__ = ("length", "parts", "space", "spans")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.length = 0
        self.space = True  # the text so far ends in a (collapsible) space, or is empty

    def add(self, text: str) -> None:
        """Add HTML text: whitespace runs collapse to one space, as a browser does."""
        text = clean_text(_collapse_space(text))
        if not text:
            return
        if self.space and text[0] == " ":
            text = text[1:]
            if not text:
                return
        self.parts.append(text)
        self.length += len(text)
        self.space = text[-1] == " "

    def add_literal(self, text: str, style: Style | None = None) -> None:
        """Add our own text (markers), optionally styled."""
        if not text:
            return
        if style is not None:
            self.spans.append(Span(self.length, self.length + len(text), style))
        self.parts.append(text)
        self.length += len(text)
        self.space = text[-1] == " "

    def trim_space(self) -> bool:
        """Drop one trailing collapsible space; True if there was one."""
        if self.space and self.parts and self.parts[-1].endswith(" "):
            last = self.parts[-1][:-1]
            self.length -= 1
            if last:
                self.parts[-1] = last
            else:
                self.parts.pop()
            self.space = not self.parts or self.parts[-1].endswith((" ", "\n"))
            return True
        return False

    def add_break(self) -> None:
        self.trim_space()
        self.parts.append("\n")
        self.length += 1
        self.space = True

    def add_space(self) -> None:
        if not self.space:
            self.add_literal(" ")

    def take(self) -> tuple[str, list[Span]]:
        """The collected text, trimmed, with spans clipped to it; the buffer is reset."""
        text = "".join(self.parts)
        spans = self.spans
        self.parts = []
        self.spans = []
        self.length = 0
        self.space = True
        stripped = text.strip(" \n")
        if not stripped:
            return "", []
        lead = len(text) - len(text.lstrip(" \n"))
        end = lead + len(stripped)
        clipped = [
            Span(max(s.start, lead) - lead, min(s.end, end) - lead, s.style)
            for s in spans
            if s.end > lead and s.start < end and s.end > s.start
        ]
        return stripped, clipped


def shift_spans(spans: tuple[Span, ...] | list[Span], offset: int) -> list[Span]:
    return [Span(s.start + offset, s.end + offset, s.style) for s in spans]


_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_LINE_SPACE = re.compile(r"[^\S\n]+")


def plain_blocks(text: str) -> Blocks:
    """Plain text: paragraphs on blank lines, line breaks kept."""
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks: list[Block] = []
    for paragraph in _BLANK_LINES.split(text):
        lines = [_LINE_SPACE.sub(" ", line).strip() for line in paragraph.split("\n")]
        body = "\n".join(line for line in lines if line)
        if body:
            gap = 1 if blocks else 0
            blocks.append(FlowBlock(gap, NO_PREFIX, NO_PREFIX, NO_PREFIX, body, []))
    return Blocks(blocks, [])
