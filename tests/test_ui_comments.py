"""The comments screen and the compose modal, driven with Pilot against the sample site."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from termnews.app import TermNewsApp
from termnews.comments import reply_parent, thread
from termnews.config import Paths, Settings
from termnews.demo import DemoSite
from termnews.model import Draft, Identity
from termnews.screens.comments import CommentsScreen
from termnews.screens.compose import ComposeScreen
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from tests.support.news import article_linking
from tests.support.pilot import open_post, press_to, wait_until


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(flood_seconds=0).start() as demo:
        yield demo


@pytest.fixture
def service(tmp_path: Path, site: DemoSite) -> Iterator[NewsService]:
    settings = Settings(refresh_on_start=False, name="Ada Reader", email="ada@example.org")
    paths = Paths(tmp_path / "config.toml", tmp_path / "data")
    svc = NewsService.open(paths, settings, identity=Identity(name="ada"))
    for url in site.feed_urls:
        svc.subscribe(url)
    asyncio.run(svc.refresh())
    yield svc
    svc.close()


def threaded_post(service: NewsService, site: DemoSite) -> int:
    return article_linking(service, site.post_for("threaded").url)


async def open_compose(pilot: Pilot[int], article_id: int) -> ComposeScreen:
    """The compose modal for that article, opened from the reader with C."""
    await open_post(pilot, article_id)
    return await press_to(pilot, "C", screen=ComposeScreen)


async def test_comments_screen_shows_the_thread(service: NewsService, site: DemoSite) -> None:
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, threaded_post(service, site))
        screen = await press_to(pilot, "c", screen=CommentsScreen)
        await wait_until(pilot, lambda: screen.info is not None and len(screen.comments) >= 7)
        depths = [item.depth for item in screen.comments]
        assert max(depths) >= 2  # replies are threaded under their parents
        assert "to 127.0.0.1 as Ada Reader <ada@example.org>" in screen.info.targets[0].label


async def test_selecting_comments_renders_no_html_again(
    service: NewsService, site: DemoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[str] = []
    real = service.render_fragment

    def counted(html: str, width: int, base_url: str | None = None):  # type: ignore[no-untyped-def]
        renders.append(html)
        return real(html, width, base_url)

    monkeypatch.setattr(service, "render_fragment", counted)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, threaded_post(service, site))
        screen = await press_to(pilot, "c", screen=CommentsScreen)
        await wait_until(pilot, lambda: screen.info is not None and len(screen.comments) >= 7)
        await pilot.pause(0.3)
        before = len(renders)
        for _ in range(5):
            await pilot.press("tab")
        await pilot.press("shift+tab")
        await pilot.pause()
        assert screen.selected == 3
        assert len(renders) == before  # the bodies were rendered once, on load


async def test_compose_send_and_see_the_new_comment(service: NewsService, site: DemoSite) -> None:
    article_id = threaded_post(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        comments_screen = await press_to(pilot, "c", screen=CommentsScreen)
        await wait_until(pilot, lambda: comments_screen.info is not None)
        await press_to(pilot, "C", screen=ComposeScreen)
        where = str(app.screen.query_one("#where").render())
        assert "to 127.0.0.1 as Ada Reader <ada@example.org>" in where
        await pilot.press(*"Sent from the test suite")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is comments_screen)
        await wait_until(
            pilot,
            lambda: any(
                "Sent from the test suite" in c.comment.content_html
                for c in comments_screen.comments
            ),
        )
        await pilot.pause()
        # The new comment is selected and in view.
        chosen = comments_screen.comments[comments_screen.selected].comment
        assert "Sent from the test suite" in chosen.content_html
        view, top = comments_screen.view, comments_screen.starts[comments_screen.selected]
        assert view.scroll_y <= top < view.scroll_y + view.scrollable_content_region.height
    posted = [
        c
        for c in site.comments_for(site.post_for("threaded").id)
        if "Sent from the test suite" in c["text"]
    ]
    assert len(posted) == 1
    assert service.comments.draft(article_id) is None


async def test_escape_keeps_the_draft_and_reopening_restores_it(
    service: NewsService, site: DemoSite
) -> None:
    article_id = threaded_post(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compose(pilot, article_id)
        await pilot.press(*"half a thought")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        assert service.comments.draft(article_id).body == "half a thought"
        await press_to(pilot, "C", screen=ComposeScreen)
        assert app.screen.query_one("#body", TextArea).text == "half a thought"


async def test_a_rejected_comment_keeps_the_modal_open(
    service: NewsService, site: DemoSite
) -> None:
    article_id = threaded_post(service, site)
    service.settings.email = ""  # the site will refuse a comment without an e-mail
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compose(pilot, article_id)
        await pilot.press(*"no e-mail here")
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ComposeScreen)
        assert "name and an e-mail" in str(app.screen.query_one("#result").render())


def test_thread_survives_cycles_and_deep_chains() -> None:
    from termnews.model import Comment

    deep = [
        Comment("feed", str(n), str(n - 1) if n else None, f"a{n}", None, float(n), "<p>x</p>")
        for n in range(3000)
    ]
    cycle = [
        Comment("feed", "x", "y", "x", None, 1.0, ""),
        Comment("feed", "y", "x", "y", None, 2.0, ""),
    ]
    ordered = thread(deep + cycle)
    assert len(ordered) == 3002
    assert ordered[2999].depth == 2999


async def test_undelivered_comment_waits_in_the_outbox_and_is_retried_from_it(
    service: NewsService, site: DemoSite
) -> None:
    from textual.widgets import OptionList

    from termnews.screens.feeds import FeedsScreen
    from termnews.screens.outbox import OutboxScreen

    article_id = threaded_post(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compose(pilot, article_id)
        site.set_faults(fail_next=10, fail_status=500)  # the site is down for a while
        await pilot.press(*"Sent while the site was down")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        assert len(service.comments.outbox()) == 1
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen))
        listed = app.screen.query_one(OptionList)
        assert "outbox" in str(listed.get_option_at_index(0).prompt)
        site.set_faults(fail_next=0)  # the site is back
        await pilot.press("r")
        await wait_until(pilot, lambda: not service.comments.outbox())
    delivered = [
        c
        for c in site.comments_for(site.post_for("threaded").id)
        if "Sent while the site was down" in c["text"]
    ]
    assert len(delivered) == 1


def test_board_reply_to_a_site_comment_threads_under_that_comment() -> None:
    from termnews.model import Comment

    site_three = Comment("wordpress", "3", None, "Site author", None, 1.0, "<p>site</p>")
    board_three = Comment("board", "3", None, "@bob", None, 2.0, "board")
    parent = reply_parent(site_three, "board")
    assert parent == "wordpress:3"
    reply = Comment("board", "4", parent, "@ada", None, 3.0, "reply")
    ordered = thread([site_three, board_three, reply])
    authors = [(t.comment.author, t.depth) for t in ordered]
    assert authors == [("Site author", 0), ("@ada", 1), ("@bob", 0)]
    # A site comment cannot answer a board comment (the site never saw it).
    assert reply_parent(board_three, "wordpress-form") is None
    assert reply_parent(site_three, "wordpress-form") == "3"


async def test_on_a_shared_host_members_sign_with_their_own_name(
    tmp_path: Path, site: DemoSite
) -> None:
    from textual.widgets import Input

    settings = Settings(refresh_on_start=False, name="The Operator", email="op@example.org")
    member = Identity(name="ada", display_name="ada")
    paths = Paths(tmp_path / "c.toml", tmp_path / "d")
    operator = NewsService.open(paths, settings)  # the host's operator picks the feeds
    operator.subscribe(site.feed_urls[0])
    await operator.refresh()
    operator.close()
    svc = NewsService.open(paths, settings, identity=member, restricted=True)
    app = TermNewsApp(svc)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compose(pilot, threaded_post(svc, site))
        author = app.screen.query_one("#author", Input)
        assert author.value == "ada" and author.disabled
        assert app.screen.query_one("#email", Input).value == ""  # not the operator's
    article = svc.article(threaded_post(svc, site))
    assert article is not None
    draft = Draft(article_id=article.id, identity="ada", body="x", author="The Operator")
    outgoing = svc.comments._outgoing(article, draft, svc.comments.board_target())
    assert outgoing.author == "ada"
    svc.close()


async def test_unsent_comments_open_with_a_row_selected_and_x_asks_first(
    service: NewsService, site: DemoSite
) -> None:
    from textual.widgets import OptionList

    from termnews.screens.dialogs import ConfirmScreen
    from termnews.screens.outbox import OutboxScreen

    article_id = threaded_post(service, site)
    for body in ("first draft", "second draft"):
        service.comments.save_draft(Draft(article_id=article_id, identity="ada", body=body))
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen))
        outbox = app.screen
        assert outbox.query_one(OptionList).highlighted == 0
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # no: nothing is lost
        await wait_until(pilot, lambda: app.screen is outbox)
        assert service.comments.draft(article_id) is not None
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: service.comments.draft(article_id) is None)
        listed = outbox.query_one(OptionList)
        assert "Nothing unsent" in str(listed.get_option_at_index(0).prompt)


async def test_at_60x15_the_compose_body_stays_visible(
    service: NewsService, site: DemoSite
) -> None:
    app = TermNewsApp(service)
    async with app.run_test(size=(60, 15)) as pilot:
        await open_compose(pilot, threaded_post(service, site))
        await pilot.pause()
        body = app.screen.query_one("#body", TextArea)
        region = body.content_region  # the rows one can type in, inside any border
        assert region.height >= 3, region
        assert region.y + region.height <= 15
        await pilot.press(*"fits")
        assert body.text == "fits"
        assert app.screen.query_one("#author").region.height == 1  # fields on one line


async def test_ctrl_q_in_the_compose_modal_quits_and_keeps_the_draft(
    service: NewsService, site: DemoSite
) -> None:
    article_id = threaded_post(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compose(pilot, article_id)
        await pilot.press(*"written, then quit")
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
        assert app.return_code == 0
    kept = service.comments.draft(article_id)
    assert kept is not None and kept.body == "written, then quit"


async def test_first_comment_says_where_to_set_a_profile_and_never_uses_the_login(
    tmp_path: Path, site: DemoSite
) -> None:
    from textual.widgets import Input

    paths = Paths(tmp_path / "config.toml", tmp_path / "data")
    svc = NewsService.open(paths, Settings(refresh_on_start=False), identity=Identity("root"))
    svc.subscribe(site.feed_urls[0])
    await svc.refresh()
    app = TermNewsApp(svc)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compose(pilot, threaded_post(svc, site))
        assert app.screen.query_one("#author", Input).value == ""
        note = str(app.screen.query_one("#note").render())
        assert "[profile]" in note and "remembered per site" in note
    svc.close()


async def test_on_a_single_user_machine_a_closed_post_offers_its_comment_page(
    service: NewsService, site: DemoSite
) -> None:
    post = site.post_for("closed")
    article_id = article_linking(service, post.url)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = await open_post(pilot, article_id)

        def told() -> list[str]:
            return [n.message for n in app._notifications]

        await pilot.press("C")
        await wait_until(pilot, lambda: any("closed" in m for m in told()))
        message = next(m for m in told() if "closed" in m)
        assert "board" not in message
        assert post.url.split("#")[0] in message
        assert app.screen is reader  # no modal offering the board as @ada


async def test_ctrl_q_quits_from_the_compose_modal_and_keeps_the_draft(
    service: NewsService, site: DemoSite
) -> None:
    app = TermNewsApp(service)
    article_id = threaded_post(service, site)
    async with app.run_test(size=(120, 40)) as pilot:
        article = service.article(article_id)
        assert article is not None
        app.open_compose(article, None)
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        app.screen.query_one(TextArea).focus()
        await pilot.press(*"unsent words")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0
    draft = service.comments.draft(article_id)
    assert draft is not None and "unsent words" in draft.body


async def test_a_quit_right_after_sending_does_not_bring_the_draft_back(
    service: NewsService, site: DemoSite
) -> None:
    # A hang-up or ctrl+q while the modal is closing after a send saves open drafts: the
    # sent comment must not come back as a draft (it would be offered, and sent, again).
    article_id = threaded_post(service, site)
    app = TermNewsApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_post(pilot, article_id)
        compose = await press_to(pilot, "C", screen=ComposeScreen)
        await pilot.press(*"Sent once, and only once")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, ComposeScreen))
        assert service.comments.draft(article_id) is None
        compose.save_draft()  # what save_open_drafts does if the modal is still stacked
        assert service.comments.draft(article_id) is None
