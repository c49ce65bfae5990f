"""Article HTML -> terminal lines, link numbering, and control-character stripping.

Two halves:

* ``clean_text`` / ``clean_line`` / ``clean_url``: the security boundary. Every string that
  came from outside passes through one of them before it reaches a terminal, so a feed can
  never move the cursor, set the clipboard (OSC 52), rename the window, inject OSC 8
  hyperlinks or reorder text with bidi overrides.
* ``html_to_blocks`` (width-independent, cacheable) and ``layout`` (per width): article HTML
  becomes a list of Rich ``Text`` lines, each at most ``width`` cells wide, plus the list of
  numbered links. ``Blocks`` is a flat list of blocks (flowing text with style spans,
  preformatted lines, tables, rules), each carrying its gap and the prefixes (quote bars,
  list markers, indents) its lines get, so layout is a single pass with no tree walking.

Rich is the only third-party import allowed here; Textual must never be imported by the core.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import urljoin

from rich.cells import cell_len, get_character_cell_size, split_graphemes
from rich.style import Style
from rich.text import Span, Text

from termnews.sanitize import clean_line, clean_text, clean_url, crop_cells, is_single_cell

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

# --------------------------------------------------------------------------------------------
# Styles: the whole palette, in one place, so the UI can theme it (replace entries before
# parsing). Only named attributes and the 8 basic colours, so 16-colour terminals work.
# --------------------------------------------------------------------------------------------

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

_BULLETS = ("• ", "◦ ", "▪ ")
_QUOTE_BAR = "│ "
_RULE_CHAR = "─"
_WRAP_MARK = "↩"
_CODE_INDENT = "  "
_DD_INDENT = "    "

# --------------------------------------------------------------------------------------------
# The width-independent document: Blocks
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Link:
    number: int
    url: str
    text: str


@dataclass(slots=True)
class RenderedDocument:
    lines: list[Text]
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


_NO_PREFIX = Prefix()


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


# --------------------------------------------------------------------------------------------
# HTML parsing
# --------------------------------------------------------------------------------------------

_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_LOOKS_LIKE_HTML = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*[\s/>]|/[a-zA-Z]|!--|!\[CDATA\[)")

_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "keygen",
    }
)
_SKIP = frozenset(
    {
        "script",
        "style",
        "template",
        "head",
        "title",
        "noscript",
        "svg",
        "math",
        "select",
        "textarea",
        "button",
        "object",
        "iframe",
        "video",
        "audio",
        "frameset",
    }
)
_MEDIA = frozenset({"iframe", "video", "audio", "embed", "object"})
# Block elements that separate themselves from their neighbours with a blank line.
_GAP_BLOCKS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "figure",
        "hr",
        "dl",
        "details",
        "address",
        "fieldset",
        "form",
        "ul",
        "ol",
        "menu",
    }
)
# Block elements that only start a new line.
_PLAIN_BLOCKS = frozenset(
    {
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "figcaption",
        "summary",
        "dt",
        "dd",
        "li",
        "tr",
        "td",
        "th",
        "center",
        "caption",
        "hgroup",
        "legend",
        "thead",
        "tbody",
        "tfoot",
        "body",
        "html",
        "picture",
        "search",
    }
)
_INLINE_STYLES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "cite": "italic",
    "var": "italic",
    "dfn": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "mark": "mark",
    "code": "code",
    "kbd": "code",
    "samp": "code",
    "tt": "code",
    "h1": "heading.major",
    "h2": "heading.major",
    "h3": "heading",
    "h4": "heading",
    "h5": "heading",
    "h6": "heading",
    "figcaption": "caption",
    "summary": "bold",
    "dt": "bold",
    "th": "table.header",
}


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


class _Inline:
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


@dataclass(slots=True)
class _Container:
    kind: str  # "quote", "li", "dd"
    first: Prefix
    rest: Prefix
    used: bool = False
    level: int = 0  # for "li": how many lists were open when it started


@dataclass(slots=True)
class _OpenInline:
    tag: str
    start: int
    style: Style | None
    sink: _Inline
    url: str | None = None


@dataclass(slots=True)
class _ListState:
    ordered: bool
    counter: int
    depth: int


@dataclass(slots=True)
class _TableState:
    rows: list[list[Cell]] = field(default_factory=list)
    row: list[Cell] | None = None
    cell: _Inline | None = None
    cell_header: bool = False
    caption: _Inline | None = None
    in_caption: bool = False
    nested: int = 0  # tables inside this one are flattened into its cells


class _Parser(HTMLParser):
    def __init__(self, base_url: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.blocks: list[Block] = []
        self.links: list[Link] = []
        self._link_numbers: dict[str, int] = {}
        self._flow = _Inline()
        self._gap = 0
        self._containers: list[_Container] = []
        self._lists: list[_ListState] = []
        self._open: list[_OpenInline] = []
        self._skip: list[str] = []
        self._pre: list[str] | None = None
        self._pre_depth = 0
        self._table: _TableState | None = None
        self._media: tuple[str, str | None] | None = None  # open <video>/<audio>: kind, src

    # -- sinks ----------------------------------------------------------------------------

    @property
    def _sink(self) -> _Inline:
        table = self._table
        if table is not None:
            if table.in_caption and table.caption is not None:
                return table.caption
            if table.cell is None:
                self._start_cell(False)
            assert table.cell is not None
            return table.cell
        return self._flow

    def _add_text(self, text: str, style: Style | None = None) -> None:
        """Our own text (placeholders, link numbers) into whatever is collecting."""
        if self._pre is not None and self._table is None:
            self._pre.append(text)
        else:
            self._sink.add_literal(text, style)

    # -- blocks ---------------------------------------------------------------------------

    def _prefixes(self) -> tuple[Prefix, Prefix, Prefix]:
        """Prefixes for the next block; list markers are used once, then become indents."""
        if not self._containers:
            return _NO_PREFIX, _NO_PREFIX, _NO_PREFIX
        first_plain: list[str] = []
        first_spans: list[Span] = []
        rest_plain: list[str] = []
        rest_spans: list[Span] = []
        first_pos = rest_pos = 0
        for container in self._containers:
            first = container.rest if container.used else container.first
            container.used = True
            first_plain.append(first.plain)
            first_spans.extend(_shift(first.spans, first_pos))
            first_pos += len(first.plain)
            rest_plain.append(container.rest.plain)
            rest_spans.extend(_shift(container.rest.spans, rest_pos))
            rest_pos += len(container.rest.plain)
        rest = Prefix("".join(rest_plain), tuple(rest_spans))
        blank_plain = rest.plain.rstrip()
        blank_spans = tuple(
            Span(s.start, min(s.end, len(blank_plain)), s.style)
            for s in rest.spans
            if s.start < len(blank_plain)
        )
        return (
            Prefix("".join(first_plain), tuple(first_spans)),
            rest,
            Prefix(blank_plain, blank_spans),
        )

    def _place(self) -> tuple[int, Prefix, Prefix, Prefix]:
        """Gap and prefixes for the block about to be added."""
        first, rest, blank = self._prefixes()
        gap = self._gap if self.blocks else 0
        self._gap = 0
        return gap, first, rest, blank

    def _flush(self) -> None:
        """End the current paragraph: its text becomes a FlowBlock."""
        flow = self._flow
        if not flow.parts:
            return
        flow.trim_space()
        for entry in self._open:
            if entry.sink is not flow or flow.length <= entry.start:
                continue
            if entry.style is not None:
                flow.spans.append(Span(entry.start, flow.length, entry.style))
            if entry.url is not None:  # <a> around blocks (a linked heading): number it here
                self._append_link_number(flow, entry)
        text, spans = flow.take()
        for entry in self._open:  # styles still open continue in the next paragraph
            if entry.sink is flow:
                entry.start = 0
        if text:
            self.blocks.append(FlowBlock(*self._place(), text=text, spans=spans))

    def _want_gap(self) -> None:
        self._gap = 1

    # -- tables ---------------------------------------------------------------------------

    def _start_cell(self, header: bool) -> None:
        table = self._table
        assert table is not None
        self._end_cell()
        if table.row is None:
            table.row = []
        table.cell = _Inline()
        table.cell_header = header

    def _end_cell(self) -> None:
        table = self._table
        if table is None or table.cell is None:
            return
        cell = table.cell
        end = cell.length
        for entry in self._open:
            if entry.sink is cell and entry.style is not None and end > entry.start:
                cell.spans.append(Span(entry.start, end, entry.style))
        header = table.cell_header
        cell.spans = [s for s in cell.spans if s.end > s.start]
        text, spans = cell.take()
        if header and text:
            spans.insert(0, Span(0, len(text), STYLES["table.header"]))
        assert table.row is not None
        table.row.append(Cell(text.replace("\n", " "), spans, header))
        table.cell = None
        self._open = [entry for entry in self._open if entry.sink is not cell]

    def _end_row(self) -> None:
        table = self._table
        if table is None:
            return
        self._end_cell()
        if table.row is not None:
            if any(cell.text for cell in table.row):
                table.rows.append(table.row)
            table.row = None

    def _start_table(self) -> None:
        if self._table is not None:
            self._table.nested += 1
            self._sink.add_space()
            return
        self._flush()
        self._want_gap()
        self._table = _TableState()

    def _end_table(self) -> None:
        table = self._table
        if table is None:
            return
        if table.nested:
            table.nested -= 1
            return
        self._end_row()
        caption = ""
        if table.caption is not None:
            caption, _ = table.caption.take()
        self._table = None
        if table.rows or caption:
            caption = caption.replace("\n", " ")
            self.blocks.append(TableBlock(*self._place(), rows=table.rows, caption=caption))
        self._want_gap()

    # -- links ----------------------------------------------------------------------------

    def _resolve(self, url: str | None) -> str | None:
        url = clean_url(url)
        if url is None:
            return None
        if self.base_url:
            try:
                url = urljoin(self.base_url, url)
            except ValueError:
                return None
        return clean_url(url)

    def _link_number(self, url: str, text: str) -> int:
        number = self._link_numbers.get(url)
        if number is None:
            number = len(self.links) + 1
            self._link_numbers[url] = number
            self.links.append(Link(number, url, clean_line(text, 200)))
        return number

    def _media_placeholder(self, kind: str, src: str | None) -> None:
        """An embedded player becomes a line "[video: URL][N]" (the URL is a link)."""
        own_line = self._table is None and self._pre is None
        if own_line:
            self._flush()
        url = self._resolve(src)
        if url is None:
            self._add_text(f"[{kind}]", STYLES["media"])
        else:
            number = self._link_number(url, f"{kind}")
            self._add_text(f"[{kind}: {url}]", STYLES["media"])
            self._add_text(f"[{number}]", STYLES["link.number"])
        if own_line:
            self._flush()

    # -- HTMLParser callbacks -------------------------------------------------------------

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag in _SKIP and tag not in _VOID:
                self._skip.append(tag)
            elif tag == "source" and self._media is not None and self._media[1] is None:
                self._media = (self._media[0], dict(attrs).get("src"))
            return
        if tag in _SKIP:
            if tag in _MEDIA:
                src = dict(attrs).get("src") or dict(attrs).get("data")
                kind = "audio" if tag == "audio" else "video"
                if tag in ("video", "audio"):
                    self._media = (kind, src)  # placeholder at </video>, <source> may follow
                else:
                    self._media_placeholder(kind, src)
            self._skip.append(tag)
            return
        if tag == "embed":
            self._media_placeholder("video", dict(attrs).get("src"))
            return
        table = self._table
        if table is not None:
            self._table_starttag(table, tag, attrs)
            return
        if self._pre is not None:
            self._pre_starttag(tag, attrs)
            return
        if tag in _INLINE_STYLES and tag not in _PLAIN_BLOCKS and tag not in _GAP_BLOCKS:
            self._open.append(
                _OpenInline(tag, self._flow.length, STYLES[_INLINE_STYLES[tag]], self._flow)
            )
            return
        if tag == "a":
            self._open_link(attrs)
        elif tag == "br":
            self._flow.add_break()
        elif tag == "img":
            self._image(attrs)
        elif tag == "hr":
            self._flush()
            self._want_gap()
            self.blocks.append(RuleBlock(*self._place()))
            self._want_gap()
        elif tag == "pre":
            self._flush()
            self._want_gap()
            self._pre = []
            self._pre_depth = 1
        elif tag == "table":
            self._start_table()
        elif tag in ("ul", "ol", "menu"):
            self._flush()
            if not self._lists:
                self._want_gap()
            start = 1
            if tag == "ol":
                try:
                    start = int((dict(attrs).get("start") or "1").strip())
                except ValueError:
                    start = 1
            self._lists.append(_ListState(tag == "ol", start, len(self._lists)))
        elif tag == "li":
            self._flush()
            self._close_items()
            lst = self._lists[-1] if self._lists else _ListState(False, 1, 0)
            if lst.ordered:
                value = dict(attrs).get("value")
                if value and value.strip().lstrip("-").isdigit():
                    lst.counter = int(value)
                marker = f"{lst.counter}. "
                lst.counter += 1
            else:
                marker = _BULLETS[min(lst.depth, len(_BULLETS) - 1)]
            spans = (Span(0, len(marker) - 1, STYLES["list.marker"]),)
            self._containers.append(
                _Container(
                    "li", Prefix(marker, spans), Prefix(" " * len(marker)), level=len(self._lists)
                )
            )
        elif tag == "blockquote":
            self._flush()
            self._want_gap()
            bar = Prefix(_QUOTE_BAR, (Span(0, 1, STYLES["quote.bar"]),))
            self._containers.append(_Container("quote", bar, bar))
        elif tag == "dd":
            self._flush()
            indent = Prefix(_DD_INDENT)
            self._containers.append(_Container("dd", indent, indent))
        elif tag in _GAP_BLOCKS:
            self._flush()
            self._want_gap()
            if tag in _INLINE_STYLES:
                self._open.append(_OpenInline(tag, 0, STYLES[_INLINE_STYLES[tag]], self._flow))
        elif tag in _PLAIN_BLOCKS:
            self._flush()
            if tag in _INLINE_STYLES:
                self._open.append(_OpenInline(tag, 0, STYLES[_INLINE_STYLES[tag]], self._flow))

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
                if not self._skip and self._media is not None and tag in ("video", "audio"):
                    kind, src = self._media
                    self._media = None
                    self._media_placeholder(kind, src)
            return
        table = self._table
        if table is not None:
            self._table_endtag(table, tag)
            return
        if self._pre is not None:
            self._pre_endtag(tag)
            return
        if tag in _INLINE_STYLES or tag == "a":
            self._close_inline(tag)
        if tag in ("ul", "ol", "menu"):
            self._flush()
            self._close_items()
            if self._lists:
                self._lists.pop()
            if not self._lists:
                self._want_gap()
        elif tag == "li":
            self._flush()
            self._close_items()
        elif tag == "blockquote":
            self._flush()
            self._close_container("quote")
            self._want_gap()
        elif tag == "dd":
            self._flush()
            self._close_container("dd")
        elif tag in _GAP_BLOCKS:
            self._flush()
            self._want_gap()
        elif tag in _PLAIN_BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._table is not None:
            if self._table.cell is None and not self._table.in_caption and not data.strip():
                return
            self._sink.add(data)
        elif self._pre is not None:
            self._pre.append(data)
        else:
            self._flow.add(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):
            self.handle_data(data[6:])

    # -- helpers for the callbacks ---------------------------------------------------------

    def _open_link(self, attrs: list[tuple[str, str | None]]) -> None:
        url = self._resolve(dict(attrs).get("href"))
        sink = self._sink if self._pre is None or self._table is not None else self._flow
        start = sink.length if self._pre is None else len("".join(self._pre))
        style = STYLES["link"] if url is not None else None
        self._open.append(_OpenInline("a", start, style, sink, url))

    def _close_inline(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            entry = self._open[index]
            if entry.tag != tag:
                continue
            del self._open[index]
            in_pre = self._pre is not None and self._table is None
            sink = self._flow if in_pre else self._sink
            if entry.sink is not sink:
                return
            if in_pre:
                if tag == "a" and entry.url:
                    text = "".join(self._pre)[entry.start :] if self._pre is not None else ""
                    self._add_text(f"[{self._link_number(entry.url, text)}]")
                return
            # "<a>word </a>": the number goes against the word, the space after it
            trimmed = tag == "a" and entry.url is not None and sink.trim_space()
            if entry.style is not None and sink.length > entry.start:
                sink.spans.append(Span(entry.start, sink.length, entry.style))
            if tag == "a" and entry.url and sink.length > entry.start:
                self._append_link_number(sink, entry)
            if trimmed:
                sink.add_literal(" ")
            return

    def _append_link_number(self, sink: _Inline, entry: _OpenInline) -> None:
        """ "[N]" right after the link's text, which is sink's text from entry.start on."""
        assert entry.url is not None
        number = self._link_number(entry.url, "".join(sink.parts)[entry.start :])
        sink.add_literal(f"[{number}]", STYLES["link.number"])

    def _close_items(self) -> None:
        """Close the list items of the innermost open list (and anything left inside them)."""
        level = len(self._lists)
        for index in range(len(self._containers) - 1, -1, -1):
            container = self._containers[index]
            if container.kind == "quote":
                return  # never close across a blockquote boundary
            if container.kind == "li" and container.level >= level:
                del self._containers[index:]
            elif container.kind == "li":
                return

    def _close_container(self, kind: str) -> None:
        for index in range(len(self._containers) - 1, -1, -1):
            if self._containers[index].kind == kind:
                del self._containers[index:]
                return
            if self._containers[index].kind == "quote" and kind != "quote":
                return  # never close across a blockquote boundary

    def _image(self, attrs: list[tuple[str, str | None]]) -> None:
        alt = clean_line(dict(attrs).get("alt"), 200)
        text = f"[image: {alt}]" if alt else "[image]"
        sink = self._sink
        if not sink.space and sink.length:
            sink.add_literal(" ")
        sink.add_literal(text, STYLES["image"])

    def _pre_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert self._pre is not None
        if tag == "pre":
            self._pre_depth += 1
        elif tag == "br":
            self._pre.append("\n")
        elif tag == "a":
            self._open_link(attrs)
        elif tag == "img":
            alt = clean_line(dict(attrs).get("alt"), 200)
            self._pre.append(f"[image: {alt}]" if alt else "[image]")

    def _pre_endtag(self, tag: str) -> None:
        assert self._pre is not None
        if tag == "a":
            self._close_inline("a")
        elif tag == "pre":
            self._pre_depth -= 1
            if self._pre_depth <= 0:
                self._end_pre()

    def _end_pre(self) -> None:
        assert self._pre is not None
        text = clean_text("".join(self._pre).replace("\r\n", "\n").replace("\r", "\n"))
        self._pre = None
        self._pre_depth = 0
        if text.startswith("\n"):
            text = text[1:]
        lines = [line.rstrip() for line in text.rstrip().split("\n")]
        while lines and not lines[0]:
            del lines[0]
        if lines:
            self.blocks.append(PreBlock(*self._place(), lines=lines))
        self._want_gap()

    def _table_starttag(
        self, table: _TableState, tag: str, attrs: list[tuple[str, str | None]]
    ) -> None:
        if tag == "table":
            self._start_table()
        elif table.nested:
            if tag in ("td", "th", "tr", "br", "p", "div", "li"):
                self._sink.add_space()
            elif tag == "img":
                self._image(attrs)
            elif tag == "a":
                self._open_link(attrs)
            elif tag in _INLINE_STYLES:
                sink = self._sink
                self._open.append(_OpenInline(tag, sink.length, STYLES[_INLINE_STYLES[tag]], sink))
        elif tag == "tr":
            self._end_row()
        elif tag in ("td", "th"):
            self._start_cell(tag == "th")
        elif tag == "caption":
            table.caption = table.caption or _Inline()
            table.in_caption = True
        elif tag == "img":
            self._image(attrs)
        elif tag == "a":
            self._open_link(attrs)
        elif tag in _INLINE_STYLES and tag not in ("th",):
            sink = self._sink
            self._open.append(_OpenInline(tag, sink.length, STYLES[_INLINE_STYLES[tag]], sink))
        elif (tag in _GAP_BLOCKS or tag in _PLAIN_BLOCKS or tag == "br") and table.cell is not None:
            table.cell.add_space()

    def _table_endtag(self, table: _TableState, tag: str) -> None:
        if tag == "table":
            self._end_table()
        elif table.nested:
            if tag in _INLINE_STYLES or tag == "a":
                self._close_inline(tag)
            elif tag in ("td", "th", "p", "div", "li"):
                self._sink.add_space()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "caption":
            table.in_caption = False
        elif tag in _INLINE_STYLES or tag == "a":
            self._close_inline(tag)

    def finish(self) -> Blocks:
        self.close()
        while self._table is not None:
            self._table.nested = 0
            self._end_table()
        if self._pre is not None:
            self._end_pre()
        self._flush()
        return Blocks(self.blocks, self.links)


def html_to_blocks(html: str, base_url: str | None = None) -> Blocks:
    """Parse article HTML (or plain text) into width-independent blocks."""
    if not html:
        return Blocks([], [])
    stripped = html.strip()
    if stripped.startswith("<![CDATA[") and stripped.endswith("]]>"):
        html = stripped[9:-3]
    if _LOOKS_LIKE_HTML.search(html) is None:
        return _plain_blocks(_html.unescape(html) if "&" in html else html)
    parser = _Parser(base_url)
    try:
        parser.feed(html)
        return parser.finish()
    except (AssertionError, ValueError, IndexError):  # HTMLParser on pathological input
        return _plain_blocks(_TAG.sub(" ", html))


_TAG = re.compile(r"<[^>]*>")
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_LINE_SPACE = re.compile(r"[^\S\n]+")


def _plain_blocks(text: str) -> Blocks:
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks: list[Block] = []
    for paragraph in _BLANK_LINES.split(text):
        lines = [_LINE_SPACE.sub(" ", line).strip() for line in paragraph.split("\n")]
        body = "\n".join(line for line in lines if line)
        if body:
            gap = 1 if blocks else 0
            blocks.append(FlowBlock(gap, _NO_PREFIX, _NO_PREFIX, _NO_PREFIX, body, []))
    return Blocks(blocks, [])


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------


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


def _chop(text: str, width: int) -> list[str]:
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


def _shift(spans: tuple[Span, ...] | list[Span], offset: int) -> list[Span]:
    return [Span(s.start + offset, s.end + offset, s.style) for s in spans]


_TEXT_SLOTS = (
    "_text",
    "style",
    "justify",
    "overflow",
    "no_wrap",
    "end",
    "tab_size",
    "_spans",
    "_length",
)


def _text_by_constructor(plain: str, spans: list[Span]) -> Text:
    return Text(plain, spans=spans)


def _text_by_slots(plain: str, spans: list[Span]) -> Text:
    # Text() runs a str.translate over every line to strip control codes: a third of the
    # layout time of a huge post. Our lines are clean already, so fill the slots directly.
    text = object.__new__(Text)
    text._text = [plain]
    text.style = ""
    text.justify = None
    text.overflow = None
    text.no_wrap = None
    text.end = "\n"
    text.tab_size = None
    text._spans = spans
    text._length = len(plain)
    return text


def _pick_text_factory() -> Callable[[str, list[Span]], Text]:
    """Use the fast path only while it builds exactly what Rich's constructor builds."""
    if tuple(getattr(Text, "__slots__", ())) != _TEXT_SLOTS:
        return _text_by_constructor
    try:
        spans = [Span(0, 2, Style(bold=True))]
        fast, slow = _text_by_slots("ab c", list(spans)), Text("ab c", spans=list(spans))
        if all(getattr(fast, slot) == getattr(slow, slot) for slot in _TEXT_SLOTS):
            return _text_by_slots
    except (AttributeError, TypeError):
        pass
    return _text_by_constructor


_new_text = _pick_text_factory()


def _make_line(prefix: Prefix, body: str, spans: list[Span]) -> Text:
    if prefix.plain:
        shift = len(prefix.plain)
        all_spans = list(prefix.spans)
        all_spans.extend(Span(s.start + shift, s.end + shift, s.style) for s in spans)
        return _new_text(prefix.plain + body, all_spans)
    return _new_text(body, spans)


def _fit_prefixes(block: Block, width: int) -> tuple[Prefix, Prefix, int]:
    """Prefixes cropped so that at least a few cells stay for the text; the text width."""
    first, rest = block.first, block.rest
    widest = max(first.cells, rest.cells)
    keep = max(1, min(10, width // 2))
    if width - widest < keep:
        room = max(0, width - keep)
        first, rest = first.crop(room), rest.crop(room)
        widest = max(first.cells, rest.cells)
    return first, rest, max(1, width - widest)


def _layout_flow(
    text: str,
    spans: list[Span],
    first: Prefix,
    rest: Prefix,
    avail: int,
    out: list[Text],
) -> None:
    cuts: list[tuple[int, int]] = []
    offset = 0
    for segment in text.split("\n") if "\n" in text else (text,):
        if segment:
            cuts.extend((offset + s, offset + e) for s, e in wrap_positions(segment, avail))
        else:
            cuts.append((offset, offset))
        offset += len(segment) + 1
    if spans:
        spans = sorted(spans, key=_span_start)
    pending = 0  # index of the next span not yet active
    active: list[Span] = []
    prefix = first
    for start, end in cuts:
        line_spans: list[Span] = []
        if spans:
            while pending < len(spans) and spans[pending].start < end:
                active.append(spans[pending])
                pending += 1
            if active:
                active = [s for s in active if s.end > start]
                for s in active:
                    s_start = s.start if s.start > start else start
                    s_end = s.end if s.end < end else end
                    if s_end > s_start:
                        line_spans.append(Span(s_start - start, s_end - start, s.style))
        out.append(_make_line(prefix, text[start:end], line_spans))
        prefix = rest


def _span_start(span: Span) -> int:
    return span.start


def _layout_pre(block: PreBlock, width: int, out: list[Text]) -> None:
    first, rest, avail = _fit_prefixes(block, width)
    indent = _CODE_INDENT if avail > 20 else ""
    avail -= len(indent)
    style = STYLES["code.block"]
    marker = STYLES["wrap.marker"]
    prefix = first
    for line in block.lines:
        if not line:
            out.append(_make_line(prefix.head(len(prefix.plain.rstrip())), "", []))
            prefix = rest
            continue
        pieces = [line] if len(line) <= avail and is_single_cell(line) else None
        if pieces is None:
            pieces = [line] if cell_len(line) <= avail else _chop(line, avail)
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            body = indent + piece
            spans = [Span(len(indent), len(body), style)]
            if index < last and cell_len(body) < avail + len(indent):
                spans.append(Span(len(body), len(body) + 1, marker))
                body += _WRAP_MARK
            out.append(_make_line(prefix, body, spans))
            prefix = rest


def _layout_table(block: TableBlock, width: int, out: list[Text]) -> None:
    first, rest, avail = _fit_prefixes(block, width)
    if block.caption:
        caption_span = [Span(0, len(block.caption), STYLES["caption"])]
        _layout_flow(block.caption, caption_span, first, rest, avail, out)
        first = rest
    rows = block.rows
    if not rows:
        return
    ncols = max(len(row) for row in rows)
    empty = Cell("", [], False)
    grid = [row + [empty] * (ncols - len(row)) for row in rows]
    natural = [max(cell_len(row[c].text) for row in grid) for c in range(ncols)]
    keep = [c for c in range(ncols) if natural[c] > 0]
    grid = [[row[c] for c in keep] for row in grid]
    natural = [natural[c] for c in keep]
    ncols = len(keep)
    if not ncols:
        return
    sep = " │ "
    seps = len(sep) * (ncols - 1)
    widths = _column_widths(natural, avail - seps)
    if widths is None:
        _layout_table_fallback(grid, first, rest, avail, out)
        return
    border = STYLES["table.border"]
    header_done = False
    prefix = first
    for row_index, row in enumerate(grid):
        columns: list[list[Text]] = []
        for c, cell in enumerate(row):
            lines: list[Text] = []
            if cell.text:
                _layout_flow(cell.text, cell.spans, _NO_PREFIX, _NO_PREFIX, widths[c], lines)
            columns.append(lines)
        height = max(1, *(len(col) for col in columns))
        for y in range(height):
            line = Text()
            for c, col in enumerate(columns):
                if c:
                    line.append(sep, border)
                piece = col[y] if y < len(col) else Text()
                line.append_text(piece)
                if c < ncols - 1:
                    line.append(" " * (widths[c] - piece.cell_len))
            line.rstrip()
            out.append(_make_line(prefix, line.plain, list(line.spans)))
            prefix = rest
        if not header_done and row_index == 0 and all(cell.header for cell in row if cell.text):
            header_done = True
            rule = "─┼─".join(_RULE_CHAR * w for w in widths)
            out.append(_make_line(prefix, rule, [Span(0, len(rule), border)]))


def _column_widths(natural: list[int], room: int, min_col: int = 6) -> list[int] | None:
    """Column widths within ``room`` cells, as browsers do for auto tables: narrow columns
    get their natural width, the wide ones share the rest in proportion. None: too narrow."""
    if sum(natural) <= room:
        return list(natural)
    widths = [0] * len(natural)
    open_cols = list(range(len(natural)))
    while open_cols:
        share = room // len(open_cols)
        narrow = [c for c in open_cols if natural[c] <= share]
        if not narrow:
            break
        for c in narrow:
            widths[c] = natural[c]
            room -= natural[c]
        open_cols = [c for c in open_cols if c not in narrow]
    wanted = sum(natural[c] for c in open_cols)
    for c in open_cols:
        widths[c] = room * natural[c] // wanted if wanted else 0
    if any(widths[c] < min(min_col, natural[c]) for c in open_cols):
        return None
    return widths


def _layout_table_fallback(
    grid: list[list[Cell]], first: Prefix, rest: Prefix, avail: int, out: list[Text]
) -> None:
    """Too wide for columns: one wrapped "row N: cell | cell" paragraph per row."""
    header: list[Cell] | None = None
    if len(grid) > 1 and all(cell.header for cell in grid[0] if cell.text):
        header, grid = grid[0], grid[1:]
    border = STYLES["table.border"]
    for number, row in enumerate(grid, 1):
        line = _Inline()
        line.add_literal(f"row {number}: ", border)
        for c, cell in enumerate(row):
            if not cell.text:
                continue
            if line.length > len(f"row {number}: "):
                line.add_literal(" | ", border)
            if header is not None and c < len(header) and header[c].text:
                line.add_literal(f"{header[c].text}: ", STYLES["table.header"])
            line.spans.extend(_shift(cell.spans, line.length))
            line.add_literal(cell.text)
        text, spans = line.take()
        _layout_flow(text, spans, first, rest, avail, out)
        first = rest


def layout(blocks: Blocks, width: int) -> RenderedDocument:
    """Lay parsed blocks out for a terminal ``width`` cells wide."""
    width = max(1, width)
    out: list[Text] = []
    previous_blank = _NO_PREFIX
    for block in blocks.blocks:
        if block.gap and out:
            # the blank line between two blocks carries only the quote bars they share
            blank = block.blank
            shared = 0
            for a, b in zip(blank.plain, previous_blank.plain, strict=False):
                if a != b:
                    break
                shared += 1
            out.append(_make_line(blank.head(shared).crop(width), "", []))
        previous_blank = block.blank
        if isinstance(block, FlowBlock):
            first, rest, avail = _fit_prefixes(block, width)
            _layout_flow(block.text, block.spans, first, rest, avail, out)
        elif isinstance(block, PreBlock):
            _layout_pre(block, width, out)
        elif isinstance(block, TableBlock):
            _layout_table(block, width, out)
        elif isinstance(block, RuleBlock):
            first, _rest, avail = _fit_prefixes(block, width)
            rule = _RULE_CHAR * avail
            out.append(_make_line(first, rule, [Span(0, len(rule), STYLES["rule"])]))
    if blocks.links:
        _layout_links(blocks.links, width, out)
    return RenderedDocument(out, list(blocks.links), width)


def _layout_links(links: list[Link], width: int, out: list[Text]) -> None:
    if out:
        out.append(Text(""))
    rule = _RULE_CHAR * width
    out.append(Text(rule, spans=[Span(0, width, STYLES["rule"])]))
    title = crop_cells("Links:", width)
    out.append(Text(title, spans=[Span(0, len(title), STYLES["links.title"])]))
    number_style = STYLES["link.number"]
    for link in links:
        marker = f"[{link.number}] "
        block = Block(
            0,
            Prefix(marker, (Span(0, len(marker) - 1, number_style),)),
            Prefix(" " * len(marker)),
            _NO_PREFIX,
        )
        first, rest, avail = _fit_prefixes(block, width)
        _layout_flow(link.url, [], first, rest, avail, out)


def render_html(html: str, width: int, base_url: str | None = None) -> RenderedDocument:
    """Article HTML -> wrapped terminal lines and the numbered links."""
    return layout(html_to_blocks(html, base_url), width)
