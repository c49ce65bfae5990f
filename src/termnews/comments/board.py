"""The board: the shared discussion of a termnews host, kept in the local database."""

from __future__ import annotations

import time

from termnews.comments.base import PostOutcome, PostResult, text_to_html
from termnews.model import Comment
from termnews.sanitize import strip_controls
from termnews.store import Store

SOURCE = "board"
MAX_BOARD_CHARS = 20_000


def clean_body(body: str) -> str:
    # Everything a terminal would act on goes; a typed comment keeps its newlines and tabs.
    return strip_controls(body.replace("\r\n", "\n").replace("\r", "\n")).strip()


def as_display(comment: Comment) -> Comment:
    """Board bodies are plain text; the reader renders HTML, so escape them once here."""
    comment.content_html = text_to_html(comment.content_html)
    return comment


def post(
    store: Store,
    article_id: int,
    identity: str,
    body: str,
    parent_id: str | None,
    *,
    restricted: bool,
    rate_per_minute: int,
) -> PostResult:
    text = clean_body(body)
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
    if restricted and store.recent_board_posts(identity, now - 60.0) >= rate_per_minute:
        return PostResult(
            PostOutcome.REJECTED,
            f"This host's board takes at most {rate_per_minute} comments a minute from "
            "each person; wait a little and send again.",
            None,
            True,
        )
    row_id = store.board_post(article_id, identity, text, parent_id)
    comment = Comment(
        source=SOURCE,
        remote_id=str(row_id),
        parent_id=parent_id,
        author=f"@{identity}",
        author_url=None,
        published=now,
        content_html=text_to_html(text),
    )
    return PostResult(PostOutcome.POSTED, "Comment posted to this host's board.", comment, False)
