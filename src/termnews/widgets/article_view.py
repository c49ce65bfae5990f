"""The reader's body: pre-rendered lines drawn lazily, so a 70k-word post opens like a short one."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as TextualStyle

MAX_CACHED_STRIPS = 400


class ArticleView(ScrollView, can_focus=True):
    """Scrolls through a list of rich Text lines (one per terminal row).

    Link text carries `Style(link=...)` from the renderer (already checked addresses only):
    Textual writes it as an OSC 8 hyperlink the terminal opens on click, never as a Textual
    action. With `hyperlinks` off the links are stripped before drawing."""

    BINDINGS = [
        Binding("j,down", "scroll_line(1)", "Down", show=False, id="line_down"),
        Binding("k,up", "scroll_line(-1)", "Up", show=False, id="line_up"),
        Binding("space,pagedown", "scroll_page(1)", "Page down", show=False, id="page_down"),
        Binding("b,pageup", "scroll_page(-1)", "Page up", show=False, id="page_up"),
        Binding("g,home", "scroll_to_edge(0)", "Top", show=False, id="top"),
        Binding("G,end", "scroll_to_edge(1)", "Bottom", show=False, id="bottom"),
    ]

    DEFAULT_CSS = """
    /* The track is the page's own background: only the thumb is drawn, so a blank row
       ends in one erase to the edge, and a post of another length repaints the thumb's
       rows, not the whole column. Its column is kept for short posts too: every post
       wraps to one width (a post rendered ahead is the one shown, and no line wrapped
       before the scroll bar appeared runs under it). */
    ArticleView {
        background: $surface;
        overflow-x: hidden;
        padding: 0 1;
        scrollbar-background: $surface;
        scrollbar-background-hover: $surface;
        scrollbar-background-active: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;
    }
    """

    class WidthChanged(Message):
        """The text width changed: the owner re-renders at the new width."""

        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    def __init__(
        self,
        *,
        max_width: int = 0,
        hyperlinks: bool = False,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.max_width = max_width  # 0: as wide as the widget
        self.hyperlinks = hyperlinks
        self.lines: Sequence[Text] = []
        # line index -> ((index, width, scroll x, style), the line as drawn)
        self._strips: OrderedDict[int, tuple[tuple[int, int, int, Style], Strip]] = OrderedDict()
        self._pass: tuple[Style, int] | None = None
        self._text_width = 0
        # Lines as drawn with their padding and filters, by the identity of the content
        # strip (kept with it, so the id is not reused): valid for `_framed_key`.
        self._framed = False
        self._framed_key: tuple[object, ...] | None = None
        self._framed_strips: dict[int, tuple[Strip | None, Strip]] = {}

    @property
    def text_width(self) -> int:
        """Columns available for text (what the renderer should wrap to)."""
        width = self.scrollable_content_region.width
        if not self.size.width:
            # Not laid out yet (a post opened in a new reader): guess from the terminal, less
            # the padding and a scroll bar, rather than wrap the first frame at 20 columns and
            # draw the post a second time when the real width arrives.
            width = (
                self.app.size.width - self.styles.gutter.width - self.styles.scrollbar_size_vertical
            )
        width = max(20, width)
        return min(width, self.max_width) if self.max_width else width

    def show(self, lines: Sequence[Text], *, keep_scroll: bool = False) -> None:
        self.lines = lines
        self._strips.clear()
        # No layout pass for it: the view keeps its place on the screen, and a scroll bar
        # appearing or going asks for one itself (ScrollView keeps its own virtual size).
        self.set_reactive(ArticleView.virtual_size, Size(self.text_width, len(lines)))
        # Decide the scroll bar and its thumb now: Textual would only after the next layout,
        # so the new post's first frame would show the old post's scroll bar and a second
        # frame fix it (twice the flicker, and ~250 bytes more per key over SSH).
        self._scroll_update(self.virtual_size)
        if not keep_scroll:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def _scroll_update(self, virtual_size: Size) -> None:
        # Textual's own refreshes the scroll bar at every layout pass, changed or not, once
        # the frame's widgets are picked: a second frame (and its bytes) for every post
        # with a scroll bar. The bar's sizes are reactive: a change draws it anyway.
        refresh_scrollbars = getattr(self, "_refresh_scrollbars", None)
        if callable(refresh_scrollbars):
            refresh_scrollbars()
        vertical_only = self.show_vertical_scrollbar and not self.show_horizontal_scrollbar
        if not (callable(refresh_scrollbars) and vertical_only):
            super()._scroll_update(virtual_size)  # as Textual does
            return
        bar = self.vertical_scrollbar
        bar.window_virtual_size = virtual_size.height
        bar.window_size = self.container_size.height - self.scrollbar_size_horizontal
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def set_hyperlinks(self, on: bool) -> None:
        self.hyperlinks = on
        self._strips.clear()
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        # The style and width are the same for every line of one pass: `rich_style` walks
        # the ancestors and was a third of this widget's rendering time per key.
        self._pass = (self.rich_style, self.scrollable_content_region.width)
        try:
            frame = self._frame()
            if frame is None:
                self._framed = False
                return super().render_lines(crop)
            if not self._framed:
                self._framed = True
                self._styles_cache.clear()  # its lines are not kept up while this draws
            return self._framed_lines(crop, *frame)
        finally:
            self._pass = None

    def _frame(self) -> tuple[Style, int, int, int, int, tuple[LineFilter, ...], Color] | None:
        """What Textual's styles cache would put around each line of this widget (its
        background, the padding left and right, the content and widget widths, the
        app's line filters), when that is only padding: no border, outline, tint, hatch,
        opacity or hover links; and the background the filters blend with. None otherwise
        (Textual then draws it)."""
        styles = self.styles
        top, right, bottom, left = styles.padding
        if top or bottom or any(edge for edge, _ in styles.border):
            return None
        if any(edge for edge, _ in styles.outline) or styles.tint.a:
            return None
        if self.opacity != 1.0 or styles.text_opacity != 1.0:
            return None
        if styles.has_rule("hatch") and styles.hatch != "none":
            return None
        if self._border_title is not None or self._border_subtitle is not None:
            return None
        if self.auto_links and self.hover_style._link_id:
            return None
        base_background, background = self.background_colors
        inner = TextualStyle(background=base_background + background).rich_style
        width = self.region.width
        content_width = self.content_region.width
        filters = tuple(self.get_line_filters())
        return inner, left, right, content_width, width, filters, background

    def _framed_lines(
        self,
        crop: Region,
        inner: Style,
        left: int,
        right: int,
        content_width: int,
        width: int,
        filters: tuple[LineFilter, ...],
        background: Color,
    ) -> list[Strip]:
        """The lines in `crop` as Textual's styles cache would draw them (content line
        fitted to the content width, padded, the app's filters applied), each made once:
        a line scrolled to another row, or drawn again, is reused as it is."""
        key = (inner, left, right, content_width, width, filters)
        framed = self._framed_strips
        if key != self._framed_key or len(framed) > 2 * MAX_CACHED_STRIPS:
            self._framed_key = key
            framed.clear()
        height = self.content_region.height
        strips: list[Strip] = []
        for y in crop.line_range:
            content = self.render_line(y) if y < height else None
            cached = framed.get(id(content))
            if cached is not None and cached[0] is content:
                strips.append(cached[1])
                continue
            if content is None:
                line = Strip.blank(content_width, inner)
            else:
                line = content.adjust_cell_length(content_width, inner)
            segments = list(line)
            if left:
                segments.insert(0, Segment(" " * left, inner))
            if right:
                segments.append(Segment(" " * right, inner))
            strip = Strip(segments, width)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            framed[id(content)] = (content, strip)
            strips.append(strip)
        if crop.column_span != (0, width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        style, width = self._pass or (self.rich_style, self.scrollable_content_region.width)
        index = int(self.scroll_y) + y
        if index >= len(self.lines):
            return Strip.blank(width, style)
        scroll_x = int(self.scroll_x)
        key = (index, width, scroll_x, style)
        strip = self._strips.get(index)
        if strip is None or strip[0] != key:
            segments = list(self.lines[index].render(self.app.console, end=""))
            if not self.hyperlinks:
                segments = list(Segment.strip_links(segments))
            segments = list(Segment.apply_style(segments, style))
            length = Segment.get_line_length(segments)
            if scroll_x == 0 and length <= width:  # the usual case: pad, one Strip not three
                if length < width:
                    segments.append(Segment(" " * (width - length), style))
                drawn = Strip(segments, width)
            else:
                drawn = Strip(segments, length).crop_extend(scroll_x, scroll_x + width, style)
            strip = (key, drawn)
            self._strips[index] = strip
            while len(self._strips) > MAX_CACHED_STRIPS:
                self._strips.popitem(last=False)
        return strip[1]

    def on_resize(self, event: events.Resize) -> None:
        if self.text_width != self._text_width:
            self._text_width = self.text_width
            self.post_message(self.WidthChanged(self.text_width))

    def action_scroll_line(self, delta: int) -> None:
        self.scroll_to(y=self.scroll_y + delta, animate=False)

    def action_scroll_page(self, delta: int) -> None:
        step = max(1, self.scrollable_content_region.height - 2)
        self.scroll_to(y=self.scroll_y + delta * step, animate=False)

    def action_scroll_to_edge(self, end: int) -> None:
        self.scroll_to(y=self.max_scroll_y if end else 0, animate=False)
