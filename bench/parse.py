"""Parse every corpus feed and print how long it took.

    .venv/bin/python bench/parse.py [--workers 2] [--repeat 1]

Prints, per mode: total MB, total seconds, ms/MB and the five slowest files. Modes:
parse_feed with its fast path (feedparser for the feeds it declines), feedparser alone with
termnews' options, feedparser with its defaults -- all in this process -- and parse_feed
through ParsePool (with its start-up cost measured separately).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import feedparser

from termnews.parse import (
    FeedParseError,
    ParsePool,
    _fast_parse,
    _trim_before_declaration,
    parse_feed,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TERMNEWS_CORPUS") or ROOT / ".." / "shared" / "corpus")


def load_corpus() -> list[tuple[str, bytes]]:
    feeds = CORPUS / "feeds"
    if not feeds.is_dir():
        sys.exit(f"feed corpus not found at {CORPUS} (set TERMNEWS_CORPUS)")
    return [(p.name, p.read_bytes()) for p in sorted(feeds.iterdir())]


def report(label: str, total_bytes: int, seconds: float, per_file: dict[str, float]) -> None:
    mb = total_bytes / 1e6
    print(f"{label}: {mb:.2f} MB in {seconds:.3f} s = {seconds * 1000 / mb:.1f} ms/MB")
    for name, secs in sorted(per_file.items(), key=lambda item: -item[1])[:5]:
        print(f"    {secs * 1000:8.1f} ms  {name}")


def in_process(label: str, corpus: list[tuple[str, bytes]], parse: Callable[..., object]) -> None:
    per_file: dict[str, float] = {}
    started = time.perf_counter()
    for name, body in corpus:
        t0 = time.perf_counter()
        with contextlib.suppress(FeedParseError):
            parse(body, f"http://bench.example.test/{name}")
        per_file[name] = time.perf_counter() - t0
    report(label, sum(len(b) for _, b in corpus), time.perf_counter() - started, per_file)


async def through_pool(corpus: list[tuple[str, bytes]], workers: int) -> None:
    t0 = time.perf_counter()
    pool = ParsePool(max_workers=workers)
    try:
        await asyncio.gather(*(pool._call(os.getpid) for _ in range(workers)))
        startup = time.perf_counter() - t0
        print(f"ParsePool start-up ({workers} workers, until each has answered): {startup:.3f} s")
        per_file: dict[str, float] = {}
        # At most one job per worker in flight, so a file's time is its parse plus the IPC.
        slots = asyncio.Semaphore(workers)

        async def one(name: str, body: bytes) -> None:
            async with slots:
                started = time.perf_counter()
                with contextlib.suppress(FeedParseError):
                    await pool.parse(body, f"http://bench.example.test/{name}")
                per_file[name] = time.perf_counter() - started

        started = time.perf_counter()
        await asyncio.gather(*(one(name, body) for name, body in corpus))
        elapsed = time.perf_counter() - started
        report(
            f"ParsePool, {workers} workers",
            sum(len(b) for _, b in corpus),
            elapsed,
            per_file,
        )
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    corpus = load_corpus()
    print(f"{len(corpus)} feeds from {CORPUS.resolve()}")
    taken = [
        (name, body)
        for name, body in corpus
        if _fast_parse(_trim_before_declaration(body), f"http://b.test/{name}", None)
    ]
    print(f"fast path takes {len(taken)} of {len(corpus)} feeds; feedparser parses the rest")
    in_process("fast path alone, on the feeds it takes", taken, parse_feed)
    in_process(
        "feedparser (fast=False), on those same feeds",
        taken,
        lambda body, url: parse_feed(body, url, fast=False),
    )
    in_process("parse_feed (fast path + feedparser), one process", corpus, parse_feed)
    in_process(
        "parse_feed(fast=False): feedparser, no sanitizing, one process",
        corpus,
        lambda body, url: parse_feed(body, url, fast=False),
    )
    in_process(
        "feedparser defaults (sanitize + resolve URIs), one process",
        corpus,
        lambda body, url: feedparser.parse(io.BytesIO(body)),
    )
    asyncio.run(through_pool(corpus, args.workers))


if __name__ == "__main__":
    main()
