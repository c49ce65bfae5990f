"""Messages the UI's workers send back to the event loop.

Workers (a refresh thread, a search) never touch widgets: they post one of these and the
app or a screen handles it on the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from termnews.service import FeedRefresh, RefreshReport


@dataclass
class RefreshProgress(Message):
    """One feed of a refresh finished. A burst of these collapses into the latest one
    (`can_replace`), so 150 feeds landing at once redraw the status line a few times, not 150,
    unless a feed brought new articles (that one must still reach the lists)."""

    result: FeedRefresh
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        # Textual asks the older message whether the newer `message` may supersede it.
        return isinstance(message, RefreshProgress) and not self.result.new


@dataclass
class RefreshDone(Message):
    """The whole refresh finished."""

    report: RefreshReport


def failure_summary(failed: list[FeedRefresh]) -> str:
    """One notification for every feed that failed in a refresh, not a stack of toasts."""
    if len(failed) == 1:
        return f"{failed[0].title}: {failed[0].error}"
    shown = "; ".join(f"{r.title}: {r.error}" for r in failed[:3])
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    return f"{len(failed)} feeds failed: {shown}{more}. Highlight one to see why."
