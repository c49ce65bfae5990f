"""Benchmark: searches on a big cache, a pasted page of text, and cancelling a search.

    .venv/bin/python bench/make_cache.py --articles 100000 /tmp/cache   # once
    .venv/bin/python bench/search.py /tmp/cache [--runs 5]

Times NewsService.search_ids (the worker-thread search) for a few typical words, for words
found in nearly every article, and for a 10 KB query made of common words (what a paste
into the search box gives: only its first SEARCH_MAX_CHARS characters count). Then starts
broad searches and calls cancel_search() from another thread after 20 ms, and prints how
long each took to stop. Median of --runs; the machine's load average is printed too.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from pathlib import Path

from termnews.config import Paths, Settings
from termnews.model import ArticleQuery
from termnews.service import NewsService, SearchCancelled

TYPICAL = ("harbour", "lantern", "market", "keeper")
BROAD = ("the", "a")


def timed(service: NewsService, text: str, runs: int) -> tuple[float, int]:
    times, hits = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        hits = len(service.search_ids(ArticleQuery(search=text)))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, hits


def cancel_after(service: NewsService, text: str, delay: float) -> float | None:
    """Milliseconds from cancel_search() to the search stopping; None if it finished first."""
    cancelled_at: list[float] = []

    def cancel() -> None:
        cancelled_at.append(time.perf_counter())
        service.cancel_search()

    timer = threading.Timer(delay, cancel)
    timer.start()
    try:
        service.search_ids(ArticleQuery(search=text))
    except SearchCancelled:
        return (time.perf_counter() - cancelled_at[0]) * 1000
    finally:
        timer.join()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="a data dir made by bench/make_cache.py")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    paths = Paths(args.data_dir / "config.toml", args.data_dir)
    service = NewsService.open(paths, Settings())
    try:
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{service.unread_total()} unread articles in {args.data_dir}")
        words = [w for w in TYPICAL for _ in range(250)]
        random.Random(1).shuffle(words)
        pasted = " ".join(words)[:10_000]
        for label, text in [*((w, w) for w in TYPICAL), *((w, w) for w in BROAD)]:
            ms, hits = timed(service, text, args.runs)
            print(f"search {label!r:12} {hits:7d} matches  {ms:7.1f} ms")
        ms, hits = timed(service, pasted, args.runs)
        print(f"search of a 10 KB paste   {hits:7d} matches  {ms:7.1f} ms")
        for text in BROAD:
            stops = [cancel_after(service, text, 0.02) for _ in range(args.runs)]
            done = [s for s in stops if s is not None]
            median = f"{statistics.median(done):.1f} ms" if done else "-"
            print(f"cancel {text!r} after 20 ms: stopped in {median} ({len(done)}/{len(stops)})")
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
