"""The comment compose modal: says where the comment goes and as whom; never loses a draft."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from termnews.comments import CommentInfo, CommentTarget, PostOutcome, PostResult, reply_parent
from termnews.config import split_command
from termnews.model import ArticleDetail, Comment, Draft, TargetKind
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess
from termnews.widgets.inert import inert

SAVE_DELAY = 0.4  # seconds of quiet typing before the draft is written
COMPACT_BELOW = 24  # rows: under this the modal folds its fields to one line each


@dataclass(slots=True)
class ComposeResultInfo:
    """What the modal closed with: a delivery result, or None when kept as a draft."""

    result: PostResult | None


class ComposeScreen(TermNewsAccess, ModalScreen[ComposeResultInfo]):
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", priority=True, id="send_comment"),
        Binding("escape", "keep", "Keep draft & close", priority=True, id="keep_draft"),
        # priority: the body TextArea would otherwise take ctrl+e as "end of line".
        Binding("ctrl+e", "edit_external", "Edit in $EDITOR", priority=True, id="external_editor"),
        # priority: the text fields would otherwise swallow it; quitting keeps the draft.
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True, id="quit_compose"),
    ]

    DEFAULT_CSS = """
    ComposeScreen { align: center middle; }
    ComposeScreen #compose { width: 100; max-width: 100%; height: 34; max-height: 100%;
        padding: 0 1; background: $panel; border: thick $primary; }
    ComposeScreen #body { height: 1fr; min-height: 3; }
    ComposeScreen .fields { height: auto; }
    ComposeScreen .fields Input { width: 1fr; }
    ComposeScreen #where { color: $text; text-style: bold; }
    ComposeScreen #why-email, ComposeScreen #note { color: $text-muted; }
    ComposeScreen #result { color: $error; height: auto; }
    ComposeScreen.compact #compose { border: none; padding: 0; height: 100%; }
    ComposeScreen.compact #about, ComposeScreen.compact #why-email { display: none; }
    ComposeScreen.compact #note { max-height: 1; }
    ComposeScreen.compact Input { height: 1; border: none; padding: 0 1; }
    ComposeScreen.compact SelectCurrent { height: 1; border: none; padding: 0 1; }
    ComposeScreen.compact #body { min-height: 3; border: none; }
    """

    def __init__(
        self,
        article: ArticleDetail,
        info: CommentInfo,
        *,
        reply_to: Comment | None = None,
    ) -> None:
        super().__init__()
        self.article = article
        self.info = info
        self.reply_to = reply_to
        self._save_timer: Timer | None = None
        self._sending = False
        # Set once the comment went out (or into the outbox): from then on this modal's
        # text is no draft, and a quit or hang-up before it closes must not save it again.
        self._handed_over = False

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        service = self.tn_app.service
        draft = service.comments.draft(self.article.id)
        # Whose name goes with a comment: what was last used on this site (else anywhere,
        # else the profile), or on a shared host the member's (never the operator's).
        name, email, url = service.comments.signature_for(self.article)
        about = Text.assemble(("Comment on ", "dim"), (clean_line(self.article.title, 120), "bold"))
        if self.reply_to is not None:
            about.append(f"\nin reply to {clean_line(self.reply_to.author, 60)}", style="dim")
        with Vertical(id="compose"):
            yield Static(about, id="about")
            targets = self.info.targets
            if len(targets) > 1:
                yield Select(
                    [(inert(t.label, 90), index) for index, t in enumerate(targets)],
                    value=self._initial_target(draft),
                    allow_blank=False,
                    id="target",
                )
            yield Label("", id="where")
            yield Static("", id="note")
            with Horizontal(classes="fields", id="identity-fields"):
                yield Input(
                    name if service.restricted or not (draft and draft.author) else draft.author,
                    placeholder="Name",
                    id="author",
                    disabled=service.restricted,
                )
                yield Input(
                    draft.email if draft and draft.email else email,
                    placeholder="E-mail",
                    id="email",
                )
                yield Input(
                    draft.url if draft and draft.url else url,
                    placeholder="Website (optional)",
                    id="url",
                )
            yield Static(
                "WordPress requires a name and an e-mail address with every comment; "
                "the site does not publish the e-mail.",
                id="why-email",
            )
            yield TextArea(draft.body if draft else "", id="body", soft_wrap=True)
            yield Static("", id="result")
        yield Footer()

    def _initial_target(self, draft: Draft | None) -> int:
        if draft and draft.target:
            for index, target in enumerate(self.info.targets):
                if target.kind == draft.target:
                    return index
        return 0

    def on_mount(self) -> None:
        self._fit()
        self._show_target()
        self.query_one("#body", TextArea).focus()
        if self.service_draft_exists():
            self.query_one("#result", Static).update(
                Text("Your unsent draft is back. ctrl+s sends it.", style="bold")
            )

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Small terminals: fields fold to one line each so the body keeps its rows."""
        self.set_class(self.app.size.height < COMPACT_BELOW, "compact")

    def service_draft_exists(self) -> bool:
        return self.tn_app.service.comments.draft(self.article.id) is not None

    @property
    def target(self) -> CommentTarget:
        targets = self.info.targets
        if len(targets) > 1:
            value = self.query_one("#target", Select).value
            if isinstance(value, int):
                return targets[value]
        return targets[0]

    def _show_target(self) -> None:
        target = self.target
        where = self.query_one("#where", Label)
        where.update(Text(f"Goes {clean_line(target.label, 120)}"))
        hint = (
            self.tn_app.service.comments.profile_hint() if target.kind != TargetKind.BOARD else None
        )
        notes = [n for n in (target.note, self.info.reason, hint) if n]
        self.query_one("#note", Static).update(Text(clean_line("; ".join(notes), 300)))
        needs_identity = target.kind != TargetKind.BOARD
        self.query_one("#identity-fields").display = needs_identity
        self.query_one("#why-email").display = target.needs_email

    @on(Select.Changed, "#target")
    def target_changed(self) -> None:
        self._show_target()
        self._schedule_save()

    # -- drafts -------------------------------------------------------------------------

    @on(TextArea.Changed)
    @on(Input.Changed)
    def changed(self) -> None:
        self._schedule_save()

    def _schedule_save(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.save_draft)

    def current_draft(self) -> Draft:
        return Draft(
            article_id=self.article.id,
            identity=self.tn_app.service.identity.name,
            body=self.query_one("#body", TextArea).text,
            author=self.query_one("#author", Input).value.strip(),
            email=self.query_one("#email", Input).value.strip(),
            url=self.query_one("#url", Input).value.strip(),
            parent_id=reply_parent(self.reply_to, self.target.kind),
            target=self.target.kind,
        )

    def save_draft(self) -> None:
        """Write the draft now (also called on quit, SIGHUP and SIGTERM)."""
        if self._sending or self._handed_over:
            return
        draft = self.current_draft()
        comments = self.tn_app.service.comments
        if draft.body.strip():
            comments.save_draft(draft)
        elif comments.draft(self.article.id) is not None:
            comments.discard_draft(self.article.id)

    # -- actions ------------------------------------------------------------------------

    async def action_quit_app(self) -> None:
        """ctrl+q quits from here too; the app writes this draft on the way out."""
        await self.tn_app.action_quit()

    def action_keep(self) -> None:
        for select in self.query(Select):
            if select.expanded:  # Escape first closes an open target menu
                select.expanded = False
                return
        self.save_draft()
        if self.query_one("#body", TextArea).text.strip():
            self.tn_app.tell("Draft kept: C on this post opens it again.")
        self.dismiss(ComposeResultInfo(None))

    def action_send(self) -> None:
        draft = self.current_draft()
        target = self.target
        problem = None
        if not draft.body.strip():
            problem = "Write something first."
        elif (
            target.kind != TargetKind.BOARD
            and target.needs_email
            and not (draft.author and draft.email)
        ):
            problem = "This site needs a name and an e-mail address."
        if problem:
            self.query_one("#result", Static).update(Text(problem, style="bold"))
            return
        self.save_draft()
        self.send(draft, target)

    @work(exclusive=True, group="send-comment", exit_on_error=False)
    async def send(self, draft: Draft, target: CommentTarget) -> None:
        status = self.query_one("#result", Static)
        status.update(Text(f"Sending {clean_line(target.label, 100)} …", style="bold"))
        self._sending = True
        try:
            result = await self.tn_app.service.comments.post(self.article, draft, target)
        finally:
            self._sending = False
        if result.outcome is PostOutcome.REJECTED:
            # The site said no: keep the modal open so the comment can be fixed.
            status.update(Text(clean_line(result.message, 300), style="bold"))
            return
        self._handed_over = True
        self.dismiss(ComposeResultInfo(result))

    def action_edit_external(self) -> None:
        if self.tn_app.service.restricted:
            self.tn_app.tell("No external editor on this host.")
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.tn_app.tell("Set $VISUAL or $EDITOR to edit comments in your editor.")
            return
        area = self.query_one("#body", TextArea)
        with tempfile.NamedTemporaryFile(
            "w", suffix=".txt", prefix="termnews-comment-", delete=False, encoding="utf-8"
        ) as handle:
            handle.write(area.text)
            path = Path(handle.name)
        try:
            with self.app.suspend():
                subprocess.call([*split_command(editor), str(path)])
            area.text = path.read_text(encoding="utf-8")
        except OSError as exc:
            self.tn_app.tell(f"Could not run {editor}: {exc}", error=True)
        finally:
            path.unlink(missing_ok=True)
        self.save_draft()
