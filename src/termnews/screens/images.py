"""Images in the reader: where a post's pictures go among its lines, drawing them (half
blocks, or Kitty's graphics protocol), and the modal that shows one picture.

Pictures are plain lines of cells (render/pictures.py), so the reader's virtual view keeps
drawing with `render_line`: an inline image is a run of extra lines after the line of its
`[image: alt][N]`. Loading happens in workers through `NewsService.image`; a picture that
cannot be loaded or decoded is a one-line message, never an exception on the screen.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from termnews.errors import TermnewsError
from termnews.sanitize import hyperlink_target
from termnews.widgets.article_view import ArticleView
from termnews.widgets.inert import inert

if TYPE_CHECKING:
    from textual.app import App

    from termnews.images import Picture
    from termnews.render import Link, RenderedDocument
    from termnews.service import NewsService

INLINE_ROWS = 20  # the most rows an inline picture takes
MAX_INLINE = 12  # pictures loaded inline per post; `i` shows any other


def image_anchors(document: RenderedDocument) -> list[tuple[int, Link]]:
    """(line index, link) of each image drawn in the text: the last line of the run of lines
    its `[image: alt][N]` link covers, before the link list."""
    targets: dict[str, Link] = {}
    for link in document.links:
        target = hyperlink_target(link.url) if link.image else None
        if target is not None:
            targets.setdefault(target, link)
    if not targets:
        return []  # no picture: nothing to look for in the lines
    lines = document.lines
    end = len(lines)
    for index in range(len(lines) - 1, 0, -1):
        if lines[index].plain == "Links:":
            end = index - 1
            break
    anchors: dict[str, int] = {}
    ended: set[str] = set()  # images whose first run of lines is over
    before: set[str] = set()
    for index in range(end):
        here: set[str] = set()
        for span in lines[index].spans:
            address = getattr(span.style, "link", None)
            if isinstance(address, str) and address in targets:
                here.add(address)
        ended |= before - here
        for address in here - ended:
            anchors[address] = index
        before = here
    found = [(at, targets[address]) for address, at in anchors.items()]
    return sorted(found, key=lambda item: item[0])


class PicturePainter:
    """Draws pictures as lines for one terminal: half blocks, or Kitty placeholders (each
    picture sent to the terminal once per size, freed when the painter is closed)."""

    def __init__(self, app: App[Any], mode: str) -> None:
        self.app = app
        self.mode = mode  # "kitty" or "halfblock"
        self._sent: dict[tuple[str, int, int], int] = {}  # (address, cols, rows) -> image id
        self._drawn: dict[tuple[str, int, int], list[Text]] = {}  # half-block lines made
        self._ids = itertools.count(random.randrange(1 << 16, 1 << 23))

    def lines(self, url: str, picture: Picture, columns: int, rows: int) -> list[Text]:
        from termnews.render.pictures import fit_cells, halfblock_lines, kitty_lines

        if self.mode != "kitty":
            drawn = self._drawn.get((url, columns, rows))
            if drawn is None:
                if len(self._drawn) > 64:
                    self._drawn.clear()
                drawn = self._drawn[(url, columns, rows)] = halfblock_lines(picture, columns, rows)
            return drawn
        columns, rows = fit_cells(picture, columns, rows)
        key = (url, columns, rows)
        image_id = self._sent.get(key)
        if image_id is None:
            image_id = self._sent[key] = self._next_id()
            self._write_graphics(picture, image_id, columns, rows)
        return kitty_lines(image_id, columns, rows, truecolor=self._truecolor())

    def _truecolor(self) -> bool:
        # The placeholders' colour is the image's number: 24 bits in truecolor, else one
        # of the 256 indexed colours (the output layer downgrades colours it cannot send).
        return self.app.console.color_system == "truecolor"

    def _next_id(self) -> int:
        if self._truecolor():
            return next(self._ids) & 0xFFFFFF or 1
        return next(self._ids) % 255 + 1

    def _write_graphics(self, picture: Picture, image_id: int, columns: int, rows: int) -> None:
        from termnews.render.pictures import kitty_transmit

        self._write(kitty_transmit(picture, picture.rgb, image_id, columns, rows))

    def _write(self, data: str) -> None:
        # Textual has no public way to send bytes that are not cells: its driver's write.
        # The output layer lets a graphics command by without repainting (terminal/hook.py).
        driver = getattr(self.app, "_driver", None)
        if driver is not None and not self.app.is_headless:
            driver.write(data)

    def close(self) -> None:
        from termnews.render.pictures import kitty_delete

        for image_id in self._sent.values():
            self._write(kitty_delete(image_id))
        self._sent.clear()
        self._drawn.clear()


def with_pictures(
    lines: Sequence[Text],
    anchors: list[tuple[int, Link]],
    pictures: dict[str, Picture | str],
    painter: PicturePainter,
    width: int,
    rows: int,
) -> tuple[list[Text], list[tuple[int, Link]]]:
    """The post's lines with each loaded picture after its anchor line (a message in its
    place for one that failed), and where each anchor line is among them."""
    out: list[Text] = []
    shown: list[tuple[int, Link]] = []
    by_line: dict[int, list[Link]] = {}
    for at, link in anchors:
        by_line.setdefault(at, []).append(link)
    for index, line in enumerate(lines):
        out.append(line)
        for link in by_line.get(index, ()):
            shown.append((len(out) - 1, link))
            picture = pictures.get(link.url)
            if isinstance(picture, str):
                out.append(Text(f"[image {link.number}: {picture}]", style="dim", end=""))
            elif picture is not None:
                out.extend(painter.lines(link.url, picture, width, rows))
    return out, shown


class ImageScreen(ModalScreen[None]):
    """One picture, as large as the window allows (with any terminal: half blocks where
    there is no graphics protocol)."""

    BINDINGS = [Binding("escape,q,i", "close", "Close", id="close_image")]
    DEFAULT_CSS = """
    ImageScreen #image-view { height: 1fr; background: $surface; }
    ImageScreen .dialog { height: 90%; }
    """

    def __init__(self, service: NewsService, link: Link, mode: str) -> None:
        super().__init__()
        self.service = service
        self.link = link
        self.painter: PicturePainter | None = None
        self.mode = mode
        self.picture: Picture | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            title = Text.assemble((f"[{self.link.number}] ", "bold"), inert(self.link.url, 300))
            yield Static(title, id="image-title")
            yield Static(Text("Loading the image…", style="italic"), id="image-status")
            yield ArticleView(id="image-view")

    def on_mount(self) -> None:
        self.painter = PicturePainter(self.app, self.mode)
        self.call_after_refresh(self._load)  # once laid out: the picture fits the view

    @work(exclusive=True, group="image", exit_on_error=False)
    async def _load(self) -> None:
        status = self.query_one("#image-status", Static)
        try:
            picture = await self.service.image(self.link.url)
        except TermnewsError as exc:
            status.update(inert(f"Cannot show the image: {exc}", 300))
            return
        except Exception:  # a hostile file must never take the reader down
            status.update(Text("Cannot show the image: it could not be read.", style="bold"))
            return
        self.picture = picture
        status.update(
            Text(f"{picture.width}x{picture.height} pixels — Esc closes", style=Style(dim=True))
        )
        self._paint()

    def _paint(self) -> None:
        """The picture as large as the view is now (not before the view has a size)."""
        view = self.query_one(ArticleView)
        size = view.scrollable_content_region
        if self.picture is None or self.painter is None or not (size.width and size.height):
            return
        view.show(self.painter.lines(self.link.url, self.picture, size.width, size.height))

    def on_resize(self) -> None:
        self.call_after_refresh(self._paint)

    def on_unmount(self) -> None:
        if self.painter is not None:
            self.painter.close()

    def action_close(self) -> None:
        self.dismiss(None)
