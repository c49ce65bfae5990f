"""[full_article] "refresh": at refresh, new posts of such a feed get their page fetched
and extracted over loopback HTTP (bounded, capped, timed out, sanitized), cached and
searchable; failures are noted on the post and not tried again; the reader says so."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.config import ConfigError, load_settings
from termnews.model import ArticleQuery
from termnews.refresh import FULL_ARTICLES_PER_FEED
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.widgets.article_view import ArticleView
from tests.support.articlepages import article_page
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import by_guid, open_service
from tests.support.pilot import wait_until

MARK = "Quokkazanzibar"  # a word only the pages have, never the feed


def post_page(server: FeedServer, n: int) -> str:
    page = article_page(n)
    first = page.paragraphs[0]
    html = page.html.replace(first, f"{MARK}{n} \x1b]52;c;evil\x07 {first}", 1)
    assert MARK in html
    server.add_page(f"/post/{n}/", html)
    return server.url_for(f"/post/{n}/")


def item(server: FeedServer, n: int, link: str | None = None) -> dict[str, object]:
    return {
        "title": f"Post {n}",
        "link": link or post_page(server, n),
        "guid": f"post-{n}",
        "description": f"<p>Summary {n} only.</p>",
        "pub_date": 1_700_000_000 + n,
    }


@pytest.fixture
def service(tmp_path: Path) -> Iterator[NewsService]:
    news = open_service(tmp_path)
    yield news
    news.close()


def test_the_setting_takes_open_refresh_never(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[full_article]\n"http://a.example/feed" = "refresh"\n"http://b.example/feed" = true\n'
        '"http://c.example/feed" = false\n"http://d.example/feed" = "open"\n'
    )
    assert load_settings(config).full_article == {
        "http://a.example/feed": "refresh",
        "http://b.example/feed": "open",
        "http://c.example/feed": "never",
        "http://d.example/feed": "open",
    }
    config.write_text('[full_article]\n"http://example.org/feed" = "always"\n')
    with pytest.raises(ConfigError, match=r"line 2.*\"open\", \"refresh\" or \"never\""):
        load_settings(config)


def test_refresh_fetches_new_posts_pages_and_notes_failures(
    service: NewsService, feed_server: FeedServer
) -> None:
    items = [item(feed_server, n) for n in range(3)]
    items.append(item(feed_server, 90, feed_server.url_for("/missing/")))
    items.append(item(feed_server, 91, feed_server.url_for("/tiny/")))
    feed_server.add_status("/missing/", 404)
    feed_server.add_page("/tiny/", "<html><body><p>Hi.</p></body></html>")
    feed_server.add_feed("/feed.xml", make_rss("Summaries", items))
    url = feed_server.url_for("/feed.xml")
    service.subscribe(url)
    service.settings.full_article[url] = "refresh"
    report = asyncio.run(service.refresh())
    assert (report.full_articles, report.full_article_failures) == (3, 2)
    assert "3 full articles fetched (2 not found)" in report.summary()
    for n in range(3):
        post = service.article(by_guid(service, f"post-{n}"))
        assert post is not None and post.extracted and f"{MARK}{n}" in post.extracted
        assert "\x1b" not in post.extracted and "\x07" not in post.extracted
    # Cached and searchable: the word is only on the page, never in the feed.
    found = service.article_ids(ArticleQuery(search=f"{MARK}1"))
    assert list(found) == [by_guid(service, "post-1")]
    missing = service.article(by_guid(service, "post-90"))
    assert missing is not None and missing.extracted is None
    assert missing.extract_error is not None and "HTTP 404 Not Found" in missing.extract_error
    tiny = service.article(by_guid(service, "post-91"))
    assert tiny is not None and "found no article" in (tiny.extract_error or "")
    assert not service.full_article_on_open(missing)  # not tried again on every open

    # The next refresh fetches only the new post's page: none again, failures neither.
    hits = {path: feed_server.hits(path) for path in ("/post/0/", "/missing/", "/tiny/")}
    feed_server.set_feed("/feed.xml", make_rss("Summaries", [*items, item(feed_server, 3)]))
    report = asyncio.run(service.refresh())
    assert (report.full_articles, report.full_article_failures) == (1, 0)
    assert {path: feed_server.hits(path) for path in hits} == hits
    assert feed_server.hits("/post/3/") == 1


def test_feeds_not_set_to_refresh_fetch_no_pages(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/feed.xml", make_rss("Summaries", [item(feed_server, 0)]))
    url = feed_server.url_for("/feed.xml")
    service.subscribe(url)
    service.settings.full_article[url] = "open"
    report = asyncio.run(service.refresh())
    assert report.full_articles == 0 and feed_server.hits("/post/0/") == 0
    post = service.article(by_guid(service, "post-0"))
    assert post is not None and service.full_article_on_open(post)


def test_pages_per_refresh_are_bounded_and_capped_and_timed_out(
    service: NewsService, feed_server: FeedServer
) -> None:
    items = [item(feed_server, n) for n in range(FULL_ARTICLES_PER_FEED + 5)]
    feed_server.add_large("/huge/", 3 << 20, content_type="text/html")
    feed_server.add_held("/held/", b"<html></html>", hold=3.0, content_type="text/html")
    items.append(item(feed_server, 98, feed_server.url_for("/huge/")))
    items.append(item(feed_server, 99, feed_server.url_for("/held/")))
    feed_server.add_feed("/feed.xml", make_rss("Many", items))
    url = feed_server.url_for("/feed.xml")
    service.subscribe(url)
    service.settings.full_article[url] = "refresh"
    service.settings.max_feed_mb = 1
    service.settings.timeout = 1.0
    report = asyncio.run(service.refresh())
    tried = report.full_articles + report.full_article_failures
    assert tried == FULL_ARTICLES_PER_FEED  # the newest ten; the others wait for F or open
    huge = service.article(by_guid(service, "post-98"))
    held = service.article(by_guid(service, "post-99"))
    assert huge is not None and "larger than 1 MB" in (huge.extract_error or "")
    assert held is not None and "timed out after 1 s" in (held.extract_error or "")


async def test_the_reader_says_what_it_shows(service: NewsService, feed_server: FeedServer) -> None:
    items = [item(feed_server, 0), item(feed_server, 90, feed_server.url_for("/missing/"))]
    items[1]["pub_date"] = 1_600_000_000  # listed second
    feed_server.add_status("/missing/", 404)
    feed_server.add_feed("/feed.xml", make_rss("Summaries", items))
    url = feed_server.url_for("/feed.xml")
    service.subscribe(url)
    service.settings.full_article[url] = "refresh"
    await service.refresh()
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        assert reader.article is not None and reader.article.guid == "post-0"
        header = str(reader.query_one("#article-header").render())
        assert "Full article, extracted from the post's page" in header
        text = "\n".join(line.plain for line in reader.query_one(ArticleView).lines)
        assert f"{MARK}0" in text and "Summary 0 only." not in text
        await pilot.press("n")
        await pilot.pause()
        header = str(reader.query_one("#article-header").render())
        assert "No full article at refresh:" in header and "HTTP 404" in header
        assert reader.fetching is None  # a failure is not fetched again on open
        feed_server.add_page("/missing/", post_page_html())
        await pilot.press("F")
        await wait_until(pilot, lambda: reader.show_extracted)
        assert "No full article" not in str(reader.query_one("#article-header").render())


def post_page_html() -> str:
    return article_page(7).html
