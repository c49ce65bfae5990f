"""SQLite storage: schema, migrations and every query in the project.

One database file is shared by every termnews process on a host (an SSH host runs
one per session), so the database runs in WAL mode, every write is a short
transaction, and a feed refresh takes a lease so two processes never fetch the
same feed at once.

Rows come back as the dataclasses of `model.py`. SQLite failures a user can act on (a
full disk, a read-only or damaged file, a lock held too long) arrive as `StoreError`
subclasses whose message names the file and what to do; the rest stay exceptions (bugs).
"""

from __future__ import annotations

import json
import sqlite3
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from termnews.errors import TermnewsError
from termnews.model import (
    SEARCH_MAX_CHARS,
    SEARCH_MAX_WORDS,
    Article,
    ArticleDetail,
    ArticleQuery,
    CachedResponse,
    Comment,
    CommentMeta,
    CommentStatus,
    Draft,
    Enclosure,
    Feed,
    FeedValidators,
    MyComment,
    OutboxRow,
    ParsedEntry,
    ParsedFeed,
    Reply,
    StoredCounts,
)
from termnews.sanitize import clean_line, strip_tags

BUSY_TIMEOUT_MS = 30_000

# Each entry migrates the schema from version index to index + 1.
MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema.
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT,
        site_url TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_fetch REAL,
        last_success REAL,
        next_fetch REAL NOT NULL DEFAULT 0,
        error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        gone INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL NOT NULL DEFAULT 0,
        added REAL NOT NULL,
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        guid TEXT NOT NULL,
        link TEXT,
        title TEXT NOT NULL,
        author TEXT,
        published REAL,
        updated REAL,
        sort_key REAL NOT NULL,
        summary TEXT,
        content TEXT,
        body_hash TEXT NOT NULL,
        comments_page TEXT,
        comments_feed TEXT,
        comments_api TEXT,
        comment_count INTEGER,
        fetched REAL NOT NULL,
        UNIQUE (feed_id, guid)
    );
    -- Covering indexes for the article lists (newest first).
    CREATE INDEX articles_by_time ON articles (sort_key DESC, id DESC);
    CREATE INDEX articles_by_feed_time ON articles (feed_id, sort_key DESC, id DESC);
    CREATE TABLE article_state (
        identity TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        read INTEGER NOT NULL DEFAULT 0,
        starred INTEGER NOT NULL DEFAULT 0,
        changed REAL NOT NULL,
        PRIMARY KEY (identity, article_id)
    ) WITHOUT ROWID;
    CREATE INDEX article_state_starred ON article_state (identity, starred, article_id);
    CREATE VIRTUAL TABLE articles_fts USING fts5 (
        title, author, summary, content,
        content='', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        parent_id TEXT,
        author TEXT NOT NULL,
        author_url TEXT,
        published REAL,
        content TEXT NOT NULL,
        link TEXT,
        status TEXT NOT NULL DEFAULT 'approved',
        fetched REAL NOT NULL,
        UNIQUE (article_id, source, remote_id)
    );
    CREATE TABLE board (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        parent_id TEXT,
        identity TEXT NOT NULL,
        body TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX board_by_article ON board (article_id, created);
    CREATE TABLE drafts (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        identity TEXT NOT NULL,
        body TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        parent_id TEXT,
        target TEXT NOT NULL DEFAULT '',
        updated REAL NOT NULL,
        PRIMARY KEY (article_id, identity)
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        identity TEXT NOT NULL,
        target TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        created REAL NOT NULL,
        lease_until REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 1 -> 2: the search index is built after a refresh, not during it (Store.index_pending),
    # and keeps no token positions (detail=none): searches are AND-ed single words and
    # prefixes, and it indexes ~25% faster. Every article is indexed again.
    """
    ALTER TABLE articles ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX articles_unindexed ON articles (id) WHERE indexed = 0;
    DROP TABLE articles_fts;
    CREATE VIRTUAL TABLE articles_fts USING fts5 (
        title, author, summary, content,
        content='', detail=none, tokenize='unicode61 remove_diacritics 2'
    );
    """,
    # 2 -> 3: a title the user chose (newsboat's "~Title") is kept over the feed's own.
    """
    ALTER TABLE feeds ADD COLUMN title_locked INTEGER NOT NULL DEFAULT 0;
    """,
    # 3 -> 4: a post's article as extracted from its own page (the full article of a feed
    # that carries only summaries), kept so it is fetched once; searched with the content.
    """
    ALTER TABLE articles ADD COLUMN extracted TEXT;
    ALTER TABLE articles ADD COLUMN extracted_at REAL;
    """,
    # 4 -> 5: files attached to posts (podcast episodes, videos), in the feed's order.
    """
    CREATE TABLE enclosures (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        url TEXT NOT NULL,
        type TEXT,
        length INTEGER,
        duration REAL,
        title TEXT,
        PRIMARY KEY (article_id, position)
    ) WITHOUT ROWID;
    """,
    # 5 -> 6: why a refresh could not get a post's full article ([full_article] "refresh");
    # with extracted_at set it is not tried again by later refreshes (F still can).
    """
    ALTER TABLE articles ADD COLUMN extract_error TEXT;
    """,
    # 6 -> 7: the comment inbox (comments/inbox.py). The comments each identity posted, with
    # the thread they are in and what its validators were when last checked; the replies
    # found to them (unread until opened); the checked threads' last responses, kept to
    # revalidate them with conditional GETs.
    """
    CREATE TABLE my_comments (
        id INTEGER PRIMARY KEY,
        identity TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        thread_url TEXT,
        remote_id TEXT NOT NULL,
        link TEXT,
        body TEXT NOT NULL DEFAULT '',
        posted REAL NOT NULL,
        checked REAL NOT NULL DEFAULT 0,
        validator TEXT,
        UNIQUE (identity, kind, article_id, remote_id)
    );
    CREATE INDEX my_comments_by_check ON my_comments (posted, checked);
    CREATE TABLE replies (
        id INTEGER PRIMARY KEY,
        identity TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        my_comment INTEGER NOT NULL REFERENCES my_comments(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        author TEXT NOT NULL,
        published REAL,
        first_line TEXT NOT NULL,
        link TEXT,
        found REAL NOT NULL,
        read INTEGER NOT NULL DEFAULT 0,
        UNIQUE (identity, article_id, source, remote_id)
    );
    CREATE INDEX replies_by_identity ON replies (identity, read, found);
    CREATE TABLE thread_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        headers TEXT NOT NULL,
        body BLOB NOT NULL,
        used REAL NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
BROAD_SEARCH = 5000  # matches above which a search walks the time index instead


# Cached comments of a post's outside discussions, counted per row of a page (the UNIQUE
# (article_id, source, remote_id) index answers it without touching the comments' text).
_OUTSIDE_COUNT = (
    "(SELECT COUNT(*) FROM comments c WHERE c.article_id = a.id AND c.source IN "
    "('hackernews', 'lobsters', 'reddit', 'mastodon', 'bluesky'))"
)


class StoreError(TermnewsError):
    """A database problem the user can act on."""


class StoreFull(StoreError):
    """The disk (or a quota) is full: nothing new can be saved, what is stored is intact."""


class StoreReadOnly(StoreError):
    """The database file or its folder cannot be written by this user."""


class StoreDamaged(StoreError):
    """The database file is corrupt, truncated or not a database: termnews leaves it alone."""


class SearchCancelled(StoreError):
    """A search stopped from another thread (a newer one replaced it)."""


class FeedRemoved(Exception):
    """The feed was unsubscribed while it was being refreshed (not an error for anyone)."""


_MOVE_ASIDE = "restore it from a backup, or move it aside (e.g. to {name}.damaged) to start afresh"
# Extended codes too: SQLITE_READONLY_DIRECTORY, SQLITE_CANTOPEN_ISDIR ...
_CANNOT_WRITE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")


def store_problem(path: Path, exc: sqlite3.Error) -> StoreError | None:
    """The user's version of an SQLite failure on `path`; None for one that is a bug."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    folder = path.parent
    if name == "SQLITE_INTERRUPT":
        return SearchCancelled("the search was cancelled")
    if name.startswith("SQLITE_FULL"):
        return StoreFull(
            f"the disk holding {folder} is full ({exc}): termnews can show what it has but "
            "not save anything new; what is stored is intact. Free some space there, or use "
            "another --data-dir"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        cause = "is not a termnews database" if name == "SQLITE_NOTADB" else "is damaged"
        return StoreDamaged(
            f"{path} {cause} ({exc}); termnews will not write to it: "
            + _MOVE_ASIDE.format(name=path.name)
        )
    if name.startswith(_CANNOT_WRITE):
        return StoreReadOnly(
            f"cannot write {path} ({exc}): make {folder} and the files in it writable for "
            "this user, or choose another data dir with --data-dir or TERMNEWS_DATA_DIR"
        )
    if name.startswith("SQLITE_BUSY"):
        return StoreError(
            f"{path} is locked by another program for too long ({exc}); try again in a moment"
        )
    if name.startswith("SQLITE_IOERR"):
        return StoreError(
            f"reading or writing {path} failed ({exc}): check the disk under {folder}"
        )
    return None


class _Connection(sqlite3.Connection):
    """A connection whose SQLite failures the user can act on arrive as StoreError."""

    store_path = Path()

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise store_problem(self.store_path, exc) or exc from exc

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise store_problem(self.store_path, exc) or exc from exc


def _sort_key(entry: ParsedEntry, now: float) -> float:
    return entry.published or entry.updated or now


class Store:
    """All persistent state. Methods are short transactions; safe to share across processes."""

    def __init__(self, path: Path | str, *, identity: str = "local") -> None:
        self.path = Path(path)
        self.identity = identity
        memory = str(path) == ":memory:"
        if not memory:
            self._check_file()
        try:
            self.db = sqlite3.connect(
                str(path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # explicit BEGIN/COMMIT below
                check_same_thread=False,
                factory=_Connection,
            )
        except sqlite3.Error as exc:
            raise store_problem(self.path, exc) or StoreError(
                f"cannot open the database {path}: {exc}"
            ) from exc
        self.db.store_path = self.path
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    def _check_file(self) -> None:
        """Refuse, with a message, what SQLite would silently treat as a new database."""
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data dir {folder} ({exc.strerror or exc}): make its parent "
                "writable, or choose another one with --data-dir or TERMNEWS_DATA_DIR"
            ) from exc
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return  # a new database: created now
        except OSError as exc:
            raise StoreError(f"cannot read {self.path} ({exc.strerror or exc})") from exc
        wal = self.path.with_name(self.path.name + "-wal")
        if size == 0 and not (wal.exists() and wal.stat().st_size):
            # An empty file is a valid empty database to SQLite, which would then write a
            # fresh schema over what was probably a database cut short (a full disk, a crash).
            raise StoreDamaged(
                f"{self.path} is empty (0 bytes): it may have been cut short; "
                + _MOVE_ASIDE.format(name=self.path.name)
            )

    # -- plumbing --------------------------------------------------------------

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK
            # would fail and hide the error that matters.
            if self.db.in_transaction:
                with suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer termnews (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade termnews"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[index]):
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def data_version(self) -> int:
        """Changes whenever another connection (another termnews process) commits."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # -- key/value settings ----------------------------------------------------

    def get_value(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_value(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- feeds -------------------------------------------------------------------

    def add_feed(
        self,
        url: str,
        *,
        title: str | None = None,
        tags: Sequence[str] = (),
        custom_title: bool = False,
    ) -> Feed:
        """Subscribe (or add tags to a subscription). A `custom_title` is the user's own:
        it replaces the title and refreshes keep it."""
        now = time.time()
        with self.transaction():
            row = self.db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
            if row is None:
                position = self.db.execute(
                    "SELECT COALESCE(MAX(position), 0) + 1 FROM feeds"
                ).fetchone()[0]
                cursor = self.db.execute(
                    "INSERT INTO feeds (url, title, tags, added, position) VALUES (?, ?, ?, ?, ?)",
                    (url, title, json.dumps(sorted(set(tags))), now, position),
                )
                feed_id = int(cursor.lastrowid or 0)
            else:
                feed_id = row[0]
                if tags:
                    old = self._tags(feed_id)
                    self.db.execute(
                        "UPDATE feeds SET tags = ? WHERE id = ?",
                        (json.dumps(sorted(set(old) | set(tags))), feed_id),
                    )
                if title:
                    self.db.execute(
                        "UPDATE feeds SET title = COALESCE(title, ?) WHERE id = ?",
                        (title, feed_id),
                    )
            if title and custom_title:
                self.db.execute(
                    "UPDATE feeds SET title = ?, title_locked = 1 WHERE id = ?", (title, feed_id)
                )
        feed = self.feed(feed_id)
        assert feed is not None
        return feed

    def _tags(self, feed_id: int) -> list[str]:
        row = self.db.execute("SELECT tags FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return list(json.loads(row[0])) if row else []

    def set_tags(self, feed_id: int, tags: Sequence[str]) -> None:
        self.db.execute(
            "UPDATE feeds SET tags = ? WHERE id = ?", (json.dumps(sorted(set(tags))), feed_id)
        )

    def remove_feed(self, feed_id: int) -> None:
        with self.transaction():
            ids = [
                r[0]
                for r in self.db.execute("SELECT id FROM articles WHERE feed_id = ?", (feed_id,))
            ]
            self._fts_delete(ids)
            self.db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    def _feed_from_row(self, row: sqlite3.Row, unread: int = 0, total: int = 0) -> Feed:
        return Feed(
            id=row["id"],
            url=row["url"],
            title=row["title"],
            site_url=row["site_url"],
            tags=list(json.loads(row["tags"])),
            unread=unread,
            total=total,
            last_fetch=row["last_fetch"],
            last_success=row["last_success"],
            error=row["error"],
            failures=row["failures"],
            gone=bool(row["gone"]),
            next_fetch=row["next_fetch"],
        )

    def feed(self, feed_id: int) -> Feed | None:
        row = self.db.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        if row is None:
            return None
        total, unread = self._counts(feed_id)
        return self._feed_from_row(row, unread, total)

    def feed_by_url(self, url: str) -> Feed | None:
        row = self.db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
        return self.feed(row[0]) if row else None

    def _counts(self, feed_id: int) -> tuple[int, int]:
        total = self.db.execute(
            "SELECT COUNT(*) FROM articles WHERE feed_id = ?", (feed_id,)
        ).fetchone()[0]
        read = self.db.execute(
            "SELECT COUNT(*) FROM articles a JOIN article_state s ON s.article_id = a.id "
            "WHERE a.feed_id = ? AND s.identity = ? AND s.read = 1",
            (feed_id, self.identity),
        ).fetchone()[0]
        return total, total - read

    def has_feeds(self) -> bool:
        """Whether any feed is subscribed (without counting anything, as `feeds` does)."""
        return bool(self.db.execute("SELECT EXISTS (SELECT 1 FROM feeds)").fetchone()[0])

    def feeds(self) -> list[Feed]:
        """Every feed with its unread and total counts, in subscription order."""
        totals = dict(
            self.db.execute("SELECT feed_id, COUNT(*) FROM articles GROUP BY feed_id").fetchall()
        )
        reads = dict(
            self.db.execute(
                "SELECT a.feed_id, COUNT(*) FROM article_state s "
                "JOIN articles a ON a.id = s.article_id "
                "WHERE s.identity = ? AND s.read = 1 GROUP BY a.feed_id",
                (self.identity,),
            ).fetchall()
        )
        rows = self.db.execute("SELECT * FROM feeds ORDER BY position, id").fetchall()
        return [
            self._feed_from_row(
                row, totals.get(row["id"], 0) - reads.get(row["id"], 0), totals.get(row["id"], 0)
            )
            for row in rows
        ]

    def refresh_info(self, feed_id: int) -> FeedValidators | None:
        """What a refresh needs to know about a feed, cheaply; None once it is removed."""
        row = self.db.execute(
            "SELECT url, title, etag, last_modified, body_hash FROM feeds WHERE id = ?",
            (feed_id,),
        ).fetchone()
        if row is None:
            return None
        return FeedValidators(
            url=row["url"],
            title=row["title"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            body_hash=row["body_hash"],
        )

    def unfetched(self, feed_ids: Sequence[int]) -> bool:
        """Whether any of these feeds has never been stored (its first refresh)."""
        wanted = set(feed_ids)
        return any(
            row[0] in wanted
            for row in self.db.execute("SELECT id FROM feeds WHERE body_hash IS NULL")
        )

    def due_feeds(self, now: float) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM feeds WHERE gone = 0 AND next_fetch <= ? ORDER BY next_fetch, id",
                (now,),
            )
        ]

    def try_lease(self, feed_id: int, owner: str, seconds: float) -> bool:
        """Take the refresh lease of a feed; False when another process holds it."""
        now = time.time()
        cursor = self.db.execute(
            "UPDATE feeds SET lease_owner = ?, lease_until = ? "
            "WHERE id = ? AND (lease_until < ? OR lease_owner = ?)",
            (owner, now + seconds, feed_id, now, owner),
        )
        return cursor.rowcount == 1

    def release_lease(self, feed_id: int, owner: str) -> None:
        self.db.execute(
            "UPDATE feeds SET lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?",
            (feed_id, owner),
        )

    def record_not_modified(
        self,
        feed_id: int,
        next_fetch: float,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """A successful fetch with nothing new (304, or the same body again)."""
        now = time.time()
        self.db.execute(
            "UPDATE feeds SET last_fetch = ?, last_success = ?, next_fetch = ?, error = NULL, "
            "failures = 0, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified) "
            "WHERE id = ?",
            (now, now, next_fetch, etag, last_modified, feed_id),
        )

    def record_failure(
        self, feed_id: int, error: str, next_fetch: float, *, gone: bool = False
    ) -> int:
        """Store a fetch/parse error; returns the new consecutive failure count."""
        now = time.time()
        with self.transaction():
            self.db.execute(
                "UPDATE feeds SET last_fetch = ?, error = ?, failures = failures + 1, "
                "next_fetch = ?, gone = ? WHERE id = ?",
                (now, error, next_fetch, int(gone), feed_id),
            )
            row = self.db.execute("SELECT failures FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return int(row[0]) if row else 0

    def failures(self, feed_id: int) -> int:
        row = self.db.execute("SELECT failures FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return int(row[0]) if row else 0

    def move_feed(self, feed_id: int, new_url: str) -> None:
        """A permanent redirect: keep the feed, change its URL (unless it would collide)."""
        with self.transaction():
            clash = self.db.execute("SELECT id FROM feeds WHERE url = ?", (new_url,)).fetchone()
            if clash is None:
                self.db.execute("UPDATE feeds SET url = ? WHERE id = ?", (new_url, feed_id))

    def store_feed(
        self,
        feed_id: int,
        parsed: ParsedFeed,
        *,
        etag: str | None,
        last_modified: str | None,
        body_hash: str,
        next_fetch: float,
    ) -> StoredCounts:
        """Upsert a parsed feed's articles; raises FeedRemoved if the feed is gone meanwhile."""
        now = time.time()
        new = updated = 0
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE feeds SET title = CASE WHEN title_locked THEN title "
                "ELSE COALESCE(?, title) END, site_url = COALESCE(?, site_url), "
                "etag = ?, last_modified = ?, body_hash = ?, last_fetch = ?, last_success = ?, "
                "next_fetch = ?, error = ?, failures = 0, gone = 0 WHERE id = ?",
                (
                    parsed.title or None,
                    parsed.site_url,
                    etag,
                    last_modified,
                    body_hash,
                    now,
                    now,
                    next_fetch,
                    parsed.warning and f"feed is not well-formed: {parsed.warning}",
                    feed_id,
                ),
            )
            if cursor.rowcount == 0:
                # Unsubscribed while it was being fetched (another process, or the user).
                raise FeedRemoved(feed_id)
            existing = {
                row[0]: (row[1], row[2], tuple(row[3:]))
                for row in self.db.execute(
                    "SELECT guid, id, body_hash, comments_page, comments_feed, comments_api, "
                    "comment_count FROM articles WHERE feed_id = ?",
                    (feed_id,),
                )
            }
            seen: set[str] = set()
            for entry in parsed.entries:
                if entry.guid in seen:
                    continue
                seen.add(entry.guid)
                digest = entry.body_hash
                meta = entry.comments
                old = existing.get(entry.guid)
                if old is None:
                    self.db.execute(
                        "INSERT INTO articles (feed_id, guid, link, title, author, published, "
                        "updated, sort_key, summary, content, body_hash, comments_page, "
                        "comments_feed, comments_api, comment_count, fetched) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            feed_id,
                            entry.guid,
                            entry.link,
                            entry.title,
                            entry.author,
                            entry.published,
                            entry.updated,
                            _sort_key(entry, now),
                            entry.summary,
                            entry.content,
                            digest,
                            meta.page_url,
                            meta.feed_url,
                            meta.api_url,
                            meta.count,
                            now,
                        ),
                    )
                    new += 1
                    if entry.enclosures:
                        self._put_enclosures(self._last_id(), entry.enclosures, replace=False)
                    continue
                article_id, old_hash, old_meta = old
                if entry.enclosures or old_hash != digest:
                    self._put_enclosures(article_id, entry.enclosures, replace=True)
                if old_hash != digest:
                    self._fts_delete([article_id])  # re-indexed later, with the new text
                    self.db.execute(
                        "UPDATE articles SET link = ?, title = ?, author = ?, published = ?, "
                        "updated = ?, summary = ?, content = ?, body_hash = ?, indexed = 0 "
                        "WHERE id = ?",
                        (
                            entry.link,
                            entry.title,
                            entry.author,
                            entry.published,
                            entry.updated,
                            entry.summary,
                            entry.content,
                            digest,
                            article_id,
                        ),
                    )
                    updated += 1
                # Comment metadata changes without the body changing (counts go up); written
                # only when it did change, as a changed feed repeats most of its entries.
                new_meta = (meta.page_url, meta.feed_url, meta.api_url, meta.count)
                if new_meta != old_meta:
                    self.db.execute(
                        "UPDATE articles SET comments_page = ?, comments_feed = ?, "
                        "comments_api = ?, comment_count = ? WHERE id = ?",
                        (*new_meta, article_id),
                    )
        return StoredCounts(new, updated)

    def _last_id(self) -> int:
        return int(self.db.execute("SELECT last_insert_rowid()").fetchone()[0])

    def _put_enclosures(
        self, article_id: int, enclosures: Sequence[Enclosure], *, replace: bool
    ) -> None:
        if replace:
            self.db.execute("DELETE FROM enclosures WHERE article_id = ?", (article_id,))
        self.db.executemany(
            "INSERT INTO enclosures (article_id, position, url, type, length, duration, title) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (article_id, n, e.url, e.type, e.length, e.duration, e.title)
                for n, e in enumerate(enclosures)
            ],
        )

    def enclosures(self, article_id: int) -> list[Enclosure]:
        """The files attached to a post, in the feed's order."""
        return [
            Enclosure(row[0], row[1], row[2], row[3], row[4])
            for row in self.db.execute(
                "SELECT url, type, length, duration, title FROM enclosures "
                "WHERE article_id = ? ORDER BY position",
                (article_id,),
            )
        ]

    def pending_index(self) -> int:
        """How many articles are not in the search index yet."""
        return int(self.db.execute("SELECT COUNT(*) FROM articles WHERE indexed = 0").fetchone()[0])

    def index_pending(self, batch: int = 500) -> int:
        """Add new and changed articles to the search index; returns how many.

        A refresh only stores articles: indexing their text is most of the cost of storing
        them, so it runs afterwards (in the background in the app and on a host) and, at
        the latest, before a search.
        """
        done = 0
        while True:
            with self.transaction():
                rows = self.db.execute(
                    "SELECT id, title, author, summary, content, extracted FROM articles "
                    "WHERE indexed = 0 LIMIT ?",
                    (batch,),
                ).fetchall()
                if not rows:
                    return done
                self.db.executemany(
                    "INSERT INTO articles_fts (rowid, title, author, summary, content) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [_fts_values(*row) for row in rows],
                )
                self.db.executemany(
                    "UPDATE articles SET indexed = 1 WHERE id = ?", [(row[0],) for row in rows]
                )
            done += len(rows)

    def _fts_delete(self, article_ids: Iterable[int]) -> None:
        # A contentless FTS5 table forgets a row only when given the exact values it indexed,
        # so they are recomputed from the article row before it changes.
        for article_id in article_ids:
            row = self.db.execute(
                "SELECT title, author, summary, content, extracted FROM articles "
                "WHERE id = ? AND indexed = 1",
                (article_id,),
            ).fetchone()
            if row is None:
                continue  # never indexed: nothing to forget
            self.db.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, author, summary, content) "
                "VALUES ('delete', ?, ?, ?, ?, ?)",
                _fts_values(article_id, *row),
            )

    # -- article lists -----------------------------------------------------------

    def _where(self, query: ArticleQuery) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if query.feed_id is not None:
            clauses.append("a.feed_id = ?")
            params.append(query.feed_id)
        if query.tag is not None:
            clauses.append(
                "a.feed_id IN (SELECT f.id FROM feeds f, json_each(f.tags) t WHERE t.value = ?)"
            )
            params.append(query.tag)
        if query.unread_only:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM article_state s WHERE s.identity = ? "
                "AND s.article_id = a.id AND s.read = 1)"
            )
            params.append(self.identity)
        if query.starred_only:
            clauses.append(
                "a.id IN (SELECT article_id FROM article_state WHERE identity = ? AND starred = 1)"
            )
            params.append(self.identity)
        if query.search:
            clauses.append("a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(fts_query(query.search))
        if query.feed_name is not None:
            clauses.append(
                "a.feed_id IN (SELECT id FROM feeds WHERE instr(lower(COALESCE(title, '')), ?) "
                "OR instr(lower(url), ?))"
            )
            params += [query.feed_name.lower()] * 2
        if query.author is not None:
            clauses.append("instr(lower(COALESCE(a.author, '')), ?)")
            params.append(query.author.lower())
        if query.since is not None:
            clauses.append("a.sort_key >= ?")
            params.append(query.since)
        if query.before is not None:
            clauses.append("a.sort_key < ?")
            params.append(query.before)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _list_sql(self, query: ArticleQuery) -> tuple[str, list[object]]:
        if query.search:
            # Usually done already, in the background. On a full disk (or a read-only file)
            # the search answers from what is indexed instead of failing.
            with suppress(StoreFull, StoreDamaged, StoreReadOnly):
                self.index_pending()
        where, params = self._where(query)
        source = "articles a"
        if query.search and self._search_matches(query.search) > BROAD_SEARCH:
            # A word found in most articles: walking the time index and testing each row
            # beats looking up and sorting tens of thousands of matches (~70 ms vs ~1 s
            # at 100k). Narrow searches are fastest the other way round.
            index = "articles_by_feed_time" if query.feed_id is not None else "articles_by_time"
            source = f"articles a INDEXED BY {index}"
        return f"SELECT a.id FROM {source}{where} ORDER BY a.sort_key DESC, a.id DESC", params

    def _search_matches(self, text: str) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH ?", (fts_query(text),)
            ).fetchone()[0]
        )

    def article_ids(self, query: ArticleQuery) -> array[int]:
        """The ordered ids of a list (newest first): 8 bytes a row, never row objects."""
        sql, params = self._list_sql(query)
        ids: array[int] = array("q")
        cursor = self.db.cursor()
        cursor.row_factory = None  # plain tuples: half the cost of sqlite3.Row at 100k rows
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(8192):
                ids.extend(r[0] for r in rows)
        except sqlite3.DatabaseError as exc:
            raise store_problem(self.path, exc) or exc from exc
        return ids

    @contextmanager
    def cancellable(self, cancelled: Callable[[], bool]) -> Iterator[None]:
        """Statements run meanwhile stop with SearchCancelled once `cancelled()` is true.

        SQLite asks every few thousand steps, so a cancel from another thread takes effect
        within a millisecond or so, whatever the query.
        """
        self.db.set_progress_handler(lambda: int(cancelled()), 1000)
        try:
            yield
        finally:
            self.db.set_progress_handler(None, 0)

    def first_article_ids(self, query: ArticleQuery, limit: int) -> list[int]:
        sql, params = self._list_sql(query)
        return [r[0] for r in self.db.execute(f"{sql} LIMIT ?", [*params, limit])]

    def articles(self, ids: Sequence[int]) -> dict[int, Article]:
        """List rows for the given ids (a visible page)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT a.id, a.feed_id, COALESCE(f.title, f.url) AS feed_title, a.title, a.link, "
            "a.author, a.published, a.comment_count, "
            f"{_OUTSIDE_COUNT} AS outside_comments, "
            "COALESCE(s.read, 0) AS read, COALESCE(s.starred, 0) AS starred "
            "FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "LEFT JOIN article_state s ON s.article_id = a.id AND s.identity = ? "
            f"WHERE a.id IN ({marks})",
            [self.identity, *ids],
        ).fetchall()
        return {
            row["id"]: Article(
                id=row["id"],
                feed_id=row["feed_id"],
                feed_title=row["feed_title"],
                title=row["title"],
                link=row["link"],
                author=row["author"],
                published=row["published"],
                read=bool(row["read"]),
                starred=bool(row["starred"]),
                comment_count=row["comment_count"],
                outside_comments=row["outside_comments"],
            )
            for row in rows
        }

    def article(self, article_id: int) -> ArticleDetail | None:
        row = self.db.execute(
            "SELECT a.*, COALESCE(f.title, f.url) AS feed_title, f.url AS feed_url, "
            f"{_OUTSIDE_COUNT} AS outside_comments, "
            "COALESCE(s.read, 0) AS is_read, COALESCE(s.starred, 0) AS is_starred "
            "FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "LEFT JOIN article_state s ON s.article_id = a.id AND s.identity = ? "
            "WHERE a.id = ?",
            (self.identity, article_id),
        ).fetchone()
        if row is None:
            return None
        return ArticleDetail(
            id=row["id"],
            feed_id=row["feed_id"],
            feed_title=row["feed_title"],
            feed_url=row["feed_url"],
            guid=row["guid"],
            title=row["title"],
            link=row["link"],
            author=row["author"],
            published=row["published"],
            updated=row["updated"],
            summary=row["summary"],
            content=row["content"],
            comments=CommentMeta(
                page_url=row["comments_page"],
                feed_url=row["comments_feed"],
                api_url=row["comments_api"],
                count=row["comment_count"],
            ),
            read=bool(row["is_read"]),
            starred=bool(row["is_starred"]),
            extracted=row["extracted"],
            extract_error=row["extract_error"],
            enclosures=self.enclosures(article_id),
            outside_comments=row["outside_comments"],
        )

    def set_extracted(self, article_id: int, html: str) -> None:
        """Keep the article extracted from the post's page; it is searched from now on."""
        with self.transaction():
            self._fts_delete([article_id])  # re-indexed with the new text (index_pending)
            self.db.execute(
                "UPDATE articles SET extracted = ?, extracted_at = ?, extract_error = NULL, "
                "indexed = 0 WHERE id = ?",
                (html, time.time(), article_id),
            )

    def set_extract_failed(self, article_id: int, reason: str) -> None:
        """A refresh could not get the post's full article: noted, and not tried again."""
        with self.transaction():
            self.db.execute(
                "UPDATE articles SET extract_error = ?, extracted_at = ? "
                "WHERE id = ? AND extracted IS NULL",
                (clean_line(reason, 300), time.time(), article_id),
            )

    def to_extract(self, feed_id: int, since: float, limit: int) -> list[tuple[int, str]]:
        """(id, link) of the feed's posts stored since `since` that have no full article
        and were never tried, newest first."""
        rows = self.db.execute(
            "SELECT id, link FROM articles WHERE feed_id = ? AND fetched >= ? "
            "AND extracted_at IS NULL AND link LIKE 'http%' ORDER BY id DESC LIMIT ?",
            (feed_id, since, limit),
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    def count(self, query: ArticleQuery) -> int:
        """How many articles a list holds (a saved search's unread count)."""
        if query.search:
            with suppress(StoreFull, StoreDamaged, StoreReadOnly):
                self.index_pending()
        where, params = self._where(query)
        return int(self.db.execute(f"SELECT COUNT(*) FROM articles a{where}", params).fetchone()[0])

    def mark_new_read(self, feed_id: int, guids: Sequence[str]) -> None:
        """The killfile's "read": posts nobody has touched yet become read (a post someone
        marked unread again stays unread)."""
        now = time.time()
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO article_state (identity, article_id, read, changed) "
                "SELECT ?, id, 1, ? FROM articles WHERE feed_id = ? AND guid = ?",
                [(self.identity, now, feed_id, guid) for guid in guids],
            )

    def set_read(self, article_ids: Sequence[int], read: bool) -> None:
        now = time.time()
        with self.transaction():
            self.db.executemany(
                "INSERT INTO article_state (identity, article_id, read, changed) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (identity, article_id) "
                "DO UPDATE SET read = excluded.read, changed = excluded.changed",
                [(self.identity, a, int(read), now) for a in article_ids],
            )

    def mark_query_read(self, query: ArticleQuery) -> int:
        where, params = self._where(query)
        now = time.time()
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO article_state (identity, article_id, read, changed) "
                # "WHERE" keeps SQLite from reading ON CONFLICT as a join constraint.
                f"SELECT ?, a.id, 1, ? FROM articles a{where or ' WHERE true'} "
                "ON CONFLICT (identity, article_id) "
                "DO UPDATE SET read = 1, changed = excluded.changed",
                [self.identity, now, *params],
            )
        return cursor.rowcount

    def set_starred(self, article_id: int, starred: bool) -> None:
        self.db.execute(
            "INSERT INTO article_state (identity, article_id, starred, changed) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (identity, article_id) "
            "DO UPDATE SET starred = excluded.starred, changed = excluded.changed",
            (self.identity, article_id, int(starred), time.time()),
        )

    def unread_total(self) -> int:
        total = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        read = self.db.execute(
            "SELECT COUNT(*) FROM article_state WHERE identity = ? AND read = 1", (self.identity,)
        ).fetchone()[0]
        return int(total - read)

    def starred_total(self) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM article_state WHERE identity = ? AND starred = 1",
                (self.identity,),
            ).fetchone()[0]
        )

    # -- comments --------------------------------------------------------------------

    def replace_comments(self, article_id: int, source: str, comments: Sequence[Comment]) -> None:
        now = time.time()
        with self.transaction():
            self.db.execute(
                "DELETE FROM comments WHERE article_id = ? AND source = ?", (article_id, source)
            )
            self.db.executemany(
                _INSERT_COMMENT, [_comment_row(article_id, c, now) for c in comments]
            )

    def add_comment(self, article_id: int, comment: Comment) -> None:
        self.db.execute(_INSERT_COMMENT, _comment_row(article_id, comment, time.time()))

    def cached_comments(self, article_id: int) -> list[Comment]:
        rows = self.db.execute(
            "SELECT * FROM comments WHERE article_id = ? ORDER BY COALESCE(published, 0), id",
            (article_id,),
        ).fetchall()
        return [
            Comment(
                source=r["source"],
                remote_id=r["remote_id"],
                parent_id=r["parent_id"],
                author=r["author"],
                author_url=r["author_url"],
                published=r["published"],
                content_html=r["content"],
                link=r["link"],
                status=CommentStatus(r["status"]),
            )
            for r in rows
        ]

    def board_post(
        self, article_id: int, identity: str, body: str, parent_id: str | None = None
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO board (article_id, parent_id, identity, body, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (article_id, parent_id, identity, body, time.time()),
        )
        return int(cursor.lastrowid or 0)

    def board_comments(self, article_id: int) -> list[Comment]:
        rows = self.db.execute(
            "SELECT * FROM board WHERE article_id = ? ORDER BY created, id", (article_id,)
        ).fetchall()
        return [
            Comment(
                source="board",
                remote_id=str(r["id"]),
                parent_id=r["parent_id"],
                author=f"@{r['identity']}",
                author_url=None,
                published=r["created"],
                content_html=r["body"],
            )
            for r in rows
        ]

    def recent_board_posts(self, identity: str, since: float) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM board WHERE identity = ? AND created >= ?", (identity, since)
            ).fetchone()[0]
        )

    # -- drafts and outbox ---------------------------------------------------------

    def save_draft(self, draft: Draft) -> None:
        self.db.execute(
            "INSERT INTO drafts (article_id, identity, body, author, email, url, parent_id, "
            "target, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (article_id, identity) DO UPDATE SET body = excluded.body, "
            "author = excluded.author, email = excluded.email, url = excluded.url, "
            "parent_id = excluded.parent_id, target = excluded.target, updated = excluded.updated",
            (
                draft.article_id,
                draft.identity,
                draft.body,
                draft.author,
                draft.email,
                draft.url,
                draft.parent_id,
                draft.target,
                draft.updated or time.time(),
            ),
        )

    def draft(self, article_id: int, identity: str) -> Draft | None:
        row = self.db.execute(
            "SELECT * FROM drafts WHERE article_id = ? AND identity = ?", (article_id, identity)
        ).fetchone()
        return _draft(row) if row else None

    def drafts(self, identity: str) -> list[Draft]:
        rows = self.db.execute(
            "SELECT * FROM drafts WHERE identity = ? ORDER BY updated DESC", (identity,)
        ).fetchall()
        return [_draft(r) for r in rows]

    def delete_draft(self, article_id: int, identity: str) -> None:
        self.db.execute(
            "DELETE FROM drafts WHERE article_id = ? AND identity = ?", (article_id, identity)
        )

    def outbox_add(
        self, article_id: int, identity: str, target: str, payload: dict[str, Any]
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO outbox (article_id, identity, target, payload, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (article_id, identity, target, json.dumps(payload), time.time()),
        )
        return int(cursor.lastrowid or 0)

    def outbox(self, identity: str | None = None, *, states: Sequence[str] = ()) -> list[OutboxRow]:
        sql = "SELECT * FROM outbox"
        clauses: list[str] = []
        params: list[object] = []
        if identity is not None:
            clauses.append("identity = ?")
            params.append(identity)
        if states:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            params.extend(states)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = self.db.execute(sql + " ORDER BY created, id", params).fetchall()
        return [_outbox_row(r) for r in rows]

    def outbox_claim(self, item_id: int, seconds: float) -> bool:
        """Lease an outbox item so two processes never send the same comment."""
        now = time.time()
        cursor = self.db.execute(
            "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_until < ? "
            "AND state = 'pending'",
            (now + seconds, item_id, now),
        )
        return cursor.rowcount == 1

    def outbox_lease(
        self, item_id: int, seconds: float, states: Sequence[str] = ("pending",)
    ) -> float | None:
        """Lease a waiting outbox item; returns the lease's end (the token to renew it)."""
        now = time.time()
        until = now + seconds
        marks = ",".join("?" * len(states))
        cursor = self.db.execute(
            f"UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_until < ? "
            f"AND state IN ({marks})",
            (until, item_id, now, *states),
        )
        return until if cursor.rowcount == 1 else None

    def outbox_renew(self, item_id: int, lease: float, seconds: float) -> float | None:
        """Extend a lease still held (its end unchanged since `lease`); the new end or None."""
        until = max(time.time() + seconds, lease + 0.001)
        cursor = self.db.execute(
            "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_until = ?",
            (until, item_id, lease),
        )
        return until if cursor.rowcount == 1 else None

    def outbox_lease_until(self, item_id: int) -> float | None:
        row = self.db.execute("SELECT lease_until FROM outbox WHERE id = ?", (item_id,)).fetchone()
        return float(row[0]) if row else None

    def identity_count(self) -> int:
        """How many people have left a trace in this database (read state, board, drafts)."""
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM (SELECT identity FROM article_state UNION "
                "SELECT identity FROM board UNION SELECT identity FROM drafts UNION "
                "SELECT identity FROM outbox)"
            ).fetchone()[0]
        )

    def outbox_update(
        self,
        item_id: int,
        *,
        state: str,
        error: str | None = None,
        next_attempt: float = 0,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.db.execute(
            "UPDATE outbox SET state = ?, last_error = ?, attempts = attempts + 1, "
            "next_attempt = ?, lease_until = 0, payload = COALESCE(?, payload) WHERE id = ?",
            (state, error, next_attempt, json.dumps(payload) if payload else None, item_id),
        )

    def outbox_delete(self, item_id: int) -> None:
        self.db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    # -- the comment inbox: your comments, replies to them, checked threads ---------------

    def add_my_comment(self, mine: MyComment) -> int:
        """Remember a comment you posted (again: its row is kept, the id returned)."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO my_comments (identity, article_id, kind, thread_url, remote_id, "
                "link, body, posted) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    mine.identity,
                    mine.article_id,
                    mine.kind,
                    mine.thread_url,
                    mine.remote_id,
                    mine.link,
                    mine.body,
                    mine.posted,
                ),
            )
            row = self.db.execute(
                "SELECT id FROM my_comments WHERE identity = ? AND kind = ? AND article_id = ? "
                "AND remote_id = ?",
                (mine.identity, mine.kind, mine.article_id, mine.remote_id),
            ).fetchone()
        return int(row[0])

    def my_comments(
        self, *, identity: str | None = None, since: float = 0.0, article_id: int | None = None
    ) -> list[MyComment]:
        """Your comments posted at or after `since` (every identity's without `identity`),
        the longest unchecked first."""
        sql = "SELECT * FROM my_comments WHERE posted >= ?"
        args: list[object] = [since]
        if identity is not None:
            sql += " AND identity = ?"
            args.append(identity)
        if article_id is not None:
            sql += " AND article_id = ?"
            args.append(article_id)
        rows = self.db.execute(sql + " ORDER BY checked, posted, id", args).fetchall()
        return [
            MyComment(
                id=r["id"],
                identity=r["identity"],
                article_id=r["article_id"],
                kind=r["kind"],
                thread_url=r["thread_url"],
                remote_id=r["remote_id"],
                link=r["link"],
                body=r["body"],
                posted=r["posted"],
                checked=r["checked"],
                validator=r["validator"],
            )
            for r in rows
        ]

    def has_my_comments(self, identity: str | None = None) -> bool:
        """Whether this identity (anyone, without one) has posted a comment remembered here."""
        if identity is None:
            row = self.db.execute("SELECT 1 FROM my_comments LIMIT 1").fetchone()
        else:
            row = self.db.execute(
                "SELECT 1 FROM my_comments WHERE identity = ? LIMIT 1", (identity,)
            ).fetchone()
        return row is not None

    def my_comment_checked(
        self, ids: Sequence[int], when: float, validator: str | None = None
    ) -> None:
        self.db.executemany(
            "UPDATE my_comments SET checked = ?, validator = COALESCE(?, validator) WHERE id = ?",
            [(when, validator, i) for i in ids],
        )

    def my_comment_found(self, my_id: int, remote_id: str, link: str | None) -> None:
        """The site's own id for a comment first remembered without one."""
        self.db.execute(
            "UPDATE OR IGNORE my_comments SET remote_id = ?, link = COALESCE(link, ?) WHERE id = ?",
            (remote_id, link, my_id),
        )

    def add_replies(self, replies: Sequence[tuple[int, Reply]]) -> int:
        """Store replies found to your comments ((my comment id, reply) pairs); returns how
        many were new. A reply already known keeps its read state."""
        added = 0
        with self.transaction():
            for my_id, reply in replies:
                cursor = self.db.execute(
                    "INSERT INTO replies (identity, article_id, my_comment, source, remote_id, "
                    "author, published, first_line, link, found) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        reply.identity,
                        reply.article_id,
                        my_id,
                        reply.source,
                        reply.remote_id,
                        reply.author,
                        reply.published,
                        reply.first_line,
                        reply.link,
                        reply.found,
                    ),
                )
                added += cursor.rowcount
        return added

    def replies(self, identity: str, limit: int = 500) -> list[Reply]:
        """Replies to this identity's comments, unread first, newest first."""
        rows = self.db.execute(
            "SELECT r.*, a.title AS article_title FROM replies r "
            "JOIN articles a ON a.id = r.article_id WHERE r.identity = ? "
            "ORDER BY r.read, COALESCE(r.published, r.found) DESC, r.id DESC LIMIT ?",
            (identity, limit),
        ).fetchall()
        return [
            Reply(
                id=r["id"],
                identity=r["identity"],
                article_id=r["article_id"],
                article_title=r["article_title"],
                source=r["source"],
                remote_id=r["remote_id"],
                author=r["author"],
                published=r["published"],
                first_line=r["first_line"],
                link=r["link"],
                found=r["found"],
                read=bool(r["read"]),
            )
            for r in rows
        ]

    def unread_replies(self, identity: str) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM replies WHERE identity = ? AND read = 0", (identity,)
            ).fetchone()[0]
        )

    def set_reply_read(self, identity: str, reply_id: int, read: bool = True) -> None:
        self.db.execute(
            "UPDATE replies SET read = ? WHERE id = ? AND identity = ?",
            (int(read), reply_id, identity),
        )

    def cached_response(self, url: str) -> CachedResponse | None:
        row = self.db.execute("SELECT * FROM thread_cache WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        try:
            headers = [(str(k), str(v)) for k, v in json.loads(row["headers"])]
        except (ValueError, TypeError):
            return None
        return CachedResponse(url, row["etag"], row["last_modified"], headers, bytes(row["body"]))

    def keep_response(self, response: CachedResponse, when: float) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO thread_cache (url, etag, last_modified, headers, body, used) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                response.url,
                response.etag,
                response.last_modified,
                json.dumps(response.headers),
                response.body,
                when,
            ),
        )

    def response_used(self, url: str, when: float) -> None:
        self.db.execute("UPDATE thread_cache SET used = ? WHERE url = ?", (when, url))

    def forget_responses(self, before: float) -> None:
        """Responses no check has used since `before` (their threads are no longer watched)."""
        self.db.execute("DELETE FROM thread_cache WHERE used < ?", (before,))


_INSERT_COMMENT = (
    "INSERT OR REPLACE INTO comments (article_id, source, remote_id, parent_id, author, "
    "author_url, published, content, link, status, fetched) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _comment_row(article_id: int, c: Comment, now: float) -> tuple[object, ...]:
    return (
        article_id,
        c.source,
        c.remote_id,
        c.parent_id,
        c.author,
        c.author_url,
        c.published,
        c.content_html,
        c.link,
        c.status.value,
        now,
    )


def _draft(row: sqlite3.Row) -> Draft:
    return Draft(
        article_id=row["article_id"],
        identity=row["identity"],
        body=row["body"],
        author=row["author"],
        email=row["email"],
        url=row["url"],
        parent_id=row["parent_id"],
        target=row["target"],
        updated=row["updated"],
    )


def _outbox_row(row: sqlite3.Row) -> OutboxRow:
    payload = json.loads(row["payload"])
    return OutboxRow(
        id=row["id"],
        article_id=row["article_id"],
        identity=row["identity"],
        target=row["target"],
        payload=payload if isinstance(payload, dict) else {},
        attempts=row["attempts"],
        next_attempt=row["next_attempt"],
        last_error=row["last_error"],
        state=row["state"],
        created=row["created"],
        lease_until=row["lease_until"],
    )


def _fts_values(
    article_id: int,
    title: str,
    author: str | None,
    summary: str | None,
    content: str | None,
    extracted: str | None = None,
) -> tuple[int, str, str, str, str]:
    body = _strip_tags(content)
    if extracted:  # the full article joins the content column: one index, one query
        body = f"{body} {_strip_tags(extracted)}"
    return article_id, title, author or "", _strip_tags(summary), body


def _split_sql(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _strip_tags(html: str | None) -> str:
    if not html:
        return ""
    return strip_tags(html)


def fts_query(text: str) -> str:
    """User words -> an FTS5 query: every word must match (prefix match on the last).

    At most SEARCH_MAX_CHARS characters and SEARCH_MAX_WORDS words count: each word is a
    lookup, and a pasted page of text took tens of seconds to match.
    """
    text = text[:SEARCH_MAX_CHARS]
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    words = words[:SEARCH_MAX_WORDS]
    if not words:
        return '""'
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)
