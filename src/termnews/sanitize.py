"""The one place outside text is made safe for a terminal.

Every string that came from outside (feed titles, article HTML, comments, error messages
from servers, member names) passes through ``clean_text``, ``clean_line`` or ``clean_url``
before it reaches a terminal, so a feed can never move the cursor, set the clipboard
(OSC 52), rename the window, inject OSC 8 hyperlinks or reorder text with bidi overrides.
``strip_controls`` is ``clean_text`` for text that is stored as typed (tabs kept), and
``strip_tags`` is the one way markup is dropped where HTML is wanted as plain text.

This module imports nothing of termnews: everything else may import it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

from rich.cells import cell_len, split_graphemes
from rich.cells import get_character_cell_size as cell_size

__all__ = [
    "ELLIPSIS",
    "clean_line",
    "clean_text",
    "clean_url",
    "crop_cells",
    "hyperlink_target",
    "is_single_cell",
    "strip_controls",
    "strip_tags",
]


_STARTERS = r"\x1b\x90\x98\x9b\x9c\x9d\x9e\x9f"
_HOSTILE = re.compile(
    "|".join(
        [
            r"\x1b\[[0-?]*[ -/]*[@-~]",  # CSI: cursor moves, colours, erase ...
            r"\x9b[0-?]*[ -/]*[@-~]",  # 8-bit CSI
            # String sequences. Payloads stop at any introducer, so an unterminated one costs
            # a scan to the next introducer, never to the end of the text (no quadratic time);
            # its introducer is removed below and the payload stays as inert text.
            rf"\x1b\][^\x07{_STARTERS}]*(?:\x07|\x1b\\|\x9c)",  # OSC: title, OSC 8, OSC 52
            rf"\x9d[^\x07{_STARTERS}]*(?:\x07|\x1b\\|\x9c)",  # 8-bit OSC
            rf"\x1b[PX^_][^{_STARTERS}]*(?:\x1b\\|\x9c)",  # DCS / SOS / PM / APC up to ST
            rf"[\x90\x98\x9e\x9f][^{_STARTERS}]*(?:\x1b\\|\x9c)",  # their 8-bit forms
            r"\x1b[ -/]*[0-~]",  # two-character (and nF) escapes: ESC c, ESC 7, ESC ( B
            # Single characters: C0 (but \t \n), DEL, C1, bidi controls, invisible format
            # characters that can hide text, interlinear annotations, tag characters,
            # lone surrogates. ZWJ (U+200D) and variation selectors stay for emoji.
            "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
            "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
            "\U000e0000-\U000e007f\ud800-\udfff]",
        ]
    ),
    re.DOTALL,
)
# Every hostile sequence starts with one of these: a cheap scan before the full pattern.
_SUSPECT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f\ud800-\udfff]"
)
_LINE_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n"})
_WHITESPACE = re.compile(r"\s+")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_DROP = re.compile(r"[\t\n\r]")
ELLIPSIS = "…"


def strip_controls(text: str | None) -> str:
    """Remove escape sequences and control characters; keep newlines and tabs as they are."""
    if not text:
        return ""
    if _SUSPECT.search(text) is not None:
        text = _HOSTILE.sub("", text)
    return text


def clean_text(text: str | None) -> str:
    """Remove everything a terminal would act on; keep newlines, expand tabs (4)."""
    text = strip_controls(text)
    if "\t" in text:
        text = text.expandtabs(4)
    if "\u2028" in text or "\u2029" in text:
        text = text.translate(_LINE_SEPARATORS)
    return text


def clean_line(text: str | None, max_len: int | None = None) -> str:
    """``clean_text`` on one line: whitespace runs collapse to one space; optional crop.

    ``max_len`` is in terminal cells; a cropped line ends with "…".
    """
    text = _WHITESPACE.sub(" ", clean_text(text)).strip()
    if max_len is not None and cell_len(text) > max_len:
        text = crop_cells(text, max(0, max_len - 1)) + ELLIPSIS if max_len > 0 else ""
    return text


def clean_url(url: str | None) -> str | None:
    """A URL safe to show and to open: http, https, mailto or relative; anything else None."""
    if not url:
        return None
    url = _URL_DROP.sub("", clean_text(url)).strip()
    if not url:
        return None
    url = _WHITESPACE.sub("%20", url)
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if scheme and scheme not in _SAFE_SCHEMES:
        return None
    if not scheme and ":" in url.split("/", 1)[0] and not url.startswith("//"):
        return None  # "java script:..." and friends that urlsplit does not call a scheme
    return url


# Longest address sent in an OSC 8 hyperlink: VTE drops longer ones (2083 bytes), and a
# longer one is more likely a payload than a page.
HYPERLINK_MAX = 2048
# What stays as it is in an OSC 8 address: printable ASCII, never ESC, BEL, ST or a space.
_HYPERLINK_SAFE = "".join(chr(code) for code in range(0x21, 0x7F))


def hyperlink_target(url: str | None) -> str | None:
    """The address an OSC 8 hyperlink may carry for ``url`` (one that ``clean_url`` gave):
    absolute http(s) with a host, or mailto; printable ASCII only (other characters are
    percent-encoded), at most HYPERLINK_MAX bytes. None: the text is shown without a link."""
    url = clean_url(url)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (scheme in ("http", "https") and not parts.hostname) or scheme not in _SAFE_SCHEMES:
        return None
    if scheme == "mailto" and not parts.path:
        return None
    target = quote(url, safe=_HYPERLINK_SAFE)
    return target if len(target) <= HYPERLINK_MAX else None


# A tag, a declaration or a processing instruction. "[^<>]*" stops at the next "<", so no
# attempt scans past it: linear time on any input. "<" before a space, a digit or another
# "<" is text ("a < b", "x <3").
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")


def strip_tags(html: str | None, replacement: str = " ") -> str:
    """HTML without its tags, comments and declarations, each replaced by ``replacement``.

    Entities stay as they are (``html.unescape`` after, if wanted), and so do control
    characters: run ``clean_text``/``clean_line`` on the result, after and never before
    (removing a tag can join the halves of an escape sequence). An unterminated comment
    hides the rest of the text, as in a browser.
    """
    if not html:
        return ""
    if "<" not in html:
        return html
    if "<!--" in html:
        html = _strip_comments(html, replacement)
    return _MARKUP.sub(replacement, html)


def _strip_comments(html: str, replacement: str) -> str:
    # str.find, not a lazy regex: "<!--" a million times unclosed would scan quadratically
    out: list[str] = []
    pos = 0
    while (start := html.find("<!--", pos)) >= 0:
        out.append(html[pos:start])
        out.append(replacement)
        end = html.find("-->", start + 4)
        pos = len(html) if end < 0 else end + 3
    out.append(html[pos:])
    return "".join(out)


@lru_cache(maxsize=8192)
def _one_cell(char: str) -> bool:
    """Latin, Greek, Cyrillic, Hebrew, punctuation (curly quotes, dashes), symbols, arrows,
    box drawing that are one cell wide: the characters of most Western posts. Asked per
    character and kept, rather than a table of 11,000 built on first use (30 ms)."""
    return 0x20 <= ord(char) < 0x2C00 and char not in "\u200d\ufe0f" and cell_size(char) == 1


def is_single_cell(text: str) -> bool:
    """True if every character of ``text`` is one cell wide (so cells == len)."""
    if text.isascii():
        return text.isprintable()
    return all(map(_one_cell, set(text)))


def crop_cells(text: str, cells: int) -> str:
    """The longest prefix of ``text`` that fits in ``cells`` terminal cells."""
    if is_single_cell(text):
        return text[:cells]
    used = 0
    for start, _end, width in split_graphemes(text)[0]:
        if used + width > cells:
            return text[:start]
        used += width
    return text
