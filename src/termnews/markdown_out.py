"""A post as true Markdown (CommonMark), for "Save as Markdown".

The render/ room turns HTML into terminal lines and keeps no structure a Markdown writer
needs (heading levels, link targets inline, image sources), so this module converts the
post's HTML with markdownify (BeautifulSoup underneath) after cleaning it here: scripts,
styles, frames and forms go; link and image addresses are resolved against the post's
address and kept only when http(s) or mailto (`sanitize.clean_url`); text loses control
characters (`sanitize.clean_text`). Headings are `#`, emphasis `*`/`**`, links
`[text](url)`, images `![alt](url)`, lists `-`/`1.`, quotes `>`, code blocks fenced.
Text that looks like Markdown stays text (escaped), in the body and in the title.

A YAML front matter carries the title, author, feed, date and address (JSON-quoted
strings, which YAML reads as they are).
"""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any
from urllib.parse import urljoin

from markdownify import MarkdownConverter

from termnews.model import ArticleDetail
from termnews.render.tags import LOOKS_LIKE_HTML  # what the reader treats as HTML, we do too
from termnews.sanitize import clean_line, clean_text, clean_url

# Elements whose content is never part of the text.
DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "svg",
    "math",
    "head",
    "link",
    "meta",
    "base",
)
# CommonMark lets any ASCII punctuation be escaped; these are the ones that can start or
# end markup in a line of text (emphasis, links, images, code, HTML, entities, headings,
# list markers, tables, strikethrough).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")
_FENCE = re.compile(r"`{3,}|~{3,}")
_BLANKS = re.compile(r"\n{3,}")


def escape_inline(text: str) -> str:
    """Plain text that Markdown shows as typed: "*not* [a](link)" -> "\\*not\\* \\[a\\]..."."""
    return _SPECIAL.sub(r"\\\1", text)


def _url(value: object, base: str | None) -> str | None:
    """An attribute's address, absolute when the post has one, or None if unsafe."""
    if not isinstance(value, str):
        return None
    url = clean_url(value)
    if url is None:
        return None
    if base:
        try:
            url = clean_url(urljoin(base, url))
        except ValueError:
            return None
    if url is None:
        return None
    # A destination may not hold spaces, unbalanced parentheses or angle brackets.
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url


class _Converter(MarkdownConverter):
    """markdownify with the escapes it leaves out: image alt text, fences in code."""

    def convert_img(self, el: Any, text: str, parent_tags: set[str]) -> str:
        alt = escape_inline(clean_line(el.attrs.get("alt") or "", 300))
        src = el.attrs.get("src") or ""
        if not src:
            return alt
        title = clean_line(el.attrs.get("title") or "", 300).replace('"', '\\"')
        title_part = f' "{title}"' if title else ""
        return f"![{alt}]({src}{title_part})"

    def convert_pre(self, el: Any, text: str, parent_tags: set[str]) -> str:
        if not text:
            return ""
        longest = max((len(m.group(0)) for m in _FENCE.finditer(text)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"\n\n{fence}\n{text.strip(chr(10))}\n{fence}\n\n"


def _clean_soup(source: str, base: str | None) -> Any:
    from bs4 import BeautifulSoup
    from bs4.element import Comment, NavigableString

    if not LOOKS_LIKE_HTML.search(source):  # plain text: paragraphs on blank lines
        paragraphs = re.split(r"\n\s*\n", html.unescape(source))
        source = "".join(f"<p>{html.escape(p.strip())}</p>" for p in paragraphs if p.strip())
    soup = BeautifulSoup(source, "html.parser")
    for name in DROP:
        for element in soup.find_all(name):
            element.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(True):
        for attribute in ("href", "src"):
            if attribute in tag.attrs:
                url = _url(tag.attrs[attribute], base)
                if url is None:
                    del tag.attrs[attribute]
                else:
                    tag.attrs[attribute] = url
    for text in soup.find_all(string=True):
        if isinstance(text, NavigableString):
            cleaned = clean_text(str(text))
            if cleaned != str(text):
                text.replace_with(cleaned)
    return soup


def body_markdown(source: str, base: str | None = None) -> str:
    """The post's HTML (or plain text) as Markdown, cleaned as the module says."""
    converter = _Converter(
        heading_style="ATX",
        bullets="-",
        strong_em_symbol="*",
        escape_misc=True,
        autolinks=False,
        newline_style="backslash",
    )
    markdown = converter.convert_soup(_clean_soup(source, base))
    return _BLANKS.sub("\n\n", clean_text(markdown)).strip("\n")


def _yaml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def post_markdown(article: ArticleDetail, body_html: str | None = None) -> str:
    """The whole post: front matter, its title as a heading, its text."""
    title = clean_line(article.title, 300) or "(untitled)"
    front = ["---", f"title: {_yaml(title)}"]
    if article.author:
        front.append(f"author: {_yaml(clean_line(article.author, 200))}")
    front.append(f"feed: {_yaml(clean_line(article.feed_title, 200))}")
    if article.published:
        front.append(f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(article.published))}")
    link = _url(article.link, None) if article.link else None
    if link:
        front.append(f"url: {_yaml(link)}")
    front.append("---")
    source = body_html if body_html is not None else article.body_html
    body = body_markdown(source or "", article.link)
    return "\n".join([*front, "", f"# {escape_inline(title)}", "", body]).rstrip() + "\n"
