"""Save as Markdown: the post's HTML written as CommonMark and read back with a Markdown
parser (markdown-it-py) to the same structure: headings, emphasis, links, lists, quotes,
code, images. Hostile input (markup in titles and text, unsafe addresses, control
characters, fences inside code) stays inert."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from termnews.markdown_out import body_markdown, escape_inline, post_markdown
from termnews.model import ArticleDetail, CommentMeta

BASE = "https://example.org/2026/ferry/"

ARTICLE = """
<h1>Harbour news</h1><h2>Ferries</h2><h3>Winter <em>timetable</em></h3>
<p>The <em>ferry</em> leaves at <strong>nine</strong>, <a href="/times">see the times</a>.</p>
<ul><li>nets</li><li>ropes from the <a href="https://shop.example/ropes">shop</a></li></ul>
<ol><li>first</li><li>second</li></ol>
<blockquote><p>Mind the gap.</p><p>And the <em>tide</em>.</p></blockquote>
<pre><code>def fence():
    return "```"
</code></pre>
<p>Inline <code>x = 1</code> code and a picture:</p>
<p><img src="pics/gull.png" alt="a gull" title="Gull"></p>
"""

HOSTILE = """
<p>*not emphasis* _nor this_ [not](a-link) # not a heading &lt;b&gt;no&lt;/b&gt; `no code`</p>
<p>1. not a list + nor - this</p>
<p><a href="javascript:alert(1)">click me</a> <a href="https://e.example/a b(c)">odd</a></p>
<script>document.write('evil')</script><style>p { color: red }</style>
<iframe src="https://evil.example/"></iframe><form><input value="x"></form>
<p>bell\x07 and \x1b[2Jclear and \x1b]52;c;aGk=\x07clip</p>
<p><img src="data:image/png;base64,AAAA" alt="data [image]"><img src="javascript:x" alt="js"></p>
<p><img src="/x.png" alt="alt ](javascript:evil) \x1b[31m"></p>
"""


class Shape(HTMLParser):
    """What a page means, as a list: elements (with the addresses they point at) and
    text, whitespace collapsed."""

    KEEP = {"h1", "h2", "h3", "h4", "p", "em", "strong", "a", "ul", "ol", "li"}
    KEEP |= {"blockquote", "pre", "code", "img"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.KEEP:
            shown = {k: v for k, v in attrs if k in ("href", "src", "alt")}
            self.out.append(f"<{tag} {json.dumps(shown, sort_keys=True)}>" if shown else f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <img/> is <img>

    def handle_endtag(self, tag: str) -> None:
        if tag in self.KEEP:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.out.append(text)


def shape(html: str) -> list[str]:
    parser = Shape()
    parser.feed(html)
    return parser.out


def read_back(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_the_structure_survives_a_round_trip() -> None:
    markdown = body_markdown(ARTICLE, BASE)
    assert "# Harbour news" in markdown and "## Ferries" in markdown
    assert "### Winter *timetable*" in markdown
    assert "[see the times](https://example.org/times)" in markdown
    assert '![a gull](https://example.org/2026/ferry/pics/gull.png "Gull")' in markdown
    assert "- nets\n- ropes" in markdown and "1. first\n2. second" in markdown
    assert "> Mind the gap." in markdown
    assert "````\ndef fence():" in markdown  # a fence longer than the ``` inside
    expected = shape(
        ARTICLE.replace('href="/times"', 'href="https://example.org/times"').replace(
            'src="pics/gull.png"', 'src="https://example.org/2026/ferry/pics/gull.png"'
        )
    )
    assert shape(read_back(markdown)) == expected


def test_hostile_text_stays_text() -> None:
    markdown = body_markdown(HOSTILE, BASE)
    assert "\x1b" not in markdown and "\x07" not in markdown
    assert "evil" not in markdown.replace("javascript:evil", "")  # no script, no iframe
    assert "color: red" not in markdown and "javascript:alert" not in markdown
    html = read_back(markdown)
    got = shape(html)
    assert "<em>" not in got and "<h1>" not in got and "<ol>" not in got and "<ul>" not in got
    assert "<code>" not in got and "<b>" not in html  # the escaped tags stay text
    text = " ".join(part for part in got if not part.startswith("<"))
    assert "*not emphasis* _nor this_ [not](a-link) # not a heading <b>no</b> `no code`" in text
    assert "1. not a list + nor - this" in text
    links = [part for part in got if part.startswith("<a ")]
    assert links == ['<a {"href": "https://e.example/a%20b%28c%29"}>']  # javascript: went
    images = [part for part in got if part.startswith("<img ")]
    assert images == ['<img {"alt": "alt ](javascript:evil)", "src": "https://example.org/x.png"}>']
    assert "click me" in text and "data [image]" in text and "js" in text


def detail(title: str, body: str, **extra: object) -> ArticleDetail:
    fields: dict[str, object] = {
        "id": 1,
        "feed_id": 1,
        "feed_title": "Quay \x1b[2JGazette",
        "feed_url": "https://example.org/feed/",
        "guid": "g",
        "title": title,
        "link": BASE,
        "author": 'Morwenna "Mo" Pike',
        "published": 1_795_000_000,
        "updated": None,
        "summary": None,
        "content": body,
        "comments": CommentMeta(),
        "read": False,
        "starred": False,
    }
    fields.update(extra)
    return ArticleDetail(**fields)  # type: ignore[arg-type]


def test_front_matter_and_a_title_that_looks_like_markdown() -> None:
    title = "*Bold* [x](javascript:y) <b>hi</b> # 1. _u_ `c` \\ & ~~s~~ |t|"
    saved = post_markdown(detail(title, ARTICLE))
    head, _, rest = saved.partition("\n---\n")
    lines = head.splitlines()
    assert lines[0] == "---"
    meta = {key: value for key, _, value in (line.partition(": ") for line in lines[1:])}
    assert json.loads(meta["title"]) == title
    assert json.loads(meta["author"]) == 'Morwenna "Mo" Pike'
    assert json.loads(meta["feed"]) == "Quay Gazette"  # the escape sequence is gone
    assert meta["date"] == "2026-11-18T11:06:40Z"
    assert json.loads(meta["url"]) == BASE
    html = read_back(rest)
    first = shape(html)[:3]
    assert first == ["<h1>", title, "</h1>"]  # shown exactly as written, nothing more
    assert "<em>" not in html.split("</h1>")[0] and "<a " not in html.split("</h1>")[0]


def test_plain_text_posts_and_empty_ones() -> None:
    saved = post_markdown(detail("Plain", "", summary="First *para*.\n\nSecond < 3 &amp; 4 > 2."))
    # "2." could start a list at the start of a line: escaped too (it reads the same).
    assert saved.endswith("# Plain\n\nFirst \\*para\\*.\n\nSecond \\< 3 \\& 4 \\> 2\\.\n")
    assert shape(read_back(saved.partition("\n---\n")[2]))[3:] == [
        "<p>",
        "First *para*.",
        "</p>",
        "<p>",
        "Second < 3 & 4 > 2.",
        "</p>",
    ]
    untitled = post_markdown(detail("", "", link=None, author=None, published=None))
    assert "url:" not in untitled and "# \\(untitled\\)" in untitled


def test_escape_inline() -> None:
    assert escape_inline("a*b_c[d](e)") == "a\\*b\\_c\\[d\\]\\(e\\)"
