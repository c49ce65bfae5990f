"""Comment sources and sinks: comment feeds, WordPress, CommentAPI and the host's board."""

from termnews.comments.base import (
    CommentError,
    CommentInfo,
    CommentTarget,
    OutboxItem,
    PostOutcome,
    PostResult,
)
from termnews.comments.service import CommentService

__all__ = [
    "CommentError",
    "CommentInfo",
    "CommentService",
    "CommentTarget",
    "OutboxItem",
    "PostOutcome",
    "PostResult",
]
