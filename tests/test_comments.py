"""CommentService against the sample site over real HTTP, with real SQLite files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from termnews.comments import (
    CommentError,
    CommentService,
    CommentTarget,
    PostOutcome,
    wordpress,
)
from termnews.comments.backend import Outgoing
from termnews.comments.feeds import read_comment_feed
from termnews.comments.wordpress import WordPressPost, rest_url
from termnews.comments.wordpress_form import post_form
from termnews.config import Paths, Settings, WordPressLogin
from termnews.demo import DemoPost, DemoSite
from termnews.http import make_client
from termnews.model import ArticleDetail, ArticleQuery, CommentStatus, Draft, Identity, TargetKind
from termnews.service import NewsService
from termnews.store import Store

ADA = Identity(name="ada")


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0) as demo:
        yield demo


async def open_news(site: DemoSite, paths: Paths) -> NewsService:
    news = NewsService.open(paths, Settings(), identity=ADA)
    for url in site.feed_urls:
        news.subscribe(url)
    report = await news.refresh()
    assert not report.failed, [r.error for r in report.failed]
    return news


@pytest.fixture
async def news(site: DemoSite, paths: Paths) -> AsyncIterator[NewsService]:
    service = await open_news(site, paths)
    yield service
    service.close()


def article_for(news: NewsService, post: DemoPost) -> ArticleDetail:
    for article_id in news.article_ids(ArticleQuery()):
        article = news.article(article_id)
        if article is not None and article.link == post.url:
            return article
    raise AssertionError(f"no article for {post.url}")


def commenter(
    news: NewsService,
    *,
    identity: Identity = ADA,
    settings: Settings | None = None,
    **options: object,
) -> CommentService:
    settings = settings or Settings(name="Ada Quill", email="ada@example.org")
    options.setdefault("timeout", 5.0)
    return CommentService(news.store, settings, identity, **options)  # type: ignore[arg-type]


def draft(article: ArticleDetail, body: str, **fields: object) -> Draft:
    return Draft(article_id=article.id, identity=ADA.name, body=body, **fields)  # type: ignore[arg-type]


def target(kind: str, comments: CommentService, info_targets: list[CommentTarget]) -> CommentTarget:
    for candidate in info_targets:
        if candidate.kind == kind:
            return candidate
    raise AssertionError(f"no {kind} target in {[t.kind for t in info_targets]}")


def site_texts(site: DemoSite, post: DemoPost, include_held: bool = True) -> list[str]:
    return [c["text"] for c in site.comments_for(post.id, include_held=include_held)]


# -- reading and posting through WordPress' form ----------------------------------------------


async def test_form_post_is_read_back_from_rest_and_the_comment_feed(
    site: DemoSite, news: NewsService
) -> None:
    post = site.post_for("showcase")
    article = article_for(news, post)
    comments = commenter(news)
    info = await comments.info(article)
    assert [t.kind for t in info.targets] == ["wordpress-form"]
    assert info.targets[0].label == "to 127.0.0.1 as Ada Quill <ada@example.org>"
    assert info.targets[0].needs_email

    comments.save_draft(draft(article, "Tide tables at last <b>make sense</b> & thanks."))
    result = await comments.post(article, comments.draft(article.id), info.targets[0])  # type: ignore[arg-type]
    assert result.outcome is PostOutcome.POSTED, result.message
    assert result.message == "Comment posted to 127.0.0.1."
    assert comments.draft(article.id) is None
    assert site_texts(site, post) == ["Tide tables at last <b>make sense</b> & thanks."]
    assert [c.author for c in comments.cached(article.id)] == ["Ada Quill"]

    # A fresh service on the same database reads it back once (REST and feed agree).
    again = commenter(news, identity=Identity(name="bob"))
    loaded = await again.load(article)
    assert [(c.author, c.source) for c in loaded] == [("Ada Quill", "wordpress")]
    assert "make sense" in loaded[0].content_html
    async with make_client(5.0) as client:
        from_feed = await read_comment_feed(client, article.comments.feed_url or "")
    assert [c.author for c in from_feed] == ["Ada Quill"]
    assert from_feed[0].remote_id == loaded[0].remote_id


async def test_threaded_post_keeps_parents(site: DemoSite, news: NewsService) -> None:
    article = article_for(news, site.post_for("threaded"))
    everything = await commenter(news).load(article)
    loaded = [c for c in everything if c.source == "wordpress"]  # not its Mastodon thread
    by_id = {c.remote_id: c for c in loaded}
    assert len(loaded) == len(site.comments_for(site.post_for("threaded").id, False))
    replies = [c for c in loaded if c.parent_id is not None]
    assert replies and all(c.parent_id in by_id for c in replies)


async def test_moderated_comment_is_held_and_shown_as_pending(paths: Paths) -> None:
    with DemoSite(flood_seconds=0, moderate_new_authors=True) as site:
        news = await open_news(site, paths)
        post = site.post_for("showcase")
        article = article_for(news, post)
        comments = commenter(news)
        info = await comments.info(article)
        result = await comments.post(article, draft(article, "First time here."), info.targets[0])
        assert result.outcome is PostOutcome.HELD, result.message
        assert "moderation" in result.message
        loaded = await comments.load(article)  # REST does not list held comments
        assert [(c.author, c.status) for c in loaded] == [("Ada Quill", CommentStatus.PENDING)]
        held_id = site.comments_for(post.id)[0]["id"]
        assert site.approve_comment(held_id)
        loaded = await comments.load(article)
        assert [(c.remote_id, c.status) for c in loaded] == [(str(held_id), CommentStatus.APPROVED)]
        news.close()


async def test_duplicate_is_rejected_with_the_sites_reason(
    site: DemoSite, news: NewsService
) -> None:
    article = article_for(news, site.post_for("showcase"))
    comments = commenter(news)
    form = (await comments.info(article)).targets[0]
    first = await comments.post(article, draft(article, "Same words twice."), form)
    assert first.outcome is PostOutcome.POSTED
    second = await comments.post(article, draft(article, "Same words twice."), form)
    assert second.outcome is PostOutcome.REJECTED
    assert second.message.startswith("127.0.0.1 refused the comment: Duplicate comment")
    assert second.message.endswith("(HTTP 409)")
    kept = comments.draft(article.id)
    assert kept is not None and kept.body == "Same words twice."
    assert comments.outbox() == []


async def test_flood_is_rejected_and_not_queued(paths: Paths) -> None:
    with DemoSite(flood_seconds=60) as site:
        news = await open_news(site, paths)
        article = article_for(news, site.post_for("showcase"))
        comments = commenter(news)
        form = (await comments.info(article)).targets[0]
        assert (await comments.post(article, draft(article, "One."), form)).outcome == "posted"
        result = await comments.post(article, draft(article, "Two, quickly."), form)
        assert result.outcome is PostOutcome.REJECTED
        assert "too quickly" in result.message and "(HTTP 429)" in result.message
        assert result.retryable
        assert comments.outbox() == []
        news.close()


async def test_closed_post_offers_nothing_and_the_site_says_403(
    site: DemoSite, news: NewsService
) -> None:
    post = site.post_for("closed")
    article = article_for(news, post)
    info = await commenter(news).info(article)
    assert [t.kind for t in info.targets] == []  # one person here: no board
    assert info.reason is not None and "closed" in info.reason
    # Sent anyway (the form of another post, this post's id): WordPress answers 403.
    closed = WordPressPost(page_url=post.url, post_id=post.id, form_action=site.comment_post_url)
    async with make_client(5.0) as client:
        hello = Outgoing(TargetKind.WORDPRESS_FORM, "", "", "Hi", author="Ada", email="a@b.org")
        result = await post_form(client, closed, hello)
    assert result.outcome is PostOutcome.REJECTED
    assert result.message == (
        "127.0.0.1 refused the comment: Sorry, comments are closed for this item. (HTTP 403)"
    )


async def test_missing_email_gets_the_error_page_reason(site: DemoSite, news: NewsService) -> None:
    article = article_for(news, site.post_for("showcase"))
    comments = commenter(news, settings=Settings(name="Ada Quill"))
    info = await comments.info(article)
    form = info.targets[0]
    assert form.note is not None and "e-mail" in form.note
    result = await comments.post(article, draft(article, "No e-mail given."), form)
    assert result.outcome is PostOutcome.REJECTED
    assert result.message == (
        "127.0.0.1 refused the comment: Please fill the required fields. (HTTP 200)"
    )
    assert comments.draft(article.id) is not None
    assert site_texts(site, site.post_for("showcase")) == []


# -- REST -------------------------------------------------------------------------------------


async def test_rest_with_an_application_password(paths: Paths) -> None:
    with DemoSite(flood_seconds=0, app_passwords={"ada": "abcd efgh ijkl mnop"}) as site:
        news = await open_news(site, paths)
        post = site.post_for("showcase")
        article = article_for(news, post)
        host = site.url.split("/")[2]
        settings = Settings(wordpress={host: WordPressLogin("ada", "abcd efgh ijkl mnop")})
        comments = commenter(news, settings=settings)
        info = await comments.info(article)
        assert [t.kind for t in info.targets] == ["wordpress-rest", "wordpress-form"]
        assert info.targets[0].label == "to 127.0.0.1 as ada (application password)"
        result = await comments.post(article, draft(article, "Signed in."), info.targets[0])
        assert result.outcome is PostOutcome.POSTED, result.message
        stored = site.comments_for(post.id)
        assert [(c["text"], c["via"]) for c in stored] == [("Signed in.", "rest")]
        news.close()


async def test_anonymous_rest_refused_falls_back_to_the_form(
    site: DemoSite, news: NewsService
) -> None:
    post = site.post_for("showcase")
    article = article_for(news, post)
    comments = commenter(news)
    await comments.info(article)
    rest = CommentTarget("wordpress-rest", "to 127.0.0.1 as Ada Quill", "127.0.0.1", True)
    result = await comments.post(article, draft(article, "Through the form."), rest)
    assert result.outcome is PostOutcome.POSTED, result.message
    assert [c["via"] for c in site.comments_for(post.id)] == ["form"]


async def test_anonymous_rest_when_the_site_allows_it(paths: Paths) -> None:
    with DemoSite(flood_seconds=0, allow_anonymous_rest=True) as site:
        news = await open_news(site, paths)
        post = site.post_for("showcase")
        article = article_for(news, post)
        comments = commenter(news)
        rest = CommentTarget("wordpress-rest", "to 127.0.0.1 as Ada Quill", "127.0.0.1", True)
        result = await comments.post(article, draft(article, "Straight to REST."), rest)
        assert result.outcome is PostOutcome.POSTED, result.message
        assert [c["via"] for c in site.comments_for(post.id)] == ["rest"]
        news.close()


# -- CommentAPI and Blogger ------------------------------------------------------------------


async def test_commentapi_post_appears_in_the_comment_feed(
    site: DemoSite, news: NewsService
) -> None:
    post = site.post_for("commentapi")
    article = article_for(news, post)
    comments = commenter(news)
    before = len(await comments.load(article))
    info = await comments.info(article)
    assert [t.kind for t in info.targets] == ["commentapi"]
    result = await comments.post(article, draft(article, "Add Mousehole, please."), info.targets[0])
    assert result.outcome is PostOutcome.POSTED, result.message
    stored = site.comments_for(post.id)[-1]
    assert (stored["author_name"], stored["author_email"], stored["via"]) == (
        "Ada Quill",
        "ada@example.org",
        "commentapi",
    )
    loaded = await comments.load(article)
    assert len(loaded) == before + 1
    assert [c.author for c in loaded].count("Ada Quill") == 1


async def test_blogger_posts_are_read_only(site: DemoSite, news: NewsService) -> None:
    article = article_for(news, site.post_for("blogger-thread"))
    comments = commenter(news)
    info = await comments.info(article)
    assert info.can_read
    assert [t.kind for t in info.targets] == []  # one person here: no board
    assert info.reason is not None and info.reason.startswith("Blogger posts take no comments")
    loaded = await comments.load(article)
    assert loaded and all("@" not in c.author for c in loaded)  # names, not "Name (e-mail)"
    assert any(c.parent_id is not None for c in loaded)
    assert all(c.parent_id is None or c.parent_id.isdigit() for c in loaded)


async def test_empty_comment_feed_reads_as_no_comments(site: DemoSite, news: NewsService) -> None:
    article = article_for(news, site.post_for("blogger-quiet"))
    assert await commenter(news).load(article) == []


# -- the board --------------------------------------------------------------------------------


async def test_board_post_is_seen_by_another_identity_on_the_same_database(
    site: DemoSite, news: NewsService, paths: Paths
) -> None:
    article = article_for(news, site.post_for("closed"))
    ada = commenter(news)
    result = await ada.post(article, draft(article, "Ferry <b>talk</b>\nhere."), ada.board_target())
    assert result.outcome is PostOutcome.POSTED
    other_store = Store(paths.database, identity="bob")
    try:
        bob = CommentService(other_store, Settings(), Identity(name="bob"))
        seen = bob.cached(article.id)
        assert [(c.source, c.author) for c in seen] == [("board", "@ada")]
        assert seen[0].content_html == "<p>Ferry &lt;b&gt;talk&lt;/b&gt;<br>here.</p>"
        assert bob.board_target().label == "to this host's board as @bob"
    finally:
        other_store.close()


async def test_board_rate_limit_in_restricted_mode_and_activity_log(
    site: DemoSite, news: NewsService, tmp_path: Path
) -> None:
    article = article_for(news, site.post_for("closed"))
    served = commenter(news, restricted=True, rate_per_minute=2, data_dir=tmp_path / "host")
    board = served.board_target()
    outcomes = [
        (await served.post(article, draft(article, f"note {n}"), board)).outcome for n in range(3)
    ]
    assert outcomes == [PostOutcome.POSTED, PostOutcome.POSTED, PostOutcome.REJECTED]
    assert served.draft(article.id) is not None  # the refused one is kept
    lines = (tmp_path / "host" / "activity.log").read_text().splitlines()
    assert len(lines) == 2
    assert all(line.split("\t")[1:] == ["ada", "board", article.link] for line in lines)
    # Not served: no limit.
    local = commenter(news, rate_per_minute=2)
    result = await local.post(article, draft(article, "note 4"), local.board_target())
    assert result.outcome is PostOutcome.POSTED


# -- drafts and the outbox --------------------------------------------------------------------


async def test_drafts_survive_a_new_service_on_the_same_database(
    site: DemoSite, news: NewsService, paths: Paths
) -> None:
    article = article_for(news, site.post_for("news"))
    commenter(news).save_draft(draft(article, "Half a thought", parent_id="2"))
    store = Store(paths.database, identity="ada")
    try:
        kept = CommentService(store, Settings(), ADA).draft(article.id)
        assert kept is not None and (kept.body, kept.parent_id) == ("Half a thought", "2")
        CommentService(store, Settings(), ADA).discard_draft(article.id)
        assert commenter(news).draft(article.id) is None
    finally:
        store.close()


async def test_server_errors_go_to_the_outbox_and_are_sent_once(
    site: DemoSite, news: NewsService
) -> None:
    post = site.post_for("showcase")
    article = article_for(news, post)
    comments = commenter(news)
    form = (await comments.info(article)).targets[0]
    site.set_faults(fail_next=1)
    result = await comments.post(article, draft(article, "Through the storm."), form)
    assert result.outcome is PostOutcome.FAILED and result.retryable
    assert "HTTP 500" in result.message and "outbox" in result.message
    assert comments.draft(article.id) is None
    [item] = comments.outbox()
    # A 500 after the comment was sent: the site may have stored it first.
    assert (item.body, item.state, item.attempts) == ("Through the storm.", "uncertain", 1)
    assert await comments.retry_outbox() == []  # not due yet

    site.set_faults(fail_next=1)
    [again] = await comments.retry_outbox(force=True)
    assert again.outcome is PostOutcome.FAILED
    assert comments.outbox()[0].attempts == 2
    [sent] = await comments.retry_outbox(force=True)
    assert sent.outcome is PostOutcome.POSTED, sent.message
    assert comments.outbox() == []
    assert site_texts(site, post) == ["Through the storm."]


async def test_timeout_after_sending_then_409_counts_as_delivered(
    site: DemoSite, news: NewsService
) -> None:
    post = site.post_for("showcase")
    article = article_for(news, post)
    comments = commenter(news, timeout=0.3)
    form = (await comments.info(article)).targets[0]
    site.set_faults(latency=1.0)
    result = await comments.post(article, draft(article, "Did this arrive?"), form)
    assert result.outcome is PostOutcome.FAILED and result.retryable, result.message
    assert "timed out after 0.3 s" in result.message
    assert "may have reached the site; checking before any retry" in result.message
    for _ in range(100):  # the site stores it once its latency has passed
        if site_texts(site, post):
            break
        await asyncio.sleep(0.05)
    site.set_faults()
    [retried] = await comments.retry_outbox(force=True)
    assert retried.outcome is PostOutcome.POSTED, retried.message
    assert "earlier attempt" in retried.message
    assert site_texts(site, post) == ["Did this arrive?"]
    assert comments.outbox() == []


async def test_two_services_retrying_at_once_send_once(
    site: DemoSite, news: NewsService, paths: Paths
) -> None:
    post = site.post_for("showcase")
    article = article_for(news, post)
    first = commenter(news)
    form = (await first.info(article)).targets[0]
    site.set_faults(fail_next=1)
    assert (await first.post(article, draft(article, "Only once."), form)).outcome == "failed"
    store = Store(paths.database, identity="ada")
    try:
        second = CommentService(store, Settings(), ADA, timeout=5.0)
        a, b = await asyncio.gather(first.retry_outbox(force=True), second.retry_outbox(force=True))
    finally:
        store.close()
    assert sorted([len(a), len(b)]) == [0, 1]
    assert site_texts(site, post) == ["Only once."]


async def test_outbox_item_back_to_a_draft_and_discarded(site: DemoSite, news: NewsService) -> None:
    article = article_for(news, site.post_for("showcase"))
    comments = commenter(news)
    form = (await comments.info(article)).targets[0]
    site.set_faults(fail_next=2)
    await comments.post(article, draft(article, "Edit me."), form)
    await comments.post(article, draft(article, "Drop me."), form)
    edit, drop = comments.outbox()
    restored = comments.edit_outbox(edit.id)
    assert restored.body == "Edit me." and restored.target == "wordpress-form"
    assert comments.draft(article.id) is not None
    comments.discard_outbox(drop.id)
    assert comments.outbox() == []
    with pytest.raises(CommentError):
        comments.discard_outbox(drop.id)


# -- network trouble --------------------------------------------------------------------------


async def test_load_keeps_the_cache_and_explains_when_the_site_is_gone(
    site: DemoSite, news: NewsService
) -> None:
    article = article_for(news, site.post_for("news"))
    comments = commenter(news, timeout=2.0)
    loaded = await comments.load(article)
    assert len(loaded) == 2
    site.stop()
    fresh = commenter(news, timeout=2.0)
    with pytest.raises(CommentError, match=r"connection refused by 127\.0\.0\.1"):
        await fresh.load(article)
    assert len(fresh.cached(article.id)) == 2


# -- REST details -----------------------------------------------------------------------------


def test_rest_url_for_pretty_and_plain_permalinks() -> None:
    assert (
        rest_url("http://h/wp-json/", "/wp/v2/comments", {"post": 4})
        == "http://h/wp-json/wp/v2/comments?post=4"
    )
    assert (
        rest_url("http://h/index.php?rest_route=/", "/wp/v2/comments", {"post": 4})
        == "http://h/index.php?rest_route=%2Fwp%2Fv2%2Fcomments&post=4"
    )


async def test_rest_pages_through_a_plain_permalink_root(
    site: DemoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = site.post_for("threaded")
    monkeypatch.setattr(wordpress, "PER_PAGE", 2)  # 7 comments -> 4 pages
    plain = WordPressPost(
        page_url=post.url, post_id=post.id, api_root=site.url + "index.php?rest_route=/"
    )
    async with make_client(5.0) as client:
        read = await wordpress.read_rest(client, plain)
    expected = [str(c["id"]) for c in site.comments_for(post.id, include_held=False)]
    assert [c.remote_id for c in read] == expected
    assert len(expected) == 7
