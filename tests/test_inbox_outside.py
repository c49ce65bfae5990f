"""The comment inbox on outside discussions: a reply you posted on Mastodon, answered there.

The Mastodon instance is the loopback stand-in of tests/support/discussions.py (real HTTP,
Mastodon's wire format); the post is stored in a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.comments import CommentService, PostOutcome
from termnews.config import Settings
from termnews.model import ArticleDetail, Draft, Identity, ParsedEntry, ParsedFeed
from termnews.store import Store
from tests.support.discussion_shapes import T0
from tests.support.discussions import DiscussionServer, Reply


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
