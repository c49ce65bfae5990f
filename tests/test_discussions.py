"""Outside discussions (HN, Lobsters, Reddit, Mastodon, Bluesky) read from loopback stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.comments import bluesky, hackernews, lobsters, mastodon, reddit
from termnews.comments.discussions import (
    Outcome,
    read_discussions,
    remember,
    remembered,
    wanted,
)
from termnews.comments.outside import Post, Service, is_public_url, same_page
from termnews.comments.service import merge
from termnews.config import DiscussionSettings
from termnews.store import Store
from tests.support.discussions import DiscussionServer, Reply

POST_URL = "https://blog.example.org/2024/05/a-post/"
THREAD = [
    Reply("101", "ada", "<p>First!</p>", None, 1_700_000_100, score=5),
    Reply("102", "bob", "<p>Answer to Ada</p>", "101", 1_700_000_200, score=3),
    Reply("103", "cy", "<p>Another top-level</p>", None, 1_700_000_300),
    Reply("104", "dee", "<p>Answer to Bob</p>", "102", 1_700_000_400),
]


@pytest.fixture
def server() -> Iterator[DiscussionServer]:
    with DiscussionServer() as running:
        yield running


def by_service(outcomes: list[Outcome]) -> dict[Service, Outcome]:
    return {outcome.service: outcome for outcome in outcomes}


def shape(outcome: Outcome) -> dict[str, str | None]:
    """author -> the author of the comment it answers (None: top-level)."""
    comments = outcome.comments
    authors = {c.remote_id: c.author for c in comments}
    return {c.author: authors.get(c.parent_id) if c.parent_id else None for c in comments}


async def test_hacker_news_story_is_found_by_url_and_threaded(server: DiscussionServer) -> None:
    unrelated = {"objectID": "7", "url": "https://blog.example.org/2024/05/other/", "points": 900}
    server.add_hackernews(POST_URL.rstrip("/"), THREAD, other_hits=[unrelated])
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["hackernews"]))
    assert outcome.error is None
    [discussion] = outcome.discussions
    assert discussion.header == "HN 412 points · 4 comments"
    assert discussion.url == "https://news.ycombinator.com/item?id=4242"
    assert shape(outcome) == {"ada": None, "bob": "ada", "cy": None, "dee": "bob"}
    first = outcome.comments[0]
    assert first.source == "hackernews"
    assert first.content_html == "<p>First!</p>"
    assert first.link == "https://news.ycombinator.com/item?id=101"
    assert first.published == 1_700_000_100
    assert ("/api/v1/items/7", {}) not in server.requests  # the loose Algolia match is dropped
    search = next(query for path, query in server.requests if path == "/api/v1/search")
    assert search["restrictSearchableAttributes"] == "url"
    assert search["query"] == POST_URL


async def test_hacker_news_reads_each_discussed_submission_of_the_post(
    server: DiscussionServer,
) -> None:
    url = POST_URL.rstrip("/")
    server.add_hackernews(url, THREAD[:1], story_id=5151, points=3, title="Earlier")
    server.add_hackernews(url, THREAD, story_id=4242)
    server.add_hackernews(url, [], story_id=6161, points=1, title="Nobody came")
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["hackernews"]))
    assert outcome.error is None
    assert [d.url.rsplit("=", 1)[1] for d in outcome.discussions] == ["4242", "5151"]
    assert [d.header for d in outcome.discussions] == [
        "HN 412 points · 4 comments",
        "HN 3 points · 1 comment",
    ]
    assert ("/api/v1/items/6161", {}) not in server.requests  # no comments: not read
    assert len(outcome.comments) == 5


async def test_lobsters_story_is_found_and_threaded_with_scores(server: DiscussionServer) -> None:
    server.add_lobsters(POST_URL, THREAD)
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["lobsters"]))
    [discussion] = outcome.discussions
    assert discussion.header == "Lobsters 35 points · 4 comments"
    assert discussion.url == "https://lobste.rs/s/abc123/a_post"
    assert shape(outcome) == {"ada": None, "bob": "ada", "dee": "bob", "cy": None}
    assert [c.score for c in outcome.comments][:2] == [5, 3]


async def test_lobsters_older_indent_level_answers_still_thread(server: DiscussionServer) -> None:
    server.searches[("/stories/url/all.json", POST_URL)] = server._json(
        [{"short_id": "old1", "url": POST_URL, "comment_count": 3}]
    )
    comments = [
        {"short_id": "a", "comment": "<p>a</p>", "indent_level": 1, "commenting_user": "ada"},
        {"short_id": "b", "comment": "<p>b</p>", "indent_level": 2, "commenting_user": "bob"},
        {"short_id": "c", "comment": "<p>c</p>", "indent_level": 1, "commenting_user": "cy"},
    ]
    server.routes["/s/old1.json"] = server._json({"short_id": "old1", "comments": comments})
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["lobsters"]))
    assert shape(outcome) == {"ada": None, "bob": "ada", "cy": None}


async def test_reddit_linked_thread_is_read_flat_and_search_stays_off(
    server: DiscussionServer,
) -> None:
    link = server.add_reddit("programming", "1abcde", THREAD[:2])
    post = Post(POST_URL, f'<p>Discussed <a href="{link}">on Reddit</a>.</p>')
    settings = server.settings(enabled=["reddit"])
    [outcome] = await read_discussions(post, settings)
    [discussion] = outcome.discussions
    assert discussion.header == "Reddit r/programming · 2 comments"
    assert discussion.note and "flat" in discussion.note
    assert [(c.author, c.parent_id) for c in outcome.comments] == [("ada", None), ("bob", None)]
    assert 'class="md"' in outcome.comments[0].content_html
    assert "/search.rss" not in server.paths()
    assert not reddit.wanted(Post(POST_URL), settings)  # nothing linked, search off


async def test_reddit_search_finds_threads_when_asked(server: DiscussionServer) -> None:
    link = server.add_reddit("programming", "2xyz", THREAD[:1])
    server.add_reddit_search(POST_URL, [link])
    settings = server.settings(enabled=["reddit"], reddit_search=True)
    [outcome] = await read_discussions(Post(POST_URL), settings)
    assert [c.author for c in outcome.comments] == ["ada"]


@pytest.mark.parametrize(
    ("html", "feed_pattern"),
    [
        ('<a href="{status}">Comment on Mastodon</a>', False),
        ('<meta name="fediverse:creator" content="@ada@{host}"><a href="{status}">this</a>', False),
        ('<a href="{status}">this</a>', True),
        ('<a href="{status}#replies">Replies</a>', False),
    ],
    ids=["link-text", "fediverse-creator", "feed-pattern", "fragment"],
)
async def test_mastodon_thread_of_a_linked_status(
    server: DiscussionServer, html: str, feed_pattern: bool
) -> None:
    status = server.add_mastodon("110000000000000001", THREAD)
    host = server.url.split("://", 1)[1]
    mastodon_map = {"https://blog.example.org/feed/": f"{server.url}/@ada/"} if feed_pattern else {}
    settings = server.settings(enabled=["mastodon"], mastodon=mastodon_map)
    post = Post(POST_URL, html.format(status=status, host=host), "https://blog.example.org/feed/")
    [outcome] = await read_discussions(post, settings)
    assert outcome.error is None
    [discussion] = outcome.discussions
    assert discussion.header == "Mastodon 40 favourites · 2 boosts · 4 replies"
    assert shape(outcome) == {
        "Ada (@ada)": None,
        "Bob (@bob)": "Ada (@ada)",
        "Cy (@cy)": None,
        "Dee (@dee)": "Bob (@bob)",
    }


async def test_a_bare_status_link_is_not_taken_for_the_discussion(
    server: DiscussionServer,
) -> None:
    status = server.add_mastodon("5", THREAD)
    post = Post(POST_URL, f'<p>As <a href="{status}">someone said</a>, it works.</p>')
    assert not mastodon.wanted(post, server.settings())
    assert await read_discussions(post, server.settings(enabled=["mastodon"])) == []


async def test_bluesky_thread_resolves_the_handle_and_threads(server: DiscussionServer) -> None:
    link = server.add_bluesky("ada.example.com", "3kabc", THREAD)
    post = Post(POST_URL, f'<a href="{link}">Discuss on Bluesky</a>')
    [outcome] = await read_discussions(post, server.settings(enabled=["bluesky"]))
    [discussion] = outcome.discussions
    assert discussion.header == "Bluesky 12 likes · 1 repost · 4 replies"
    assert discussion.url == "https://bsky.app/profile/ada.example.com/post/3kabc"
    assert shape(outcome) == {
        "Ada (@ada.bsky.social)": None,
        "Bob (@bob.bsky.social)": "Ada (@ada.bsky.social)",
        "Dee (@dee.bsky.social)": "Bob (@bob.bsky.social)",
        "Cy (@cy.bsky.social)": None,
    }
    assert outcome.comments[0].content_html == "<p>&lt;p&gt;First!&lt;/p&gt;</p>"  # plain text
    assert outcome.comments[0].score == 5


async def test_every_source_at_once_and_merged_threads_survive(server: DiscussionServer) -> None:
    server.add_hackernews(POST_URL, THREAD)
    server.add_lobsters(POST_URL, THREAD)
    status = server.add_mastodon("9", THREAD)
    sky = server.add_bluesky("ada.example.com", "3kabc", THREAD)
    html = f'<a href="{status}">toot</a> <a href="{sky}">skeet</a>'
    outcomes = by_service(await read_discussions(Post(POST_URL, html), server.settings()))
    assert set(outcomes) == {
        Service.HACKERNEWS,
        Service.LOBSTERS,
        Service.MASTODON,
        Service.BLUESKY,
    }
    everything = [c for outcome in outcomes.values() for c in outcome.comments]
    merged = merge(everything, [])
    assert len(merged) == 16
    assert sum(1 for c in merged if c.parent_id is not None) == 8  # no thread was cut


async def test_not_found_is_no_discussion_and_no_error(server: DiscussionServer) -> None:
    sky = "https://bsky.app/profile/nobody.example.com/post/3kzzz"
    status = f"{server.url}/@ada/404"
    html = f'<a href="{sky}">Bluesky</a><a href="{status}">comment on Mastodon</a>'
    outcomes = await read_discussions(Post(POST_URL, html), server.settings())
    assert [(o.service, o.discussions, o.error) for o in outcomes] == [
        (Service.HACKERNEWS, [], None),
        (Service.LOBSTERS, [], None),
        (Service.MASTODON, [], None),
        (Service.BLUESKY, [], None),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/post/1",
        "http://localhost/post",
        "http://[::1]/a",
        "http://10.1.2.3/a",
        "http://192.168.0.10/a",
        "http://169.254.1.1/a",
        "http://intranet/a",
        "http://blog.local/a",
        "http://wiki.corp/a",
        "file:///etc/passwd",
        "",
    ],
)
async def test_private_posts_are_never_looked_up_outside(
    server: DiscussionServer, url: str
) -> None:
    assert not is_public_url(url)
    assert await read_discussions(Post(url), server.settings()) == []
    assert server.requests == []


def test_public_urls_and_same_page() -> None:
    assert is_public_url("https://blog.example.org/a")
    assert is_public_url("http://93.184.216.34/a")
    assert same_page("http://www.Example.org/a/", "https://example.org/a#comments")
    assert not same_page("https://example.org/a", "https://example.org/a?page=2")
    assert not same_page("https://example.org/a", None)


def test_switched_off_services_are_not_wanted() -> None:
    sky = "https://bsky.app/profile/ada.bsky.social/post/3kabc"
    post = Post(POST_URL, f'<a href="{sky}">Bluesky</a>')
    assert [s.SERVICE for s in wanted(post, DiscussionSettings())] == [
        Service.HACKERNEWS,
        Service.LOBSTERS,
        Service.BLUESKY,
    ]
    assert wanted(post, DiscussionSettings(enabled=["lobsters"])) == [lobsters]
    assert wanted(post, DiscussionSettings(enabled=[])) == []
    assert hackernews.wanted(Post("https://news.example.net/x"), DiscussionSettings())
    assert bluesky.linked_posts(post)[0].rkey == "3kabc"


async def test_source_headers_are_kept_for_offline_reading(
    server: DiscussionServer, tmp_path: Path
) -> None:
    server.add_hackernews(POST_URL, THREAD)
    server.add_lobsters(POST_URL, THREAD[:1])
    store = Store(tmp_path / "termnews.db")
    settings = server.settings(enabled=["hackernews", "lobsters"])
    first = remember(store, 7, await read_discussions(Post(POST_URL), settings), now=100.0)
    assert [(h.service, h.header, h.error) for h in first] == [
        ("hackernews", "HN 412 points · 4 comments", None),
        ("lobsters", "Lobsters 35 points · 1 comment", None),
    ]
    server.answer("/api/v1/search", status=503)
    server.answer("/stories/url/all.json", body="[]")  # no longer listed: its header goes
    remember(store, 7, await read_discussions(Post(POST_URL), settings), now=200.0)
    store.close()
    again = remembered(Store(tmp_path / "termnews.db"), 7)
    assert [(h.service, h.header, h.fetched) for h in again] == [
        ("hackernews", "HN 412 points · 4 comments", 100.0)
    ]
    assert again[0].error == f"HN: {server.url[7:]} had a server error (HTTP 503)"
    assert again[0].url == "https://news.ycombinator.com/item?id=4242"
    assert remembered(store_with_junk(tmp_path), 7) == []


def store_with_junk(tmp_path: Path) -> Store:
    store = Store(tmp_path / "junk.db")
    store.set_value("discussions:7", '{"not": "a list"')
    return store


def test_a_long_post_is_scanned_once_and_only_when_it_may_link_a_thread() -> None:
    filler = '<p>Words and <a href="https://example.org/x">links</a>.</p>' * 15_000
    plain = Post(POST_URL, filler)
    assert plain.anchors == []  # nothing a source looks for: not parsed at all
    status = "https://mastodon.example/@ada/110000000000000001"
    linked = Post(POST_URL, filler + f'<a href="{status}">Comment on Mastodon</a>')
    [ref] = mastodon.linked_statuses(linked, DiscussionSettings())
    assert (ref.host, ref.status_id) == ("mastodon.example", "110000000000000001")
