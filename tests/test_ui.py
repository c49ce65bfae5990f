"""The reader UI driven with Textual's Pilot, on a real database filled over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events

from termnews.app import TermNewsApp
from termnews.config import Paths, Settings
from termnews.model import ArticleQuery
from termnews.screens.feeds import FeedsScreen
from termnews.screens.reader import ReaderScreen
from termnews.screens.welcome import WelcomeScreen
from termnews.service import NewsService
from termnews.widgets.article_list import ArticleList
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import feed_items, subscribed

HOSTILE = (
    "Evil \x1b[2J\x1b]52;c;cHduZWQ=\x07\x1b]8;;http://x.example/\x1b\\link\x1b]8;;\x1b\\"
    " \u202eoverride\x9b31m"
)


@pytest.fixture
def ui_service(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed("/alpha.xml", make_rss("Alpha", feed_items("alpha", 3, 1_700_000_000)))
    feed_server.add_feed("/beta.xml", make_rss("Beta", feed_items("beta", 2, 1_700_000_030)))
    feed_server.add_feed(
        "/hostile.xml",
        make_rss(HOSTILE, [{"title": HOSTILE, "author": HOSTILE, "guid": "h", "pub_date": 1}]),
    )
    urls = [feed_server.url_for(path) for path in ("/alpha.xml", "/beta.xml", "/hostile.xml")]
    service = subscribed(tmp_path, *urls, tags={url: ["test"] for url in urls[:2]})
    yield service
    service.close()


def titles_on_screen(app: TermNewsApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())  # type: ignore[attr-defined]


async def searches_done(app: TermNewsApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until no search worker runs (a cancelled one counts as done)."""
    from textual.worker import WorkerState

    for _ in range(200):
        running = [w for w in app.workers if w.group == "search" and not w.is_finished]
        if not running:
            break
        await pilot.pause(0.05)
    await pilot.pause()
    assert not [w for w in app.workers if w.group == "search" and w.state is WorkerState.RUNNING]


async def open_first_post(app: TermNewsApp, pilot) -> ReaderScreen:  # type: ignore[no-untyped-def]
    await pilot.press("tab")
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, ReaderScreen)
    return app.screen


async def test_open_post_and_step_next_previous(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, FeedsScreen)
        articles = app.screen.query_one(ArticleList)
        assert len(articles.ids) == 6
        ids = list(articles.ids)
        reader = await open_first_post(app, pilot)
        assert reader.article.id == ids[0]
        assert ui_service.article(ids[0]).read  # opening marks read
        await pilot.press("n")
        assert reader.article.id == ids[1]
        await pilot.press("J")
        assert reader.article.id == ids[2]
        await pilot.press("p")
        assert reader.article.id == ids[1]
        await pilot.press("K")
        assert reader.article.id == ids[0]
        await pilot.press("p")  # first post: stays, says so
        assert reader.article.id == ids[0]
        await pilot.press("n", "n", "q")
        await pilot.pause()
        assert isinstance(app.screen, FeedsScreen)
        assert articles.cursor == 2  # the list follows the reader
        assert articles.current.read
        # The feed list is the bottom screen (no blank screen under it, laid out and drawn
        # at every start for nothing); q goes back a pane there, and then quits.
        assert app.screen_stack == [app.screen]
        await pilot.press("q", "q")
        await pilot.pause()
    assert app.return_code == 0


async def test_the_all_list_reads_its_first_rows_then_the_rest_after_the_frame(
    ui_service: NewsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import termnews.screens.feeds as feeds_screen
    import termnews.widgets.article_list as article_list

    monkeypatch.setattr(feeds_screen, "FIRST_ROWS", 4)
    monkeypatch.setattr(article_list, "PAGE", 2)  # rows are read two at a time
    seen: list[tuple[str, int, str]] = []
    show_ids, grow, rows = FeedsScreen._show_ids, ArticleList.grow, ui_service.articles

    def showing(screen: FeedsScreen, *args: object, **kwargs: object) -> None:
        show_ids(screen, *args, **kwargs)  # type: ignore[arg-type]
        articles = screen.article_list
        seen.append(("show", len(articles.ids), str(articles.border_subtitle)))

    def growing(articles: ArticleList, ids: object) -> bool:
        grown = grow(articles, ids)  # type: ignore[arg-type]
        seen.append(("grow", len(articles.ids), str(grown)))
        return grown

    def reading(ids: list[int]) -> object:
        seen.append(("rows", len(ids), ""))
        return rows(ids)

    monkeypatch.setattr(FeedsScreen, "_show_ids", showing)
    monkeypatch.setattr(ArticleList, "grow", growing)
    monkeypatch.setattr(ui_service, "articles", reading)
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # Four rows with no count (more are coming) drawn, then all six: the rows already
        # read are kept, the two new ones read with the page they are on.
        first = [("show", 4, ""), ("rows", 2, ""), ("rows", 2, "")]
        assert seen[:5] == [*first, ("grow", 6, "True"), ("rows", 2, "")]
        articles = app.screen.query_one(ArticleList)
        assert list(articles.ids) == list(ui_service.article_ids(ArticleQuery()))
        assert articles.border_subtitle == "6 articles"


async def test_next_unread_skips_read_posts(ui_service: NewsService) -> None:
    ids = ui_service.article_ids(ArticleQuery())
    ui_service.mark_read([ids[1], ids[2]])
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = await open_first_post(app, pilot)
        await pilot.press("N")
        assert reader.article.id == ids[3]
        await pilot.press("P")  # everything before is read now: stay put
        assert reader.article.id == ids[3]
        ui_service.mark_read([ids[1]], False)
        await pilot.press("P")
        assert reader.article.id == ids[1]


async def test_feed_selection_search_and_state_keys(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        beta = next(f for f in ui_service.feeds() if f.title == "Beta")
        screen.feed_list.select_key(f"feed:{beta.id}")
        await pilot.pause()
        assert len(screen.article_list.ids) == 2
        await pilot.press("slash")
        await pilot.press(*"alpha")
        await pilot.press("enter")
        await searches_done(app, pilot)
        assert len(screen.article_list.ids) == 3
        assert screen.article_list.has_focus
        first = screen.article_list.current_id
        await pilot.press("s")
        assert first in ui_service.article_ids(ArticleQuery(starred_only=True))
        await pilot.press("m")
        assert ui_service.article(first).read
        await pilot.press("A")
        assert not ui_service.article_ids(ArticleQuery(search="alpha", unread_only=True))


async def test_search_runs_in_a_worker_a_newer_search_wins_and_long_queries_are_capped(
    ui_service: NewsService,
) -> None:
    from textual.worker import WorkerState

    from termnews.screens.feeds import MAX_SEARCH

    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        screen._list_key = None
        screen._load_query(ArticleQuery(search="alpha"))
        first = next(w for w in app.workers if w.group == "search")
        screen._load_query(ArticleQuery(search="beta"))
        await searches_done(app, pilot)
        for _ in range(100):
            if first.state is not WorkerState.RUNNING:
                break
            await pilot.pause(0.05)
        assert first.is_cancelled and first._thread_worker  # type: ignore[attr-defined]
        rows = ui_service.articles(list(screen.article_list.ids))
        assert len(rows) == 2 and all("beta" in r.title for r in rows.values())
        assert screen.article_list.query_spec.search == "beta"
        # A 10 KB query is cut to MAX_SEARCH characters, and the user is told.
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#ask-input").value = "alpha " + "x" * 10_000  # type: ignore[attr-defined]
        await pilot.press("enter")
        await searches_done(app, pilot)
        search = screen.article_list.query_spec.search or ""
        assert search.startswith("alpha") and len(search) == MAX_SEARCH
        assert any(str(MAX_SEARCH) in str(n.message) for n in app._notifications)  # type: ignore[attr-defined]
        assert "Traceback" not in titles_on_screen(app)


async def test_add_and_remove_feed(ui_service: NewsService, feed_server: FeedServer) -> None:
    feed_server.add_feed("/gamma.xml", make_rss("Gamma", feed_items("gamma", 4, 1_800_000_000)))
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.press(*feed_server.url_for("/gamma.xml"))
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.1)
            if any(f.title == "Gamma" and f.total == 4 for f in ui_service.feeds()):
                break
        gamma = next(f for f in ui_service.feeds() if f.title == "Gamma")
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        screen.feed_list.select_key(f"feed:{gamma.id}")
        screen.feed_list.focus()
        await pilot.press("d")
        await pilot.press("y")
        await pilot.pause()
        assert all(f.title != "Gamma" for f in ui_service.feeds())


async def test_refresh_shows_a_failing_feed_without_a_traceback(
    ui_service: NewsService, feed_server: FeedServer
) -> None:
    feed_server.add_status("/alpha.xml", 500)
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        alpha = next(f for f in ui_service.feeds() if f.title == "Alpha")
        assert "500" in (alpha.error or "")
        screen_text = titles_on_screen(app)
        assert "! Alpha" in screen_text
        assert any("500" in str(n.message) for n in app._notifications)  # type: ignore[attr-defined]
        assert "Traceback" not in screen_text


async def test_welcome_screen_when_there_are_no_feeds(tmp_path: Path) -> None:
    paths = Paths(config_file=tmp_path / "c.toml", data_dir=tmp_path / "d")
    service = NewsService.open(paths, Settings(refresh_on_start=False))
    app = TermNewsApp(service, offer_sample_site=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert "You have no feeds yet" in titles_on_screen(app)
        await pilot.click("#demo")
        await pilot.pause()
    # The app leaves for the front door to open the sample site in a throwaway data dir:
    # the user's own data dir is never subscribed to a loopback port that dies on exit.
    assert app.wants_sample_site
    assert service.feeds() == []
    service.close()


async def test_welcome_screen_offers_no_sample_site_without_a_front_door(tmp_path: Path) -> None:
    paths = Paths(config_file=tmp_path / "c.toml", data_dir=tmp_path / "d")
    service = NewsService.open(paths, Settings(refresh_on_start=False))
    app = TermNewsApp(service)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert not app.screen.query("#demo")
    service.close()


async def test_remapped_keys_from_settings(ui_service: NewsService) -> None:
    ui_service.settings.keys = {"next_article": "x", "previous_article": "z"}
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 70)) as pilot:
        ids = list(app.screen.query_one(ArticleList).ids)
        reader = await open_first_post(app, pilot)
        await pilot.press("x")
        assert reader.article.id == ids[1]
        await pilot.press("n")  # the old key no longer steps
        assert reader.article.id == ids[1]
        await pilot.press("z")
        assert reader.article.id == ids[0]
        await pilot.press("question_mark")
        await pilot.pause()
        assert "next_article" in titles_on_screen(app)


async def test_hostile_titles_are_inert_in_list_reader_and_help(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        text = titles_on_screen(app)
        assert "Evil" in text
        for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
            assert bad not in text
        articles = app.screen.query_one(ArticleList)
        hostile = next(i for i in articles.ids if "Evil" in ui_service.article(i).title)
        articles.go_to_id(hostile)
        await pilot.press("tab", "enter")
        await pilot.pause()
        text = titles_on_screen(app)
        assert "Evil" in text
        for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
            assert bad not in text


async def test_narrow_terminal_shows_one_pane_at_a_time(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        assert screen.has_class("-narrow")
        assert not screen.article_list.display or not screen.article_list.region.width
        await pilot.press("enter")
        await pilot.pause()
        assert screen.article_list.has_focus and screen.article_list.region.width > 0
        await pilot.press("escape")
        assert screen.feed_list.has_focus


async def test_an_internal_error_shows_one_sentence_and_logs_details(
    ui_service: NewsService,
) -> None:
    app = TermNewsApp(ui_service)
    with pytest.raises(ZeroDivisionError):
        async with app.run_test(size=(80, 24)) as pilot:

            def broken() -> None:
                _ = 1 / 0

            app.call_later(broken)
            await pilot.pause()
    assert "internal error (ZeroDivisionError)" in app.crash_message
    assert "Traceback" not in app.crash_message
    log = ui_service.data_dir / "crash.log"
    assert "ZeroDivisionError" in log.read_text(encoding="utf-8")


async def test_hosted_members_cannot_change_the_shared_feed_list(ui_service: NewsService) -> None:
    ui_service.restricted = True
    before = [f.id for f in ui_service.feeds()]
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, FeedsScreen)  # no add dialog
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, FeedsScreen)  # no remove confirmation
    assert [f.id for f in ui_service.feeds()] == before


async def test_new_articles_land_without_moving_the_cursor(
    ui_service: NewsService, feed_server: FeedServer
) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        articles = app.screen.query_one(ArticleList)
        await pilot.press("tab", "j", "j")
        chosen = articles.current_id
        before = len(articles.ids)
        feed_server.set_feed(
            "/alpha.xml",
            make_rss(
                "Alpha", feed_items("alpha", 3, 1_700_000_000) + feed_items("new", 4, 1_900_000_000)
            ),
        )
        await pilot.press("R")
        await app.workers.wait_for_complete()
        for _ in range(30):
            await pilot.pause(0.1)
            if len(articles.ids) > before:
                break
        assert len(articles.ids) == before + 4
        assert articles.current_id == chosen  # the same post is still under the cursor


async def test_theme_choice_is_remembered(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "nord"
        await pilot.pause()
    assert ui_service.get_preference("theme") == "nord"
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"


async def test_command_palette_jumps_to_a_feed(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Feed: Beta")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        beta = next(f for f in ui_service.feeds() if f.title == "Beta")
        assert screen.article_list.query_spec == ArticleQuery(feed_id=beta.id)


async def test_keys_typed_ahead_reach_the_pane_they_were_meant_for(
    ui_service: NewsService,
) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        # Both keys queued before either is handled, as over a slow SSH link.
        app.post_message(events.Key("tab", "\t"))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReaderScreen)


async def test_command_palette_opens_a_post_by_its_title(ui_service: NewsService) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"beta post 1")
        for _ in range(20):
            await pilot.pause(0.1)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReaderScreen)
        assert app.screen.article.title == "beta post 1"


async def test_articles_stored_by_another_process_appear(
    ui_service: NewsService, feed_server: FeedServer
) -> None:
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        articles = app.screen.query_one(ArticleList)
        before = len(articles.ids)
        feed_server.set_feed(
            "/beta.xml",
            make_rss(
                "Beta", feed_items("beta", 2, 1_700_000_030) + feed_items("x", 3, 1_800_000_000)
            ),
        )
        other = ui_service.clone()  # another termnews process (a cron refresh, the host)
        await other.refresh()
        other.close()
        app._check_external_changes()  # what the app's timer does every few seconds
        await pilot.pause()
        assert len(articles.ids) == before + 3


async def test_hosted_sessions_do_not_refetch_feeds(
    ui_service: NewsService, feed_server: FeedServer
) -> None:
    ui_service.restricted = True
    hits = len(feed_server.requests)
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("R")
        await pilot.pause(0.3)
        assert "fetches feeds for everyone" in str(app.screen.query_one("#status").render())
    assert len(feed_server.requests) == hits  # the host's scheduler fetches, not sessions


async def test_hosted_sessions_start_on_the_lists_they_were_drawn_with(
    ui_service: NewsService, feed_server: FeedServer
) -> None:
    """Also as sshd's forced command (no TERMNEWS_NO_AUTO_REFRESH): no refetch at start,
    and no second reading of the lists just drawn."""
    ui_service.restricted = True
    ui_service.settings.refresh_on_start = True
    hits = len(feed_server.requests)
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        reloads: list[str] = []
        screen.refresh_lists = lambda: reloads.append("lists")  # type: ignore[method-assign]
        await pilot.pause(0.3)
        assert reloads == []
        assert "fetches feeds" not in str(screen.query_one("#status").render())
    assert len(feed_server.requests) == hits


async def test_hostile_comments_render_inert(ui_service: NewsService) -> None:
    from termnews.model import Comment
    from termnews.screens.comments import CommentsScreen

    article_id = ui_service.article_ids(ArticleQuery())[0]
    hostile = [
        Comment("feed", "1", None, HOSTILE, None, 1.0, f"<p>{HOSTILE}</p><b><i>unclosed"),
        Comment("feed", "2", "1", "Big", None, 2.0, "<p>" + "word " * 200_000 + "</p>"),
        *[
            Comment("feed", str(n), str(n - 1), f"Deep {n}", None, float(n), "<p>x</p>")
            for n in range(3, 400)
        ],
    ]
    ui_service.store.replace_comments(article_id, "feed", hostile)
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.query_one(ArticleList).go_to_id(article_id)
        await pilot.press("tab", "enter", "c")
        for _ in range(50):
            await pilot.pause(0.1)
            if isinstance(app.screen, CommentsScreen) and len(app.screen.comments) == 399:
                break
        assert isinstance(app.screen, CommentsScreen)
        assert len(app.screen.comments) == 399
        text = titles_on_screen(app)
        assert "Evil" in text
        for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
            assert bad not in text


async def test_links_are_copied_with_osc52_over_ssh(
    ui_service: NewsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = await open_first_post(app, pilot)
        await pilot.press("y")
        assert app.clipboard == reader.article.link
        await pilot.press("1")  # link [1] of the post: copied, since there is no browser here
        assert app.clipboard == reader.document.links[0].url
        assert any("OSC 52" in str(n.message) for n in app._notifications)  # type: ignore[attr-defined]


async def test_a_hang_up_leaves_at_once_and_keeps_only_a_daemon_fallback(
    ui_service: NewsService,
) -> None:
    """SIGHUP/SIGTERM: the app's leave-anyway timer (in case the clean exit cannot finish)
    is a daemon thread, which the interpreter does not wait for: it used to hold every
    hang-up's exit for its whole 2 s (on a host, until the SIGKILL a second later)."""
    import signal

    app = TermNewsApp(ui_service)
    async with app.run_test(size=(120, 40)) as pilot:
        app._hang_up(signal.SIGTERM)
        timer = app._leave_anyway
        try:
            assert timer.daemon and timer.is_alive()
            await pilot.pause()
        finally:
            timer.cancel()  # this process is pytest's: it must not be made to exit
