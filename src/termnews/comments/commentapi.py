"""CommentAPI: POST an RSS `<item>` (text/xml) to the entry's `wfw:comment` endpoint."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

from termnews import http
from termnews.comments.backend import (
    MAX_BODY_BYTES,
    Capability,
    CommentTarget,
    Outgoing,
    PostOutcome,
    PostResult,
    Probe,
    failed_to_send,
    hostname_of,
    site_error,
)
from termnews.comments.deps import Deps
from termnews.comments.feeds import read_comment_feed
from termnews.comments.text import comment_number, page_reason, plain_reason, sent_comment
from termnews.model import ArticleDetail, Comment, CommentSource, CommentStatus, TargetKind
from termnews.sanitize import clean_line

ACCEPTED = frozenset({200, 201, 202, 303})


def item_xml(outgoing: Outgoing, title: str) -> bytes:
    """The comment as one RSS item; the body is sent as text, escaped for XML."""
    author = outgoing.author
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<item>",
        f"<title>{escape(title)}</title>",
        # RSS' "e-mail (Name)" form when there is an e-mail, else the bare name.
        f"<author>{escape(f'{outgoing.email} ({author})' if outgoing.email else author)}</author>",
    ]
    if outgoing.url:
        parts.append(f"<link>{escape(outgoing.url)}</link>")
    parts.append(f"<description>{escape(outgoing.body)}</description>")
    parts.append("</item>")
    return "\n".join(parts).encode("utf-8")


async def post_item(
    client: httpx.AsyncClient,
    endpoint: str,
    outgoing: Outgoing,
    *,
    title: str,
    retrying: bool = False,
) -> PostResult:
    """Send the comment. On an outbox retry (the site read back without it) a 409 duplicate
    means an earlier attempt got through, so it counts as delivered."""
    host = hostname_of(endpoint) or "the site"
    try:
        answer = await http.exchange(
            client,
            "POST",
            endpoint,
            max_bytes=MAX_BODY_BYTES,
            content=item_xml(outgoing, title),
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
    except http.HttpFailure as exc:
        return failed_to_send(host, exc)
    status = answer.status
    if status in ACCEPTED or (status == 409 and retrying):
        location = answer.headers.get("location")
        number = comment_number(location)
        text = answer.text()[:2000].lower() if status != 409 else ""
        if "held for moderation" in text or "awaiting moderation" in text:
            comment = sent_comment(outgoing, number, location, CommentStatus.PENDING)
            return PostResult(
                PostOutcome.HELD,
                f"{host} is holding the comment for moderation; it shows once approved.",
                comment,
                False,
            )
        comment = sent_comment(outgoing, number, location, CommentStatus.APPROVED)
        return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, False)
    if status >= 500:
        return site_error(host, status)
    reason = None
    if answer.body:
        html_page = "html" in answer.headers.get("content-type", "")
        reason = page_reason(answer.text()) if html_page else plain_reason(answer.text())
    reason = clean_line(reason, 300) if reason else "no reason given"
    return PostResult(
        PostOutcome.REJECTED, f"{host} refused the comment: {reason} (HTTP {status})", None, False
    )


class CommentApiBackend:
    """Posts to the entry's wfw:comment; the comment feed (if any) reads the site back."""

    source: CommentSource | None = None
    kinds: tuple[TargetKind, ...] = (TargetKind.COMMENTAPI,)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        endpoint = article.comments.api_url
        if not endpoint:
            return Probe()
        host = hostname_of(article.link or article.comments.page_url or article.feed_url)
        api_host = hostname_of(endpoint) or host
        label = f"to {api_host} as {self.deps.as_whom}"
        target = CommentTarget(TargetKind.COMMENTAPI, label, api_host, False, None)
        return Probe(Capability.POST, [target])

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        return None

    async def read_back(
        self, client: httpx.AsyncClient, outgoing: Outgoing
    ) -> list[Comment] | None:
        if not outgoing.feed_url:
            return None
        return await read_comment_feed(client, outgoing.feed_url)

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        if not outgoing.api_url:
            message = "this post has no CommentAPI address"
            return PostResult(PostOutcome.REJECTED, message, None, False)
        title = "Re: " + clean_line(outgoing.article_title, 200)
        return await post_item(client, outgoing.api_url, outgoing, title=title, retrying=retrying)
