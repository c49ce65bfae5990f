"""NewsService refresh against a real loopback server and a real SQLite file."""

from __future__ import annotations

import asyncio
import time

import pytest

from termnews.model import ArticleQuery
from termnews.service import NewsService, RefreshOutcome, RefreshReport, ServiceError
from tests.support.feedserver import FeedServer, make_atom, make_rss


def items(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "title": f"Item {i}",
            "link": f"http://example.org/{i}",
            "guid": f"http://example.org/?p={i}",
            "description": f"<p>Text of item {i}</p>",
            "pub_date": 1_700_000_000 + i * 3600,
            "comments": f"http://example.org/{i}#comments",
            "comment_rss": f"http://example.org/{i}/feed/",
            "comment_count": i,
        }
        for i in range(start, start + n)
    ]


def refresh(service: NewsService, ids: list[int] | None = None) -> RefreshReport:
    return asyncio.run(service.refresh(ids))


def test_refresh_stores_articles_then_uses_conditional_get(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/feed.xml", make_rss("Harbour news", items(3)))
    feed = service.subscribe(feed_server.url_for("/feed.xml"))
    report = refresh(service)
    assert [r.outcome for r in report.results] == [RefreshOutcome.NEW]
    assert report.new_articles == 3
    stored = service.feed(feed.id)
    assert stored.title == "Harbour news" and stored.unread == 3
    article = service.article(service.article_ids(ArticleQuery())[0])
    assert article.comments.count == 2
    assert article.comments.feed_url == "http://example.org/2/feed/"

    report = refresh(service)
    assert report.results[0].outcome is RefreshOutcome.UNCHANGED
    last = [r for r in feed_server.requests if r.path == "/feed.xml"][-1]
    assert last.header("If-None-Match")
    assert len(service.article_ids(ArticleQuery())) == 3


def test_changed_feed_adds_new_and_updates_changed_articles(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/feed.xml", make_rss("News", items(2)))
    service.subscribe(feed_server.url_for("/feed.xml"))
    refresh(service)
    first = service.article_ids(ArticleQuery())
    service.mark_read([first[-1]])
    changed = items(3)
    changed[0]["title"] = "Item 0, corrected"
    feed_server.set_feed("/feed.xml", make_rss("News", changed))
    report = refresh(service)
    assert (report.results[0].new, report.results[0].updated) == (1, 1)
    ids = service.article_ids(ArticleQuery())
    assert len(ids) == 3
    assert service.article(first[-1]).title == "Item 0, corrected"
    assert service.article(first[-1]).read


def test_one_bad_feed_never_stops_the_others(service: NewsService, feed_server: FeedServer) -> None:
    feed_server.add_feed("/good.xml", make_rss("Good", items(2)))
    feed_server.add_feed("/atom.xml", make_atom("Atom", [{"title": "A", "id": "urn:a"}]))
    feed_server.add_status("/missing.xml", 404)
    feed_server.add_status("/busy.xml", 429, retry_after=3600)
    feed_server.add_page("/page.html", "<html><body>not a feed</body></html>")
    feed_server.add_cut("/cut.xml", make_rss("Cut", items(50)), cut_after=300)
    urls = ["/good.xml", "/atom.xml", "/missing.xml", "/busy.xml", "/page.html", "/cut.xml"]
    feeds = {u: service.subscribe(feed_server.url_for(u)) for u in urls}
    report = refresh(service)
    outcome = {r.feed_id: r for r in report.results}
    assert outcome[feeds["/good.xml"].id].outcome is RefreshOutcome.NEW
    assert outcome[feeds["/atom.xml"].id].outcome is RefreshOutcome.NEW
    assert "404" in (outcome[feeds["/missing.xml"].id].error or "")
    assert outcome[feeds["/page.html"].id].error
    assert outcome[feeds["/cut.xml"].id].error
    busy = service.store.db.execute(
        "SELECT next_fetch, failures, error FROM feeds WHERE id = ?", (feeds["/busy.xml"].id,)
    ).fetchone()
    assert busy["next_fetch"] >= time.time() + 3500  # Retry-After honoured
    assert busy["failures"] == 1 and busy["error"]
    assert len(report.failed) == 4
    listed = {f.id: f for f in service.feeds()}
    assert listed[feeds["/missing.xml"].id].error


def test_permanent_redirect_moves_the_feed_and_410_stops_it(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/new.xml", make_rss("Moved", items(1)))
    feed_server.add_redirect("/old.xml", "/new.xml", 301)
    feed_server.add_status("/gone.xml", 410)
    moved = service.subscribe(feed_server.url_for("/old.xml"))
    gone = service.subscribe(feed_server.url_for("/gone.xml"))
    report = refresh(service)
    assert service.feed(moved.id).url == feed_server.url_for("/new.xml")
    assert service.feed(gone.id).gone
    assert {r.outcome for r in report.results} == {RefreshOutcome.NEW, RefreshOutcome.GONE}
    hits = len([r for r in feed_server.requests if r.path == "/gone.xml"])
    refresh(service)  # a gone feed is not fetched again
    assert len([r for r in feed_server.requests if r.path == "/gone.xml"]) == hits


def test_failing_feed_backs_off_exponentially(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_status("/down.xml", 500)
    feed = service.subscribe(feed_server.url_for("/down.xml"))
    delays = []
    for _ in range(3):
        before = time.time()
        refresh(service, [feed.id])
        row = service.store.db.execute(
            "SELECT next_fetch FROM feeds WHERE id = ?", (feed.id,)
        ).fetchone()
        delays.append(row[0] - before)
    assert delays[0] < delays[1] < delays[2]
    assert service.due_feed_ids() == []


def test_add_discovers_the_feed_of_a_site(service: NewsService, feed_server: FeedServer) -> None:
    feed_server.add_feed("/feed/", make_rss("Site feed", items(1)))
    feed_server.add_page(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" title="Site"'
        ' href="/feed/"></head><body>hi</body></html>',
    )
    feed = asyncio.run(service.add_feed(feed_server.url_for("/"), tags=["t"]))
    assert feed.url == feed_server.url_for("/feed/")
    assert feed.tags == ["t"]
    with pytest.raises(ServiceError):
        asyncio.run(service.add_feed("ftp://example.org/"))


def test_two_services_on_one_database_do_not_fetch_a_feed_twice(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_slow("/slow.xml", make_rss("Slow", items(2)), delay=0.3)
    service.subscribe(feed_server.url_for("/slow.xml"))
    other = service.clone()

    async def both() -> list[RefreshReport]:
        return list(await asyncio.gather(service.refresh(), other.refresh()))

    reports = asyncio.run(both())
    other.close()
    outcomes = sorted(r.results[0].outcome.value for r in reports)
    assert outcomes == ["new", "skipped"]
    assert len([r for r in feed_server.requests if r.path == "/slow.xml"]) == 1


def test_hosted_members_cannot_change_the_shared_feed_list(service: NewsService) -> None:
    feed = service.subscribe("https://example.org/feed/")
    service.restricted = True  # a member's session on a shared host
    with pytest.raises(ServiceError, match="operator"):
        asyncio.run(service.add_feed("https://example.net/feed/", discover=False))
    with pytest.raises(ServiceError, match="operator"):
        service.remove_feed(feed.id)
    with pytest.raises(ServiceError, match="operator"):
        service.import_subscriptions("https://example.net/feed/\n")
    with pytest.raises(ServiceError, match="operator"):
        service.subscribe("https://example.net/feed/")
    assert [f.url for f in service.feeds()] == ["https://example.org/feed/"]
