"""Article HTML -> ``Blocks``, once per article and independent of the terminal width.

Every piece of outside text goes through ``termnews.sanitize`` on its way in (text with
``clean_text``, link text with ``clean_line``, URLs with ``clean_url``), so the blocks hold
nothing a terminal would act on.
"""

from __future__ import annotations

import html as _html
from html.parser import HTMLParser

from rich.style import Style
from rich.text import Span

from termnews.render.document import (
    NO_PREFIX,
    Block,
    Blocks,
    Cell,
    FlowBlock,
    Inline,
    Link,
    PreBlock,
    Prefix,
    RuleBlock,
    TableBlock,
    plain_blocks,
    resolve_url,
    shift_spans,
)
from termnews.render.state import Container, ListState, OpenInline, TableState
from termnews.render.styles import BULLETS, DD_INDENT, QUOTE_BAR, STYLES, linked
from termnews.render.tags import (
    GAP_BLOCKS,
    INLINE_STYLES,
    LOOKS_LIKE_HTML,
    MEDIA,
    PLAIN_BLOCKS,
    SKIP,
    VOID,
)
from termnews.sanitize import clean_line, clean_text, strip_tags

__all__ = ["html_to_blocks"]


class _Parser(HTMLParser):
    def __init__(self, base_url: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.blocks: list[Block] = []
        self.links: list[Link] = []
        self._link_numbers: dict[str, int] = {}
        self._thumbs: list[tuple[str, str]] = []  # linked thumbnails: listed after the rest
        self._flow = Inline()
        self._gap = 0
        self._containers: list[Container] = []
        self._lists: list[ListState] = []
        self._open: list[OpenInline] = []
        self._skip: list[str] = []
        self._pre: list[str] | None = None
        self._pre_depth = 0
        self._table: TableState | None = None
        self._media: tuple[str, str | None] | None = None  # open <video>/<audio>: kind, src

    # -- sinks ----------------------------------------------------------------------------

    @property
    def _sink(self) -> Inline:
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
            return NO_PREFIX, NO_PREFIX, NO_PREFIX
        first_plain: list[str] = []
        first_spans: list[Span] = []
        rest_plain: list[str] = []
        rest_spans: list[Span] = []
        first_pos = rest_pos = 0
        for container in self._containers:
            first = container.rest if container.used else container.first
            container.used = True
            first_plain.append(first.plain)
            first_spans.extend(shift_spans(first.spans, first_pos))
            first_pos += len(first.plain)
            rest_plain.append(container.rest.plain)
            rest_spans.extend(shift_spans(container.rest.spans, rest_pos))
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
        table.cell = Inline()
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
        self._table = TableState()

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
        return resolve_url(self.base_url, url)

    def _link_number(self, url: str, text: str, image: bool = False) -> int:
        number = self._link_numbers.get(url)
        if number is None:
            number = self._link_numbers[url] = len(self.links) + 1
            self.links.append(Link(number, url, clean_line(text, 200), image))
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
            self._add_text(f"[{kind}: {url}]", linked(STYLES["media"], url))
            self._add_text(f"[{number}]", linked(STYLES["link.number"], url))
        if own_line:
            self._flush()

    # -- HTMLParser callbacks -------------------------------------------------------------

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag in SKIP and tag not in VOID:
                self._skip.append(tag)
            elif tag == "source" and self._media is not None and self._media[1] is None:
                self._media = (self._media[0], dict(attrs).get("src"))
            return
        if tag in SKIP:
            if tag in MEDIA:
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
        if tag in INLINE_STYLES and tag not in PLAIN_BLOCKS and tag not in GAP_BLOCKS:
            self._open.append(
                OpenInline(tag, self._flow.length, STYLES[INLINE_STYLES[tag]], self._flow)
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
            self._lists.append(ListState(tag == "ol", start, len(self._lists)))
        elif tag == "li":
            self._flush()
            self._close_items()
            lst = self._lists[-1] if self._lists else ListState(False, 1, 0)
            if lst.ordered:
                value = dict(attrs).get("value")
                if value and value.strip().lstrip("-").isdigit():
                    lst.counter = int(value)
                marker = f"{lst.counter}. "
                lst.counter += 1
            else:
                marker = BULLETS[min(lst.depth, len(BULLETS) - 1)]
            spans = (Span(0, len(marker) - 1, STYLES["list.marker"]),)
            self._containers.append(
                Container(
                    "li", Prefix(marker, spans), Prefix(" " * len(marker)), level=len(self._lists)
                )
            )
        elif tag == "blockquote":
            self._flush()
            self._want_gap()
            bar = Prefix(QUOTE_BAR, (Span(0, 1, STYLES["quote.bar"]),))
            self._containers.append(Container("quote", bar, bar))
        elif tag == "dd":
            self._flush()
            indent = Prefix(DD_INDENT)
            self._containers.append(Container("dd", indent, indent))
        elif tag in GAP_BLOCKS:
            self._flush()
            self._want_gap()
            if tag in INLINE_STYLES:
                self._open.append(OpenInline(tag, 0, STYLES[INLINE_STYLES[tag]], self._flow))
        elif tag in PLAIN_BLOCKS:
            self._flush()
            if tag in INLINE_STYLES:
                self._open.append(OpenInline(tag, 0, STYLES[INLINE_STYLES[tag]], self._flow))

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
        if tag in INLINE_STYLES or tag == "a":
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
        elif tag in GAP_BLOCKS:
            self._flush()
            self._want_gap()
        elif tag in PLAIN_BLOCKS:
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
        style = linked(STYLES["link"], url) if url is not None else None
        self._open.append(OpenInline("a", start, style, sink, url))

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

    def _append_link_number(self, sink: Inline, entry: OpenInline) -> None:
        """ "[N]" right after the link's text, which is sink's text from entry.start on."""
        assert entry.url is not None
        number = self._link_number(entry.url, "".join(sink.parts)[entry.start :])
        sink.add_literal(f"[{number}]", linked(STYLES["link.number"], entry.url))

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

    def _image_text(self, attrs: list[tuple[str, str | None]]) -> str:
        """Drawn "[image: alt][N]": its address is a numbered link (link list, digit key)."""
        values = dict(attrs)
        alt = clean_line(values.get("alt"), 200)
        text = f"[image: {alt}]" if alt else "[image]"
        url = self._resolve(values.get("src"))
        linked = any(entry.tag == "a" and entry.url for entry in self._open)
        if url is not None and linked:  # a linked thumbnail: the link's number is drawn
            self._thumbs.append((url, text[1:-1]))
        elif url is not None:
            text += f"[{self._link_number(url, text[1:-1], image=True)}]"
        return text

    def _image(self, attrs: list[tuple[str, str | None]]) -> None:
        text, sink = self._image_text(attrs), self._sink
        if not sink.space and sink.length:
            sink.add_literal(" ")
        thumbnail = any(entry.tag == "a" and entry.url for entry in self._open)
        src = None if thumbnail else self._resolve(dict(attrs).get("src"))  # the link's, then
        sink.add_literal(text, linked(STYLES["image"], src))

    def _pre_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert self._pre is not None
        if tag == "pre":
            self._pre_depth += 1
        elif tag == "br":
            self._pre.append("\n")
        elif tag == "a":
            self._open_link(attrs)
        elif tag == "img":
            self._pre.append(self._image_text(attrs))

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
        self, table: TableState, tag: str, attrs: list[tuple[str, str | None]]
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
            elif tag in INLINE_STYLES:
                sink = self._sink
                self._open.append(OpenInline(tag, sink.length, STYLES[INLINE_STYLES[tag]], sink))
        elif tag == "tr":
            self._end_row()
        elif tag in ("td", "th"):
            self._start_cell(tag == "th")
        elif tag == "caption":
            table.caption = table.caption or Inline()
            table.in_caption = True
        elif tag == "img":
            self._image(attrs)
        elif tag == "a":
            self._open_link(attrs)
        elif tag in INLINE_STYLES and tag not in ("th",):
            sink = self._sink
            self._open.append(OpenInline(tag, sink.length, STYLES[INLINE_STYLES[tag]], sink))
        elif (tag in GAP_BLOCKS or tag in PLAIN_BLOCKS or tag == "br") and table.cell is not None:
            table.cell.add_space()

    def _table_endtag(self, table: TableState, tag: str) -> None:
        if tag == "table":
            self._end_table()
        elif table.nested:
            if tag in INLINE_STYLES or tag == "a":
                self._close_inline(tag)
            elif tag in ("td", "th", "p", "div", "li"):
                self._sink.add_space()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "caption":
            table.in_caption = False
        elif tag in INLINE_STYLES or tag == "a":
            self._close_inline(tag)

    def finish(self) -> Blocks:
        self.close()
        while self._table is not None:
            self._table.nested = 0
            self._end_table()
        if self._pre is not None:
            self._end_pre()
        self._flush()
        for url, text in self._thumbs:  # the image's address is in the list all the same
            self._link_number(url, text, image=True)
        return Blocks(self.blocks, self.links)


def html_to_blocks(html: str, base_url: str | None = None) -> Blocks:
    """Parse article HTML (or plain text) into width-independent blocks."""
    if not html:
        return Blocks([], [])
    stripped = html.strip()
    if stripped.startswith("<![CDATA[") and stripped.endswith("]]>"):
        html = stripped[9:-3]
    if LOOKS_LIKE_HTML.search(html) is None:
        return plain_blocks(_html.unescape(html) if "&" in html else html)
    parser = _Parser(base_url)
    try:
        parser.feed(html)
        return parser.finish()
    except (AssertionError, ValueError, IndexError):  # HTMLParser on pathological input
        return plain_blocks(strip_tags(html))
