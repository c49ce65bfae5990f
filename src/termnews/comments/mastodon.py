"""Mastodon (and the fediverse servers that speak its API), read without an account.

A post has a Mastodon thread when it links a status (`https://HOST/@user/ID` or
`https://HOST/users/user/statuses/ID`) and one of these says the link is its discussion:
- the link's text speaks of it ("Comment on Mastodon", "toot", "fediverse", "discuss"),
- the page's `<meta name="fediverse:creator" content="@user@HOST">` names that HOST,
- `[discussions.mastodon]` maps the post's feed to a status-URL prefix the link starts with.
Reading asks the status's own instance: `GET /api/v1/statuses/ID` (the root: url,
replies_count, favourites_count) and `GET /api/v1/statuses/ID/context`, whose `descendants`
are flat statuses with `in_reply_to_id`. Instances show anonymous readers a bounded part of
a big thread. The instance is the one the post's author linked; no URL of the post is sent
anywhere else.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    Service,
    body_html,
    count_line,
    get_json,
    iso_time,
    number,
    text,
    url_of,
)
from termnews.config import DiscussionSettings
from termnews.model import Comment

SERVICE = Service.MASTODON
_STATUS_LINK = re.compile(
    r"^(https?://[^/?#\s]+)/(?:@[\w.\-]{1,64}(?:@[\w.\-]{1,253})?|users/[\w.\-]{1,64}/statuses)"
    r"/(\d{1,20})/?$"
)
_SAYS_DISCUSSION = re.compile(r"mastodon|fediverse|toot|comment|discuss|repl", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class StatusRef:
    instance: str  # scheme://host[:port]
    status_id: str

    @property
    def host(self) -> str:
        return urlsplit(self.instance).netloc.lower()


def linked_statuses(post: Post, settings: DiscussionSettings) -> list[StatusRef]:
    prefix = settings.mastodon.get(post.feed_url or "") if post.feed_url else None
    creator = (post.fediverse_creator or "").rsplit("@", 1)
    creator_host = creator[1].lower() if len(creator) == 2 and creator[1] else None
    found: list[StatusRef] = []
    for anchor in post.anchors:
        match = _STATUS_LINK.match(anchor.href)
        if not match:
            continue
        ref = StatusRef(match.group(1), match.group(2))
        if ref in found:
            continue
        if (
            (prefix and anchor.href.startswith(prefix))
            or (creator_host and ref.host == creator_host)
            or _SAYS_DISCUSSION.search(anchor.text)
        ):
            found.append(ref)
    return found[:2]


def wanted(post: Post, settings: DiscussionSettings) -> bool:
    return settings.on(SERVICE) and bool(linked_statuses(post, settings))


async def read(
    client: httpx.AsyncClient, post: Post, settings: DiscussionSettings
) -> list[Discussion]:
    discussions = []
    for ref in linked_statuses(post, settings):
        api = f"{ref.instance}/api/v1/statuses/{ref.status_id}"
        root = await get_json(client, SERVICE, api)
        if root is None:
            continue
        if not isinstance(root, dict):
            raise DiscussionError(SERVICE, f"{ref.host} answered a status that is not an object")
        context = await get_json(client, SERVICE, f"{api}/context")
        descendants = context.get("descendants") if isinstance(context, dict) else None
        if context is not None and not isinstance(descendants, list):
            raise DiscussionError(SERVICE, f"{ref.host} answered a thread without descendants")
        discussions.append(_discussion(root, descendants or [], ref, settings))
    return discussions


def _discussion(
    root: dict[str, Any], descendants: list[Any], ref: StatusRef, settings: DiscussionSettings
) -> Discussion:
    root_id = str(root.get("id") or ref.status_id)
    comments: list[Comment] = []
    truncated = False
    for status in descendants:
        if not isinstance(status, dict) or not isinstance(status.get("id"), str | int):
            continue
        if len(comments) >= settings.max_comments:
            truncated = True
            break
        comments.append(_comment(status, root_id, ref))
    account = root.get("account") if isinstance(root.get("account"), dict) else {}
    who = text(account.get("acct"), 100) if isinstance(account, dict) else ""
    return Discussion(
        service=SERVICE,
        url=url_of(root.get("url")) or f"{ref.instance}/web/statuses/{ref.status_id}",
        title=f"@{who} on {ref.host}" if who else ref.host,
        stats=[
            count_line(number(root.get("favourites_count")), "favourite", "favourites"),
            count_line(number(root.get("reblogs_count")), "boost", "boosts"),
            count_line(len(comments), "reply", "replies"),
        ],
        comments=comments,
        truncated=truncated,
    )


def _comment(status: dict[str, Any], root_id: str, ref: StatusRef) -> Comment:
    account = status.get("account")
    account = account if isinstance(account, dict) else {}
    acct = text(account.get("acct"), 100)
    name = text(account.get("display_name"), 100)
    parent = status.get("in_reply_to_id")
    parent_id = str(parent) if isinstance(parent, str | int) else None
    content = body_html(status.get("content"))
    warning = text(status.get("spoiler_text"), 200)
    if warning:  # a content warning is shown before the text, never instead of it
        content = f"<p><strong>CW:</strong> {html.escape(warning)}</p>{content}"
    return Comment(
        source=SERVICE,
        remote_id=f"mastodon:{ref.host}:{status['id']}",
        parent_id=None if parent_id in (None, root_id) else f"mastodon:{ref.host}:{parent_id}",
        author=_who(name, acct),
        author_url=url_of(account.get("url")),
        published=iso_time(status.get("created_at")),
        content_html=content,
        link=url_of(status.get("url")),
        score=number(status.get("favourites_count")),
    )


def _who(name: str, acct: str) -> str:
    if name and acct:
        return f"{name} (@{acct})"
    return name or (f"@{acct}" if acct else "unknown")
