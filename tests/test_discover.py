"""Feed discovery against pages and feeds served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from termnews.feeds.discover import (
    DiscoveredFeed,
    DiscoveryError,
    discover_feeds,
    feed_links,
    is_probably_feed,
)
from termnews.feeds.fetch import Fetcher
from tests.support.feedserver import FeedServer, make_atom, make_rss

RSS = make_rss("Garden Diary", [{"title": "Seedlings"}])
ATOM = make_atom("Garden Diary (Atom)", [{"title": "Seedlings"}])

HOME = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Garden Diary</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Garden Diary &raquo; Comments Feed"
      href="/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="Garden Diary &raquo; Feed" href="feed/">
<link rel="ALTERNATE home" type="application/atom+xml" title="Garden Diary (Atom)"
      href="/feed/atom/" />
<link rel="alternate" type="application/json" title="JSON" href="/wp-json/wp/v2/posts">
<link rel="alternate" type="application/rss+xml" title="Duplicate" href="/feed/">
<link rel="https://api.w.org/" href="/wp-json/">
</head><body><p>Hello</p></body></html>
"""


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(timeout=5.0, retries=0) as f:
        yield f


async def test_page_with_alternate_links(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add_page("/", HOME)
    found = await discover_feeds(fetcher, feed_server.url)
    assert found == [
        DiscoveredFeed(feed_server.url_for("/feed/"), "Garden Diary » Feed", "rss"),
        DiscoveredFeed(feed_server.url_for("/feed/atom/"), "Garden Diary (Atom)", "atom"),
        DiscoveredFeed(
            feed_server.url_for("/comments/feed/"), "Garden Diary » Comments Feed", "rss"
        ),
    ]
    # The page answered, so no common path was tried.
    assert [r.path for r in feed_server.requests] == ["/"]


async def test_relative_links_resolve_against_base_href(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    page = """<html><head><base href="/blog/">
    <link rel="alternate" type="application/rdf+xml" href="index.rdf" title="Old RDF">
    <link rel="alternate" type="application/rss+xml" href="../other/rss.xml">
    <link rel="alternate" type="application/atom+xml" href="https://elsewhere.example/atom">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head></html>"""
    feed_server.add_page("/deep/page.html", page)
    found = await discover_feeds(fetcher, feed_server.url_for("/deep/page.html"))
    assert found == [
        DiscoveredFeed(feed_server.url_for("/blog/index.rdf"), "Old RDF", "rdf"),
        DiscoveredFeed(feed_server.url_for("/other/rss.xml"), None, "rss"),
        DiscoveredFeed("https://elsewhere.example/atom", None, "atom"),
    ]


async def test_relative_links_resolve_against_the_final_url(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.add_redirect("/start", "/site/home.html", 302)
    feed_server.add_page(
        "/site/home.html",
        '<link rel="alternate" type="application/rss+xml" href="feed.xml">',
    )
    found = await discover_feeds(fetcher, feed_server.url_for("/start"))
    assert [f.url for f in found] == [feed_server.url_for("/site/feed.xml")]


async def test_url_that_is_itself_a_feed(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add_feed("/feed.atom", ATOM, "text/plain")  # a mislabelled feed still counts
    found = await discover_feeds(fetcher, feed_server.url_for("/feed.atom"))
    assert found == [
        DiscoveredFeed(feed_server.url_for("/feed.atom"), "Garden Diary (Atom)", "atom")
    ]


async def test_moved_feed_reports_its_new_url(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add_redirect("/rss", "/feed/", 301)
    feed_server.add_feed("/feed/", RSS)
    found = await discover_feeds(fetcher, feed_server.url_for("/rss"))
    assert found == [DiscoveredFeed(feed_server.url_for("/feed/"), "Garden Diary", "rss")]


async def test_fallback_to_common_paths(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add_page("/", "<html><head><title>No links</title></head></html>")
    feed_server.add_feed("/index.xml", ATOM)
    feed_server.add_page("/feed/", "<html>a page, not a feed</html>")
    found = await discover_feeds(fetcher, feed_server.url)
    assert found == [
        DiscoveredFeed(feed_server.url_for("/index.xml"), "Garden Diary (Atom)", "atom")
    ]
    tried = {r.path for r in feed_server.requests}
    assert {"/feed/", "/rss.xml", "/atom.xml", "/index.xml"} <= tried


async def test_scheme_is_optional(feed_server: FeedServer, fetcher: Fetcher) -> None:
    # No TLS on loopback: https fails to connect, plain http answers.
    feed_server.add_feed("/feed/", RSS)
    found = await discover_feeds(fetcher, f"127.0.0.1:{feed_server.port}/feed/")
    assert [f.url for f in found] == [feed_server.url_for("/feed/")]


async def test_nothing_found(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.add_page("/", "<html><head><title>Plain</title></head><body>hi</body></html>")
    with pytest.raises(DiscoveryError) as caught:
        await discover_feeds(fetcher, feed_server.url)
    assert caught.value.message == (
        f"no feed found at {feed_server.url}: the page links to none, and "
        "/feed/, /rss.xml, /atom.xml, /index.xml do not answer with a feed"
    )


async def test_page_that_fails_to_load(feed_server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(DiscoveryError) as caught:
        await discover_feeds(fetcher, feed_server.url_for("/nowhere"))
    assert caught.value.message == (
        f"could not load {feed_server.url_for('/nowhere')}: HTTP 404 Not Found"
    )


def test_feed_links_on_broken_markup() -> None:
    page = '<head><link rel=alternate type=application/rss+xml href="/a" title="A"<p><<<'
    assert [f.url for f in feed_links(page, "http://example.org/x/")] == ["http://example.org/a"]


def test_feed_links_turn_feed_scheme_into_http() -> None:
    page = (
        '<link rel="alternate" type="application/rss+xml" href="feed://example.org/rss">'
        '<link rel="alternate" type="application/atom+xml" href="feed:https://example.org/a">'
    )
    assert [f.url for f in feed_links(page, "http://example.org/")] == [
        "http://example.org/rss",
        "https://example.org/a",
    ]


def test_feed_link_titles_lose_control_characters() -> None:
    page = '<link rel="alternate" type="application/rss+xml" href="/f" title="A\x1b[2J  B">'
    (feed,) = feed_links(page, "http://example.org/")
    assert feed.title == "A B"  # the whole escape sequence goes, not only ESC


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (RSS, "application/rss+xml", True),
        (ATOM, "text/html", True),
        (b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="x"></rdf:RDF>', None, True),
        (b"\xef\xbb\xbf<!-- made by hand -->\n<!DOCTYPE rss>\n<rss version='2.0'/>", None, True),
        ("<?xml version='1.0'?><feed/>".encode("utf-16"), None, True),
        (b"<!DOCTYPE html><html><head></head></html>", "application/rss+xml", False),
        (b'<?xml version="1.0"?><opml version="2.0"/>', "text/xml", False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "application/feed+json", True),
        (b'{"data": "a JSON API, not a feed"}', "application/feed+json", False),
        (b"", "application/rss+xml", False),
        (b"   ", None, False),
    ],
)
def test_is_probably_feed(body: bytes, content_type: str | None, expected: bool) -> None:
    assert is_probably_feed(body, content_type) is expected
