"""NewsService: the one facade the UI and the command line call.

It owns the store, the parse pool and the fetch settings. Reads are synchronous
(short SQLite queries, fine on the UI thread); network work is async.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from termnews.comments import CommentService
from termnews.config import Paths, Settings
from termnews.errors import TermnewsError
from termnews.feeds.discover import DiscoveryError, discover_feeds
from termnews.feeds.fetch import Fetcher, FetchResult
from termnews.feeds.opml import Subscription, parse_subscriptions, to_opml
from termnews.feeds.parse import FeedParseError, ParsePool, start_helpers
from termnews.model import (
    Article,
    ArticleDetail,
    ArticleQuery,
    Feed,
    FetchStatus,
    Identity,
    backoff,
)
from termnews.render import RenderedDocument, render_html
from termnews.sanitize import clean_line
from termnews.store import Store

T = TypeVar("T")

HOSTED_FEEDS = "Feeds on this host are chosen by its operator."

LEASE_SECONDS = 180.0
MAX_BACKOFF = 24 * 3600.0
MIN_INTERVAL = 60.0


class RefreshOutcome(StrEnum):
    NEW = "new"  # fetched and parsed (maybe with 0 new articles)
    UNCHANGED = "unchanged"  # 304, or same body hash
    ERROR = "error"
    GONE = "gone"
    SKIPPED = "skipped"  # another process holds the feed's lease


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
class RefreshReport:
    results: list[FeedRefresh]
    seconds: float

    @property
    def failed(self) -> list[FeedRefresh]:
        return [r for r in self.results if r.outcome in (RefreshOutcome.ERROR, RefreshOutcome.GONE)]

    @property
    def new_articles(self) -> int:
        return sum(r.new for r in self.results)


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

    async def __call__(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, partial(method, self._store, *args, **kwargs)
        )

    def close(self) -> None:
        self._executor.submit(self._store.close).result()
        self._executor.shutdown()


class ServiceError(TermnewsError):
    """A user-facing failure (bad URL, nothing found, unreadable file)."""


ProgressCallback = Callable[[FeedRefresh, int, int], None]


class NewsService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        identity: Identity | None = None,
        restricted: bool = False,
        data_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.identity = identity or Identity()
        self.restricted = restricted
        self.data_dir = data_dir
        self._pool: ParsePool | None = None
        self._render_cache: OrderedDict[tuple[int, int], RenderedDocument] = OrderedDict()
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self.comments = CommentService(
            store,
            settings,
            self.identity,
            restricted=restricted,
            data_dir=data_dir,
        )

    @classmethod
    def open(
        cls,
        paths: Paths,
        settings: Settings,
        *,
        identity: Identity | None = None,
        restricted: bool = False,
    ) -> NewsService:
        ident = identity or Identity()
        store = Store(paths.database, identity=ident.name)
        return cls(store, settings, identity=ident, restricted=restricted, data_dir=paths.data_dir)

    def clone(self) -> NewsService:
        """The same service on its own database connection (for a worker thread)."""
        store = Store(self.store.path, identity=self.store.identity)
        return NewsService(
            store,
            self.settings,
            identity=self.identity,
            restricted=self.restricted,
            data_dir=self.data_dir,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.store.close()

    def prepare_workers(self) -> None:
        """Ready the parse workers' helpers before a UI replaces stdio (see start_helpers)."""
        try:
            start_helpers()
        except Exception:  # the first parse reports a pool that cannot start, per feed
            return

    @property
    def pool(self) -> ParsePool:
        if self._pool is None:
            self._pool = ParsePool()
        return self._pool

    # -- feeds -------------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        return self.store.feeds()

    def feed(self, feed_id: int) -> Feed | None:
        return self.store.feed(feed_id)

    def tags(self) -> list[str]:
        return sorted({tag for feed in self.store.feeds() for tag in feed.tags})

    def _fetcher(self) -> Fetcher:
        s = self.settings
        return Fetcher(
            timeout=s.timeout,
            max_bytes=s.max_feed_mb * 1024 * 1024,
            max_concurrency=s.max_concurrency,
            per_host=s.per_host,
        )

    def _operator_only(self) -> None:
        """On a shared host the feed list is the same for everyone: only the operator
        (running termnews without --as) changes it."""
        if self.restricted:
            raise ServiceError(HOSTED_FEEDS)

    async def add_feed(self, url: str, *, tags: Sequence[str] = (), discover: bool = True) -> Feed:
        """Subscribe to a feed URL, or to the first feed a site's page advertises."""
        self._operator_only()
        url = url.strip()
        if "://" not in url:
            url = "https://" + url
        if not url.startswith(("http://", "https://")):
            raise ServiceError(f"not a web address: {clean_line(url)}")
        existing = self.store.feed_by_url(url)
        if existing is not None:
            if tags:
                self.store.set_tags(existing.id, [*existing.tags, *tags])
            return self.store.feed(existing.id) or existing
        title = None
        if discover:
            async with self._fetcher() as fetcher:
                try:
                    found = await discover_feeds(fetcher, url)
                except DiscoveryError as exc:
                    raise ServiceError(str(exc)) from exc
            if found:
                url, title = found[0].url, found[0].title
        return self.store.add_feed(url, title=title, tags=tags)

    def subscribe(self, url: str, *, title: str | None = None, tags: Sequence[str] = ()) -> Feed:
        """Add a feed URL as given, without network access (import, demo)."""
        self._operator_only()
        return self.store.add_feed(url, title=title, tags=tags)

    def remove_feed(self, feed_id: int) -> None:
        self._operator_only()
        self.store.remove_feed(feed_id)
        self._render_cache.clear()

    def find_feed(self, ref: str) -> Feed | None:
        """A feed by id, exact URL or (unique) title/URL substring."""
        feeds = self.store.feeds()
        if ref.isdigit():
            for feed in feeds:
                if feed.id == int(ref):
                    return feed
        for feed in feeds:
            if feed.url == ref:
                return feed
        matches = [
            f
            for f in feeds
            if ref.lower() in f.url.lower() or ref.lower() in (f.title or "").lower()
        ]
        return matches[0] if len(matches) == 1 else None

    # -- refresh -----------------------------------------------------------------

    def _interval(self, url: str) -> float:
        minutes = self.settings.intervals.get(url, self.settings.refresh_interval) or 30
        return max(MIN_INTERVAL, minutes * 60.0)

    def _backoff(self, url: str, failures: int, retry_after: float | None) -> float:
        delay = backoff(self._interval(url), failures, MAX_BACKOFF)
        if retry_after:
            delay = max(delay, retry_after)
        return time.time() + delay

    def due_feed_ids(self) -> list[int]:
        return self.store.due_feeds(time.time())

    async def refresh(
        self,
        feed_ids: Sequence[int] | None = None,
        *,
        due_only: bool = False,
        progress: ProgressCallback | None = None,
    ) -> RefreshReport:
        """Fetch and store feeds concurrently; one bad feed never stops the others."""
        started = time.perf_counter()
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
        try:
            async with self._fetcher() as fetcher:

                async def one(feed_id: int) -> None:
                    result = await self._refresh_feed(fetcher, db, feed_id)
                    results.append(result)
                    if progress is not None:
                        progress(result, len(results), len(ids))

                await asyncio.gather(*(one(feed_id) for feed_id in ids))
        finally:
            db.close()
            await warming
        await self._retry_outbox()
        return RefreshReport(results, time.perf_counter() - started)

    def _warm_pool(self) -> None:
        # Not fatal: a pool that cannot start reports it per feed when parsing.
        with contextlib.suppress(Exception):
            self.pool.warm_up()

    async def _retry_outbox(self) -> None:
        """Comments that failed to deliver go out again with each refresh (when due)."""
        try:
            await self.comments.retry_outbox()
        except Exception:  # a refresh must not fail because the outbox could not be sent
            return

    async def _refresh_feed(self, fetcher: Fetcher, db: StoreThread, feed_id: int) -> FeedRefresh:
        started = time.perf_counter()
        info = await db(Store.refresh_info, feed_id)
        if info is None:
            return FeedRefresh(feed_id, "", "", RefreshOutcome.ERROR, error="no such feed")
        url, title = info[0], info[1]
        report = FeedRefresh(feed_id, url, title or url, RefreshOutcome.UNCHANGED)
        if not await db(Store.try_lease, feed_id, self._owner, LEASE_SECONDS):
            report.outcome = RefreshOutcome.SKIPPED
            return report
        try:
            await self._fetch_and_store(fetcher, db, feed_id, info, report)
        except Exception as exc:  # one feed's surprise must not stop the others
            report.outcome = RefreshOutcome.ERROR
            report.error = f"internal error: {type(exc).__name__}: {exc}"
            await self._failed(db, feed_id, report.url, report.error)
        finally:
            await db(Store.release_lease, feed_id, self._owner)
            report.seconds = time.perf_counter() - started
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
        await db(Store.record_failure, feed_id, error, self._backoff(url, failures, retry_after))

    async def _fetch_and_store(
        self,
        fetcher: Fetcher,
        db: StoreThread,
        feed_id: int,
        info: tuple[str, str | None, str | None, str | None, str | None],
        report: FeedRefresh,
    ) -> None:
        url, _, etag, last_modified, old_hash = info
        result: FetchResult = await fetcher.fetch(url, etag=etag, last_modified=last_modified)
        if result.permanent_url and result.permanent_url != url:
            await db(Store.move_feed, feed_id, result.permanent_url)
            url = result.permanent_url
            report.url = url
        if result.status is FetchStatus.NOT_MODIFIED:
            await db(Store.record_not_modified, feed_id, time.time() + self._interval(url))
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
        next_fetch = time.time() + self._interval(url)
        if body_hash == old_hash:
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
        report.new, report.updated = await db(
            Store.store_feed,
            feed_id,
            parsed,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
            next_fetch=next_fetch,
        )
        report.outcome = RefreshOutcome.NEW
        if parsed.title:
            report.title = parsed.title

    def data_version(self) -> int:
        """Moves when another process (a cron refresh, the host's scheduler) wrote."""
        return self.store.data_version()

    def pending_index(self) -> int:
        return self.store.pending_index()

    def index_search(self) -> int:
        """Add newly stored articles to the search index (run after a refresh, off the UI)."""
        return self.store.index_pending()

    # -- article lists ----------------------------------------------------------

    def article_ids(self, query: ArticleQuery) -> array[int]:
        return self.store.article_ids(query)

    def first_article_ids(self, query: ArticleQuery, limit: int = 200) -> list[int]:
        return self.store.first_article_ids(query, limit)

    def articles(self, ids: Sequence[int]) -> dict[int, Article]:
        return self.store.articles(ids)

    def article(self, article_id: int) -> ArticleDetail | None:
        return self.store.article(article_id)

    def mark_read(self, article_ids: Sequence[int], read: bool = True) -> None:
        self.store.set_read(article_ids, read)

    def is_read(self, article_id: int) -> bool:
        return self.store.is_read(article_id)

    def mark_all_read(self, query: ArticleQuery) -> int:
        return self.store.mark_query_read(query)

    def set_starred(self, article_id: int, starred: bool) -> None:
        self.store.set_starred(article_id, starred)

    def unread_total(self) -> int:
        return self.store.unread_total()

    def starred_total(self) -> int:
        return self.store.starred_total()

    # -- rendering ----------------------------------------------------------------

    def render_fragment(
        self, html: str, width: int, base_url: str | None = None
    ) -> RenderedDocument:
        """A comment body (or any HTML fragment) as terminal lines."""
        return render_html(html, width, base_url=base_url)

    def render(self, article: ArticleDetail, width: int) -> RenderedDocument:
        """The post as terminal lines at `width`; recent renders are kept."""
        key = (article.id, width)
        cached = self._render_cache.get(key)
        if cached is not None:
            self._render_cache.move_to_end(key)
            return cached
        document = render_html(article.body_html, width, base_url=article.link)
        self._render_cache[key] = document
        while len(self._render_cache) > 16:
            self._render_cache.popitem(last=False)
        return document

    # -- settings kept in the database -----------------------------------------------

    def get_preference(self, key: str, default: str | None = None) -> str | None:
        return self.store.get_value(f"pref:{self.identity.name}:{key}", default)

    def set_preference(self, key: str, value: str) -> None:
        self.store.set_value(f"pref:{self.identity.name}:{key}", value)

    # -- import / export -------------------------------------------------------------

    def import_subscriptions(self, text: str, name: str = "file") -> list[Subscription]:
        self._operator_only()
        subscriptions = parse_subscriptions(text, name)
        for sub in subscriptions:
            self.store.add_feed(sub.url, title=sub.title, tags=sub.tags)
        return subscriptions

    def export_opml(self) -> str:
        return to_opml(self.store.feeds())
