"""parse_feed over every feed of the shared corpus (skipped where the corpus is absent)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import feedparser
import pytest

from termnews.feeds.parse import (
    FeedParseError,
    parse_feed,
)
from termnews.feeds.parse.document import trim_before_declaration
from termnews.feeds.parse.fast import Decline, FastReader, fast_parse
from termnews.model import ParsedFeed
from tests.support.corpus import ABSENT, CORPUS, FEEDS
from tests.support.feedserver import FEED_TYPES

COUNT_COLUMN = "entries_per_feedparser_6.0.14"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not FEEDS.is_dir(), reason=ABSENT),
]


def _feed_files() -> list[Path]:
    return sorted(FEEDS.iterdir()) if FEEDS.is_dir() else []


def _manifest_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return counts
    with manifest.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            value = (row.get(COUNT_COLUMN) or "").strip()
            if value.isdigit():
                counts[row["file"]] = int(value)
    return counts


MANIFEST_COUNTS = _manifest_counts()


def _reference_count(path: Path, body: bytes) -> int:
    """The manifest's count, or feedparser's own (with its defaults) where the row has none."""
    if path.name in MANIFEST_COUNTS:
        return MANIFEST_COUNTS[path.name]
    return len(feedparser.parse(io.BytesIO(body)).entries)


@pytest.mark.parametrize("path", _feed_files(), ids=lambda p: p.name)
def test_corpus_feed_parses_like_feedparser(path: Path) -> None:
    body = path.read_bytes()
    url = f"http://corpus.example.test/{path.name}"
    expected = _reference_count(path, body)
    try:
        feed = parse_feed(body, url)
    except FeedParseError as error:
        message = str(error)
        assert message and "\n" not in message
        assert expected == 0, f"{path.name}: {message}"
        return
    assert len(feed.entries) == expected
    assert feed.format
    for entry in feed.entries:
        assert entry.guid
        assert isinstance(entry.title, str)
        assert "\n" not in entry.title
        assert entry.comments.count is None or entry.comments.count >= 0
    guids = [e.guid for e in feed.entries]
    assert all(isinstance(g, str) for g in guids)
    if feed.warning is not None:
        assert "\n" not in feed.warning


def _differences(fast: ParsedFeed, ref: ParsedFeed) -> list[str]:
    """What a reader would see differently between the fast path and feedparser."""
    found = []
    for name in ("title", "site_url", "format"):
        if getattr(fast, name) != getattr(ref, name):
            found.append(f"feed {name}: {getattr(fast, name)!r} != {getattr(ref, name)!r}")
    if len(fast.entries) != len(ref.entries):
        found.append(f"{len(fast.entries)} entries != {len(ref.entries)}")
    for index, (a, b) in enumerate(zip(fast.entries, ref.entries, strict=False)):
        for name in ("guid", "title", "link", "author", "summary", "content", "comments"):
            if getattr(a, name) != getattr(b, name):
                found.append(
                    f"entry {index} {name}: {getattr(a, name)!r:.80} != {getattr(b, name)!r:.80}"
                )
        for name in ("published", "updated"):
            x, y = getattr(a, name), getattr(b, name)
            if (x is None) != (y is None) or (x is not None and y is not None and abs(x - y) > 1):
                found.append(f"entry {index} {name}: {x} != {y}")
    return found


@pytest.mark.parametrize("served", [False, True], ids=["no-type", "served-type"])
@pytest.mark.parametrize("path", _feed_files(), ids=lambda p: p.name)
def test_fast_path_agrees_with_feedparser(path: Path, served: bool) -> None:
    """Wherever the fast path takes a feed, it yields exactly what feedparser yields.

    Both without a Content-Type and with the one the test feed server sends for the file.
    """
    body = path.read_bytes()
    url = f"http://corpus.example.test/{path.name}"
    content_type = FEED_TYPES.get(path.suffix.lower()) if served else None
    try:  # the reader itself, so that a bug in it fails here instead of falling back quietly
        fast = FastReader(trim_before_declaration(body), url, content_type).read()
    except Decline:
        return  # declined: feedparser parses this one, nothing to compare
    reference = parse_feed(body, url, content_type, fast=False)
    assert _differences(fast, reference) == []
    assert parse_feed(body, url, content_type) == fast


def test_fast_path_takes_most_of_the_corpus() -> None:
    taken = [
        p.name
        for p in _feed_files()
        if fast_parse(
            trim_before_declaration(p.read_bytes()),
            "http://c.example.test/",
            FEED_TYPES.get(p.suffix.lower()),
        )
    ]
    assert len(taken) >= 125, f"the fast path took only {len(taken)} feeds"


def test_corpus_is_complete_enough_to_mean_something() -> None:
    files = _feed_files()
    assert len(files) >= 100
    assert len(MANIFEST_COUNTS) >= 100
