"""Web pages around an article, as blogs and news sites lay them out: navigation, sidebars,
share buttons, related links, cookie banners and comments around the text that matters.

Each page knows its article's paragraphs, so a test (or bench/extract.py) can score an
extractor: how much of the article it kept (recall) and how much of what it kept is the
article (precision).
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass

WORDS = tuple(
    [
        "harbour",
        "tide",
        "ferry",
        "council",
        "market",
        "rope",
        "works",
        "quay",
        "boat",
        "crab",
        "smokehouse",
        "winter",
        "lantern",
        "timetable",
        "pier",
        "gull",
        "net",
        "mackerel",
        "slipway",
        "lifeboat",
        "storm",
        "shingle",
        "breakwater",
        "chandlery",
        "mooring",
        "dredger",
        "estuary",
        "lighthouse",
        "keeper",
        "ledger",
        "cargo",
        "sail",
        "mast",
        "hull",
    ]
)


@dataclass(frozen=True, slots=True)
class ArticlePage:
    title: str
    paragraphs: list[str]
    html: str

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


def sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(WORDS) for _ in range(words)]
    return " ".join(chosen).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(3, 6)))


def _boilerplate(rng: random.Random, layout: int) -> tuple[str, str]:
    nav = "".join(f'<li><a href="/section/{w}/">{w.title()}</a></li>' for w in WORDS[:12])
    related = "".join(
        f'<li><a href="/2026/{i}/">{html.escape(sentence(rng, 6))}</a></li>' for i in range(8)
    )
    comments = "".join(
        f'<li class="comment"><b>Reader {i}</b> says: <p>{html.escape(sentence(rng, 14))}</p></li>'
        for i in range(6)
    )
    cookie = '<div class="cookie-banner">We use cookies. <button>Accept all</button></div>'
    share = '<div class="share">Share: <a href="#">Mastodon</a> <a href="#">E-mail</a></div>'
    before = (
        f"{cookie if layout % 2 else ''}<header><a href='/'>The Quay Courier</a>"
        f"<nav><ul>{nav}</ul></nav></header>"
        f"<aside class='sidebar'><h3>Most read</h3><ul>{related}</ul></aside>"
    )
    after = (
        f"{share}<section class='related'><h3>Related</h3><ul>{related}</ul></section>"
        f"<section id='comments'><h2>6 comments</h2><ol>{comments}</ol></section>"
        "<footer><p>Copyright 2026 The Quay Courier. All rights reserved.</p>"
        f"<ul>{nav}</ul></footer>"
    )
    return before, after


def article_page(seed: int, *, paragraphs: int = 8) -> ArticlePage:
    """One page: a few layouts (div soup, <article>, a table layout) by seed."""
    rng = random.Random(seed)
    title = sentence(rng, 7).rstrip(".")
    body = [paragraph(rng) for _ in range(paragraphs)]
    before, after = _boilerplate(rng, seed)
    inner = "".join(f"<p>{html.escape(p)}</p>" for p in body[:-1])
    inner += f"<blockquote><p>{html.escape(body[-1])}</p></blockquote>"
    layout = seed % 3
    if layout == 0:
        main = (
            f"<article class='post'><h1>{html.escape(title)}</h1>"
            f"<p class='byline'>By Morwenna Pike</p><div class='entry-content'>{inner}</div>"
            "</article>"
        )
    elif layout == 1:
        main = (
            f"<div id='page'><div class='col'><h1>{html.escape(title)}</h1>"
            f"<div class='story-body'>{inner}</div></div></div>"
        )
    else:
        main = (
            f"<table><tr><td class='nav'>{before}</td><td><h1>{html.escape(title)}</h1>"
            f"<div>{inner}</div></td></tr></table>"
        )
        before = ""
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} - The Quay Courier</title></head>"
        f"<body>{before}<main>{main}</main>{after}</body></html>"
    )
    return ArticlePage(title, body, page)


def words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() else " " for c in text).split()


def score(expected: str, got: str) -> tuple[float, float]:
    """(recall, precision) of `got` against `expected`, by word counts (a bag of words)."""
    want: dict[str, int] = {}
    for w in words(expected):
        want[w] = want.get(w, 0) + 1
    have: dict[str, int] = {}
    for w in words(got):
        have[w] = have.get(w, 0) + 1
    common = sum(min(n, have.get(w, 0)) for w, n in want.items())
    total_want = sum(want.values()) or 1
    total_have = sum(have.values())
    return common / total_want, (common / total_have if total_have else 0.0)
