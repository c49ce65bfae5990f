"""Reply lengths as Mastodon and Bluesky count them (comments/length.py)."""

from __future__ import annotations

import pytest

from termnews.comments.length import graphemes, reply_length
from termnews.model import TargetKind


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("abc", 3),
        ("e\u0301", 1),  # a combining accent joins its letter
        ("a\u0308\u0323", 1),  # two combining marks
        ("👨\u200d👩\u200d👧\u200d👦", 1),  # a family joined by ZWJs
        ("🇩🇪🇫🇷", 2),  # two flags, two regional indicators each
        ("🇩🇪🇫", 2),  # a flag and a lone regional indicator
        ("❤\ufe0f", 1),  # a variation selector belongs to its character
        ("👍🏽", 1),  # a skin tone modifier too
        ("한국어", 3),
        ("", 0),
    ],
)
def test_graphemes_count_what_a_reader_sees(text: str, count: int) -> None:
    assert graphemes(text) == count


def test_mastodon_counts_urls_as_23_and_remote_mentions_by_name() -> None:
    url = "https://example.org/a/very/long/path/that/goes/on/and/on?with=query"
    assert reply_length(f"see {url}", TargetKind.MASTODON) == 4 + 23
    assert reply_length("@ada@mastodon.example hi", TargetKind.MASTODON) == len("@ada hi")
    assert reply_length("mail ada@example.org", TargetKind.MASTODON) == 20  # not a mention


def test_bluesky_counts_the_text_as_written() -> None:
    url = "https://example.org/a/very/long/path"
    assert reply_length(f"see {url}", TargetKind.BLUESKY) == 4 + len(url)
    assert reply_length("👨\u200d👩\u200d👧 e\u0301", TargetKind.BLUESKY) == 3
