"""The discussion under a post: threaded, sanitized, cached for offline reading."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from termnews.comments import CommentError, CommentInfo, Threaded, thread
from termnews.comments.discussions import SourceHeader
from termnews.model import ArticleDetail, Comment, CommentSource, CommentStatus
from termnews.remote import hyperlinks_on
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess
from termnews.widgets.article_view import ArticleView
from termnews.widgets.key_bar import KeyBar

MAX_INDENT_LEVELS = 8
_SOURCE_LABELS: dict[str, str] = {
    CommentSource.BOARD: "board",
    CommentSource.SENT: "sent by you",
    CommentSource.HACKERNEWS: "HN",
    CommentSource.LOBSTERS: "Lobsters",
    CommentSource.REDDIT: "Reddit",
    CommentSource.MASTODON: "Mastodon",
    CommentSource.BLUESKY: "Bluesky",
}


# The outside services, in the order their sections follow the site's own comments.
_OUTSIDE = (
    CommentSource.HACKERNEWS,
    CommentSource.LOBSTERS,
    CommentSource.REDDIT,
    CommentSource.MASTODON,
    CommentSource.BLUESKY,
)


def group_of(comment: Comment) -> str:
    """The section a thread is shown in: "site", "board" or an outside service."""
    if comment.source in _OUTSIDE or comment.source == CommentSource.BOARD:
        return str(comment.source)
    return "site"


def by_source(threaded: list[Threaded]) -> list[Threaded]:
    """Whole threads (a root and its replies) grouped by the root's section, in thread
    order within each: the site's, the board's, then HN, Lobsters, Reddit, Mastodon, Bluesky."""
    order = ["site", CommentSource.BOARD, *_OUTSIDE]
    blocks: dict[str, list[Threaded]] = {}
    current: list[Threaded] = []
    for item in threaded:
        if item.depth == 0 or not current:
            current = blocks.setdefault(group_of(item.comment), [])
        current.append(item)
    return [item for key in order for item in blocks.get(key, [])]


class CommentsHeader(Static):
    DEFAULT_CSS = """
    CommentsHeader { background: $panel; padding: 0 1; height: auto; max-height: 10; }
    """


class CommentsScreen(TermNewsAccess, Screen[None]):
    BINDINGS = [
        Binding("q,escape", "close", "Back", id="close_comments"),
        Binding("C", "compose", "Comment", id="compose"),
        Binding("r", "reply", "Reply", id="reply"),
        Binding("tab,right_square_bracket", "select(1)", "Next comment", id="next_comment"),
        Binding(
            "shift+tab,left_square_bracket", "select(-1)", "Prev comment", id="previous_comment"
        ),
        Binding("z", "fold", "Fold source", id="fold_source"),
        Binding("ctrl+r", "reload", "Reload", id="reload_comments"),
        Binding("y", "copy_page", "Copy page URL", show=False, id="copy_comment_page"),
    ]

    def __init__(
        self,
        article: ArticleDetail,
        on_compose: Callable[[Comment | None], None],
        *,
        focus: tuple[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.article = article
        self.on_compose = on_compose
        # (source, remote id) of a comment to select when it shows (a reply to you), until
        # the user selects another.
        self.focus_on = focus
        self.comments: list[Threaded] = []
        self.sources: list[SourceHeader] = []  # one line per outside discussion
        self.starts: dict[int, int] = {}  # first line in the view of each comment shown
        self.folded: set[str] = set()  # sections shown as their header line only
        self.groups: list[str] = []  # each comment's section, by position
        self.selected = -1
        self.info: CommentInfo | None = None
        self.state = "Loading comments …"
        # Each comment's body as terminal lines, by (position, width): selecting another
        # comment redraws headers only, never the HTML.
        self._bodies: dict[tuple[int, int], list[Text]] = {}

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    def compose(self) -> ComposeResult:
        yield CommentsHeader(id="comments-header")
        settings = self.tn_app.service.settings
        yield ArticleView(
            max_width=settings.reader_width,
            hyperlinks=hyperlinks_on(settings.hyperlinks),
            id="comments-view",
        )
        yield KeyBar()

    def on_mount(self) -> None:
        self.view.focus()
        self.show(self.tn_app.service.comments.cached(self.article.id))
        self.load()

    # -- data ------------------------------------------------------------------------

    @work(exclusive=True, group="load-comments", exit_on_error=False)
    async def load(self, force: bool = False) -> None:
        """Read the discussion (outside ones only when due, unless `force`: ctrl+r)."""
        comments_service = self.tn_app.service.comments
        try:
            self.info = await comments_service.info(self.article)
        except Exception as exc:  # where comments go is a nicety; reading goes on
            self.state = f"Could not check the post's site: {exc}"
        try:
            comments = await comments_service.load(self.article, force=force)
            self.state = ""
        except CommentError as exc:
            comments = comments_service.cached(self.article.id)
            self.state = f"Offline copy: {exc}"
        self.show(comments)

    def show(self, comments: list[Comment]) -> None:
        self.comments = by_source(thread(comments))
        self.groups = [group_of(item.comment) for item in self.comments]
        self.sources = self.tn_app.service.comments.discussion_headers(self.article.id)
        self._bodies.clear()
        focused = self._find_focus()
        if focused is not None:
            self.selected = focused
        self._draw()
        if focused is not None:
            # After the new lines are laid out: scrolling before that is clamped to nothing.
            y = self.starts[focused]
            self.call_after_refresh(self.view.scroll_to, y=y, animate=False)

    def _find_focus(self) -> int | None:
        if self.focus_on is None:
            return None
        source, remote_id = self.focus_on
        listed = (CommentSource.FEED, CommentSource.WORDPRESS)  # one id space: see merge
        fallback = None
        for index, item in enumerate(self.comments):
            comment = item.comment
            if comment.remote_id != remote_id:
                continue
            if comment.source == source:
                return index
            # What this reader sent is kept as "sent" under the id its service gave it.
            if (source in listed and comment.source in listed) or source == CommentSource.SENT:
                fallback = index
        return fallback

    def _body(self, index: int, width: int) -> list[Text]:
        lines = self._bodies.get((index, width))
        if lines is None:
            html = self.comments[index].comment.content_html
            lines = list(self.tn_app.service.render_fragment(html, width).lines)
            self._bodies[(index, width)] = lines
        return lines

    def _draw(self) -> None:
        width = self.view.text_width
        lines: list[Text] = []
        self.starts = {}
        groups = self.groups
        sections = len(set(groups)) > 1 or any(g != "site" for g in groups)
        chosen = groups[self.selected] if 0 <= self.selected < len(groups) else None
        for index, item in enumerate(self.comments):
            group = groups[index]
            folded = sections and group in self.folded
            if sections and (index == 0 or groups[index - 1] != group):
                self.starts[index] = len(lines)
                lines.append(self._section_line(group, folded, folded and group == chosen))
            if folded:
                continue
            depth = min(item.depth, MAX_INDENT_LEVELS)
            prefix = "  " * depth
            self.starts[index] = len(lines)
            lines.append(self._comment_header(item.comment, prefix, index == self.selected))
            bar = Text(prefix + "│ ", style="dim")
            for line in self._body(index, max(20, width - len(prefix) - 2)):
                lines.append(Text.assemble(bar, line))
            lines.append(Text(""))
        if not self.comments:
            lines.append(Text("No comments yet.", style="dim italic"))
        self.view.show(lines, keep_scroll=True)
        self.query_one(CommentsHeader).update(self._header())

    def _section_line(self, group: str, folded: bool, selected: bool) -> Text:
        """ "▾ HN 87 points · 6 comments": a section's title; "▸ … (z unfolds)" folded."""
        count = self.groups.count(group)
        comments = f"{count} comment{'s' if count != 1 else ''}"
        if group == "site":
            host = urlsplit(self.article.link or "").hostname or "the post's site"
            title = f"On {host} · {comments}"
        elif group == CommentSource.BOARD:
            title = f"On this host's board · {comments}"
        else:
            known = [h.header for h in self.sources if h.service == group and h.header]
            title = known[0] if known else f"{_SOURCE_LABELS.get(group, group)} · {comments}"
        line = Text("▸ " if folded else "▾ ", style="bold")
        line.append(clean_line(title, 100), style="bold underline")
        if folded:
            line.append("  folded: z shows them", style="dim italic")
        if selected:
            line.stylize("reverse")
        return line

    def _comment_header(self, comment: Comment, prefix: str, selected: bool) -> Text:
        line = Text(prefix)
        line.append("▸ " if selected else "• ", style="bold")
        line.append(clean_line(comment.author, 60) or "anonymous", style="bold")
        if comment.published:
            stamp = time.strftime("%d %b %Y %H:%M", time.localtime(comment.published))
            line.append(f" · {stamp}", style="dim")
        if comment.status is CommentStatus.PENDING:
            line.append(" · held for moderation", style="italic")
        source = _SOURCE_LABELS.get(comment.source)
        if source:
            line.append(f" · {source}", style="dim")
        if selected:
            line.stylize("reverse")
        return line

    def _header(self) -> Text:
        header = Text()
        header.append(f"{len(self.comments)} comments on ", style="dim")
        header.append(clean_line(self.article.title, 120), style="bold")
        for source in self.sources:
            header.append("\n")
            if source.header:
                header.append(clean_line(source.header, 80), style="bold")
                if source.url:
                    header.append(f"  {clean_line(source.url, 100)}", style="dim")
            if source.error:
                header.append(
                    ("  " if source.header else "") + clean_line(source.error, 120), style="italic"
                )
        if self.info is not None:
            header.append("\n")
            if self.info.targets:
                where = clean_line(self.info.targets[0].label, 100)
                header.append("Write: C goes " + where, style="dim")
            else:
                header.append("No comment can be sent from termnews here.", style="dim")
            if self.info.reason:
                header.append(f"\n{clean_line(self.info.reason, 200)}", style="italic")
                if self.info.page_url:
                    header.append(" (y copies the comment page's address)", style="italic")
        if self.state:
            header.append(f"\n{clean_line(self.state, 200)}", style="italic")
        return header

    # -- actions ------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.state = "Reloading …"
        self.query_one(CommentsHeader).update(self._header())
        self.load(force=True)

    def sent(self, comment: Comment | None) -> None:
        """A comment went out from the compose modal: reload, and select it once it shows."""
        if comment is not None:
            self.focus_on = (comment.source, comment.remote_id)
        self.action_reload()

    def _stops(self) -> list[int]:
        """What Tab steps through: every comment shown, and each folded section once."""
        stops = []
        for index, group in enumerate(self.groups):
            if group not in self.folded or index == 0 or self.groups[index - 1] != group:
                stops.append(index)
        return stops

    def action_select(self, delta: int) -> None:
        self.focus_on = None  # the user picks from here on
        if not self.comments:
            return
        stops = self._stops()
        if self.selected in stops:
            at = stops.index(self.selected) + delta
        else:
            at = 0 if delta > 0 else len(stops) - 1
        self.selected = stops[max(0, min(len(stops) - 1, at))]
        self._draw()
        self.view.scroll_to(y=self.starts.get(self.selected, 0), animate=False)

    def action_fold(self) -> None:
        """Fold the selected comment's section to its header line, or unfold it."""
        if not 0 <= self.selected < len(self.comments):
            self.tn_app.tell("Select a comment with Tab first, then z folds its source.")
            return
        group = self.groups[self.selected]
        if group in self.folded:
            self.folded.discard(group)
        else:
            self.folded.add(group)
            self.selected = self.groups.index(group)  # the section's header stands for it
        self._draw()
        self.view.scroll_to(y=self.starts.get(self.selected, 0), animate=False)

    def action_compose(self) -> None:
        self.on_compose(None)

    def action_reply(self) -> None:
        if 0 <= self.selected < len(self.comments) and self.groups[self.selected] in self.folded:
            self.tn_app.tell("That source is folded: z unfolds it.")
        elif 0 <= self.selected < len(self.comments):
            self.on_compose(self.comments[self.selected].comment)
        else:
            self.tn_app.tell("Select a comment with Tab first, then r replies to it.")

    def action_copy_page(self) -> None:
        url = (self.info.page_url if self.info else None) or self.article.comments.page_url
        if url or self.article.link:
            self.tn_app.copy_url(url or self.article.link or "")

    @on(ArticleView.WidthChanged)
    def width_changed(self) -> None:
        self._draw()
