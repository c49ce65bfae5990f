"""The reader: one post, with previous/next through the list it was opened from."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from termnews.attachments import describe
from termnews.errors import TermnewsError
from termnews.model import ArticleDetail, ArticleQuery, combined_count
from termnews.remote import graphics_protocol, hyperlinks_on, inline_images
from termnews.render import RenderedDocument
from termnews.sanitize import clean_line
from termnews.screens.base import TermNewsAccess
from termnews.screens.dialogs import LinksScreen
from termnews.screens.images import (
    INLINE_ROWS,
    MAX_INLINE,
    ImageScreen,
    PicturePainter,
    image_anchors,
    with_pictures,
)
from termnews.widgets.article_header import ArticleHeader
from termnews.widgets.article_list import Position
from termnews.widgets.article_view import ArticleView
from termnews.widgets.download_bar import DownloadBar
from termnews.widgets.feed_list import FeedList
from termnews.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from termnews.images import Picture
    from termnews.render import Link

UNREAD_SCAN = 512
READ_AHEAD_DELAY = 0.3  # seconds after a post is shown before the next is rendered


class ReaderScreen(TermNewsAccess, Screen[int]):
    """Dismisses with the list index it ended on, so the list can follow."""

    BINDINGS = [
        Binding("q,escape", "close", "Back", id="close_reader"),
        Binding("n,J", "step(1)", "Next", id="next_article"),
        Binding("p,K", "step(-1)", "Previous", id="previous_article"),
        Binding("N", "step_unread(1)", "Next unread", id="next_unread"),
        Binding("P", "step_unread(-1)", "Prev unread", show=False, id="previous_unread"),
        Binding("c", "comments", "Comments", id="comments"),
        Binding("C", "compose", "Write comment", id="compose"),
        Binding("o", "links", "Links", id="open_links"),
        Binding("O", "open_post", "Open post", show=False, id="open_post"),
        Binding("y", "copy_url", "Copy URL", show=False, id="copy_url"),
        Binding("s", "star", "Star", show=False, id="star"),
        Binding("m", "toggle_read", "Read/unread", show=False, id="toggle_read"),
        Binding("F", "full_article", "Full article", show=False, id="full_article"),
        Binding("E", "play_attachment", "Play attachment", show=False, id="play_attachment"),
        Binding(
            "D", "download_attachment", "Download attachment", show=False, id="download_attachment"
        ),
        Binding("S", "save_post", "Save post", show=False, id="save_post"),
        Binding("vertical_line", "pipe_post(0)", "Pipe post", show=False, id="pipe_post"),
        Binding("U", "pipe_post(1)", "Pipe URL", show=False, id="pipe_url"),
        Binding("L", "toggle_hyperlinks", "Clickable links", show=False, id="toggle_hyperlinks"),
        Binding("i", "show_image", "Show image", show=False, id="show_image"),
        *[
            Binding(str(n), f"open_link({n})", f"Open link {n}", show=False, id=f"open_link_{n}")
            for n in range(1, 10)
        ],
    ]

    # Command palette entries while the reader is open: (title, help, action).
    PALETTE: tuple[tuple[str, str, str], ...] = (
        (
            "Full article",
            "Fetch the post's page and show its article (again: the feed's text)",
            "full_article",
        ),
        (
            "Download attachment",
            "Download the post's attachment (podcast episode) to general.download_dir",
            "download_attachment",
        ),
        ("Save post", "Save the post as Markdown or text to general.save_dir", "save_post"),
        ("Pipe post", "Send the post's text to general.pipe_command", "pipe_post(0)"),
        ("Pipe post URL", "Send the post's address to general.pipe_command", "pipe_post(1)"),
        ("Clickable links", "Turn OSC 8 hyperlinks in the reader on or off", "toggle_hyperlinks"),
        ("Show image", "The image at the top of the window, or the first", "show_image"),
    )

    def __init__(self, position: Position) -> None:
        super().__init__()
        self.ids = position.ids
        self.index = position.index
        self.article: ArticleDetail | None = None
        self.document: RenderedDocument | None = None
        self.loaded_comments: dict[int, int] = {}  # article id -> comments shown
        self.moved_to: str | None = None  # the list key, once N moved on to another feed
        self.show_extracted = False  # the full article from the post's page, not the feed's
        self.fetching: int | None = None  # article id whose full article is being fetched
        self.pictures: dict[str, Picture | str] = {}  # this post's loaded images (or why not)
        self.painter: PicturePainter | None = None  # set when images are drawn inline
        self.fetching_images: set[str] = set()  # image addresses a worker is fetching
        self.anchors: list[tuple[int, Link]] = []  # (line in the view, image) drawn in the text
        self.download: Worker[None] | None = None  # the attachment download under way
        self._ahead: asyncio.TimerHandle | None = None  # the read-ahead, once keys pause

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    def compose(self) -> ComposeResult:
        yield ArticleHeader(id="article-header")
        settings = self.tn_app.service.settings
        yield ArticleView(
            max_width=settings.reader_width,
            hyperlinks=hyperlinks_on(settings.hyperlinks),
            id="article-view",
        )
        yield DownloadBar(id="download-bar")
        yield KeyBar()

    def on_mount(self) -> None:
        settings = self.tn_app.service.settings
        mode = inline_images(settings.images, settings.image_halfblocks)
        if mode:
            self.painter = PicturePainter(self.app, mode)
        self.view.focus()
        self.show_index(self.index)

    # -- showing a post ---------------------------------------------------------

    def show_index(self, index: int) -> None:
        if not 0 <= index < len(self.ids):
            return
        before, self.index = self.index, index
        service = self.tn_app.service
        article = service.article(self.ids[index])
        if article is None:
            self.tn_app.tell("That post is gone (its feed was removed).", error=True)
            return
        if self.tn_app.service.settings.mark_read_on_open and not article.read:
            service.mark_read([article.id])
            article.read = True
        if self.article is None or self.article.id != article.id:
            self.pictures, self.fetching_images = {}, set()
        self.article = article
        self.show_extracted = bool(article.extracted)
        self._draw(keep_scroll=False)
        if self._ahead is not None:  # read ahead once keys pause, the way the reader goes
            self._ahead.cancel()
        ahead = index - 1 if index < before else index + 1
        if 0 <= ahead < len(self.ids):
            following, width = self.ids[ahead], self.view.text_width
            later = lambda: self.is_attached and self._read_ahead(following, width)  # noqa: E731
            self._ahead = asyncio.get_running_loop().call_later(READ_AHEAD_DELAY, later)
        if not article.extracted and service.full_article_on_open(article) and article.link:
            self._fetch_full_article(article.id)
        # Outside discussions read once are kept fresh; others only with the prefetch opt-in.
        prefetch = service.settings.discussions.prefetch
        if article.outside_comments or prefetch:
            self._refresh_discussions(article, prefetch)

    @work(thread=True, exclusive=True, group="read-ahead", exit_on_error=False)
    def _read_ahead(self, article_id: int, width: int) -> None:
        """Render the post `p`/`n` would show next while this one is read (a long post
        takes 50-100 ms)."""
        if article := self.app.call_from_thread(self.tn_app.service.article, article_id):
            self.tn_app.service.render(article, width, extracted=bool(article.extracted))

    @work(exclusive=True, group="refresh-discussions", exit_on_error=False)
    async def _refresh_discussions(self, article: ArticleDetail, prefetch: bool) -> None:
        """Re-read the post's outside discussions older than discussions.refresh_after
        (and, with discussions.prefetch, read those never read)."""
        from termnews.comments import CommentError

        comments = self.tn_app.service.comments
        try:
            if not await comments.load(article, stale_only=not prefetch, prefetch=prefetch):
                return
        except CommentError:
            return  # offline: the cached discussion stays, and the pane says why when opened
        fresh = self.tn_app.service.article(article.id)
        if fresh is not None and self.article is not None and self.article.id == article.id:
            self.article.outside_comments = fresh.outside_comments
            self.loaded_comments.pop(article.id, None)
            self.query_one(ArticleHeader).show(self._header(self.article))

    def _draw(self, *, keep_scroll: bool) -> None:
        if self.article is None:
            return
        width = self.view.text_width
        self.document = self.tn_app.service.render(
            self.article, width, extracted=self.show_extracted
        )
        self.query_one(ArticleHeader).show(self._header(self.article))
        lines = self.document.lines
        if not lines:
            lines = [
                Text("(This post has no text in the feed. Press o for its link.)", style="dim")
            ]
        if self.painter is not None:
            anchors = image_anchors(self.document)[:MAX_INLINE]
            rows = min(INLINE_ROWS, max(4, self.view.scrollable_content_region.height - 2))
            lines, self.anchors = with_pictures(
                lines, anchors, self.pictures, self.painter, width, rows
            )
            wanted = {link.url for _, link in anchors} - set(self.pictures) - self.fetching_images
            if wanted:
                self.fetching_images |= wanted
                self._load_pictures(self.article.id, sorted(wanted))
        else:
            self.anchors = image_anchors(self.document)
        self.view.show(lines, keep_scroll=keep_scroll)

    @work(group="pictures", exit_on_error=False)
    async def _load_pictures(self, article_id: int, urls: list[str]) -> None:
        """The post's inline images, one after the other; each shows as it arrives."""
        for url in urls:
            value: Picture | str
            try:
                value = await self.tn_app.service.image(url)
            except TermnewsError as exc:
                value = clean_line(str(exc), 200)
            except Exception:  # a hostile file must never take the reader down
                value = "it could not be read"
            if self.article is None or self.article.id != article_id:
                return
            self.fetching_images.discard(url)
            self.pictures[url] = value
            view, top = self.view, self.view.scroll_y
            above = any(at < top for at, link in self.anchors if link.url == url)
            before = len(view.lines)
            self._draw(keep_scroll=True)
            if above:  # the picture went in above the window: the text read stays put
                view.scroll_to(y=top + len(view.lines) - before, animate=False, immediate=True)

    def on_unmount(self) -> None:
        if self.painter is not None:
            self.painter.close()

    def _header(self, article: ArticleDetail) -> Text:
        header = Text(no_wrap=False)
        header.append(clean_line(article.title, 300) or "(untitled)", style="bold")
        header.append("\n")
        parts = [clean_line(article.feed_title, 80)]
        if article.author:
            parts.append(clean_line(article.author, 60))
        if article.published:
            parts.append(time.strftime("%a %d %b %Y %H:%M", time.localtime(article.published)))
        # Once the discussion was loaded, its own count (the feed's goes stale: a site may
        # answer 304 for the posts feed after new comments); before, the feed's count plus
        # the cached outside discussions (HN, Mastodon …).
        count = self.loaded_comments.get(article.id)
        if count is None:
            count = combined_count(article.comments.count, article.outside_comments)
        if count is not None:
            parts.append(f"{count} comment{'s' if count != 1 else ''}")
        if article.starred:
            parts.append("★ starred")
        header.append(" · ".join(parts), style="dim")
        header.append(f"   {self.index + 1}/{len(self.ids)}", style="dim")
        if article.link:
            header.append("\n")
            header.append(clean_line(article.link, 300), style="underline dim")
        if article.enclosures:
            more = len(article.enclosures) - 1
            header.append("\nAttachment: ", style="bold")
            header.append(describe(article.enclosures[0]))
            if more:
                header.append(f" (+{more} more, in the links)")
            if not self.tn_app.restricted:
                header.append(" — E plays, D downloads", style="dim")
        if self.fetching == article.id:
            header.append("\nFetching the full article from the post's page…", style="italic")
        elif self.show_extracted and article.extracted:
            header.append(
                "\nFull article, extracted from the post's page (F: the feed's text)",
                style="italic",
            )
        elif article.extract_error and not article.extracted:
            header.append("\nNo full article at refresh: ", style="italic")
            header.append(clean_line(article.extract_error, 200))
            header.append(" (F tries again)", style="dim")
        return header

    @on(ArticleView.WidthChanged)
    def width_changed(self, event: ArticleView.WidthChanged) -> None:
        if self.document is not None and self.document.width != event.width:
            self._draw(keep_scroll=True)

    # -- actions ------------------------------------------------------------------

    def action_close(self) -> None:
        if self.downloading:  # Escape stops the download first; again goes back
            self.action_download_attachment()
            return
        self.dismiss(self.index)

    def action_step(self, delta: int) -> None:
        target = self.index + delta
        if 0 <= target < len(self.ids):
            self.show_index(target)
        else:
            self.tn_app.tell("Last post in this list." if delta > 0 else "First post in this list.")

    def action_step_unread(self, delta: int) -> None:
        service = self.tn_app.service
        index = self.index + delta
        while 0 <= index < len(self.ids):
            end = index + delta * UNREAD_SCAN
            lo, hi = (index, min(end, len(self.ids))) if delta > 0 else (max(end + 1, 0), index + 1)
            chunk = list(self.ids[lo:hi])
            rows = service.articles(chunk)
            order = range(len(chunk)) if delta > 0 else range(len(chunk) - 1, -1, -1)
            for offset in order:
                row = rows.get(chunk[offset])
                if row is not None and not row.read:
                    self.show_index(lo + offset)
                    return
            index = hi if delta > 0 else lo - 1
        if delta > 0 and self._next_feed_with_unread():
            return
        self.tn_app.tell("No more unread posts in this list.")

    def _next_feed_with_unread(self) -> bool:
        """At the end of the list, go on to the next feed (in feed list order) with unread
        posts, as newsboat's next-unread does."""
        if self.article is None:
            return False
        service = self.tn_app.service
        order = FeedList.display_order(service.feeds())
        ids = [feed.id for feed in order]
        start = ids.index(self.article.feed_id) + 1 if self.article.feed_id in ids else 0
        for feed in order[start:] + order[:start]:
            if feed.unread and feed.id != self.article.feed_id:
                articles = service.article_ids(ArticleQuery(feed_id=feed.id))
                rows = service.articles(list(articles[:UNREAD_SCAN]))
                first = next(
                    (
                        i
                        for i, a in enumerate(articles[:UNREAD_SCAN])
                        if a in rows and not rows[a].read
                    ),
                    0,
                )
                self.ids = articles
                self.moved_to = f"feed:{feed.id}"
                self.show_index(first)
                title = clean_line(feed.display_title, 60)
                self.tn_app.tell(f"No more unread here: on to {title}.")
                self.tn_app.say_status(
                    f"Next unread went on to {title}, the next feed with unread."
                )
                return True
        return False

    def action_comments(self) -> None:
        from termnews.screens.comments import CommentsScreen

        if self.article is None:
            return
        article = self.article

        screen = CommentsScreen(
            article, lambda reply_to: self.tn_app.open_compose(article, reply_to)
        )

        def closed(_: None) -> None:
            if not screen.state:  # loaded (not offline, not still loading)
                self.loaded_comments[article.id] = len(screen.comments)
                if self.article is not None and self.article.id == article.id:
                    self.query_one(ArticleHeader).show(self._header(self.article))

        self.app.push_screen(screen, closed)

    def action_compose(self) -> None:
        if self.article is not None:
            self.tn_app.open_compose(self.article, None)

    def action_links(self) -> None:
        if self.document is None:
            return

        def picked(url: str | None) -> None:
            if url:
                self.tn_app.open_link(url)

        post_url = self.article.link if self.article else None
        files = [(e.url, describe(e)) for e in self.article.enclosures] if self.article else []
        links = LinksScreen(self.document.links, post_url, files, show_image=self._show_image)
        self.app.push_screen(links, picked)

    def action_open_post(self) -> None:
        """The post itself in a browser (copied with OSC 52 over SSH), as links are."""
        if self.article and self.article.link:
            self.tn_app.open_link(self.article.link)
        else:
            self.tn_app.tell("This post has no address of its own.")

    def action_open_link(self, number: int) -> None:
        if self.document is None:
            return
        for link in self.document.links:
            if link.number == number:
                self.tn_app.open_link(link.url)
                return
        self.tn_app.tell(f"This post has no link [{number}].")

    def action_toggle_hyperlinks(self) -> None:
        """OSC 8 links on or off for this session (general.hyperlinks sets the default)."""
        on = not self.view.hyperlinks
        self.tn_app.service.settings.hyperlinks = "on" if on else "off"
        self.view.set_hyperlinks(on)
        self.tn_app.tell("Links are clickable (OSC 8)." if on else "Links are plain text.")

    def action_show_image(self) -> None:
        """The image at (or after) the top of the window, else the post's first image."""
        if self.document is None:
            return
        images = [link for link in self.document.links if link.image]
        if not images:
            self.tn_app.tell("This post has no images.")
            return
        top = int(self.view.scroll_y)
        anchors = self.anchors
        shown = [link for line, link in anchors if line >= top] + [link for _, link in anchors]
        self._show_image((shown or images)[0])

    def _show_image(self, link: Link) -> None:
        mode = graphics_protocol() or "halfblock"
        self.app.push_screen(ImageScreen(self.tn_app.service, link, mode))

    def action_copy_url(self) -> None:
        if self.article and self.article.link:
            self.tn_app.copy_url(self.article.link)
        else:
            self.tn_app.tell("This post has no link.")

    def action_star(self) -> None:
        if self.article is not None:
            self.article.starred = not self.article.starred
            self.tn_app.service.set_starred(self.article.id, self.article.starred)
            self.query_one(ArticleHeader).show(self._header(self.article))
            self.tn_app.tell("Starred." if self.article.starred else "Unstarred.")

    def action_full_article(self) -> None:
        """The full article from the post's page (fetched once, then kept); again: the
        feed's own text."""
        article = self.article
        if article is None:
            return
        if article.extracted:
            self.show_extracted = not self.show_extracted
            self._draw(keep_scroll=False)
        elif not article.link:
            self.tn_app.tell("This post has no page of its own to fetch.")
        elif self.fetching != article.id:
            self._fetch_full_article(article.id)

    def _fetch_full_article(self, article_id: int) -> None:
        self.fetching = article_id
        if self.article is not None:
            self.query_one(ArticleHeader).show(self._header(self.article))
        self.run_worker(
            self._full_article_worker(article_id),
            group="full_article",
            exclusive=True,
            exit_on_error=False,
        )

    async def _full_article_worker(self, article_id: int) -> None:
        try:
            fetched = await self.tn_app.service.fetch_full_article(article_id)
        except TermnewsError as exc:
            self.tn_app.tell(str(exc), error=True)
            fetched = None
        finally:
            if self.fetching == article_id:
                self.fetching = None
        current = self.article
        if current is None or current.id != article_id:
            return  # the reader moved on; the article is kept for next time
        if fetched is not None:
            current.extracted = fetched.extracted
            self.show_extracted = True
            self._draw(keep_scroll=False)
        else:
            self.query_one(ArticleHeader).show(self._header(current))

    def action_play_attachment(self) -> None:
        if self.article is None:
            return
        try:
            argv = self.tn_app.service.play_attachments(self.article)
        except TermnewsError as exc:
            self.tn_app.tell(str(exc), error=True)
            return
        count = len(self.article.enclosures)
        self.tn_app.tell(f"Playing {count} attachment{'s' if count != 1 else ''} with {argv[0]}.")

    @property
    def downloading(self) -> bool:
        return self.download is not None and self.download.is_running

    def action_download_attachment(self) -> None:
        """Download the post's attachment (a chooser when it has several); while one is
        downloading, this (or Escape) cancels it."""
        if self.downloading and self.download is not None:
            self.download.cancel()
            return
        if self.article is None:
            return
        files = [
            (e.url, describe(e))
            for e in self.article.enclosures
            if e.url.startswith(("http://", "https://"))
        ]
        if not files:
            self.tn_app.tell("This post has no attachment to download.")
        elif len(files) == 1:
            self._start_download(files[0][0])
        else:

            def picked(url: str | None) -> None:
                if url:
                    self._start_download(url)

            title = "Attachments — Enter downloads one"
            self.app.push_screen(LinksScreen([], None, files, title=title), picked)

    def _start_download(self, url: str) -> None:
        bar = self.query_one(DownloadBar)
        bar.start(clean_line(url.rpartition("/")[2], 80) or "attachment")
        self.download = self.run_worker(
            self._download_worker(url), group="download", exclusive=True, exit_on_error=False
        )

    async def _download_worker(self, url: str) -> None:
        bar = self.query_one(DownloadBar)
        try:
            path = await self.tn_app.service.download_attachment(url, bar.show_progress)
        except TermnewsError as exc:
            self.tn_app.tell(f"Download failed: {exc}", error=True)
        except asyncio.CancelledError:
            self.tn_app.tell("Download cancelled; nothing was kept.")
            raise
        else:
            got = f" ({bar.progress.size()})" if bar.progress else ""
            self.tn_app.tell(f"Downloaded to {path}{got}")
        finally:
            bar.stop()

    def action_save_post(self) -> None:
        if self.article is not None:
            self._save_worker(self.article, self.show_extracted)

    @work(thread=True, group="save", exit_on_error=False)
    def _save_worker(self, article: ArticleDetail, extracted: bool) -> None:
        """Off the UI thread: a long post takes a second or more to write as Markdown."""
        try:
            path = self.tn_app.service.save_post(article, extracted=extracted)
        except TermnewsError as exc:
            self.app.call_from_thread(self.tn_app.tell, str(exc), error=True)
            return
        self.app.call_from_thread(self.tn_app.tell, f"Saved to {path}")

    def action_pipe_post(self, url_only: int) -> None:
        if self.article is not None:
            self._pipe_worker(self.article, bool(url_only), self.show_extracted)

    @work(thread=True, group="pipe", exit_on_error=False)
    def _pipe_worker(self, article: ArticleDetail, url_only: bool, extracted: bool) -> None:
        try:
            self.tn_app.service.pipe_post(article, url_only=url_only, extracted=extracted)
        except TermnewsError as exc:
            self.app.call_from_thread(self.tn_app.tell, str(exc), error=True)
            return
        what = "The post's address" if url_only else "The post"
        command = self.tn_app.service.settings.pipe_command
        self.app.call_from_thread(self.tn_app.tell, f"{what} went to {command}.")

    def action_toggle_read(self) -> None:
        if self.article is not None:
            self.article.read = not self.article.read
            self.tn_app.service.mark_read([self.article.id], self.article.read)
            self.tn_app.tell("Marked read." if self.article.read else "Marked unread.")
