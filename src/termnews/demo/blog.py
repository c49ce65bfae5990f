"""The sample site's model: its posts with their URLs, its options, requests and responses."""

from __future__ import annotations

import email.utils
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from termnews.demo.content import BLOGGER, BLOGS, COMMENTAPI, POSTS, WORDPRESS, PostSeed, post_body
from termnews.demo.state import CommentStore, StoredComment

if TYPE_CHECKING:
    from termnews.demo.outside import StandIns


@dataclass(frozen=True, slots=True)
class DemoPost:
    """One sample post as tests and the CLI see it (URLs are absolute)."""

    id: int
    blog: str  # "wordpress", "blogger" or "commentapi"
    role: str  # news, showcase, long, closed, threaded, blogger-*, commentapi, ...
    slug: str
    title: str
    author: str
    published: float
    url: str
    guid: str
    comments_open: bool
    comments_feed_url: str | None  # RSS (WordPress, CommentAPI) or Atom (Blogger)
    comments_atom_url: str | None  # WordPress' Atom twin of the comments feed
    comment_api_url: str | None  # CommentAPI endpoint (wfw:comment)


@dataclass(slots=True)
class Request:
    method: str
    path: str  # decoded path, no query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    client_ip: str = "127.0.0.1"


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self


@dataclass(slots=True)
class SiteOptions:
    moderate_new_authors: bool = False
    allow_anonymous_rest: bool = False
    flood_seconds: float = 15.0
    app_passwords: dict[str, str] = field(default_factory=dict)


def rfc822(ts: float) -> str:
    return email.utils.format_datetime(datetime.fromtimestamp(ts, UTC)).replace("-0000", "+0000")


def http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def iso_z(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(ts: float) -> str:
    """WordPress' REST `date_gmt` shape: no zone suffix."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class Blog:
    """The three sample blogs behind one base URL, with their comments."""

    def __init__(self, base: str, options: SiteOptions, store: CommentStore) -> None:
        self.base = base  # "http://127.0.0.1:PORT/"
        self.options = options
        self.store = store
        self.seeds: dict[int, PostSeed] = {p.id: p for p in POSTS}
        self.posts: dict[int, DemoPost] = {p.id: self._post(p) for p in POSTS}
        self._bodies: dict[int, str] = {}
        self.outside: StandIns | None = None  # the discussion stand-ins, made by routes.py

    # --- URLs -----------------------------------------------------------------------------

    def blog_url(self, blog: str) -> str:
        return self.base + BLOGS[blog].path

    def _post(self, seed: PostSeed) -> DemoPost:
        month = datetime.fromtimestamp(seed.published, UTC).strftime("%Y/%m")
        feed = atom = api = None
        if seed.blog == WORDPRESS:
            url = f"{self.base}{month}/{seed.slug}/"
            guid = f"{self.base}?p={seed.id}"
            feed, atom = url + "feed/", url + "feed/atom/"
        elif seed.blog == BLOGGER:
            url = f"{self.base}blogger/{month}/{seed.slug}.html"
            guid = f"tag:blogger.com,1999:blog-{BLOGGER_BLOG_ID}.post-{seed.id}"
            feed = f"{self.base}blogger/feeds/{seed.id}/comments/default"
        else:
            url = f"{self.base}tidewater/notes/{seed.slug}.html"
            guid = url
            if seed.comments_open:
                feed = f"{self.base}tidewater/comments/{seed.id}.rss"
                api = f"{self.base}tidewater/comment/{seed.id}"
        return DemoPost(
            id=seed.id,
            blog=seed.blog,
            role=seed.role,
            slug=seed.slug,
            title=seed.title,
            author=seed.author,
            published=seed.published,
            url=url,
            guid=guid,
            comments_open=seed.comments_open and seed.blog != BLOGGER,
            comments_feed_url=feed,
            comments_atom_url=atom,
            comment_api_url=api,
        )

    def comment_link(self, comment: StoredComment) -> str:
        return f"{self.posts[comment.post_id].url}#comment-{comment.id}"

    def comment_guid(self, comment: StoredComment) -> str:
        post = self.posts[comment.post_id]
        if post.blog == BLOGGER:
            return f"tag:blogger.com,1999:blog-{BLOGGER_BLOG_ID}.post-{comment.id}"
        return f"{post.guid}#comment-{comment.id}"

    # --- content --------------------------------------------------------------------------

    def body(self, post_id: int) -> str:
        if post_id not in self._bodies:
            self._bodies[post_id] = post_body(self.seeds[post_id], self.base)
        return self._bodies[post_id]

    def posts_of(self, blog: str) -> list[DemoPost]:
        """A blog's posts, newest first."""
        found = [p for p in self.posts.values() if p.blog == blog]
        return sorted(found, key=lambda p: p.published, reverse=True)

    def find_slug(self, blog: str, slug: str) -> DemoPost | None:
        for post in self.posts.values():
            if post.blog == blog and post.slug == slug:
                return post
        return None

    def posts_modified(self, blog: str) -> float:
        return max(self.seeds[p.id].modified for p in self.posts_of(blog))

    def comment_count(self, post_id: int) -> int:
        return self.store.count(post_id)

    def shows_comment_meta(self, post: DemoPost) -> bool:
        """WordPress omits all comment metadata for a closed post with no comments."""
        return post.comments_open or self.comment_count(post.id) > 0

    def reply_prefix(self, comment: StoredComment) -> str:
        """The 'In reply to NAME.' paragraph WordPress puts before a reply in comment feeds."""
        if not comment.parent:
            return ""
        parent = self.store.get(comment.parent)
        if parent is None:
            return ""
        return (
            f'<p>In reply to <a href="{self.comment_link(parent)}">'
            f"{escape_text(parent.author)}</a>.</p>\n"
        )


BLOGGER_BLOG_ID = "4417250031"


def escape_text(text: str) -> str:
    """Escape for HTML/XML text and attribute values."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
    )


__all__ = [
    "BLOGGER",
    "COMMENTAPI",
    "WORDPRESS",
    "Blog",
    "DemoPost",
    "Request",
    "Response",
    "SiteOptions",
]
