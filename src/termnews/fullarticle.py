"""Full articles: a post's own web page, fetched and reduced to its article.

For feeds that carry only a summary. The page is fetched through termnews.http (the
feeds' size cap, timeout and redirect checks); the article is extracted with trafilatura
(chosen over readability-lxml by bench/extract.py: better recall and precision on the
sample site's post pages, about as fast) in a parse-pool process, since extraction is
CPU-bound. The result is HTML, rendered like feed content and kept in the store.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from termnews.errors import FullArticleError
from termnews.http import HttpFailure, get_ok, host_label
from termnews.sanitize import strip_controls, strip_tags

if TYPE_CHECKING:
    from termnews.feeds.parse import ParsePool

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
MIN_ARTICLE_CHARS = 40  # less than this is a cookie notice or a title, not an article
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


def extract_article(page: str, url: str) -> str | None:
    """The article of an HTML page as HTML, or None when the page holds none (CPU-bound:
    run it in the parse pool). Comments, navigation and sidebars are left out."""
    import trafilatura  # imported in the worker that extracts, not by the app

    html = trafilatura.extract(
        page,
        url=url,
        output_format="html",
        include_comments=False,
        include_links=True,
        include_images=True,
        include_tables=True,
    )
    if not html or len(strip_tags(html).strip()) < MIN_ARTICLE_CHARS:
        return None
    return strip_controls(html)


async def fetch_page(client: httpx.AsyncClient, url: str, max_bytes: int) -> tuple[str, str]:
    """The post's page as text and the address it ended at (after redirects)."""
    try:
        answer = await get_ok(
            client, url, max_bytes=max_bytes, accept=PAGE_ACCEPT, what="the post's page"
        )
    except HttpFailure as exc:
        raise FullArticleError(exc.message) from None
    if answer.media_type not in HTML_TYPES:
        raise FullArticleError(
            f"the post's page on {host_label(url)} is not a web page ({answer.media_type})"
        )
    return answer.text(), answer.url


async def full_article(
    client: httpx.AsyncClient, pool: ParsePool, url: str, *, max_bytes: int, timeout: float
) -> str:
    """The article of the post at `url` as HTML: its page fetched (within `timeout` in all,
    redirects included) and extracted in the parse pool. FullArticleError says why not."""
    try:
        async with asyncio.timeout(timeout):
            page, final_url = await fetch_page(client, url, max_bytes)
    except TimeoutError:
        host = host_label(url) or "the post's address"
        raise FullArticleError(f"{host}: timed out after {timeout:g} s") from None
    html = await pool.extract(page, final_url)
    if html is None:
        raise FullArticleError(f"found no article on the post's page ({host_label(final_url)})")
    return html
