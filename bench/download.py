"""Benchmark: attachment downloads and full articles at refresh, over 127.0.0.1.

    .venv/bin/python bench/download.py [--mb 200] [--posts 10] [--runs 3]

1. Downloads a `--mb` MB attachment (a loopback FeedServer streams it, Content-Length
   announced) with NewsService.download_attachment, as the reader's D does, with a
   progress callback like the progress bar's; prints wall time, MB/s and the process's
   CPU seconds per 100 MB (median of `--runs`).
2. Refreshes a feed of `--posts` summary-only posts whose pages are served too, once with
   [full_article] "never" and once with "refresh" (fresh data dirs); prints both wall
   times and the time added per page (fetch + trafilatura extraction in the parse pool).
Prints the machine's load average: the numbers depend on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from termnews.config import Paths, Settings
from termnews.download import DownloadProgress
from termnews.service import NewsService
from tests.support.articlepages import article_page
from tests.support.feedserver import FeedServer, make_rss


def service(root: Path, **settings: object) -> NewsService:
    paths = Paths(config_file=root / "config.toml", data_dir=root / "data")
    return NewsService.open(paths, Settings(refresh_on_start=False, **settings))  # type: ignore[arg-type]


def bench_download(server: FeedServer, mb: int, runs: int) -> None:
    server.add_large("/cdn/episode.mp3", mb << 20, content_type="audio/mpeg")
    walls, cpus = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            news = service(Path(tmp), download_dir=str(Path(tmp) / "dl"))
            calls = 0

            def progress(state: DownloadProgress) -> None:
                nonlocal calls
                calls += 1

            cpu, wall = time.process_time(), time.perf_counter()
            path = asyncio.run(
                news.download_attachment(server.url_for("/cdn/episode.mp3"), progress)
            )
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert path.stat().st_size == mb << 20
            news.close()
    wall = statistics.median(walls)
    cpu = statistics.median(cpus)
    print(
        f"download {mb} MB: {wall:.2f} s, {mb / wall:.0f} MB/s, "
        f"CPU {cpu * 100 / mb:.2f} s per 100 MB ({calls} progress calls), median of {runs}"
    )


def bench_refresh(server: FeedServer, posts: int, runs: int) -> None:
    items = []
    for n in range(posts):
        server.add_page(f"/post/{n}/", article_page(n).html)
        items.append(
            {
                "title": f"Post {n}",
                "link": server.url_for(f"/post/{n}/"),
                "guid": f"p{n}",
                "description": "<p>Summary only.</p>",
            }
        )
    server.add_feed("/feed.xml", make_rss("Summaries", items))
    url = server.url_for("/feed.xml")
    times: dict[str, list[float]] = {"never": [], "refresh": []}
    for _ in range(runs):
        for mode in times:
            with tempfile.TemporaryDirectory() as tmp:
                news = service(Path(tmp))
                news.settings.full_article[url] = mode
                news.subscribe(url)
                news.prepare_workers()
                news.pool.warm_up()
                started = time.perf_counter()
                report = asyncio.run(news.refresh())
                times[mode].append(time.perf_counter() - started)
                assert report.full_articles == (posts if mode == "refresh" else 0)
                news.close()
    never, full = statistics.median(times["never"]), statistics.median(times["refresh"])
    print(
        f"refresh of {posts} summary posts: never {never:.2f} s, refresh {full:.2f} s "
        f"(+{(full - never) * 1000 / posts:.0f} ms a page), median of {runs}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with FeedServer() as server:
        bench_download(server, args.mb, args.runs)
        bench_refresh(server, args.posts, args.runs)


if __name__ == "__main__":
    main()
