"""Plain data objects shared by every layer. No I/O here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def content_hash(*parts: str | None) -> str:
    """A short stable hash over text parts (used for bodies and guid fallbacks)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def backoff(first: float, failures: int, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: first, 2x, 4x ... at most cap.

    The one retry schedule of termnews: failing feeds and the comment outbox both use it.
    """
    return min(cap, first * 2.0 ** max(0, failures - 1))


@dataclass(slots=True)
class CommentMeta:
    """Where a post's discussion lives, as its feed entry describes it."""

    page_url: str | None = None  # <comments>: the HTML comments page (…#comments)
    feed_url: str | None = None  # wfw:commentRss, or Atom link rel="replies" of a feed type
    api_url: str | None = None  # wfw:comment (CommentAPI endpoint)
    count: int | None = None  # slash:comments, thr:count or thr:total


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A file attached to an entry (RSS <enclosure>, Atom rel="enclosure", Media RSS)."""

    url: str
    type: str | None = None  # MIME type, e.g. audio/mpeg
    length: int | None = None  # bytes, when the feed says
    duration: float | None = None  # seconds, when the feed says
    title: str | None = None


@dataclass(slots=True)
class ParsedEntry:
    """One entry as the parser found it, before it has a database id."""

    guid: str
    link: str | None
    title: str
    author: str | None
    published: float | None  # POSIX seconds, UTC
    updated: float | None
    summary: str | None  # HTML (or text) as the feed gave it
    content: str | None  # full HTML body, when the feed has one
    comments: CommentMeta = field(default_factory=CommentMeta)
    enclosures: list[Enclosure] = field(default_factory=list)

    @property
    def body_hash(self) -> str:
        return content_hash(self.title, self.link, self.author, self.summary, self.content)


@dataclass(slots=True)
class ParsedFeed:
    """A whole parsed feed document."""

    title: str | None
    site_url: str | None
    entries: list[ParsedEntry]
    format: str = ""  # feedparser's version string: rss20, atom10, ...
    warning: str | None = None  # a recoverable problem (feedparser "bozo" with entries)


class FetchStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    GONE = "gone"
    ERROR = "error"


@dataclass(slots=True)
class Feed:
    id: int
    url: str
    title: str | None
    site_url: str | None
    tags: list[str]
    unread: int = 0
    total: int = 0
    last_fetch: float | None = None
    last_success: float | None = None
    error: str | None = None
    failures: int = 0
    gone: bool = False
    next_fetch: float | None = None

    @property
    def display_title(self) -> str:
        return self.title or self.url


@dataclass(slots=True)
class Article:
    """One row of an article list: enough to draw it, not its body."""

    id: int
    feed_id: int
    feed_title: str
    title: str
    link: str | None
    author: str | None
    published: float | None
    read: bool
    starred: bool
    comment_count: int | None = None
    outside_comments: int = 0  # cached comments of its outside discussions (HN, Mastodon …)

    @property
    def total_comments(self) -> int | None:
        """The site's count and every outside discussion's, once any is known."""
        return combined_count(self.comment_count, self.outside_comments)


def combined_count(site: int | None, outside: int) -> int | None:
    if site is None and not outside:
        return None
    return (site or 0) + outside


@dataclass(slots=True)
class ArticleDetail:
    """Everything the reader shows for one post."""

    id: int
    feed_id: int
    feed_title: str
    feed_url: str
    guid: str
    title: str
    link: str | None
    author: str | None
    published: float | None
    updated: float | None
    summary: str | None
    content: str | None
    comments: CommentMeta
    read: bool
    starred: bool
    extracted: str | None = None  # the article extracted from the post's page (fullarticle)
    extract_error: str | None = None  # why a refresh could not get it ([full_article])
    enclosures: list[Enclosure] = field(default_factory=list)
    outside_comments: int = 0  # cached comments of its outside discussions (HN, Mastodon …)

    @property
    def body_html(self) -> str:
        return self.content or self.summary or ""


class CommentStatus(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"


@dataclass(slots=True)
class Comment:
    """A comment under a post, from any source (its site, its comment feed or the board)."""

    source: str  # "feed", "wordpress", "board"
    remote_id: str  # id within the source (e.g. WordPress comment id, board row id, guid)
    parent_id: str | None  # remote_id of the comment it answers
    author: str
    author_url: str | None
    published: float | None
    content_html: str
    link: str | None = None
    status: CommentStatus = CommentStatus.APPROVED
    score: int | None = None  # points / likes where the source counts them (HN has none)


@dataclass(slots=True)
class Identity:
    """Who is reading and commenting. In served mode the name comes from the server only."""

    name: str = "local"
    display_name: str = ""
    email: str = ""
    url: str = ""


@dataclass(slots=True)
class Draft:
    article_id: int
    identity: str
    body: str
    author: str = ""
    email: str = ""
    url: str = ""
    parent_id: str | None = None
    target: str = ""  # backend name the draft is meant for
    updated: float = 0.0


@dataclass(frozen=True, slots=True)
class ArticleQuery:
    """Which articles a list shows. All fields None means "All"."""

    feed_id: int | None = None
    tag: str | None = None
    unread_only: bool = False
    starred_only: bool = False
    search: str | None = None
    # Saved searches (filters.py) add these:
    feed_name: str | None = None  # the feed's title or URL contains it
    author: str | None = None  # the author contains it
    since: float | None = None  # published (or first seen) at or after
    before: float | None = None  # published (or first seen) before
    name: str | None = None  # the saved search's name, shown as the list's label

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.search:
            return f"Search: {self.search}"
        if self.starred_only:
            return "Starred"
        if self.unread_only and self.feed_id is None and self.tag is None:
            return "Unread"
        if self.tag:
            return f"Tag: {self.tag}"
        return "All"


@dataclass(slots=True)
class FeedValidators:
    """What a refresh needs to know about a stored feed before fetching it."""

    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None  # of the last body parsed; the same body is not parsed again


@dataclass(slots=True)
class StoredCounts:
    """What storing one parsed feed changed."""

    new: int = 0
    updated: int = 0


@dataclass(slots=True)
class OutboxRow:
    """One comment waiting in the outbox, as stored (`payload` is what the backend sends)."""

    id: int
    article_id: int
    identity: str
    target: str  # the backend kind
    payload: dict[str, Any]
    attempts: int
    next_attempt: float
    last_error: str | None
    state: str  # an OutboxState value
    created: float
    lease_until: float


# A search uses at most this much of what was typed (a search box should stop there too).
SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 12


class TargetKind(StrEnum):
    """Where a comment can be sent: one value per posting backend."""

    WORDPRESS_REST = "wordpress-rest"
    WORDPRESS_FORM = "wordpress-form"
    COMMENTAPI = "commentapi"
    BOARD = "board"
    MASTODON = "mastodon"  # a reply in the post's Mastodon thread, from your own account
    BLUESKY = "bluesky"  # a reply in the post's Bluesky thread (handle + app password)


class CommentSource(StrEnum):
    """Which source a cached comment came from (the `comments.source` column)."""

    FEED = "feed"  # the post's comment feed (wfw:commentRss, Atom replies)
    WORDPRESS = "wordpress"  # WordPress' REST listing
    SENT = "sent"  # your own comment, kept until a listing from the site shows it
    BOARD = "board"  # the host's board (its own table)
    HACKERNEWS = "hackernews"  # outside discussions (comments/outside_backend.py)
    LOBSTERS = "lobsters"
    REDDIT = "reddit"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"


class OutboxState(StrEnum):
    """Where a comment waiting in the outbox stands."""

    PENDING = "pending"  # to be sent again when due
    UNCERTAIN = "uncertain"  # an attempt may have reached the site: check before re-sending
    REJECTED = "rejected"  # the site said no; edit or discard it
    FAILED = "failed"  # gave up; edit or discard it


@dataclass(slots=True)
class MyComment:
    """A comment you posted, remembered so its thread is checked for replies (comments/inbox)."""

    id: int
    identity: str
    article_id: int
    kind: str  # the TargetKind it was sent to
    thread_url: str | None  # where its discussion is read (comment feed, status URL)
    remote_id: str  # its id on the site ("local-…" while the site's id is not known)
    link: str | None  # its own address there
    body: str  # what you wrote (to find it in the site's listing when its id is unknown)
    posted: float
    checked: float  # when its thread was last read for replies (0: never)
    validator: str | None  # the thread's ETag / Last-Modified from that read


@dataclass(slots=True)
class Reply:
    """A comment that answers one of yours: an item of the "Replies" list."""

    id: int
    identity: str
    article_id: int
    article_title: str
    source: str  # a CommentSource value
    remote_id: str
    author: str
    published: float | None
    first_line: str
    link: str | None
    found: float
    read: bool


@dataclass(slots=True)
class CachedResponse:
    """A response of a checked thread, kept to revalidate it (If-None-Match / -Modified-Since)."""

    url: str
    etag: str | None
    last_modified: str | None
    headers: list[tuple[str, str]]
    body: bytes
