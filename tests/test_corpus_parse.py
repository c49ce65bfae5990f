"""parse_feed over every feed of the shared corpus (skipped where the corpus is absent)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import feedparser
import pytest

from termnews.parse import FeedParseError, parse_feed

CORPUS = Path(
    os.environ.get("TERMNEWS_CORPUS")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
)
FEEDS = CORPUS / "feeds"
COUNT_COLUMN = "entries_per_feedparser_6.0.14"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not FEEDS.is_dir(), reason=f"feed corpus not found at {CORPUS} (set TERMNEWS_CORPUS)"
    ),
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


def test_corpus_is_complete_enough_to_mean_something() -> None:
    files = _feed_files()
    assert len(files) >= 100
    assert len(MANIFEST_COUNTS) >= 100
