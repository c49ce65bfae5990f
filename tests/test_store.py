"""The SQLite store: schema, upserts, state, search, leases, sharing between processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from termnews.model import ArticleQuery, CommentMeta, ParsedEntry, ParsedFeed
from termnews.store import SCHEMA_VERSION, Store, StoreError

ROOT = Path(__file__).resolve().parents[1]


def entry(n: int, *, title: str | None = None, content: str = "<p>body</p>") -> ParsedEntry:
    return ParsedEntry(
        guid=f"guid-{n}",
        link=f"http://example.org/{n}",
        title=title or f"Post {n}",
        author="Ada",
        published=1_700_000_000.0 + n * 60,
        updated=None,
        summary=f"<p>summary {n}</p>",
        content=content,
        comments=CommentMeta(count=n),
    )


def store_entries(
    store: Store, feed_id: int, entries: list[ParsedEntry], digest: str = "h"
) -> tuple[int, int]:
    counts = store.store_feed(
        feed_id,
        ParsedFeed(title="A feed", site_url="http://example.org/", entries=entries),
        etag='"e"',
        last_modified=None,
        body_hash=digest,
        next_fetch=time.time() + 60,
    )
    return counts.new, counts.updated


def test_schema_is_versioned_and_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    # Opening again migrates nothing and keeps data.
    Store(tmp_path / "db.sqlite").close()


def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer termnews"):
        Store(path)


def test_has_feeds_follows_subscribing_and_removing(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    assert not store.has_feeds()
    feed = store.add_feed("http://example.org/feed")
    assert store.has_feeds()
    store.remove_feed(feed.id)
    assert not store.has_feeds()


def test_upsert_by_guid_updates_changed_articles_and_keeps_read_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    feed = store.add_feed("http://example.org/feed", tags=["news"])
    assert store_entries(store, feed.id, [entry(1), entry(2)]) == (2, 0)
    first = store.article_ids(ArticleQuery(feed_id=feed.id))
    store.set_read([first[0]], True)
    # Same guids, one changed: updated in place, not duplicated; read state survives.
    assert store_entries(store, feed.id, [entry(1), entry(2, title="Post 2, corrected")]) == (0, 1)
    ids = store.article_ids(ArticleQuery(feed_id=feed.id))
    assert list(ids) == list(first)
    assert store.article(ids[0]).title == "Post 2, corrected"  # newest first
    assert store.article(first[0]).read
    assert store.feed(feed.id).unread == 1


def test_comment_metadata_follows_the_feed_when_the_body_is_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    feed = store.add_feed("http://example.org/feed")
    store_entries(store, feed.id, [entry(1), entry(2)])
    ids = {store.article(i).guid: i for i in store.article_ids(ArticleQuery(feed_id=feed.id))}
    changes_before = store.db.total_changes
    # The same entries again: nothing to write but the feed row.
    assert store_entries(store, feed.id, [entry(1), entry(2)]) == (0, 0)
    assert store.db.total_changes - changes_before == 1
    # More comments and a replies feed on one post, body unchanged: not an update, but stored.
    busier = entry(2)
    busier.comments = CommentMeta(feed_url="http://example.org/2/comments/feed", count=7)
    assert store_entries(store, feed.id, [entry(1), busier]) == (0, 0)
    assert store.article(ids["guid-2"]).comments == busier.comments
    assert store.article(ids["guid-1"]).comments == CommentMeta(count=1)


def test_lists_are_newest_first_and_filter_by_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    a = store.add_feed("http://a.example/feed", tags=["x"])
    b = store.add_feed("http://b.example/feed")
    store_entries(store, a.id, [entry(n) for n in range(5)])
    store_entries(store, b.id, [entry(n + 10) for n in range(3)])
    all_ids = store.article_ids(ArticleQuery())
    published = [store.article(i).published for i in all_ids]
    assert published == sorted(published, reverse=True)
    assert len(store.article_ids(ArticleQuery(tag="x"))) == 5
    store.set_read(list(all_ids[:2]), True)
    assert len(store.article_ids(ArticleQuery(unread_only=True))) == 6
    store.set_starred(all_ids[3], True)
    assert list(store.article_ids(ArticleQuery(starred_only=True))) == [all_ids[3]]
    assert store.mark_query_read(ArticleQuery(feed_id=b.id)) >= 1
    assert store.feed(b.id).unread == 0


def test_read_state_is_per_identity(tmp_path: Path) -> None:
    ada = Store(tmp_path / "db.sqlite", identity="ada")
    bob = Store(tmp_path / "db.sqlite", identity="bob")
    feed = ada.add_feed("http://example.org/feed")
    store_entries(ada, feed.id, [entry(1)])
    article_id = ada.article_ids(ArticleQuery())[0]
    ada.set_read([article_id], True)
    assert ada.article(article_id).read
    assert not bob.article(article_id).read


def test_full_text_search_follows_updates_and_removal(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    feed = store.add_feed("http://example.org/feed")
    store_entries(store, feed.id, [entry(1, content="<p>The lighthouse keeper</p>"), entry(2)])
    assert len(store.article_ids(ArticleQuery(search="lighthouse"))) == 1
    assert len(store.article_ids(ArticleQuery(search="lightho"))) == 1  # prefix of last word
    store_entries(store, feed.id, [entry(1, content="<p>The harbour master</p>"), entry(2)], "h2")
    assert len(store.article_ids(ArticleQuery(search="lighthouse"))) == 0
    assert len(store.article_ids(ArticleQuery(search="harbour"))) == 1
    assert len(store.article_ids(ArticleQuery(search='"; DROP TABLE --'))) == 0  # quoted safely
    store.remove_feed(feed.id)
    assert len(store.article_ids(ArticleQuery(search="harbour"))) == 0


def test_refresh_lease_is_exclusive_until_released_or_expired(tmp_path: Path) -> None:
    one = Store(tmp_path / "db.sqlite")
    two = Store(tmp_path / "db.sqlite")
    feed = one.add_feed("http://example.org/feed")
    assert one.try_lease(feed.id, "one", 60)
    assert not two.try_lease(feed.id, "two", 60)
    one.release_lease(feed.id, "one")
    assert two.try_lease(feed.id, "two", 0.01)
    time.sleep(0.05)
    assert one.try_lease(feed.id, "one", 60)


WORKER = """
import sys, time
from termnews.store import Store
from termnews.model import ArticleQuery, ParsedEntry, ParsedFeed, CommentMeta
path, worker = sys.argv[1], int(sys.argv[2])
store = Store(path, identity=f"user{worker}")
feed = store.add_feed("http://example.org/shared")
for round in range(20):
    entries = [ParsedEntry(guid=f"w{worker}-r{round}-{n}", link=None, title=f"t{n}", author=None,
               published=time.time(), updated=None, summary=None, content=None,
               comments=CommentMeta()) for n in range(5)]
    store.store_feed(feed.id, ParsedFeed(title=None, site_url=None, entries=entries),
                     etag=None, last_modified=None, body_hash=f"{worker}-{round}", next_fetch=0)
    ids = store.article_ids(ArticleQuery())
    store.set_read(list(ids[:10]), True)
    store.feeds()
print("ok")
"""


def test_eight_processes_write_and_read_one_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Store(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err
        assert out.strip() == "ok"
    store = Store(path)
    # Every write landed: 8 workers x 20 rounds x 5 articles, none lost or doubled.
    assert len(store.article_ids(ArticleQuery())) == 8 * 20 * 5
    for n in range(8):
        assert Store(path, identity=f"user{n}").unread_total() < 8 * 20 * 5


def test_search_index_is_built_after_storing_and_before_any_search(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    feed = store.add_feed("http://example.org/feed")
    store_entries(store, feed.id, [entry(1, content="<p>a kelp forest</p>"), entry(2)])
    assert store.pending_index() == 2  # storing did not index
    assert store.index_pending() == 2
    assert store.pending_index() == 0
    assert len(store.article_ids(ArticleQuery(search="kelp"))) == 1
    store_entries(store, feed.id, [entry(1, content="<p>a seagrass meadow</p>"), entry(2)], "h2")
    assert store.pending_index() == 1  # the changed article waits to be re-indexed
    assert len(store.article_ids(ArticleQuery(search="seagrass"))) == 1  # search indexes first
    assert len(store.article_ids(ArticleQuery(search="kelp"))) == 0


def test_a_version_1_database_is_migrated_forward_and_keeps_its_data(tmp_path: Path) -> None:
    from termnews.store import MIGRATIONS, _split_sql

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # what the first release wrote
        for statement in _split_sql(MIGRATIONS[0]):
            db.execute(statement)
        db.execute("INSERT INTO feeds (url, added) VALUES ('http://example.org/feed', 0)")
        db.execute(
            "INSERT INTO articles (feed_id, guid, title, sort_key, body_hash, fetched, content) "
            "VALUES (1, 'g', 'Old post', 0, 'h', 0, '<p>barnacles</p>')"
        )
        db.execute("PRAGMA user_version = 1")
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.pending_index() == 1
    assert len(store.article_ids(ArticleQuery(search="barnacles"))) == 1
