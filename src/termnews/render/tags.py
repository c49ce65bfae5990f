"""What the HTML elements mean to the reader: which are skipped, which are blocks, which
style their text."""

from __future__ import annotations

import re

LOOKS_LIKE_HTML = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*[\s/>]|/[a-zA-Z]|!--|!\[CDATA\[)")

VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "keygen",
    }
)
SKIP = frozenset(
    {
        "script",
        "style",
        "template",
        "head",
        "title",
        "noscript",
        "svg",
        "math",
        "select",
        "textarea",
        "button",
        "object",
        "iframe",
        "video",
        "audio",
        "frameset",
    }
)
MEDIA = frozenset({"iframe", "video", "audio", "embed", "object"})
# Block elements that separate themselves from their neighbours with a blank line.
GAP_BLOCKS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "figure",
        "hr",
        "dl",
        "details",
        "address",
        "fieldset",
        "form",
        "ul",
        "ol",
        "menu",
    }
)
# Block elements that only start a new line.
PLAIN_BLOCKS = frozenset(
    {
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "figcaption",
        "summary",
        "dt",
        "dd",
        "li",
        "tr",
        "td",
        "th",
        "center",
        "caption",
        "hgroup",
        "legend",
        "thead",
        "tbody",
        "tfoot",
        "body",
        "html",
        "picture",
        "search",
    }
)
INLINE_STYLES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "cite": "italic",
    "var": "italic",
    "dfn": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "mark": "mark",
    "code": "code",
    "kbd": "code",
    "samp": "code",
    "tt": "code",
    "h1": "heading.major",
    "h2": "heading.major",
    "h3": "heading",
    "h4": "heading",
    "h5": "heading",
    "h6": "heading",
    "figcaption": "caption",
    "summary": "bold",
    "dt": "bold",
    "th": "table.header",
}
