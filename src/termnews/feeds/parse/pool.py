"""ParsePool: parse_feed in worker processes.

Parsing is CPU-bound and holds the GIL, so it must never run on the UI's event loop or in
a thread. Workers fork from a forkserver that has already imported this package.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from termnews.feeds.parse.common import FeedParseError, one_line
from termnews.model import ParsedFeed

__all__ = ["ParsePool", "start_helpers"]

T = TypeVar("T")

_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver on Linux (fork is unsafe once the UI's threads exist); spawn elsewhere."""
    global _context
    with _context_lock:
        if _context is None:
            if sys.platform.startswith("linux"):
                ctx = multiprocessing.get_context("forkserver")
                # Workers fork from a server that has already imported feedparser.
                ctx.set_forkserver_preload(
                    ["termnews.feeds.parse.document", "termnews.feeds.parse.reference"]
                )
                _context = ctx
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def _ready() -> bool:
    return True


def start_helpers() -> None:
    """Start multiprocessing's helper processes (resource tracker, forkserver) now.

    Safe at any time, from any thread: the resource tracker hands its new process
    `sys.stderr.fileno()`, and Textual's stand-in for stderr answers -1 ("bad value(s) in
    fds_to_keep" once made every refresh inside the app fail), so while it is started
    the process' real stderr stands in (the forkserver inherits fd 2 either way). The
    pool calls this itself before its first worker; the forkserver then imports the
    readers and feedparser in its own process.
    """
    from multiprocessing import resource_tracker

    context = _mp_context()
    with _helpers_lock:
        if _has_real_fileno(sys.stderr) or not _has_real_fileno(sys.__stderr__):
            resource_tracker.ensure_running()
        else:
            stand_in, sys.stderr = sys.stderr, sys.__stderr__
            try:
                resource_tracker.ensure_running()
            finally:
                sys.stderr = stand_in
    if isinstance(context, multiprocessing.context.ForkServerContext):
        from multiprocessing import forkserver

        forkserver.ensure_running()


_helpers_lock = threading.Lock()


def _has_real_fileno(stream: Any) -> bool:
    try:
        return stream is not None and int(stream.fileno()) >= 0
    except (AttributeError, OSError, ValueError):
        return False


class ParsePool:
    """Runs parse_feed in a process pool: parsing is CPU-bound and must never run on the
    UI's event loop or in a thread."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._max_workers = max_workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def warm_up(self) -> None:
        """Start the workers now (call from a thread): starting the forkserver and its
        feedparser import takes ~0.1 s that would otherwise wait for the first feed."""
        executor = self._get_executor()
        for future in [executor.submit(_ready) for _ in range(self._max_workers)]:
            future.result()

    async def parse(self, body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
        """parse_feed in a worker process. Raises FeedParseError for every failure."""
        from termnews.feeds.parse.document import parse_feed

        return await self._call(parse_feed, body, url, content_type)

    async def _call(self, func: Callable[..., T], *args: Any) -> T:
        executor = self._get_executor()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, func, *args)
        except FeedParseError:
            raise
        except BrokenProcessPool:
            self._discard(executor)
            raise FeedParseError(
                "the parser process stopped unexpectedly on this feed (it has been restarted)"
            ) from None
        except Exception as exc:
            raise FeedParseError(f"could not parse the feed: {one_line(exc)}") from None

    async def extract(self, page: str, url: str) -> str | None:
        """A web page's article (fullarticle.extract_article) in a worker process."""
        from termnews.errors import FullArticleError
        from termnews.fullarticle import extract_article

        try:
            return await self._call(extract_article, page, url)
        except FeedParseError as exc:
            reason = str(exc).removeprefix("could not parse the feed: ")
            raise FullArticleError(f"could not extract the article: {reason}") from None

    def _get_executor(self) -> Executor:
        with self._lock:
            if self._closed:
                raise FeedParseError("the parser pool has been closed")
            if self._executor is None:
                start_helpers()
                self._executor = ProcessPoolExecutor(
                    max_workers=self._max_workers, mp_context=_mp_context()
                )
            return self._executor

    def _discard(self, broken: Executor) -> None:
        """Forget a broken executor so the next call starts a fresh one."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
