"""What every outside discussion source shares (Hacker News, Lobsters, Reddit, Mastodon, Bluesky).

A source looks at a `Post` (its URL, its HTML, its feed) without the network to say whether
it may have a discussion (`wanted`), and reads it on demand (`read`) into `Discussion`s:
termnews `Comment`s threaded by parent ids, plus a header line ("HN 412 points · 96
comments") and the thread's own URL. Every outside string is cleaned here or in the source
module with `termnews.sanitize`; comment bodies that are HTML stay HTML for the renderer.

Failures are `DiscussionError`s worded for one status line ("Lobsters: rate-limited (HTTP
429); try again in 60 s"); no source ever raises anything else for bad input.

Imports: httpx, termnews.http, termnews.model, termnews.sanitize, termnews.config,
termnews.errors. Never a source module (they import this one).
"""

from __future__ import annotations

import datetime
import html
import ipaddress
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from termnews import http
from termnews.config import DiscussionSettings
from termnews.errors import TermnewsError
from termnews.model import Comment
from termnews.sanitize import clean_line, clean_text, clean_url

MAX_BODY_BYTES = 8 * 1024 * 1024  # one API answer (a 10,000-comment HN thread is ~5 MB)
MAX_HTML_SCAN = 1_000_000  # characters of a post's HTML searched for discussion links
MAX_ANCHORS = 2000


class Service(StrEnum):
    HACKERNEWS = "hackernews"
    LOBSTERS = "lobsters"
    REDDIT = "reddit"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Service.HACKERNEWS: "HN",
    Service.LOBSTERS: "Lobsters",
    Service.REDDIT: "Reddit",
    Service.MASTODON: "Mastodon",
    Service.BLUESKY: "Bluesky",
}


class DiscussionError(TermnewsError):
    """A source could not be read; the message starts with the source's label."""

    def __init__(self, service: Service, message: str) -> None:
        super().__init__(f"{service.label}: {message}")
        self.service = service


class SendFailure(DiscussionError):
    """A reply that was not (or may not have been) posted.

    `retryable`: worth sending again later (network trouble, 429, 5xx). `uncertain`: the
    request may have reached the service, so look for the reply before any re-send.
    """

    def __init__(
        self, service: Service, message: str, *, retryable: bool = False, uncertain: bool = False
    ) -> None:
        super().__init__(service, message)
        self.retryable = retryable
        self.uncertain = uncertain


@dataclass(slots=True)
class Discussion:
    """One thread about the post on one service."""

    service: Service
    url: str | None  # the thread's page, to open in a browser
    title: str
    stats: list[str]  # ["412 points", "96 comments"]
    comments: list[Comment]
    truncated: bool = False  # more comments than discussions.max_comments
    note: str | None = None  # what this source cannot show ("flat: no reply threading")

    @property
    def label(self) -> str:
        return self.service.label

    @property
    def header(self) -> str:
        """The source's header line: "HN 412 points · 96 comments"."""
        text = " ".join([self.label, " · ".join(self.stats)]).strip()
        if self.truncated:
            text += f" (first {len(self.comments)} shown)"
        return text


@dataclass(slots=True)
class Anchor:
    href: str
    text: str


class _LinkCollector(HTMLParser):
    """Links that may lead to a discussion (href and text), and the fediverse:creator meta."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[Anchor] = []
        self.creator: str | None = None
        self._open: Anchor | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        href = values.get("href", "")
        if tag == "a" and _may_link_a_discussion(href) and len(self.anchors) < MAX_ANCHORS:
            self._open = Anchor(href.strip(), "")
            self.anchors.append(self._open)
        elif tag == "meta" and values.get("name", "").lower() == "fediverse:creator":
            self.creator = clean_line(values.get("content"), 200) or None

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None and len(self._open.text) < 200:
            self._open.text += data


# Every link or meta a source looks for contains one of these (checked before parsing).
_MARKERS = (
    "fediverse:creator",
    "bsky.app/profile/",
    "reddit.com/r/",
    "ycombinator.com/item",
    "/@",
    "/statuses/",
)


def _may_link_a_discussion(html: str) -> bool:
    lowered = html.lower()
    return any(marker in lowered for marker in _MARKERS)


@dataclass
class Post:
    """What the sources may look at: the post's URL, its HTML (content and/or page), its feed."""

    url: str | None
    html: str = ""
    feed_url: str | None = None
    _parsed: _LinkCollector | None = field(default=None, repr=False)

    def _collector(self) -> _LinkCollector:
        if self._parsed is None:
            collector = _LinkCollector()
            html = self.html[:MAX_HTML_SCAN]
            # Parsing a 1 MB post takes ~0.7 s; most posts link no discussion at all.
            if _may_link_a_discussion(html):
                try:
                    collector.feed(html)
                    collector.close()
                except Exception:  # html.parser rarely raises; a hostile page must not crash
                    pass
            self._parsed = collector
        return self._parsed

    @cached_property
    def anchors(self) -> list[Anchor]:
        return self._collector().anchors

    @property
    def fediverse_creator(self) -> str | None:
        return self._collector().creator


# -- privacy ----------------------------------------------------------------------------

_PRIVATE_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home",
    ".home.arpa",
    ".intranet",
    ".corp",
    ".test",
    ".invalid",
)


def is_public_url(url: str | None) -> bool:
    """True for an http(s) URL whose host is on the public internet (no DNS lookup).

    Loopback, private, link-local and reserved addresses, single-label names and the usual
    intranet suffixes are not public: such a post's URL is never sent to an outside service.
    """
    if not url:
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host or host == "localhost":
            return False
        return not host.endswith(_PRIVATE_SUFFIXES)
    return address.is_global


def may_look_up(url: str | None, settings: DiscussionSettings) -> bool:
    """May this post's URL be sent to a discussion service? Public URLs may; a private one
    only when its origin is named in `discussions.private_sites` (the demo's sample site)."""
    if is_public_url(url):
        return True
    if not url or not settings.private_sites:
        return False
    try:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and origin in {
        site.lower() for site in settings.private_sites
    }


def same_page(a: str | None, b: str | None) -> bool:
    """Two URLs of one page: scheme, "www.", default port, fragment and final "/" ignored."""
    key_a, key_b = page_key(a), page_key(b)
    return key_a is not None and key_a == key_b


def page_key(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = host.removeprefix("www.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("", host, path, parts.query, ""))


# -- careful HTTP (termnews.http does the requests; the wording of statuses is ours) -----


def make_client(settings: DiscussionSettings) -> httpx.AsyncClient:
    """One short-lived client per read; termnews.http follows redirects by hand."""
    return http.make_client(settings.timeout)


async def get_body(
    client: httpx.AsyncClient,
    service: Service,
    url: str,
    *,
    params: dict[str, str] | None = None,
    accept: str = "application/json",
    missing: tuple[int, ...] = (404, 410),
    max_bytes: int = MAX_BODY_BYTES,
    headers: dict[str, str] | None = None,
) -> bytes | None:
    """A GET's body, or None if the status says "no such thing" (`missing`).

    429, 5xx, other 4xx, network trouble and oversized bodies raise DiscussionError.
    """
    try:
        target = str(httpx.URL(url, params=params)) if params else url
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise DiscussionError(service, "not a usable address for this service") from exc
    host = http.host_label(target) or "the service"
    try:
        if headers:  # an authenticated read: no redirects to follow with a token
            answer = await http.exchange(
                client, "GET", target, max_bytes=max_bytes, headers={"Accept": accept, **headers}
            )
        else:
            answer = await http.get(client, target, max_bytes=max_bytes, accept=accept)
    except http.HttpFailure as exc:
        message = exc.message if host in exc.message else f"{exc.message} ({host})"
        raise DiscussionError(service, message) from exc
    status = answer.status
    if status in missing:
        return None
    if status == 429:
        wait = http.parse_retry_after(answer.headers.get("retry-after"))
        again = f"; try again in {round(wait)} s" if wait is not None else ""
        raise DiscussionError(service, f"rate-limited (HTTP 429){again}")
    if status >= 500:
        raise DiscussionError(service, f"{host} had a server error (HTTP {status})")
    if status >= 400:
        raise DiscussionError(service, f"{host} refused the request (HTTP {status})")
    if status >= 300:
        raise DiscussionError(service, f"{host} answered HTTP {status}")
    return answer.body


async def send_json(
    client: httpx.AsyncClient,
    service: Service,
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    what: str = "the reply",
) -> Any:
    """POST JSON once; the JSON answer of a 2xx, or a SendFailure saying what to do next."""
    host = http.host_label(url) or "the service"
    try:
        answer = await http.exchange(
            client,
            "POST",
            url,
            max_bytes=MAX_BODY_BYTES,
            headers={"Accept": "application/json", **(headers or {})},
            json=payload,
        )
    except http.HttpFailure as exc:
        message = exc.message if host in exc.message else f"{exc.message} ({host})"
        raise SendFailure(service, message, retryable=True, uncertain=exc.sent) from exc
    try:
        data = json.loads(answer.body) if answer.body.strip() else None
    except (ValueError, RecursionError):
        data = None
    reason = _reason(data)
    if answer.status == 429:
        raise SendFailure(service, f"{host} is rate-limiting {what} (HTTP 429)", retryable=True)
    if answer.status >= 500:
        raise SendFailure(
            service,
            f"{host} had a server error (HTTP {answer.status})",
            retryable=True,
            uncertain=True,
        )
    if answer.status in (401, 403):
        raise SendFailure(service, f"{host} refused your login{reason} (HTTP {answer.status})")
    if answer.status >= 300:
        raise SendFailure(service, f"{host} refused {what}{reason} (HTTP {answer.status})")
    if not isinstance(data, dict):
        raise SendFailure(service, f"{host} accepted {what} but answered no JSON object")
    return data


def _reason(data: Any) -> str:
    """The service's own error text (Mastodon "error", XRPC "message"), cleaned: ": …"."""
    if not isinstance(data, dict):
        return ""
    for key in ("message", "error_description", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return ": " + clean_line(value, 200)
    return ""


async def get_json(
    client: httpx.AsyncClient,
    service: Service,
    url: str,
    *,
    params: dict[str, str] | None = None,
    missing: tuple[int, ...] = (404, 410),
    headers: dict[str, str] | None = None,
) -> Any:
    """Parsed JSON of a GET, or None if missing; malformed or too deep JSON is an error."""
    body = await get_body(client, service, url, params=params, missing=missing, headers=headers)
    if body is None:
        return None
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise DiscussionError(service, "answered with JSON nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise DiscussionError(service, "answered with malformed JSON") from exc


# -- turning outside values into termnews values ---------------------------------------


def text(value: object, max_cells: int = 300) -> str:
    """A one-line outside string (title, name, handle), cleaned; "" for non-strings."""
    return clean_line(value, max_cells) if isinstance(value, str) else ""


def url_of(value: object) -> str | None:
    return clean_url(value) if isinstance(value, str) else None


def number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def body_html(value: object) -> str:
    """An HTML comment body: control characters out, markup kept for the renderer."""
    return clean_text(value) if isinstance(value, str) else ""


def plain_html(value: object) -> str:
    """A plain-text body as escaped HTML paragraphs (Bluesky posts, Lobsters fallbacks)."""
    if not isinstance(value, str):
        return ""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", clean_text(value).strip())]
    return "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )


def iso_time(value: object) -> float | None:
    """POSIX seconds from an ISO 8601 timestamp ("2024-05-01T12:00:00.000Z")."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


def count_line(count: int | None, one: str, many: str) -> str:
    count = count or 0
    return f"{count} {one if count == 1 else many}"
