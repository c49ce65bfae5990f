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

import datetime
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from termnews.comments.length import graphemes
from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    SendFailure,
    Service,
    count_line,
    get_json,
    iso_time,
    number,
    plain_html,
    send_json,
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


# -- replying (handle + app password) ----------------------------------------------------
# `com.atproto.server.createSession` on your PDS gives an access token; the reply is
# `com.atproto.repo.createRecord` of an `app.bsky.feed.post` whose `reply` names the
# thread's root and the post answered (uri + cid, read with getPostThread). The record key
# is a TID made from the draft's creation time, so every attempt at one reply writes the
# same record: `find_sent` (`com.atproto.repo.getRecord`) tells whether an earlier attempt
# arrived, and a second create of that key cannot make a second post.

MAX_GRAPHEMES = 300
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Login:
    pds: str
    handle: str
    app_password: str


@dataclass(frozen=True, slots=True)
class Session:
    did: str
    handle: str
    access: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def login(settings: DiscussionSettings) -> Login | None:
    if not (settings.bluesky_handle and settings.bluesky_app_password):
        return None
    handle = settings.bluesky_handle.removeprefix("@")
    return Login(settings.bluesky_pds.rstrip("/"), handle, settings.bluesky_app_password)


def tid(created: float, clock_id: int = 0) -> str:
    """An atproto TID (13 base32-sortable characters) for a moment: microseconds + clock."""
    value = (int(created * 1_000_000) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


async def create_session(client: httpx.AsyncClient, account: Login) -> Session:
    data = await send_json(
        client,
        SERVICE,
        f"{account.pds}/xrpc/com.atproto.server.createSession",
        {"identifier": account.handle, "password": account.app_password},
        what="the sign-in",
    )
    did, handle, access = data.get("did"), data.get("handle"), data.get("accessJwt")
    if not (isinstance(did, str) and _DID.fullmatch(did) and isinstance(access, str)):
        raise SendFailure(SERVICE, "signing in gave no account and token")
    return Session(did, text(handle, 253) or account.handle, access)


async def _reply_refs(
    client: httpx.AsyncClient,
    settings: DiscussionSettings,
    post_link: str,
    parent_uri: str | None = None,
) -> dict[str, dict[str, str]]:
    """{"root": {uri, cid}, "parent": {uri, cid}} for a reply to the post at `post_link`,
    or to the post `parent_uri` (an at:// URI of a reply in that thread)."""
    base = settings.bluesky.rstrip("/")
    if parent_uri and parent_uri.startswith("at://"):
        uri = parent_uri
    else:
        found = linked_posts(Post(None, f'<a href="{post_link}"></a>'))
        if not found:
            raise SendFailure(SERVICE, "not a Bluesky post link")
        ref = found[0]
        did = ref.actor if _DID.fullmatch(ref.actor) else await _resolve(client, base, ref.actor)
        uri = f"at://{did}/app.bsky.feed.post/{ref.rkey}"
    answer = await get_json(
        client,
        SERVICE,
        f"{base}/xrpc/app.bsky.feed.getPostThread",
        params={"uri": uri, "depth": "0"},
        missing=(400, 404),
    )
    thread = answer.get("thread") if isinstance(answer, dict) else None
    post = thread.get("post") if isinstance(thread, dict) else None
    record = post.get("record") if isinstance(post, dict) else None
    reply_info = record.get("reply") if isinstance(record, dict) else None
    parent = _strong_ref(post)
    root = _strong_ref(reply_info.get("root")) if isinstance(reply_info, dict) else None
    if parent is None:
        raise SendFailure(SERVICE, "that post cannot be found")
    return {"root": root or parent, "parent": parent}


def _strong_ref(value: object) -> dict[str, str] | None:
    """{uri, cid} of a post view or a reply ref, if both are there."""
    if not isinstance(value, dict):
        return None
    uri, cid = value.get("uri"), value.get("cid")
    if isinstance(uri, str) and uri and isinstance(cid, str) and cid:
        return {"uri": uri, "cid": cid}
    return None


async def find_sent(
    client: httpx.AsyncClient, session: Session, account: Login, created: float
) -> Comment | None:
    """The reply written by an earlier attempt (same record key), if it arrived."""
    found = await get_json(
        client,
        SERVICE,
        f"{account.pds}/xrpc/com.atproto.repo.getRecord",
        params={"repo": session.did, "collection": "app.bsky.feed.post", "rkey": tid(created)},
        missing=(400, 404),
    )
    if not isinstance(found, dict) or not isinstance(found.get("uri"), str):
        return None
    value = found.get("value")
    return _sent(found["uri"], value if isinstance(value, dict) else {}, session)


async def reply(
    client: httpx.AsyncClient,
    settings: DiscussionSettings,
    post_link: str,
    body: str,
    *,
    created: float,
    retrying: bool = False,
    parent_uri: str | None = None,
) -> Comment:
    """Post `body` as a reply to the post at `post_link`; SendFailure if not.

    `created` is the draft's creation time (the same for every attempt); `retrying` reads
    back first, so an attempt that arrived without an answer is not made twice.
    `parent_uri`: the at:// URI of a reply in the thread to answer instead of the post.
    """
    account = login(settings)
    if account is None:
        raise SendFailure(SERVICE, "no Bluesky account in the settings")
    if not body.strip():
        raise SendFailure(SERVICE, "the reply is empty")
    if graphemes(body) > MAX_GRAPHEMES:
        raise SendFailure(
            SERVICE, f"the reply has {graphemes(body)} characters; Bluesky takes {MAX_GRAPHEMES}"
        )
    session = await create_session(client, account)
    if retrying:
        earlier = await find_sent(client, session, account, created)
        if earlier is not None:
            return earlier
    refs = await _reply_refs(client, settings, post_link, parent_uri)
    when = datetime.datetime.fromtimestamp(created, datetime.UTC)
    record = {
        "$type": "app.bsky.feed.post",
        "text": body,
        "createdAt": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "reply": refs,
    }
    data = await send_json(
        client,
        SERVICE,
        f"{account.pds}/xrpc/com.atproto.repo.createRecord",
        {
            "repo": session.did,
            "collection": "app.bsky.feed.post",
            "rkey": tid(created),
            "record": record,
        },
        headers=session.headers,
    )
    if not isinstance(data.get("uri"), str):
        raise SendFailure(SERVICE, "the post was accepted but no record came back")
    return _sent(data["uri"], record, session)


def _sent(uri: str, record: dict[str, Any], session: Session) -> Comment:
    parent = record.get("reply")
    parent_ref = parent.get("parent") if isinstance(parent, dict) else None
    parent_uri = parent_ref.get("uri") if isinstance(parent_ref, dict) else None
    root_ref = parent.get("root") if isinstance(parent, dict) else None
    root_uri = root_ref.get("uri") if isinstance(root_ref, dict) else None
    post = {
        "uri": uri,
        "author": {"handle": session.handle},
        "record": record,
    }
    answered = None if parent_uri in (None, root_uri) else f"bluesky:{parent_uri}"
    return _comment(post, answered)
