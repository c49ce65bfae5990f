"""One discussion from many sources: whose reply is what (parents), merge, threading.

Parent ids: a site comment (WordPress REST, the comment feed, your sent copy) names its
parent by the site's bare id ("3"). A board comment names a board parent by its bare
row id ("3") and a site parent with the site source in front ("wordpress:3"), so a
board reply to site comment 3 never threads under board comment 3. `parent_of` is the
one place that reads these; `merge` and `thread` both go through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from termnews.comments.board import as_display
from termnews.comments.text import plain_words
from termnews.model import Comment, CommentSource, TargetKind
from termnews.sanitize import clean_line

# Sources whose ids are the site's own ids (one id space per post).
_LISTED = (CommentSource.WORDPRESS, CommentSource.FEED)


@dataclass(slots=True)
class Threaded:
    comment: Comment
    depth: int


def reply_parent(reply_to: Comment | None, target_kind: str) -> str | None:
    """The parent id a reply carries (see the module's docstring)."""
    if reply_to is None:
        return None
    if target_kind == TargetKind.BOARD:
        if reply_to.source == CommentSource.BOARD:
            return reply_to.remote_id
        return f"{reply_to.source}:{reply_to.remote_id}"
    # A site knows only its own comments: a reply to a board comment has no parent there.
    if reply_to.source in (CommentSource.BOARD, CommentSource.SENT):
        return None
    return reply_to.remote_id


class _Index:
    """Comments by id, in the board's and the site's id spaces."""

    def __init__(self, comments: Iterable[Comment]) -> None:
        self.board: dict[str, Comment] = {}
        self.site: dict[str, Comment] = {}
        for comment in comments:
            space = self.board if comment.source == CommentSource.BOARD else self.site
            space.setdefault(comment.remote_id, comment)

    def parent_of(self, comment: Comment) -> Comment | None:
        parent_id = comment.parent_id
        if not parent_id:
            return None
        if comment.source == CommentSource.BOARD:
            source, colon, remote = parent_id.rpartition(":")
            parent = self.site.get(remote) if colon and source else self.board.get(parent_id)
        else:
            parent = self.site.get(parent_id)
        return None if parent is comment else parent


def _text_key(comment: Comment) -> tuple[str, str]:
    return comment.author.casefold().strip(), plain_words(comment.content_html, 4000)[:300]


def _break_cycles(comments: list[Comment], index: _Index) -> None:
    """A reply chain that loops (a hostile feed) becomes top-level where it closes."""
    state: dict[int, int] = {}  # 1: on the path being walked, 2: known to reach a root
    for comment in comments:
        path: list[Comment] = []
        node: Comment | None = comment
        while node is not None and id(node) not in state:
            state[id(node)] = 1
            path.append(node)
            parent = index.parent_of(node)
            if parent is not None and state.get(id(parent)) == 1:
                node.parent_id = None
                parent = None
            node = parent
        for walked in path:
            state[id(walked)] = 2


def merge(remote: list[Comment], board_comments: list[Comment]) -> list[Comment]:
    """One discussion from the cached sources: no comment shown twice, oldest first.

    `board_comments` are plain text (the board's table); they are escaped to HTML here.
    """
    rest = [c for c in remote if c.source == CommentSource.WORDPRESS]
    rest_ids = {c.remote_id for c in rest}
    feed = [c for c in remote if c.source == CommentSource.FEED and c.remote_id not in rest_ids]
    listed = rest + feed
    listed_ids = {c.remote_id for c in listed}
    mine = [c for c in remote if c.source == CommentSource.SENT and c.remote_id not in listed_ids]
    if mine:  # your comment without a known id: matched by author and text
        listed_texts = {_text_key(c) for c in listed}
        mine = [c for c in mine if _text_key(c) not in listed_texts]
    others = [c for c in remote if c.source not in (*_LISTED, CommentSource.SENT)]
    combined = listed + mine + others + [as_display(c) for c in board_comments]
    index = _Index(combined)
    for comment in combined:
        comment.author = clean_line(comment.author, 100) or "anonymous"
        if comment.parent_id is not None and index.parent_of(comment) is None:
            comment.parent_id = None  # answers something not shown (or the post itself)
    combined.sort(key=_when)
    _break_cycles(combined, index)
    return combined


def thread(comments: list[Comment]) -> list[Threaded]:
    """Order comments as a thread: replies under their parents, oldest first."""
    index = _Index(comments)
    children: dict[int, list[Comment]] = {}
    roots: list[Comment] = []
    for comment in comments:
        parent = index.parent_of(comment)
        if parent is None:
            roots.append(comment)
        else:
            children.setdefault(id(parent), []).append(comment)
    ordered: list[Threaded] = []
    seen: set[int] = set()

    def walk(comment: Comment, depth: int) -> None:
        stack = [(comment, depth)]
        while stack:  # iterative: a 1000-deep thread must not hit the recursion limit
            node, level = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            ordered.append(Threaded(node, level))
            kids = sorted(children.get(id(node), []), key=_when, reverse=True)
            stack.extend((kid, level + 1) for kid in kids)

    for root in sorted(roots, key=_when):
        walk(root, 0)
    for comment in comments:  # anything left in a parent cycle still shows
        if id(comment) not in seen:
            walk(comment, 0)
    return ordered


def _when(comment: Comment) -> float:
    return comment.published or 0.0
