"""WordPress' REST API: reads a post's comments; posts with an application password.

Anonymous REST comments are off on most sites (401 rest_comment_login_required): then
the comment goes through the form instead.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx

from termnews import http
from termnews.comments import wordpress
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
from termnews.comments.text import plain_reason, sent_comment
from termnews.comments.wordpress import WordPressPost, read_rest, rest_comment, rest_url
from termnews.comments.wordpress_form import post_form
from termnews.config import WordPressLogin
from termnews.model import ArticleDetail, Comment, CommentSource, CommentStatus, TargetKind
from termnews.sanitize import clean_line


def rest_error(answer_body: bytes) -> tuple[str, str]:
    """WordPress' error JSON as (code, message); the message's entities undone."""
    try:
        data = json.loads(answer_body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    code = clean_line(str(data.get("code") or ""), 80)
    message = plain_reason(str(data.get("message") or ""))
    return code, message


async def post_rest(
    client: httpx.AsyncClient,
    post: WordPressPost,
    outgoing: Outgoing,
    login: WordPressLogin | None,
    *,
    retrying: bool = False,
) -> PostResult:
    """POST /wp/v2/comments, with an application password or anonymously.

    On a retry a 409 duplicate counts as delivered, as for the form (see post_form).
    """
    host = hostname_of(post.api_root or post.page_url) or "the site"
    if not post.api_root or post.post_id is None:
        if login is None and post.open:
            return await post_form(client, post, outgoing, retrying=retrying)
        return wordpress.refused(host, "no WordPress REST API found for this post", 404)
    body: dict[str, Any] = {"post": post.post_id, "content": outgoing.body}
    if outgoing.parent_id and outgoing.parent_id.isdigit():
        body["parent"] = int(outgoing.parent_id)
    auth: httpx.BasicAuth | None = None
    if login is not None:
        auth = httpx.BasicAuth(login.user, login.app_password)
    else:
        body.update(
            author_name=outgoing.author, author_email=outgoing.email, author_url=outgoing.url
        )
    url = rest_url(post.api_root, "/wp/v2/comments")
    try:
        answer = await http.exchange(
            client, "POST", url, max_bytes=MAX_BODY_BYTES, json=body, auth=auth
        )
    except http.HttpFailure as exc:
        return failed_to_send(host, exc)
    status = answer.status
    if status in (200, 201):
        try:
            data = json.loads(answer.body)
        except ValueError:
            data = {}
        created = rest_comment(data) if isinstance(data, dict) else None
        remote = created.remote_id if created else None
        link = created.link if created else None
        if isinstance(data, dict) and data.get("status") not in (None, "approved"):
            comment = sent_comment(outgoing, remote, link, CommentStatus.PENDING)
            return wordpress.held_result(host, comment)
        signed = outgoing
        if created is not None and created.author:
            signed = dataclasses.replace(outgoing, author=created.author)
        comment = sent_comment(signed, remote, link, CommentStatus.APPROVED)
        return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, False)
    code, message = rest_error(answer.body)
    if status == 401 and login is None and code == "rest_comment_login_required" and post.open:
        return await post_form(client, post, outgoing, retrying=retrying)
    if status == 409 and retrying:
        return wordpress.delivered_duplicate(host, outgoing)
    if status >= 500:
        return site_error(host, status)
    if status == 401 and login is not None:
        message = f"the application password for {clean_line(login.user, 60)} was not accepted"
    return wordpress.refused(host, message or code or None, status, retryable=status == 429)


class RestBackend:
    """Reads comments over REST; posts over REST when an application password is set."""

    source: CommentSource | None = wordpress.SOURCE
    kinds: tuple[TargetKind, ...] = (TargetKind.WORDPRESS_REST,)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        post = await self.deps.pages.find(client, article)
        if post is None or (post.unreachable and post.post_id is None):
            return Probe()  # the form backend reports the network trouble
        can = Capability.NONE
        if post.api_root and post.post_id is not None:
            can |= Capability.READ
        targets = []
        login = self.deps.login(post.page_url)
        if post.open and login is not None and post.api_root:
            host = hostname_of(article.link or article.comments.page_url or article.feed_url)
            label = f"to {host} as {clean_line(login.user, 60)} (application password)"
            targets.append(CommentTarget(TargetKind.WORDPRESS_REST, label, host, False, None))
            can |= Capability.POST
        return Probe(can, targets)

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        post = await self.deps.pages.find(client, article)
        if post is None or not post.api_root or post.post_id is None:
            return None
        return await read_rest(client, post)

    async def read_back(
        self, client: httpx.AsyncClient, outgoing: Outgoing
    ) -> list[Comment] | None:
        return await wordpress.read_back(client, outgoing)

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        if not outgoing.wordpress:
            return wordpress.no_wordpress(outgoing)
        post = WordPressPost.from_payload(outgoing.wordpress)
        login = self.deps.login(post.page_url)
        return await post_rest(client, post, outgoing, login, retrying=retrying)
