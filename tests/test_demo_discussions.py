"""The sample site's HN, Lobsters and Mastodon stand-ins, read by the real backends over HTTP."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from termnews.cli.demo import write_demo_settings
from termnews.comments import hackernews, lobsters, mastodon
from termnews.comments.discussions import Outcome, read_discussions
from termnews.comments.outside import Post, SendFailure, Service
from termnews.config import DiscussionSettings, load_settings
from termnews.demo import DemoSite
from termnews.demo.discussion_text import HOSTILE_HN_ID, HOSTILE_REPLIES, HOSTILE_STATUS_ID
from termnews.demo.fediverse import DEMO_TOKEN


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(site: DemoSite) -> Iterator[None]:
    yield
    site.discussions.set_faults()


def demo_settings(site: DemoSite, tmp_path: Path) -> DiscussionSettings:
    """What `termnews demo` runs with: its settings file, written and loaded for real."""
    return load_settings(write_demo_settings(site, tmp_path / "none.toml", tmp_path)).discussions


def discussed(site: DemoSite) -> Post:
    post = site.post_for("threaded")
    return Post(post.url, site.blog.body(post.id))


def by_service(outcomes: list[Outcome]) -> dict[Service, Outcome]:
    return {outcome.service: outcome for outcome in outcomes}


def shape(outcome: Outcome) -> list[tuple[str, str | None]]:
    authors = {c.remote_id: c.author for c in outcome.comments}
    return [(c.author, authors.get(c.parent_id or "")) for c in outcome.comments]


async def test_the_discussed_post_is_found_on_hn_lobsters_and_mastodon(
    site: DemoSite, tmp_path: Path
) -> None:
    outcomes = by_service(await read_discussions(discussed(site), demo_settings(site, tmp_path)))
    assert set(outcomes) == {Service.HACKERNEWS, Service.LOBSTERS, Service.MASTODON}
    assert all(outcome.error is None for outcome in outcomes.values())
    [hn] = outcomes[Service.HACKERNEWS].discussions
    assert hn.header == "HN 87 points · 6 comments"  # the near miss Algolia sends is dropped
    assert hn.url == f"{site.url}hn/item?id=46210815"
    first = outcomes[Service.HACKERNEWS].comments[0]
    async with httpx.AsyncClient(timeout=5) as client:
        for link in (hn.url, first.link, first.author_url):
            assert link is not None and (await client.get(link)).status_code == 200, link
    assert shape(outcomes[Service.HACKERNEWS])[:3] == [
        ("quaywalker", None),
        ("netmender", "quaywalker"),
        ("quaywalker", "netmender"),
    ]
    [lob] = outcomes[Service.LOBSTERS].discussions
    assert lob.header == "Lobsters 14 points · 2 comments"
    assert shape(outcomes[Service.LOBSTERS]) == [("saltpan", None), ("wharfrat", "saltpan")]
    [toot] = outcomes[Service.MASTODON].discussions
    assert toot.header == "Mastodon 19 favourites · 4 boosts · 3 replies"
    assert toot.url == site.discussions.instance.discussed_status_url
    assert shape(outcomes[Service.MASTODON])[1] == (
        "Crab Pot (@crabpot)",
        "Gull Watch (@gullwatch)",
    )
    search = next(r for m, r in site.discussions.requests if r.startswith("/hn/api/v1/search"))
    assert "restrictSearchableAttributes=url" in search


async def test_loopback_posts_are_looked_up_only_for_the_named_site(
    site: DemoSite, tmp_path: Path
) -> None:
    post = discussed(site)
    allowed = demo_settings(site, tmp_path)
    assert hackernews.wanted(post, allowed) and lobsters.wanted(post, allowed)
    plain = DiscussionSettings(hackernews=allowed.hackernews, lobsters=allowed.lobsters)
    assert not hackernews.wanted(post, plain) and not lobsters.wanted(post, plain)
    other = DiscussionSettings(private_sites=["http://127.0.0.1:1"])
    assert not hackernews.wanted(post, other)
    assert mastodon.wanted(post, plain)  # the post itself links its Mastodon thread


async def test_a_post_nobody_discussed_is_no_discussion_and_no_error(
    site: DemoSite, tmp_path: Path
) -> None:
    news = site.post_for("news")
    html = f'<a href="{site.url}@harbourdesk/404404">comment on Mastodon</a>'
    outcomes = await read_discussions(Post(news.url, html), demo_settings(site, tmp_path))
    assert [(o.service, o.discussions, o.error) for o in outcomes] == [
        (Service.HACKERNEWS, [], None),
        (Service.LOBSTERS, [], None),
        (Service.MASTODON, [], None),
    ]


@pytest.mark.parametrize(
    ("status", "retry_after", "wanted"),
    [
        (429, "30", "rate-limited (HTTP 429); try again in 30 s"),
        (503, None, "had a server error (HTTP 503)"),
        (500, None, "had a server error (HTTP 500)"),
    ],
)
async def test_rate_limits_and_server_errors_are_one_line_each(
    site: DemoSite, tmp_path: Path, status: int, retry_after: str | None, wanted: str
) -> None:
    settings = demo_settings(site, tmp_path)
    site.discussions.set_faults(fail_next=3, fail_status=status, retry_after=retry_after)
    outcomes = await read_discussions(discussed(site), settings)
    assert len(outcomes) == 3
    for outcome in outcomes:
        assert outcome.discussions == []
        assert outcome.error is not None and outcome.error.startswith(outcome.service.label + ":")
        assert wanted in outcome.error
    again = await read_discussions(discussed(site), settings)  # the faults are used up
    assert [o.error for o in again] == [None, None, None]


async def test_hostile_threads_of_ten_thousand_replies_arrive_clean(
    site: DemoSite, tmp_path: Path
) -> None:
    settings = demo_settings(site, tmp_path)
    html = (
        f'<a href="https://news.ycombinator.com/item?id={HOSTILE_HN_ID}">HN</a>'
        f'<a href="{site.url}@host/{HOSTILE_STATUS_ID}">comment on Mastodon</a>'
    )
    outcomes = by_service(await read_discussions(Post(site.url + "x/", html), settings))
    for service in (Service.HACKERNEWS, Service.MASTODON):
        outcome = outcomes[service]
        assert outcome.error is None, outcome.error
        comments = outcome.comments
        assert len(comments) == HOSTILE_REPLIES
        assert sum(1 for c in comments if c.parent_id is None) == HOSTILE_REPLIES // 10
        for comment in comments:
            for value in (comment.author, comment.content_html):
                assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in value)
                assert "\x9b" not in value and "\u202e" not in value
            assert len(comment.author) <= 210  # name (@acct), each cut at 100
        assert any("[bold red]markup[/bold red]" in c.content_html for c in comments)
    [hn] = outcomes[Service.HACKERNEWS].discussions
    assert "\x1b" not in hn.title and "[b]Hostile[/b]" in hn.title


async def test_a_reply_on_the_mastodon_stand_in_is_stored_shown_and_read_back(
    site: DemoSite, tmp_path: Path
) -> None:
    settings = demo_settings(site, tmp_path)
    me = mastodon.account(settings)
    assert me is not None
    status_url = site.discussions.instance.discussed_status_url
    async with httpx.AsyncClient(timeout=5) as client:
        assert await mastodon.whoami(client, me) == f"@you@{site.url[7:].rstrip('/')}"
        assert await mastodon.character_limit(client, me) == 500
        body = "The quay floods; the rope works does not. <b>Move it</b>."
        sent = await mastodon.reply(client, me, status_url, body, key="k-1")
        again = await mastodon.reply(client, me, status_url, body, key="k-1")
        assert again.remote_id == sent.remote_id  # one Idempotency-Key, one status
        assert len(site.discussions.instance.posted) == 1
        found = await mastodon.find_sent(client, me, status_url, body)
        assert found is not None and found.remote_id == sent.remote_id
    [outcome] = [
        o
        for o in await read_discussions(discussed(site), settings)
        if o.service is Service.MASTODON
    ]
    mine = [c for c in outcome.comments if c.author == "You (demo) (@you)"]
    assert len(mine) == 1 and "&lt;b&gt;Move it&lt;/b&gt;" in mine[0].content_html


async def test_the_mastodon_stand_in_refuses_what_mastodon_refuses(
    site: DemoSite, tmp_path: Path
) -> None:
    settings = demo_settings(site, tmp_path)
    me = mastodon.account(settings)
    assert me is not None
    status_url = site.discussions.instance.discussed_status_url
    before = len(site.discussions.instance.posted)
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(SendFailure, match="character limit of 500 exceeded") as long:
            await mastodon.reply(client, me, status_url, "x" * 501, key="k-long")
        assert not long.value.retryable
        stranger = mastodon.Account(me.instance, "not-the-token")
        with pytest.raises(SendFailure, match=r"refused|invalid"):
            await mastodon.reply(client, stranger, status_url, "hello", key="k-2")
    assert len(site.discussions.instance.posted) == before


def test_the_demo_settings_keep_yours_but_name_the_sample_site(
    site: DemoSite, tmp_path: Path
) -> None:
    yours = tmp_path / "config.toml"
    yours.write_text(
        '[general]\nreader_width = 72\n\n[discussions]\nmastodon_token = "real-secret"\n'
        'mastodon_instance = "https://mastodon.example"\n\n[discussions.mastodon]\n'
        '"https://a.example/feed" = "https://m.example/@a/"\n\n[keys]\nnext_article = "n"\n'
        '\n[wordpress."blog.example"]\nuser = "ada"\napp_password = "wp-secret"\n'
    )
    os.chmod(yours, 0o600)
    written = write_demo_settings(site, yours, tmp_path)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert "real-secret" not in written.read_text() and "wp-secret" not in written.read_text()
    settings = load_settings(written)
    assert settings.reader_width == 72 and settings.keys == {"next_article": "n"}
    origin = site.url.rstrip("/")
    assert settings.discussions.private_sites == [origin]
    assert settings.discussions.mastodon_instance == origin
    assert settings.discussions.mastodon_token == DEMO_TOKEN
    assert settings.discussions.hackernews == origin + "/hn"
    assert settings.discussions.mastodon == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('private_sites = "http://127.0.0.1:8080"', "must be a list of http(s) origins"),
        ('private_sites = ["127.0.0.1"]', "must be a list of http(s) origins"),
        ("refresh_after = -5", "discussions.refresh_after must not be negative"),
        ("timeout = 0", "discussions.timeout must be positive"),
    ],
)
def test_bad_discussion_settings_are_one_clear_line(
    tmp_path: Path, line: str, message: str
) -> None:
    from termnews.config import ConfigError

    path = tmp_path / "config.toml"
    path.write_text(f"[discussions]\n{line}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(path)


def test_refresh_after_zero_and_private_sites_load(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[discussions]\nrefresh_after = 0\nprivate_sites = ["http://10.0.0.5:8080/"]\n')
    settings = load_settings(path).discussions
    assert settings.refresh_after == 0 and settings.private_sites == ["http://10.0.0.5:8080"]


async def test_the_demo_commands_fault_options_reach_the_stand_ins(
    site: DemoSite, tmp_path: Path
) -> None:
    import argparse

    from termnews.cli.demo import add_site_arguments, site_options
    from termnews.demo.server import outside_faults

    parser = argparse.ArgumentParser()
    add_site_arguments(parser)
    args = parser.parse_args(["--outside-fail-next", "1", "--outside-retry-after", "120"])
    options = site_options(args)
    faults = outside_faults(options)
    assert faults == {"fail_next": 1, "fail_status": 429, "retry_after": "120"}
    assert not any(name.startswith("outside_") for name in options)
    site.discussions.set_faults(**faults)
    settings = demo_settings(site, tmp_path)
    outcomes = await read_discussions(discussed(site), settings)
    errors = [o.error for o in outcomes if o.error]  # whichever asked first got the 429
    assert len(errors) == 1 and errors[0].endswith(": rate-limited (HTTP 429); try again in 120 s")
    with pytest.raises(SystemExit):
        parser.parse_args(["--outside-fail-status", "42"])
