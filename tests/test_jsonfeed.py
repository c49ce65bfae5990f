"""JSON Feed 1.0/1.1: parsed into the same entries as RSS/Atom, found by discovery, fetched
and parsed over real loopback HTTP, kept by OPML export/import."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from termnews.feeds.discover import feed_kind, feed_links, feed_title, is_probably_feed
from termnews.feeds.parse import FeedParseError, ParsePool, parse_feed
from termnews.model import ArticleQuery, ParsedEntry, content_hash
from termnews.render import render_html
from termnews.service import NewsService, RefreshOutcome
from tests.support.feedserver import FeedServer, make_json_feed, make_rss

URL = "https://kiln.example.test/feed.json"
JSON_TYPE = "application/feed+json"
V11 = "https://jsonfeed.org/version/1.1"
V10 = "https://jsonfeed.org/version/1"


def doc(**fields: Any) -> bytes:
    return json.dumps({"version": V11, "title": "Kiln notes", "items": [], **fields}).encode()


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def test_json_feed_1_1_maps_onto_the_entry_fields() -> None:
    body = doc(
        home_page_url="https://kiln.example.test/",
        authors=[{"name": "Feed Author"}],
        items=[
            {
                "id": "post-2",
                "url": "/2026/glaze",
                "title": "  Glaze\n chemistry ",
                "content_html": "<p>Cone <b>6</b></p>",
                "summary": "Fluxes & <silica>",
                "date_published": "2026-11-02T10:00:00+02:00",
                "date_modified": "2026-11-03T08:30:00Z",
                "authors": [{"name": "Ada"}, {"name": "Grace", "url": "https://g.test/"}],
            },
            {"id": "post-1", "content_text": "First line\nsecond <line>\n\nNew paragraph"},
        ],
    )
    feed = parse_feed(body, URL, "application/feed+json")
    assert (feed.title, feed.site_url, feed.format) == (
        "Kiln notes",
        "https://kiln.example.test/",
        "json11",
    )
    first, second = feed.entries
    assert first.guid == "post-2"
    assert first.link == "https://kiln.example.test/2026/glaze"  # relative, resolved
    assert first.title == "Glaze chemistry"
    assert first.author == "Ada, Grace"
    assert first.published == stamp("2026-11-02T10:00:00+02:00")
    assert first.updated == stamp("2026-11-03T08:30:00+00:00")
    assert first.content == "<p>Cone <b>6</b></p>"
    assert first.summary == "<p>Fluxes &amp; &lt;silica&gt;</p>"  # plain text, escaped
    # No title, no authors of its own: the feed's author; plain text becomes escaped HTML.
    assert second.title == "" and second.author == "Feed Author"
    assert second.content == "<p>First line<br>second &lt;line&gt;</p><p>New paragraph</p>"
    assert second.summary == second.content  # as feedparser does for content-only entries
    assert second.published is None and second.updated is None
    lines = [line.plain for line in render_html(second.content or "", 40).lines]
    assert lines == ["First line", "second <line>", "", "New paragraph"]


def test_json_feed_1_0_author_numeric_ids_and_fallbacks() -> None:
    body = json.dumps(
        {
            "version": V10,
            "title": "Old style",
            "author": {"name": "Solo"},
            "items": [
                {"id": 42, "external_url": "https://elsewhere.test/x", "content_text": "a"},
                {"url": "https://kiln.example.test/no-id", "content_text": "b"},
                {"title": "Nothing else", "summary": "just this"},
                {"id": True, "title": "Bool id", "date_published": "Mon, 02 Nov 2026 10:00:00 GMT"},
            ],
        }
    ).encode()
    feed = parse_feed(body, URL, "application/json")
    assert feed.format == "json1"
    numeric, no_id, bare, bool_id = feed.entries
    assert numeric.guid == "42" and numeric.link == "https://elsewhere.test/x"
    assert numeric.author == "Solo"
    assert no_id.guid == "https://kiln.example.test/no-id"
    assert bare.guid == content_hash("Nothing else", "<p>just this</p>")
    assert bare.content is None and bare.summary == "<p>just this</p>"
    assert bool_id.guid == content_hash("Bool id", None)
    assert bool_id.published == stamp("2026-11-02T10:00:00+00:00")  # RFC 822, tolerated


def test_json_is_recognised_by_its_bytes_whatever_the_content_type() -> None:
    body = b"\xef\xbb\xbf \n" + doc(items=[{"id": "1", "content_text": "x"}])
    for content_type in (None, "text/plain", "application/octet-stream", "application/xml"):
        assert [e.guid for e in parse_feed(body, URL, content_type).entries] == ["1"]


def test_wrong_types_count_as_absent_and_never_crash() -> None:
    body = doc(
        title=7,
        home_page_url=["not", "a", "url"],
        authors="nobody",
        items=[
            "a string, not an item",
            None,
            {
                "id": {"nested": 1},
                "url": 5,
                "title": ["x"],
                "content_html": {"html": True},
                "content_text": "kept",
                "date_published": "yesterday-ish",
                "date_modified": 1700000000,
                "authors": [{"name": 3}, "Eve", {"name": "Real"}],
            },
        ],
    )
    feed = parse_feed(body, URL, None)
    assert feed.title is None and feed.site_url is None
    (entry,) = feed.entries
    assert entry.link is None and entry.title == ""
    assert entry.content == "<p>kept</p>"
    assert entry.published is None and entry.updated is None
    assert entry.author == "Real"
    assert entry.guid == content_hash("", "<p>kept</p>")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [}', "invalid JSON at line 1"),
        (b"{\n  \"title\": 'single quotes'\n}", "invalid JSON at line 2, column 12"),
        (b"[1, 2, 3]", "not an object"),
        (b'{"title": "no version", "items": []}', "without a JSON Feed version"),
        (b'{"version": "https://example.org/v1", "items": []}', "without a JSON Feed version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', '"items" list'),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', '"items" list'),
        (b'{"version": "https://jsonfeed.org/version/1.1", "t": "\xff\xfe\xfa"}', "not UTF-8"),
        (b"{" + b'"a":' * 1 + b"[" * 200_000 + b"]" * 200_000 + b"}", "nested too deeply"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "n": ' + b"9" * 5000 + b"}", "JSON"),
        (b"{", "invalid JSON"),
    ],
)
def test_malformed_or_hostile_json_gives_a_one_line_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, URL, "application/feed+json")
    text = str(caught.value)
    assert message in text
    assert "\n" not in text and text.startswith("not a feed")


def test_hostile_strings_stay_data_and_render_inert() -> None:
    body = doc(
        title="Kiln\x1b]0;owned\x07",
        items=[{"id": "1", "title": "t\x1b[2J", "content_text": "<script>x</script>\x1b[31mred"}],
    )
    feed = parse_feed(body, URL, None)
    (entry,) = feed.entries
    lines = [line.plain for line in render_html(entry.content or "", 60).lines]
    assert lines == ["<script>x</script>red"]  # escaped text, escape sequence gone


def test_through_the_parse_pool() -> None:
    body = doc(items=[{"id": "p", "content_html": "<p>x</p>"}])
    with ParsePool(max_workers=1) as pool:
        feed = asyncio.run(pool.parse(body, URL, "application/feed+json"))
        assert [e.guid for e in feed.entries] == ["p"]
        with pytest.raises(FeedParseError, match="without a JSON Feed version"):
            asyncio.run(pool.parse(b'{"items": []}', URL, "application/json"))


def test_discovery_sees_json_feed_links_and_bodies() -> None:
    page = (
        '<link rel="alternate" type="application/feed+json" title="Kiln (JSON)" href="/f.json">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/3">'
    )
    (found,) = feed_links(page, "https://kiln.example.test/")  # a REST link is no feed
    assert (found.url, found.title, found.kind) == (
        "https://kiln.example.test/f.json",
        "Kiln (JSON)",
        "json",
    )
    body = doc(title="Kiln\nnotes")
    assert feed_kind(body) == "json"
    assert is_probably_feed(body, "text/plain")
    assert feed_title(body) == "Kiln notes"
    assert not is_probably_feed(b'{"some": "json api"}', "application/json")
    assert feed_kind(b'{"some": "json api"}') is None


def items(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"urn:kiln:{i}",
            "url": f"http://example.org/{i}",
            "title": f"Firing {i}",
            "content_html": f"<p>Log of firing {i}</p>",
            "date_published": f"2026-11-0{i + 1}T09:00:00Z",
        }
        for i in range(n)
    ]


def test_json_feed_over_http_through_discovery_refresh_and_opml(
    service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/feed.json", make_json_feed("Kiln log", items(2)), JSON_TYPE)
    feed_server.add_page(
        "/",
        '<html><head><link rel="alternate" type="application/feed+json" href="/feed.json">'
        "</head><body>kiln</body></html>",
    )
    feed = asyncio.run(service.add_feed(feed_server.url_for("/")))
    assert feed.url == feed_server.url_for("/feed.json")

    report = asyncio.run(service.refresh())
    assert [r.outcome for r in report.results] == [RefreshOutcome.NEW]
    assert service.feed(feed.id).title == "Kiln log"
    articles = [service.article(i) for i in service.article_ids(ArticleQuery())]
    assert sorted(a.title for a in articles if a) == ["Firing 0", "Firing 1"]
    newest = max((a for a in articles if a), key=lambda a: a.published or 0)
    assert newest.content == "<p>Log of firing 1</p>"
    assert newest.link == "http://example.org/1"

    feed_server.set_feed("/feed.json", make_json_feed("Kiln log", items(3)), JSON_TYPE)
    report = asyncio.run(service.refresh())
    assert report.new_articles == 1

    opml = service.export_opml()
    assert feed_server.url_for("/feed.json") in opml
    imported = service.import_subscriptions(opml, "export.opml")
    assert [s.url for s in imported] == [feed_server.url_for("/feed.json")]


def test_a_broken_json_feed_is_one_feed_error_among_good_feeds(
    service: NewsService, feed_server: FeedServer
) -> None:
    cut_short = b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
    feed_server.add_feed("/bad.json", cut_short, JSON_TYPE)
    feed_server.add_feed("/good.xml", make_rss("Good", [{"title": "fine"}]))
    bad = service.subscribe(feed_server.url_for("/bad.json"))
    service.subscribe(feed_server.url_for("/good.xml"))
    report = asyncio.run(service.refresh())
    outcomes = {r.feed_id: r.outcome for r in report.results}
    assert outcomes[bad.id] is RefreshOutcome.ERROR
    error = service.feed(bad.id).error or ""
    assert "invalid JSON at line 1" in error and "\n" not in error
    assert RefreshOutcome.NEW in outcomes.values()


def test_the_sample_site_serves_the_same_posts_as_json_feed() -> None:
    from termnews.demo import DemoSite

    with DemoSite(flood_seconds=0) as site, httpx.Client(timeout=10) as client:
        answer = client.get(site.url + "feed/json/")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/feed+json")
        as_json = parse_feed(
            answer.content, site.url + "feed/json/", answer.headers["content-type"]
        )
        rss = client.get(site.url + "feed/")
        as_rss = parse_feed(rss.content, site.url + "feed/", rss.headers["content-type"])
        again = client.get(
            site.url + "feed/json/", headers={"If-None-Match": answer.headers["etag"]}
        )
        assert again.status_code == 304
    assert as_json.format == "json11" and as_json.title == as_rss.title
    assert len(as_json.entries) == len(as_rss.entries) > 1

    def fields(e: ParsedEntry) -> tuple[Any, ...]:
        return (e.guid, e.link, e.title, e.author, e.published, (e.content or "").strip())

    assert [fields(e) for e in as_json.entries] == [fields(e) for e in as_rss.entries]
