"""TermNewsApp: the Textual application. It talks to the core only through NewsService."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from termnews.config import KEYMAPS, default_config_file
from termnews.messages import RefreshDone, RefreshProgress, failure_summary
from termnews.model import ArticleDetail, Comment
from termnews.palette import FeedsAndPosts
from termnews.remote import has_display, over_ssh, start_browser
from termnews.sanitize import clean_line
from termnews.service import FeedRefresh, NewsService, RefreshOutcome
from termnews.terminal.hook import DiffOutputApp, terminal_theme
from termnews.widgets.article_list import ArticleList
from termnews.widgets.article_view import ArticleView
from termnews.widgets.feed_list import FeedList
from termnews.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from termnews.screens.feeds import FeedsScreen

INFO_TIMEOUT = 15.0
LIST_UPDATE_SECONDS = 1.0
EXTERNAL_CHECK_SECONDS = 10.0
OUTBOX_RETRY_SECONDS = 60.0


def stylesheet_path() -> Path:
    """termnews.tcss: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "termnews.tcss", here.parent.parent / "termnews.tcss"):
        if candidate.exists():
            return candidate
    return here / "termnews.tcss"


# What a restricted (served) session may not do: each writes files or runs something.
_READER_OUT = ("play_attachment", "download_attachment", "save_post", "pipe_post")
RESTRICTED_ACTIONS = frozenset(
    ("screenshot", "suspend_process", "simulate_key", "open_url", *_READER_OUT)
)
RESTRICTED_COMMANDS = frozenset({"Screenshot", "Save screenshot", "Suspend"})


class TermNewsApp(DiffOutputApp[int]):
    TITLE = "termnews"
    CSS_PATH = str(stylesheet_path())
    COMMANDS = App.COMMANDS | {FeedsAndPosts}
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="command_palette"),
        # priority: quits from anywhere, the compose modal's text area included.
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit"),
        # Not priority: a Q typed into a search box or a comment stays text.
        Binding("Q", "quit", "Quit at once", show=False, id="hard_quit"),
    ]

    def __init__(self, service: NewsService, *, offer_sample_site: bool = False) -> None:
        super().__init__(ansi_color=True if service.settings.ansi_colors else None)
        self.diff_output = service.settings.diff_output
        self.service = service
        # A served session (or `--as`): nothing may touch the filesystem or run a program.
        self.restricted = service.restricted or bool(os.environ.get("TERMNEWS_SERVED"))
        # The sample site is offered only where a front door can open it (see `run_app`).
        self.offer_sample_site = offer_sample_site and not self.restricted
        self.wants_sample_site = False
        self._refresher: NewsService | None = None
        self._refresh_lock, self._refreshing, self._leaving = threading.Lock(), False, False
        self.ssh = over_ssh()
        self.crash_message = ""
        self._lists_timer: Timer | None = None
        self._data_version = 0

    # -- start-up ---------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        """With feeds, the feed list is the bottom screen: no blank one under it, laid out
        and drawn at every start for nothing."""
        from termnews.screens.feeds import FeedsScreen

        return FeedsScreen() if self.service.has_feeds() else super().get_default_screen()

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._hang_up, signum)
        self.service.on_problem = lambda message: self.tell(message, error=True)
        settings = self.service.settings
        keymap = {**KEYMAPS.get(settings.keymap, {}), **settings.keys}
        if keymap:
            self.set_keymap(keymap)
        for problem in self.keymap_problems(keymap):
            self.tell(f"Settings: {problem}", error=True)
        theme = self.service.get_preference("theme") or settings.theme
        theme = terminal_theme(self, theme, ansi=settings.ansi_colors)
        if theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        from termnews.screens.feeds import FeedsScreen

        if isinstance(self.screen, FeedsScreen):  # feeds to show (get_default_screen)
            if self._auto_refresh_enabled():
                # Once the feed list is on screen: the refresh's imports (httpx), threads
                # and parse workers would otherwise hold up the first frame.
                self.call_after_refresh(self.start_refresh, None, due_only=True)
        else:
            from termnews.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen())
        drafts = self.service.drafts_waiting()
        if drafts:
            self.tell(
                f"You have {drafts} unsent comment draft{'s' if drafts > 1 else ''}: "
                "press D to see them."
            )
        if self.service.pending_index():
            self._index_worker()
        self._data_version = self.service.data_version()
        self.set_interval(EXTERNAL_CHECK_SECONDS, self._check_external_changes)
        minutes = settings.refresh_interval
        if self.service.restricted:
            # Comments that failed to reach a site go out again from the session itself.
            self.set_interval(OUTBOX_RETRY_SECONDS, self._retry_outbox)
        elif minutes and self._auto_refresh_enabled():
            self.set_interval(minutes * 60, self._interval_refresh)

    def keymap_problems(self, keymap: dict[str, str]) -> list[str]:
        """What is wrong with `[keys]` (and the settings file itself), in the user's words."""
        problems: list[str] = []
        path = self.service.settings.path
        if path is not None and not path.exists() and path != default_config_file():
            problems.append(f"{path} does not exist; using the default settings")
        if not keymap and not self.service.settings.keys:
            # Nothing remapped: skip importing every screen (the comments stack with them)
            # before the first frame; the defaults' own clashes are a test's business.
            return problems
        places = binding_places()
        known = {b.id for _where, bindings in places for b in bindings if b.id}
        for binding_id in self.service.settings.keys:
            if binding_id not in known:
                problems.append(f"[keys] {binding_id}: no such binding id (? lists them)")
        for where, bindings in places:
            owner: dict[str, str] = {}
            for binding in bindings:
                if not binding.id:
                    continue
                for key in keymap.get(binding.id, binding.key).split(","):
                    key = key.strip()
                    other = owner.setdefault(key, binding.id)
                    if other != binding.id:
                        problems.append(
                            f"[keys] {key} is bound to both {other} and {binding.id} "
                            f"in the {where}; only one of them can work"
                        )
        return problems

    def _auto_refresh_enabled(self) -> bool:
        if os.environ.get("TERMNEWS_NO_AUTO_REFRESH") or self.service.restricted:
            return False  # a hosted session (or sshd's forced command): the host fetches
        return self.service.settings.refresh_on_start

    def _remember_theme(self, theme: Any) -> None:
        self.service.set_preference("theme", theme.name)

    def show_feeds(self, *, refresh: bool = False) -> None:
        from termnews.screens.feeds import FeedsScreen

        while len(self.screen_stack) > 1:  # the welcome screen goes: the feed list comes
            self.pop_screen()
        self.push_screen(FeedsScreen())
        if refresh:
            self.start_refresh(None, due_only=True)

    def _check_external_changes(self) -> None:
        """Show what other processes stored (on a shared host the server refreshes)."""
        version = self.service.data_version()
        if version != self._data_version:
            self._data_version = version
            self._refresh_lists()

    @work(exclusive=True, group="outbox", exit_on_error=False)
    async def _retry_outbox(self) -> None:
        for result in await self.service.comments.retry_outbox():
            self.tell(result.message, error=result.outcome.value == "failed")

    def _interval_refresh(self) -> None:
        self.start_refresh(None, due_only=True)

    def open_sample_site(self) -> None:
        """Leave, asking the front door to open the sample site in a throwaway data dir."""
        self.wants_sample_site = True
        self.exit(0)

    def on_unmount(self) -> None:
        # The last of this and the refresh thread closes its connection: SQLite crashes
        # the process if it is closed under a statement (the search index build).
        with self._refresh_lock:
            self._leaving = True
            if self._refresher is not None and not self._refreshing:
                self._refresher.close()

    # -- refresh (a thread with its own database connection) ----------------------------

    def start_refresh(self, feed_ids: list[int] | None, *, due_only: bool = False) -> None:
        if not self.service.has_feeds():
            return
        if self.service.restricted:
            # On a shared host the server fetches for everyone on a schedule; sessions
            # never refetch on their own, they show what the shared cache has.
            self._refresh_lists()
            self.say_status(
                "This host fetches feeds for everyone on a schedule: showing the latest."
            )
            return
        self.say_status("Refreshing …")
        self._refresh_worker(feed_ids, due_only)

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _refresh_worker(self, feed_ids: list[int] | None, due_only: bool) -> None:
        with self._refresh_lock:
            self._refreshing = not self._leaving
            if not self._refreshing:
                return
            refresher = self._refresher = self._refresher or self.service.clone()

        def progress(result: FeedRefresh, done: int, total: int) -> None:
            self.post_message(RefreshProgress(result, done, total))

        try:
            report = asyncio.run(refresher.refresh(feed_ids, due_only=due_only, progress=progress))
            self.post_message(RefreshDone(report))
            refresher.index_search()  # new posts become searchable in the background
        finally:
            with self._refresh_lock:
                self._refreshing = False
                if self._leaving:  # the app unmounted meanwhile
                    refresher.close()

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def _index_worker(self) -> None:
        """Articles stored by `termnews refresh` (or an upgrade) become searchable now."""
        indexer = self.service.clone()
        try:
            indexer.index_search()
        finally:
            indexer.close()

    def on_refresh_progress(self, message: RefreshProgress) -> None:
        result = message.result
        self.say_status(f"Refreshing {message.done}/{message.total}: {result.title}")
        if result.outcome is RefreshOutcome.NEW and result.new and self._lists_timer is None:
            # New articles show within a second, but the lists are rebuilt at most once a
            # second however many feeds land: a refresh of 150 feeds must not rebuild 150 times.
            self._lists_timer = self.set_timer(LIST_UPDATE_SECONDS, self._flush_lists)

    def _flush_lists(self) -> None:
        self._lists_timer = None
        self._refresh_lists()

    def on_refresh_done(self, message: RefreshDone) -> None:
        report = message.report
        failed = report.failed
        for delivery in report.deliveries:  # outbox comments that went out with this refresh
            if delivery.delivered:
                self.tell(delivery.line)
        if not report.results:
            self.say_status("Feeds are up to date.")
            return
        summary = report.summary()
        if failed:
            summary += " (marked ! in the feed list)"
            self.tell(failure_summary(failed), error=True)
        self.say_status(summary)
        if self._lists_timer is not None:
            self._lists_timer.stop()
            self._lists_timer = None
        self._refresh_lists()

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.tell(f"Something went wrong: {type(error).__name__}: {error}", error=True)
            self.say_status("")

    def _feeds_screen(self) -> FeedsScreen | None:
        from termnews.screens.feeds import FeedsScreen

        for screen in self.screen_stack:
            if isinstance(screen, FeedsScreen):
                return screen
        return None

    def _refresh_lists(self) -> None:
        screen = self._feeds_screen()
        if screen is not None:
            screen.refresh_lists()

    def say_status(self, message: str) -> None:
        """On the status line of the list screen (under the reader while one is open)."""
        screen = self._feeds_screen()
        if screen is not None and screen.is_mounted:
            for line in screen.query(StatusLine):
                line.say(message)

    # -- jumps from the command palette ---------------------------------------------------

    def _show_list(self, key: str) -> FeedsScreen | None:
        """Back to the feed list screen, showing the list `key` ("all", "feed:3", ...)."""
        screen = self._feeds_screen()
        if screen is None:
            return None
        while self.screen is not screen:
            self.pop_screen()
        screen.feed_list.select_key(key)
        screen.load_list(key)
        return screen

    def jump_to_feed(self, feed_id: int) -> None:
        screen = self._show_list(f"feed:{feed_id}")
        if screen is not None:
            screen.feed_list.focus()

    def jump_to_article(self, article_id: int) -> None:
        screen = self._show_list("all")
        if screen is not None:
            screen.article_list.go_to_id(article_id)
            screen.article_list.action_select()

    # -- comments ---------------------------------------------------------------------

    def open_compose(self, article: ArticleDetail, reply_to: Comment | None) -> None:
        """Find out where a comment can go (the post's page may say), then open the modal."""
        self._compose_worker(article, reply_to)

    @work(exclusive=True, group="compose", exit_on_error=False)
    async def _compose_worker(self, article: ArticleDetail, reply_to: Comment | None) -> None:
        from termnews.comments import CommentInfo
        from termnews.screens.compose import ComposeResultInfo, ComposeScreen

        comments = self.service.comments
        try:
            info = await asyncio.wait_for(comments.info(article), INFO_TIMEOUT)
        except Exception as exc:  # offline or a hostile site: the board still works
            info = CommentInfo(
                can_read=False,
                targets=[comments.board_target()] if comments.shared_host() else [],
                page_url=article.comments.page_url or article.link,
                reason=f"could not reach the post's site ({type(exc).__name__}); "
                "only the board is offered",
            )

        def closed(outcome: ComposeResultInfo | None) -> None:
            if outcome is None or outcome.result is None:
                return
            result = outcome.result
            self.tell(result.message, error=result.outcome.value == "failed")
            for screen in self.screen_stack:
                if hasattr(screen, "sent"):  # the comments pane under the modal
                    screen.sent(result.comment)

        if reply_to is not None and reply_to.source == "board":
            # A reply to a board comment can only go to the board: the site never saw it.
            info.targets = [t for t in info.targets if t.kind == "board"]
        if not info.targets:  # nowhere to send from here: say why, and where to go instead
            page = f" The comment page: {info.page_url}" if info.page_url else ""
            self.tell(clean_line(info.reason or "No comment can be sent here.", 200) + page)
            return
        self.push_screen(ComposeScreen(article, info, reply_to=reply_to), closed)

    def save_open_drafts(self) -> None:
        """Write any comment being composed (quit, hang-up, termination)."""
        from termnews.screens.compose import ComposeScreen

        for screen in self.screen_stack:
            if isinstance(screen, ComposeScreen):
                try:
                    screen.save_draft()
                except Exception:  # saving must never block shutting down
                    continue

    def _hang_up(self, signum: int) -> None:
        """SIGHUP (the SSH connection dropped) or SIGTERM: keep drafts, then leave."""
        self.save_open_drafts()
        # The terminal may be gone: if a clean exit cannot finish, leave anyway (a daemon
        # thread: a clean exit does not wait for it, as it did for 2 s on every hang-up).
        self._leave_anyway = threading.Timer(2.0, os._exit, args=(128 + signum,))
        self._leave_anyway.daemon = True
        self._leave_anyway.start()
        self.exit(128 + signum)

    async def action_quit(self) -> None:
        self.save_open_drafts()
        self.exit(0)

    # -- links --------------------------------------------------------------------------

    def open_link(self, url: str) -> None:
        """Open in a browser where one can show; otherwise copy with OSC 52 and say so."""
        safe = clean_line(url, 2000)
        browser = self.service.settings.browser
        if self.restricted or self.ssh or (not has_display() and not browser):
            self.copy_url(safe)
            return
        try:
            start_browser(safe, browser)
        except OSError as exc:
            self.copy_url(safe)
            self.tell(f"Could not start a browser ({exc}); copied the link instead.")
            return
        self.tell(f"Opened {safe}")

    def copy_url(self, url: str) -> None:
        safe = clean_line(url, 2000)
        self.copy_to_clipboard(safe)
        self.tell(f"Copied to the clipboard (OSC 52): {safe}")

    # -- messages to the user ----------------------------------------------------------

    def tell(self, message: str, *, error: bool = False) -> None:
        """A notification; text from outside is cleaned and never read as markup."""
        self.notify(
            clean_line(message, 500),
            severity="error" if error else "information",
            timeout=8 if error else 4,
            markup=False,
        )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Textual's notify, but plain text unless a caller asks for markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- actions: only the app's own ---------------------------------------------------

    async def _broker_event(
        self, event_name: str, event: events.Event, default_namespace: DOMNode
    ) -> bool:
        """Refuse actions carried in text (`[@click=...]` markup in a style's meta).

        termnews writes no such markup itself, so any that reaches a click came from outside
        (a feed title, a comment, a member name): it never runs.
        """
        style = getattr(event, "style", None)
        meta = getattr(style, "meta", None)
        if meta and any(str(key).startswith("@") for key in meta):
            event.stop()
            self.log.warning(f"refused an action carried in text: {meta!r}")
            return True
        return await super()._broker_event(event_name, event, default_namespace)

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """In restricted mode, actions that write files or run programs are refused."""
        if self.restricted:
            name = action[1] if isinstance(action, tuple) else action.rpartition(".")[2]
            if name.split("(", 1)[0].strip() in RESTRICTED_ACTIONS:
                self.tell("Not available on this host.")
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        if self.restricted:
            self.tell("Not available on this host.")
            return
        super().action_screenshot(filename, path)

    def action_suspend_process(self) -> None:
        if self.restricted:
            return
        super().action_suspend_process()

    # -- crashes -----------------------------------------------------------------------

    def _fatal_error(self) -> None:
        """An unexpected error: keep drafts, log the details, show one plain sentence."""
        if os.environ.get("TERMNEWS_DEBUG"):
            super()._fatal_error()
            return
        import traceback

        error = sys.exc_info()[1]
        self.save_open_drafts()
        details = traceback.format_exc()
        log = (self.service.data_dir or Path.cwd()) / "crash.log"
        try:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n{details}\n")
            where = f"Details were written to {log}."
        except OSError:
            where = "Set TERMNEWS_DEBUG=1 to see the details."
        name = type(error).__name__ if error else "error"
        self.crash_message = (
            f"termnews stopped after an internal error ({name}). Your drafts are saved. "
            f"{where} Please report it."
        )
        self._exit_renderables.append(Text(self.crash_message))
        self._close_messages_no_wait()

    # -- help and the command palette --------------------------------------------------

    def action_help(self) -> None:
        from termnews.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        hidden = RESTRICTED_ACTIONS if self.restricted else frozenset()
        self.push_screen(HelpScreen(binding_places(), dict(self._keymap), hidden))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if self.restricted and command.title in RESTRICTED_COMMANDS:
                continue  # a screenshot writes a file on the host
            yield command
        yield SystemCommand("Help: keys", "Show every key binding", self.action_help)
        yield SystemCommand(
            "Refresh all feeds", "Fetch every feed now", partial(self.start_refresh, None)
        )
        screen_actions = [
            ("Add a feed", "Subscribe to a feed or a site", "add_feed"),
            ("Search", "Search titles and text", "search"),
            ("Mark all read", "Mark the current list read", "mark_all_read"),
        ]
        feeds = self._feeds_screen()
        if feeds is not None:
            for title, help_text, action in screen_actions:
                yield SystemCommand(title, help_text, getattr(feeds, f"action_{action}"))
        for title, help_text, action in getattr(screen, "PALETTE", ()):
            if not (self.restricted and action.split("(")[0] in RESTRICTED_ACTIONS):
                yield SystemCommand(title, help_text, partial(screen.run_action, action))


def _bindings(items: Iterable[Any]) -> list[Binding]:
    return [b for b in items if isinstance(b, Binding)]


def binding_places() -> list[tuple[str, list[Binding]]]:
    """Every place keys are bound, with its bindings: the help table, the README's key
    table and the `[keys]` checks all read this."""
    from termnews.screens import comments, compose, feeds, outbox, reader, replies

    return [
        ("anywhere", _bindings(TermNewsApp.BINDINGS)),
        ("lists", _bindings(feeds.FeedsScreen.BINDINGS)),
        ("article list", _bindings(ArticleList.BINDINGS)),
        ("feed list", _bindings(FeedList.BINDINGS)),
        ("reader", _bindings(reader.ReaderScreen.BINDINGS)),
        ("reader text", _bindings(ArticleView.BINDINGS)),
        ("comments", _bindings(comments.CommentsScreen.BINDINGS)),
        ("compose", _bindings(compose.ComposeScreen.BINDINGS)),
        ("unsent comments", _bindings(outbox.OutboxScreen.BINDINGS)),
        ("replies", _bindings(replies.RepliesScreen.BINDINGS)),
    ]


def run_app(service: NewsService, *, open_sample_site: Callable[[], int] | None = None) -> int:
    """Run the reader. `open_sample_site` is the front door's way to open the sample site
    (in a throwaway data dir, as `termnews demo` does) when the welcome screen asks for it:
    the app itself never starts a server or subscribes to one."""
    app = TermNewsApp(service, offer_sample_site=open_sample_site is not None)
    # Over SSH, mouse modes only if the settings file asks for them.
    asked = "general.mouse" in service.settings.written
    mouse = service.settings.mouse and not (over_ssh() and not asked)
    result = app.run(mouse=mouse)
    if app.wants_sample_site and open_sample_site is not None:
        return open_sample_site()
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code or 1)
