"""WordPress' comment form: POST to wp-comments-post.php, as a browser would."""

from __future__ import annotations

import httpx

from termnews import http
from termnews.comments import wordpress
from termnews.comments.backend import (
    MAX_BODY_BYTES,
    Capability,
    CommentTarget,
    Outgoing,
    PostResult,
    Probe,
    failed_to_send,
    hostname_of,
    site_error,
)
from termnews.comments.deps import Deps
from termnews.comments.text import page_reason
from termnews.comments.wordpress import WordPressPost
from termnews.model import ArticleDetail, Comment, CommentSource, TargetKind


async def post_form(
    client: httpx.AsyncClient, post: WordPressPost, outgoing: Outgoing, *, retrying: bool = False
) -> PostResult:
    """POST the comment form to wp-comments-post.php, without following the redirect.

    `retrying`: this comment was sent before without a clear answer, and reading the site
    back did not show it. WordPress refuses an identical comment with 409 "duplicate"
    (held comments count too, and those are not listed), so a 409 then means the earlier
    attempt got through, and it counts as delivered.
    """
    host = hostname_of(post.form_action or post.page_url) or "the site"
    if not post.form_action or post.post_id is None:
        return wordpress.refused(host, "this post has no comment form (comments are closed)", 403)
    data = {
        "comment": outgoing.body,
        "author": outgoing.author,
        "email": outgoing.email,
        "url": outgoing.url,
        "comment_post_ID": str(post.post_id),
        "comment_parent": outgoing.parent_id or "0",
        "submit": "Post Comment",
    }
    try:
        answer = await http.exchange(
            client, "POST", post.form_action, max_bytes=MAX_BODY_BYTES, data=data
        )
    except http.HttpFailure as exc:
        return failed_to_send(host, exc)
    status = answer.status
    if status in http.REDIRECT_STATUSES:
        location = answer.headers.get("location", "")
        return wordpress.accepted(host, outgoing, location, base=answer.url)
    if status == 409 and retrying:
        return wordpress.delivered_duplicate(host, outgoing)
    if status >= 500:
        return site_error(host, status)
    reason = page_reason(answer.text()) if answer.body else None
    if status == 200:
        return wordpress.refused(host, reason or "the site did not take the comment", status)
    return wordpress.refused(host, reason, status, retryable=status == 429)


class FormBackend:
    """Posts through the post page's comment form; reads nothing itself (REST does)."""

    source: CommentSource | None = None
    kinds: tuple[TargetKind, ...] = (TargetKind.WORDPRESS_FORM,)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        post = await self.deps.pages.find(client, article)
        if post is None:
            return Probe()
        if post.unreachable and post.post_id is None:
            return Probe(network_error=post.page_error)
        host = hostname_of(article.link or article.comments.page_url or article.feed_url)
        notes = []
        if post.unreachable:
            notes.append(f"could not check the post page ({post.page_error})")
        if not self.deps.signed:
            notes.append(f"{host} asks for a name and an e-mail address; set them under [profile]")
        note = "; ".join(notes) or None
        if not post.open:
            return Probe(closed=post.page_checked, note=note)
        label = f"to {host} as {self.deps.as_whom}"
        target = CommentTarget(TargetKind.WORDPRESS_FORM, label, host, True, note)
        return Probe(Capability.POST, [target], note=note)

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        return None

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
        return await post_form(client, post, outgoing, retrying=retrying)
