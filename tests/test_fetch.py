"""Fetcher against a real loopback server: validators, redirects, errors, limits, decoding."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import socket
import time
import tracemalloc
import zlib
from pathlib import Path

import brotli
import pytest

from termnews import __version__
from termnews.feeds.fetch import Fetcher, FetchResult
from termnews.http import format_size, parse_retry_after
from termnews.model import FetchStatus
from tests.support.corpus import ABSENT, FEEDS
from tests.support.feedserver import FeedServer, make_atom, make_rss

FEED = make_rss(
    "Loopback Notes",
    [
        {"title": "First post", "link": "http://example.org/1", "description": "<p>one</p>"},
        {"title": "Second post", "link": "http://example.org/2", "description": "<p>two</p>"},
    ],
)


async def fetch_once(url: str, **kwargs: object) -> FetchResult:
    options: dict = {"timeout": 5.0, "retry_backoff": 0.05, **kwargs}
    async with Fetcher(**options) as fetcher:
        return await fetcher.fetch(url)


async def test_ok_with_validators_then_304(feed_server: FeedServer) -> None:
    feed_server.add_feed("/feed.xml", FEED)
    url = feed_server.url_for("/feed.xml")
    async with Fetcher(timeout=5.0) as fetcher:
        first = await fetcher.fetch(url)
        assert first.status is FetchStatus.OK
        assert first.body == FEED
        assert first.http_status == 200
        assert first.etag and first.last_modified
        assert first.content_type == "application/rss+xml"
        assert first.error is None and first.permanent_url is None
        assert first.final_url == url

        second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.body is None and second.error is None
    assert second.etag == first.etag and second.last_modified == first.last_modified

    plain, conditional = feed_server.requests_for("/feed.xml")
    assert plain.header("if-none-match") is None
    assert conditional.header("if-none-match") == first.etag
    assert conditional.header("if-modified-since") == first.last_modified
    assert plain.header("user-agent") == (
        f"termnews/{__version__} (+https://github.com/termnews/termnews)"
    )


async def test_304_without_validators_keeps_the_old_ones(feed_server: FeedServer) -> None:
    # Only Last-Modified on the server: the ETag the caller had must survive the 304.
    feed_server.add_feed("/lm.xml", FEED, etag=False)
    url = feed_server.url_for("/lm.xml")
    first = await fetch_once(url)
    assert first.etag is None and first.last_modified
    async with Fetcher(timeout=5.0) as fetcher:
        again = await fetcher.fetch(url, etag=None, last_modified=first.last_modified)
        kept = await fetcher.fetch(url, etag='"old-tag"', last_modified=first.last_modified)
    assert again.status is FetchStatus.NOT_MODIFIED
    # If-None-Match takes precedence; a stale tag means a full answer.
    assert kept.status is FetchStatus.OK


async def test_changed_feed_gets_a_new_etag(feed_server: FeedServer) -> None:
    feed_server.add_feed("/f.xml", FEED)
    url = feed_server.url_for("/f.xml")
    first = await fetch_once(url)
    newer = make_rss("Loopback Notes", [{"title": "Third post"}])
    feed_server.set_feed("/f.xml", newer)
    async with Fetcher(timeout=5.0) as fetcher:
        second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status is FetchStatus.OK
    assert second.body == newer
    assert second.etag != first.etag


async def test_301_chain_gives_permanent_url(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/old", "/older", 301)
    feed_server.add_redirect("/older", feed_server.url_for("/new.xml"), 308)
    feed_server.add_feed("/new.xml", FEED)
    result = await fetch_once(feed_server.url_for("/old"))
    assert result.status is FetchStatus.OK
    assert result.body == FEED
    assert result.url == feed_server.url_for("/old")
    assert result.final_url == feed_server.url_for("/new.xml")
    assert result.permanent_url == feed_server.url_for("/new.xml")


async def test_308_alone_is_permanent(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/moved", "new.xml", 308)  # relative Location
    feed_server.add_feed("/new.xml", FEED)
    result = await fetch_once(feed_server.url_for("/moved"))
    assert result.status is FetchStatus.OK
    assert result.permanent_url == feed_server.url_for("/new.xml")


@pytest.mark.parametrize("temporary", [302, 307])
async def test_temporary_hop_means_no_permanent_url(
    feed_server: FeedServer, temporary: int
) -> None:
    feed_server.add_redirect("/a", "/b", 301)
    feed_server.add_redirect("/b", "/feed.xml", temporary)
    feed_server.add_feed("/feed.xml", FEED)
    result = await fetch_once(feed_server.url_for("/a"))
    assert result.status is FetchStatus.OK
    assert result.final_url == feed_server.url_for("/feed.xml")
    assert result.permanent_url is None


async def test_redirect_loop_stops(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/ping", "/pong", 302)
    feed_server.add_redirect("/pong", "/ping", 302)
    result = await fetch_once(feed_server.url_for("/ping"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "too many redirects (more than 5)"
    assert feed_server.hits("/ping") + feed_server.hits("/pong") == 6


async def test_404_is_an_error_and_not_retried(feed_server: FeedServer) -> None:
    feed_server.add_status("/missing", 404)
    result = await fetch_once(feed_server.url_for("/missing"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "HTTP 404 Not Found"
    assert result.http_status == 404
    assert result.body is None
    assert feed_server.hits("/missing") == 1


async def test_410_is_gone(feed_server: FeedServer) -> None:
    feed_server.add_status("/gone", 410)
    result = await fetch_once(feed_server.url_for("/gone"))
    assert result.status is FetchStatus.GONE
    assert result.http_status == 410


async def test_429_with_retry_after_seconds(feed_server: FeedServer) -> None:
    feed_server.add_status("/busy", 429, retry_after=120)
    result = await fetch_once(feed_server.url_for("/busy"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "HTTP 429 Too Many Requests"
    assert result.retry_after == 120.0
    assert feed_server.hits("/busy") == 1


async def test_503_with_retry_after_date_is_not_retried(feed_server: FeedServer) -> None:
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    feed_server.add_status("/down", 503, retry_after=when)
    result = await fetch_once(feed_server.url_for("/down"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "HTTP 503 Service Unavailable"
    assert result.retry_after is not None
    assert 3500 < result.retry_after <= 3600
    assert feed_server.hits("/down") == 1


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


async def test_500_is_retried_once_then_reported(feed_server: FeedServer) -> None:
    feed_server.add_status("/broken", 500)
    result = await fetch_once(feed_server.url_for("/broken"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "HTTP 500 Internal Server Error"
    assert feed_server.hits("/broken") == 2


async def test_retries_zero_means_one_request(feed_server: FeedServer) -> None:
    feed_server.add_status("/broken", 502)
    result = await fetch_once(feed_server.url_for("/broken"), retries=0)
    assert result.error == "HTTP 502 Bad Gateway"
    assert feed_server.hits("/broken") == 1


async def test_slow_body_times_out(feed_server: FeedServer) -> None:
    # Each piece arrives well within the read timeout; only the total budget stops it.
    feed_server.add_slow("/slow.xml", FEED, chunk_size=64, delay=0.1)
    result = await fetch_once(feed_server.url_for("/slow.xml"), timeout=0.5, retries=0)
    assert result.status is FetchStatus.ERROR
    assert result.error == "timed out after 0.5 s"
    assert result.body is None


async def test_silent_server_times_out(feed_server: FeedServer) -> None:
    feed_server.add_held("/held.xml", FEED, hold=2.0)
    result = await fetch_once(feed_server.url_for("/held.xml"), timeout=0.3, retries=0)
    assert result.error == "timed out after 0.3 s"


async def test_body_above_cap_by_content_length(feed_server: FeedServer) -> None:
    feed_server.add_large("/big.xml", 1024 * 1024)
    result = await fetch_once(feed_server.url_for("/big.xml"), max_bytes=64 * 1024)
    assert result.status is FetchStatus.ERROR
    assert result.error == "body larger than 64 KB"
    assert feed_server.hits("/big.xml") == 1


async def test_body_above_cap_while_streaming(feed_server: FeedServer) -> None:
    # No Content-Length: only counting the streamed bytes can stop this one.
    feed_server.add_large("/endless.xml", 50 * 1024 * 1024, send_length=False)
    result = await fetch_once(feed_server.url_for("/endless.xml"), max_bytes=64 * 1024)
    assert result.status is FetchStatus.ERROR
    assert result.error == "body larger than 64 KB"


async def test_body_at_cap_is_accepted(feed_server: FeedServer) -> None:
    feed_server.add_large("/exact.xml", 64 * 1024, send_length=False)
    result = await fetch_once(feed_server.url_for("/exact.xml"), max_bytes=64 * 1024)
    assert result.status is FetchStatus.OK
    assert result.body is not None and len(result.body) == 64 * 1024


async def test_connection_cut_mid_body(feed_server: FeedServer) -> None:
    feed_server.add_cut("/cut.xml", FEED, cut_after=100)
    result = await fetch_once(feed_server.url_for("/cut.xml"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "connection closed mid-body"
    assert result.body is None
    assert feed_server.hits("/cut.xml") == 2  # a transient failure gets its one retry


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate"])
async def test_compressed_bodies_are_decoded(feed_server: FeedServer, coding: str) -> None:
    feed_server.add_feed("/packed.xml", FEED, encoding=coding)
    result = await fetch_once(feed_server.url_for("/packed.xml"))
    assert result.status is FetchStatus.OK
    assert result.body == FEED
    (request,) = feed_server.requests_for("/packed.xml")
    assert coding in (request.header("accept-encoding") or "")


async def test_corrupt_gzip_is_a_clear_error(feed_server: FeedServer) -> None:
    garbage = b"this was never gzip" + gzip.compress(FEED)
    feed_server.add_feed(
        "/bad.xml", garbage, headers={"Content-Encoding": "gzip"}, etag=False, last_modified=False
    )
    result = await fetch_once(feed_server.url_for("/bad.xml"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "body could not be decoded (Content-Encoding: gzip)"


@pytest.mark.parametrize("codec", ["iso-8859-1", "windows-1251"])
async def test_non_utf8_bytes_come_back_intact(feed_server: FeedServer, codec: str) -> None:
    title = "Café déjà vu" if codec == "iso-8859-1" else "Новости дня"
    body = make_rss(title, [{"title": title}], encoding=codec)
    assert title.encode(codec) in body
    feed_server.add_feed("/enc.xml", body, "application/rss+xml", charset=codec)
    result = await fetch_once(feed_server.url_for("/enc.xml"))
    assert result.body == body
    assert result.content_type == f"application/rss+xml; charset={codec}"


async def test_wrong_content_type_is_still_ok_here(feed_server: FeedServer) -> None:
    # Deciding "not a feed" is the parser's business, not the fetcher's.
    feed_server.add_feed("/odd", make_atom("Atom", [{"title": "x"}]), "text/html")
    result = await fetch_once(feed_server.url_for("/odd"))
    assert result.status is FetchStatus.OK
    assert result.content_type == "text/html"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused() -> None:
    port = _closed_port()
    result = await fetch_once(f"http://127.0.0.1:{port}/feed.xml")
    assert result.status is FetchStatus.ERROR
    assert result.error == f"connection refused by 127.0.0.1:{port}"
    assert result.http_status is None


async def test_unresolvable_host() -> None:
    result = await fetch_once("http://no-such-host.invalid/feed.xml", retries=0)
    assert result.status is FetchStatus.ERROR
    assert result.error == "could not resolve host no-such-host.invalid"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/feed", "unsupported URL scheme 'ftp': only http and https work"),
        ("example.org/feed", "invalid URL: it needs to start with http:// or https://"),
        ("", "invalid URL: it is empty"),
        ("http:///feed", "invalid URL: it has no host name"),
    ],
)
async def test_bad_urls_get_plain_messages(url: str, message: str) -> None:
    result = await fetch_once(url)
    assert result.status is FetchStatus.ERROR
    assert result.error == message


async def test_redirect_to_other_scheme_is_refused(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/away", "file:///etc/passwd", 302)
    result = await fetch_once(feed_server.url_for("/away"))
    assert result.status is FetchStatus.ERROR
    assert result.error == "unsupported URL scheme 'file': only http and https work"


async def test_per_host_concurrency_is_honoured(feed_server: FeedServer) -> None:
    for n in range(6):
        feed_server.add_held(f"/held{n}.xml", FEED, hold=0.2)
    async with Fetcher(timeout=5.0, per_host=2, max_concurrency=10) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(feed_server.url_for(f"/held{n}.xml")) for n in range(6))
        )
    assert all(r.status is FetchStatus.OK for r in results)
    assert 1 <= feed_server.max_in_flight <= 2


async def test_global_limit_applies_across_hosts(feed_server: FeedServer) -> None:
    # 127.0.0.1 and localhost are two hosts for the per-host limit, one server here.
    for n in range(6):
        feed_server.add_held(f"/held{n}.xml", FEED, hold=0.2)
    port = feed_server.port
    urls = [f"http://127.0.0.1:{port}/held{n}.xml" for n in range(3)]
    urls += [f"http://localhost:{port}/held{n}.xml" for n in range(3, 6)]
    async with Fetcher(timeout=5.0, per_host=3, max_concurrency=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    assert all(r.status is FetchStatus.OK for r in results), [r.error for r in results]
    assert 1 <= feed_server.max_in_flight <= 2


async def test_get_for_pages(feed_server: FeedServer) -> None:
    feed_server.add_page("/", "<html><head><title>Home</title></head></html>")
    async with Fetcher(timeout=5.0) as fetcher:
        result = await fetcher.get(feed_server.url)
        small = await fetcher.get(feed_server.url, max_bytes=10)
    assert result.status is FetchStatus.OK
    assert result.body is not None and b"<title>Home</title>" in result.body
    assert result.content_type == "text/html; charset=utf-8"
    assert small.error == "body larger than 10 bytes"
    assert "text/html" in (feed_server.requests[0].header("accept") or "")


def test_format_size() -> None:
    assert format_size(20 * 1024 * 1024) == "20 MB"
    assert format_size(64 * 1024) == "64 KB"
    assert format_size(1536) == "1.5 KB"
    assert format_size(10) == "10 bytes"


async def test_server_counts_simultaneous_requests(feed_server: FeedServer) -> None:
    # The check above is only meaningful if the counter sees overlap when it happens.
    for n in range(6):
        feed_server.add_held(f"/held{n}.xml", FEED, hold=0.3)
    async with Fetcher(timeout=5.0, per_host=6) as fetcher:
        await asyncio.gather(
            *(fetcher.fetch(feed_server.url_for(f"/held{n}.xml")) for n in range(6))
        )
    assert feed_server.max_in_flight > 2


def _corpus_feeds() -> Path:
    if not FEEDS.is_dir():
        pytest.skip(ABSENT)
    return FEEDS


@pytest.mark.corpus
async def test_whole_corpus_first_and_conditional(feed_server: FeedServer) -> None:
    feeds = _corpus_feeds()
    paths = feed_server.serve_directory("/corpus", feeds)
    urls = [feed_server.url_for(p) for p in paths]
    async with Fetcher(timeout=10.0) as fetcher:
        first = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
        assert [r.error for r in first if r.error] == []
        for result, path in zip(first, paths, strict=True):
            assert result.body == (feeds / path.rpartition("/")[2]).read_bytes()
        again = await asyncio.gather(
            *(fetcher.fetch(r.url, etag=r.etag, last_modified=r.last_modified) for r in first)
        )
    assert {r.status for r in again} == {FetchStatus.NOT_MODIFIED}


async def test_connections_are_reused_after_304_and_errors(feed_server: FeedServer) -> None:
    feed_server.add_feed("/feed.xml", FEED)
    feed_server.add_status("/missing", 404)
    feed_server.add_redirect("/moved", "/feed.xml", 301)
    url = feed_server.url_for("/feed.xml")
    async with Fetcher(timeout=5.0, per_host=1) as fetcher:
        first = await fetcher.fetch(url)
        for _ in range(3):
            again = await fetcher.fetch(url, etag=first.etag)
            assert again.status is FetchStatus.NOT_MODIFIED
        await fetcher.fetch(feed_server.url_for("/missing"))
        await fetcher.fetch(feed_server.url_for("/moved"))
    ports = {r.client_port for r in feed_server.requests}
    assert len(feed_server.requests) == 7
    assert len(ports) == 1


@pytest.mark.parametrize("coding", ["gzip", "br"])
async def test_compression_bomb_stops_at_the_cap(feed_server: FeedServer, coding: str) -> None:
    expanded = b"\0" * (8 * 1024 * 1024)
    packed = gzip.compress(expanded) if coding == "gzip" else brotli.compress(expanded, quality=5)
    assert len(packed) < 64 * 1024
    feed_server.add_feed(
        "/bomb.xml", packed, headers={"Content-Encoding": coding}, etag=False, last_modified=False
    )
    result = await fetch_once(feed_server.url_for("/bomb.xml"), max_bytes=64 * 1024)
    assert result.status is FetchStatus.ERROR
    assert result.error == "body larger than 64 KB"


async def test_raw_deflate_and_stacked_codings(feed_server: FeedServer) -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(FEED) + raw.flush()
    feed_server.add_feed("/raw.xml", raw_deflate, headers={"Content-Encoding": "deflate"})
    stacked = brotli.compress(gzip.compress(FEED))
    feed_server.add_feed("/stack.xml", stacked, headers={"Content-Encoding": "gzip, br"})
    async with Fetcher(timeout=5.0) as fetcher:
        first = await fetcher.fetch(feed_server.url_for("/raw.xml"))
        second = await fetcher.fetch(feed_server.url_for("/stack.xml"))
    assert first.body == FEED
    assert second.body == FEED


async def test_compression_bomb_is_never_expanded_in_memory(feed_server: FeedServer) -> None:
    expanded = b"\0" * (32 * 1024 * 1024)
    packed = brotli.compress(expanded, quality=5)
    del expanded
    feed_server.add_feed("/bomb.xml", packed, headers={"Content-Encoding": "br"})
    async with Fetcher(timeout=5.0, max_bytes=64 * 1024) as fetcher:
        tracemalloc.start()
        try:
            result = await fetcher.fetch(feed_server.url_for("/bomb.xml"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.error == "body larger than 64 KB"
    assert peak < 4 * 1024 * 1024
