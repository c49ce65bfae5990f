"""CommentAPI: POST an RSS `<item>` (text/xml) to the entry's `wfw:comment` endpoint."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

from termnews.comments.base import (
    Poster,
    PostOutcome,
    PostResult,
    SendError,
    hostname_of,
    page_reason,
    request,
    sent_comment,
)
from termnews.model import CommentStatus
from termnews.render import clean_line

ACCEPTED = frozenset({200, 201, 202, 303})


def item_xml(poster: Poster, title: str) -> bytes:
    """The comment as one RSS item; the body is sent as text, escaped for XML."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<item>",
        f"<title>{escape(title)}</title>",
        f"<author>{escape(poster.author)}</author>",
    ]
    if poster.url:
        parts.append(f"<link>{escape(poster.url)}</link>")
    parts.append(f"<description>{escape(poster.body)}</description>")
    parts.append("</item>")
    return "\n".join(parts).encode("utf-8")


async def post_item(
    client: httpx.AsyncClient, endpoint: str, poster: Poster, *, title: str
) -> PostResult:
    host = hostname_of(endpoint) or "the site"
    try:
        answer = await request(
            client,
            "POST",
            endpoint,
            content=item_xml(poster, title),
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
    except SendError as exc:
        return PostResult(
            PostOutcome.FAILED, f"could not post to {host}: {exc.message}", None, True
        )
    status = answer.status
    if status in ACCEPTED:
        comment = sent_comment(poster, None, None, CommentStatus.APPROVED)
        return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, False)
    if status >= 500:
        return PostResult(
            PostOutcome.FAILED,
            f"could not post to {host}: the site had an error (HTTP {status})",
            None,
            True,
        )
    reason = page_reason(answer.text()) if answer.body else None
    if reason is None and answer.body and b"<" not in answer.body[:200]:
        reason = answer.text()
    reason = clean_line(reason, 300) if reason else "no reason given"
    return PostResult(
        PostOutcome.REJECTED, f"{host} refused the comment: {reason} (HTTP {status})", None, False
    )
