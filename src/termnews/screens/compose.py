"""The comment compose modal: says where the comment goes and as whom; never loses a draft."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, Select, Static, TextArea

from termnews.comments import CommentInfo, CommentTarget, PostOutcome, PostResult, reply_parent
from termnews.comments.length import reply_length
from termnews.config import split_command
from termnews.model import ArticleDetail, Comment, CommentSource, Draft, TargetKind
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess
from termnews.widgets.inert import inert
from termnews.widgets.key_bar import KeyBar

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
        # Only when the reply cannot be sent from here (HN, Lobsters, Reddit): its address.
        Binding("ctrl+y", "copy_thread", "Copy thread URL", priority=True, id="copy_thread_url"),
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
    ComposeScreen #count { height: 1; text-align: right; }
    ComposeScreen #read-only { height: auto; margin: 1 0; }
    ComposeScreen.read-only #compose { height: auto; }
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
        self.info = for_reply(info, reply_to)
        self.reply_to = reply_to
        # Why this reply cannot be sent from termnews, and where it can be written instead.
        self.read_only = read_only(self.info, reply_to, article)
        self._save_timer: Timer | None = None
        self._sending = False
        # Set once the comment went out (or into the outbox): from then on this modal's
        # text is no draft, and a quit or hang-up before it closes must not save it again.
        self._handed_over = False

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        about = Text.assemble(("Comment on ", "dim"), (clean_line(self.article.title, 120), "bold"))
        if self.reply_to is not None:
            about.append(f"\nin reply to {clean_line(self.reply_to.author, 60)}", style="dim")
        with Vertical(id="compose"):
            yield Static(about, id="about")
            if self.read_only is None:
                yield from self._fields()
            else:
                message, where = self.read_only
                text = Text(message, style="bold")
                if where:
                    text.append("\n" + clean_line(where, 300), style="underline")
                    text.append("\nctrl+y copies the address.", style="dim")
                yield Static(text, id="read-only")
        yield KeyBar()

    def _fields(self) -> ComposeResult:
        service = self.tn_app.service
        draft = service.comments.draft(self.article.id)
        # Whose name goes with a comment: what was last used on this site (else anywhere,
        # else the profile), or on a shared host the member's (never the operator's).
        name, email, url = service.comments.signature_for(self.article)
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
        yield Static("", id="count")
        yield Static("", id="result")

    def _initial_target(self, draft: Draft | None) -> int:
        if draft and draft.target:
            for index, target in enumerate(self.info.targets):
                if target.kind == draft.target:
                    return index
        return 0

    def on_mount(self) -> None:
        self._fit()
        if self.read_only is not None:
            self.add_class("read-only")  # a few lines, not a tall empty box
            return
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
        # The board knows you, and on Mastodon and Bluesky the account is the identity.
        needs_identity = target.kind not in _ACCOUNT_KINDS
        hint = self.tn_app.service.comments.profile_hint() if needs_identity else None
        reason = self.info.reason if needs_identity else None  # about the site, not the account
        notes = [n for n in (target.note, reason, hint) if n]
        self.query_one("#note", Static).update(Text(clean_line("; ".join(notes), 300)))
        self.query_one("#identity-fields").display = needs_identity
        self.query_one("#why-email").display = target.needs_email
        self._show_count()

    def _length(self) -> tuple[int, int] | None:
        """(characters as the service counts them, its limit), where it has one."""
        target = self.target
        if target.max_chars is None:
            return None
        text = self.query_one("#body", TextArea).text
        return reply_length(text, target.kind), target.max_chars

    def _show_count(self) -> None:
        counter = self.query_one("#count", Static)
        length = self._length()
        counter.display = length is not None
        if length is not None:
            used, limit = length
            style = "bold red" if used > limit else "dim"
            counter.update(Text(f"{used} / {limit} characters", style=style))

    @on(Select.Changed, "#target")
    def target_changed(self) -> None:
        self._show_target()
        self._schedule_save()

    # -- drafts -------------------------------------------------------------------------

    @on(TextArea.Changed)
    @on(Input.Changed)
    def changed(self) -> None:
        if self.read_only is None:
            self._show_count()
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
        if self._sending or self._handed_over or self.read_only is not None:
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
        if self.read_only is None and self.query_one("#body", TextArea).text.strip():
            self.tn_app.tell("Draft kept: C on this post opens it again.")
        self.dismiss(ComposeResultInfo(None))

    def action_send(self) -> None:
        if self.read_only is not None:
            self.tn_app.tell(self.read_only[0])
            return
        draft = self.current_draft()
        target = self.target
        problem = None
        length = self._length()
        if not draft.body.strip():
            problem = "Write something first."
        elif length is not None and length[0] > length[1]:
            where = "Bluesky" if target.kind == TargetKind.BLUESKY else target.host
            problem = (
                f"Too long to send: {length[0]} characters, and {where} takes at most "
                f"{length[1]}. Shorten it first."
            )
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

    def action_copy_thread(self) -> None:
        if self.read_only is not None and self.read_only[1]:
            self.tn_app.copy_url(self.read_only[1])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_thread":
            return self.read_only is not None and bool(self.read_only[1])
        if action in ("send", "edit_external"):
            return self.read_only is None
        return True

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


# -- which targets a reply may go to --------------------------------------------------

_ACCOUNT_KINDS = (TargetKind.BOARD, TargetKind.MASTODON, TargetKind.BLUESKY)
_REPLIED_ON: dict[str, TargetKind] = {
    CommentSource.MASTODON: TargetKind.MASTODON,
    CommentSource.BLUESKY: TargetKind.BLUESKY,
}
_READ_ONLY: dict[str, str] = {
    CommentSource.HACKERNEWS: "HN",
    CommentSource.LOBSTERS: "Lobsters",
    CommentSource.REDDIT: "Reddit",
}


def for_reply(info: CommentInfo, reply_to: Comment | None) -> CommentInfo:
    """The targets a reply can go to: a Mastodon (Bluesky) comment is answered on Mastodon
    (Bluesky) only; HN, Lobsters and Reddit take no replies from here; a site comment is
    answered on the site (or the board), never in an outside thread."""
    if reply_to is None:
        return info
    kind = _REPLIED_ON.get(reply_to.source)
    if kind is not None:
        return replace(info, targets=[t for t in info.targets if t.kind == kind])
    if reply_to.source in _READ_ONLY:
        return replace(info, targets=[])
    outside = (TargetKind.MASTODON, TargetKind.BLUESKY)
    return replace(info, targets=[t for t in info.targets if t.kind not in outside])


def read_only(
    info: CommentInfo, reply_to: Comment | None, article: ArticleDetail
) -> tuple[str, str | None] | None:
    """(why nothing can be sent from here, the address to reply at instead), or None."""
    if info.targets:
        return None
    where = (reply_to.link if reply_to else None) or info.page_url or article.link
    source = reply_to.source if reply_to else None
    if source in _READ_ONLY:
        label = _READ_ONLY[source]
        return f"{label} is read-only in termnews: reply on {label} itself, at", where
    if source == CommentSource.MASTODON:
        return (
            "No Mastodon account to reply with: set discussions.mastodon_instance and "
            "discussions.mastodon_token (members of a shared host cannot). The status:",
            where,
        )
    if source == CommentSource.BLUESKY:
        return (
            "No Bluesky account to reply with: set discussions.bluesky_handle and "
            "discussions.bluesky_app_password (members of a shared host cannot). The post:",
            where,
        )
    return info.reason or "No comment can be sent from here. The comment page:", where
