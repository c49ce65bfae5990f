"""NewsService: the one facade the UI and the command line call.

It owns the store, the comment service and a Refresher (refresh.py: fetch, parse pool,
leases, backoff). Reads are synchronous (short SQLite queries, fine on the UI thread);
network work is async.
"""

from __future__ import annotations

import asyncio
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from termnews.config import Paths, Settings
from termnews.errors import DownloadError, FullArticleError, PlayerError, TermnewsError
from termnews.feeds.parse import ParsePool, start_helpers
from termnews.model import Article, ArticleDetail, ArticleQuery, Feed, Identity, Reply
from termnews.postout import PostOutError, file_name, pipe, post_text, save
from termnews.recent import Recent
from termnews.refresh import (
    Delivery,
    FeedRefresh,
    ProgressCallback,
    Refresher,
    RefreshOutcome,
    RefreshReport,
)
from termnews.sanitize import clean_line
from termnews.store import SearchCancelled, Store, StoreError

if TYPE_CHECKING:
    # Loaded on first use, not at start: the comment backends, discovery (httpx) and the
    # HTML renderer are not needed for the first frame (see tests/test_startup.py).
    from termnews.comments import CommentService, OutboxItem
    from termnews.download import DownloadProgress
    from termnews.feeds.discover import DiscoveredFeed
    from termnews.feeds.opml import SubscriptionList
    from termnews.images import Picture
    from termnews.render import RenderedDocument

# The refresh types are part of this facade: the UI and the CLI import them from here.
__all__ = [
    "HOSTED_FEEDS",
    "Delivery",
    "DownloadError",
    "FeedRefresh",
    "FullArticleError",
    "NewsService",
    "PlayerError",
    "PostOutError",
    "ProgressCallback",
    "RefreshOutcome",
    "RefreshReport",
    "SearchCancelled",
    "ServiceError",
]

HOSTED_FEEDS = "Feeds on this host are chosen by its operator."

T = TypeVar("T")


class ServiceError(TermnewsError):
    """A user-facing failure (bad URL, nothing found, unreadable file)."""


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
        # Recent renders; the reader renders the next post on a thread.
        self._renders: Recent[tuple[int, int, bool], RenderedDocument] = Recent(16)
        self._pictures: dict[str, Picture] = {}
        self.refresher = Refresher(store, settings)
        self.on_problem: Callable[[str], None] | None = None  # the UI shows these
        self._search_store: Store | None = None
        self._search_lock = threading.Lock()
        self._search_generation = 0
        self.save_problem: str | None = None

    @cached_property
    def comments(self) -> CommentService:
        """The comment backends, built (and imported) the first time they are needed."""
        from termnews.comments import CommentService

        return CommentService(
            self.store,
            self.settings,
            self.identity,
            restricted=self.restricted,
            data_dir=self.data_dir,
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
        self.refresher.close()
        self.cancel_search()
        with self._search_lock:
            if self._search_store is not None:
                self._search_store.close()
                self._search_store = None
        self.store.close()

    def prepare_workers(self) -> None:
        """Start the parse workers' helper processes now (the pool also starts them on
        first use, from any thread: see start_helpers)."""
        try:
            start_helpers()
        except Exception:  # the first parse reports a pool that cannot start, per feed
            return

    @property
    def pool(self) -> ParsePool:
        return self.refresher.pool

    # -- feeds -------------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        return self.store.feeds()

    def has_feeds(self) -> bool:
        return self.store.has_feeds()

    def feed(self, feed_id: int) -> Feed | None:
        return self.store.feed(feed_id)

    def tags(self) -> list[str]:
        return sorted({tag for feed in self.store.feeds() for tag in feed.tags})

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
            from termnews.feeds.discover import DiscoveryError, discover_feeds

            async with self.refresher.fetcher() as fetcher:
                try:
                    found = await discover_feeds(fetcher, url)
                except DiscoveryError as exc:
                    raise ServiceError(str(exc)) from exc
            if found:
                url, title = found[0].url, found[0].title
        return self.store.add_feed(url, title=title, tags=tags)

    async def find_feeds(self, url: str) -> list[DiscoveredFeed]:
        """The feeds a site's page (or a feed URL) advertises, main feeds first."""
        self._operator_only()
        from termnews.feeds.discover import DiscoveryError, discover_feeds

        async with self.refresher.fetcher() as fetcher:
            try:
                return await discover_feeds(fetcher, url.strip())
            except DiscoveryError as exc:
                raise ServiceError(str(exc)) from exc

    def subscribe(self, url: str, *, title: str | None = None, tags: Sequence[str] = ()) -> Feed:
        """Add a feed URL as given, without network access (import, demo)."""
        self._operator_only()
        return self.store.add_feed(url, title=title, tags=tags)

    def remove_feed(self, feed_id: int) -> None:
        self._operator_only()
        self.store.remove_feed(feed_id)
        self._renders.forget()

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

    def due_feed_ids(self) -> list[int]:
        return self.refresher.due_feed_ids()

    async def refresh(
        self,
        feed_ids: Sequence[int] | None = None,
        *,
        due_only: bool = False,
        progress: ProgressCallback | None = None,
        index: bool = True,
    ) -> RefreshReport:
        """Fetch and store feeds (see Refresher), then send the outbox comments that are due.

        The outbox goes out even when no feed is due. With `index` (the default) new
        articles are made searchable before this returns, off the caller's event loop;
        `termnews refresh` skips that (the app indexes at start, in the background).
        """
        report = await self.refresher.run(
            feed_ids, due_only=due_only, progress=progress, index=index
        )
        report.deliveries = await self._retry_outbox()
        await self._check_replies(report)
        return report

    async def _check_replies(self, report: RefreshReport) -> None:
        """The threads of your comments that are due, read for replies (comments/inbox.py)."""
        if self.settings.max_threads <= 0 or not self.store.has_my_comments():
            return  # nothing posted yet: the comment backends are not even imported
        try:
            report.new_replies = (await self.comments.check_replies()).new
        except Exception as exc:  # a refresh must not fail because a thread could not be read
            line = f"replies not checked: {type(exc).__name__}: {clean_line(str(exc))}"
            report.deliveries.append(Delivery(False, line))

    async def _retry_outbox(self) -> list[Delivery]:
        """Comments that failed to deliver go out again with each refresh (when due)."""
        from termnews.comments import PostOutcome

        try:
            results = await self.comments.retry_outbox()
        except Exception as exc:  # a refresh must not fail because the outbox could not be sent
            return [Delivery(False, f"comments not sent: {type(exc).__name__}: {exc}")]
        deliveries = []
        for result in results:
            sent = result.outcome in (PostOutcome.POSTED, PostOutcome.HELD)
            if sent or not result.retryable:  # a retryable failure is listed as pending below
                word = "delivered" if sent else "not delivered"
                deliveries.append(Delivery(sent, f"comment {word}: {clean_line(result.message)}"))
        for item in self.comments.outbox():
            if item.state in ("pending", "uncertain"):
                deliveries.append(Delivery(False, f"comment pending: {_waiting(item)}"))
        return deliveries

    # -- replies to you (the comment inbox) ----------------------------------------------

    def replies_posted(self) -> bool:
        """This identity has posted a comment termnews remembers: the Replies entry shows."""
        return self.store.has_my_comments(self.identity.name)

    def unread_replies(self) -> int:
        return self.store.unread_replies(self.identity.name)

    def replies(self) -> list[Reply]:
        """Replies to this identity's comments (never anyone else's), unread first."""
        return self.store.replies(self.identity.name)

    def mark_reply_read(self, reply_id: int, read: bool = True) -> None:
        self._saving(lambda: self.store.set_reply_read(self.identity.name, reply_id, read))

    def data_version(self) -> int:
        """Moves when another process (a cron refresh, the host's scheduler) wrote."""
        return self.store.data_version()

    def drafts_waiting(self) -> int:
        """How many unsent comment drafts this identity has (asked at start, so it needs
        no comment backend)."""
        return len(self.store.drafts(self.identity.name))

    def pending_index(self) -> int:
        return self.store.pending_index()

    def index_search(self) -> int:
        """Add newly stored articles to the search index (run after a refresh, off the UI)."""
        return self.store.index_pending()

    # -- article lists ----------------------------------------------------------

    def article_ids(self, query: ArticleQuery) -> array[int]:
        return self.store.article_ids(query)

    def search_ids(self, query: ArticleQuery) -> array[int]:
        """The ids of a search's list, for a worker thread; `cancel_search` stops it.

        Runs on a connection of its own, so the UI thread's reads never wait for a search,
        and raises SearchCancelled once `cancel_search()` is called (from any thread) after
        this call began: a superseded search stops within milliseconds.
        """
        generation = self._search_generation
        with self._search_lock:  # one search at a time on the search connection
            if self._search_store is None:
                self._search_store = Store(self.store.path, identity=self.store.identity)
            store = self._search_store
            with store.cancellable(lambda: self._search_generation != generation):
                if self._search_generation != generation:
                    raise SearchCancelled("the search was cancelled")
                return store.article_ids(query)

    def cancel_search(self) -> None:
        """Stop every search running or waiting in `search_ids` (safe from any thread)."""
        self._search_generation += 1

    def first_article_ids(self, query: ArticleQuery, limit: int = 200) -> list[int]:
        return self.store.first_article_ids(query, limit)

    def articles(self, ids: Sequence[int]) -> dict[int, Article]:
        return self.store.articles(ids)

    def article(self, article_id: int) -> ArticleDetail | None:
        return self.store.article(article_id)

    async def image(self, url: str) -> Picture:
        """A post's image, decoded and scaled down (images.py: size cap, timeout, Pillow's
        limits); the file is kept in the data dir's bounded image cache. ImageError says why
        one cannot be shown."""
        from termnews.images import ImageCache, ImageError, decode, download

        picture = self._pictures.pop(url, None)
        if picture is None:
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                raise ImageError("only images on http(s) addresses are shown")
            cache = None
            if self.data_dir is not None:
                cache = ImageCache(self.data_dir / "images", self.settings.image_cache_mb << 20)
            data = await asyncio.to_thread(cache.get, url) if cache else None
            if data is None:
                data = await download(url, timeout=self.settings.timeout)
                if cache is not None:
                    await asyncio.to_thread(cache.put, url, data)
            picture = await asyncio.to_thread(decode, data)
        self._pictures[url] = picture  # the most recent last; a few are kept decoded
        while len(self._pictures) > 16:
            del self._pictures[next(iter(self._pictures))]
        return picture

    def full_article_on_open(self, article: ArticleDetail) -> bool:
        """The feed is set ([full_article] "open", or "refresh" for what a refresh did not
        reach) to fetch the full article when a post opens."""
        mode = self.settings.full_article.get(article.feed_url, "never")
        return mode == "open" or (mode == "refresh" and not article.extract_error)

    async def fetch_full_article(self, article_id: int) -> ArticleDetail:
        """Fetch the post's page, extract its article (in the parse pool) and keep it.

        Raises FullArticleError (ServiceError for a post without a page) with one line."""
        article = self.store.article(article_id)
        if article is None:
            raise ServiceError("That post is gone (its feed was removed).")
        if not article.link:
            raise ServiceError("This post has no page of its own to fetch.")
        settings = self.settings
        from termnews.fullarticle import full_article
        from termnews.http import make_client

        async with make_client(settings.timeout) as client:
            html = await full_article(
                client,
                self.pool,
                article.link,
                max_bytes=settings.max_feed_mb << 20,
                timeout=settings.timeout,
            )
        self._saving(lambda: self.store.set_extracted(article_id, html))
        article.extracted = html
        self._renders.forget(lambda key: key[0] == article_id)
        return article

    def play_attachments(self, article: ArticleDetail) -> list[str]:
        """Start the player on the post's enclosures (never on a host: it runs a program)."""
        if self.restricted:
            raise ServiceError("Not available on this host.")
        from termnews.attachments import play

        return play(self.settings.player, article.enclosures)

    async def download_attachment(
        self, url: str, progress: Callable[[DownloadProgress], None] | None = None
    ) -> Path:
        """Download one attachment to general.download_dir (cancel the task to stop it: the
        partial file goes); never on a host. Raises DownloadError with one line."""
        if self.restricted:
            raise ServiceError("Not available on this host.")
        from termnews.download import download
        from termnews.http import make_client

        settings = self.settings
        where = Path(settings.download_dir or _downloads_dir()).expanduser()
        async with make_client(settings.timeout) as client:
            return await download(
                client, url, where, max_bytes=settings.max_download_mb << 20, progress=progress
            )

    def save_post(self, article: ArticleDetail, *, extracted: bool = False) -> Path:
        """Save the post (the full article when shown) to general.save_dir; never on a host."""
        if self.restricted:
            raise ServiceError("Not available on this host.")
        fmt = self.settings.save_format
        body = article.extracted if extracted and article.extracted else None
        text = post_text(article, fmt, body_html=body)
        where = self.settings.save_dir or _downloads_dir()
        return save(text, Path(where).expanduser(), file_name(article, fmt))

    def pipe_post(self, article: ArticleDetail, *, url_only: bool, extracted: bool = False) -> None:
        """Pipe the post as text (or only its address) to general.pipe_command (blocking:
        call it from a worker thread); never on a host."""
        if self.restricted:
            raise ServiceError("Not available on this host.")
        if url_only:
            if not article.link:
                raise ServiceError("This post has no address of its own.")
            text = clean_line(article.link, 2000) + "\n"
        else:
            body = article.extracted if extracted and article.extracted else None
            text = post_text(article, self.settings.save_format, body_html=body)
        pipe(self.settings.pipe_command, text)

    # Read state, stars and preferences are saved as the user reads. When they cannot be
    # (a full disk, a read-only or damaged file) reading goes on: the reason is told once
    # through `on_problem` and kept in `save_problem` until a save works again.

    def _saving(self, write: Callable[[], T]) -> T | None:
        try:
            result = write()
        except StoreError as exc:
            message = str(exc)
            if message != self.save_problem and self.on_problem is not None:
                self.on_problem(message)
            self.save_problem = message
            return None
        self.save_problem = None
        return result

    def mark_read(self, article_ids: Sequence[int], read: bool = True) -> None:
        self._saving(lambda: self.store.set_read(article_ids, read))

    def mark_all_read(self, query: ArticleQuery) -> int:
        return self._saving(lambda: self.store.mark_query_read(query)) or 0

    def set_starred(self, article_id: int, starred: bool) -> None:
        self._saving(lambda: self.store.set_starred(article_id, starred))

    def saved_searches(self) -> list[tuple[ArticleQuery, int]]:
        """The settings' [[search]] lists with their unread counts, for the feed list."""
        out = []
        for saved in self.settings.searches:
            try:
                unread = self.store.count(replace(saved.query, unread_only=True))
            except StoreError:
                unread = 0
            out.append((saved.query, unread))
        return out

    def unread_total(self) -> int:
        return self.store.unread_total()

    def starred_total(self) -> int:
        return self.store.starred_total()

    # -- rendering ----------------------------------------------------------------

    def render_fragment(
        self, html: str, width: int, base_url: str | None = None
    ) -> RenderedDocument:
        """A comment body (or any HTML fragment) as terminal lines."""
        from termnews.render import render_html

        return render_html(html, width, base_url=base_url)

    def render(
        self, article: ArticleDetail, width: int, *, extracted: bool = False
    ) -> RenderedDocument:
        """The post as terminal lines at `width` (the extracted full article when asked and
        there is one); recent renders are kept. Safe to call from a thread (the reader
        renders the next post ahead while this one is read)."""
        extracted = extracted and bool(article.extracted)
        html = (article.extracted or "") if extracted else article.body_html
        return self._renders.get(
            (article.id, width, extracted), lambda: self._render_shared(html, width, article.link)
        )

    def _render_shared(self, html: str, width: int, base_url: str | None) -> RenderedDocument:
        """`html` rendered, or a long post's render another process on this data dir
        (a session of the same host) kept."""
        from termnews.render import render_html
        from termnews.render_cache import RenderStore

        if self.data_dir is None or not RenderStore.wanted(html):
            return render_html(html, width, base_url=base_url)
        store = RenderStore(self.data_dir / "renders")
        return store.get(
            store.key(html, width, base_url), lambda: render_html(html, width, base_url=base_url)
        )

    # -- settings kept in the database -----------------------------------------------

    def get_preference(self, key: str, default: str | None = None) -> str | None:
        return self.store.get_value(f"pref:{self.identity.name}:{key}", default)

    def set_preference(self, key: str, value: str) -> None:
        self._saving(lambda: self.store.set_value(f"pref:{self.identity.name}:{key}", value))

    # -- import / export -------------------------------------------------------------

    def import_subscriptions(self, text: str, name: str = "file") -> SubscriptionList:
        """Subscribe to what the file lists; its `skipped` lines were not imported."""
        self._operator_only()
        from termnews.feeds.opml import parse_subscriptions  # only for an import

        subscriptions = parse_subscriptions(text, name)
        for sub in subscriptions:
            self.store.add_feed(
                sub.url, title=sub.title, tags=sub.tags, custom_title=sub.custom_title
            )
        return subscriptions

    def export_opml(self) -> str:
        from termnews.feeds.opml import to_opml

        return to_opml(self.store.feeds())


def _downloads_dir() -> str:
    """The user's Downloads directory (XDG_DOWNLOAD_DIR, else ~/Downloads)."""
    import platformdirs

    return platformdirs.user_downloads_dir()


def _waiting(item: OutboxItem) -> str:
    """An outbox comment not sent yet: where it goes, when it is tried next, and why."""
    when = time.strftime("%H:%M", time.localtime(item.next_attempt))
    why = f" (last error: {clean_line(item.last_error)})" if item.last_error else ""
    return f"{clean_line(item.label)}, next try at {when}{why}"
