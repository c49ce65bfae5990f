"""Bluesky, read through the public AppView (no account).

A post has a Bluesky thread when it links one: `https://bsky.app/profile/ACTOR/post/RKEY`
(ACTOR a handle or a DID). A handle becomes a DID with
`GET /xrpc/com.atproto.identity.resolveHandle?handle=…` (`{"did": …}`); the thread is
`GET /xrpc/app.bsky.feed.getPostThread?uri=at://DID/app.bsky.feed.post/RKEY&depth=…`:
`thread` is a `#threadViewPost` (post: uri, author {did, handle, displayName},
record {text, createdAt}, replyCount, likeCount, repostCount; replies: nested
threadViewPosts) or `#notFoundPost` / `#blockedPost`. A missing post answers HTTP 400 with
`{"error": "NotFound"}`. Post texts are plain text (escaped here); the tree is walked
without recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    Service,
    count_line,
    get_json,
    iso_time,
    number,
    plain_html,
    text,
)
from termnews.config import DiscussionSettings
from termnews.model import Comment

SERVICE = Service.BLUESKY
APP = "https://bsky.app"
THREAD_DEPTH = 1000  # the lexicon's maximum; the answer is capped in bytes anyway
_POST_LINK = re.compile(
    r"^https://bsky\.app/profile/([A-Za-z0-9._:%-]{1,253})/post/([A-Za-z0-9._~-]{1,64})/?(?:[?#]|$)"
)
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}")


@dataclass(frozen=True, slots=True)
class PostRef:
    actor: str  # handle or DID
    rkey: str


def linked_posts(post: Post) -> list[PostRef]:
    found: list[PostRef] = []
    for anchor in post.anchors:
        match = _POST_LINK.match(anchor.href)
        if match:
            ref = PostRef(match.group(1), match.group(2))
            if ref not in found:
                found.append(ref)
    return found[:2]


def wanted(post: Post, settings: DiscussionSettings) -> bool:
    return settings.on(SERVICE) and bool(linked_posts(post))


async def read(
    client: httpx.AsyncClient, post: Post, settings: DiscussionSettings
) -> list[Discussion]:
    base = settings.bluesky.rstrip("/")
    discussions = []
    for ref in linked_posts(post):
        did: str | None = ref.actor
        if not _DID.fullmatch(ref.actor):
            did = await _resolve(client, base, ref.actor)
            if did is None:
                continue
        answer = await get_json(
            client,
            SERVICE,
            f"{base}/xrpc/app.bsky.feed.getPostThread",
            params={
                "uri": f"at://{did}/app.bsky.feed.post/{ref.rkey}",
                "depth": str(THREAD_DEPTH),
                "parentHeight": "0",
            },
            missing=(400, 404),
        )
        if answer is None:
            continue
        thread = answer.get("thread") if isinstance(answer, dict) else None
        if not isinstance(thread, dict):
            raise DiscussionError(SERVICE, "the thread answer has no thread")
        if not isinstance(thread.get("post"), dict):  # notFoundPost / blockedPost
            continue
        discussions.append(_discussion(thread, ref, settings))
    return discussions


async def _resolve(client: httpx.AsyncClient, base: str, handle: str) -> str | None:
    """A handle's DID, or None if the AppView knows no such handle."""
    resolved = await get_json(
        client,
        SERVICE,
        f"{base}/xrpc/com.atproto.identity.resolveHandle",
        params={"handle": handle},
        missing=(400, 404),
    )
    if resolved is None:
        return None
    did = resolved.get("did") if isinstance(resolved, dict) else None
    if not (isinstance(did, str) and _DID.fullmatch(did)):
        raise DiscussionError(SERVICE, "resolving the handle gave no DID")
    return did


def _discussion(thread: dict[str, Any], ref: PostRef, settings: DiscussionSettings) -> Discussion:
    root = thread["post"]
    comments: list[Comment] = []
    truncated = False
    stack: list[tuple[Any, str | None]] = [(reply, None) for reply in reversed(_replies(thread))]
    while stack:
        node, parent = stack.pop()
        post = node.get("post") if isinstance(node, dict) else None
        if not isinstance(post, dict) or not isinstance(post.get("uri"), str):
            continue  # notFoundPost, blockedPost, or anything unknown
        if len(comments) >= settings.max_comments:
            truncated = True
            break
        comment = _comment(post, parent)
        comments.append(comment)
        stack.extend((reply, comment.remote_id) for reply in reversed(_replies(node)))
    author = root.get("author") if isinstance(root.get("author"), dict) else {}
    handle = text(author.get("handle"), 253) if isinstance(author, dict) else ""
    return Discussion(
        service=SERVICE,
        url=f"{APP}/profile/{quote(handle or ref.actor, safe='.:')}/post/{quote(ref.rkey)}",
        title=f"@{handle}" if handle else "Bluesky post",
        stats=[
            count_line(number(root.get("likeCount")), "like", "likes"),
            count_line(number(root.get("repostCount")), "repost", "reposts"),
            count_line(len(comments), "reply", "replies"),
        ],
        comments=comments,
        truncated=truncated,
    )


def _replies(node: dict[str, Any]) -> list[Any]:
    replies = node.get("replies")
    return replies if isinstance(replies, list) else []


def _comment(post: dict[str, Any], parent: str | None) -> Comment:
    author = post.get("author")
    author = author if isinstance(author, dict) else {}
    handle = text(author.get("handle"), 253)
    name = text(author.get("displayName"), 100)
    record = post.get("record")
    record = record if isinstance(record, dict) else {}
    uri = text(post["uri"], 600)
    rkey = uri.rsplit("/", 1)[-1]
    safe_handle = quote(handle, safe=".") if handle else ""
    return Comment(
        source=SERVICE,
        remote_id=f"bluesky:{uri}",
        parent_id=parent,
        author=(f"{name} (@{handle})" if name and handle else name or handle) or "unknown",
        author_url=f"{APP}/profile/{safe_handle}" if safe_handle else None,
        published=iso_time(record.get("createdAt")),
        content_html=plain_html(record.get("text")),
        link=f"{APP}/profile/{safe_handle}/post/{quote(rkey)}" if safe_handle else None,
        score=number(post.get("likeCount")),
    )
