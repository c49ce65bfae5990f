"""Enclosures (RSS <enclosure>, Atom rel="enclosure", Media RSS, JSON Feed attachments)
parsed into the model, the same by the fast reader and by feedparser."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import pytest

from termnews.feeds.parse import parse_feed
from termnews.feeds.parse.fast import fast_parse
from termnews.feeds.parse.media import parse_duration
from termnews.model import Enclosure, ParsedFeed

URL = "https://radio.example.test/podcast.rss"

Parse = Callable[..., ParsedFeed]


@pytest.fixture(params=[True, False], ids=["fast-path", "feedparser"])
def parse(request: pytest.FixtureRequest) -> Parse:
    return functools.partial(parse_feed, fast=request.param)


PODCAST = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
  xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Harbour Radio</title>
  <link>https://radio.example.test/</link>
  <item>
    <title>Episode 2: nets</title>
    <guid isPermaLink="false">ep2</guid>
    <enclosure url="https://cdn.example.test/ep2.mp3" length="48211200" type="Audio/MPEG"/>
    <itunes:duration>1:02:04</itunes:duration>
    <media:group>
      <media:content url="https://cdn.example.test/ep2.mp3" fileSize="1" duration="3723"/>
      <media:content url="https://cdn.example.test/ep2.ogg" type="audio/ogg"
        fileSize="30000000" duration="3723.5"/>
    </media:group>
    <media:content url="https://cdn.example.test/cover.jpg" medium="image"/>
  </item>
  <item>
    <title>Episode 1: ropes</title>
    <guid isPermaLink="false">ep1</guid>
    <enclosure url="https://cdn.example.test/ep1.mp3" length="0" type="audio/mpeg"/>
    <itunes:duration>41:09</itunes:duration>
  </item>
  <item>
    <title>Trailer</title>
    <guid isPermaLink="false">trailer</guid>
    <media:content url="https://cdn.example.test/trailer.mp4" medium="video" fileSize="52000"
      duration="95" type="video/mp4"/>
    <media:content url="https://cdn.example.test/still.png" type="image/png"/>
  </item>
  <item><title>Notes only</title><guid isPermaLink="false">notes</guid></item>
</channel>
</rss>
"""


def test_rss_enclosures_itunes_duration_and_media_rss(parse: Parse) -> None:
    entries = {e.guid: e.enclosures for e in parse(PODCAST, URL, "application/rss+xml").entries}
    assert entries["ep2"] == [
        # media:content of the same URL fills in what the enclosure lacks (not its length);
        # itunes:duration only where neither gives one
        Enclosure("https://cdn.example.test/ep2.mp3", "audio/mpeg", 48211200, 3723.0),
        Enclosure("https://cdn.example.test/ep2.ogg", "audio/ogg", 30000000, 3723.5),
    ]  # the cover image (medium="image") is an illustration, not an enclosure
    assert entries["ep1"] == [
        Enclosure("https://cdn.example.test/ep1.mp3", "audio/mpeg", None, 2469.0)
    ]  # length="0": unknown
    assert entries["trailer"] == [
        Enclosure("https://cdn.example.test/trailer.mp4", "video/mp4", 52000, 95.0)
    ]
    assert entries["notes"] == []


def test_the_fast_path_takes_a_podcast_and_agrees_with_feedparser() -> None:
    fast = fast_parse(PODCAST, URL, "application/rss+xml")
    assert fast is not None
    assert fast == parse_feed(PODCAST, URL, "application/rss+xml", fast=False)


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://kiln.example.test/journal/">
  <title>Kiln journal</title>
  <id>urn:kiln</id>
  <updated>2026-11-01T00:00:00Z</updated>
  <entry>
    <title>Firing log</title>
    <id>urn:kiln:1</id>
    <updated>2026-11-01T00:00:00Z</updated>
    <link href="firing-log.html"/>
    <link rel="enclosure" href="media/log.pdf" type="application/pdf" length="5120"
      title="The whole  log"/>
    <link rel="Enclosure" href="https://kiln.example.test/media/log.pdf" type="application/pdf"/>
    <link rel="enclosure" xml:base="https://cdn.example.test/" href="clip.webm"
      type="video/webm"/>
  </entry>
</feed>
"""


def test_atom_enclosure_links_resolve_against_xml_base(parse: Parse) -> None:
    (entry,) = parse(ATOM, "https://kiln.example.test/feed.atom", None).entries
    assert entry.link == "https://kiln.example.test/journal/firing-log.html"
    assert entry.enclosures == [
        Enclosure(
            "https://kiln.example.test/journal/media/log.pdf",
            "application/pdf",
            5120,
            None,
            "The whole log",
        ),
        Enclosure("https://kiln.example.test/media/log.pdf", "application/pdf"),
        Enclosure("https://cdn.example.test/clip.webm", "video/webm"),
    ]
    assert fast_parse(ATOM, "https://kiln.example.test/feed.atom", None) is not None


HOSTILE = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
  xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Odd</title>
  <item><title>a</title><guid isPermaLink="false">a</guid>
    <enclosure url="javascript:alert(1)" type="audio/mpeg"/>
    <enclosure url="https://x.test/a\x1b]52;c;Zm9v\x07.mp3" length="-5" type="not a type"/>
    <enclosure url="https://x.test/b.mp3" length="99999999999999999999999" type="audio/mpeg"/>
    <enclosure url="https://x.test/b.mp3" length="7" type="audio/mpeg"/>
    <enclosure length="7" type="audio/mpeg"/>
    <enclosure url="" type="audio/mpeg"/>
    <itunes:duration>about an hour</itunes:duration>
    <media:content url="https://x.test/c.mp3" type="audio/mpeg" duration="-3" fileSize="ten"/>
  </item>
</channel></rss>
""".replace(b"\x1b]52;c;Zm9v\x07", b"%1b")


def test_odd_and_hostile_enclosure_values_are_dropped_not_trusted(parse: Parse) -> None:
    (entry,) = parse(HOSTILE, URL, None).entries
    assert entry.enclosures == [
        Enclosure("https://x.test/a%1b.mp3", None, None, None),
        Enclosure("https://x.test/b.mp3", "audio/mpeg", None, None),  # first one of a URL
        Enclosure("https://x.test/c.mp3", "audio/mpeg", None, None),
    ]


NESTED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Nested</title>
  <item><title>a</title><guid isPermaLink="false">a</guid>
    <source url="https://elsewhere.test/">Elsewhere</source>
    <category>x<enclosure url="https://x.test/hidden.mp3" type="audio/mpeg"/></category>
  </item>
</channel></rss>
"""


def test_an_enclosure_the_fast_path_cannot_place_goes_to_feedparser() -> None:
    assert fast_parse(NESTED, URL, None) is None
    (entry,) = parse_feed(NESTED, URL, None).entries
    assert [e.url for e in entry.enclosures] == ["https://x.test/hidden.mp3"]


def test_json_feed_attachments_are_enclosures() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Radio",
            "items": [
                {
                    "id": "1",
                    "content_text": "Episode",
                    "attachments": [
                        {
                            "url": "/ep1.m4a",
                            "mime_type": "Audio/x-m4a",
                            "title": "Episode  one",
                            "size_in_bytes": 89970236,
                            "duration_in_seconds": 6629.5,
                        },
                        {"url": "/ep1.m4a", "mime_type": "audio/x-m4a"},  # a repeat
                        {"url": "javascript:alert(1)", "mime_type": "audio/mpeg"},
                        {"url": "https://x.test/t.txt", "size_in_bytes": True, "mime_type": 3},
                        {
                            "url": "https://x.test/n",
                            "size_in_bytes": 1.5,
                            "duration_in_seconds": -1,
                        },
                        "not an object",
                    ],
                },
                {"id": "2", "content_text": "none", "attachments": {"url": "/x"}},
            ],
        }
    ).encode()
    first, second = parse_feed(body, URL, "application/feed+json").entries
    assert first.enclosures == [
        Enclosure(
            "https://radio.example.test/ep1.m4a", "audio/x-m4a", 89970236, 6629.5, "Episode one"
        ),
        Enclosure("https://x.test/t.txt"),
        Enclosure("https://x.test/n"),
    ]
    assert second.enclosures == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3723", 3723.0),
        ("3723.5", 3723.5),
        ("62:03", 3723.0),
        ("1:02:03", 3723.0),
        (" 00:41:09 ", 2469.0),
        ("0", None),
        ("00:00", None),
        ("1:2:3:4", None),
        ("-5", None),
        ("an hour", None),
        ("", None),
        (None, None),
    ],
)
def test_durations(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == seconds
