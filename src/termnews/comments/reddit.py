"""Reddit, read-only through the Atom feeds Reddit serves without an account.

What works without an account (and what this module uses):
- `/r/SUB/comments/ID/.rss`: an Atom feed of a thread: the submission (entry id `t3_ID`)
  and its comments (`t1_…`), each with author (`/u/name`), `content type="html"`, link,
  `updated`. It carries no parent ids and no scores, so Reddit comments are shown flat,
  newest first as Reddit sends them, and only as many as Reddit puts in the feed.
- `/search.rss?q=url:URL`: submissions of a URL (off unless `discussions.reddit_search`,
  because it sends the post's URL to Reddit).
The `.json` listings are not used: Reddit's API terms ask API clients to use OAuth.

A post that links a Reddit thread is read from that link (no search needed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import feedparser
import httpx

from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    Service,
    body_html,
    count_line,
    get_body,
    iso_time,
    may_look_up,
    text,
    url_of,
)
from termnews.config import DiscussionSettings
from termnews.model import Comment

SERVICE = Service.REDDIT
ATOM = "application/atom+xml, application/rss+xml;q=0.9, */*;q=0.1"
MAX_THREADS = 3
_THREAD_LINK = re.compile(
    r"^https?://(?:www\.|old\.|new\.|np\.)?reddit\.com/r/(\w{1,40})/comments/([a-z0-9]{1,12})\b",
    re.IGNORECASE,
)


def linked_threads(post: Post) -> list[tuple[str, str]]:
    threads: list[tuple[str, str]] = []
    for anchor in post.anchors:
        match = _THREAD_LINK.match(anchor.href)
        if match and (match.group(1), match.group(2).lower()) not in threads:
            threads.append((match.group(1), match.group(2).lower()))
    return threads[:MAX_THREADS]


def wanted(post: Post, settings: DiscussionSettings) -> bool:
    if not settings.on(SERVICE):
        return False
    return bool(linked_threads(post)) or (
        settings.reddit_search and may_look_up(post.url, settings)
    )


async def read(
    client: httpx.AsyncClient, post: Post, settings: DiscussionSettings
) -> list[Discussion]:
    base = settings.reddit.rstrip("/")
    threads = linked_threads(post)
    if not threads and settings.reddit_search and may_look_up(post.url, settings):
        body = await get_body(
            client,
            SERVICE,
            f"{base}/search.rss",
            params={"q": f"url:{post.url}", "sort": "comments"},
            accept=ATOM,
        )
        for entry in (await _parse(body))[0] if body else []:
            match = _THREAD_LINK.match(_link(entry) or "")
            if match and (match.group(1), match.group(2).lower()) not in threads:
                threads.append((match.group(1), match.group(2).lower()))
    discussions = []
    for subreddit, thread_id in threads[:MAX_THREADS]:
        body = await get_body(
            client, SERVICE, f"{base}/r/{subreddit}/comments/{thread_id}/.rss", accept=ATOM
        )
        if body is None:
            continue
        entries, title = await _parse(body)
        discussions.append(_discussion(entries, title, subreddit, thread_id, base, settings))
    return discussions


async def _parse(body: bytes) -> tuple[list[Mapping[str, Any]], str]:
    """feedparser in a thread: a large feed must not stall the event loop."""
    try:
        parsed = await asyncio.to_thread(
            feedparser.parse, body, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser is robust, but a hostile feed must not crash a read
        raise DiscussionError(SERVICE, "answered a feed that cannot be read") from exc
    if not parsed.entries and parsed.get("bozo"):
        raise DiscussionError(SERVICE, "answered something that is not a feed")
    return list(parsed.entries), text(parsed.feed.get("title"))


def _link(entry: Mapping[str, Any]) -> str | None:
    link = entry.get("link")
    return link if isinstance(link, str) else None


def _discussion(
    entries: list[Mapping[str, Any]],
    feed_title: str,
    subreddit: str,
    thread_id: str,
    base: str,
    settings: DiscussionSettings,
) -> Discussion:
    comments: list[Comment] = []
    title = feed_title
    truncated = False
    for entry in entries:
        entry_id = str(entry.get("id", ""))
        if entry_id.startswith("t3_"):
            title = text(entry.get("title")) or title
            continue
        if len(comments) >= settings.max_comments:
            truncated = True
            break
        comments.append(_comment(entry, thread_id))
    return Discussion(
        service=SERVICE,
        url=f"{base}/r/{subreddit}/comments/{thread_id}/",
        title=title or f"r/{subreddit}",
        stats=[f"r/{subreddit}", count_line(len(comments), "comment", "comments")],
        comments=comments,
        truncated=truncated,
        note="flat: Reddit's feeds carry no reply threading or scores",
    )


def _comment(entry: Mapping[str, Any], thread_id: str) -> Comment:
    entry_id = text(entry.get("id"), 60) or text(_link(entry), 200)
    author = text(entry.get("author"), 100).removeprefix("/u/")
    detail = entry.get("author_detail")
    author_url = url_of(detail.get("href")) if isinstance(detail, Mapping) else None
    content = ""
    contents = entry.get("content")
    if isinstance(contents, list) and contents and isinstance(contents[0], Mapping):
        content = body_html(contents[0].get("value"))
    content = content or body_html(entry.get("summary"))
    return Comment(
        source=SERVICE,
        remote_id=f"reddit:{thread_id}:{entry_id}",
        parent_id=None,
        author=author or "[deleted]",
        author_url=author_url,
        published=iso_time(entry.get("published") or entry.get("updated")),
        content_html=content,
        link=url_of(_link(entry)),
    )
