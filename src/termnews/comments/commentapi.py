"""CommentAPI: POST an RSS `<item>` (text/xml) to the entry's `wfw:comment` endpoint."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

from termnews.comments.base import (
    Poster,
    PostOutcome,
    PostResult,
    SendError,
    comment_number,
    hostname_of,
    page_reason,
    request,
    sent_comment,
)
from termnews.model import CommentStatus
from termnews.sanitize import clean_line

ACCEPTED = frozenset({200, 201, 202, 303})


def item_xml(poster: Poster, title: str) -> bytes:
    """The comment as one RSS item; the body is sent as text, escaped for XML."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<item>",
        f"<title>{escape(title)}</title>",
        # RSS' "e-mail (Name)" form when there is an e-mail, else the bare name.
        f"<author>{escape(f'{poster.email} ({poster.author})' if poster.email else poster.author)}"
        "</author>",
    ]
    if poster.url:
        parts.append(f"<link>{escape(poster.url)}</link>")
    parts.append(f"<description>{escape(poster.body)}</description>")
    parts.append("</item>")
    return "\n".join(parts).encode("utf-8")


async def post_item(
    client: httpx.AsyncClient,
    endpoint: str,
    poster: Poster,
    *,
    title: str,
    retrying: bool = False,
) -> PostResult:
    """Send the comment. On an outbox retry a 409 duplicate means an earlier attempt got
    through (the site already has this comment), so it counts as delivered."""
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
    if status in ACCEPTED or (status == 409 and retrying):
        location = answer.headers.get("location")
        number = comment_number(location)
        text = answer.text()[:2000].lower() if status != 409 else ""
        if "held for moderation" in text or "awaiting moderation" in text:
            comment = sent_comment(poster, number, location, CommentStatus.PENDING)
            return PostResult(
                PostOutcome.HELD,
                f"{host} is holding the comment for moderation; it shows once approved.",
                comment,
                False,
            )
        comment = sent_comment(poster, number, location, CommentStatus.APPROVED)
        return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, False)
    if status >= 500:
        return PostResult(
            PostOutcome.FAILED,
            f"could not post to {host}: the site had an error (HTTP {status})",
            None,
            True,
        )
    body = answer.text()
    reason = None
    if answer.body:
        reason = page_reason(body) if "html" in answer.headers.get("content-type", "") else body
    reason = clean_line(reason, 300) if reason else "no reason given"
    return PostResult(
        PostOutcome.REJECTED, f"{host} refused the comment: {reason} (HTTP {status})", None, False
    )
