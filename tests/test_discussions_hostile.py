"""Outside discussions under attack or failing: every problem is one line, never a crash."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.comments.discussions import Outcome, read_discussions
from termnews.comments.outside import Post, Service
from termnews.config import ConfigError, load_settings
from tests.support.discussions import DiscussionServer, Reply, deep_chain, wide_thread

POST_URL = "https://blog.example.org/2024/05/a-post/"
TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b]0;pwned\x07[bold red]boss[/] \u202eevil\x9b31m"


@pytest.fixture
def server() -> Iterator[DiscussionServer]:
    with DiscussionServer() as running:
        yield running


def links(server: DiscussionServer) -> str:
    status = server.add_mastodon("77", [Reply("1", "ada", "<p>hi</p>")])
    sky = server.add_bluesky("ada.example.com", "3kabc", [Reply("1", "ada", "hi")])
    return f'<a href="{status}">comment on Mastodon</a><a href="{sky}">Bluesky</a>'


def one(outcomes: list[Outcome], service: Service) -> Outcome:
    [outcome] = [o for o in outcomes if o.service == service]
    return outcome


def assert_inert(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        for discussion in outcome.discussions:
            for value in (discussion.header, discussion.title, discussion.url or ""):
                assert not TERMINAL_CONTROLS.search(value), value
            for comment in discussion.comments:
                fields = (comment.author, comment.content_html, comment.link or "")
                for value in (*fields, comment.author_url or ""):
                    assert not TERMINAL_CONTROLS.search(value), value


async def test_escape_sequences_and_markup_arrive_inert_from_every_source(
    server: DiscussionServer,
) -> None:
    thread = [Reply("1", "mallory" + HOSTILE, f"<p>{HOSTILE}</p>"), Reply("2", "eve", HOSTILE, "1")]
    server.add_hackernews(POST_URL, thread, title=HOSTILE)
    server.add_lobsters(POST_URL, thread, title=HOSTILE)
    link = server.add_reddit("programming", "1abc", thread, title=HOSTILE)
    status = server.add_mastodon("77", thread, acct="ada")
    sky = server.add_bluesky("ada.example.com", "3kabc", thread)
    html = f'<a href="{status}">toot</a><a href="{sky}">Bluesky</a><a href="{link}">r</a>'
    outcomes = await read_discussions(Post(POST_URL, html), server.settings())
    assert [o.error for o in outcomes] == [None] * 5
    assert sum(len(o.comments) for o in outcomes) == 10
    assert_inert(outcomes)
    hn = one(outcomes, Service.HACKERNEWS).comments[0]
    assert hn.author.startswith("mallory") and "[bold red]boss[/]" in hn.author  # text, kept
    assert hn.content_html == "<p>[bold red]boss[/] evil</p>"  # HTML stays HTML, escapes go


@pytest.mark.parametrize("depth", [400])
async def test_400_deep_threads_keep_every_level(server: DiscussionServer, depth: int) -> None:
    chain = deep_chain(depth)
    server.add_hackernews(POST_URL, chain)
    server.add_lobsters(POST_URL, chain)
    sky = server.add_bluesky("ada.example.com", "3kabc", chain)
    post = Post(POST_URL, f'<a href="{sky}">Bluesky</a>')
    outcomes = await read_discussions(post, server.settings())
    for outcome in outcomes:
        assert outcome.error is None
        comments = outcome.comments
        assert len(comments) == depth
        by_id = {c.remote_id: c for c in comments}
        levels, node = 0, comments[-1]
        while node.parent_id:
            node, levels = by_id[node.parent_id], levels + 1
        assert levels == depth - 1, outcome.service


async def test_json_nested_beyond_any_parser_is_an_error_line(server: DiscussionServer) -> None:
    server.add_hackernews(POST_URL, [])
    server.answer("/api/v1/items/4242", body='{"children":' + "[" * 50_000 + "]" * 50_000 + "}")
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["hackernews"]))
    assert outcome.error == "HN: answered with JSON nested too deeply"


async def test_ten_thousand_replies(server: DiscussionServer) -> None:
    server.add_hackernews(POST_URL, wide_thread(10_000))
    start = time.perf_counter()
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["hackernews"]))
    elapsed = time.perf_counter() - start
    assert len(outcome.comments) == 10_000
    assert outcome.discussions[0].header == "HN 412 points · 10000 comments"
    assert elapsed < 10, elapsed


async def test_more_than_max_comments_is_cut_and_says_so(server: DiscussionServer) -> None:
    server.add_lobsters(POST_URL, wide_thread(50))
    settings = server.settings(enabled=["lobsters"], max_comments=20)
    [outcome] = await read_discussions(Post(POST_URL), settings)
    [discussion] = outcome.discussions
    assert len(discussion.comments) == 20 and discussion.truncated
    assert discussion.header == "Lobsters 35 points · 50 comments (first 20 shown)"


async def test_rate_limits_and_server_errors_fail_alone(server: DiscussionServer) -> None:
    server.add_lobsters(POST_URL, [Reply("1", "ada", "<p>fine</p>")])
    server.answer("/api/v1/search", status=429, headers={"Retry-After": "30"})
    html = links(server)
    server.answer("/api/v1/statuses/77/context", status=502, body="<html>Bad gateway</html>")
    server.answer("/xrpc/app.bsky.feed.getPostThread", body="{not json")
    outcomes = await read_discussions(Post(POST_URL, html), server.settings())
    host = server.url.split("://", 1)[1]
    assert (
        one(outcomes, Service.HACKERNEWS).error == "HN: rate-limited (HTTP 429); try again in 30 s"
    )
    assert one(outcomes, Service.MASTODON).error == (
        f"Mastodon: {host} had a server error (HTTP 502)"
    )
    assert one(outcomes, Service.BLUESKY).error == "Bluesky: answered with malformed JSON"
    lobsters = one(outcomes, Service.LOBSTERS)
    assert lobsters.error is None and [c.author for c in lobsters.comments] == ["ada"]


async def test_a_slow_service_times_out_with_a_clear_line(server: DiscussionServer) -> None:
    server.add_lobsters(POST_URL, [])
    server.answer("/stories/url/all.json", body="[]", delay=2.0)
    settings = server.settings(enabled=["lobsters"], timeout=0.3)
    start = time.perf_counter()
    [outcome] = await read_discussions(Post(POST_URL), settings)
    assert outcome.error == f"Lobsters: timed out after 0.3 s ({server.url[7:]})"
    assert time.perf_counter() - start < 1.5


async def test_unreachable_service(server: DiscussionServer) -> None:
    settings = server.settings(enabled=["hackernews"], hackernews="http://127.0.0.1:9")
    [outcome] = await read_discussions(Post(POST_URL), settings)
    assert outcome.error == "HN: connection refused by 127.0.0.1:9"


async def test_huge_answers_are_not_read(server: DiscussionServer) -> None:
    server.add_hackernews(POST_URL, [])
    server.answer("/api/v1/items/4242", body=b" " * (9 * 1024 * 1024))
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["hackernews"]))
    assert outcome.error == f"HN: body larger than 8 MB ({server.url[7:]})"


@pytest.mark.parametrize(
    ("path", "body", "service", "error"),
    [
        ("/api/v1/search", '{"hits": "many"}', Service.HACKERNEWS, "no list of hits"),
        ("/api/v1/items/4242", "[1, 2]", Service.HACKERNEWS, "not a JSON object"),
        ("/stories/url/all.json", '{"a": 1}', Service.LOBSTERS, "did not answer a list"),
        ("/api/v1/statuses/77/context", '{"descendants": 5}', Service.MASTODON, "without"),
        ("/xrpc/app.bsky.feed.getPostThread", '{"thread": []}', Service.BLUESKY, "no thread"),
    ],
)
async def test_wrong_shapes_are_error_lines(
    server: DiscussionServer, path: str, body: str, service: Service, error: str
) -> None:
    server.add_hackernews(POST_URL, [Reply("1", "ada", "x")])
    html = links(server)
    server.answer(path, body=body)
    outcome = one(await read_discussions(Post(POST_URL, html), server.settings()), service)
    assert outcome.error is not None and error in outcome.error
    assert outcome.error.startswith(service.label + ": ")


async def test_junk_inside_a_valid_answer_is_skipped(server: DiscussionServer) -> None:
    children = [None, 5, "x", {"id": "no"}, {"id": 9, "author": 5, "text": ["x"]}, {"id": 10}]
    server.add_hackernews(POST_URL, [])
    server.answer("/api/v1/items/4242", body=json.dumps({"id": 4242, "children": children}))
    [outcome] = await read_discussions(Post(POST_URL), server.settings(enabled=["hackernews"]))
    assert outcome.error is None
    assert [(c.remote_id, c.author) for c in outcome.comments] == [
        ("hn:9", "[deleted]"),
        ("hn:10", "[deleted]"),
    ]


async def test_reddit_answering_html_is_an_error_line(server: DiscussionServer) -> None:
    link = server.add_reddit("programming", "1abc", [])
    server.answer(
        "/r/programming/comments/1abc/.rss",
        body="<html><body>blocked",
        headers={"Content-Type": "text/html"},
    )
    [outcome] = await read_discussions(
        Post(POST_URL, f'<a href="{link}">r</a>'), server.settings(enabled=["reddit"])
    )
    assert outcome.error == "Reddit: answered something that is not a feed"


def test_discussion_settings_are_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[discussions]\n"
        'enabled = ["lobsters"]\n'
        'lobsters = "http://127.0.0.1:8000"\n'
        "timeout = 3\n"
        "[discussions.mastodon]\n"
        '"https://blog.example.org/feed/" = "https://mastodon.example/@ada/"\n'
    )
    settings = load_settings(config).discussions
    assert settings.enabled == ["lobsters"] and settings.timeout == 3.0
    assert settings.lobsters == "http://127.0.0.1:8000"
    assert settings.mastodon == {"https://blog.example.org/feed/": "https://mastodon.example/@ada/"}
    for bad, message in [
        ('enabled = ["myspace"]', "unknown: myspace"),
        ('enabled = "hackernews"', "must be a list"),
        ('hackernews = "ftp://x"', "must be an http(s) URL"),
        ("timeout = 0", "must be positive"),
        ("max_comments = true", "must be a whole number"),
        ("nonsense = 1", "unknown key discussions.nonsense"),
        ("mastodon = 5", "[discussions.mastodon]"),
    ]:
        config.write_text(f"[discussions]\n{bad}\n")
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_settings(config)
