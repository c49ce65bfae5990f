"""Parse every corpus feed and print how long it took.

    .venv/bin/python bench/parse.py [--workers 2]
    .venv/bin/python bench/parse.py --declines

Prints, per mode: total MB, total seconds, ms/MB and the five slowest files. Modes:
parse_feed with its fast path (feedparser for the feeds it declines), feedparser alone with
termnews' options, feedparser with its defaults -- all in this process -- and parse_feed
through ParsePool (with its start-up cost measured separately). Each feed is given the
Content-Type the test feed server sends for its extension (as in bench/refresh.py).
--declines lists instead each feed the fast path declines, with the reason and its size
(biggest first), then the bytes per reason.
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

from termnews.feeds.parse import (
    FeedParseError,
    ParsePool,
    parse_feed,
)
from termnews.feeds.parse.document import trim_before_declaration
from termnews.feeds.parse.fast import Decline, FastReader, fast_parse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support.feedserver

from tests.support.feedserver import FEED_TYPES  # noqa: E402

CORPUS = Path(os.environ.get("TERMNEWS_CORPUS") or ROOT / ".." / "shared" / "corpus")


def served_type(name: str) -> str | None:
    """The Content-Type the loopback feed server sends for this file."""
    return FEED_TYPES.get(Path(name).suffix.lower())


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
            parse(body, f"http://bench.example.test/{name}", served_type(name))
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
                    await pool.parse(body, f"http://bench.example.test/{name}", served_type(name))
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


def decline_reason(body: bytes, url: str, content_type: str | None) -> str | None:
    """Why the fast path declines this document (None if it takes it)."""
    try:
        feed = FastReader(trim_before_declaration(body), url, content_type).read()
    except Decline as exc:
        return str(exc) or "(no reason given)"
    except Exception as exc:  # a surprise in the reader: parse_feed falls back to feedparser
        return f"error {type(exc).__name__}: {exc}"
    if not (feed.entries or feed.title):
        return "no entries and no title"
    return None


def print_declines(corpus: list[tuple[str, bytes]], served: bool) -> None:
    print("with the served Content-Type:" if served else "without a Content-Type:")
    declined = []
    for name, body in corpus:
        content_type = served_type(name) if served else None
        reason = decline_reason(body, f"http://bench.example.test/{name}", content_type)
        if reason is not None:
            declined.append((len(body), name, reason))
    declined.sort(reverse=True)
    total = sum(size for size, _, _ in declined)
    print(f"fast path declines {len(declined)} of {len(corpus)} feeds ({total / 1e6:.2f} MB):")
    by_reason: dict[str, list[int]] = {}
    for size, name, reason in declined:
        print(f"{size / 1e3:9.1f} kB  {name:50}  {reason}")
        by_reason.setdefault(reason, []).append(size)
    print("by reason (first reason met per feed):")
    for reason, sizes in sorted(by_reason.items(), key=lambda item: -sum(item[1])):
        print(f"{sum(sizes) / 1e3:9.1f} kB  {len(sizes):3} feeds  {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--declines", action="store_true", help="list the feeds the fast path declines, and why"
    )
    args = parser.parse_args()
    corpus = load_corpus()
    print(f"{len(corpus)} feeds from {CORPUS.resolve()}")
    if args.declines:
        print_declines(corpus, served=True)
        print_declines(corpus, served=False)
        return
    taken = [
        (name, body)
        for name, body in corpus
        if fast_parse(trim_before_declaration(body), f"http://b.test/{name}", served_type(name))
    ]
    print(f"fast path takes {len(taken)} of {len(corpus)} feeds; feedparser parses the rest")
    in_process("fast path alone, on the feeds it takes", taken, parse_feed)
    in_process(
        "feedparser (fast=False), on those same feeds",
        taken,
        lambda body, url, ctype: parse_feed(body, url, ctype, fast=False),
    )
    in_process("parse_feed (fast path + feedparser), one process", corpus, parse_feed)
    in_process(
        "parse_feed(fast=False): feedparser, no sanitizing, one process",
        corpus,
        lambda body, url, ctype: parse_feed(body, url, ctype, fast=False),
    )
    in_process(
        "feedparser defaults (sanitize + resolve URIs), one process",
        corpus,
        lambda body, url, ctype: feedparser.parse(io.BytesIO(body)),
    )
    asyncio.run(through_pool(corpus, args.workers))


if __name__ == "__main__":
    main()
