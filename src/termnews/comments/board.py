"""The board: the shared discussion of a termnews host, kept in the local database."""

from __future__ import annotations

import time

import httpx

from termnews.comments.backend import (
    Capability,
    CommentTarget,
    Outgoing,
    PostOutcome,
    PostResult,
    Probe,
)
from termnews.comments.deps import Deps
from termnews.comments.text import text_to_html
from termnews.model import ArticleDetail, Comment, CommentSource, TargetKind
from termnews.sanitize import clean_line, strip_controls

SOURCE = CommentSource.BOARD
MAX_BOARD_CHARS = 20_000


def clean_body(body: str) -> str:
    # Everything a terminal would act on goes; a typed comment keeps its newlines and tabs.
    return strip_controls(body.replace("\r\n", "\n").replace("\r", "\n")).strip()


def as_display(comment: Comment) -> Comment:
    """Board bodies are plain text; the reader renders HTML, so escape them once here."""
    comment.content_html = text_to_html(comment.content_html)
    return comment


def board_target(identity_name: str) -> CommentTarget:
    label = f"to this host's board as @{clean_line(identity_name, 60)}"
    return CommentTarget(TargetKind.BOARD, label, "", needs_email=False, note=None)


class BoardBackend:
    """Reads and writes the board table. Offered for posting only where others read it."""

    source: CommentSource | None = None  # read from its own table (`CommentService.cached`)
    kinds: tuple[TargetKind, ...] = (TargetKind.BOARD,)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        if not self.deps.shared_host:
            return Probe(Capability.READ)
        return Probe(Capability.READ | Capability.POST, [board_target(self.deps.identity_name)])

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        return None

    async def read_back(
        self, client: httpx.AsyncClient, outgoing: Outgoing
    ) -> list[Comment] | None:
        return None  # a board post is one local write: never uncertain

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        deps = self.deps
        text = clean_body(outgoing.body)
        if not text:
            return PostResult(PostOutcome.REJECTED, "The comment is empty.", None, False)
        if len(text) > MAX_BOARD_CHARS:
            return PostResult(
                PostOutcome.REJECTED,
                f"The comment is too long for the board ({len(text)} characters; "
                f"at most {MAX_BOARD_CHARS}).",
                None,
                False,
            )
        now = time.time()
        identity = deps.identity_name
        recent = deps.store.recent_board_posts(identity, now - 60.0)
        if deps.restricted and recent >= deps.rate_per_minute:
            return PostResult(
                PostOutcome.REJECTED,
                f"This host's board takes at most {deps.rate_per_minute} comments a minute "
                "from each person; wait a little and send again.",
                None,
                True,
            )
        row_id = deps.store.board_post(outgoing.article_id, identity, text, outgoing.parent_id)
        comment = Comment(
            source=SOURCE,
            remote_id=str(row_id),
            parent_id=outgoing.parent_id,
            author=f"@{identity}",
            author_url=None,
            published=now,
            content_html=text_to_html(text),
        )
        return PostResult(
            PostOutcome.POSTED, "Comment posted to this host's board.", comment, False
        )
