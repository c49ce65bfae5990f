"""Benchmark: the comment inbox's check of your threads, against sample sites on loopback.

    .venv/bin/python bench/inbox.py [--threads 20] [--runs 5]

Starts enough sample sites (termnews.demo, four open WordPress posts each) for --threads
threads, posts one comment on each post through the compose path (the comment form), then
times CommentService.check_replies(), the work a refresh adds: the first check (every
comment feed fetched and parsed), a check of unchanged threads (every GET answered 304
and served from the kept response), and a check after someone answered on every thread
(new feeds, N replies stored). Medians of --runs (the 304 and changed rounds), with the
requests the sites saw; the machine's load average is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from termnews.comments import PostOutcome
from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.model import ArticleDetail, ArticleQuery, Draft, Identity
from termnews.service import NewsService

POSTS_PER_SITE = 4


async def prepare(
    service: NewsService, sites: list[DemoSite], threads: int
) -> list[tuple[DemoSite, ArticleDetail, str]]:
    for site in sites:
        service.subscribe(site.feed_urls[0])
    await service.refresh()
    open_posts = {p.url: (site, p) for site in sites for p in site.posts if p.comments_open}
    mine = []
    for article_id in service.article_ids(ArticleQuery()):
        article = service.article(article_id)
        if article is None or article.link not in open_posts or len(mine) >= threads:
            continue
        site, _post = open_posts[article.link]
        if not article.comments.feed_url:
            continue
        info = await service.comments.info(article)
        form = next((t for t in info.targets if t.kind == "wordpress-form"), None)
        if form is None:
            continue
        draft = Draft(article_id=article.id, identity="ada", body=f"Comment {len(mine)}")
        result = await service.comments.post(article, draft, form)
        if result.outcome is PostOutcome.POSTED and result.comment is not None:
            mine.append((site, article, result.comment.remote_id))
    return mine


def answer_all(mine: list[tuple[DemoSite, ArticleDetail, str]], round_: int) -> None:
    for site, article, parent in mine:
        post_id = next(p.id for p in site.posts if p.url == article.link)
        answer = httpx.post(
            site.comment_post_url,
            data={
                "comment_post_ID": str(post_id),
                "comment_parent": parent,
                "author": "Bea Other",
                "email": "bea@example.net",
                "comment": f"Answer {round_} to {parent}",
            },
        )
        if answer.status_code != 302:  # WordPress redirects to the new comment
            raise SystemExit(f"the sample site refused an answer: HTTP {answer.status_code}")


async def timed(service: NewsService) -> tuple[float, int, int, int]:
    started = time.perf_counter()
    report = await service.comments.check_replies()
    return (time.perf_counter() - started) * 1000, report.threads, report.unchanged, report.new


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    needed = max(1, -(-args.threads // POSTS_PER_SITE))
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        sites = [stack.enter_context(DemoSite(flood_seconds=0).start()) for _ in range(needed)]
        settings = Settings(refresh_on_start=False, name="Ada", email="ada@example.org")
        settings.max_threads, settings.check_minutes = args.threads, 0
        paths = Paths(Path(tmp) / "config.toml", Path(tmp) / "data")
        service = NewsService.open(paths, settings, identity=Identity(name="ada"))
        try:
            mine = await prepare(service, sites, args.threads)
            print(f"load average {os.getloadavg()[0]:.2f}; {len(mine)} threads")
            first = await timed(service)
            print(f"first check: {first[0]:.0f} ms ({first[1]} threads)")
            unchanged, changed = [], []
            for round_ in range(args.runs):
                unchanged.append(await timed(service))
                answer_all(mine, round_)
                changed.append(await timed(service))
            ms = statistics.median(t[0] for t in unchanged)
            print(
                f"unchanged (304 throughout): {ms:.0f} ms median, "
                f"{unchanged[-1][2]} of {unchanged[-1][1]} threads unchanged"
            )
            ms = statistics.median(t[0] for t in changed)
            print(f"after an answer on every thread: {ms:.0f} ms median, {changed[-1][3]} new")
        finally:
            service.close()


if __name__ == "__main__":
    asyncio.run(main())
