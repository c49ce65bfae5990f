"""Shared pieces of the comment backends: results, targets, limits and careful HTTP reads."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

from termnews import __version__
from termnews.errors import TermnewsError
from termnews.model import Comment, CommentStatus
from termnews.sanitize import clean_line, clean_url

USER_AGENT = f"termnews/{__version__}"
DEFAULT_TIMEOUT = 10.0
MAX_BODY_BYTES = 5 * 1024 * 1024  # a comment feed, REST page or error page
MAX_PAGE_BYTES = 2 * 1024 * 1024  # a post page read to detect the comment form
MAX_COMMENTS = 2000  # per post and source
MAX_REASON_CELLS = 300  # a site's error text, as shown to the user

SENT_SOURCE = "sent"  # your own comments, cached until a listing from the site shows them
_COMMENT_NUMBER = re.compile(r"#comment-(\d+)\b")


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


@dataclass(slots=True)
class CommentTarget:
    kind: str  # "wordpress-form" | "wordpress-rest" | "commentapi" | "board"
    label: str  # "to example.org as Ada <ada@example.org>"
    host: str
    needs_email: bool
    note: str | None = None


@dataclass(slots=True)
class CommentInfo:
    can_read: bool
    targets: list[CommentTarget]  # best first; the board is always last
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
    state: str  # "pending", "rejected" or "failed"
    attempts: int
    next_attempt: float
    last_error: str | None
    created: float


class CommentError(TermnewsError):
    """Comments could not be read; the message is one line for the user."""


class SendError(Exception):
    """A request that got no usable answer (network trouble, timeout, oversized body)."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.sent = sent  # the request may have reached the site (a timeout while waiting)


def make_client(timeout: float) -> httpx.AsyncClient:
    """One short-lived client per operation; redirects are never followed implicitly."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def host_of(url: str | None) -> str:
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


def network_message(exc: BaseException, host: str) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer in time"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return f"not a usable web address for {host}"
    text = clean_line(str(exc), 120) or type(exc).__name__
    return f"network error talking to {host}: {text}"


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a streamed response, refusing to hold more than `max_bytes`."""
    limit = f"{max_bytes / (1024 * 1024):g} MB"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        size = int(declared) / (1024 * 1024)
        raise SendError(f"the answer is larger than {limit} ({size:.1f} MB); not read")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SendError(f"the answer is larger than {limit}; not read")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(slots=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def text(self) -> str:
        charset = "utf-8"
        match = re.search(r"charset=([\w-]+)", self.headers.get("content-type", ""), re.I)
        if match:
            charset = match.group(1)
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    **kwargs: object,
) -> Answer:
    """One HTTP exchange with a capped body; network trouble becomes a SendError."""
    host = hostname_of(url) or url
    sent = False
    try:
        async with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
            sent = True
            body = await read_capped(response, max_bytes)
            return Answer(response.status_code, response.headers, body, str(response.url))
    except httpx.TimeoutException as exc:
        # A read/write timeout may come after the site got the request: ambiguous.
        ambiguous = sent or not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        raise SendError(network_message(exc, host), sent=ambiguous) from exc
    except httpx.HTTPError as exc:
        raise SendError(network_message(exc, host), sent=sent) from exc


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    accept: str = "*/*",
    max_redirects: int = 3,
) -> Answer:
    """A GET that follows a few redirects by hand (the client itself never follows them)."""
    answer = await request(client, "GET", url, max_bytes=max_bytes, headers={"Accept": accept})
    for _ in range(max_redirects):
        location = answer.headers.get("location")
        if answer.status not in (301, 302, 303, 307, 308) or not location:
            break
        try:
            url = str(httpx.URL(answer.url).join(location))
        except (httpx.InvalidURL, ValueError) as exc:
            raise SendError(f"{hostname_of(answer.url)} redirected to a bad address") from exc
        answer = await request(client, "GET", url, max_bytes=max_bytes, headers={"Accept": accept})
    return answer


def text_to_html(text: str) -> str:
    """A plain-text comment as simple HTML: paragraphs at blank lines, escaped."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def comment_number(*texts: str | None) -> str | None:
    """WordPress' comment id from a `…#comment-N` link or guid."""
    for text in texts:
        if text:
            match = _COMMENT_NUMBER.search(text)
            if match:
                return match.group(1)
    return None


def local_id(*parts: str) -> str:
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8", "replace"), digest_size=8)
    return "local-" + digest.hexdigest()


def timestamp(parsed: object) -> float | None:
    """feedparser's UTC struct_time -> POSIX seconds."""
    if parsed is None:
        return None
    try:
        return float(calendar.timegm(parsed))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


class _TextCollector(HTMLParser):
    """Text of the <title> and of each <p> in an HTML page (for WordPress' error pages)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.paragraphs: list[str] = []
        self._in_title = False
        self._paragraph: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in ("script", "style"):
            self._skip += 1
        elif tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph))
            self._paragraph = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._paragraph is not None and len(self._paragraph) < 200:
            self._paragraph.append(data)


def page_reason(html: str) -> str | None:
    """The message of an error page ("Error: Please fill the required fields."), cleaned."""
    collector = _TextCollector()
    try:
        collector.feed(html[:200_000])
        collector.close()
    except Exception:  # html.parser rarely raises, but a hostile page must not crash us
        pass
    texts = [clean_line(p) for p in collector.paragraphs]
    # The "« Back" link paragraph of wp_die pages is navigation, not the reason.
    texts = [t for t in texts if t and not t.lstrip("«‹< ").lower().startswith("back")]
    if texts:
        reason = clean_line(" ".join(texts), MAX_REASON_CELLS)
        # "refused the comment: Error: …" says "error" twice; WordPress' prefix goes.
        return re.sub(r"^error:\s*", "", reason, flags=re.IGNORECASE) or reason
    title = clean_line(collector.title, MAX_REASON_CELLS)
    return title or None


@dataclass(slots=True)
class Poster:
    """Who signs a comment and what it says."""

    author: str
    email: str
    url: str
    body: str
    parent_id: str | None = None


def sent_comment(
    poster: Poster, remote_id: str | None, link: str | None, status: CommentStatus
) -> Comment:
    return Comment(
        source=SENT_SOURCE,
        remote_id=remote_id or local_id(poster.author, poster.body),
        parent_id=poster.parent_id,
        author=clean_line(poster.author, 100) or "anonymous",
        author_url=clean_url(poster.url) if poster.url else None,
        published=time.time(),
        content_html=text_to_html(poster.body),
        link=clean_url(link) if link else None,
        status=status,
    )
