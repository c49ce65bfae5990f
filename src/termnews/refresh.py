"""Refresher: fetch -> parse -> store for a set of feeds, with leases and backoff.

A refresh fetches concurrently on one event loop (`feeds.fetch.Fetcher`), parses in worker
processes (`feeds.parse.ParsePool`) and stores on one thread with its own database
connection (`StoreThread`), so no step waits for another feed's. Each feed is leased while
it is refreshed: several termnews processes share one database and never fetch a feed at
once. A failing feed is tried again later and later (`model.backoff`). One bad feed never
stops the others, and a feed removed while it refreshes is skipped quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from termnews.config import Settings
from termnews.feeds.parse import FeedParseError, ParsePool
from termnews.filters import apply_kills
from termnews.model import FeedValidators, FetchStatus, backoff
from termnews.store import FeedRemoved, Store, StoreError

if TYPE_CHECKING:
    from termnews.feeds.fetch import Fetcher  # httpx: loaded by the first refresh, not at start

T = TypeVar("T")
P = ParamSpec("P")

LEASE_SECONDS = 180.0
# [full_article] "refresh": at most this many new posts' pages per feed, and per refresh.
FULL_ARTICLES_PER_FEED = 10
FULL_ARTICLES_PER_REFRESH = 40
MAX_BACKOFF = 24 * 3600.0
MIN_INTERVAL = 60.0


def plural(count: int, noun: str, many: str | None = None) -> str:
    """ "1 feed", "2 feeds" (``many`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


class RefreshOutcome(StrEnum):
    NEW = "new"  # fetched and parsed (maybe with 0 new articles)
    UNCHANGED = "unchanged"  # 304, or same body hash
    ERROR = "error"
    GONE = "gone"
    SKIPPED = "skipped"  # another process holds the feed's lease
    REMOVED = "removed"  # unsubscribed while it was being refreshed


@dataclass(slots=True)
class FeedRefresh:
    feed_id: int
    url: str
    title: str
    outcome: RefreshOutcome
    new: int = 0
    updated: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class Delivery:
    """What became of one outbox comment during a refresh."""

    delivered: bool
    line: str  # one line for a person: where it went, or why it waits


@dataclass(slots=True)
class RefreshReport:
    results: list[FeedRefresh]
    seconds: float
    indexed: int = 0  # articles added to the search index afterwards
    deliveries: list[Delivery] = field(default_factory=list)
    full_articles: int = 0  # new posts whose page was fetched and extracted
    full_article_failures: int = 0  # ... and those whose page gave none (noted on the post)
    new_replies: int = 0  # replies to your comments found (comments/inbox.py)

    @property
    def failed(self) -> list[FeedRefresh]:
        return [r for r in self.results if r.outcome in (RefreshOutcome.ERROR, RefreshOutcome.GONE)]

    @property
    def new_articles(self) -> int:
        return sum(r.new for r in self.results)

    def summary(self) -> str:
        """ "Refreshed 3 feeds in 1.2 s: 1 new article, 0 failed"."""
        replies = f"; {plural(self.new_replies, 'new reply', 'new replies')} to you"
        replies = replies if self.new_replies else ""
        if not self.results:
            return "Feeds are up to date: none was due" + replies
        line = (
            f"Refreshed {plural(len(self.results), 'feed')} in {self.seconds:.1f} s: "
            f"{plural(self.new_articles, 'new article')}, {len(self.failed)} failed"
        )
        if self.full_articles or self.full_article_failures:
            line += f"; {plural(self.full_articles, 'full article')} fetched"
            if self.full_article_failures:
                line += f" ({self.full_article_failures} not found)"
        return line + replies


ProgressCallback = Callable[[FeedRefresh, int, int], None]


class StoreThread:
    """A refresh's database work, on one thread with its own connection.

    SQLite releases the GIL while it writes, so the event loop keeps fetching and
    handing bodies to the parse workers while a feed is stored; and one thread owning
    the connection keeps each feed's transaction whole.
    """

    def __init__(self, store: Store) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="termnews-store")
        path, identity = store.path, store.identity
        self._store = self._executor.submit(lambda: Store(path, identity=identity)).result()

    async def __call__(
        self, method: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, partial(method, self._store, *args, **kwargs)
        )

    def close(self) -> None:
        self._executor.submit(self._store.close).result()
        self._executor.shutdown()


class Refresher:
    """Refreshes feeds into a store; owns the parse pool (started on first need)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._pool: ParsePool | None = None
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    @property
    def pool(self) -> ParsePool:
        if self._pool is None:
            self._pool = ParsePool()
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def interval(self, url: str) -> float:
        """Seconds between two fetches of a feed that works."""
        minutes = self.settings.intervals.get(url, self.settings.refresh_interval) or 30
        return max(MIN_INTERVAL, minutes * 60.0)

    def retry_at(self, url: str, failures: int, retry_after: float | None) -> float:
        """When a feed that failed `failures` times in a row is tried again."""
        delay = backoff(self.interval(url), failures, MAX_BACKOFF)
        if retry_after:
            delay = max(delay, retry_after)
        return time.time() + delay

    def due_feed_ids(self) -> list[int]:
        return self.store.due_feeds(time.time())

    def fetcher(self) -> Fetcher:
        """A fetcher with the settings' timeouts, size cap and concurrency limits."""
        from termnews.feeds.fetch import Fetcher

        s = self.settings
        return Fetcher(
            timeout=s.timeout,
            max_bytes=s.max_feed_mb * 1024 * 1024,
            max_concurrency=s.max_concurrency,
            per_host=s.per_host,
        )

    async def run(
        self,
        feed_ids: Sequence[int] | None = None,
        *,
        due_only: bool = False,
        progress: ProgressCallback | None = None,
        index: bool = False,
    ) -> RefreshReport:
        """Fetch and store feeds concurrently; with `index`, make new articles searchable.

        Indexing runs on the store thread after the last feed, never on the caller's loop.
        """
        started = time.perf_counter()
        since = time.time()
        if feed_ids is None:
            ids = (
                self.due_feed_ids()
                if due_only
                else [f.id for f in self.store.feeds() if not f.gone]
            )
        else:
            ids = list(feed_ids)
        results: list[FeedRefresh] = []
        if not ids:
            return RefreshReport(results, 0.0)
        # New feeds will need parsing: start the workers while the first ones download,
        # not when the first body arrives. (A refresh of known feeds is mostly 304s.)
        warming = asyncio.ensure_future(
            asyncio.to_thread(self._warm_pool) if self.store.unfetched(ids) else asyncio.sleep(0)
        )
        db = StoreThread(self.store)
        indexed = 0
        try:
            async with self.fetcher() as fetcher:

                async def one(feed_id: int) -> None:
                    result = await self._refresh_feed(fetcher, db, feed_id)
                    results.append(result)
                    if progress is not None:
                        progress(result, len(results), len(ids))

                # A database that cannot be written (a full disk, a damaged file) is no
                # single feed's problem: the first such error stops the refresh and is raised.
                try:
                    async with asyncio.TaskGroup() as group:
                        for feed_id in ids:
                            group.create_task(one(feed_id))
                except* StoreError as failed:
                    raise failed.exceptions[0] from None
            fetched, missed = await self._full_articles(db, results, since)
            if index:
                indexed = await db(Store.index_pending)
        finally:
            db.close()
            await warming
        report = RefreshReport(results, time.perf_counter() - started, indexed)
        report.full_articles, report.full_article_failures = fetched, missed
        return report

    async def _full_articles(
        self, db: StoreThread, results: list[FeedRefresh], since: float
    ) -> tuple[int, int]:
        """For feeds set to [full_article] "refresh": fetch and extract the pages of the
        posts this refresh stored (bounded), with the feeds' size cap and timeout. A page
        that gives no article is noted on its post and not tried again by refreshes."""
        pending: list[tuple[int, str]] = []
        for result in results:
            if result.outcome is not RefreshOutcome.NEW or not result.new:
                continue
            if self.settings.full_article.get(result.url) != "refresh":
                continue
            limit = min(result.new, FULL_ARTICLES_PER_FEED)
            pending += await db(Store.to_extract, result.feed_id, since, limit)
        pending = pending[:FULL_ARTICLES_PER_REFRESH]
        if not pending:
            return 0, 0
        from termnews.errors import FullArticleError
        from termnews.fullarticle import full_article
        from termnews.http import make_client

        s = self.settings
        slots = asyncio.Semaphore(s.per_host)  # a feed's pages are mostly on its own site
        done = [0, 0]

        async def one(article_id: int, link: str) -> None:
            async with slots:
                try:
                    html = await full_article(
                        client, self.pool, link, max_bytes=s.max_feed_mb << 20, timeout=s.timeout
                    )
                except FullArticleError as exc:
                    done[1] += 1
                    await db(Store.set_extract_failed, article_id, str(exc))
                    return
                except Exception as exc:  # one page's surprise must not stop the others
                    done[1] += 1
                    reason = f"internal error: {type(exc).__name__}"
                    await db(Store.set_extract_failed, article_id, reason)
                    return
            await db(Store.set_extracted, article_id, html)
            done[0] += 1

        async with make_client(s.timeout) as client:
            await asyncio.gather(*(one(article_id, link) for article_id, link in pending))
        return done[0], done[1]

    def _warm_pool(self) -> None:
        # Not fatal: a pool that cannot start reports it per feed when parsing.
        with contextlib.suppress(Exception):
            self.pool.warm_up()

    async def _refresh_feed(self, fetcher: Fetcher, db: StoreThread, feed_id: int) -> FeedRefresh:
        started = time.perf_counter()
        info = await db(Store.refresh_info, feed_id)
        if info is None:
            return FeedRefresh(feed_id, "", "", RefreshOutcome.REMOVED)
        report = FeedRefresh(feed_id, info.url, info.title or info.url, RefreshOutcome.UNCHANGED)
        if not await db(Store.try_lease, feed_id, self._owner, LEASE_SECONDS):
            report.outcome = RefreshOutcome.SKIPPED
            return report
        try:
            await self._fetch_and_store(fetcher, db, feed_id, info, report)
        except FeedRemoved:
            report.outcome, report.new, report.updated = RefreshOutcome.REMOVED, 0, 0
        except StoreError:
            raise
        except Exception as exc:  # one feed's surprise must not stop the others
            report.outcome = RefreshOutcome.ERROR
            report.error = f"internal error: {type(exc).__name__}: {exc}"
            await self._failed(db, feed_id, report.url, report.error)
        finally:
            with contextlib.suppress(StoreError):  # the lease also runs out by itself
                await db(Store.release_lease, feed_id, self._owner)
            report.seconds = time.perf_counter() - started
        if report.outcome is RefreshOutcome.ERROR and await db(Store.refresh_info, feed_id) is None:
            report.outcome, report.error = RefreshOutcome.REMOVED, None  # nobody wants it now
        return report

    async def _failed(
        self,
        db: StoreThread,
        feed_id: int,
        url: str,
        error: str,
        retry_after: float | None = None,
    ) -> None:
        failures = await db(Store.failures, feed_id) + 1
        await db(Store.record_failure, feed_id, error, self.retry_at(url, failures, retry_after))

    async def _fetch_and_store(
        self,
        fetcher: Fetcher,
        db: StoreThread,
        feed_id: int,
        info: FeedValidators,
        report: FeedRefresh,
    ) -> None:
        url = info.url
        result = await fetcher.fetch(url, etag=info.etag, last_modified=info.last_modified)
        if result.permanent_url and result.permanent_url != url:
            await db(Store.move_feed, feed_id, result.permanent_url)
            url = result.permanent_url
            report.url = url
        if result.status is FetchStatus.NOT_MODIFIED:
            await db(Store.record_not_modified, feed_id, time.time() + self.interval(url))
            return
        if result.status is FetchStatus.GONE:
            report.outcome = RefreshOutcome.GONE
            report.error = "the feed is gone (HTTP 410); termnews stopped fetching it"
            await db(
                Store.record_failure, feed_id, report.error, time.time() + MAX_BACKOFF, gone=True
            )
            return
        if result.status is FetchStatus.ERROR or result.body is None:
            report.outcome = RefreshOutcome.ERROR
            report.error = result.error or "fetch failed"
            await self._failed(db, feed_id, url, report.error, result.retry_after)
            return
        body_hash = hashlib.blake2b(result.body, digest_size=16).hexdigest()
        next_fetch = time.time() + self.interval(url)
        if body_hash == info.body_hash:
            await db(
                Store.record_not_modified,
                feed_id,
                next_fetch,
                etag=result.etag,
                last_modified=result.last_modified,
            )
            return
        try:
            parsed = await self.pool.parse(result.body, result.final_url, result.content_type)
        except FeedParseError as exc:
            report.outcome = RefreshOutcome.ERROR
            report.error = str(exc)
            await self._failed(db, feed_id, url, report.error)
            return
        kill_read: list[str] = []
        if self.settings.kills:  # the killfile: hidden posts are never stored
            parsed.entries, kill_read = apply_kills(
                self.settings.kills, parsed.entries, parsed.title or info.title, url
            )
        counts = await db(
            Store.store_feed,
            feed_id,
            parsed,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
            next_fetch=next_fetch,
        )
        if kill_read:
            await db(Store.mark_new_read, feed_id, kill_read)
        report.new, report.updated = counts.new, counts.updated
        report.outcome = RefreshOutcome.NEW
        if parsed.title:
            report.title = parsed.title
