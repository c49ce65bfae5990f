"""Benchmark: does the UI stall while a refresh runs? (DESIGN.md: no frame stall over 50 ms)

    .venv/bin/python bench/ui_refresh.py [--runs 3]

Serves the shared corpus (158 feeds, 20 MB) from a loopback server in another process,
opens the reader headless (Textual's Pilot) on an empty data dir subscribed to every
feed, and starts a refresh of all of them, as `R` does. Meanwhile a 10 ms timer on the
UI's event loop records how late each tick fires, and a key (`j`) is pressed every
50 ms and timed until the list has moved. Prints the worst and the 99th-percentile
lateness of the loop and of key handling. Not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.support.feedserver import FeedServer
with FeedServer() as server:
    paths = server.serve_directory("/c/", sys.argv[2])
    print("\\n".join(server.url_for(p) for p in paths), flush=True)
    print("", flush=True)
    time.sleep(3600)
"""


def corpus_feeds() -> Path:
    root = Path(os.environ.get("TERMNEWS_CORPUS", ROOT.parent / "shared" / "corpus"))
    return root / "feeds"


async def one_run(urls: list[str]) -> dict[str, float]:
    from textual import events

    from termnews.app import TermNewsApp
    from termnews.config import Paths, Settings
    from termnews.model import ArticleQuery
    from termnews.screens.feeds import FeedsScreen
    from termnews.service import NewsService
    from termnews.widgets.article_list import ArticleList

    data = Path(tempfile.mkdtemp(prefix="termnews-bench-"))
    service = NewsService.open(
        Paths(data / "config.toml", data / "data"), Settings(refresh_on_start=False)
    )
    for url in urls:
        service.subscribe(url)
    app = TermNewsApp(service)
    late: list[float] = []
    keys: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        last = time.perf_counter()

        def tick() -> None:
            nonlocal last
            now = time.perf_counter()
            late.append(max(0.0, now - last - 0.010))
            last = now

        timer = app.set_interval(0.010, tick)
        await pilot.press("tab")
        started = time.perf_counter()
        app.start_refresh(None)
        handled: list[float] = []
        original = ArticleList.action_cursor_down

        def cursor_down(self: ArticleList) -> None:
            handled.append(time.perf_counter())
            original(self)

        ArticleList.action_cursor_down = cursor_down  # type: ignore[method-assign]
        while True:
            pressed = time.perf_counter()
            count = len(handled)
            app.post_message(events.Key("j", "j"))  # as the terminal driver delivers it
            while len(handled) == count and time.perf_counter() - pressed < 5:
                await asyncio.sleep(0.001)
            keys.append(handled[-1] - pressed if len(handled) > count else 5.0)
            await asyncio.sleep(0.05)
            worker_running = any(w.group == "refresh" and not w.is_finished for w in app.workers)
            if not worker_running and time.perf_counter() - started > 0.5:
                break
        elapsed = time.perf_counter() - started
        timer.stop()
        ArticleList.action_cursor_down = original  # type: ignore[method-assign]
    articles = len(service.article_ids(ArticleQuery()))
    service.close()
    late_ms = sorted(x * 1000 for x in late)
    keys_ms = sorted(x * 1000 for x in keys)
    return {
        "refresh_s": elapsed,
        "articles": articles,
        "ticks": len(late_ms),
        "late_max_ms": late_ms[-1],
        "late_p99_ms": late_ms[int(len(late_ms) * 0.99) - 1],
        "late_median_ms": statistics.median(late_ms),
        "keys": len(keys_ms),
        "key_max_ms": keys_ms[-1],
        "key_median_ms": statistics.median(keys_ms),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    feeds = corpus_feeds()
    if not feeds.is_dir():
        print(f"the shared corpus is absent ({feeds})")
        return 1
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), str(feeds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        urls = []
        while line := server.stdout.readline().strip():
            urls.append(line)
        print(f"{len(urls)} feeds served from another process; {os.cpu_count()} cores")
        for run in range(args.runs):
            result = asyncio.run(one_run(urls))
            print(
                f"run {run + 1}: refresh {result['refresh_s']:.2f} s, "
                f"{result['articles']} articles; UI loop lateness over {result['ticks']} "
                f"ticks: median {result['late_median_ms']:.1f} ms, "
                f"p99 {result['late_p99_ms']:.1f} ms, max {result['late_max_ms']:.1f} ms; "
                f"{result['keys']} key presses: median {result['key_median_ms']:.1f} ms, "
                f"max {result['key_max_ms']:.1f} ms"
            )
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
