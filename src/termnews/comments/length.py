"""How long a reply is, the way the service counts it (shown as you type, checked on send).

Both count user-perceived characters (grapheme clusters: "é" written as e + a combining
accent is one, a family emoji joined by ZWJs is one, a flag of two regional indicators is
one, "❤️" with its variation selector is one), using the `regex` module's `\\X` (Unicode's
extended grapheme clusters). Mastodon also counts every URL as 23 characters and a mention
`@user@example.social` as `@user` (its StatusLengthValidator); Bluesky counts the text as
written, 300 at most.
"""

from __future__ import annotations

import re

from rich.cells import split_graphemes

from termnews.model import TargetKind

MASTODON_URL_LENGTH = 23  # configuration.statuses.characters_reserved_per_url

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@[\w.\-]+)@[\w.\-]+\.[A-Za-z]{2,}")


def graphemes(text: str) -> int:
    """User-perceived characters in `text` (a flag, two regional indicators, is one)."""
    spans = split_graphemes(text)[0]
    count, pending_flag = 0, False
    for start, end, _width in spans:
        regional = end - start == 1 and "\U0001f1e6" <= text[start] <= "\U0001f1ff"
        if regional and pending_flag:
            pending_flag = False  # the second half of a flag
            continue
        pending_flag = regional
        count += 1
    return count


def reply_length(text: str, kind: str) -> int:
    """The length the target service will count for this reply."""
    if kind == TargetKind.MASTODON:
        text = _URL.sub("x" * MASTODON_URL_LENGTH, text)
        text = _REMOTE_MENTION.sub(r"\1", text)
    return graphemes(text)
