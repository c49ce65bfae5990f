"""Article HTML -> terminal lines (termnews.render)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import feedparser
import pytest
from rich.cells import cell_len
from rich.style import Style
from rich.text import Span, Text

from termnews import sanitize
from termnews.render import (
    STYLES,
    RenderedDocument,
    html_to_blocks,
    layout,
    render_html,
)
from termnews.render import lines as lines_module
from termnews.render.styles import linked
from tests.support.corpus import ABSENT, FEEDS

CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ud800-\udfff]"
)


def plain(doc: RenderedDocument) -> list[str]:
    return [line.plain for line in doc.lines]


def body(doc: RenderedDocument) -> list[str]:
    """The lines before the link list."""
    lines = plain(doc)
    if "Links:" in lines:
        lines = lines[: lines.index("Links:") - 2]
    return lines


def styles_of(line: Text, fragment: str) -> list[Style]:
    """The styles of the spans that cover ``fragment`` in ``line``."""
    start = line.plain.index(fragment)
    end = start + len(fragment)
    found = []
    for span in line.spans:
        if span.start <= start and span.end >= end:
            style = span.style
            found.append(style if isinstance(style, Style) else Style.parse(style))
    return found


def has_style(line: Text, fragment: str, **attrs: object) -> bool:
    combined = Style.combine(styles_of(line, fragment)) if styles_of(line, fragment) else Style()
    return all(getattr(combined, name) == value for name, value in attrs.items())


def line_with(doc: RenderedDocument, fragment: str) -> Text:
    for line in doc.lines:
        if fragment in line.plain:
            return line
    raise AssertionError(f"{fragment!r} not in {plain(doc)!r}")


def assert_fits(doc: RenderedDocument, width: int) -> None:
    for line in doc.lines:
        assert "\n" not in line.plain
        assert cell_len(line.plain) <= width, (width, line.plain)
        assert CONTROL.search(line.plain) is None, repr(line.plain)


# -- block constructs -----------------------------------------------------------------------


def test_headings_are_bold_with_blank_lines_around() -> None:
    doc = render_html("<p>intro</p><h1>Big title</h1><h3>Small title</h3><p>text</p>", 60)
    assert plain(doc) == ["intro", "", "Big title", "", "Small title", "", "text"]
    assert has_style(line_with(doc, "Big title"), "Big title", bold=True, underline=True)
    assert has_style(line_with(doc, "Small title"), "Small title", bold=True)
    assert not has_style(line_with(doc, "Small title"), "Small title", underline=True)


def test_paragraphs_one_blank_line_and_browser_whitespace() -> None:
    html = "<p>first   para\n   on\ttwo lines</p>\n\n\n<p>  second  </p><p></p><p>third</p>"
    assert plain(render_html(html, 60)) == [
        "first para on two lines",
        "",
        "second",
        "",
        "third",
    ]


def test_br_breaks_lines_and_divs_start_lines() -> None:
    doc = render_html("<div>one<br>two <br/>three</div><div>four</div>", 40)
    assert plain(doc) == ["one", "two", "three", "four"]


def test_words_wrap_at_width_without_splitting_words() -> None:
    text = "the quick brown fox jumps over the lazy dog " * 3
    doc = render_html(f"<p>{text}</p>", 20)
    assert all(len(line) <= 20 for line in plain(doc))
    assert " ".join(plain(doc)) == text.strip()


def test_inline_styles() -> None:
    html = (
        "<p><strong>strong</strong> <b>bee</b> <em>em</em> <i>eye</i> <u>under</u> "
        "<s>struck</s> <del>deleted</del> <mark>marked</mark> <code>x = 1</code></p>"
    )
    line = render_html(html, 200).lines[0]
    assert has_style(line, "strong", bold=True)
    assert has_style(line, "bee", bold=True)
    assert has_style(line, "em", italic=True)
    assert has_style(line, "eye", italic=True)
    assert has_style(line, "under", underline=True)
    assert has_style(line, "struck", strike=True)
    assert has_style(line, "deleted", strike=True)
    assert has_style(line, "marked", reverse=True)
    assert styles_of(line, "x = 1") == [STYLES["code"]]
    assert not has_style(line, "bee", italic=True)


def test_nested_inline_styles_combine() -> None:
    line = render_html("<p><b>bold <i>both</i></b> plain</p>", 80).lines[0]
    assert has_style(line, "both", bold=True, italic=True)
    assert styles_of(line, "plain") == []


def test_pre_keeps_whitespace_indents_and_hard_wraps() -> None:
    code = "def f(x):\n\tif x:\n\t\treturn 'a very long line of code that does not fit'\n"
    doc = render_html(f"<p>before</p><pre>\n{code}</pre><p>after</p>", 40)
    lines = plain(doc)
    assert lines[:3] == ["before", "", "  def f(x):"]
    assert lines[3] == "      if x:"
    wrapped = [line for line in lines if line.endswith("↩")]
    assert wrapped, lines
    assert all(len(line) <= 40 for line in lines)
    # not word-wrapped: the text is cut mid-word and continues on the next line
    joined = "".join(line.rstrip("↩")[2:] for line in lines[4:-2])
    assert joined == "        return 'a very long line of code that does not fit'"
    assert lines[-2:] == ["", "after"]
    assert styles_of(line_with(doc, "def f"), "def f(x):") == [STYLES["code.block"]]


def test_pre_with_highlighting_spans_keeps_text() -> None:
    html = '<pre><code><span class="k">for</span> i <span>in</span> range(3):\n'
    html += "    pass</code></pre>"
    assert plain(render_html(html, 60)) == ["  for i in range(3):", "      pass"]


def test_unordered_lists_nest_with_bullets_and_hang() -> None:
    html = (
        "<ul><li>alpha item with enough words to wrap over the line</li>"
        "<li>beta<ul><li>nested</li><li>deeper<ul><li>deepest</li></ul></li></ul></li></ul>"
    )
    lines = plain(render_html(html, 30))
    assert lines == [
        "• alpha item with enough words",
        "  to wrap over the line",
        "• beta",
        "  ◦ nested",
        "  ◦ deeper",
        "    ▪ deepest",
    ]


def test_ordered_lists_number_and_respect_start() -> None:
    html = "<ol start='7'><li>seven</li><li>eight has a long text that wraps</li></ol>"
    lines = plain(render_html(html, 24))
    assert lines == ["7. seven", "8. eight has a long text", "   that wraps"]
    assert plain(render_html("<ol><li>a<li>b<li>c</ol>", 20)) == ["1. a", "2. b", "3. c"]


def test_list_separated_from_paragraphs() -> None:
    lines = plain(render_html("<p>Intro:</p><ul><li>one</li></ul><p>Outro</p>", 40))
    assert lines == ["Intro:", "", "• one", "", "Outro"]


def test_blockquotes_prefix_every_line_and_stack() -> None:
    html = (
        "<blockquote><p>outer quote text that wraps around</p>"
        "<blockquote><p>inner</p></blockquote></blockquote><p>after</p>"
    )
    doc = render_html(html, 20)
    lines = plain(doc)
    assert lines == [
        "│ outer quote text",
        "│ that wraps around",
        "│",
        "│ │ inner",
        "",
        "after",
    ]
    bar_styles = styles_of(line_with(doc, "inner"), "│")
    assert bar_styles == [STYLES["quote.bar"]]


def test_table_as_columns() -> None:
    html = (
        "<table><thead><tr><th>Name</th><th>Size</th></tr></thead>"
        "<tbody><tr><td>apple</td><td>3</td></tr><tr><td>kiwi</td><td>12</td></tr></tbody>"
        "</table>"
    )
    doc = render_html(html, 40)
    assert plain(doc) == ["Name  │ Size", "──────┼─────", "apple │ 3", "kiwi  │ 12"]
    assert has_style(line_with(doc, "Name"), "Name", bold=True)


def test_table_columns_wrap_then_fall_back_to_rows_when_too_wide() -> None:
    row = "".join(f"<td>cell{n} with some words</td>" for n in range(3))
    html = f"<table><tr><th>A</th><th>B</th><th>C</th></tr><tr>{row}</tr></table>"
    wrapped = plain(render_html(html, 40))
    assert all(len(line) <= 40 for line in wrapped)
    assert " │ " in wrapped[0]
    many = "".join(f"<td>c{n}</td>" for n in range(12))
    fallback = plain(render_html(f"<table><tr>{many}</tr></table>", 30))
    assert fallback[0].startswith("row 1: c0 | c1 | c2")
    assert all(len(line) <= 30 for line in fallback)


def test_images_show_alt_and_their_address_is_a_numbered_link() -> None:
    doc = render_html(
        '<p>See <img src="/a.png" alt="a red\nbarn"> and <img src="b.png"></p>',
        80,
        base_url="https://e.org/post/",
    )
    assert plain(doc)[0] == "See [image: a red barn][1] and [image][2]"
    assert [(link.url, link.text) for link in doc.links] == [
        ("https://e.org/a.png", "image: a red barn"),
        ("https://e.org/post/b.png", "image"),
    ]
    hostile = render_html('<img src="javascript:alert(1)" alt="x">', 80)
    assert plain(hostile) == ["[image: x]"] and hostile.links == []
    linked = render_html('<a href="https://e.org/big.png"><img src="s.png" alt="thumb"></a>', 80)
    assert plain(linked)[0] == "[image: thumb][1]"
    # the thumbnail's own address is listed after the others (never numbered in the text)
    assert [(link.url, link.image) for link in linked.links] == [
        ("https://e.org/big.png", False),
        ("s.png", True),
    ]


def test_links_numbered_listed_reused_and_resolved() -> None:
    html = (
        '<p>Read <a href="/docs/intro">the intro</a>, then <a href="https://other.org/">'
        'elsewhere</a>, then <a href="/docs/intro">intro again</a>, mail '
        '<a href="mailto:ada@example.org">Ada</a>, skip <a href="javascript:alert(1)">this</a> '
        'and <a href="data:text/html,x">that</a>.</p>'
    )
    doc = render_html(html, 200, base_url="https://blog.example.org/posts/1")
    assert body(doc) == [
        "Read the intro[1], then elsewhere[2], then intro again[1], mail Ada[3], "
        "skip this and that."
    ]
    assert [(link.number, link.url, link.text) for link in doc.links] == [
        (1, "https://blog.example.org/docs/intro", "the intro"),
        (2, "https://other.org/", "elsewhere"),
        (3, "mailto:ada@example.org", "Ada"),
    ]
    lines = plain(doc)
    assert lines[-5:] == [
        "─" * 200,
        "Links:",
        "[1] https://blog.example.org/docs/intro",
        "[2] https://other.org/",
        "[3] mailto:ada@example.org",
    ]
    assert lines[-6] == ""
    line = doc.lines[0]
    intro = "https://blog.example.org/docs/intro"
    assert styles_of(line, "[1]") == [linked(STYLES["link.number"], intro)]
    assert styles_of(line, "this") == []


def test_long_link_urls_wrap_in_the_list() -> None:
    url = "https://example.org/" + "segment/" * 20
    doc = render_html(f'<a href="{url}">x</a>', 40)
    listed = plain(doc)[plain(doc).index("Links:") + 1 :]
    assert "".join(line[4:] for line in listed) == url
    assert all(len(line) <= 40 for line in listed)


def test_rule_caption_details() -> None:
    html = (
        "<p>a</p><hr><figure><img src=x.png alt=Chart><figcaption>Figure one</figcaption>"
        "</figure><details><summary>More</summary><p>hidden text</p></details>"
    )
    doc = render_html(html, 20)
    assert body(doc) == [
        "a",
        "",
        "─" * 20,
        "",
        "[image: Chart][1]",
        "Figure one",
        "",
        "More",
        "",
        "hidden text",
    ]
    assert styles_of(line_with(doc, "Figure one"), "Figure one") == [STYLES["caption"]]


def test_iframes_and_video_become_link_placeholders() -> None:
    html = (
        '<p>Watch:</p><iframe src="https://video.example.org/embed/42">no frames</iframe>'
        '<video controls><source src="/media/clip.mp4">Your browser is old</video>'
        '<audio src="/ep1.mp3"></audio>'
    )
    doc = render_html(html, 80, base_url="https://site.example.org/")
    text = "\n".join(body(doc))
    assert "[video: https://video.example.org/embed/42][1]" in text
    assert "[video: https://site.example.org/media/clip.mp4][2]" in text
    assert "[audio: https://site.example.org/ep1.mp3][3]" in text
    assert "no frames" not in text
    assert "browser is old" not in text
    assert len(doc.links) == 3


def test_script_style_and_head_dropped() -> None:
    html = (
        "<html><head><title>t</title><style>p { color: red }</style></head><body>"
        "<script>document.write('<p>evil</p>')</script><p>kept</p>"
        "<noscript>enable js</noscript><template><p>tmpl</p></template></body></html>"
    )
    assert plain(render_html(html, 40)) == ["kept"]


def test_entities_and_cdata_leftovers() -> None:
    doc = render_html("<![CDATA[<p>Fish &amp; chips &lt;3 &eacute;t&eacute; &#8212; ok</p>]]>", 80)
    assert plain(doc) == ["Fish & chips <3 été — ok"]


def test_escape_sequences_in_content_and_attributes_are_inert() -> None:
    html = (
        '<p>hi\x1b[2J\x1b]52;c;Zm9v\x07 there &#27;[31m red</p><img alt="\x1b]0;t\x07cat">'
        '<a href="https://e.org/\x1b[1m">\x9b2Jx</a><pre>code\x1b[H\x07</pre>'
    )
    doc = render_html(html, 60)
    assert_fits(doc, 60)
    assert plain(doc)[0] == "hi there [31m red"
    assert plain(doc)[2] == "[image: cat]x[1]"


def test_plain_text_input_paragraphs_on_blank_lines() -> None:
    text = "First paragraph\nstill first.\n\n\nSecond   one.\n  \nThird"
    expected = ["First paragraph", "still first.", "", "Second one.", "", "Third"]
    assert plain(render_html(text, 40)) == expected
    assert plain(render_html("Tom &amp; Jerry", 40)) == ["Tom & Jerry"]
    assert plain(render_html("", 40)) == []


def test_blocks_are_width_independent() -> None:
    html = "<h2>Title</h2><p>" + "word " * 60 + '<a href="/x">l</a></p><ul><li>item</li></ul>'
    blocks = html_to_blocks(html, "https://e.org/")
    narrow, wide = layout(blocks, 30), layout(blocks, 120)
    assert len(narrow.lines) > len(wide.lines)
    assert narrow.links == wide.links
    assert plain(layout(blocks, 30)) == plain(narrow)
    assert plain(render_html(html, 30, "https://e.org/")) == plain(narrow)


@pytest.mark.parametrize(
    "broken",
    [
        "<p>unclosed <b>bold <i>both",
        "<ul><li>one<li>two</ol></div></p>",
        "</p></li></ul></blockquote></table>",
        "<table><tr><td>a<td>b<tr><td>c",
        "<table><td><table><tr><td>nested</td></tr></table></td></table>",
        "<pre>never closed <b>x",
        "<a href='/x'>never closed",
        "<iframe src='x'>",
        "<p <b>odd</b> <a href=>x</a> <img src> <ol start=abc><li>z</ol>",
        "<<<>>> &&& &#xffffffff; &#0; &#55296; </ > <!-- unclosed comment",
        "<blockquote><ul><li><blockquote><pre>deep</blockquote></li></ul>",
        "<video><source src='javascript:alert(1)'></video><embed src=x.swf>",
        "<table><caption>Cap</caption><tr><th>h</th></tr></table>",
        "<ol><li value='x'>a</li><li value='-3'>b</li></ol>",
        "<a href='http://[::1'>bad ipv6</a>",
        "<br><br><br><p></p><hr><hr>",
    ],
)
def test_broken_html_does_not_crash(broken: str) -> None:
    for width in (1, 5, 20, 80):
        doc = render_html(broken, width, base_url="https://e.org/a/")
        assert_fits(doc, max(width, 1))


def test_text_fast_path_builds_the_same_text_as_rich() -> None:
    spans = [Span(0, 3, STYLES["bold"])]
    fast = lines_module._text_by_slots("abc def", list(spans))
    slow = Text("abc def", spans=list(spans))
    assert fast == slow
    assert fast.cell_len == slow.cell_len
    assert fast.markup == slow.markup


# -- width property ---------------------------------------------------------------------------

_PIECES = [
    "word",
    "longerword",
    "中文字符",
    "日本語のテキスト",
    "한국어",
    "👨\u200d👩\u200d👧",
    "❤\ufe0f",
    "🎉",
    "café",
    "e\u0301",
    "x" * 130,
    "中" * 90,
    "https://example.org/" + "path/" * 30,
    "\u00a0",
    "—",
]


def _random_html(rng: random.Random) -> str:
    def words(n: int) -> str:
        return " ".join(rng.choice(_PIECES) for _ in range(n))

    parts = []
    for _ in range(rng.randint(3, 8)):
        kind = rng.randrange(7)
        if kind == 0:
            parts.append(f"<p>{words(rng.randint(1, 40))} <b>{words(3)}</b></p>")
        elif kind == 1:
            parts.append(f"<ul><li>{words(10)}<ol><li>{words(12)}</li></ol></li></ul>")
        elif kind == 2:
            parts.append(f"<blockquote><blockquote><p>{words(15)}</p></blockquote></blockquote>")
        elif kind == 3:
            parts.append(f"<pre>{words(6)}\n\t{words(8)}</pre>")
        elif kind == 4:
            count = rng.randint(1, 5)
            cells = "".join(f"<td>{words(rng.randint(1, 4))}</td>" for _ in range(count))
            parts.append(f"<table><tr>{cells}</tr><tr>{cells}</tr></table>")
        elif kind == 5:
            parts.append(f'<h2>{words(5)}</h2><a href="/{words(2)}">{words(2)}</a>')
        else:
            parts.append(f"<p>{words(5)}<br>{words(5)}</p><hr>")
    return "".join(parts)


def test_no_line_wider_than_width_for_any_width() -> None:
    rng = random.Random(99)
    documents = [html_to_blocks(_random_html(rng), "https://e.org/") for _ in range(12)]
    for width in range(20, 201):
        blocks = documents[width % len(documents)]
        assert_fits(layout(blocks, width), width)


def test_cjk_and_emoji_wrap_by_cells() -> None:
    doc = render_html("<p>" + "中文" * 30 + " 👨\u200d👩\u200d👧" * 10 + "</p>", 21)
    assert_fits(doc, 21)
    assert "".join(plain(doc)).replace(" ", "") == "中文" * 30 + "👨\u200d👩\u200d👧" * 10
    assert all(line.count("\u200d") % 2 == 0 for line in plain(doc))  # families kept whole


# -- the shared corpus -------------------------------------------------------------------------


def _corpus_files() -> list[Path]:
    return sorted(FEEDS.iterdir()) if FEEDS.is_dir() else []


@pytest.mark.corpus
@pytest.mark.skipif(not FEEDS.is_dir(), reason=ABSENT)
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_corpus_entries_render_cleanly(path: Path) -> None:
    parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
    for entry in parsed.entries:
        content = entry.get("content") or []
        html = (content[0].get("value") if content else None) or entry.get("summary") or ""
        blocks = html_to_blocks(html, entry.get("link"))
        for width in (40, 100):
            assert_fits(layout(blocks, width), width)


def test_single_cell_fast_path_agrees_with_rich() -> None:
    # The wrap fast path assumes len == cells for these characters; check it for all of them.
    chars = "".join(c for c in map(chr, range(0x20, 0x3100)) if sanitize.is_single_cell(c))
    assert "\u2019" in chars and "\u2014" in chars and "é" in chars and "─" in chars
    assert "中" not in chars and "\u0301" not in chars and "\u200d" not in chars
    assert "\u3042" not in chars  # hiragana: two cells
    assert cell_len(chars) == len(chars)
    assert sanitize.is_single_cell("plain ascii")
    assert sanitize.is_single_cell("it\u2019s \u201cquoted\u201d \u2014 café")
    assert not sanitize.is_single_cell("tab\there")
    assert not sanitize.is_single_cell("café 中")


def test_typographic_punctuation_wraps_like_ascii() -> None:
    text = "it\u2019s \u201cquoted\u201d \u2014 and so on " * 10
    doc = render_html(f"<p>{text}</p>", 25)
    assert_fits(doc, 25)
    assert " ".join(plain(doc)) == text.strip()


def test_narrow_table_columns_keep_their_width_when_a_wide_one_wraps() -> None:
    long_text = "a long description that has to wrap over several lines " * 2
    html = f"<table><tr><td>Created</td><td>{long_text}</td></tr></table>"
    lines = plain(render_html(html, 40))
    assert lines[0].startswith("Created │ a long")
    assert all(line.startswith("        │ ") for line in lines[1:])
    assert all(len(line) <= 40 for line in lines)


def test_links_inside_code_blocks_are_numbered() -> None:
    html = '<pre>see <a href="https://e.org/src">source</a>\nnext</pre>'
    doc = render_html(html, 60)
    assert body(doc) == ["  see source[1]", "  next"]
    assert [link.url for link in doc.links] == ["https://e.org/src"]


def test_link_around_blocks_and_trailing_space_in_link_text() -> None:
    html = (
        '<a href="https://e.org/post"><h2>Linked heading</h2></a>'
        '<p>A <a href="https://e.org/w">word </a>then more.</p>'
    )
    doc = render_html(html, 60)
    assert body(doc) == ["Linked heading[1]", "", "A word[2] then more."]
    line = line_with(doc, "word[2]")
    assert styles_of(line, "word") == [linked(STYLES["link"], "https://e.org/w")]
    assert styles_of(line, "[2]") == [linked(STYLES["link.number"], "https://e.org/w")]
    assert [link.text for link in doc.links] == ["Linked heading", "word"]
