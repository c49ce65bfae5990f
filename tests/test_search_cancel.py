"""Searches are capped and can be stopped from another thread (real SQLite files)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from termnews.config import Paths, Settings
from termnews.model import SEARCH_MAX_WORDS, ArticleQuery, ParsedEntry, ParsedFeed
from termnews.service import NewsService, SearchCancelled
from termnews.store import Store, fts_query


def fill(store: Store, n: int) -> None:
    feed = store.add_feed("http://example.org/feed")
    entries = [
        ParsedEntry(f"urn:{i}", None, f"Harbour light {i}", None, i, None, "keeper text", None)
        for i in range(n)
    ]
    parsed = ParsedFeed("Feed", None, entries)
    store.store_feed(feed.id, parsed, etag=None, last_modified=None, body_hash="h", next_fetch=0)
    store.index_pending()


def test_a_pasted_page_is_cut_to_a_few_words(tmp_path: Path) -> None:
    pasted = "harbour light keeper " * 800  # ~17 KB
    assert fts_query(pasted).count('"') == 2 * SEARCH_MAX_WORDS
    store = Store(tmp_path / "db.sqlite")
    fill(store, 50)
    started = time.perf_counter()
    assert len(store.article_ids(ArticleQuery(search=pasted))) == 50
    assert time.perf_counter() - started < 1.0
    store.close()


def test_a_cancellable_statement_stops_when_told(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    fill(store, 300)
    with store.cancellable(lambda: True), pytest.raises(SearchCancelled):
        store.article_ids(ArticleQuery(search="harbour"))
    # The connection is fine afterwards, and outside `cancellable` nothing is stopped.
    assert len(store.article_ids(ArticleQuery(search="harbour"))) == 300
    store.close()


def test_cancel_search_from_another_thread_stops_a_superseded_search(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "config.toml", tmp_path / "data")
    service = NewsService.open(paths, Settings())
    fill(service.store, 300)
    outcome: list[object] = []

    def search() -> None:
        try:
            outcome.append(len(service.search_ids(ArticleQuery(search="harbour"))))
        except SearchCancelled as exc:
            outcome.append(exc)

    # A search that is still waiting for the previous one when a newer one is typed.
    with service._search_lock:  # the previous search, still running
        worker = threading.Thread(target=search)
        worker.start()
        time.sleep(0.05)
        service.cancel_search()  # the user typed on
    worker.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], SearchCancelled)

    # A running search stops within moments of cancel_search from another thread.
    stopper = threading.Event()

    def cancel_while_running() -> None:
        while not stopper.is_set():
            service.cancel_search()
            time.sleep(0.001)

    canceller = threading.Thread(target=cancel_while_running)
    canceller.start()
    try:
        with pytest.raises(SearchCancelled):
            for _ in range(1000):  # each search begins before a cancel that then stops it
                service.search_ids(ArticleQuery(search="harbour"))
    finally:
        stopper.set()
        canceller.join()
    assert len(service.search_ids(ArticleQuery(search="harbour"))) == 300  # and then works
    service.close()
