"""What a commenter sees about a site: who signs, where it can go, what went wrong."""

from __future__ import annotations

from typing import Any

from termnews.comments import CommentService, PostOutcome
from termnews.comments.backend import Outgoing
from termnews.comments.wordpress import WordPressPost
from termnews.comments.wordpress_rest import post_rest
from termnews.config import Settings
from termnews.http import make_client
from termnews.model import Draft, Identity, TargetKind
from termnews.service import NewsService
from termnews.store import Store
from tests.support.commentsite import Site, comment_site, the_post

site = comment_site  # the fixture, under the name these tests use


def commenter(service: NewsService, settings: Settings | None = None, **kw: Any) -> CommentService:
    identity = kw.pop("identity", Identity(name="root"))
    return CommentService(service.store, settings or Settings(), identity, timeout=2.0, **kw)


async def test_name_email_and_website_are_remembered_per_site_never_the_login(
    site: Site, service: NewsService
) -> None:
    article = await the_post(service, site)
    comments = commenter(service)  # the Unix login is "root"; no [profile]
    assert comments.signature("127.0.0.1") == ("", "", "")
    assert comments.profile_hint() is not None and "[profile]" in comments.profile_hint()  # type: ignore[operator]
    form = next(t for t in (await comments.info(article)).targets if t.kind == "wordpress-form")
    assert "root" not in form.label
    body = Draft(
        article_id=article.id,
        identity="root",
        body="Hello.",
        author="Ada Quill",
        email="ada@example.org",
        url="https://ada.example",
    )
    result = await comments.post(article, body, form)
    assert result.outcome is PostOutcome.POSTED, result.message
    assert site.comments == [("Ada Quill", "Hello.")]

    again = commenter(service)  # a new session on the same database
    host = f"127.0.0.1:{site.port}"
    assert again.signature(host) == ("Ada Quill", "ada@example.org", "https://ada.example")
    assert again.signature("elsewhere.example") == again.signature(host)  # last used anywhere
    assert again.profile_hint() is None
    again.remember_signature("elsewhere.example", "A. Q.", "aq@example.org", "")
    assert again.signature("elsewhere.example")[0] == "A. Q."
    assert again.signature(host)[0] == "Ada Quill"  # each site keeps its own
    assert again.signature("third.example")[0] == "A. Q."  # others: the last used anywhere


async def test_a_network_error_finding_the_form_is_not_remembered_and_says_so(
    site: Site, service: NewsService
) -> None:
    site.commentapi = False
    article = await the_post(service, site)
    comments = commenter(service, Settings(name="Ada", email="ada@example.org"))
    site.page_down = True
    down = await comments.info(article)
    assert down.targets == []
    assert down.reason is not None
    assert down.reason.startswith("could not reach 127.0.0.1")
    assert "takes no comments" not in down.reason
    site.page_down = False
    back = await comments.info(article)  # asked again, not the cached failure
    assert [t.kind for t in back.targets] == [TargetKind.WORDPRESS_FORM]
    assert back.reason is None


async def test_rest_errors_are_shown_without_html_entities(site: Site) -> None:
    site.rest_error = (
        409,
        "comment_duplicate",
        "Duplicate comment detected; it looks as though you&#8217;ve already said that!",
    )
    post = WordPressPost(page_url=site.url("/post/"), post_id=7, api_root=site.url("/wp-json/"))
    outgoing = Outgoing(TargetKind.WORDPRESS_REST, "", "", "Hi", author="Ada", email="a@b.org")
    async with make_client(2.0) as client:
        result = await post_rest(client, post, outgoing, None)
    assert result.outcome is PostOutcome.REJECTED
    assert result.message == (
        "127.0.0.1 refused the comment: Duplicate comment detected; it looks as though "
        "you\u2019ve already said that! (HTTP 409)"
    )


async def test_the_board_is_offered_only_where_someone_else_reads_it(
    site: Site, service: NewsService, paths: Any
) -> None:
    site.commentapi = False
    article = await the_post(service, site)
    site.page_down = True  # the site cannot take it: what is offered instead?
    alone = await commenter(service, identity=Identity(name="local")).info(article)
    assert alone.targets == []
    assert alone.page_url == site.url("/post/")
    served = commenter(service, identity=Identity(name="ada"), restricted=True)
    assert [t.kind for t in (await served.info(article)).targets] == [TargetKind.BOARD]
    # Two people in one database (a shared machine): the board has readers.
    other = Store(paths.database, identity="bob")
    try:
        other.set_read([article.id], True)
        service.store.set_read([article.id], True)
    finally:
        other.close()
    shared = commenter(service, identity=Identity(name="local"))
    assert [t.kind for t in (await shared.info(article)).targets] == [TargetKind.BOARD]
