"""The sample site's comment endpoints: the WordPress form post, the WordPress REST API and
the CommentAPI item post, with WordPress' status codes and messages (WORDPRESS.md)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, quote

from termnews.demo import feeds, pages
from termnews.demo.blog import Blog, DemoPost, Request, Response, http_date, iso_local, md5
from termnews.demo.content import BLOGS, WORDPRESS
from termnews.demo.responses import (
    HTML,
    TEXT,
    html_response,
    json_response,
    method_not_allowed,
    redirect,
)
from termnews.demo.state import APPROVED, HOLD, StoredComment, autop

MSG_DUPLICATE = "Duplicate comment detected; it looks as though you’ve already said that!"
MSG_FLOOD = "You are posting comments too quickly. Slow down."
MSG_CLOSED = "Sorry, comments are closed for this item."
MAX_LENGTHS = (
    ("author", 245, "Your name is too long."),
    ("email", 100, "Your email address is too long."),
    ("url", 200, "Your URL is too long."),
    ("comment", 65525, "Your comment is too long."),
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _form(req: Request) -> dict[str, str]:
    text = req.body.decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def as_int(value: object, default: int = 0) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return None


# --- comment rules shared by every way of posting ----------------------------------------


def _rejection(
    blog: Blog, post: DemoPost, parent: int, author: str, email: str, text: str, ip: str
) -> str | None:
    """WordPress' wp_allow_comment checks: "duplicate", "flood" or None. Caller holds the lock."""
    if blog.store.is_duplicate(post.id, parent, author, email, text):
        return "duplicate"
    window = blog.options.flood_seconds
    last = blog.store.last_time_from(ip, email)
    if window > 0 and last is not None and time.time() - last < window:
        return "flood"
    return None


def _new_status(blog: Blog, author: str, email: str) -> str:
    if blog.options.moderate_new_authors and not blog.store.has_approved_from(author, email):
        return HOLD
    return APPROVED


def _parent_ok(blog: Blog, post: DemoPost, parent: int) -> bool:
    if parent == 0:
        return True
    found = blog.store.get(parent)
    return found is not None and found.post_id == post.id and found.status == APPROVED


def moderation_hash(comment: StoredComment) -> str:
    return md5(f"termnews-demo|{comment.id}|{comment.date}")


# --- wp-comments-post.php ----------------------------------------------------------------


def _die(status: int, message: str, *, error_prefix: bool = True) -> Response:
    """WordPress prefixes "Error:" to the field checks, not to closed/duplicate/flood."""
    prefix = "<strong>Error:</strong> " if error_prefix else ""
    return html_response(status, pages.wp_die("Comment Submission Failure", prefix + message))


def _cookie_headers(blog: Blog, response: Response, form: dict[str, str]) -> None:
    cookie_hash = md5(blog.base.rstrip("/"))
    consent = form.get("wp-comment-cookies-consent") == "yes"
    for name, field in (("comment_author_", "author"), ("comment_author_email_", "email")):
        _cookie(response, name + cookie_hash, form.get(field, ""), consent)
    _cookie(response, "comment_author_url_" + cookie_hash, form.get("url", ""), consent)


def _cookie(response: Response, name: str, value: str, keep: bool) -> None:
    if keep:
        expires = http_date(time.time() + 30_000_000)
        response.header(
            "Set-Cookie", f"{name}={quote(value)}; expires={expires}; Max-Age=30000000; path=/"
        )
    else:
        response.header(
            "Set-Cookie",
            f"{name}=%20; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/",
        )


def wp_comments_post(blog: Blog, req: Request) -> Response:
    if req.method != "POST":
        return method_not_allowed("POST")
    form = _form(req)
    post_id = as_int(form.get("comment_post_ID"))
    post = blog.posts.get(post_id or 0)
    if post is None or post.blog != WORDPRESS:
        return Response(200, b"", HTML)  # WordPress exits silently for an unknown post
    if not post.comments_open:
        return _die(403, MSG_CLOSED, error_prefix=False)
    author = form.get("author", "").strip()
    email = form.get("email", "").strip()
    url = form.get("url", "").strip()
    text = form.get("comment", "").strip()
    parent = as_int(form.get("comment_parent")) or 0
    if not author or not email:
        return _die(200, "Please fill the required fields.")
    if not _EMAIL.match(email):
        return _die(200, "Please enter a valid email address.")
    if not text:
        return _die(200, "Please type your comment text.")
    for field, limit, message in MAX_LENGTHS:
        if len(form.get(field, "")) > limit:
            return _die(413, message)
    if not _parent_ok(blog, post, parent):
        return _die(
            403, "Sorry, replies to unapproved comments are not allowed.", error_prefix=False
        )
    with blog.store.lock:
        problem = _rejection(blog, post, parent, author, email, text, req.client_ip)
        if problem == "duplicate":
            return _die(409, MSG_DUPLICATE, error_prefix=False)
        if problem == "flood":
            return _die(429, MSG_FLOOD, error_prefix=False)
        comment = _store(blog, post, parent, author, email, url, text, req.client_ip, "form")
    if comment.status == APPROVED:
        location = f"{post.url}#comment-{comment.id}"
    else:
        location = (
            f"{post.url}?unapproved={comment.id}&moderation-hash={moderation_hash(comment)}"
            f"#comment-{comment.id}"
        )
    response = redirect(302, location)
    _cookie_headers(blog, response, form)
    return response


def _store(
    blog: Blog,
    post: DemoPost,
    parent: int,
    author: str,
    email: str,
    url: str,
    text: str,
    ip: str,
    via: str,
    user_id: int = 0,
    status: str | None = None,
) -> StoredComment:
    comment = StoredComment(
        id=0,
        post_id=post.id,
        parent=parent,
        author=author,
        email=email,
        url=url,
        text=text,
        content_html=autop(text),
        date=time.time(),
        status=status or _new_status(blog, author, email),
        ip=ip,
        user_id=user_id,
        via=via,
    )
    return blog.store.add(comment)


# --- REST API ------------------------------------------------------------------------------


def _rest_error(status: int, code: str, message: str, **data: object) -> Response:
    return json_response(
        status, {"code": code, "message": message, "data": {"status": status, **data}}
    )


def _authenticate(blog: Blog, req: Request) -> tuple[str, int] | Response | None:
    """HTTP Basic with an application password: (user, user id), an error, or None."""
    header = req.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return _rest_error(401, "rest_invalid_authorization", "Malformed Authorization header.")
    users = sorted(blog.options.app_passwords)
    if user not in blog.options.app_passwords:
        return _rest_error(
            401, "invalid_username", "Unknown username. Check again or try your email address."
        )
    expected = blog.options.app_passwords[user].replace(" ", "")
    if password.replace(" ", "") != expected:
        return _rest_error(
            401, "incorrect_password", "The provided password is an invalid application password."
        )
    return user, users.index(user) + 1


def comment_json(blog: Blog, comment: StoredComment) -> dict[str, object]:
    api = blog.base + "wp-json/wp/v2/"
    links: dict[str, object] = {
        "self": [{"href": f"{api}comments/{comment.id}"}],
        "collection": [{"href": f"{api}comments"}],
        "up": [{"embeddable": True, "post_type": "post", "href": f"{api}posts/{comment.post_id}"}],
    }
    if comment.parent:
        links["in-reply-to"] = [{"embeddable": True, "href": f"{api}comments/{comment.parent}"}]
    avatar = md5(comment.email.strip().lower())
    return {
        "id": comment.id,
        "post": comment.post_id,
        "parent": comment.parent,
        "author": comment.user_id,
        "author_name": comment.author,
        "author_url": comment.url,
        "date": iso_local(comment.date),
        "date_gmt": iso_local(comment.date),
        "content": {"rendered": comment.content_html},
        "link": blog.comment_link(comment),
        "status": "approved" if comment.status == APPROVED else "hold",
        "type": "comment",
        "author_avatar_urls": {
            size: f"https://secure.gravatar.com/avatar/{avatar}?s={size}&d=mm&r=g"
            for size in ("24", "48", "96")
        },
        "meta": [],
        "_links": links,
    }


def _post_json(blog: Blog, post: DemoPost) -> dict[str, object]:
    seed = blog.seeds[post.id]
    body = blog.body(post.id)
    return {
        "id": post.id,
        "date": iso_local(post.published),
        "date_gmt": iso_local(post.published),
        "guid": {"rendered": post.guid},
        "modified": iso_local(seed.modified),
        "modified_gmt": iso_local(seed.modified),
        "slug": post.slug,
        "status": "publish",
        "type": "post",
        "link": post.url,
        "title": {"rendered": post.title},
        "content": {"rendered": body, "protected": False},
        "excerpt": {"rendered": f"<p>{feeds.excerpt(body)}</p>\n", "protected": False},
        "author": 1,
        "comment_status": "open" if post.comments_open else "closed",
        "ping_status": "closed",
    }


def _csv_ints(value: str) -> list[int] | None:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        return None


def _rest_params(req: Request) -> dict[str, object] | Response:
    params: dict[str, object] = {k: v for k, v in req.query.items() if k != "rest_route"}
    if not req.body:
        return params
    content_type = req.headers.get("content-type", "")
    if "json" in content_type:
        try:
            data = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _rest_error(400, "rest_invalid_json", "Invalid JSON body passed.")
        if not isinstance(data, dict):
            return _rest_error(400, "rest_invalid_json", "Invalid JSON body passed.")
        params.update(data)
    else:
        params.update(_form(req))
    return params


def _rest_list(blog: Blog, req: Request, user: tuple[str, int] | None) -> Response:
    q = req.query
    wp_ids = {p.id for p in blog.posts_of(WORDPRESS)}
    post_ids = _csv_ints(q.get("post", ""))
    parents = _csv_ints(q.get("parent", ""))
    per_page = as_int(q.get("per_page"), 10)
    page = as_int(q.get("page"), 1)
    order = q.get("order", "desc")
    status = q.get("status", "approve")
    for name, bad in (
        ("post", post_ids is None),
        ("parent", parents is None),
        ("per_page", per_page is None or not 1 <= per_page <= 100),
        ("page", page is None or page < 1),
        ("order", order not in ("asc", "desc")),
    ):
        if bad:
            return _rest_error(
                400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: "?"}
            )
    if status not in ("approve", "approved") and user is None:
        return _rest_error(
            401, "rest_forbidden_param", "Query parameter not permitted: status", params=["status"]
        )
    wanted = (
        {APPROVED}
        if status in ("approve", "approved")
        else {HOLD}
        if status == "hold"
        else {
            APPROVED,
            HOLD,
        }
    )
    ids = wp_ids & set(post_ids) if post_ids else wp_ids
    found = [
        c
        for pid in ids
        for c in blog.store.for_post(pid, include_held=True)
        if c.status in wanted and (not parents or c.parent in parents)
    ]
    found.sort(key=lambda c: (c.date, c.id), reverse=order == "desc")
    assert per_page is not None and page is not None
    total = len(found)
    chunk = found[(page - 1) * per_page : page * per_page]
    if page > 1 and not chunk:
        return _rest_error(
            400,
            "rest_comment_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        )
    response = json_response(200, [comment_json(blog, c) for c in chunk])
    response.header("X-WP-Total", str(total))
    response.header("X-WP-TotalPages", str(math.ceil(total / per_page)))
    can_post = user is not None or blog.options.allow_anonymous_rest
    return response.header("Allow", "GET, POST" if can_post else "GET")


def _rest_create(blog: Blog, req: Request, user: tuple[str, int] | None) -> Response:
    if user is None and not blog.options.allow_anonymous_rest:
        return _rest_error(
            401, "rest_comment_login_required", "Sorry, you must be logged in to comment."
        )
    params = _rest_params(req)
    if isinstance(params, Response):
        return params
    no_post = (
        "rest_comment_invalid_post_id",
        "Sorry, you are not allowed to create this comment without a post.",
    )
    post_id = as_int(params.get("post"))
    if post_id is None:
        return _rest_error(400, "rest_invalid_param", "Invalid parameter(s): post")
    post = blog.posts.get(post_id)
    if not post_id or post is None or post.blog != WORDPRESS:
        return _rest_error(403, *no_post)
    if not post.comments_open:
        return _rest_error(403, "rest_comment_closed", MSG_CLOSED)
    if user is not None:
        author, email, url = user[0], f"{user[0]}@example.org", ""
    else:
        author = str(params.get("author_name") or "").strip()
        email = str(params.get("author_email") or "").strip()
        url = str(params.get("author_url") or "").strip()
        if email and not _EMAIL.match(email):
            return _rest_error(400, "rest_invalid_param", "Invalid parameter(s): author_email")
        if not author or not email:
            return _rest_error(
                400,
                "rest_comment_author_data_required",
                "Creating a comment requires valid author name and email values.",
            )
    content = params.get("content")
    if isinstance(content, dict):
        content = content.get("raw")
    text = str(content or "").strip()
    if not text:
        return _rest_error(400, "rest_comment_content_invalid", "Invalid comment content.")
    parent = as_int(params.get("parent"))
    if parent is None or not _parent_ok(blog, post, parent):
        return _rest_error(400, "rest_comment_invalid_parent", "Invalid comment parent.")
    with blog.store.lock:
        problem = _rejection(blog, post, parent, author, email, text, req.client_ip)
        if problem == "duplicate":
            return _rest_error(409, "comment_duplicate", MSG_DUPLICATE)
        if problem == "flood" and user is None:  # moderators are never throttled
            return _rest_error(400, "comment_flood", MSG_FLOOD)
        comment = _store(
            blog,
            post,
            parent,
            author,
            email,
            url,
            text,
            req.client_ip,
            "rest",
            user_id=user[1] if user else 0,
            status=APPROVED if user else None,
        )
    response = json_response(201, comment_json(blog, comment))
    return response.header("Location", f"{blog.base}wp-json/wp/v2/comments/{comment.id}")


def _rest_index(blog: Blog) -> Response:
    info = BLOGS[WORDPRESS]
    routes = {
        "/wp/v2/comments": {"namespace": "wp/v2", "methods": ["GET", "POST"]},
        "/wp/v2/comments/(?P<id>[\\d]+)": {"namespace": "wp/v2", "methods": ["GET"]},
        "/wp/v2/posts": {"namespace": "wp/v2", "methods": ["GET"]},
        "/wp/v2/posts/(?P<id>[\\d]+)": {"namespace": "wp/v2", "methods": ["GET"]},
    }
    return json_response(
        200,
        {
            "name": info.title,
            "description": info.tagline,
            "url": blog.base.rstrip("/"),
            "home": blog.base.rstrip("/"),
            "namespaces": ["wp/v2"],
            "authentication": {"application-passwords": {"endpoints": {}}},
            "routes": routes,
        },
    )


def rest(blog: Blog, req: Request, route: str) -> Response:
    response = _rest(blog, req, route)
    return response.header("Link", f'<{blog.base}wp-json/>; rel="https://api.w.org/"')


def _rest(blog: Blog, req: Request, route: str) -> Response:
    auth = _authenticate(blog, req)
    if isinstance(auth, Response):
        return auth
    route = "/" + route.strip("/")
    no_route = (404, "rest_no_route", "No route was found matching the URL and request method.")
    if route == "/":
        return _rest_index(blog) if req.method in ("GET", "HEAD") else _rest_error(*no_route)
    if route == "/wp/v2/comments":
        if req.method in ("GET", "HEAD"):
            return _rest_list(blog, req, auth)
        if req.method == "POST":
            return _rest_create(blog, req, auth)
        return _rest_error(*no_route)
    if match := re.fullmatch(r"/wp/v2/comments/(\d+)", route):
        comment = blog.store.get(int(match.group(1)))
        if comment is None or blog.posts[comment.post_id].blog != WORDPRESS:
            return _rest_error(404, "rest_comment_invalid_id", "Invalid comment ID.")
        if comment.status != APPROVED and auth is None:
            return _rest_error(
                401, "rest_cannot_read", "Sorry, you are not allowed to read this comment."
            )
        return json_response(200, comment_json(blog, comment))
    if route == "/wp/v2/posts" and req.method in ("GET", "HEAD"):
        posts = blog.posts_of(WORDPRESS)
        response = json_response(200, [_post_json(blog, p) for p in posts])
        return response.header("X-WP-Total", str(len(posts))).header("X-WP-TotalPages", "1")
    if match := re.fullmatch(r"/wp/v2/posts/(\d+)", route):
        post = blog.posts.get(int(match.group(1)))
        if post is None or post.blog != WORDPRESS:
            return _rest_error(404, "rest_post_invalid_id", "Invalid post ID.")
        return json_response(200, _post_json(blog, post))
    return _rest_error(*no_route)


# --- CommentAPI ----------------------------------------------------------------------------


def _fields(item: ET.Element) -> dict[str, str]:
    """The item's child elements by local name (dc:creator becomes "creator")."""
    found: dict[str, str] = {}
    for child in item:
        found.setdefault(child.tag.rsplit("}", 1)[-1], (child.text or "").strip())
    return found


def _split_author(value: str) -> tuple[str, str]:
    """RSS author forms: "mail@example.org (Name)", "Name <mail@example.org>", or a name."""
    if match := re.fullmatch(r"\s*(\S+@\S+)\s*\((.+)\)\s*", value):
        return match.group(2).strip(), match.group(1)
    if match := re.fullmatch(r"\s*(.+?)\s*<(\S+@\S+)>\s*", value):
        return match.group(1), match.group(2)
    if _EMAIL.match(value.strip()):
        return value.strip().split("@")[0], value.strip()
    return value.strip(), ""


def _bad_item(reason: str) -> Response:
    return Response(400, f"Malformed comment: {reason}\n".encode(), TEXT)


def commentapi_post(blog: Blog, req: Request, post_id: int) -> Response:
    post = blog.posts.get(post_id)
    if post is None or post.comment_api_url is None:
        return Response(404, b"No such item accepts comments here.\n", TEXT)
    if req.method != "POST":
        return method_not_allowed("POST")
    if b"<!DOCTYPE" in req.body.upper() or b"<!ENTITY" in req.body.upper():
        return _bad_item("document type declarations are not accepted")
    try:
        item = ET.fromstring(req.body)
    except ET.ParseError as exc:
        return _bad_item(f"not well-formed XML ({exc})")
    if item.tag.rsplit("}", 1)[-1] != "item":
        return _bad_item(f"the root element must be <item>, not <{item.tag}>")
    fields = _fields(item)
    text = fields.get("description", "")
    if not text:
        return _bad_item("the <item> has no <description>")
    author, email = _split_author(fields.get("creator") or fields.get("author") or "Anonymous")
    url = fields.get("link", "")
    if not author:
        author = "Anonymous"
    with blog.store.lock:
        problem = _rejection(blog, post, 0, author, email, text, req.client_ip)
        if problem == "duplicate":
            return Response(409, f"{MSG_DUPLICATE}\n".encode(), TEXT)
        if problem == "flood":
            return Response(429, f"{MSG_FLOOD}\n".encode(), TEXT).header("Retry-After", "15")
        comment = _store(blog, post, 0, author, email, url, text, req.client_ip, "commentapi")
    location = f"{post.url}#comment-{comment.id}"
    if "text/html" in req.headers.get("accept", ""):
        return Response(303, b"", HTML).header("Location", location)
    held = " It is held for moderation." if comment.status != APPROVED else ""
    body = f"Thank you: comment {comment.id} received.{held}\n".encode()
    return Response(201, body, TEXT).header("Location", location)


# --- dispatch --------------------------------------------------------------------------------
