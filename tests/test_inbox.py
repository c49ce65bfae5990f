"""The comment inbox: your comments remembered, their threads checked on refresh for replies.

Against the sample site over real HTTP (its comment feeds answer 304 to a matching ETag),
with a real SQLite file. "Someone else" replies through the site's own comment form.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from termnews.comments import CommentService, PostOutcome
from termnews.comments.inbox import DAY, first_line
from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.model import ArticleDetail, ArticleQuery, Draft, Identity, MyComment, Reply
from termnews.service import NewsService
from termnews.store import SCHEMA_VERSION, Store


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0).start() as demo:
        yield demo


def settings(**kw: object) -> Settings:
    base = Settings(refresh_on_start=False, name="Ada Reader", email="ada@example.org")
    base.check_minutes = 0  # tests check again at once
    for key, value in kw.items():
        setattr(base, key, value)
    return base


def open_service(tmp_path: Path, who: str = "ada", **kw: object) -> NewsService:
    paths = Paths(tmp_path / "config.toml", tmp_path / "data")
    return NewsService.open(paths, settings(**kw), identity=Identity(name=who))


@pytest.fixture
def service(tmp_path: Path, site: DemoSite) -> Iterator[NewsService]:
    svc = open_service(tmp_path)
    svc.subscribe(site.feed_urls[0])
    asyncio.run(svc.refresh())
    yield svc
    svc.close()


def article_for(service: NewsService, site: DemoSite, role: str) -> ArticleDetail:
    url = site.post_for(role).url
    for article_id in service.article_ids(ArticleQuery()):
        article = service.article(article_id)
        if article is not None and article.link == url:
            return article
    raise AssertionError(f"no {role} post in the feed")


async def post_comment(
    comments: CommentService, article: ArticleDetail, body: str, parent: str | None = None
) -> str:
    """Post through the compose path (the site's form); the site's id of the comment."""
    info = await comments.info(article)
    form = next(t for t in info.targets if t.kind == "wordpress-form")
    draft = Draft(article_id=article.id, identity=comments.identity.name, body=body)
    draft.parent_id = parent
    result = await comments.post(article, draft, form)
    assert result.outcome is PostOutcome.POSTED, result.message
    assert result.comment is not None
    return result.comment.remote_id


def reply_from_someone_else(site: DemoSite, article: ArticleDetail, parent: str, text: str) -> None:
    """Another reader answers on the site itself (its comment form, over HTTP)."""
    post = next(p for p in site.posts if p.url == article.link)
    answer = httpx.post(
        site.comment_post_url,
        data={
            "comment_post_ID": str(post.id),
            "comment_parent": parent,
            "author": "Bea Other",
            "email": "bea@example.net",
            "url": "",
            "comment": text,
        },
    )
    assert answer.status_code == 302, answer.text


# -- the store --------------------------------------------------------------------------------


def test_the_store_keeps_your_comments_and_replies_per_identity(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    feed = store.add_feed("http://127.0.0.1:1/feed/")
    store.db.execute(
        "INSERT INTO articles (feed_id, guid, title, sort_key, body_hash, fetched) "
        "VALUES (?, 'g', 'A post', 0, '', 0)",
        (feed.id,),
    )
    article_id = store.db.execute("SELECT id FROM articles").fetchone()[0]

    def mine(who: str, remote: str) -> int:
        kind = "wordpress-form"
        row = MyComment(0, who, article_id, kind, None, remote, None, "hi", 1.0, 0, None)
        return store.add_my_comment(row)

    ada = mine("ada", "7")
    assert mine("ada", "7") == ada  # the same comment remembered twice is one row
    bob = mine("bob", "8")
    assert store.has_my_comments("ada") and not store.has_my_comments("carol")

    def reply(who: str, remote: str) -> Reply:
        return Reply(
            0, who, article_id, "", "feed", remote, "Bea", 2.0, "Yes!", None, 3.0, read=False
        )

    assert store.add_replies([(ada, reply("ada", "9")), (bob, reply("bob", "10"))]) == 2
    assert store.add_replies([(ada, reply("ada", "9"))]) == 0  # known already
    store.close()

    again = Store(path)  # a new process on the same file
    assert [r.remote_id for r in again.replies("ada")] == ["9"]
    assert [r.remote_id for r in again.replies("bob")] == ["10"]
    assert again.replies("ada")[0].article_title == "A post"
    assert again.unread_replies("ada") == 1
    [first] = again.replies("ada")
    again.set_reply_read("bob", first.id)  # not bob's: nothing changes
    assert again.unread_replies("ada") == 1
    again.set_reply_read("ada", first.id)
    assert again.unread_replies("ada") == 0 and again.unread_replies("bob") == 1
    again.close()


def test_a_version_6_database_gains_the_inbox_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Store(path).close()
    db = sqlite3.connect(path)
    for table in ("replies", "my_comments", "thread_cache"):
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version = 6")
    db.commit()
    db.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.replies("ada") == []
    store.close()


def test_first_line_is_the_first_line_of_text() -> None:
    assert first_line("<p>\n</p><p>Good point &amp; <b>more</b></p><p>second</p>") == (
        "Good point & more"
    )
    hostile = first_line("<p>\x1b]52;c;ZXZpbA==\x07\x1b[2Jhi</p>")
    assert "\x1b" not in hostile and "\x07" not in hostile and hostile.endswith("hi")


# -- the check over real HTTP --------------------------------------------------------------


async def test_a_reply_to_your_comment_shows_up_after_a_refresh(
    service: NewsService, site: DemoSite
) -> None:
    article = article_for(service, site, "threaded")
    assert not service.replies_posted()
    mine = await post_comment(service.comments, article, "Ferries should run on Sundays.")
    assert service.replies_posted()
    report = await service.refresh()
    assert report.new_replies == 0  # nobody answered yet

    reply_from_someone_else(site, article, mine, "Agreed, and late on Fridays too.")
    reply_from_someone_else(site, article, "0", "A comment on the post, not on yours.")
    report = await service.refresh()
    assert report.new_replies == 1
    assert "1 new reply to you" in report.summary()
    [reply] = service.replies()
    assert reply.author == "Bea Other"
    assert reply.first_line == "Agreed, and late on Fridays too."
    assert reply.article_title == article.title
    assert not reply.read and service.unread_replies() == 1
    # The thread's offline copy has the reply too: the discussion opens on it.
    assert any(c.remote_id == reply.remote_id for c in service.comments.cached(article.id))

    again = await service.refresh()
    assert again.new_replies == 0  # known already
    service.mark_reply_read(reply.id)
    assert service.unread_replies() == 0


async def test_an_unchanged_thread_is_answered_304_and_not_read_again(
    service: NewsService, site: DemoSite
) -> None:
    article = article_for(service, site, "threaded")
    mine = await post_comment(service.comments, article, "Will the bridge reopen?")
    first = await service.comments.check_replies()
    assert (first.threads, first.unchanged) == (1, 0)
    [remembered] = service.store.my_comments()
    assert remembered.validator and article.comments.feed_url in remembered.validator

    second = await service.comments.check_replies()
    assert (second.threads, second.unchanged) == (1, 1)  # every GET came back 304

    reply_from_someone_else(site, article, mine, "In spring, they say.")
    third = await service.comments.check_replies()
    assert (third.unchanged, third.new) == (0, 1)  # a new validator, a new reply


async def test_the_rest_listing_is_read_where_a_post_has_no_comment_feed(
    service: NewsService, site: DemoSite
) -> None:
    article = article_for(service, site, "threaded")
    mine = await post_comment(service.comments, article, "Over REST, please.")
    service.store.db.execute("UPDATE articles SET comments_feed = NULL WHERE id = ?", (article.id,))
    reply_from_someone_else(site, article, mine, "Read from the REST listing.")
    report = await service.refresh()
    assert report.new_replies == 1
    [reply] = service.replies()
    assert reply.source == "wordpress" and reply.first_line == "Read from the REST listing."


async def test_at_most_max_threads_a_refresh_the_longest_unchecked_first(
    tmp_path: Path, site: DemoSite
) -> None:
    service = open_service(tmp_path, max_threads=1)
    try:
        service.subscribe(site.feed_urls[0])
        await service.refresh()
        older = article_for(service, site, "threaded")
        newer = next(
            a
            for a in (service.article(i) for i in service.article_ids(ArticleQuery()))
            if a is not None and a.id != older.id and a.comments.feed_url
        )
        first = await post_comment(service.comments, older, "The first one.")
        second = await post_comment(service.comments, newer, "The second one.")
        reply_from_someone_else(site, older, first, "Reply one.")
        reply_from_someone_else(site, newer, second, "Reply two.")

        assert (await service.refresh()).new_replies == 1
        assert [r.first_line for r in service.replies()] == ["Reply one."]  # posted first
        assert (await service.refresh()).new_replies == 1
        assert {r.first_line for r in service.replies()} == {"Reply one.", "Reply two."}
    finally:
        service.close()


async def test_threads_are_not_checked_again_too_soon_nor_after_watch_days(
    tmp_path: Path, site: DemoSite
) -> None:
    service = open_service(tmp_path)
    try:
        service.settings.check_minutes = 15
        service.subscribe(site.feed_urls[0])
        await service.refresh()
        article = article_for(service, site, "threaded")
        mine = await post_comment(service.comments, article, "Checked now, then not for 15 min.")
        assert (await service.comments.check_replies()).threads == 1
        reply_from_someone_else(site, article, mine, "Too soon to be seen.")
        assert (await service.comments.check_replies()).threads == 0

        service.settings.check_minutes = 0
        old = time.time() - 15 * DAY
        service.store.db.execute("UPDATE my_comments SET posted = ?", (old,))
        assert (await service.comments.check_replies()).threads == 0  # watch_days is 14
        service.settings.watch_days = 16
        assert (await service.comments.check_replies()).new == 1
    finally:
        service.close()


async def test_each_identity_sees_only_replies_to_its_own_comments(
    tmp_path: Path, site: DemoSite
) -> None:
    ada = open_service(tmp_path, "ada")
    bob = open_service(tmp_path, "bob", name="Bob Writer", email="bob@example.org")
    try:
        ada.subscribe(site.feed_urls[0])
        await ada.refresh()
        article = article_for(ada, site, "threaded")
        adas = await post_comment(ada.comments, article, "Ada's comment.")
        await post_comment(bob.comments, article, "Bob answers Ada.", parent=adas)
        assert bob.replies_posted() and ada.replies_posted()

        report = await bob.refresh()  # one refresh checks everyone's threads (a served host)
        assert report.new_replies == 1
        assert [r.author for r in ada.replies()] == ["Bob Writer"]
        assert bob.replies() == [] and bob.unread_replies() == 0
        assert ada.unread_replies() == 1
    finally:
        bob.close()
        ada.close()


async def test_board_replies_are_found_without_the_network(tmp_path: Path, site: DemoSite) -> None:
    ada = open_service(tmp_path, "ada")
    bob = open_service(tmp_path, "bob")
    try:
        ada.subscribe(site.feed_urls[0])
        await ada.refresh()
        article = article_for(ada, site, "threaded")
        board = ada.comments.board_target()
        sent = await ada.comments.post(
            article, Draft(article_id=article.id, identity="ada", body="On the board."), board
        )
        assert sent.outcome is PostOutcome.POSTED and sent.comment is not None
        draft = Draft(article_id=article.id, identity="bob", body="Board reply.")
        draft.parent_id = sent.comment.remote_id
        assert (await bob.comments.post(article, draft, bob.comments.board_target())).comment
        site.stop()  # nothing is fetched for the board
        report = await ada.comments.check_replies()
        assert report.new == 1 and report.failed == 0
        [reply] = ada.replies()
        assert (reply.author, reply.first_line, reply.source) == ("@bob", "Board reply.", "board")
    finally:
        bob.close()
        ada.close()


async def test_termnews_refresh_checks_the_threads_and_says_what_it_found(
    tmp_path: Path, site: DemoSite
) -> None:
    service = open_service(tmp_path)
    service.subscribe(site.feed_urls[0])
    await service.refresh()
    article = article_for(service, site, "threaded")
    mine = await post_comment(service.comments, article, "From the command line.")
    reply_from_someone_else(site, article, mine, "Seen from cron.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMNEWS_")}
    env["TERMNEWS_DATA_DIR"] = str(tmp_path / "data")
    env["TERMNEWS_CONFIG"] = str(tmp_path / "no-config.toml")
    done = subprocess.run(
        [sys.executable, "-m", "termnews", "refresh"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "1 new reply to you" in done.stdout.splitlines()[-1]
    assert [r.first_line for r in service.replies()] == ["Seen from cron."]
    service.close()


async def test_a_comment_the_outbox_delivers_later_is_remembered_too(
    service: NewsService, site: DemoSite
) -> None:
    article = article_for(service, site, "threaded")
    info = await service.comments.info(article)
    form = next(t for t in info.targets if t.kind == "wordpress-form")
    site.set_faults(fail_next=1, fail_status=503)  # the site fails the first send
    draft = Draft(article_id=article.id, identity="ada", body="Sent on the second try.")
    first = await service.comments.post(article, draft, form)
    assert first.outcome is PostOutcome.FAILED
    assert not service.replies_posted()  # not delivered: nothing to watch yet

    [delivered] = await service.comments.retry_outbox(force=True)
    assert delivered.outcome is PostOutcome.POSTED, delivered.message
    [mine] = service.store.my_comments()
    assert (mine.identity, mine.kind) == ("ada", "wordpress-form")
    assert mine.remote_id.isdigit()  # the site's own id, from the read-back or the send
    reply_from_someone_else(site, article, mine.remote_id, "Worth the wait.")
    assert (await service.refresh()).new_replies == 1


async def test_a_comment_delivered_without_an_id_is_found_by_its_words(
    service: NewsService, site: DemoSite
) -> None:
    """A 409 "duplicate" after a lost answer is delivered, but the site gave no id back."""
    article = article_for(service, site, "threaded")
    post = next(p for p in site.posts if p.url == article.link)
    sent = httpx.post(
        site.comment_post_url,
        data={
            "comment_post_ID": str(post.id),
            "comment_parent": "0",
            "author": "Ada Reader",
            "email": "ada@example.org",
            "comment": "Which pier does it leave from?",
        },
    )
    real_id = sent.headers["location"].rsplit("#comment-", 1)[1]
    lost = MyComment(
        0, "ada", article.id, "wordpress-form", None, "local-0123", None,
        "Which pier does it leave from?", time.time(), 0.0, None,
    )  # fmt: skip
    service.store.add_my_comment(lost)
    reply_from_someone_else(site, article, real_id, "The north pier.")
    assert (await service.comments.check_replies()).new == 1
    [mine] = service.store.my_comments()
    assert mine.remote_id == real_id  # learnt from the listing
