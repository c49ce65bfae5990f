"""WordPress: detect a post's comment endpoints, read comments over REST, post comments.

What a real WordPress answers is recorded in WORDPRESS.md beside DESIGN.md; the status
handling below follows it (302 = accepted, 409 duplicate, 429 flood, 403 closed, 200 with
an error page = rejected).
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from termnews.comments.base import (
    MAX_BODY_BYTES,
    MAX_COMMENTS,
    MAX_PAGE_BYTES,
    MAX_REASON_CELLS,
    CommentError,
    Poster,
    PostOutcome,
    PostResult,
    SendError,
    comment_number,
    get,
    hostname_of,
    page_reason,
    request,
    sent_comment,
)
from termnews.config import WordPressLogin
from termnews.model import ArticleDetail, Comment, CommentStatus
from termnews.sanitize import clean_line, clean_url

SOURCE = "wordpress"
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

    @property
    def open(self) -> bool:
        return self.form_action is not None and self.post_id is not None

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> WordPressPost:
        fields = {k: data.get(k) for k in cls.__dataclass_fields__}
        fields["page_url"] = fields["page_url"] or ""
        fields["page_checked"] = bool(fields["page_checked"])
        return cls(**fields)


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
    """Read the post page for WordPress' comment form and REST link; None if not WordPress."""
    page_url = article.link or article.comments.page_url
    if not page_url:
        return None
    page_url = page_url.split("#", 1)[0]
    post = WordPressPost(page_url=page_url, post_id=post_id_from_links(article))
    try:
        answer = await get(client, page_url, max_bytes=MAX_PAGE_BYTES, accept="text/html")
    except SendError as exc:
        post.page_error = exc.message
        return post if post.post_id is not None else None
    if answer.status != 200:
        post.page_error = f"{hostname_of(page_url)} answered HTTP {answer.status}"
        return post if post.post_id is not None else None
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
            answer = await get(client, url, max_bytes=MAX_BODY_BYTES, accept="application/json")
        except SendError as exc:
            raise CommentError(f"WordPress comments: {exc.message}") from exc
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


def _accepted(host: str, poster: Poster, location: str, *, base: str) -> PostResult:
    try:
        link = str(httpx.URL(base).join(location)) if location else None
    except (httpx.InvalidURL, ValueError):
        link = None
    query = parse_qs(urlsplit(link or "").query)
    held = query.get("unapproved", [None])[0]
    if held is not None:
        comment = sent_comment(poster, clean_line(held, 40), link, CommentStatus.PENDING)
        return PostResult(
            PostOutcome.HELD,
            f"{host} is holding the comment for moderation; it shows once approved.",
            comment,
            retryable=False,
        )
    number = comment_number(link)
    comment = sent_comment(poster, number, link, CommentStatus.APPROVED)
    return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, retryable=False)


def _refused(host: str, reason: str | None, status: int, *, retryable: bool = False) -> PostResult:
    reason = reason or "no reason given"
    return PostResult(
        PostOutcome.REJECTED,
        f"{host} refused the comment: {reason} (HTTP {status})",
        None,
        retryable=retryable,
    )


def _failed(host: str, detail: str, *, retryable: bool = True) -> PostResult:
    return PostResult(PostOutcome.FAILED, f"could not post to {host}: {detail}", None, retryable)


def _delivered_duplicate(host: str, poster: Poster) -> PostResult:
    comment = sent_comment(poster, None, None, CommentStatus.APPROVED)
    return PostResult(
        PostOutcome.POSTED,
        f"Comment delivered to {host} (an earlier attempt had reached it).",
        comment,
        retryable=False,
    )


async def post_form(
    client: httpx.AsyncClient, post: WordPressPost, poster: Poster, *, retrying: bool = False
) -> PostResult:
    """POST the comment form to wp-comments-post.php, without following the redirect.

    `retrying` is set when this comment was sent before without a clear answer (a timeout
    after sending, or a server error). Never post twice: WordPress refuses an identical
    comment with 409 "duplicate", so on a retry a 409 means the earlier attempt got
    through, and it counts as delivered.
    """
    host = hostname_of(post.form_action or post.page_url) or "the site"
    if not post.form_action or post.post_id is None:
        return _refused(host, "this post has no comment form (comments are closed)", 403)
    data = {
        "comment": poster.body,
        "author": poster.author,
        "email": poster.email,
        "url": poster.url,
        "comment_post_ID": str(post.post_id),
        "comment_parent": poster.parent_id or "0",
        "submit": "Post Comment",
    }
    try:
        answer = await request(client, "POST", post.form_action, data=data)
    except SendError as exc:
        return _failed(host, exc.message)
    status = answer.status
    if status in (301, 302, 303, 307, 308):
        return _accepted(host, poster, answer.headers.get("location", ""), base=answer.url)
    if status == 409 and retrying:
        return _delivered_duplicate(host, poster)
    if status >= 500:
        return _failed(host, f"the site had an error (HTTP {status})")
    reason = page_reason(answer.text()) if answer.body else None
    if status == 200:
        return _refused(host, reason or "the site did not take the comment", status)
    return _refused(host, reason, status, retryable=status == 429)


def _rest_error(answer_body: bytes) -> tuple[str, str]:
    try:
        data = json.loads(answer_body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    code = clean_line(str(data.get("code") or ""), 80)
    message = clean_line(str(data.get("message") or ""), MAX_REASON_CELLS)
    return code, message


async def post_rest(
    client: httpx.AsyncClient,
    post: WordPressPost,
    poster: Poster,
    login: WordPressLogin | None,
    *,
    retrying: bool = False,
) -> PostResult:
    """POST /wp/v2/comments, with an application password or anonymously.

    Anonymous REST comments are off on most sites (401 rest_comment_login_required):
    then the comment goes through the form instead. On a retry a 409 duplicate counts as
    delivered, as for the form (see post_form).
    """
    host = hostname_of(post.api_root or post.page_url) or "the site"
    if not post.api_root or post.post_id is None:
        if login is None and post.open:
            return await post_form(client, post, poster, retrying=retrying)
        return _refused(host, "no WordPress REST API found for this post", 404)
    body: dict[str, Any] = {"post": post.post_id, "content": poster.body}
    if poster.parent_id and poster.parent_id.isdigit():
        body["parent"] = int(poster.parent_id)
    auth: httpx.BasicAuth | None = None
    if login is not None:
        auth = httpx.BasicAuth(login.user, login.app_password)
    else:
        body.update(author_name=poster.author, author_email=poster.email, author_url=poster.url)
    url = rest_url(post.api_root, "/wp/v2/comments")
    try:
        answer = await request(client, "POST", url, json=body, auth=auth)
    except SendError as exc:
        return _failed(host, exc.message)
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
            comment = sent_comment(poster, remote, link, CommentStatus.PENDING)
            return PostResult(
                PostOutcome.HELD,
                f"{host} is holding the comment for moderation; it shows once approved.",
                comment,
                retryable=False,
            )
        if created is not None and created.author:
            poster = Poster(created.author, poster.email, poster.url, poster.body, poster.parent_id)
        comment = sent_comment(poster, remote, link, CommentStatus.APPROVED)
        return PostResult(PostOutcome.POSTED, f"Comment posted to {host}.", comment, False)
    code, message = _rest_error(answer.body)
    if status == 401 and login is None and code == "rest_comment_login_required" and post.open:
        return await post_form(client, post, poster, retrying=retrying)
    if status == 409 and retrying:
        return _delivered_duplicate(host, poster)
    if status >= 500:
        return _failed(host, f"the site had an error (HTTP {status})")
    if status == 401 and login is not None:
        message = f"the application password for {clean_line(login.user, 60)} was not accepted"
    return _refused(host, message or code or None, status, retryable=status == 429)
