"""parse_feed on feeds written here, and ParsePool in real worker processes."""

from __future__ import annotations

import asyncio
import calendar
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from termnews.feeds.parse import FeedParseError, ParsePool, parse_feed
from termnews.feeds.parse.fast import fast_parse
from termnews.model import ParsedFeed, content_hash

URL = "http://blog.example.test/feed/"

Parse = Callable[..., ParsedFeed]


@pytest.fixture(params=[True, False], ids=["fast-path", "feedparser"])
def parse(request: pytest.FixtureRequest) -> Parse:
    """Every parsing test runs twice: through the fast path (where it applies) and feedparser."""
    return functools.partial(parse_feed, fast=request.param)


WORDPRESS_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wfw="http://wellformedweb.org/CommentAPI/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>Allotment &amp; Orchard Notes</title>
  <link>http://blog.example.test</link>
  <description>Growing things slowly</description>
  <item>
    <title>Pruning the old pear tree</title>
    <link>http://blog.example.test/?p=41&amp;lang=en</link>
    <comments>http://blog.example.test/?p=41&amp;lang=en#comments</comments>
    <dc:creator><![CDATA[Marguerite Holm]]></dc:creator>
    <pubDate>Tue, 03 Nov 2026 09:30:00 +0000</pubDate>
    <guid isPermaLink="false">http://blog.example.test/?p=41</guid>
    <description><![CDATA[<p>Winter pruning, short version.</p>]]></description>
    <content:encoded><![CDATA[<p>Pruning, the long version, <b>photos</b>.</p>]]></content:encoded>
    <wfw:commentRss>http://blog.example.test/?feed=rss2&amp;p=41</wfw:commentRss>
    <wfw:comment>http://blog.example.test/wp-comment-api/?p=41</wfw:comment>
    <slash:comments>7</slash:comments>
  </item>
  <item>
    <title>Comments closed here</title>
    <link>http://blog.example.test/?p=40</link>
    <dc:creator>Marguerite Holm</dc:creator>
    <pubDate>Mon, 02 Nov 2026 08:00:00 +0100</pubDate>
    <guid isPermaLink="false">http://blog.example.test/?p=40</guid>
    <description>Nothing to discuss.</description>
  </item>
</channel>
</rss>
"""


def test_wordpress_rss_entry_fields_and_comment_metadata(parse: Parse) -> None:
    feed = parse(WORDPRESS_RSS, URL, "application/rss+xml; charset=UTF-8")
    assert feed.title == "Allotment & Orchard Notes"
    assert feed.site_url == "http://blog.example.test"
    assert feed.format == "rss20"
    assert feed.warning is None
    first, second = feed.entries
    assert first.guid == "http://blog.example.test/?p=41"
    assert first.link == "http://blog.example.test/?p=41&lang=en"
    assert first.title == "Pruning the old pear tree"
    assert first.author == "Marguerite Holm"
    assert first.published == calendar.timegm((2026, 11, 3, 9, 30, 0))
    assert first.updated == first.published
    assert first.summary == "<p>Winter pruning, short version.</p>"
    assert first.content == "<p>Pruning, the long version, <b>photos</b>.</p>"
    assert first.comments.page_url == "http://blog.example.test/?p=41&lang=en#comments"
    assert first.comments.feed_url == "http://blog.example.test/?feed=rss2&p=41"
    assert first.comments.api_url == "http://blog.example.test/wp-comment-api/?p=41"
    assert first.comments.count == 7
    # A post with comments closed carries no metadata at all.
    assert second.comments.page_url is None
    assert second.comments.feed_url is None
    assert second.comments.count is None
    assert second.content is None
    assert second.published == calendar.timegm((2026, 11, 2, 7, 0, 0))


def test_comment_metadata_under_unusual_prefixes(parse: Parse) -> None:
    body = (
        WORDPRESS_RSS.replace(b"xmlns:wfw=", b"xmlns:cmt=")
        .replace(b"xmlns:slash=", b"xmlns:sd=")
        .replace(b"<wfw:", b"<cmt:")
        .replace(b"</wfw:", b"</cmt:")
        .replace(b"<slash:", b"<sd:")
        .replace(b"</slash:", b"</sd:")
    )
    assert b"wfw:" not in body
    entry = parse(body, URL).entries[0]
    assert entry.comments.feed_url == "http://blog.example.test/?feed=rss2&p=41"
    assert entry.comments.api_url == "http://blog.example.test/wp-comment-api/?p=41"
    assert entry.comments.count == 7


def test_non_numeric_comment_count_is_none(parse: Parse) -> None:
    body = WORDPRESS_RSS.replace(b"<slash:comments>7<", b"<slash:comments>many<")
    assert parse(body, URL).entries[0].comments.count is None


BLOGGER_ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:th="http://purl.org/syndication/thread/1.0">
  <id>tag:blogger.example.test,1999:blog-77</id>
  <title type="text">Tide Tables and Other Stories</title>
  <link rel="alternate" type="text/html" href="https://tides.example.test/"/>
  <updated>2026-10-05T12:00:00Z</updated>
  <entry>
    <id>tag:blogger.example.test,1999:blog-77.post-1001</id>
    <published>2026-10-04T18:15:30.000+02:00</published>
    <updated>2026-10-05T08:00:00.000+02:00</updated>
    <title type="html">Neap tides &amp;amp; &lt;em&gt;spring&lt;/em&gt; tides</title>
    <content type="html">&lt;p&gt;The moon does most of the work.&lt;/p&gt;</content>
    <link rel="replies" type="application/atom+xml"
          href="https://tides.example.test/feeds/1001/comments/default" title="Post Comments"/>
    <link rel="replies" type="text/html"
          href="https://tides.example.test/2026/10/neap.html#comment-form" th:count="3"/>
    <link rel="alternate" type="text/html" href="https://tides.example.test/2026/10/neap.html"/>
    <author><name>Ines Vaucher</name></author>
    <th:total>3</th:total>
  </entry>
  <entry>
    <id>tag:blogger.example.test,1999:blog-77.post-1000</id>
    <updated>2026-09-01T00:00:00Z</updated>
    <title>Only an updated date</title>
    <link rel="alternate" type="text/html" href="https://tides.example.test/2026/09/old.html"/>
    <link rel="replies" type="text/html" href="https://tides.example.test/2026/09/old.html#c"
          th:count="12"/>
    <author><name>Ines Vaucher</name></author>
  </entry>
  <entry>
    <id>tag:blogger.example.test,1999:blog-77.post-999</id>
    <updated>2026-08-01T00:00:00Z</updated>
    <title>Total only</title>
    <link rel="replies" type="application/atom+xml" href="https://tides.example.test/c/999"/>
    <th:total>5</th:total>
  </entry>
</feed>
"""


def test_blogger_atom_replies_links_and_thread_counts(parse: Parse) -> None:
    feed = parse(BLOGGER_ATOM, "https://tides.example.test/feeds/posts/default")
    assert feed.format == "atom10"
    assert feed.title == "Tide Tables and Other Stories"
    assert feed.site_url == "https://tides.example.test/"
    first, second, third = feed.entries
    assert first.guid == "tag:blogger.example.test,1999:blog-77.post-1001"
    assert first.title == "Neap tides & spring tides"
    assert first.link == "https://tides.example.test/2026/10/neap.html"
    assert first.author == "Ines Vaucher"
    assert first.published == calendar.timegm((2026, 10, 4, 16, 15, 30))
    assert first.updated == calendar.timegm((2026, 10, 5, 6, 0, 0))
    assert first.content == "<p>The moon does most of the work.</p>"
    assert first.comments.feed_url == "https://tides.example.test/feeds/1001/comments/default"
    assert first.comments.page_url == "https://tides.example.test/2026/10/neap.html#comment-form"
    assert first.comments.count == 3
    # No thr:total: the count comes from the replies link; published falls back to updated.
    assert second.comments.count == 12
    assert second.comments.feed_url is None
    assert second.published == second.updated == calendar.timegm((2026, 9, 1, 0, 0, 0))
    # thr:total under the feed's own prefix ("th" here).
    assert third.comments.count == 5
    assert third.comments.feed_url == "https://tides.example.test/c/999"


RSS10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://birds.example.test/">
    <title>Heron Watch</title>
    <link>http://birds.example.test/</link>
    <description>Sightings</description>
  </channel>
  <item rdf:about="http://birds.example.test/2026/heron-at-dawn">
    <title>Heron at dawn</title>
    <link>http://birds.example.test/2026/heron-at-dawn</link>
    <description>Grey, patient, wet.</description>
    <dc:date>2026-04-01T05:45:00Z</dc:date>
    <dc:creator>Tomas Riedl</dc:creator>
  </item>
</rdf:RDF>
"""


def test_rss10(parse: Parse) -> None:
    feed = parse(RSS10, "http://birds.example.test/index.rdf")
    assert feed.format == "rss10"
    assert feed.title == "Heron Watch"
    (entry,) = feed.entries
    assert entry.title == "Heron at dawn"
    assert entry.link == "http://birds.example.test/2026/heron-at-dawn"
    assert entry.guid == entry.link
    assert entry.author == "Tomas Riedl"
    assert entry.published == calendar.timegm((2026, 4, 1, 5, 45, 0))
    assert entry.summary == "Grey, patient, wet."


NO_GUID = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Loose Ends</title>
<item><title>Has a link</title><link>http://ends.example.test/a</link>
<description>first</description></item>
<item><title>  No link,
  no guid  </title><description>second &amp; last</description></item>
</channel></rss>
"""


def test_guid_falls_back_to_link_then_to_a_hash(parse: Parse) -> None:
    with_link, bare = parse(NO_GUID, "http://ends.example.test/rss").entries
    assert with_link.guid == "http://ends.example.test/a"
    assert bare.link is None
    assert bare.title == "No link, no guid"
    assert bare.guid == content_hash(bare.title, bare.summary)
    assert bare.published is None and bare.updated is None


def test_titles_lose_markup_and_entities(parse: Parse) -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>T</title>
<item><guid>1</guid><title>&lt;b&gt;Bold&lt;/b&gt; claims &amp;amp; caf&amp;eacute;s</title></item>
<item><guid>2</guid><title><![CDATA[Fish &amp; <i>chips</i> &#8212; cheap]]></title></item>
<item><guid>3</guid><title>5 &lt; 7 and 9 &gt; 8</title></item>
</channel></rss>"""
    titles = [e.title for e in parse(body, URL).entries]
    assert titles == ["Bold claims & cafés", "Fish & chips \u2014 cheap", "5 < 7 and 9 > 8"]


def test_dates_in_several_formats_become_utc_seconds(parse: Parse) -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Dates</title>
<item><guid>a</guid><pubDate>Sat, 28 Nov 2026 10:00:00 GMT</pubDate></item>
<item><guid>b</guid><pubDate>Sat, 28 Nov 2026 10:00:00 -0500</pubDate></item>
<item><guid>c</guid><dc:date>2026-11-28T10:00:00+09:00</dc:date></item>
<item><guid>d</guid><pubDate>sometime last week</pubDate></item>
</channel></rss>"""
    a, b, c, d = parse(body, URL).entries
    base = calendar.timegm((2026, 11, 28, 10, 0, 0))
    assert a.published == base
    assert b.published == base + 5 * 3600
    assert c.published == base - 9 * 3600
    assert d.published is None


def test_html_page_is_not_a_feed(parse: Parse) -> None:
    page = b"""<!DOCTYPE html>
<html lang="en"><head><title>Welcome to my site</title></head>
<body><h1>Hello</h1><p>No feed here.</p></body></html>"""
    with pytest.raises(FeedParseError, match=r"not a feed \(got an HTML page\)"):
        parse(page, "http://site.example.test/")
    with pytest.raises(FeedParseError, match="HTML page"):
        parse(b"<p>hi</p>", "http://site.example.test/", "text/html; charset=utf-8")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"\x00\x01\x02garbage\xff\xfe bytes",
        b"just some words, not markup",
        b'{"json": "is not a feed"}',
        b"<?xml version='1.0'?><inventory><item-count>3</item-count></inventory>",
        b"/etc/passwd",  # must never be opened as a file
    ],
)
def test_garbage_raises_a_one_line_feed_parse_error(body: bytes, parse: Parse) -> None:
    with pytest.raises(FeedParseError) as caught:
        parse(body, URL)
    message = str(caught.value)
    assert message.startswith("not a feed")
    assert "\n" not in message
    assert "Traceback" not in message


def test_truncated_feed_keeps_its_entries_and_warns(parse: Parse) -> None:
    cut = WORDPRESS_RSS[: WORDPRESS_RSS.index(b"<title>Comments closed")]
    feed = parse(cut, URL)
    assert [e.guid for e in feed.entries][:1] == ["http://blog.example.test/?p=41"]
    assert feed.entries[0].comments.count == 7
    assert feed.warning is not None
    assert feed.warning.startswith("not well-formed XML at line ")


def test_whitespace_before_the_xml_declaration_is_tolerated(parse: Parse) -> None:
    feed = parse(b"\n\n" + WORDPRESS_RSS, URL)
    assert feed.warning is None
    assert len(feed.entries) == 2
    assert feed.entries[0].author == "Marguerite Holm"


def test_parse_error_pickles() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(FeedParseError("not a feed: example")))
    assert isinstance(error, FeedParseError)
    assert str(error) == "not a feed: example"


async def test_pool_parses_in_another_process_and_matches_parse_feed() -> None:
    with ParsePool(max_workers=1) as pool:
        worker_pid = await pool._call(os.getpid)
        assert worker_pid != os.getpid()
        result = await pool.parse(WORDPRESS_RSS, URL, "application/rss+xml")
        assert result == parse_feed(WORDPRESS_RSS, URL, "application/rss+xml")
        results = await asyncio.gather(
            pool.parse(BLOGGER_ATOM, URL), pool.parse(RSS10, URL), pool.parse(NO_GUID, URL)
        )
        assert [len(r.entries) for r in results] == [3, 1, 2]


async def test_pool_reports_worker_errors_as_feed_parse_errors() -> None:
    with ParsePool(max_workers=1) as pool:
        with pytest.raises(FeedParseError, match="HTML page"):
            await pool.parse(b"<!doctype html><html><body>x</body></html>", URL)
        # The worker is still usable afterwards.
        assert len((await pool.parse(RSS10, URL)).entries) == 1


async def test_pool_survives_a_killed_worker() -> None:
    with ParsePool(max_workers=1) as pool:
        victim = await pool._call(os.getpid)
        sleeper = asyncio.ensure_future(pool._call(time.sleep, 30))
        await asyncio.sleep(0.2)  # let the worker pick the job up
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(FeedParseError, match="stopped unexpectedly"):
            await asyncio.wait_for(sleeper, 20)
        # A fresh pool takes over.
        assert len((await pool.parse(RSS10, URL)).entries) == 1
        assert await pool._call(os.getpid) != victim


async def test_closed_pool_refuses_work() -> None:
    pool = ParsePool()
    pool.close()
    with pytest.raises(FeedParseError, match="closed"):
        await pool.parse(RSS10, URL)


# --- the fast path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [WORDPRESS_RSS, BLOGGER_ATOM, RSS10, NO_GUID, b"\xef\xbb\xbf" + WORDPRESS_RSS]
)
def test_plain_feeds_take_the_fast_path(body: bytes) -> None:
    fast = fast_parse(body, URL, None)
    assert fast is not None
    assert fast == parse_feed(body, URL, fast=False)


RELATIVE_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://kiln.example.test/journal/">
  <title>Kiln Journal</title>
  <link href="./"/>
  <id>urn:uuid:6a1c0e38-kiln</id>
  <entry xml:base="posts/">
    <id>urn:uuid:6a1c0e38-kiln-1</id>
    <title type="text">Glaze notes</title>
    <link rel="alternate" href="glaze-notes.html"/>
    <link rel="replies" type="application/atom+xml" href="glaze-notes/comments.xml"/>
    <updated>2026-02-02T10:00:00Z</updated>
    <summary>Ash glazes and patience</summary>
  </entry>
  <entry>
    <id>urn:uuid:6a1c0e38-kiln-2</id>
    <title>No alternate link</title>
    <updated>2026-02-01T10:00:00Z</updated>
  </entry>
</feed>
"""


def test_xml_base_resolves_links_alike_on_both_paths(parse: Parse) -> None:
    feed = parse(RELATIVE_ATOM, "https://kiln.example.test/feed.atom")
    assert feed.site_url == "https://kiln.example.test/journal/"
    first, second = feed.entries
    assert first.link == "https://kiln.example.test/journal/posts/glaze-notes.html"
    assert first.comments.feed_url == (
        "https://kiln.example.test/journal/posts/glaze-notes/comments.xml"
    )
    # feedparser takes the id as the link when there is no alternate link; so do we.
    assert second.link == "urn:uuid:6a1c0e38-kiln-2"
    assert fast_parse(RELATIVE_ATOM, "https://kiln.example.test/feed.atom", None) == feed


def test_doubly_encoded_utf8_is_repaired_on_both_paths(parse: Parse) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        "<item><guid>1</guid><title>Caf\u00c3\u00a9 au lait</title></item></channel></rss>"
    ).encode()
    assert parse(body, URL).entries[0].title == "Café au lait"


WITH_BASE64_DESCRIPTION = WORDPRESS_RSS.replace(
    b"<description><![CDATA[<p>Winter",
    b'<description type="application/octet-stream"><![CDATA[<p>Winter',
)
WITH_DOCTYPE = WORDPRESS_RSS.replace(b"<rss ", b"<!DOCTYPE rss>\n<rss ")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (WORDPRESS_RSS, "text/html"),  # not an XML type: feedparser's rules apply
        (WORDPRESS_RSS, "application/rss+xml; charset=iso-8859-1"),  # disagrees with the XML
        (WITH_BASE64_DESCRIPTION, None),  # feedparser decodes that type as base64
        (WITH_DOCTYPE, None),
        (b"\xef\xbb\xbf" + WORDPRESS_RSS.replace(b'"UTF-8"', b'"ISO-8859-1"'), None),
        (WORDPRESS_RSS.replace(b'"UTF-8"', b'"UTF-16"').decode().encode("utf-16"), None),
    ],
    ids=["html-type", "charset-mismatch", "base64-type", "doctype", "bom-latin1", "bom-utf16"],
)
def test_fast_path_declines_what_it_does_not_mirror(body: bytes, content_type: str | None) -> None:
    assert fast_parse(body, URL, content_type) is None
    # ...and parse_feed still answers, through feedparser.
    feed = parse_feed(body, URL, content_type)
    assert feed == parse_feed(body, URL, content_type, fast=False)
    assert len(feed.entries) == 2
    assert feed.entries[0].author == "Marguerite Holm"


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        (b"<author>Ada</author><dc:creator/>", "Ada"),
        (b"<author>Ada</author><dc:creator>Brook</dc:creator>", "Brook"),
        (b"<dc:creator>Brook</dc:creator><author></author>", "Brook"),
        (b"<author></author><dc:creator/>", None),
    ],
)
def test_the_last_non_empty_author_wins(parse: Parse, authors: bytes, expected: str | None) -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<channel><title>t</title><item><guid>g</guid>" + authors + b"</item></channel></rss>"
    )
    assert parse(body, URL).entries[0].author == expected


# --- what feedparser does with summary-like elements, mirrored by the fast path ----------------

PODCAST_NS = (
    b'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    b'xmlns:media="http://search.yahoo.com/mrss/" '
    b'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
)


def _podcast(channel_extra: bytes, item: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" ' + PODCAST_NS + b">"
        b"<channel><title>Shed Radio</title><link>http://shed.example.test/</link>"
        + channel_extra
        + b"<item><guid>ep-1</guid><title>Episode one</title>"
        + item
        + b"</item></channel></rss>"
    )


@pytest.mark.parametrize(
    ("channel_extra", "item", "summary", "content"),
    [
        # a second summary-like element, while there is no content yet, becomes the content
        (b"", b"<description>D</description><itunes:summary>S S</itunes:summary>", "D", "S S"),
        (b"", b"<itunes:summary>S</itunes:summary><description>D D</description>", "S", "D D"),
        # after content:encoded, the last summary-like element is the summary
        (
            b"",
            b"<content:encoded>C C C</content:encoded><description>D</description>"
            b"<itunes:summary>S</itunes:summary>",
            "S",
            "C C C",
        ),
        # a nested media:description is the summary only where there is none yet
        (b"", b"<media:group><media:description>M</media:description></media:group>", "M", None),
        (
            b"",
            b"<media:group><media:description>M M</media:description></media:group>"
            b"<description>D</description>",
            "M M",
            "D",
        ),
        # with content present, a shallower description overwrites a nested one, not back
        (
            b"",
            b"<content:encoded>C</content:encoded><description>D</description>"
            b"<media:group><media:description>M</media:description></media:group>",
            "D",
            "C",
        ),
        # a channel-level itunes:summary then description leaves hasContent set for the
        # first item: its second summary-like element overwrites instead of becoming content
        (
            b"<itunes:summary>about</itunes:summary><description>show</description>",
            b"<description>D</description><itunes:summary>S</itunes:summary>",
            "S",
            None,
        ),
    ],
    ids=[
        "desc-then-itunes",
        "itunes-then-desc",
        "after-content",
        "nested-media",
        "nested-then-desc",
        "shallow-wins",
        "channel-carry",
    ],
)
def test_summary_like_elements_follow_feedparser(
    channel_extra: bytes, item: bytes, summary: str, content: str | None
) -> None:
    body = _podcast(channel_extra, item)
    fast = fast_parse(body, URL, None)
    assert fast is not None, "the fast path should take this feed"
    assert fast == parse_feed(body, URL, fast=False)
    (entry,) = fast.entries
    assert (entry.summary, entry.content) == (summary, content)


@pytest.mark.parametrize(
    ("item", "title"),
    [
        (b"<media:title>M</media:title>", "Episode one"),
        # a title inside an Atom-style author is a deeper title: the entry's own wins
        (b"<author><name>Ann</name><title>Producer</title></author>", "Episode one"),
        # an unknown element's unprefixed children are read like the entry's own: a nested
        # title loses to the entry's, a nested empty description becomes (empty) content
        (
            b"<description>D</description>"
            b"<og><type>article</type><title>O</title><description></description></og>",
            "Episode one",
        ),
        (
            b'<atom:contributor xmlns:atom="http://www.w3.org/2005/Atom">'
            b"<atom:name>Guest</atom:name></atom:contributor>",
            "Episode one",
        ),
        # <source> resets feedparser's title bookkeeping, so a later media:title wins
        (b'<source url="http://x.example.test/">X</source><media:title>M</media:title>', "M"),
    ],
)
def test_media_title_follows_feedparser(item: bytes, title: str) -> None:
    body = _podcast(b"", item)
    fast = fast_parse(body, URL, None)
    assert fast is not None
    assert fast == parse_feed(body, URL, fast=False)
    assert fast.entries[0].title == title
    assert fast.entries[0].author in (None, "Ann")


def test_unknown_namespace_is_named_by_its_prefix() -> None:
    """feedparser names elements of a namespace it does not know by the document's prefix."""
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        b'xmlns:content="http://purl.org/rss/1.0/modules/content">'
        b"<channel><title>t</title><item><guid>g</guid><description>short</description>"
        b"<content:encoded>the long text</content:encoded></item></channel></rss>"
    )
    fast = fast_parse(body, URL, None)
    assert fast is not None
    assert fast == parse_feed(body, URL, fast=False)
    assert fast.entries[0].content == "the long text"


def test_undeclared_non_ascii_feed_without_a_type_is_left_to_feedparser() -> None:
    """Served without a Content-Type and declaring no encoding, feedparser reads ISO-8859-1."""
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><guid>g</guid><title>\u00abNa\u00efve\u00bb</title></item></channel></rss>"
    ).encode()
    assert fast_parse(body, URL, None) is None
    assert parse_feed(body, URL) == parse_feed(body, URL, fast=False)
    # with an XML type, feedparser reads UTF-8 like the fast path
    fast = fast_parse(body, URL, "application/rss+xml")
    assert fast is not None
    assert fast.entries[0].title == "\u00abNa\u00efve\u00bb"
    assert fast == parse_feed(body, URL, "application/rss+xml", fast=False)


def test_the_pool_parses_when_tmpdir_is_too_long_for_the_forkserver_socket(
    tmp_path: Path,
) -> None:
    # The forkserver listens on an AF_UNIX socket in $TMPDIR (at most ~107 bytes): with a
    # longer TMPDIR every parse failed. The pool must fall back to spawned workers.
    long_tmp = tmp_path / ("t" * 100)
    long_tmp.mkdir()
    code = (
        "import asyncio\n"
        "from termnews.feeds.parse import ParsePool\n"
        'body = b\'<rss version="2.0"><channel><title>Long</title>'
        "<item><title>One</title><guid>1</guid></item></channel></rss>'\n"
        "async def main():\n"
        "    with ParsePool(max_workers=1) as pool:\n"
        "        feed = await pool.parse(body, 'http://example.org/feed')\n"
        "    print(feed.title, len(feed.entries))\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    script = tmp_path / "parse_once.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "TMPDIR": str(long_tmp)}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["Long", "1"]
