"""Replies to you: every comment you post is remembered; refreshes look for answers to it.

`remember` is called by CommentService whenever a comment is delivered (posted or held,
at once or from the outbox), whatever backend took it. `check` runs with every refresh
(NewsService.refresh): the threads of comments posted in the last `replies.watch_days`
days, the longest unchecked first, at most `replies.max_threads` of them and none again
within `replies.check_minutes`, are read through the backends' own `read`, with
conditional GETs underneath (revalidate.py). A comment whose parent is one of yours is
stored as an unread reply for the identity that wrote yours: on a served host each member
sees only replies to their own comments. The board needs no network: its replies are in
the database already.

A thread is one post's discussion in one family of sources: WordPress (its comment feed
when the post has one, as that is one conditional GET, else its REST listing), Mastodon,
Bluesky, the board. Flat sources that only quote or mention you are not searched: a reply
is a comment whose parent id is yours.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from termnews import http
from termnews.comments.backend import CommentBackend, Outgoing
from termnews.comments.revalidate import Revalidating
from termnews.comments.text import plain_words, text_to_html
from termnews.config import Settings
from termnews.model import (
    ArticleDetail,
    Comment,
    CommentSource,
    MyComment,
    Reply,
    TargetKind,
)
from termnews.sanitize import clean_line, strip_tags
from termnews.store import Store

DAY = 86400.0
CONCURRENT_THREADS = 4
FIRST_LINE_CHARS = 200
_IN_REPLY_TO = re.compile(r"^In reply to .{1,120}\.$")

_WORDPRESS = "wordpress"  # the family of the form, REST and CommentAPI: one id space per post
_FAMILIES: dict[str, str] = {
    TargetKind.WORDPRESS_FORM: _WORDPRESS,
    TargetKind.WORDPRESS_REST: _WORDPRESS,
    TargetKind.COMMENTAPI: _WORDPRESS,
    TargetKind.MASTODON: CommentSource.MASTODON,
    TargetKind.BLUESKY: CommentSource.BLUESKY,
    TargetKind.BOARD: CommentSource.BOARD,
}


@dataclass(slots=True)
class CheckReport:
    """What one check of the inbox did (the refresh's summary says `new`)."""

    threads: int = 0  # threads read (or looked up, for the board)
    unchanged: int = 0  # of those, answered 304 throughout
    failed: int = 0  # could not be read this time (checked again later)
    new: int = 0  # replies to you found that were not known


def remember(store: Store, identity: str, outgoing: Outgoing, sent: Comment | None) -> None:
    """A comment of yours was delivered: keep it, so its thread is checked for replies."""
    if outgoing.kind not in _FAMILIES or not outgoing.article_id:
        return
    remote_id = sent.remote_id if sent is not None else ""
    store.add_my_comment(
        MyComment(
            id=0,
            identity=identity,
            article_id=outgoing.article_id,
            kind=outgoing.kind,
            thread_url=outgoing.thread_url or outgoing.feed_url or outgoing.article_link,
            remote_id=remote_id or "local-unknown",
            link=sent.link if sent is not None else None,
            body=outgoing.body[:2000],
            posted=time.time(),
            checked=0.0,
            validator=None,
        )
    )


def due_threads(
    store: Store, settings: Settings, now: float
) -> list[tuple[int, str, list[MyComment]]]:
    """(article id, family, your comments in it) to check now, the longest unchecked first."""
    if settings.max_threads <= 0:
        return []
    recent_enough = now - settings.check_minutes * 60.0
    threads: dict[tuple[int, str], list[MyComment]] = {}
    for mine in store.my_comments(since=now - settings.watch_days * DAY):
        family = _FAMILIES.get(mine.kind)
        if family is not None:
            threads.setdefault((mine.article_id, family), []).append(mine)
    # Due when one of its comments was not checked lately (a new one: never).
    due = [
        (article_id, family, mine)
        for (article_id, family), mine in threads.items()
        if min(m.checked for m in mine) <= recent_enough
    ]
    return due[: settings.max_threads]


async def check(
    store: Store,
    settings: Settings,
    backends: Sequence[CommentBackend],
    *,
    timeout: float,
    now: float | None = None,
) -> CheckReport:
    """Read the due threads and store the replies to you found in them."""
    now = time.time() if now is None else now
    report = CheckReport()
    threads = due_threads(store, settings, now)
    if not threads:
        return report
    gate = asyncio.Semaphore(CONCURRENT_THREADS)

    async def one(article_id: int, family: str, mine: list[MyComment]) -> None:
        async with gate:
            await _check_thread(store, backends, article_id, family, mine, report, timeout, now)

    await asyncio.gather(*(one(*thread) for thread in threads))
    store.forget_responses(now - (settings.watch_days + 1) * DAY)
    return report


async def _check_thread(
    store: Store,
    backends: Sequence[CommentBackend],
    article_id: int,
    family: str,
    mine: list[MyComment],
    report: CheckReport,
    timeout: float,
    now: float,
) -> None:
    article = store.article(article_id)
    if article is None:
        return
    report.threads += 1
    ids = [m.id for m in mine]
    if family == CommentSource.BOARD:
        listing = store.board_comments(article_id)
        report.new += store.add_replies(_replies_to(store, mine, listing, article, now))
        store.my_comment_checked(ids, now)
        return
    revalidating = Revalidating(store, now)
    read = await _read(revalidating, backends, article, family, timeout)
    if read is None:
        report.failed += 1
        store.my_comment_checked(ids, now)  # to the back of the queue; tried again later
        return
    validator = revalidating.validator()
    # Unchanged: every GET came back 304 and the last check of each comment completed with
    # these validators (a check that stopped half-way is done again from the kept bodies).
    if revalidating.unchanged and all(m.validator == validator for m in mine):
        store.my_comment_checked(ids, now)
        report.unchanged += 1
        return
    listing = []
    for source, comments in read:
        store.replace_comments(article_id, source, comments)  # the offline copy, too
        listing.extend(comments)
    report.new += store.add_replies(_replies_to(store, mine, listing, article, now))
    store.my_comment_checked(ids, now, validator)


def _sources(article: ArticleDetail, family: str) -> tuple[str, ...]:
    if family == _WORDPRESS:
        return (CommentSource.FEED,) if article.comments.feed_url else (CommentSource.WORDPRESS,)
    return (family,)


async def _read(
    revalidating: Revalidating,
    backends: Sequence[CommentBackend],
    article: ArticleDetail,
    family: str,
    timeout: float,
) -> list[tuple[str, list[Comment]]] | None:
    """The thread as its backends read it now, per source; None when none of them could."""
    sources = _sources(article, family)
    readers = [b for b in backends if b.source is not None and b.source in sources]
    token = http.transport_wrapper.set(revalidating.wrap)  # this task only (a context copy)
    try:
        async with http.make_client(timeout) as client:
            outcomes = await asyncio.gather(
                *(b.read(client, article) for b in readers), return_exceptions=True
            )
    finally:
        http.transport_wrapper.reset(token)
    read: list[tuple[str, list[Comment]]] = []
    for backend, outcome in zip(readers, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            continue  # CommentError or a bug in one source: the thread is tried again later
        if outcome is not None and backend.source is not None:
            read.append((backend.source, outcome))
    return read or None


def _replies_to(
    store: Store, mine: list[MyComment], listing: list[Comment], article: ArticleDetail, now: float
) -> list[tuple[int, Reply]]:
    """(your comment's id, the reply) for every comment of `listing` answering one of yours."""
    by_identity: dict[str, set[str]] = {}
    found: list[tuple[MyComment, set[str]]] = []
    for comment in mine:
        names = _names_of(store, comment, listing)
        found.append((comment, names))
        by_identity.setdefault(comment.identity, set()).update(names)
    out: list[tuple[int, Reply]] = []
    for comment, names in found:
        ours = by_identity[comment.identity]
        for candidate in listing:
            if candidate.parent_id not in names or candidate.remote_id in ours:
                continue
            out.append((comment.id, _reply(comment.identity, article, candidate, now)))
    return out


def _names_of(store: Store, mine: MyComment, listing: list[Comment]) -> set[str]:
    """The ids your comment has in this listing: its own, and that of the listed comment with
    its address (a Mastodon reply read from another instance has another id there)."""
    names = {mine.remote_id}
    unknown = mine.remote_id.startswith("local-")
    words = plain_words(text_to_html(mine.body)) if unknown else ""
    for comment in listing:
        if mine.link and comment.link and comment.link == mine.link:
            names.add(comment.remote_id)
        elif unknown and words and words in plain_words(comment.content_html):
            names.add(comment.remote_id)  # sent without an id back (a 409 duplicate)
            store.my_comment_found(mine.id, comment.remote_id, comment.link)
            unknown = False
    return names


def _reply(identity: str, article: ArticleDetail, comment: Comment, now: float) -> Reply:
    return Reply(
        id=0,
        identity=identity,
        article_id=article.id,
        article_title=article.title,
        source=comment.source,
        remote_id=comment.remote_id,
        author=clean_line(comment.author, 100) or "anonymous",
        published=comment.published,
        first_line=first_line(comment.content_html),
        link=comment.link,
        found=now,
        read=False,
    )


def first_line(content_html: str) -> str:
    """The first line of a comment's text, for the Replies list."""
    text = html.unescape(strip_tags(content_html[:20_000].replace("</p>", "\n"), ""))
    lines = [clean_line(line, FIRST_LINE_CHARS) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 1 and _IN_REPLY_TO.match(lines[0]):
        lines = lines[1:]  # WordPress' comment feeds start a reply with whom it answers
    return lines[0] if lines else ""
