"""Full articles: a summary-only feed's posts fetched from their pages over loopback HTTP,
extracted in the parse pool, kept in the store, searched and shown in the reader."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.config import ConfigError, load_settings
from termnews.demo import DemoSite
from termnews.fullarticle import extract_article
from termnews.model import ArticleQuery
from termnews.sanitize import strip_tags
from termnews.screens.reader import ReaderScreen
from termnews.service import FullArticleError, NewsService, ServiceError
from termnews.store import MIGRATIONS, Store
from termnews.widgets.article_view import ArticleView
from tests.support.articlepages import article_page, score
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import by_guid, subscribed

PAGES = 3


def summary_feed(server: FeedServer) -> bytes:
    items = []
    for i in range(PAGES):
        page = article_page(i)
        server.add_page(f"/post/{i}/", page.html)
        items.append(
            {
                "title": page.title,
                "link": server.url_for(f"/post/{i}/"),
                "guid": f"post-{i}",
                "description": f"<p>Summary {i} only.</p>",
                "pub_date": 1_700_000_000 + i,
            }
        )
    for n, (guid, path) in enumerate(
        (("broken", "/missing/"), ("tiny", "/tiny/"), ("pdf", "/file.pdf"))
    ):
        items.append({"title": guid, "link": server.url_for(path), "guid": guid, "pub_date": n + 1})
    server.add_status("/missing/", 404)
    server.add_page("/tiny/", "<html><body><p>Hi.</p></body></html>")
    server.add_feed("/file.pdf", b"%PDF-1.4", content_type="application/pdf")
    return make_rss("Summaries", items)


@pytest.fixture
def summaries(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed("/feed.xml", summary_feed(feed_server))
    service = subscribed(tmp_path, feed_server.url_for("/feed.xml"))
    yield service
    service.close()


def test_extraction_keeps_the_article_and_drops_the_page_around_it() -> None:
    for seed in range(6):
        page = article_page(seed)
        html = extract_article(page.html, f"https://example.org/{seed}/")
        assert html is not None
        recall, precision = score(page.text, strip_tags(html))
        assert recall > 0.8, (seed, recall)  # a table layout loses its closing quote
        assert precision > 0.95, (seed, precision)
        assert "Accept all" not in html and "Reader 3 says" not in html
        assert "All rights reserved" not in html


def test_a_page_without_an_article_gives_none() -> None:
    assert extract_article("<html><body><nav><a href='/'>Home</a></nav></body></html>", "") is None


def test_sample_site_post_pages_extract_to_their_text() -> None:
    with DemoSite(flood_seconds=0) as site:
        post = site.post_for("news")
        import httpx

        page = httpx.get(post.url, timeout=10).text
    html = extract_article(page, post.url)
    assert html is not None
    assert "thoughts on" not in html  # the comments section stays out
    assert "says:" not in html


def test_fetch_stores_searches_and_renders_the_full_article(summaries: NewsService) -> None:
    article_id = by_guid(summaries, "post-1")
    page = article_page(1)
    word = page.paragraphs[2].split()[3].strip(".").lower()
    assert summaries.article(article_id).extracted is None  # type: ignore[union-attr]
    fetched = asyncio.run(summaries.fetch_full_article(article_id))
    assert fetched.extracted and page.paragraphs[0][:60] in fetched.extracted
    again = summaries.article(article_id)
    assert again is not None and again.extracted == fetched.extracted  # kept in the store
    text = "\n".join(line.plain for line in summaries.render(again, 80, extracted=True).lines)
    assert page.paragraphs[0].split()[0] in text
    feed_text = "\n".join(line.plain for line in summaries.render(again, 80).lines)
    assert "Summary 1 only." in feed_text and "Summary 1 only." not in text
    # Searchable: a word of the page (not of the summary) finds the post.
    found = summaries.search_ids(ArticleQuery(search=word))
    assert article_id in list(found)


def test_full_article_failures_are_one_line(summaries: NewsService) -> None:
    for guid, expected in (
        ("broken", "HTTP 404"),
        ("tiny", "found no article"),
        ("pdf", "not a web page (application/pdf)"),
    ):
        with pytest.raises(FullArticleError) as info:
            asyncio.run(summaries.fetch_full_article(by_guid(summaries, guid)))
        assert expected in str(info.value)
        assert "\n" not in str(info.value)
        assert summaries.article(by_guid(summaries, guid)).extracted is None  # type: ignore[union-attr]
    with pytest.raises(ServiceError):
        asyncio.run(summaries.fetch_full_article(999_999))


def test_a_page_over_the_size_cap_is_refused(
    tmp_path: Path, feed_server: FeedServer, summaries: NewsService
) -> None:
    feed_server.add_page("/post/0/", "<html><body>" + "<p>x</p>" * 300_000 + "</body></html>")
    summaries.settings.max_feed_mb = 1
    with pytest.raises(FullArticleError) as info:
        asyncio.run(summaries.fetch_full_article(by_guid(summaries, "post-0")))
    assert "MB" in str(info.value)


def test_migration_from_schema_3_keeps_articles(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO feeds (url, added) VALUES ('http://example.org/f', 0)")
    db.execute(
        "INSERT INTO articles (feed_id, guid, title, sort_key, body_hash, fetched) "
        "VALUES (1, 'g', 'Old post', 0, 'h', 0)"
    )
    db.commit()
    db.close()
    store = Store(path)
    try:
        detail = store.article(1)
        assert detail is not None and detail.title == "Old post" and detail.extracted is None
        store.set_extracted(1, "<p>Whole text</p>")
        assert store.article(1).extracted == "<p>Whole text</p>"  # type: ignore[union-attr]
    finally:
        store.close()


def test_full_article_setting_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[full_article]\n"http://example.org/feed" = true\n')
    assert load_settings(config).full_article == {"http://example.org/feed": "open"}
    config.write_text('[full_article]\n"http://example.org/feed" = "yes"\n')
    with pytest.raises(ConfigError, match=r"line 2.*\"open\", \"refresh\" or \"never\""):
        load_settings(config)


async def wait_for(pilot, condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def header_text(reader: ReaderScreen) -> str:
    return str(reader.query_one("#article-header").render())


async def test_reader_key_fetches_and_toggles_the_full_article(summaries: NewsService) -> None:
    target = by_guid(summaries, "post-2")
    ids = list(summaries.article_ids(ArticleQuery()))
    app = TermNewsApp(summaries)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab")
        for _ in range(ids.index(target)):
            await pilot.press("j")
        await pilot.press("enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen) and reader.article.id == target  # type: ignore[union-attr]
        view = reader.query_one(ArticleView)
        assert "Summary 2 only." in "\n".join(line.plain for line in view.lines)
        await pilot.press("F")
        await wait_for(pilot, lambda: reader.show_extracted)
        text = "\n".join(line.plain for line in view.lines)
        assert article_page(2).paragraphs[0].split()[0] in text
        assert "Summary 2 only." not in text
        assert "Full article, extracted" in header_text(reader)
        await pilot.press("F")  # the feed's own text is one key away
        assert "Summary 2 only." in "\n".join(line.plain for line in view.lines)
        assert "Full article" not in header_text(reader)


async def test_feed_set_to_full_article_fetches_on_open(
    summaries: NewsService, feed_server: FeedServer
) -> None:
    summaries.settings.full_article[feed_server.url_for("/feed.xml")] = "open"
    app = TermNewsApp(summaries)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        await wait_for(pilot, lambda: reader.show_extracted)
        assert reader.article is not None and reader.article.extracted


async def test_the_palette_offers_the_full_article_in_the_reader(summaries: NewsService) -> None:
    app = TermNewsApp(summaries)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen) and not reader.show_extracted
        await pilot.press("ctrl+p")
        await pilot.press(*"Full article")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: reader.show_extracted)
        assert app.screen is reader
