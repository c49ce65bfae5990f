"""One base for every error a user may see.

``TermnewsError`` and its subclasses carry a message written for the user (what went wrong,
where, and what to do); front doors catch the base and print it, never a traceback. Errors
that are bugs stay ordinary exceptions. This module imports nothing of termnews.
"""

from __future__ import annotations

__all__ = ["DownloadError", "FullArticleError", "PlayerError", "TermnewsError"]


class TermnewsError(Exception):
    """An error whose message is meant for the user, one line, no traceback."""


class FullArticleError(TermnewsError):
    """The full article could not be had; the message says why, in one line."""


class PlayerError(TermnewsError):
    """No player, or it would not start; the message says what to set."""


class DownloadError(TermnewsError):
    """An attachment could not be downloaded; the message says why, in one line."""
