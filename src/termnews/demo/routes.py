"""Request dispatch for the sample site.

`resolve()` maps a request to a route kind ("feed", "comment", "page", "api", "asset",
"discussion": the outside services' stand-ins, with their own faults) and
a handler; the server applies injected faults to feeds and comment endpoints only. Status
codes and headers follow WORDPRESS.md; the comment endpoints are in `endpoints.py`.
"""

from __future__ import annotations

import email.utils
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from termnews.demo import feeds, pages
from termnews.demo.blog import Blog, DemoPost, Request, Response, http_date, md5
from termnews.demo.content import BLOGGER, COMMENTAPI, WORDPRESS, sample_png
from termnews.demo.endpoints import as_int, commentapi_post, moderation_hash, rest, wp_comments_post
from termnews.demo.outside import StandIns
from termnews.demo.responses import (
    ATOM,
    RSS,
    TEXT,
    html_response,
    method_not_allowed,
    redirect,
)
from termnews.demo.state import DemoStateError

FAULTY_KINDS = frozenset({"feed", "comment"})
JSON_FEED = "application/feed+json; charset=UTF-8"

_WP_POST = re.compile(r"^/(\d{4})/(\d{2})/([a-z0-9-]+)(/?)(feed/?|feed/(?:rss2|atom)/?)?$")
_BLOGGER_POST = re.compile(r"^/blogger/(\d{4})/(\d{2})/([a-z0-9-]+)\.html$")
_BLOGGER_COMMENTS = re.compile(r"^/blogger/feeds/(\d+)/comments/default/?$")
_TIDEWATER_POST = re.compile(r"^/tidewater/notes/([a-z0-9-]+)\.html$")
_TIDEWATER_COMMENTS = re.compile(r"^/tidewater/comments/(\d+)\.rss$")
_TIDEWATER_ENDPOINT = re.compile(r"^/tidewater/comment/(\d+)/?$")
_UPLOAD = re.compile(r"^/wp-content/uploads/2026/11/[a-z0-9-]+\.png$")


@dataclass(frozen=True, slots=True)
class Route:
    kind: str  # feed, comment, page, api, asset
    run: Callable[[], Response]


def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def conditional(
    req: Request, make: Callable[[], str], content_type: str, last_modified: float, etag_seed: str
) -> Response:
    """Serve a feed with ETag and Last-Modified; 304 when the client's validators match.

    WordPress' rule: with both validators sent, both must match; with one, that one.
    """
    last_modified = math.floor(last_modified)
    etag = f'"{md5(etag_seed)}"'
    client_etag = req.headers.get("if-none-match")
    client_since = _parse_http_date(req.headers.get("if-modified-since"))
    etag_ok = client_etag is not None and etag in [t.strip() for t in client_etag.split(",")]
    since_ok = client_since is not None and client_since >= last_modified
    if client_etag is not None and client_since is not None:
        fresh = etag_ok and since_ok
    else:
        fresh = etag_ok or since_ok
    response = Response(304) if fresh else Response(200, make().encode("utf-8"), content_type)
    return response.header("ETag", etag).header("Last-Modified", http_date(last_modified))


def _feed(
    kind_type: str, make: Callable[[], str], last_modified: float, seed: str, req: Request
) -> Route:
    return Route("feed", lambda: conditional(req, make, kind_type, last_modified, seed))


def _posts_feed(blog: Blog, req: Request, which: str, atom: bool = False) -> Route:
    if which == WORDPRESS:
        self_url = blog.base + ("feed/atom/" if atom else "feed/")
    else:
        self_url = blog.blog_url(which) + "rss.xml"
    lm = blog.posts_modified(which)
    seed = f"posts|{which}|{atom}|{lm}"
    if atom:
        return _feed(ATOM, lambda: feeds.posts_atom(blog, self_url), lm, seed, req)
    return _feed(RSS, lambda: feeds.posts_rss(blog, which, self_url), lm, seed, req)


def _json_feed(blog: Blog, req: Request) -> Route:
    """/feed/json/: the posts as JSON Feed (not advertised on the pages: RSS stays the one)."""
    lm = blog.posts_modified(WORDPRESS)
    make = functools.partial(feeds.posts_json, blog, blog.base + "feed/json/")
    return _feed(JSON_FEED, make, lm, f"posts|json|{lm}", req)


def _comments_feed(
    blog: Blog, req: Request, post: DemoPost | None, atom: bool = False, which: str = WORDPRESS
) -> Route:
    """Validators follow the newest comment anywhere on the site, as WordPress' do."""
    with blog.store.lock:
        newest = blog.store.newest_date()
        generation = blog.store.generation
    lm = max(newest, blog.posts_modified(which))
    seed = f"comments|{post.id if post else which}|{atom}|{lm}|{generation}"
    if post is None:
        self_url = blog.base + ("comments/feed/atom/" if atom else "comments/feed/")
    else:
        self_url = (post.comments_atom_url if atom else post.comments_feed_url) or post.url
    if atom:
        return _feed(ATOM, lambda: feeds.comments_atom(blog, post, self_url), lm, seed, req)
    return _feed(RSS, lambda: feeds.comments_rss(blog, post, self_url, which), lm, seed, req)


def _page(make: Callable[[], Response]) -> Route:
    return Route("page", make)


def _wp_headers(blog: Blog, response: Response, post: DemoPost | None = None) -> Response:
    response.header("Link", f'<{blog.base}wp-json/>; rel="https://api.w.org/"')
    if post is not None:
        response.header(
            "Link",
            f'<{blog.base}wp-json/wp/v2/posts/{post.id}>; rel="alternate"; type="application/json"',
        )
        response.header("Link", f"<{post.guid}>; rel=shortlink")
    return response


def _wp_post_page(blog: Blog, req: Request, post: DemoPost) -> Response:
    show_held = None
    held_id = as_int(req.query.get("unapproved"), 0)
    if held_id:
        held = blog.store.get(held_id)
        if (
            held is not None
            and held.post_id == post.id
            and req.query.get("moderation-hash") == moderation_hash(held)
        ):
            show_held = held.id
    return _wp_headers(blog, html_response(200, pages.post_page(blog, post, show_held)), post)


def _not_found(blog: Blog) -> Route:
    return _page(lambda: html_response(404, pages.not_found(blog)))


def _root(blog: Blog, req: Request) -> Route:
    q = req.query
    if "rest_route" in q:
        route = q["rest_route"]
        kind = "comment" if route.strip("/").startswith("wp/v2/comments") else "api"
        return Route(kind, lambda: rest(blog, req, route))
    post = blog.posts.get(as_int(q.get("p"), 0) or 0)
    if post is not None and post.blog != WORDPRESS:
        post = None
    if "feed" in q:
        feed = q["feed"] or "rss2"
        if post is not None or feed.startswith("comments-"):
            return _comments_feed(blog, req, post, atom=feed.endswith("atom"))
        return _posts_feed(blog, req, WORDPRESS, atom=feed == "atom")
    if "p" in q:
        if post is None:
            return _not_found(blog)
        return _page(lambda: redirect(301, post.url))
    return _page(lambda: _wp_headers(blog, html_response(200, pages.home(blog))))


def stand_ins_of(blog: Blog) -> StandIns:
    if blog.outside is None:
        blog.outside = StandIns(blog)
    return blog.outside


def resolve(blog: Blog, req: Request) -> Route:
    """Which handler answers this request, and what kind of route it is."""
    path = req.path
    if path in ("/", "/index.php"):
        return _root(blog, req)
    if StandIns.handles(path):  # HN, Lobsters and Mastodon stand-ins (outside.py)
        stand_ins = stand_ins_of(blog)
        return Route("discussion", lambda: stand_ins.answer(req))
    if path == "/wp-comments-post.php":
        return Route("comment", lambda: wp_comments_post(blog, req))
    if path == "/wp-json" or path.startswith("/wp-json/"):
        route = path[len("/wp-json") :] or "/"
        kind = "comment" if route.strip("/").startswith("wp/v2/comments") else "api"
        return Route(kind, lambda: rest(blog, req, route))
    if path in ("/feed", "/feed/", "/feed/rss2/", "/feed/rss/"):
        return _posts_feed(blog, req, WORDPRESS)
    if path in ("/feed/atom", "/feed/atom/"):
        return _posts_feed(blog, req, WORDPRESS, atom=True)
    if path in ("/feed/json", "/feed/json/"):
        return _json_feed(blog, req)
    if path in ("/comments/feed", "/comments/feed/", "/comments/feed/rss2/"):
        return _comments_feed(blog, req, None)
    if path in ("/comments/feed/atom", "/comments/feed/atom/"):
        return _comments_feed(blog, req, None, atom=True)
    if match := _WP_POST.match(path):
        year, month, slug, slash, feed = match.groups()
        post = blog.find_slug(WORDPRESS, slug)
        if post is None or not post.url.endswith(f"/{year}/{month}/{slug}/"):
            return _not_found(blog)
        if feed:
            return _comments_feed(blog, req, post, atom="atom" in feed)
        if not slash:
            return _page(lambda: redirect(301, post.url))
        return _page(lambda: _wp_post_page(blog, req, post))
    if _UPLOAD.match(path):
        return Route("asset", lambda: Response(200, sample_png(), "image/png"))
    if path.startswith("/blogger"):
        return _blogger(blog, req, path)
    if path.startswith("/tidewater"):
        return _tidewater(blog, req, path)
    return _not_found(blog)


def _blogger(blog: Blog, req: Request, path: str) -> Route:
    home = blog.blog_url(BLOGGER)
    if path in ("/blogger", "/blogger/"):
        feed = home + "feeds/posts/default"
        return _page(
            lambda: html_response(200, pages.blog_home(blog, BLOGGER, ATOM.split(";")[0], feed))
        )
    if path.rstrip("/") == "/blogger/feeds/posts/default":
        lm = blog.posts_modified(BLOGGER)
        return _feed(ATOM, lambda: feeds.blogger_posts(blog), lm, f"blogger|{lm}", req)
    if match := _BLOGGER_COMMENTS.match(path):
        post = blog.posts.get(int(match.group(1)))
        if post is None or post.blog != BLOGGER:
            return _not_found(blog)
        newest = max([c.date for c in blog.store.for_post(post.id)], default=post.published)
        seed = f"blogger-comments|{post.id}|{newest}|{blog.store.generation}"
        found: DemoPost = post  # narrowed for the closure below
        return _feed(ATOM, lambda: feeds.blogger_comments(blog, found), newest, seed, req)
    if match := _BLOGGER_POST.match(path):
        post = blog.find_slug(BLOGGER, match.group(3))
        if post is None or not post.url.endswith(path):
            return _not_found(blog)
        return _page(lambda: html_response(200, pages.post_page(blog, post)))
    return _not_found(blog)


def _tidewater(blog: Blog, req: Request, path: str) -> Route:
    home = blog.blog_url(COMMENTAPI)
    if path in ("/tidewater", "/tidewater/"):
        feed = home + "rss.xml"
        return _page(
            lambda: html_response(200, pages.blog_home(blog, COMMENTAPI, RSS.split(";")[0], feed))
        )
    if path == "/tidewater/rss.xml":
        return _posts_feed(blog, req, COMMENTAPI)
    if match := _TIDEWATER_COMMENTS.match(path):
        post = blog.posts.get(int(match.group(1)))
        if post is None or post.comments_feed_url is None or post.blog != COMMENTAPI:
            return _not_found(blog)
        return _comments_feed(blog, req, post, which=COMMENTAPI)
    if match := _TIDEWATER_ENDPOINT.match(path):
        post_id = int(match.group(1))
        return Route("comment", lambda: commentapi_post(blog, req, post_id))
    if match := _TIDEWATER_POST.match(path):
        post = blog.find_slug(COMMENTAPI, match.group(1))
        if post is None:
            return _not_found(blog)
        return _page(lambda: html_response(200, pages.post_page(blog, post)))
    return _not_found(blog)


def handle(blog: Blog, req: Request) -> Response:
    """Answer one request (faults aside). Storage failures become a 500, not a crash."""
    route = resolve(blog, req)
    if req.method not in ("GET", "HEAD", "POST"):
        return method_not_allowed("GET, HEAD, POST")
    if req.method == "POST" and route.kind not in ("comment", "api", "discussion"):
        return method_not_allowed("GET, HEAD")
    try:
        return route.run()
    except DemoStateError as exc:
        return Response(500, f"{exc}\n".encode(), TEXT)
