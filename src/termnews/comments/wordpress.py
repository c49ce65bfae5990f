"""WordPress, the parts both of its backends share: the post page, REST reads, answers.

What a real WordPress answers is recorded in WORDPRESS.md beside DESIGN.md; the status
handling in `wordpress_form` and `wordpress_rest` follows it (302 = accepted, 409
duplicate, 429 flood, 403 closed, 200 with an error page = rejected).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from termnews import http
from termnews.comments.backend import (
    MAX_BODY_BYTES,
    MAX_COMMENTS,
    MAX_PAGE_BYTES,
    CommentError,
    Outgoing,
    PostOutcome,
    PostResult,
    hostname_of,
)
from termnews.comments.feeds import read_comment_feed
from termnews.comments.text import comment_number, sent_comment
from termnews.model import ArticleDetail, Comment, CommentSource, CommentStatus
from termnews.sanitize import clean_line, clean_url

SOURCE = CommentSource.WORDPRESS
API_REL = "https://api.w.org/"
PER_PAGE = 100
_P_QUERY = re.compile(r"[?&]p=(\d+)\b")
_LINK_HEADER = re.compile(r"<([^>]*)>\s*;([^,]*)")


@dataclass(slots=True)
class WordPressPost:
    """A post on a WordPress site, as far as its page (or its link) tells."""

    page_url: str
    post_id: int | None = None
    form_action: str | None = None  # wp-comments-post.php, when the page has the form
    api_root: str | None = None  # from <link rel="https://api.w.org/"> or the Link header
    page_checked: bool = False  # the post page was read (so "no form" means closed)
    page_error: str | None = None
    unreachable: bool = False  # the page could not be fetched (network, 5xx): ask again later

    @property
    def open(self) -> bool:
        return self.form_action is not None and self.post_id is not None

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> WordPressPost:
        def optional(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        post_id = data.get("post_id")
        return cls(
            page_url=optional("page_url") or "",
            post_id=post_id if isinstance(post_id, int) else None,
            form_action=optional("form_action"),
            api_root=optional("api_root"),
            page_checked=bool(data.get("page_checked")),
            page_error=optional("page_error"),
            unreachable=bool(data.get("unreachable")),
        )


class _PostPage(HTMLParser):
    """Finds the comment form, its post id and the REST API root in a post page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form_action: str | None = None
        self.post_id: str | None = None
        self.api_root: str | None = None
        self._in_comment_form = False
        self._form_action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "link" and API_REL in a.get("rel", "").split() and a.get("href"):
            self.api_root = self.api_root or a["href"]
        elif tag == "form":
            self._form_action = a.get("action", "")
            self._in_comment_form = "wp-comments-post.php" in self._form_action or (
                a.get("id") == "commentform"
            )
            if self._in_comment_form and self.form_action is None:
                self.form_action = self._form_action
        elif tag == "input" and a.get("name") == "comment_post_ID":
            if self.post_id is None:
                self.post_id = a.get("value")
            if self.form_action is None and self._form_action is not None:
                self.form_action = self._form_action

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_comment_form = False
            self._form_action = None


def post_id_from_links(article: ArticleDetail) -> int | None:
    """WordPress' `?p=ID` in the guid or link (plain permalinks and default guids)."""
    for text in (article.guid, article.link, article.comments.page_url):
        match = _P_QUERY.search(text or "")
        if match:
            return int(match.group(1))
    return None


def api_root_from_header(value: str, base: str) -> str | None:
    for match in _LINK_HEADER.finditer(value):
        rels = re.search(r"rel=\"?([^\";]+)\"?", match.group(2))
        if rels and API_REL in rels.group(1).split():
            return str(httpx.URL(base).join(match.group(1)))
    return None


async def discover(client: httpx.AsyncClient, article: ArticleDetail) -> WordPressPost | None:
    """Read the post page for WordPress' comment form and REST link.

    None: the post has no page, or its page shows no WordPress. A page that could not be
    fetched gives a post with `unreachable` set (and `post_id` from the links, if any).
    """
    page_url = article.link or article.comments.page_url
    if not page_url:
        return None
    page_url = page_url.split("#", 1)[0]
    post = WordPressPost(page_url=page_url, post_id=post_id_from_links(article))
    host = hostname_of(page_url) or "the site"
    try:
        answer = await http.get(client, page_url, max_bytes=MAX_PAGE_BYTES, accept="text/html")
    except http.HttpFailure as exc:
        post.page_error = http.about(host, exc.message)
        post.unreachable = True
        return post
    if answer.status != 200:
        post.page_error = f"{host} answered HTTP {answer.status}"
        post.unreachable = answer.status >= 500
        return post if post.post_id is not None or post.unreachable else None
    post.page_checked = True
    post.page_url = answer.url.split("#", 1)[0]
    scanner = _PostPage()
    try:
        scanner.feed(answer.text())
        scanner.close()
    except Exception:  # a hostile page: keep what was found
        pass
    header_root = api_root_from_header(answer.headers.get("link", ""), answer.url)
    root = scanner.api_root or header_root
    if root:
        post.api_root = str(httpx.URL(answer.url).join(root))
    if scanner.post_id and scanner.post_id.isdigit():
        post.post_id = int(scanner.post_id)
    if scanner.form_action is not None and post.post_id is not None:
        action = scanner.form_action or "wp-comments-post.php"
        post.form_action = str(httpx.URL(answer.url).join(action))
    if post.post_id is None and post.api_root is None:
        return None
    return post


def rest_url(api_root: str, route: str, params: dict[str, Any] | None = None) -> str:
    """`<root>wp/v2/comments?…`, or the `?rest_route=/wp/v2/comments&…` form of plain sites."""
    parts = urlsplit(api_root)
    query = parse_qs(parts.query, keep_blank_values=True)
    extra = {k: str(v) for k, v in (params or {}).items()}
    if "rest_route" in query:
        base_route = query.pop("rest_route")[0].rstrip("/")
        pairs = [(k, v) for k, values in query.items() for v in values]
        pairs.append(("rest_route", base_route + route))
        pairs.extend(extra.items())
        return urlunsplit(parts._replace(query=urlencode(pairs)))
    path = parts.path.rstrip("/") + route
    return urlunsplit(parts._replace(path=path, query=urlencode(extra)))


def _rest_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def rest_comment(item: Any) -> Comment | None:
    if not isinstance(item, dict) or item.get("id") is None:
        return None
    content = item.get("content")
    html = content.get("rendered", "") if isinstance(content, dict) else ""
    parent = item.get("parent")
    return Comment(
        source=SOURCE,
        remote_id=clean_line(str(item["id"]), 100),
        parent_id=clean_line(str(parent), 100) if parent not in (None, 0, "0", "") else None,
        author=clean_line(str(item.get("author_name") or ""), 100) or "anonymous",
        author_url=clean_url(str(item.get("author_url") or "")),
        published=_rest_time(item.get("date_gmt")) or _rest_time(item.get("date")),
        content_html=html if isinstance(html, str) else "",
        link=clean_url(str(item.get("link") or "")),
        status=CommentStatus.APPROVED
        if item.get("status", "approved") == "approved"
        else CommentStatus.PENDING,
    )


async def read_rest(
    client: httpx.AsyncClient, post: WordPressPost, *, max_comments: int = MAX_COMMENTS
) -> list[Comment]:
    """Every listed comment of the post, page by page (X-WP-TotalPages), capped."""
    if not post.api_root or post.post_id is None:
        raise CommentError("WordPress: no REST API for this post")
    host = hostname_of(post.api_root)
    comments: list[Comment] = []
    page, pages = 1, 1
    while page <= pages and len(comments) < max_comments:
        url = rest_url(
            post.api_root,
            "/wp/v2/comments",
            {"post": post.post_id, "per_page": PER_PAGE, "page": page, "order": "asc"},
        )
        try:
            answer = await http.get(
                client, url, max_bytes=MAX_BODY_BYTES, accept="application/json"
            )
        except http.HttpFailure as exc:
            raise CommentError(f"WordPress comments: {http.about(host, exc.message)}") from exc
        if answer.status != 200:
            raise CommentError(f"WordPress comments: {host} answered HTTP {answer.status}")
        try:
            items = json.loads(answer.body)
        except ValueError as exc:
            raise CommentError(f"WordPress comments: {host} sent something not JSON") from exc
        if not isinstance(items, list):
            raise CommentError(f"WordPress comments: {host} sent an unexpected answer")
        for item in items:
            comment = rest_comment(item)
            if comment is not None:
                comments.append(comment)
        total = answer.headers.get("x-wp-totalpages", "1")
        pages = int(total) if total.isdigit() else 1
        page += 1
    return comments[:max_comments]


class PostPages:
    """Post-page discovery, remembered per article for the session.

    Only a definite answer is remembered: a page that could not be fetched (offline, a
    timeout, a server error) is asked again next time, so one failed fetch never turns
    a post's comments off for the rest of the session.
    """

    def __init__(self) -> None:
        self._known: dict[int, WordPressPost | None] = {}
        self._asking: dict[int, asyncio.Lock] = {}

    async def find(self, client: httpx.AsyncClient, article: ArticleDetail) -> WordPressPost | None:
        # Both WordPress backends ask at once (info, load): the page is fetched once.
        async with self._asking.setdefault(article.id, asyncio.Lock()):
            if article.id in self._known:
                return self._known[article.id]
            return await self._discover(client, article)

    async def _discover(
        self, client: httpx.AsyncClient, article: ArticleDetail
    ) -> WordPressPost | None:
        post = await discover(client, article)
        if post is not None and post.unreachable:
            if post.post_id is not None:
                # The page could not be read: WordPress' usual form address.
                root = "/".join(post.page_url.split("/", 3)[:3])
                post.form_action = root + "/wp-comments-post.php"
            return post
        self._known[article.id] = post
        return post


def accepted(host: str, outgoing: Outgoing, location: str, *, base: str) -> PostResult:
    """A redirect after the form POST: posted, or held when it says `unapproved=`."""
    try:
        link = str(httpx.URL(base).join(location)) if location else None
    except (httpx.InvalidURL, ValueError):
        link = None
    query = parse_qs(urlsplit(link or "").query)
    held = query.get("unapproved", [None])[0]
    if held is not None:
        comment = sent_comment(outgoing, clean_line(held, 40), link, CommentStatus.PENDING)
        return held_result(host, comment)
    number = comment_number(link)
    comment = sent_comment(outgoing, number, link, CommentStatus.APPROVED)
    return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, retryable=False)


def held_result(host: str, comment: Comment) -> PostResult:
    return PostResult(
        PostOutcome.HELD,
        f"{host} is holding the comment for moderation; it shows once approved.",
        comment,
        retryable=False,
    )


def refused(host: str, reason: str | None, status: int, *, retryable: bool = False) -> PostResult:
    reason = reason or "no reason given"
    return PostResult(
        PostOutcome.REJECTED,
        f"{host} refused the comment: {reason} (HTTP {status})",
        None,
        retryable=retryable,
    )


def no_wordpress(outgoing: Outgoing) -> PostResult:
    host = clean_line(outgoing.host, 100) or "the site"
    message = f"{host} shows no WordPress comment form for this post"
    return PostResult(PostOutcome.REJECTED, message, None, False)


def delivered_duplicate(host: str, outgoing: Outgoing) -> PostResult:
    comment = sent_comment(outgoing, None, None, CommentStatus.APPROVED)
    return PostResult(
        PostOutcome.POSTED,
        f"Comment delivered to {host} (an earlier attempt had reached it).",
        comment,
        retryable=False,
    )


async def read_back(client: httpx.AsyncClient, outgoing: Outgoing) -> list[Comment] | None:
    """What the post lists now: REST when the site has it, else the comment feed."""
    post = WordPressPost.from_payload(outgoing.wordpress or {})
    if post.api_root and post.post_id is not None:
        return await read_rest(client, post)
    if outgoing.feed_url:
        return await read_comment_feed(client, outgoing.feed_url)
    return None
