"""termnews.http against a real loopback server: caps, redirects, failures and `sent`."""

from __future__ import annotations

import pytest

from termnews import http
from tests.support.commentsite import Site, comment_site
from tests.support.feedserver import FeedServer

site = comment_site  # the fixture, under the name these tests use


async def test_a_small_compressed_answer_cannot_grow_past_the_cap(feed_server: FeedServer) -> None:
    feed_server.add_feed("/bomb", b"<rss>" + b" " * (3 * 1024 * 1024) + b"</rss>", encoding="gzip")
    async with http.make_client(5.0) as client:
        with pytest.raises(http.HttpFailure, match=r"^body larger than 1 MB$"):
            await http.get(client, feed_server.url_for("/bomb"), max_bytes=1024 * 1024)
        answer = await http.get(client, feed_server.url_for("/bomb"), max_bytes=4 * 1024 * 1024)
    assert answer.status == 200 and len(answer.body) > 3 * 1024 * 1024  # decoded here


async def test_redirects_are_followed_by_hand_and_checked(feed_server: FeedServer) -> None:
    feed_server.add_feed("/feed", b"<rss/>")
    feed_server.add_redirect("/old", feed_server.url_for("/feed"))
    feed_server.add_redirect("/evil", "file:///etc/passwd", status=302)
    feed_server.add_redirect("/loop", feed_server.url_for("/loop"))
    async with http.make_client(5.0) as client:
        moved = await http.get(client, feed_server.url_for("/old"), max_bytes=1000)
        assert (moved.status, moved.body) == (200, b"<rss/>")
        assert moved.url == feed_server.url_for("/feed")
        with pytest.raises(http.HttpFailure, match="unsupported URL scheme 'file'"):
            await http.get(client, feed_server.url_for("/evil"), max_bytes=1000)
        with pytest.raises(http.HttpFailure, match=r"too many redirects \(more than 5\)"):
            await http.get(client, feed_server.url_for("/loop"), max_bytes=1000)


async def test_sent_tells_a_request_that_left_from_one_that_never_did(site: Site) -> None:
    site.answer_delay = 1.0
    item = b"<item><author>a@b.org (Ada)</author><description>Hi</description></item>"
    async with http.make_client(0.3) as client:
        with pytest.raises(http.HttpFailure) as late:
            await http.exchange(
                client, "POST", site.url("/commentapi"), max_bytes=1000, content=item
            )
        with pytest.raises(http.HttpFailure) as refused:
            await http.exchange(
                client, "POST", "http://127.0.0.1:9/commentapi", max_bytes=1000, content=b"x"
            )
    assert late.value.sent and late.value.message == "timed out after 0.3 s"
    assert not refused.value.sent
    assert refused.value.message == "connection refused by 127.0.0.1:9"
    assert site.posts == 1  # the late one did arrive


def test_error_wording_names_the_host_once() -> None:
    assert http.about("example.org", "timed out after 10 s") == (
        "example.org: timed out after 10 s"
    )
    assert http.about("example.org", "connection refused by example.org") == (
        "connection refused by example.org"
    )
    assert http.status_line(404) == "HTTP 404 Not Found"
    assert http.status_line(599) == "HTTP 599"


async def test_get_ok_wants_200_and_names_the_host(feed_server: FeedServer) -> None:
    feed_server.add_feed("/feed", b"<rss/>")
    feed_server.add_redirect("/old", feed_server.url_for("/feed"))
    host = http.host_label(feed_server.url_for("/"))
    async with http.make_client(5.0) as client:
        answer = await http.get_ok(
            client, feed_server.url_for("/old"), max_bytes=1000, accept="*/*", what="the feed"
        )
        assert answer.status == 200 and answer.body == b"<rss/>"
        with pytest.raises(http.HttpFailure) as missing:
            await http.get_ok(
                client, feed_server.url_for("/gone"), max_bytes=1000, accept="*/*", what="it"
            )
        assert missing.value.message == f"{host} answered HTTP 404 Not Found for it"
        feed_server.add_redirect("/loop", feed_server.url_for("/loop"))
        with pytest.raises(http.HttpFailure) as looping:
            await http.get_ok(
                client, feed_server.url_for("/loop"), max_bytes=1000, accept="*/*", what="it"
            )
        assert looping.value.message.startswith(f"{host}: too many redirects")


def test_media_type_is_the_lower_case_type_without_parameters() -> None:
    assert http.media_type("Text/HTML; charset=UTF-8") == "text/html"
    assert http.media_type(None) == http.media_type("") == ""
