"""Unsent comments: drafts and the outbox of comments waiting to be delivered."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from termnews.comments import CommentError
from termnews.model import OutboxState
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess
from termnews.screens.dialogs import ConfirmScreen
from termnews.widgets.key_bar import KeyBar


class OutboxScreen(TermNewsAccess, ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="close_outbox"),
        Binding("e", "edit", "Edit", id="edit_unsent"),
        Binding("x,delete", "discard", "Discard", id="discard_unsent"),
        Binding("r", "retry", "Retry now", id="retry_outbox"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(
                Text(
                    "Unsent comments — Enter/e edits, x discards, r retries the outbox now",
                    style="bold",
                )
            )
            yield OptionList(id="unsent")
            yield Static("", id="outbox-status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    def reload(self) -> None:
        comments = self.tn_app.service.comments
        options: list[Option] = []
        for draft in comments.drafts():
            article = self.tn_app.service.article(draft.article_id)
            title = clean_line(article.title if article else "(post gone)", 60)
            label = Text.assemble(
                ("draft   ", "bold"), title, ("  " + clean_line(draft.body, 50), "dim")
            )
            options.append(Option(label, id=f"draft:{draft.article_id}"))
        for item in comments.outbox():
            article = self.tn_app.service.article(item.article_id)
            title = clean_line(article.title if article else "(post gone)", 50)
            when = time.strftime("%H:%M", time.localtime(item.next_attempt))
            state = f"{item.state}, try {item.attempts + 1} at {when}"
            if item.state == OutboxState.UNCERTAIN:
                state = f"may have arrived; checked before try {item.attempts + 1} at {when}"
            label = Text.assemble(
                ("outbox  ", "bold"),
                title,
                (f"  {state}", "dim"),
                ("  " + clean_line(item.last_error or "", 60), "italic"),
            )
            options.append(Option(label, id=f"outbox:{item.id}"))
        unsent = self.query_one(OptionList)
        keep = unsent.highlighted
        unsent.clear_options()
        if options:
            unsent.add_options(options)
            # A row is always selected, so e, Enter and x act at once.
            unsent.highlighted = min(keep or 0, len(options) - 1)
        else:
            unsent.add_option(Option(Text("Nothing unsent.", style="dim"), disabled=True))

    def _selected(self) -> tuple[str, int] | None:
        unsent = self.query_one(OptionList)
        if unsent.highlighted is None:
            return None
        key = unsent.get_option_at_index(unsent.highlighted).id or ""
        if ":" not in key:
            return None
        kind, number = key.split(":", 1)
        return kind, int(number)

    @on(OptionList.OptionSelected)
    def action_edit(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, number = selected
        comments = self.tn_app.service.comments
        try:
            article_id = comments.edit_outbox(number).article_id if kind == "outbox" else number
        except CommentError as exc:
            self.tn_app.tell(str(exc), error=True)
            return
        article = self.tn_app.service.article(article_id)
        if article is None:
            self.tn_app.tell("That post is gone; discard its comment with x.", error=True)
            return
        self.dismiss(None)
        self.tn_app.open_compose(article, None)

    def action_discard(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, number = selected
        what = "this unsent comment" if kind == "outbox" else "this draft"

        def answered(sure: bool | None) -> None:
            if not sure:
                return
            comments = self.tn_app.service.comments
            try:
                if kind == "outbox":
                    comments.discard_outbox(number)
                else:
                    comments.discard_draft(number)
            except CommentError as exc:
                self.tn_app.tell(str(exc), error=True)
            self.reload()

        self.app.push_screen(
            ConfirmScreen(f"Discard {what}?", "Its text is lost; it cannot be undone."), answered
        )

    @work(exclusive=True, group="outbox", exit_on_error=False)
    async def action_retry(self) -> None:
        status = self.query_one("#outbox-status", Static)
        status.update("Sending …")
        results = await self.tn_app.service.comments.retry_outbox(force=True)
        status.update(
            Text(" · ".join(clean_line(r.message, 80) for r in results) or "Nothing to send.")
        )
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
