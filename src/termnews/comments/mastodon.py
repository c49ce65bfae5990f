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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    SendFailure,
    Service,
    body_html,
    count_line,
    get_json,
    iso_time,
    number,
    send_json,
    text,
    url_of,
)
from termnews.config import DiscussionSettings
from termnews.model import Comment
from termnews.sanitize import clean_text, clean_url, strip_tags

SERVICE = Service.MASTODON
_STATUS_LINK = re.compile(
    r"^(https?://[^/?#\s]+)/(?:@[\w.\-]{1,64}(?:@[\w.\-]{1,253})?|users/[\w.\-]{1,64}/statuses)"
    r"/(\d{1,20})/?(?:[?#].*)?$"
)
_SAYS_DISCUSSION = re.compile(r"mastodon|fediverse|toot|comment|discuss|repl", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class StatusRef:
    instance: str  # scheme://host[:port]
    status_id: str
    link: str = field(default="", compare=False)  # the status' URL as the post links it

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
        ref = StatusRef(match.group(1), match.group(2), clean_url(anchor.href) or "")
        if ref in found:
            continue
        if (
            (prefix and anchor.href.startswith(prefix))
            or (creator_host and ref.host == creator_host)
            or _SAYS_DISCUSSION.search(anchor.text)
        ):
            found.append(ref)
    return found[:2]


def linked_statuses_of(url: str) -> list[StatusRef]:
    """The status a status URL names (no hints needed: it is known to be one)."""
    match = _STATUS_LINK.match(url)
    return [StatusRef(match.group(1), match.group(2), url)] if match else []


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


# -- replying (your own instance and access token) ---------------------------------------
# The status is resolved on YOUR instance (`GET /api/v2/search?q=URL&resolve=true`), which
# gives its local id there; the reply is `POST /api/v1/statuses` with `in_reply_to_id` and
# an `Idempotency-Key` (Mastodon answers a repeated key with the status it already made,
# for about an hour). After an attempt that may have arrived, `find_sent` reads the
# thread back on your instance before anything is sent again.

DEFAULT_LIMIT = 500  # Mastodon's stock character limit, when the instance does not say


@dataclass(frozen=True, slots=True)
class Account:
    instance: str  # https://mastodon.example
    token: str

    @property
    def host(self) -> str:
        return urlsplit(self.instance).netloc.lower()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def account(settings: DiscussionSettings) -> Account | None:
    if not (settings.mastodon_instance and settings.mastodon_token):
        return None
    return Account(settings.mastodon_instance.rstrip("/"), settings.mastodon_token)


async def character_limit(client: httpx.AsyncClient, me: Account) -> int:
    """`configuration.statuses.max_characters` of /api/v2/instance; 500 if unknown."""
    try:
        info = await get_json(client, SERVICE, f"{me.instance}/api/v2/instance")
    except DiscussionError:
        return DEFAULT_LIMIT
    configuration = info.get("configuration") if isinstance(info, dict) else None
    statuses = configuration.get("statuses") if isinstance(configuration, dict) else None
    limit = number(statuses.get("max_characters")) if isinstance(statuses, dict) else None
    return limit if limit and limit > 0 else DEFAULT_LIMIT


async def whoami(client: httpx.AsyncClient, me: Account) -> str:
    """ "@ada@mastodon.example", from /api/v1/accounts/verify_credentials."""
    data = await get_json(
        client,
        SERVICE,
        f"{me.instance}/api/v1/accounts/verify_credentials",
        headers=me.headers,
        missing=(),
    )
    acct = text(data.get("acct"), 100) if isinstance(data, dict) else ""
    if not acct:
        raise DiscussionError(SERVICE, f"{me.host} did not say who the token belongs to")
    return f"@{acct}" if "@" in acct else f"@{acct}@{me.host}"


async def resolve(client: httpx.AsyncClient, me: Account, status_url: str) -> str:
    """The status' id on your instance (it fetches remote statuses on request)."""
    found = await get_json(
        client,
        SERVICE,
        f"{me.instance}/api/v2/search",
        params={"q": status_url, "resolve": "true", "type": "statuses", "limit": "1"},
        headers=me.headers,
        missing=(),
    )
    statuses = found.get("statuses") if isinstance(found, dict) else None
    if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict):
        local = statuses[0].get("id")
        if isinstance(local, str | int) and str(local).isdigit():
            return str(local)
    raise DiscussionError(SERVICE, f"{me.host} cannot find that status")


async def reply(
    client: httpx.AsyncClient, me: Account, status_url: str, body: str, *, key: str
) -> Comment:
    """Post `body` as a public reply to the status at `status_url`; SendFailure if not.

    `key` must be the same for every attempt at one reply (the draft's id works).
    """
    if not body.strip():
        raise SendFailure(SERVICE, "the reply is empty")
    try:
        local = await resolve(client, me, status_url)
    except DiscussionError as exc:
        raise SendFailure(SERVICE, str(exc).split(": ", 1)[1], retryable=True) from exc
    status = await send_json(
        client,
        SERVICE,
        f"{me.instance}/api/v1/statuses",
        {"status": body, "in_reply_to_id": local, "visibility": "public"},
        headers={**me.headers, "Idempotency-Key": key},
    )
    if not isinstance(status.get("id"), str | int):
        raise SendFailure(SERVICE, f"{me.host} accepted the reply but sent back no status")
    return _comment(status, local, StatusRef(me.instance, local))


async def find_sent(
    client: httpx.AsyncClient, me: Account, status_url: str, body: str
) -> Comment | None:
    """Your reply to that status if your instance lists it (to check before a re-send)."""
    local = await resolve(client, me, status_url)
    mine = (await whoami(client, me)).removeprefix("@").removesuffix(f"@{me.host}")
    context = await get_json(
        client,
        SERVICE,
        f"{me.instance}/api/v1/statuses/{local}/context",
        headers=me.headers,
    )
    descendants = context.get("descendants") if isinstance(context, dict) else None
    wanted_text = " ".join(body.split())
    for status in descendants if isinstance(descendants, list) else []:
        if not isinstance(status, dict) or str(status.get("in_reply_to_id")) != local:
            continue
        account_info = status.get("account")
        acct = account_info.get("acct") if isinstance(account_info, dict) else None
        content = status.get("content")
        if acct == mine and isinstance(content, str) and wanted_text in _plain(content):
            return _comment(status, local, StatusRef(me.instance, local))
    return None


def _plain(content: str) -> str:
    return " ".join(clean_text(html.unescape(strip_tags(content))).split())


# -- getting a token over SSH: OAuth's out-of-band code flow ------------------------------
# `POST /api/v1/apps` registers termnews on your instance (redirect_uris is the out-of-band
# URN, so no browser has to reach this machine); you open the authorize URL anywhere, sign
# in, and paste the code it shows; `POST /oauth/token` turns the code into a token.

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = "read write:statuses"


@dataclass(frozen=True, slots=True)
class App:
    instance: str
    client_id: str
    client_secret: str

    @property
    def authorize_url(self) -> str:
        query = httpx.QueryParams(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": OOB,
                "scope": SCOPES,
            }
        )
        return f"{self.instance}/oauth/authorize?{query}"


async def register_app(client: httpx.AsyncClient, instance: str) -> App:
    instance = instance.rstrip("/")
    data = await send_json(
        client,
        SERVICE,
        f"{instance}/api/v1/apps",
        {"client_name": "termnews", "redirect_uris": OOB, "scopes": SCOPES},
        what="registering termnews",
    )
    client_id, secret = data.get("client_id"), data.get("client_secret")
    if not (isinstance(client_id, str) and client_id and isinstance(secret, str) and secret):
        raise SendFailure(SERVICE, "the instance registered termnews but sent no client id")
    return App(instance, client_id, secret)


async def exchange_code(client: httpx.AsyncClient, app: App, code: str) -> Account:
    """The pasted code -> an Account whose token can read and post statuses."""
    data = await send_json(
        client,
        SERVICE,
        f"{app.instance}/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code.strip(),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": OOB,
            "scope": SCOPES,
        },
        what="the code",
    )
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise SendFailure(SERVICE, "the instance took the code but sent no token")
    return Account(app.instance, token)


async def status_link(client: httpx.AsyncClient, instance: str, status_id: str) -> str | None:
    """The URL of a status of the thread, asked of the instance that served the thread."""
    status = await get_json(client, SERVICE, f"{instance}/api/v1/statuses/{status_id}")
    if not isinstance(status, dict):
        return None
    return url_of(status.get("url")) or url_of(status.get("uri"))
