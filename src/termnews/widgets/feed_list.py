"""The feed list: All / Unread / Starred, saved searches, then feeds grouped by tag with unread
counts."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from termnews.model import ArticleQuery, Feed
from termnews.sanitize import clean_line

REPLIES = "replies"  # the key of the "Replies" entry (replies to your comments)


class FeedList(OptionList):
    """Each option's id encodes what it lists: replies, all, unread, starred, tag:NAME,
    feed:ID."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="feeds_down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="feeds_up"),
        Binding("g,home", "first", "Top", show=False, id="feeds_top"),
        Binding("G,end", "last", "Bottom", show=False, id="feeds_bottom"),
    ]

    DEFAULT_CSS = """
    FeedList { border: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.feeds: dict[int, Feed] = {}
        self.searches: dict[str, ArticleQuery] = {}
        self._drawn_width: int | None = None  # the width the options were laid out at
        # What show_feeds last listed: (id, label) per option, None for a separator.
        self._shown: tuple[tuple[str | None, object] | None, ...] = ()

    def render_lines(self, crop: Region) -> list[Strip]:
        width = self.scrollable_content_region.width
        if width != self._drawn_width:
            # First drawn, or drawn at another width: the options are laid out afresh
            # for this frame (OptionList would draw the old ones once more, then redo them).
            self._drawn_width = width if self._forget_layout() else None
        return super().render_lines(crop)

    def _forget_layout(self) -> bool:
        """Drop OptionList's options as laid out at a width: its private caches, guarded
        (False when this Textual keeps them elsewhere: its own Resize handler then runs)."""
        caches = [getattr(self, name, None) for name in ("_option_render_cache", "_line_cache")]
        if not all(callable(getattr(cache, "clear", None)) for cache in caches):
            return False
        for cache in caches:
            cache.clear()  # type: ignore[union-attr]
        return True

    def _on_resize(self, event: events.Resize) -> None:  # type: ignore[override]
        # OptionList forgets its laid-out options on every Resize, and the first Resize
        # comes after the first frame, which laid them out at this very width: a second
        # render of the whole list, paid by every session on a host at login. The width
        # is checked as each frame is drawn instead (render_lines).
        if self._drawn_width is not None:
            event.prevent_default()  # OptionList's own handler is not run

    def saved_query(self, key: str | None) -> ArticleQuery | None:
        """The saved search a key shows, if it is one."""
        return self.searches.get(key or "")

    def show_feeds(
        self,
        feeds: list[Feed],
        unread_total: int,
        starred_total: int,
        *,
        searches: Sequence[tuple[ArticleQuery, int]] = (),
        replies: int | None = None,
    ) -> None:
        """Rebuild the options, keeping the highlighted entry where it was. `searches` are
        the saved searches with their unread counts (listed as search:N); `replies` the
        unread replies to your comments (None: you have posted none, no entry)."""
        current = self.highlighted_key
        self.feeds = {feed.id: feed for feed in feeds}
        options: list[Option | None] = []
        if replies is not None:
            options += [Option(_label("↩ Replies", replies), id=REPLIES), None]
        options += [
            Option(_label("All", sum(f.total for f in feeds), muted=True), id="all"),
            Option(_label("Unread", unread_total), id="unread"),
            Option(_label("Starred", starred_total, muted=True), id="starred"),
        ]
        self.searches = {f"search:{n}": query for n, (query, _) in enumerate(searches)}
        for n, (query, unread) in enumerate(searches):
            options.append(
                Option(_label(f"⌕ {clean_line(query.label, 40)}", unread), id=f"search:{n}")
            )
        seen: set[int] = set()
        for tag, members in _groups(feeds):
            options.append(None)
            if tag:
                unread = sum(f.unread for f in members)
                options.append(Option(_label(f"▾ {clean_line(tag, 40)}", unread), id=f"tag:{tag}"))
            for feed in members:
                # A feed with several tags is listed under each; option ids must be unique.
                key = f"feed:{feed.id}" if feed.id not in seen else f"feed:{feed.id}@{tag}"
                seen.add(feed.id)
                options.append(Option(_feed_label(feed, indent=bool(tag)), id=key))
        shown = tuple(None if o is None else (o.id, o.prompt) for o in options)
        if shown == self._shown and self.option_count == len(options) - options.count(None):
            return  # the same entries (nothing read or added since): nothing to draw again
        self._shown = shown
        self.clear_options()
        self.add_options(options)
        if current is not None:
            with contextlib.suppress(OptionDoesNotExist):  # gone when its feed was removed
                self.highlighted = self.get_option_index(current)
                return
        self.highlighted = self.get_option_index("all")

    @property
    def highlighted_key(self) -> str | None:
        if self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id

    def select_key(self, key: str) -> None:
        with contextlib.suppress(OptionDoesNotExist):
            self.highlighted = self.get_option_index(key)

    @property
    def current_feed(self) -> Feed | None:
        feed_id = _feed_id(self.highlighted_key)
        return None if feed_id is None else self.feeds.get(feed_id)

    @staticmethod
    def display_order(feeds: list[Feed]) -> list[Feed]:
        """Feeds in the order the list shows them (each once, at its first place)."""
        order: dict[int, Feed] = {}
        for _tag, members in _groups(feeds):
            for feed in members:
                order.setdefault(feed.id, feed)
        return list(order.values())

    @staticmethod
    def canonical(key: str | None) -> str | None:
        """The list a key shows: "feed:3@news" (feed 3 under its second tag) is "feed:3"."""
        feed_id = _feed_id(key)
        return key if feed_id is None else f"feed:{feed_id}"

    @staticmethod
    def query_for(key: str | None) -> ArticleQuery:
        if key == "unread":
            return ArticleQuery(unread_only=True)
        if key == "starred":
            return ArticleQuery(starred_only=True)
        if key and key.startswith("tag:"):
            return ArticleQuery(tag=key[4:])
        feed_id = _feed_id(key)
        if feed_id is not None:
            return ArticleQuery(feed_id=feed_id)
        return ArticleQuery()


def _feed_id(key: str | None) -> int | None:
    if key and key.startswith("feed:"):
        return int(key[5:].split("@", 1)[0])
    return None


def _groups(feeds: list[Feed]) -> list[tuple[str, list[Feed]]]:
    """Feeds by tag (a feed under every tag it has), tags A-Z, untagged feeds last."""
    groups: dict[str, list[Feed]] = {}
    for feed in feeds:
        for tag in feed.tags or [""]:
            groups.setdefault(tag, []).append(feed)
    return [(tag, groups[tag]) for tag in sorted(groups, key=lambda t: (t == "", t.lower()))]


def _label(text: str, count: int, *, muted: bool = False) -> Text:
    label = Text(no_wrap=True, overflow="ellipsis")
    label.append(text, style="bold")
    if count:
        label.append(f"  {count}", style="dim" if muted else "bold")
    return label


def _feed_label(feed: Feed, *, indent: bool) -> Text:
    label = Text(no_wrap=True, overflow="ellipsis")
    if indent:
        label.append("  ")
    if feed.error:
        label.append("! ", style="bold red")
    label.append(clean_line(feed.display_title, 200), style="bold" if feed.unread else "dim")
    if feed.unread:
        label.append(f"  {feed.unread}", style="bold")
    return label
