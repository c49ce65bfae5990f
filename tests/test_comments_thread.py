"""Parents, merge and threading together, as the comments screen uses them."""

from __future__ import annotations

from termnews.comments import merge, reply_parent, thread
from termnews.model import Comment, CommentSource, TargetKind


def site(remote_id: str, author: str, when: float, parent: str | None = None) -> Comment:
    return Comment(CommentSource.WORDPRESS, remote_id, parent, author, None, when, "<p>site</p>")


def board(remote_id: str, author: str, when: float, parent: str | None = None) -> Comment:
    return Comment(CommentSource.BOARD, remote_id, parent, author, None, when, "plain text")


def test_a_board_reply_to_a_site_comment_threads_under_it_after_merge() -> None:
    site_three = site("3", "Site author", 1.0)
    board_three = board("3", "bob", 2.0)  # same number, other id space
    parent = reply_parent(site_three, TargetKind.BOARD)
    assert parent == "wordpress:3"
    reply = board("4", "ada", 3.0, parent)
    merged = merge([site_three], [board_three, reply])
    assert next(c for c in merged if c.remote_id == "4").parent_id == "wordpress:3"
    ordered = [(t.comment.author, t.depth) for t in thread(merged)]
    assert ordered == [("Site author", 0), ("ada", 1), ("bob", 0)]


def test_a_board_reply_to_a_site_comment_known_only_from_the_feed() -> None:
    from_feed = Comment(CommentSource.FEED, "7", None, "Feed author", None, 1.0, "<p>f</p>")
    reply = board("1", "ada", 2.0, reply_parent(from_feed, TargetKind.BOARD))
    ordered = [(t.comment.author, t.depth) for t in thread(merge([from_feed], [reply]))]
    assert ordered == [("Feed author", 0), ("ada", 1)]


def test_board_replies_to_board_comments_and_site_replies_keep_their_spaces() -> None:
    site_one = site("1", "Site one", 1.0)
    site_reply = site("2", "Site reply", 2.0, "1")
    board_one = board("1", "bob", 3.0)
    board_reply = board("2", "ada", 4.0, reply_parent(board_one, TargetKind.BOARD))
    assert board_reply.parent_id == "1"
    merged = merge([site_one, site_reply], [board_one, board_reply])
    ordered = [(t.comment.author, t.depth) for t in thread(merged)]
    assert ordered == [("Site one", 0), ("Site reply", 1), ("bob", 0), ("ada", 1)]


def test_a_parent_that_is_not_shown_makes_a_top_level_comment() -> None:
    orphan = board("5", "ada", 1.0, "wordpress:99")
    [merged] = merge([], [orphan])
    assert merged.parent_id is None


def test_replies_to_the_site_never_name_board_or_sent_parents() -> None:
    assert reply_parent(board("3", "bob", 1.0), TargetKind.WORDPRESS_FORM) is None
    sent = Comment(CommentSource.SENT, "local-1", None, "me", None, 1.0, "")
    assert reply_parent(sent, TargetKind.COMMENTAPI) is None
    assert reply_parent(site("3", "x", 1.0), TargetKind.WORDPRESS_REST) == "3"
    assert reply_parent(None, TargetKind.BOARD) is None
