"""The command palette's own provider: jump to a feed, or to a post by its title.

Prompts are built as ``Text`` from outside strings (never markup); the app it serves is
seen through ``PaletteHost``, so this module does not import the app.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, cast

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider

from termnews.model import ArticleQuery
from termnews.sanitize import clean_line
from termnews.service import NewsService
from termnews.widgets.inert import inert

MAX_PALETTE_QUERY = 200  # characters of a palette query sent to search


class PaletteHost(Protocol):
    """What the provider needs of the app."""

    service: NewsService

    def jump_to_feed(self, feed_id: int) -> None: ...

    def jump_to_article(self, article_id: int) -> None: ...


def highlighted(candidate: str, matcher: Matcher) -> Text:
    """The candidate with the matched letters in reverse, as Text (Textual's own
    `Matcher.highlight` reads the candidate as markup)."""
    text = inert(candidate)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text.plain)
    if score:
        for offset in offsets:
            text.stylize("reverse", offset, offset + 1)
    return text


class FeedsAndPosts(Provider):
    """Command palette: jump to a feed, or to a post by its title."""

    @property
    def tn_app(self) -> PaletteHost:
        return cast(PaletteHost, self.app)

    async def discover(self) -> Hits:
        app = self.tn_app
        for feed in app.service.feeds()[:30]:
            prompt = Text.assemble("Feed: ", inert(feed.display_title, 80))
            yield DiscoveryHit(prompt, partial(app.jump_to_feed, feed.id), text=prompt.plain)

    async def search(self, query: str) -> Hits:
        app = self.tn_app
        query = query[:MAX_PALETTE_QUERY]
        matcher = self.matcher(query)
        for feed in app.service.feeds():
            title = f"Feed: {clean_line(feed.display_title, 80)}"
            score = matcher.match(title)
            if score > 0:
                prompt = highlighted(title, matcher)
                yield Hit(score, prompt, partial(app.jump_to_feed, feed.id), text=title)
        if len(query.strip()) >= 3:
            ids = app.service.first_article_ids(ArticleQuery(search=query), 15)
            rows = app.service.articles(ids)
            for article_id in ids:
                row = rows.get(article_id)
                if row is None:
                    continue
                # The feed goes in the prompt, not `help`: Textual reads help as markup.
                prompt = Text.assemble(
                    "Post: ",
                    inert(row.title, 100, empty="(untitled)"),
                    "  ",
                    inert(row.feed_title, 60, style="dim"),
                )
                yield Hit(0.5, prompt, partial(app.jump_to_article, article_id), text=prompt.plain)
