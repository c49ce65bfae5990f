"""Replies to you: comments that answer yours, from every source; Enter opens the discussion
at the reply (and marks it read)."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from termnews.model import CommentSource, Reply
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess

_SOURCES: dict[str, str] = {
    CommentSource.FEED: "site",
    CommentSource.WORDPRESS: "site",
    CommentSource.BOARD: "board",
    CommentSource.HACKERNEWS: "HN",
    CommentSource.LOBSTERS: "Lobsters",
    CommentSource.REDDIT: "Reddit",
    CommentSource.MASTODON: "Mastodon",
    CommentSource.BLUESKY: "Bluesky",
}


def reply_label(reply: Reply) -> Text:
    """Two lines: who, where, on which post, when; then the reply's first line."""
    label = Text(no_wrap=True, overflow="ellipsis")
    label.append("● " if not reply.read else "  ", style="bold")
    label.append(
        clean_line(reply.author, 60) or "anonymous", style="bold" if not reply.read else ""
    )
    label.append(f" · {_SOURCES.get(reply.source, clean_line(reply.source, 20))} · ", style="dim")
    label.append(clean_line(reply.article_title, 80) or "(untitled)")
    when = reply.published or reply.found
    label.append(" · " + time.strftime("%d %b %H:%M", time.localtime(when)), style="dim")
    label.append("\n    ")
    label.append(clean_line(reply.first_line, 200), style="italic")
    return label


class RepliesScreen(TermNewsAccess, ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="close_replies"),
        Binding("m", "toggle_read", "Read/unread", id="toggle_reply_read"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, Reply] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(
                Text(
                    "Replies to your comments — Enter opens the discussion at the reply",
                    style="bold",
                )
            )
            yield OptionList(id="replies")
        yield Footer()

    @property
    def reply_list(self) -> OptionList:
        return self.query_one("#replies", OptionList)

    def on_mount(self) -> None:
        self.reload()
        self.reply_list.focus()

    def reload(self) -> None:
        replies = self.tn_app.service.replies()
        self.replies = {f"reply:{r.id}": r for r in replies}
        options = [Option(reply_label(r), id=key) for key, r in self.replies.items()]
        listing = self.reply_list
        keep = listing.highlighted
        listing.clear_options()
        if options:
            listing.add_options(options)
            listing.highlighted = min(keep or 0, len(options) - 1)
        else:
            empty = "No replies to your comments yet; each refresh looks for them."
            listing.add_option(Option(Text(empty, style="dim"), disabled=True))

    @property
    def current(self) -> Reply | None:
        listing = self.reply_list
        if listing.highlighted is None:
            return None
        return self.replies.get(listing.get_option_at_index(listing.highlighted).id or "")

    @on(OptionList.OptionSelected, "#replies")
    def open_reply(self) -> None:
        from termnews.screens.comments import CommentsScreen

        reply = self.current
        if reply is None:
            return
        service = self.tn_app.service
        article = service.article(reply.article_id)
        if article is None:
            self.tn_app.tell("That post is gone (its feed was removed).", error=True)
            return
        service.mark_reply_read(reply.id)
        screen = CommentsScreen(
            article,
            lambda reply_to: self.tn_app.open_compose(article, reply_to),
            focus=(reply.source, reply.remote_id),
        )
        self.app.push_screen(screen, lambda _: self.reload())

    def action_toggle_read(self) -> None:
        reply = self.current
        if reply is not None:
            self.tn_app.service.mark_reply_read(reply.id, not reply.read)
            self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
