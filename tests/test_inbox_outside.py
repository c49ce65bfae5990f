"""The comment inbox beyond the sample site: a Mastodon reply answered there, and the
conditional GETs under a backend's read (a gzip'd comment feed from the test feed server).

The Mastodon instance is the loopback stand-in of tests/support/discussions.py (real HTTP,
Mastodon's wire format); the post is stored in a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews import http
from termnews.comments import CommentService, PostOutcome
from termnews.comments.feeds import read_comment_feed
from termnews.comments.revalidate import MAX_KEPT_BYTES, Revalidating
from termnews.config import Settings
from termnews.model import ArticleDetail, Draft, Identity, ParsedEntry, ParsedFeed
from termnews.store import Store
from tests.support.discussion_shapes import T0
from tests.support.discussions import DiscussionServer, Reply
from tests.support.feedserver import FeedServer


@pytest.fixture
def server() -> Iterator[DiscussionServer]:
    with DiscussionServer() as running:
        yield running


def a_post_linking(store: Store, status_url: str) -> ArticleDetail:
    feed = store.add_feed("https://blog.example.org/feed/")
    entry = ParsedEntry(
        guid="p1",
        link="https://blog.example.org/2024/05/a-post/",
        title="A post discussed on Mastodon",
        author=None,
        published=float(T0),
        updated=None,
        summary=None,
        content=f'<p>Text.</p><p><a href="{status_url}">Comment on Mastodon</a></p>',
    )
    parsed = ParsedFeed(title="Blog", site_url=None, entries=[entry])
    store.store_feed(feed.id, parsed, etag=None, last_modified=None, body_hash="x", next_fetch=0)
    article_id = store.db.execute("SELECT id FROM articles").fetchone()[0]
    article = store.article(article_id)
    assert article is not None
    return article


async def test_a_reply_to_your_mastodon_reply_is_found(
    tmp_path: Path, server: DiscussionServer
) -> None:
    store = Store(tmp_path / "termnews.db", identity="ada")
    settings = Settings()
    settings.check_minutes = 0
    settings.discussions = server.settings(
        enabled=["mastodon"], mastodon_instance=server.url, mastodon_token=server.mastodon_token
    )
    status = server.add_mastodon("110", [Reply("1", "ada", "<p>first</p>")])
    article = a_post_linking(store, status)
    comments = CommentService(store, settings, Identity(name="ada"), timeout=5.0)
    try:
        target = next(t for t in (await comments.info(article)).targets if t.kind == "mastodon")
        draft = Draft(article_id=article.id, identity="ada", body="Boats at dawn?")
        result = await comments.post(article, draft, target)
        assert result.outcome is PostOutcome.POSTED, result.message
        assert len(server.posted) == 1
        mine = server.posted[0]["status"]

        first = await comments.check_replies()
        assert (first.threads, first.new, first.failed) == (1, 0, 0)
        answer = server._status(
            "300001", "bea", "<p>At six, from the north quay.</p>", mine["id"], T0 + 20_000,
            f"{server.url}/@bea/300001",
        )  # fmt: skip
        server.mastodon_threads["110"].append(answer)
        second = await comments.check_replies()
        assert second.new == 1
        [reply] = store.replies("ada")
        assert reply.source == "mastodon" and reply.author == "Bea (@bea)"
        assert reply.first_line == "At six, from the north quay."
        assert store.replies("bob") == []
        assert len(server.posted) == 1  # checking never posts
    finally:
        store.close()


COMMENT_FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:thr="http://purl.org/syndication/thread/1.0"><channel><title>c</title>
<item><title>By: Ada</title><link>https://blog.example.org/p/#comment-1</link>
<guid>https://blog.example.org/?c=1</guid><description>Mine</description></item>
<item><title>By: Bea</title><link>https://blog.example.org/p/#comment-2</link>
<guid>https://blog.example.org/?c=2</guid>
<thr:in-reply-to ref="https://blog.example.org/?c=1" href="https://blog.example.org/p/#comment-1"/>
<description>Yours</description></item>
</channel></rss>"""


async def test_a_kept_gzip_response_is_revalidated_and_read_again_from_the_store(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/comments.xml", COMMENT_FEED, encoding="gzip")
    url = feed_server.url_for("/comments.xml")
    store = Store(tmp_path / "termnews.db")

    async def read_through() -> tuple[Revalidating, list[str]]:
        revalidating = Revalidating(store, 1.0)
        token = http.transport_wrapper.set(revalidating.wrap)
        try:
            async with http.make_client(5.0) as client:
                comments = await read_comment_feed(client, url)
        finally:
            http.transport_wrapper.reset(token)
        return revalidating, [f"{c.remote_id}<{c.parent_id}" for c in comments]

    try:
        first, listed = await read_through()
        assert (first.fresh, first.not_modified) == (1, 0)
        assert listed == ["1<None", "2<1"]
        kept = store.cached_response(url)
        assert kept is not None and kept.body.startswith(b"\x1f\x8b")  # as sent: gzip
        assert ("content-encoding", "gzip") in kept.headers
        second, again = await read_through()
        assert (second.fresh, second.not_modified, second.unchanged) == (0, 1, True)
        assert again == listed  # the kept (still gzip'd) body, decoded under the same cap
        [_, revalidated] = feed_server.requests_for("/comments.xml")
        assert revalidated.header("if-none-match") == first.validators[0][1]
        async with http.make_client(5.0) as plain:  # no wrapper outside a check
            await read_comment_feed(plain, url)
        assert feed_server.requests_for("/comments.xml")[-1].header("if-none-match") is None
    finally:
        store.close()


async def test_a_response_too_big_to_keep_is_passed_on_whole_and_not_kept(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    big = COMMENT_FEED.replace(b"<description>Yours", b"<description>" + b"long " * 600_000)
    assert len(big) > MAX_KEPT_BYTES
    feed_server.add_feed("/big.xml", big)
    url = feed_server.url_for("/big.xml")
    store = Store(tmp_path / "termnews.db")
    revalidating = Revalidating(store, 1.0)
    token = http.transport_wrapper.set(revalidating.wrap)
    try:
        async with http.make_client(5.0) as client:
            comments = await read_comment_feed(client, url)
        assert len(comments[1].content_html) > MAX_KEPT_BYTES  # every byte arrived
        assert store.cached_response(url) is None
    finally:
        http.transport_wrapper.reset(token)
        store.close()


async def test_a_reply_to_your_bluesky_reply_is_found(
    tmp_path: Path, server: DiscussionServer
) -> None:
    store = Store(tmp_path / "termnews.db", identity="ada")
    settings = Settings()
    settings.check_minutes = 0
    handle, password = server.bluesky_login
    settings.discussions = server.settings(
        enabled=["bluesky"],
        bluesky_pds=server.url,
        bluesky_handle=handle,
        bluesky_app_password=password,
    )
    link = server.add_bluesky("ada.example.com", "3kabc", [Reply("1", "cyd", "first")])
    article = a_post_linking(store, link)
    comments = CommentService(store, settings, Identity(name="ada"), timeout=5.0)
    try:
        target = next(t for t in (await comments.info(article)).targets if t.kind == "bluesky")
        draft = Draft(article_id=article.id, identity="ada", body="Any sailings tomorrow?")
        result = await comments.post(article, draft, target)
        assert result.outcome is PostOutcome.POSTED, result.message
        [record] = server.bluesky_records.values()
        assert (await comments.check_replies()).new == 0
        node = server._bluesky_node(record["uri"])
        assert node is not None
        answer = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": {
                "uri": "at://did:plc:bea/app.bsky.feed.post/rbea",
                "cid": "bafyreibea",
                "author": {"did": "did:plc:bea", "handle": "bea.bsky.social", "displayName": "Bea"},
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "Two, at nine and at noon.",
                    "createdAt": "2023-11-15T00:00:00Z",
                    "reply": {
                        "root": {"uri": record["uri"], "cid": record["cid"]},
                        "parent": {"uri": record["uri"], "cid": record["cid"]},
                    },
                },
                "likeCount": 0,
            },
        }
        with server.lock:
            node.setdefault("replies", []).append(answer)
        assert (await comments.check_replies()).new == 1
        [reply] = store.replies("ada")
        assert reply.source == "bluesky" and reply.first_line == "Two, at nine and at noon."
    finally:
        store.close()
