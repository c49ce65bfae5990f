"""Article extraction: trafilatura against readability-lxml, quality and speed.

Pages: generated article pages (tests/support/articlepages.py: navigation, sidebars,
related links, comments and a cookie banner around the article, three layouts) and the
sample site's post pages (fetched over loopback; the expected text is the post's full
content from its feed). For each library and page it measures recall (share of the
article's words kept) and precision (share of the kept words that are the article's),
and the median time per page (each page extracted --runs times).

    .venv/bin/python bench/extract.py --pages 30 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import feedparser
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from termnews.demo import DemoSite
from termnews.sanitize import strip_tags
from tests.support.articlepages import article_page, score


def with_trafilatura(page: str, url: str) -> str:
    import trafilatura

    return (
        trafilatura.extract(
            page,
            url=url,
            output_format="html",
            include_links=True,
            include_images=True,
            include_comments=False,
        )
        or ""
    )


def with_readability(page: str, url: str) -> str:
    from readability import Document

    return str(Document(page, url=url).summary(html_partial=True))


def demo_pages() -> list[tuple[str, str, str]]:
    pages = []
    with DemoSite(flood_seconds=0) as site, httpx.Client(timeout=10) as client:
        for feed_url in site.feed_urls:
            for entry in feedparser.parse(client.get(feed_url).content).entries:
                body = entry.get("content", [{}])[0].get("value") or entry.get("summary", "")
                answer = client.get(entry.link)
                if answer.status_code == 200 and body:
                    pages.append((entry.link, answer.text, strip_tags(body)))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30, help="generated pages")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sets = {
        "generated": [
            (f"https://example.org/{i}/", page.html, page.text)
            for i, page in ((i, article_page(i)) for i in range(args.pages))
        ],
        "sample site": demo_pages(),
    }
    tools: dict[str, Callable[[str, str], str]] = {
        "trafilatura": with_trafilatura,
        "readability-lxml": with_readability,
    }
    for tool in tools.values():
        tool("<html><body><p>warm up</p></body></html>", "https://example.org/")
    print("| pages | library | recall | precision | empty | median ms/page |")
    print("|---|---|---|---|---|---|")
    for set_name, pages in sets.items():
        for name, tool in tools.items():
            recalls, precisions, times, empty = [], [], [], 0
            for url, page, expected in pages:
                best = float("inf")
                for _ in range(args.runs):
                    start = time.perf_counter()
                    got = tool(page, url)
                    best = min(best, time.perf_counter() - start)
                times.append(best)
                text = strip_tags(got)
                empty += not text.strip()
                recall, precision = score(expected, text)
                recalls.append(recall)
                precisions.append(precision)
            print(
                f"| {set_name} ({len(pages)}) | {name} | {statistics.mean(recalls):.3f} | "
                f"{statistics.mean(precisions):.3f} | {empty} | "
                f"{statistics.median(times) * 1000:.1f} |"
            )


if __name__ == "__main__":
    main()
