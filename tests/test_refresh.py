"""The Refresher through NewsService and the real CLI: indexing, removed feeds, the outbox.

Real loopback servers (the test feed server, the sample site) and real SQLite files.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from pathlib import Path

import pytest

from termnews.comments import PostOutcome
from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.model import ArticleQuery, Draft, Identity
from termnews.refresh import FeedRefresh, RefreshReport, plural
from termnews.service import NewsService, RefreshOutcome
from termnews.store import Store
from tests.support.cli import run
from tests.support.feedserver import FeedServer, make_rss

ADA = Identity(name="ada", display_name="Ada Quill", email="ada@example.org")


def items(n: int) -> list[dict[str, object]]:
    return [
        {"title": f"Lighthouse {i}", "guid": f"urn:item:{i}", "description": f"keeper {i}"}
        for i in range(n)
    ]


def test_the_scheduled_refresh_leaves_new_articles_searchable(
    service: NewsService, feed_server: FeedServer
) -> None:
    # The host's scheduler calls refresh(due_only=True) and nothing else: the articles it
    # stores must be in the search index before the first search, which otherwise indexes
    # them on a session's UI loop.
    feed_server.add_feed("/feed.xml", make_rss("Coast", items(3)))
    service.subscribe(feed_server.url_for("/feed.xml"))
    report = asyncio.run(service.refresh(due_only=True))
    assert report.new_articles == 3 and report.indexed == 3
    assert service.pending_index() == 0
    assert len(service.first_article_ids(ArticleQuery(search="lighthouse"))) == 3


def test_the_host_refresh_loop_indexes_what_it_stores(
    paths: Paths, feed_server: FeedServer
) -> None:
    from termnews.host.server import _refresh_loop

    feed_server.add_feed("/feed.xml", make_rss("Coast", items(4)))
    setup = NewsService.open(paths, Settings())
    setup.subscribe(feed_server.url_for("/feed.xml"))
    setup.close()
    watcher = Store(paths.database)

    async def one_round() -> tuple[int, int]:
        loop = asyncio.ensure_future(_refresh_loop(paths, 10.0))
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                total = len(watcher.first_article_ids(ArticleQuery(), 100))
                if total and not watcher.pending_index():
                    break
                await asyncio.sleep(0.05)
            return total, watcher.pending_index()
        finally:
            loop.cancel()
            with pytest.raises(asyncio.CancelledError):
                await loop

    try:
        total, pending = asyncio.run(one_round())
    finally:
        watcher.close()
    assert (total, pending) == (4, 0)


def test_the_cli_refresh_leaves_indexing_to_the_app(
    service: NewsService, feed_server: FeedServer
) -> None:
    # Measured: indexing the corpus adds ~25% to a first refresh; the app indexes in the
    # background at start, so the command line does not wait for it.
    feed_server.add_feed("/feed.xml", make_rss("Coast", items(2)))
    service.subscribe(feed_server.url_for("/feed.xml"))
    report = asyncio.run(service.refresh(index=False))
    assert report.indexed == 0 and service.pending_index() == 2
    assert service.index_search() == 2


def refresh_while_removing(
    service: NewsService, server: FeedServer, path: str, feed_id: int
) -> RefreshReport:
    """Refresh, and remove the feed from another connection once its request arrived."""
    remover = service.clone()  # another connection, as another process or the UI would have

    def remove_once_requested() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.path == path for r in server.requests):
                remover.remove_feed(feed_id)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=remove_once_requested)
    thread.start()
    try:
        return asyncio.run(service.refresh())
    finally:
        thread.join()
        remover.close()


def test_a_feed_removed_while_it_refreshes_is_skipped_quietly(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_slow("/slow.xml", make_rss("Slow", items(5)), chunk_size=512, delay=0.4)
    feed_server.add_feed("/other.xml", make_rss("Other", items(2)))
    slow = service.subscribe(feed_server.url_for("/slow.xml"))
    service.subscribe(feed_server.url_for("/other.xml"))
    report = refresh_while_removing(service, feed_server, "/slow.xml", slow.id)
    outcomes = {r.feed_id: r.outcome for r in report.results}
    assert outcomes[slow.id] is RefreshOutcome.REMOVED
    assert report.failed == []
    assert [f.title for f in service.feeds()] == ["Other"]
    assert len(service.article_ids(ArticleQuery())) == 2


def test_a_failing_feed_removed_while_it_refreshes_is_not_reported_as_failed(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_slow(
        "/slow.xml", b"<html>" + b"not a feed " * 300 + b"</html>", chunk_size=1024, delay=0.4
    )
    slow = service.subscribe(feed_server.url_for("/slow.xml"))
    report = refresh_while_removing(service, feed_server, "/slow.xml", slow.id)
    assert [r.outcome for r in report.results] == [RefreshOutcome.REMOVED]
    assert report.failed == []


def test_termnews_refresh_exits_0_when_a_feed_is_removed_meanwhile(
    paths: Paths, feed_server: FeedServer
) -> None:
    feed_server.add_slow("/slow.xml", make_rss("Slow", items(5)), chunk_size=512, delay=0.4)
    setup = NewsService.open(paths, Settings())
    slow = setup.subscribe(feed_server.url_for("/slow.xml"))

    def remove_once_requested() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(r.path == "/slow.xml" for r in feed_server.requests):
                setup.remove_feed(slow.id)  # `termnews remove` in another terminal
                return
            time.sleep(0.01)

    thread = threading.Thread(target=remove_once_requested)
    thread.start()
    try:
        result = cli(paths.data_dir, "refresh")
    finally:
        thread.join()
        setup.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "internal error" not in result.stdout + result.stderr
    assert "unsubscribed meanwhile" in result.stdout


def test_summary_plurals() -> None:
    assert plural(1, "comment") == "1 comment"
    assert plural(2, "comment") == "2 comments"
    assert plural(0, "feed") == "0 feeds"
    one = FeedRefresh(1, "u", "t", RefreshOutcome.NEW, new=1)
    report = RefreshReport([one], 0.25)
    assert report.summary() == "Refreshed 1 feed in 0.2 s: 1 new article, 0 failed"
    assert RefreshReport([], 0.0).summary().startswith("Feeds are up to date")


# -- the outbox goes out with every refresh, due feeds or not -------------------------------


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The CLI's identity is the login name.
    return run(*args, data=data, env={"LOGNAME": ADA.name, "USER": ADA.name})


async def _comment_into_outbox(site: DemoSite, paths: Paths, body: str) -> NewsService:
    news = NewsService.open(paths, Settings(), identity=ADA)
    for url in site.feed_urls:
        news.subscribe(url)
    await news.refresh()
    post = site.post_for("showcase")
    article = next(
        a
        for a in map(news.article, news.article_ids(ArticleQuery()))
        if a is not None and a.link == post.url
    )
    form = (await news.comments.info(article)).targets[0]
    site.set_faults(fail_next=1)
    draft = Draft(article_id=article.id, identity=ADA.name, body=body)
    result = await news.comments.post(article, draft, form)
    assert result.outcome is PostOutcome.FAILED and result.retryable, result.message
    site.set_faults()
    return news


def texts(site: DemoSite) -> list[str]:
    return [c["text"] for c in site.comments_for(site.post_for("showcase").id, include_held=True)]


def test_refresh_due_sends_the_due_outbox_when_no_feed_is_due(paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True)
    (paths.data_dir / "config.toml").write_text('[profile]\nemail = "ada@example.org"\n')
    with DemoSite(flood_seconds=0) as site:
        news = asyncio.run(_comment_into_outbox(site, paths, "Sent from cron."))
        try:
            assert news.due_feed_ids() == []  # every feed was just fetched
            waiting = cli(paths.data_dir, "refresh", "--due")
            assert waiting.returncode == 0, waiting.stderr
            # Not due yet (the first retry waits a minute): listed as pending.
            [line] = [x for x in waiting.stdout.splitlines() if x.startswith("comment")]
            assert line.startswith("comment pending: to ") and "next try at" in line
            assert "HTTP 500" in line
            assert "Sent from cron." not in texts(site)

            news.store.db.execute("UPDATE outbox SET next_attempt = 0")  # now it is due
            sent = cli(paths.data_dir, "refresh", "--due")
            assert sent.returncode == 0, sent.stderr
            lines = [x for x in sent.stdout.splitlines() if x.startswith("comment")]
            assert len(lines) == 1 and lines[0].startswith("comment delivered: "), sent.stdout
            assert "Feeds are up to date" in sent.stdout
            assert texts(site).count("Sent from cron.") == 1
            assert news.comments.outbox() == []
        finally:
            news.close()


async def test_the_apps_automatic_refresh_sends_the_due_outbox(paths: Paths) -> None:
    from termnews.app import TermNewsApp

    with DemoSite(flood_seconds=0) as site:
        news = await _comment_into_outbox(site, paths, "Sent by the app.")
        news.settings.email = "ada@example.org"
        try:
            news.store.db.execute("UPDATE outbox SET next_attempt = 0")
            assert news.due_feed_ids() == []
            app = TermNewsApp(news)  # refresh_on_start: the due feeds (none) and the outbox
            told: list[str] = []
            async with app.run_test() as pilot:
                for _ in range(200):
                    # Textual keeps the notifications private; they are what the screen shows.
                    told = [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]
                    if any(m.startswith("comment delivered: ") for m in told):
                        break
                    await pilot.pause(0.05)
            assert news.comments.outbox() == []
            assert texts(site).count("Sent by the app.") == 1
            assert any(m.startswith("comment delivered: ") for m in told), told
        finally:
            news.close()


async def test_the_apps_refresh_summary_counts_in_words(
    service: NewsService, feed_server: FeedServer
) -> None:
    from termnews.app import TermNewsApp
    from termnews.widgets.status_line import StatusLine

    feed_server.add_feed("/feed.xml", make_rss("Coast", items(1)))
    service.subscribe(feed_server.url_for("/feed.xml"))
    app = TermNewsApp(service)  # refresh_on_start: the new feed is due
    said = ""
    async with app.run_test() as pilot:
        for _ in range(200):
            lines = list(app.screen.query(StatusLine))
            said = str(lines[0].message) if lines else ""
            if said.startswith("Refreshed"):
                break
            await pilot.pause(0.05)
    assert said.startswith("Refreshed 1 feed in ") and ": 1 new article, 0 failed" in said, said


async def test_quitting_while_the_refresh_builds_the_index_leaves_its_connection_open(
    service: NewsService, feed_server: FeedServer
) -> None:
    """The app's unmount used to close the refresh thread's connection while the thread
    still ran a statement on it (the search index), which crashed the process. Now the
    last of the two closes it: here the thread, once its index build is let go."""
    import sqlite3

    from termnews.app import TermNewsApp

    feed_server.add_feed("/feed.xml", make_rss("Coast", items(3)))
    service.subscribe(feed_server.url_for("/feed.xml"))
    indexing, release, closed = threading.Event(), threading.Event(), threading.Event()
    closers: list[threading.Thread] = []
    clones: list[NewsService] = []
    clone = service.clone

    def held_clone() -> NewsService:
        made = clone()
        index_search, close = made.index_search, made.close

        def held_index_search() -> None:  # waits to be let go, then builds the index
            indexing.set()
            release.wait(20)
            index_search()

        def noted_close() -> None:
            close()
            closers.append(threading.current_thread())
            closed.set()

        made.index_search = held_index_search  # type: ignore[method-assign]
        made.close = noted_close  # type: ignore[method-assign]
        clones.append(made)
        return made

    service.clone = held_clone  # type: ignore[method-assign]
    app = TermNewsApp(service)  # refresh_on_start: the new feed is due
    async with app.run_test() as pilot:
        for _ in range(600):  # 30 s: the parse workers start slowly on a loaded machine
            if indexing.is_set():
                break
            await pilot.pause(0.05)
        assert indexing.is_set(), f"no index build in 30 s; {len(clones)} refresh services"
    assert len(clones) == 1, f"{len(clones)} refresh services"
    [refresher] = clones
    refresher.store.db.execute("SELECT 1")  # the app is gone; the thread's connection is open
    release.set()
    # Not polled with statements: one on this thread while the refresh thread closes the
    # connection is the very crash this guards against (it segfaulted the test, 1 run in 5).
    assert closed.wait(30), "the refresh thread never closed its connection"
    assert closers == [closers[0]] and closers[0] is not threading.main_thread()
    with pytest.raises(sqlite3.ProgrammingError):  # closed, after its last statement
        refresher.store.db.execute("SELECT 1")
