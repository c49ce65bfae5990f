"""What a comment backend is: the protocol every backend implements, and what they trade.

A backend says what it can do for one article (`probe`: read, post, both or neither),
reads that article's comments (`read`), sends a comment (`post`) and, after an attempt
that may have reached the site, reads the site back to see whether it did (`read_back`).
`CommentService` loops over the registered backends (see `service.BACKENDS`).

Imports: httpx, termnews.model/config/errors/sanitize; never Textual, never the store
(what a backend needs from the service comes in `deps.Deps`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Flag, StrEnum, auto
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from termnews.errors import TermnewsError
from termnews.http import HttpFailure, about
from termnews.model import ArticleDetail, Comment, CommentSource, OutboxState, TargetKind

DEFAULT_TIMEOUT = 10.0
MAX_BODY_BYTES = 5 * 1024 * 1024  # a comment feed, REST page or error page
MAX_PAGE_BYTES = 2 * 1024 * 1024  # a post page read to detect the comment form
MAX_COMMENTS = 2000  # per post and source
MAX_REASON_CELLS = 300  # a site's error text, as shown to the user


def host_of(url: str | None) -> str:
    """The host with its port ("example.org:8080"): the key of per-site settings."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return parts.netloc.rsplit("@", 1)[-1].lower()


def hostname_of(url: str | None) -> str:
    """The host without a port, for messages ("example.org refused the comment")."""
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


class PostOutcome(StrEnum):
    POSTED = "posted"
    HELD = "held"  # accepted, waiting for the site's moderator
    REJECTED = "rejected"  # the site said no; the draft is kept
    FAILED = "failed"  # no answer or a server error; see `retryable`


@dataclass(slots=True)
class PostResult:
    outcome: PostOutcome
    message: str  # one clear sentence for the status bar
    comment: Comment | None
    retryable: bool
    uncertain: bool = False  # the attempt may have reached the site: check before re-sending


@dataclass(slots=True)
class CommentTarget:
    kind: TargetKind
    label: str  # "to example.org as Ada <ada@example.org>"
    host: str
    needs_email: bool
    note: str | None = None
    thread_url: str | None = None  # an outside thread the reply goes to (a Mastodon status)
    max_chars: int | None = None  # the service's length limit, counted by comments/length.py


@dataclass(slots=True)
class CommentInfo:
    can_read: bool
    targets: list[CommentTarget]  # best first; the board (where offered) is last
    page_url: str | None
    reason: str | None  # why the site itself takes no comments from termnews, if it does not


@dataclass(slots=True)
class OutboxItem:
    """A comment waiting to be sent again (the UI lists these)."""

    id: int
    article_id: int
    kind: str
    label: str
    body: str
    state: OutboxState
    attempts: int
    next_attempt: float
    last_error: str | None
    created: float


class CommentError(TermnewsError):
    """Comments could not be read; the message is one line for the user."""


class Capability(Flag):
    """What a backend can do for one article."""

    NONE = 0
    READ = auto()
    POST = auto()


@dataclass(slots=True)
class Probe:
    """One backend's answer for one article."""

    can: Capability = Capability.NONE
    targets: list[CommentTarget] = field(default_factory=list)
    closed: bool = False  # the site itself says comments are closed on this post
    note: str | None = None  # worth telling the user (the post page could not be checked)
    network_error: str | None = None  # the site could not be reached: nothing is known


@dataclass(slots=True)
class Outgoing:
    """Everything needed to send (and later re-send or check) a comment without the article.

    Stored as JSON in the outbox; `from_json` accepts what older versions stored.
    """

    kind: TargetKind
    label: str
    host: str
    body: str
    article_id: int = 0
    author: str = ""
    email: str = ""
    url: str = ""
    parent_id: str | None = None
    article_link: str | None = None
    article_title: str = ""
    api_url: str | None = None  # CommentAPI endpoint
    feed_url: str | None = None  # the post's comment feed, to read the site back
    thread_url: str | None = None  # CommentTarget.thread_url
    created: float = 0.0  # when the first attempt was made (Bluesky's record key)
    wordpress: dict[str, Any] | None = None  # WordPressPost.to_payload()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], kind: str) -> Outgoing:
        def text(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else ""

        def optional(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        wordpress = data.get("wordpress")
        return cls(
            kind=TargetKind(data.get("kind") or kind),
            label=text("label"),
            host=text("host"),
            body=text("body"),
            article_id=int(data.get("article_id") or 0),
            author=text("author"),
            email=text("email"),
            url=text("url"),
            parent_id=optional("parent_id"),
            article_link=optional("article_link"),
            article_title=text("article_title"),
            api_url=optional("api_url"),
            feed_url=optional("feed_url"),
            thread_url=optional("thread_url"),
            created=float(data.get("created") or 0.0),
            wordpress=wordpress if isinstance(wordpress, dict) else None,
        )


class CommentBackend(Protocol):
    """One way of reading and/or writing comments. One module each; one line in service.py."""

    #: the cache source its `read` fills (None: it reads nothing into the cache)
    source: CommentSource | None
    #: the target kinds its `post` sends to (empty: it posts nothing)
    kinds: tuple[TargetKind, ...]

    async def probe(self, client: httpx.AsyncClient, article: ArticleDetail) -> Probe:
        """What this backend can do for `article`; network trouble goes in the Probe."""
        ...

    async def read(self, client: httpx.AsyncClient, article: ArticleDetail) -> list[Comment] | None:
        """The article's comments from this source; None if it has none for this article.
        Raises CommentError (one line) when the source exists but cannot be read."""
        ...

    async def post(
        self, client: httpx.AsyncClient, outgoing: Outgoing, *, retrying: bool
    ) -> PostResult:
        """Send once. `retrying`: an earlier attempt got no clear answer."""
        ...

    async def read_back(
        self, client: httpx.AsyncClient, outgoing: Outgoing
    ) -> list[Comment] | None:
        """What the site lists now for the post `outgoing` went to, to look for it there.
        None: this site cannot be read back. Raises CommentError on network trouble."""
        ...


MAYBE_ARRIVED = "the comment may have reached the site; checking before any retry"


def failed_to_send(host: str, problem: HttpFailure) -> PostResult:
    """A send without an answer. Once the request had gone out, it may have arrived."""
    if problem.sent:
        return PostResult(
            PostOutcome.FAILED,
            f"{about(host, problem.message)}; {MAYBE_ARRIVED}",
            None,
            retryable=True,
            uncertain=True,
        )
    return PostResult(
        PostOutcome.FAILED, f"could not post to {host}: {problem.message}", None, retryable=True
    )


def site_error(host: str, status: int) -> PostResult:
    """A 5xx after the whole comment was sent: the site may have stored it before failing."""
    return PostResult(
        PostOutcome.FAILED,
        f"{host} had an error (HTTP {status}); {MAYBE_ARRIVED}",
        None,
        retryable=True,
        uncertain=True,
    )
