"""The feed list screen: feeds (with All / Unread / Starred) beside or before their articles."""

from __future__ import annotations

import time
from array import array
from functools import partial
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import OptionList
from textual.worker import Worker, get_current_worker

from termnews.model import ArticleQuery
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess
from termnews.screens.dialogs import AskScreen, ConfirmScreen
from termnews.service import HOSTED_FEEDS, SearchCancelled, ServiceError
from termnews.widgets.article_list import ArticleList
from termnews.widgets.feed_list import REPLIES, FeedList
from termnews.widgets.inert import inert
from termnews.widgets.key_bar import KeyBar
from termnews.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from termnews.screens.reader import ReaderScreen

NARROW = 100  # below this width the article list replaces the feed list
MAX_SEARCH = 200  # characters; a 10 KB query took 23 s of SQLite time
FIRST_ROWS = 200  # rows of the All list read before the first frame (all of it: ~100 ms at 100k)


class FeedsScreen(TermNewsAccess, Screen[None]):
    BINDINGS = [
        Binding("q", "back", "Back/Quit", id="back"),
        Binding("escape", "back_only", "Back", show=False, id="escape_back"),
        Binding("tab", "switch_pane", "Switch pane", show=False, id="switch_pane"),
        Binding("a", "add_feed", "Add", id="add_feed"),
        Binding("d,delete", "remove_feed", "Remove", id="remove_feed"),
        Binding("r", "refresh_feed", "Refresh", id="refresh_feed"),
        Binding("R", "refresh_all", "Refresh all", id="refresh_all"),
        Binding("slash", "search", "Search", id="search"),
        Binding("s", "star", "Star", show=False, id="star"),
        Binding("m", "toggle_read", "Read/unread", show=False, id="toggle_read"),
        Binding("A", "mark_all_read", "All read", show=False, id="mark_all_read"),
        Binding("o", "open_post", "Open in browser", show=False, id="open_post"),
        Binding("D", "unsent", "Unsent comments", show=False, id="unsent_comments"),
        Binding("I", "replies", "Replies to you", show=False, id="replies"),
    ]
    PALETTE = [("Replies to you", "Replies to your comments, from every source", "replies")]

    def __init__(self) -> None:
        super().__init__()
        self.narrow = False
        self._list_key: str | None = "all"

    @property
    def feed_list(self) -> FeedList:
        return self.query_one(FeedList)

    @property
    def article_list(self) -> ArticleList:
        return self.query_one(ArticleList)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield FeedList(id="feed-list")
            yield ArticleList(self.tn_app.service, id="article-list")
        yield StatusLine(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.feed_list.border_title = "Feeds"
        self.reload_feeds()
        self.load_list("all", first_rows=FIRST_ROWS)
        self.feed_list.focus()
        self._set_narrow(self.size.width < NARROW)

    # -- layout ---------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._set_narrow(event.size.width < NARROW)

    def _set_narrow(self, narrow: bool) -> None:
        self.narrow = narrow
        self.set_class(narrow, "-narrow")
        if narrow and not self.has_class("-show-articles") and self.article_list.has_focus:
            self.add_class("-show-articles")

    def _show_articles(self) -> None:
        if self.narrow:
            self.add_class("-show-articles")
        # At once, not on the next idle: a key typed ahead (Tab then Enter over a slow
        # link arrive together) must reach the pane that is now shown.
        self.set_focus(self.article_list)

    def _show_feeds(self) -> None:
        self.remove_class("-show-articles")
        self.set_focus(self.feed_list)

    # -- data -------------------------------------------------------------------------

    def reload_feeds(self) -> None:
        service = self.tn_app.service
        self.feed_list.show_feeds(
            service.feeds(),
            service.unread_total(),
            service.starred_total(),
            searches=service.saved_searches(),
            replies=service.unread_replies() if service.replies_posted() else None,
        )

    def load_list(
        self, key: str | None, *, keep_position: bool = False, first_rows: int = 0
    ) -> None:
        """Show list `key`; with `first_rows`, only that many rows before the next frame
        and the rest right after it (the first frame on a big cache)."""
        self._list_key = key
        query = self.feed_list.saved_query(key) or FeedList.query_for(key)
        if first_rows and not query.search:
            first = array("q", self.tn_app.service.first_article_ids(query, first_rows))
            more = len(first) == first_rows
            self._show_ids(query, first, keep_position=keep_position, more=more)
            if more:
                self.call_after_refresh(self._rest_of, key, query)
            return
        self._load_query(query, keep_position=keep_position)

    def _load_query(self, query: ArticleQuery, *, keep_position: bool = False) -> None:
        if query.search:
            # A search can take a while on a big database: never on the event loop.
            self.article_list.empty_text = "Searching …"
            self.article_list.border_title = inert(query.label, 60)
            self.tn_app.service.cancel_search()  # the one still running stops now
            self._search_worker(query, keep_position)
            return
        self._show_ids(query, self.tn_app.service.article_ids(query), keep_position)

    def _rest_of(self, key: str | None, query: ArticleQuery) -> None:
        """The whole list after its first rows, unless another list is shown by now."""
        if self._list_key == key and self.article_list.query_spec == query:
            ids = self.tn_app.service.article_ids(query)
            if self.article_list.grow(ids):
                self.article_list.border_subtitle = _count(len(ids))
            else:  # changed meanwhile (a refresh stored new posts)
                self._show_ids(query, ids, keep_position=True)

    def _show_ids(
        self, query: ArticleQuery, ids: array[int], keep_position: bool, *, more: bool = False
    ) -> None:
        articles = self.article_list
        articles.empty_text = (
            "Nothing unread."
            if query.unread_only
            else "No matches."
            if query.search
            else "No articles here yet: press r to refresh."
        )
        articles.show(query, ids, keep_position=keep_position)
        title = query.label
        if query.feed_id is not None:
            feed = self.tn_app.service.feed(query.feed_id)
            title = feed.display_title if feed else title
        articles.border_title = inert(title, 60)
        articles.border_subtitle = "" if more else _count(len(articles.ids))

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search_worker(self, query: ArticleQuery, keep_position: bool) -> None:
        """Run a search off the event loop. A newer search cancels this worker (exclusive)
        and stops its SQLite statement (`cancel_search`); a cancelled search never replaces
        what the newer one shows."""
        worker = get_current_worker()
        try:
            ids = self.tn_app.service.search_ids(query)
        except SearchCancelled:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._search_done, worker, query, ids, keep_position)

    def _search_done(
        self, worker: Worker[None], query: ArticleQuery, ids: array[int], keep_position: bool
    ) -> None:
        picked = self._list_key is not None and self.feed_list.saved_query(self._list_key) != query
        if worker.is_cancelled or picked:
            return  # superseded by a newer search, or the user picked another list
        self._show_ids(query, ids, keep_position)

    def refresh_lists(self) -> None:
        """New articles landed: update counts and lists without moving the cursor."""
        self.reload_feeds()
        self._load_query(self.article_list.query_spec, keep_position=True)

    @on(OptionList.OptionHighlighted, "#feed-list")
    def feed_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Only the user's own moves switch lists; rebuilding the feed list (new counts
        # after a refresh) re-highlights too, and must not replace a search result.
        if not self.feed_list.has_focus:
            return
        key = FeedList.canonical(event.option.id)
        if key == REPLIES:
            self.status.say("Enter lists the replies to your comments.")
            return
        if key and key != self._list_key:
            self.load_list(key)
        self._say_feed_state()

    @on(OptionList.OptionSelected, "#feed-list")
    def feed_selected(self, event: OptionList.OptionSelected) -> None:
        key = FeedList.canonical(event.option.id)
        if key == REPLIES:
            self.action_replies()
            return
        if key != self._list_key:
            self.load_list(key)
        self._show_articles()

    @on(ArticleList.Selected)
    def article_selected(self, event: ArticleList.Selected) -> None:
        from termnews.screens.reader import ReaderScreen

        reader = ReaderScreen(self.article_list.position)
        self.app.push_screen(reader, partial(self._reader_closed, reader))

    def _reader_closed(self, reader: ReaderScreen, index: int | None) -> None:
        if reader.moved_to is not None:  # N went on to another feed: the list follows
            self.feed_list.select_key(reader.moved_to)
            self.load_list(reader.moved_to)
        self.article_list.invalidate()
        self.article_list.go_to(index or 0)
        self.reload_feeds()

    # -- actions -----------------------------------------------------------------------

    def action_back(self) -> None:
        if self.article_list.has_focus:
            self._show_feeds()
        else:
            self.app.exit(0)

    def action_back_only(self) -> None:
        """Escape goes back a pane, and never quits (q does, at the top)."""
        if self.article_list.has_focus:
            self._show_feeds()

    def action_open_post(self) -> None:
        """The highlighted post in a browser (copied with OSC 52 over SSH)."""
        article = self.article_list.current
        if article is None:
            self.tn_app.tell("Highlight a post first.")
        elif article.link:
            self.tn_app.open_link(article.link)
        else:
            self.tn_app.tell("This post has no address of its own.")

    def _say_feed_state(self) -> None:
        """A failing feed says why, and when it is tried again."""
        feed = self.feed_list.current_feed
        if feed is None or not feed.error:
            return
        when = ""
        if feed.next_fetch:
            stamp = time.strftime("%H:%M", time.localtime(feed.next_fetch))
            when = f"; next try at {stamp}" if feed.next_fetch > time.time() else "; r retries now"
        tries = f" ({feed.failures} failures in a row)" if feed.failures > 1 else ""
        self.status.say(f"{feed.display_title}: {feed.error}{tries}{when}")

    def action_switch_pane(self) -> None:
        if self.article_list.has_focus:
            self._show_feeds()
        else:
            self._show_articles()

    def _hosted(self) -> bool:
        """On a shared host the operator chooses the feeds: they are the same for everyone."""
        if self.tn_app.service.restricted:
            self.tn_app.tell(HOSTED_FEEDS)  # said before any dialog opens
            return True
        return False

    def action_add_feed(self) -> None:
        if self._hosted():
            return

        def got(url: str | None) -> None:
            if url:
                self.add_feed(url)

        self.app.push_screen(
            AskScreen(
                "Add a feed",
                placeholder="https://example.org/  or  https://example.org/feed/",
                hint="A site's address works too: its feed is found from the page.",
            ),
            got,
        )

    @work(exclusive=True, group="add-feed", exit_on_error=False)
    async def add_feed(self, url: str) -> None:
        self.status.say(f"Adding {url} …")
        try:
            feed = await self.tn_app.service.add_feed(url)
        except ServiceError as exc:
            self.tn_app.tell(f"Could not add {url}: {exc}", error=True)
            self.status.say("")
            return
        self.reload_feeds()
        self.feed_list.select_key(f"feed:{feed.id}")
        self.tn_app.start_refresh([feed.id])

    def action_remove_feed(self) -> None:
        if self._hosted():
            return
        feed = self.feed_list.current_feed
        if feed is None:
            self.tn_app.tell("Highlight a feed in the feed list to remove it.")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.tn_app.service.remove_feed(feed.id)
                self.tn_app.tell(f"Removed {feed.display_title}")
                self.reload_feeds()
                self.load_list(self.feed_list.highlighted_key)

        self.app.push_screen(
            ConfirmScreen(
                f"Remove {clean_line(feed.display_title, 60)}?",
                f"{feed.total} articles and their read state will be deleted.",
            ),
            answered,
        )

    def action_refresh_feed(self) -> None:
        feed = self.feed_list.current_feed
        if feed is None:
            article = self.article_list.current
            ids = [article.feed_id] if article and self.article_list.has_focus else None
        else:
            ids = [feed.id]
        self.tn_app.start_refresh(ids)

    def action_refresh_all(self) -> None:
        self.tn_app.start_refresh(None)

    def action_search(self) -> None:
        def got(text: str | None) -> None:
            if text:
                if len(text) > MAX_SEARCH:
                    self.tn_app.tell(f"Searching for the first {MAX_SEARCH} characters.")
                    text = text[:MAX_SEARCH]
                self._list_key = None
                self._load_query(ArticleQuery(search=text))
                self._show_articles()

        self.app.push_screen(AskScreen("Search titles and text", placeholder="words…"), got)

    def action_star(self) -> None:
        article = self.article_list.current
        if article is not None:
            self.tn_app.service.set_starred(article.id, not article.starred)
            self.article_list.invalidate(article.id)
            self.reload_feeds()

    def action_toggle_read(self) -> None:
        article = self.article_list.current
        if article is not None:
            self.tn_app.service.mark_read([article.id], not article.read)
            self.article_list.invalidate(article.id)
            self.reload_feeds()

    def action_unsent(self) -> None:
        from termnews.screens.outbox import OutboxScreen

        self.app.push_screen(OutboxScreen())

    def action_replies(self) -> None:
        from termnews.screens.replies import RepliesScreen

        self.app.push_screen(RepliesScreen(), lambda _: self.reload_feeds())

    def action_mark_all_read(self) -> None:
        query = self.article_list.query_spec
        count = self.tn_app.service.mark_all_read(query)
        self.tn_app.tell(f"Marked {count} articles read")
        self.article_list.invalidate()
        self.reload_feeds()


def _count(articles: int) -> str:
    return f"{articles} article{'' if articles == 1 else 's'}"
