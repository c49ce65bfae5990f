"""Replying to outside discussions on a loopback Mastodon instance (and Bluesky PDS)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.comments import bluesky, mastodon
from termnews.comments.discussions import read_discussions
from termnews.comments.outside import DiscussionError, Post, SendFailure, make_client
from termnews.config import ConfigError, DiscussionSettings, load_settings
from tests.support.discussions import DiscussionServer, Reply

POST_URL = "https://blog.example.org/2024/05/a-post/"


@pytest.fixture
def server() -> Iterator[DiscussionServer]:
    with DiscussionServer() as running:
        yield running


def me(server: DiscussionServer, token: str | None = None) -> mastodon.Account:
    return mastodon.Account(server.url, token or server.mastodon_token)


async def test_a_reply_is_posted_once_where_it_belongs(server: DiscussionServer) -> None:
    status = server.add_mastodon("110", [Reply("1", "ada", "<p>first</p>")])
    async with make_client(DiscussionSettings(timeout=5)) as client:
        sent = await mastodon.reply(client, me(server), status, "Mine & yours", key="draft-1")
        again = await mastodon.reply(client, me(server), status, "Mine & yours", key="draft-1")
        assert await mastodon.whoami(client, me(server)) == f"@me@{server.url[7:]}"
        assert await mastodon.character_limit(client, me(server)) == 500
    assert len(server.posted) == 1  # the same Idempotency-Key never makes a second status
    [posted] = server.posted
    assert posted["form"] == {
        "status": "Mine & yours",
        "in_reply_to_id": "110",
        "visibility": "public",
    }
    assert posted["key"] == "draft-1"
    assert sent.remote_id == again.remote_id
    assert sent.parent_id is None  # it answers the linked status itself: top-level here
    post = Post(POST_URL, f'<a href="{status}">Comment on Mastodon</a>')
    [outcome] = await read_discussions(post, DiscussionSettings(enabled=["mastodon"]))
    assert [c.author for c in outcome.comments] == ["Ada (@ada)", "Me (@me)"]
    assert outcome.comments[1].content_html == "<p>Mine &amp; yours</p>"


async def test_an_answer_lost_after_posting_is_found_before_any_resend(
    server: DiscussionServer,
) -> None:
    status = server.add_mastodon("111", [])
    server.post_delay = 1.5
    async with make_client(DiscussionSettings(timeout=0.5)) as client:
        with pytest.raises(SendFailure) as lost:
            await mastodon.reply(client, me(server), status, "Did it arrive?", key="draft-2")
    assert lost.value.retryable and lost.value.uncertain
    server.post_delay = 0.0
    async with make_client(DiscussionSettings(timeout=5)) as client:
        found = await mastodon.find_sent(client, me(server), status, "Did it arrive?")
        missing = await mastodon.find_sent(client, me(server), status, "Something else")
    assert found is not None and "Did it arrive?" in found.content_html
    assert missing is None
    assert len(server.posted) == 1


async def test_refusals_say_why_and_are_not_retried(server: DiscussionServer) -> None:
    status = server.add_mastodon("112", [])
    async with make_client(DiscussionSettings(timeout=5)) as client:
        with pytest.raises(SendFailure) as too_long:
            await mastodon.reply(client, me(server), status, "x" * 501, key="k1")
        server.answer("/api/v2/search", status=200, body='{"statuses": [{"id": "112"}]}')
        with pytest.raises(SendFailure) as bad_token:
            await mastodon.reply(client, me(server, "wrong"), status, "hello", key="k2")
        with pytest.raises(DiscussionError, match="did not say who"):
            server.answer("/api/v1/accounts/verify_credentials", body="{}")
            await mastodon.whoami(client, me(server))
    host = server.url[7:]
    assert str(too_long.value) == (
        f"Mastodon: {host} refused the reply: Validation failed: Text character limit of 500 "
        "exceeded (HTTP 422)"
    )
    assert not too_long.value.retryable
    assert str(bad_token.value) == (
        f"Mastodon: {host} refused your login: The access token is invalid (HTTP 401)"
    )
    assert not bad_token.value.retryable and not bad_token.value.uncertain
    assert server.posted == []


async def test_a_status_your_instance_cannot_find(server: DiscussionServer) -> None:
    async with make_client(DiscussionSettings(timeout=5)) as client:
        with pytest.raises(SendFailure, match="cannot find that status"):
            await mastodon.reply(client, me(server), f"{server.url}/@x/1", "hi", key="k")


async def test_server_errors_after_sending_are_uncertain(server: DiscussionServer) -> None:
    status = server.add_mastodon("113", [])
    server.answer("/api/v1/statuses", status=503, body="<html>busy</html>")
    async with make_client(DiscussionSettings(timeout=5)) as client:
        with pytest.raises(SendFailure) as failed:
            await mastodon.reply(client, me(server), status, "hello", key="k")
    assert failed.value.retryable and failed.value.uncertain
    assert re.search(r"server error \(HTTP 503\)$", str(failed.value))


def test_accounts_need_a_private_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[discussions]\nmastodon_instance = "https://mastodon.example"\nmastodon_token = "t"\n'
    )
    config.chmod(0o644)
    with pytest.raises(ConfigError, match=re.escape(f"run: chmod 600 {config}")):
        load_settings(config)
    config.chmod(0o600)
    settings = load_settings(config).discussions
    assert mastodon.account(settings) == mastodon.Account("https://mastodon.example", "t")
    assert mastodon.account(DiscussionSettings()) is None


def bluesky_settings(server: DiscussionServer, **changes: object) -> DiscussionSettings:
    handle, password = server.bluesky_login
    values: dict[str, object] = {
        "enabled": ["bluesky"],
        "bluesky_pds": server.url,
        "bluesky_handle": handle,
        "bluesky_app_password": password,
        "timeout": 5.0,
    }
    return server.settings(**{**values, **changes})


async def test_a_bluesky_reply_threads_under_the_post_and_is_never_doubled(
    server: DiscussionServer,
) -> None:
    link = server.add_bluesky("ada.example.com", "3kabc", [Reply("1", "bob", "first")])
    settings = bluesky_settings(server)
    created = 1_717_171_717.25
    async with make_client(settings) as client:
        sent = await bluesky.reply(client, settings, link, "Mine 👍🏽", created=created)
        again = await bluesky.reply(
            client, settings, link, "Mine 👍🏽", created=created, retrying=True
        )
        with pytest.raises(SendFailure, match="Record already exists"):
            await bluesky.reply(client, settings, link, "Mine 👍🏽", created=created)
    assert len(server.bluesky_records) == 1
    [stored] = server.bluesky_records.values()
    root = "at://did:plc:ada/app.bsky.feed.post/3kabc"
    assert stored["value"]["reply"]["root"]["uri"] == root
    assert stored["value"]["reply"]["parent"]["uri"] == root
    assert stored["value"]["createdAt"] == "2024-05-31T16:08:37.250Z"
    assert stored["uri"].endswith("/" + bluesky.tid(created))
    assert sent.remote_id == again.remote_id == f"bluesky:{stored['uri']}"
    post = Post(POST_URL, f'<a href="{link}">Bluesky</a>')
    [outcome] = await read_discussions(post, settings)
    assert [c.author for c in outcome.comments] == ["Bob (@bob.bsky.social)", "me.bsky.social"]
    assert outcome.comments[1].content_html == "<p>Mine 👍🏽</p>"


async def test_bluesky_refusals(server: DiscussionServer) -> None:
    link = server.add_bluesky("ada.example.com", "3kabc", [])
    async with make_client(DiscussionSettings(timeout=5)) as client:
        with pytest.raises(SendFailure, match="Invalid identifier or password"):
            settings = bluesky_settings(server, bluesky_app_password="wrong")
            await bluesky.reply(client, settings, link, "hi", created=1.0)
        with pytest.raises(SendFailure, match="has 301 characters; Bluesky takes 300"):
            await bluesky.reply(client, bluesky_settings(server), link, "é" * 301, created=1.0)
        with pytest.raises(SendFailure, match="cannot be found"):
            missing = "https://bsky.app/profile/did:plc:nobody/post/3kzzz"
            await bluesky.reply(client, bluesky_settings(server), missing, "hi", created=1.0)
        with pytest.raises(SendFailure, match="no Bluesky account"):
            await bluesky.reply(client, server.settings(), link, "hi", created=1.0)
    assert server.bluesky_records == {}


def test_graphemes_and_tids() -> None:
    assert bluesky.graphemes("héllo") == 5
    assert bluesky.graphemes("👍🏽🇩🇪") == 2  # a skin tone and a flag are one each
    assert bluesky.graphemes("e\u0301") == 1
    first, later = bluesky.tid(1_700_000_000.0), bluesky.tid(1_700_000_000.001)
    assert len(first) == 13 and first < later
    assert re.fullmatch(r"[234567a-z]{13}", first)


async def test_a_token_by_the_out_of_band_code_flow(server: DiscussionServer) -> None:
    async with make_client(DiscussionSettings(timeout=5)) as client:
        app = await mastodon.register_app(client, server.url + "/")
        assert app.authorize_url == (
            f"{server.url}/oauth/authorize?response_type=code&client_id=client-id-1"
            "&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&scope=read+write%3Astatuses"
        )
        with pytest.raises(SendFailure, match="grant is invalid"):
            await mastodon.exchange_code(client, app, "a-typo")
        account = await mastodon.exchange_code(client, app, "  the-code\n")
        assert account == mastodon.Account(server.url, server.mastodon_token)
        assert await mastodon.whoami(client, account) == f"@me@{server.url[7:]}"


async def test_replies_under_a_comment_of_the_thread(server: DiscussionServer) -> None:
    thread = [Reply("1", "bob", "first"), Reply("2", "cy", "second", "1")]
    link = server.add_bluesky("ada.example.com", "3kabc", thread)
    status = server.add_mastodon("120", [Reply("121", "bob", "<p>first</p>")])
    settings = bluesky_settings(server)
    cy = "at://did:plc:cy/app.bsky.feed.post/r2"
    async with make_client(settings) as client:
        await bluesky.reply(client, settings, link, "to Cy", created=5.0, parent_uri=cy)
        bob_url = await mastodon.status_link(client, server.url, "121")
        assert bob_url == f"{server.url}/@bob/121"
        await mastodon.reply(client, me(server), bob_url, "to Bob", key="k")
    [record] = server.bluesky_records.values()
    assert record["value"]["reply"]["parent"]["uri"] == cy
    assert record["value"]["reply"]["root"]["uri"] == "at://did:plc:ada/app.bsky.feed.post/3kabc"
    assert server.posted[0]["form"]["in_reply_to_id"] == "121"
    assert mastodon.linked_statuses_of(status)[0].status_id == "120"
