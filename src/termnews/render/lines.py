"""``Blocks`` -> Rich ``Text`` lines for one terminal width, and the link list."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.style import Style
from rich.text import Span, Text

from termnews.render.blocks import html_to_blocks
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
    RenderedDocument,
    RuleBlock,
    TableBlock,
    shift_spans,
)
from termnews.render.styles import CODE_INDENT, RULE_CHAR, STYLES, WRAP_MARK, linked
from termnews.render.wrap import chop, wrap_positions
from termnews.sanitize import crop_cells, is_single_cell

__all__ = ["layout", "render_html"]


TEXT_SLOTS = (
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
    if tuple(getattr(Text, "__slots__", ())) != TEXT_SLOTS:
        return _text_by_constructor
    try:
        spans = [Span(0, 2, Style(bold=True))]
        fast, slow = _text_by_slots("ab c", list(spans)), Text("ab c", spans=list(spans))
        if all(getattr(fast, slot) == getattr(slow, slot) for slot in TEXT_SLOTS):
            return _text_by_slots
    except (AttributeError, TypeError):
        pass
    return _text_by_constructor


# Rich's Text for a line known to be clean (no control codes); also for kept renders.
new_text = _pick_text_factory()


def _make_line(prefix: Prefix, body: str, spans: list[Span]) -> Text:
    if prefix.plain:
        shift = len(prefix.plain)
        all_spans = list(prefix.spans)
        all_spans.extend(Span(s.start + shift, s.end + shift, s.style) for s in spans)
        return new_text(prefix.plain + body, all_spans)
    return new_text(body, spans)


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
    indent = CODE_INDENT if avail > 20 else ""
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
            pieces = [line] if cell_len(line) <= avail else chop(line, avail)
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            body = indent + piece
            spans = [Span(len(indent), len(body), style)]
            if index < last and cell_len(body) < avail + len(indent):
                spans.append(Span(len(body), len(body) + 1, marker))
                body += WRAP_MARK
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
                _layout_flow(cell.text, cell.spans, NO_PREFIX, NO_PREFIX, widths[c], lines)
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
            rule = "─┼─".join(RULE_CHAR * w for w in widths)
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
        line = Inline()
        line.add_literal(f"row {number}: ", border)
        for c, cell in enumerate(row):
            if not cell.text:
                continue
            if line.length > len(f"row {number}: "):
                line.add_literal(" | ", border)
            if header is not None and c < len(header) and header[c].text:
                line.add_literal(f"{header[c].text}: ", STYLES["table.header"])
            line.spans.extend(shift_spans(cell.spans, line.length))
            line.add_literal(cell.text)
        text, spans = line.take()
        _layout_flow(text, spans, first, rest, avail, out)
        first = rest


def layout(blocks: Blocks, width: int) -> RenderedDocument:
    """Lay parsed blocks out for a terminal ``width`` cells wide."""
    width = max(1, width)
    out: list[Text] = []
    previous_blank = NO_PREFIX
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
            rule = RULE_CHAR * avail
            out.append(_make_line(first, rule, [Span(0, len(rule), STYLES["rule"])]))
    if blocks.links:
        _layout_links(blocks.links, width, out)
    return RenderedDocument(out, list(blocks.links), width)


def _layout_links(links: list[Link], width: int, out: list[Text]) -> None:
    if out:
        out.append(Text(""))
    rule = RULE_CHAR * width
    out.append(Text(rule, spans=[Span(0, width, STYLES["rule"])]))
    title = crop_cells("Links:", width)
    out.append(Text(title, spans=[Span(0, len(title), STYLES["links.title"])]))
    for link in links:
        marker = f"[{link.number}] "
        number_style = linked(STYLES["link.number"], link.url) or STYLES["link.number"]
        url_style = linked(None, link.url)  # the address itself is clickable too
        spans = [Span(0, len(link.url), url_style)] if url_style is not None else []
        block = Block(
            0,
            Prefix(marker, (Span(0, len(marker) - 1, number_style),)),
            Prefix(" " * len(marker)),
            NO_PREFIX,
        )
        first, rest, avail = _fit_prefixes(block, width)
        _layout_flow(link.url, spans, first, rest, avail, out)


def render_html(html: str, width: int, base_url: str | None = None) -> RenderedDocument:
    """Article HTML -> wrapped terminal lines and the numbered links."""
    return layout(html_to_blocks(html, base_url), width)
