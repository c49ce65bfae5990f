"""Comments: read a post's discussion and write to it, through one backend per kind of site.

backend.py   the CommentBackend protocol and what backends trade (PostResult, Outgoing …)
thread.py    parents, merge of the sources, threading
text.py      body/id/error-page helpers the backends share
wordpress.py the post page and REST reads both WordPress backends use
wordpress_form.py, wordpress_rest.py, commentapi.py, feeds.py, board.py: the backends
service.py   CommentService: loops over `BACKENDS`; drafts, outbox, never-twice delivery
inbox.py     replies to you: delivered comments remembered, their threads checked on refresh
revalidate.py  conditional GETs under the backends' reads while the inbox checks threads

May import: termnews.http, model, config, errors, sanitize, store. Never Textual.
"""

from termnews.comments.backend import (
    CommentBackend,
    CommentError,
    CommentInfo,
    CommentTarget,
    OutboxItem,
    Outgoing,
    PostOutcome,
    PostResult,
)
from termnews.comments.service import CommentService
from termnews.comments.thread import Threaded, merge, reply_parent, thread

__all__ = [
    "CommentBackend",
    "CommentError",
    "CommentInfo",
    "CommentService",
    "CommentTarget",
    "OutboxItem",
    "Outgoing",
    "PostOutcome",
    "PostResult",
    "Threaded",
    "merge",
    "reply_parent",
    "thread",
]
