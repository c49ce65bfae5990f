"""The reader's download line: the file, a bar, bytes (of the total when known), rate."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from termnews.download import DownloadProgress
from termnews.widgets.inert import inert

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1  # a fast download calls back per chunk: redraw at most this often


class DownloadBar(Static):
    """Hidden until a download starts; `show_progress` redraws it (throttled)."""

    DEFAULT_CSS = """
    DownloadBar { height: 1; background: $panel; padding: 0 1; display: none; }
    DownloadBar.-active { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.progress: DownloadProgress | None = None
        self._drawn = 0.0

    def start(self, name: str) -> None:
        self.progress = None
        self.add_class("-active")
        self.update(Text.assemble(("Downloading ", "bold"), inert(name, 80), " …"))

    def show_progress(self, progress: DownloadProgress, *, force: bool = False) -> None:
        self.progress = progress
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS:
            return
        self._drawn = now
        self.update(self.line(progress))

    @staticmethod
    def line(progress: DownloadProgress) -> Text:
        """ "⬇ ep2.mp3 [██████····] 12.3 MB of 46 MB · 1.2 MB/s — D or Esc cancels" """
        text = Text.assemble(("⬇ ", "bold"), inert(progress.name, 60), " ")
        fraction = progress.fraction
        if fraction is not None:
            filled = round(fraction * BAR_WIDTH)
            text.append("█" * filled, style="bold")
            text.append("·" * (BAR_WIDTH - filled), style="dim")
            text.append(f" {fraction:4.0%} ")
        text.append(progress.line())
        text.append(" — D or Esc cancels", style="dim")
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    def stop(self) -> None:
        self.progress = None
        self.remove_class("-active")
        self.update("")
