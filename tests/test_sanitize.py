"""clean_text / clean_line / clean_url / strip_tags: nothing a terminal would act on survives."""

from __future__ import annotations

import random
import re

import pytest
from rich.cells import cell_len

from termnews.sanitize import clean_line, clean_text, clean_url, strip_controls, strip_tags

# Anything a terminal interprets, or that reorders / hides text.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    "\U000e0000-\U000e007f\ud800-\udfff]"
)

HOSTILE = {
    "csi cursor home": ("before\x1b[Hafter", "beforeafter"),
    "csi cursor move": ("a\x1b[10;20Hb\x1b[2Ac", "abc"),
    "csi erase screen": ("x\x1b[2Jy", "xy"),
    "csi private mode": ("x\x1b[?1049hy\x1b[?25l", "xy"),
    "sgr colour": ("\x1b[1;31mred\x1b[0m", "red"),
    "osc 52 clipboard, bel": ("ok\x1b]52;c;cm0gLXJmIH4=\x07done", "okdone"),
    "osc 52 clipboard, st": ("ok\x1b]52;c;cm0gLXJmIH4=\x1b\\done", "okdone"),
    "osc 8 hyperlink": ("\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\", "click me"),
    "osc 0 window title": ("\x1b]0;owned terminal\x07text", "text"),
    "osc 2 window title": ("\x1b]2;owned\x1b\\text", "text"),
    "dcs": ("a\x1bP1$r0m\x1b\\b", "ab"),
    "dcs sixel": ("a\x1bPq#0;2;0;0;0#0~~@@\x1b\\b", "ab"),
    "apc": ("a\x1b_Gf=100;AAAA\x1b\\b", "ab"),
    "pm": ("a\x1b^private\x1b\\b", "ab"),
    "sos": ("a\x1bXstring\x1b\\b", "ab"),
    "8-bit csi": ("a\x9b2Jb\x9b31mc", "abc"),
    "8-bit osc": ("a\x9d0;title\x07b\x9d52;c;Zm9v\x9cc", "abc"),
    "8-bit dcs": ("a\x90payload\x9cb", "ab"),
    "two-char reset": ("a\x1bcb", "ab"),
    "save cursor": ("a\x1b7b\x1b8c", "abc"),
    "charset designation": ("a\x1b(0b\x1b(Bc", "abc"),
    "keypad mode": ("a\x1b=b\x1b>c", "abc"),
    "bel": ("ding\x07dong", "dingdong"),
    "backspace": ("abc\x08\x08\x08xyz", "abcxyz"),
    "carriage return": ("visible\rhidden", "visiblehidden"),
    "nul and del": ("a\x00b\x7fc", "abc"),
    "vertical tab form feed": ("a\x0bb\x0cc", "abc"),
    "bidi override": ("user\u202etxt.exe", "usertxt.exe"),
    "bidi embeddings": ("\u202aa\u202bb\u202cc\u202dd", "abcd"),
    "bidi isolates": ("\u2066a\u2067b\u2068c\u2069", "abc"),
    "bidi marks": ("a\u200eb\u200fc\u061cd", "abcd"),
    "tag characters": ("safe\U000e0069\U000e0067\U000e006ext", "safext"),
    "zero width space and word joiner": ("a\u200bb\u2060c\ufeffd", "abcd"),
    "soft hyphen": ("co\u00adop", "coop"),
    "lone surrogates": ("a\ud800b\udfffc", "abc"),
    "line separator": ("a\u2028b", "a\nb"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_clean_text_removes_hostile_sequences(name: str) -> None:
    hostile, expected = HOSTILE[name]
    cleaned = clean_text(hostile)
    assert cleaned == expected
    assert FORBIDDEN.search(cleaned) is None


@pytest.mark.parametrize(
    "unterminated",
    ["a\x1b[12", "a\x1b]52;c;Zm9v", "a\x1bPq#0", "a\x1b", "a\x9b12", "a\x9d0;title"],
)
def test_unterminated_sequences_leave_no_escape(unterminated: str) -> None:
    cleaned = clean_text(unterminated)
    assert cleaned.startswith("a")
    assert FORBIDDEN.search(cleaned) is None


def test_clean_text_keeps_ordinary_unicode() -> None:
    text = "Grüße — naïve café · 中文字符 · עברית · العربية"
    text += " · 👨\u200d👩\u200d👧 ❤\ufe0f ✓\nline two"
    assert clean_text(text) == text


def test_clean_text_keeps_newlines_and_expands_tabs() -> None:
    assert clean_text("a\tb\nc\r\nd") == "a   b\nc\nd"
    assert clean_text(None) == ""
    assert clean_text("") == ""


def test_clean_text_fuzz_never_lets_a_control_through() -> None:
    fragments = [
        "\x1b",
        "[",
        "]",
        "52;c;",
        "\x07",
        "\\",
        "P",
        "\x9b",
        "\x9d",
        "\x9c",
        "\x90",
        "\u202e",
        "\u2067",
        "\x08",
        "\r",
        "\ud83d",
        "text",
        "中",
        " ",
        "1;2H",
        "m",
        "\x00",
        "\x7f",
    ]
    rng = random.Random(1234)
    for _ in range(3000):
        hostile = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 12)))
        assert FORBIDDEN.search(clean_text(hostile)) is None, repr(hostile)
        assert FORBIDDEN.search(clean_line(hostile)) is None, repr(hostile)


def test_clean_line_collapses_whitespace_and_strips() -> None:
    assert clean_line("  A \n title\t with\u00a0 spaces \r\n") == "A title with spaces"
    assert clean_line(None) == ""
    assert clean_line("\x1b]0;x\x07 Title \x1b[1m") == "Title"


def test_clean_line_truncates_by_cells_with_ellipsis() -> None:
    assert clean_line("abcdefghij", max_len=5) == "abcd…"
    assert clean_line("abcde", max_len=5) == "abcde"
    cropped = clean_line("中文字符测试", max_len=7)
    assert cropped.endswith("…")
    assert cell_len(cropped) <= 7
    assert cropped == "中文字…"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "java\x00script:alert(1)",
        "\x1b[2Jjavascript:alert(1)",
        "vbscript:msgbox",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "",
        None,
        "   ",
    ],
)
def test_clean_url_rejects_dangerous_schemes(url: str | None) -> None:
    assert clean_url(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("HTTP://Example.org/", "HTTP://Example.org/"),
        ("mailto:ada@example.org", "mailto:ada@example.org"),
        ("/relative/path", "/relative/path"),
        ("//cdn.example.org/x.png", "//cdn.example.org/x.png"),
        ("page.html", "page.html"),
        ("https://example.org/a\x1b]8;;x\x07b", "https://example.org/ab"),
        ("  https://example.org/with space  ", "https://example.org/with%20space"),
        ("https://example.org/\u202egnp.exe", "https://example.org/gnp.exe"),
    ],
)
def test_clean_url_keeps_web_and_mail_links(url: str, expected: str) -> None:
    assert clean_url(url) == expected


def test_unterminated_string_sequences_cost_linear_time() -> None:
    # Each introducer's payload scan stops at the next introducer: 200k of them finish at
    # once (a quadratic scan would run for minutes and hit the test timeout).
    for introducer in ("\x1bP", "\x1b]", "\x90", "\x9d", "\x9e", "\x1b_"):
        hostile = (introducer + "x") * 200_000
        cleaned = clean_text(hostile)
        assert FORBIDDEN.search(cleaned) is None
        assert set(cleaned) <= set("xP]_")


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello <b>bold</b> world</p>", " Hello  bold  world "),
        # A quoted ">" ends the tag early (no quote tracking: it would cost linear time);
        # what is left is inert text.
        ("<a href=\"x\" title='>'>link</a>", " '>link "),
        ("before<!-- <b>hidden</b> -->after", "before after"),
        ("text<!-- never closed <b>x</b>", "text "),  # as a browser: the rest is comment
        ("<!DOCTYPE html><?xml version='1.0'?>body", "  body"),
        ("<![CDATA[x]]>y", " y"),
        ("1 < 2 and 3 > 2, x <3, a<<b", "1 < 2 and 3 > 2, x <3, a<<b"),  # not tags
        ("<script>alert(1)</script>", " alert(1) "),  # tags go, their text stays
        ("<a\nhref='x'\n>multi-line tag</a >", " multi-line tag "),
        ("unterminated <a href='x' and more", "unterminated <a href='x' and more"),
        ("", ""),
        ("no markup &amp; entities", "no markup &amp; entities"),
    ],
)
def test_strip_tags_removes_markup_only(html: str, expected: str) -> None:
    assert strip_tags(html) == expected


def test_strip_tags_with_empty_replacement_joins_text() -> None:
    assert strip_tags("<b>Tom</b><i>&amp;</i>Jerry", "") == "Tom&amp;Jerry"
    assert strip_tags(None) == ""


def test_strip_tags_then_clean_never_rejoins_an_escape_sequence() -> None:
    # Removing the tag joins ESC to "]52;..." -- only cleaning after stripping is safe.
    hostile = "a\x1b<b></b>]52;c;Zm9v\x07b"
    assert "\x1b]52" in strip_tags(hostile, "")
    assert FORBIDDEN.search(clean_text(strip_tags(hostile, ""))) is None
    assert clean_text(strip_tags(hostile, "")) == "ab"


def test_strip_tags_costs_linear_time_on_hostile_markup() -> None:
    # Unclosed comments, tags and declarations by the hundred thousand: each attempt stops
    # at the next "<", so this finishes at once (a quadratic scan would time out).
    for piece in ("<!--", "<a x", "<!x", "<?x", "</"):
        hostile = piece * 200_000
        assert len(strip_tags(hostile)) <= len(hostile)
    assert strip_tags("<!--" * 200_000) == " "


def test_strip_controls_keeps_tabs_and_newlines() -> None:
    assert strip_controls("a\tb\nc\x1b[31md\x07e\u202ef") == "a\tb\ncdef"
    assert strip_controls(None) == ""
