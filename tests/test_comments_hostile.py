"""Hostile comment sources: escape sequences, huge bodies, broken HTML, deep and looping threads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from termnews.comments import CommentError, CommentService
from termnews.comments.feeds import read_comment_feed
from termnews.config import Settings
from termnews.http import make_client
from termnews.model import ArticleDetail, Identity
from termnews.service import NewsService
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import only_article

TERMINAL_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
DEPTH = 200


def post_page(api: bool) -> str:
    head = '<link rel="https://api.w.org/" href="/wp-json/">' if api else ""
    return (
        f"<html><head><title>A post</title>{head}</head><body><p>Words.</p>"
        '<form action="/wp-comments-post.php" method="post" id="commentform">'
        '<textarea name="comment"></textarea>'
        "<input type='hidden' name='comment_post_ID' value='7' id='comment_post_ID' />"
        "</form></body></html>"
    )


def deep_thread_feed(server: FeedServer) -> bytes:
    base = server.url_for("/post/")
    items = []
    for n in range(1, DEPTH + 1):
        reply = f'<p>In reply to <a href="{base}#comment-{n - 1}">someone</a>.</p>' if n > 1 else ""
        items.append(
            {
                "title": f"By: person {n}",
                "link": f"{base}#comment-{n}",
                "guid": f"{base}?p=7#comment-{n}",
                "author": f"person {n}",
                "content": reply + f"<p>level {n}",  # unclosed <p>: broken on purpose
                "pub_date": 1_700_000_000 + n,
            }
        )
    items.append(
        {
            "title": "By: Eve",
            "link": f"{base}#comment-900",
            "author": "\u009b2J\u009b1;1HEve\u0007",  # C1 CSI: valid XML, hostile on a tty
            "content": "<p>" + "flood " * 200_000 + "</p>",  # about 1.2 MB
            "pub_date": 1_700_001_000,
        }
    )
    return make_rss("Comments on: A post", items)


def hostile_rest() -> bytes:
    def item(cid: int, parent: int, author: str, html: str) -> dict[str, object]:
        return {
            "id": cid,
            "post": 7,
            "parent": parent,
            "author_name": author,
            "author_url": "javascript:alert(1)",
            "date_gmt": "2026-11-28T10:00:00",
            "content": {"rendered": html},
            "link": f"/post/#comment-{cid}",
            "status": "approved",
        }

    return json.dumps(
        [
            item(1001, 1002, "\x1b]52;c;ZXZpbA==\x07Mallory", "<p><b>bold <i>never closed"),
            item(1002, 1001, "\x1b[2J\x1b[HTrent", "<script>alert(1)</script><p>loop</p>"),
            item(1003, 1003, "Self\r\nReply", "<p>I answer myself</p>"),
            item(1004, 0, "\x1b]8;;http://evil/\x1b\\Link\x1b]8;;\x1b\\", "<table><tr><td>x"),
        ]
    ).encode()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        yield feeds


async def article_from(service: NewsService, server: FeedServer, **item: str) -> ArticleDetail:
    server.add_feed("/feed.xml", make_rss("Hostile", [{"title": "A post", **item}]))
    return await only_article(service, server.url_for("/feed.xml"))


async def test_hostile_comments_load_cleanly(server: FeedServer, service: NewsService) -> None:
    server.add_page("/post/", post_page(api=True))
    server.add_feed("/post/feed/", deep_thread_feed(server))
    server.add_feed(
        "/wp-json/wp/v2/comments",
        hostile_rest(),
        "application/json",
        headers={"X-WP-TotalPages": "1", "X-WP-Total": "4"},
    )
    article = await article_from(
        service,
        server,
        link=server.url_for("/post/"),
        comment_rss=server.url_for("/post/feed/"),
    )
    comments = CommentService(service.store, Settings(), Identity(), timeout=5.0)
    loaded = await comments.load(article)

    assert len(loaded) == DEPTH + 1 + 4
    for comment in loaded:
        assert not TERMINAL_CONTROLS.search(comment.author), repr(comment.author)
        assert comment.author_url is None or comment.author_url.startswith("http")
    authors = {c.author for c in loaded}
    assert {"Mallory", "Trent", "Self Reply", "Link"} <= authors
    # feedparser reads C1 bytes as Windows-1252 ("\u009b" -> "›"): harmless, and no bell.
    assert any(a.endswith("Eve") for a in authors)

    by_id = {c.remote_id: c for c in loaded}
    depth, node = 0, by_id[str(DEPTH)]
    while node.parent_id is not None:
        node, depth = by_id[node.parent_id], depth + 1
    assert depth == DEPTH - 1
    for comment in loaded:  # every parent chain ends: the loops were cut
        seen: set[str] = set()
        current = comment
        while current.parent_id is not None:
            assert current.remote_id not in seen
            seen.add(current.remote_id)
            current = by_id[current.parent_id]
    assert max(len(c.content_html) for c in loaded) > 1_000_000
    # The cache gives the same discussion offline.
    assert len(comments.cached(article.id)) == len(loaded)


async def test_oversized_comment_feed_is_refused_with_a_clear_message(
    server: FeedServer, service: NewsService
) -> None:
    server.add_page("/plain/", "<html><body><p>No comment form here.</p></body></html>")
    body = make_rss("Comments", [{"title": "big", "content": "x" * (6 * 1024 * 1024)}])
    server.add_feed("/plain/feed/", body)
    article = await article_from(
        service,
        server,
        link=server.url_for("/plain/"),
        comment_rss=server.url_for("/plain/feed/"),
    )
    comments = CommentService(service.store, Settings(), Identity(), timeout=5.0)
    with pytest.raises(CommentError, match=r"comment feed: .*larger than 5 MB"):
        await comments.load(article)
    assert comments.cached(article.id) == []
    info = await comments.info(article)
    assert [t.kind for t in info.targets] == []  # one person here: no board
    assert info.can_read


async def test_comment_count_is_capped(server: FeedServer) -> None:
    items = [{"title": f"c{n}", "link": f"http://x/#comment-{n}"} for n in range(60)]
    server.add_feed("/many/", make_rss("Many", items))
    async with make_client(5.0) as client:
        read = await read_comment_feed(client, server.url_for("/many/"), max_comments=50)
    assert len(read) == 50


async def test_garbage_instead_of_a_feed(server: FeedServer) -> None:
    server.add_feed("/junk/", b"\x00\x01 this is not xml at all \x1b[2J", "text/plain")
    async with make_client(5.0) as client:
        with pytest.raises(CommentError, match="not a feed"):
            await read_comment_feed(client, server.url_for("/junk/"))
