"""Enclosures (podcast episodes, videos): how they are described, and playing them.

A post's enclosures go to one player (`general.player`, or `mpv` when it is installed) as
a playlist, in the feed's order. The player runs detached from termnews' terminal (no
stdin, no output), so the reader stays usable while it plays.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from termnews.config import split_command
from termnews.errors import PlayerError
from termnews.http import format_size
from termnews.model import Enclosure
from termnews.sanitize import clean_line, clean_url

DEFAULT_PLAYER = "mpv"


def format_duration(seconds: float) -> str:
    """3723.5 -> "1:02:03", 95 -> "1:35"."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(enclosure: Enclosure) -> str:
    """ "audio/mpeg · 46 MB · 1:02:04", what the reader shows for one attachment."""
    parts = [clean_line(enclosure.type or "file", 60)]
    if enclosure.length:
        parts.append(format_size(enclosure.length))
    if enclosure.duration:
        parts.append(format_duration(enclosure.duration))
    if enclosure.title:
        parts.append(clean_line(enclosure.title, 80))
    return " · ".join(parts)


def player_argv(player: str, urls: Sequence[str]) -> list[str]:
    """The command that plays `urls`; PlayerError when there is no player to run."""
    if player.strip():
        command = split_command(player)
    elif shutil.which(DEFAULT_PLAYER):
        command = [DEFAULT_PLAYER, "--no-terminal"]
    else:
        raise PlayerError(
            "No player to open attachments with: install mpv, or set general.player "
            '(e.g. player = "vlc") in the settings file'
        )
    return [*command, *urls]


def play(player: str, enclosures: Sequence[Enclosure]) -> list[str]:
    """Start the player on the enclosures' http(s) URLs; returns the argv it ran."""
    urls = [url for url in (clean_url(e.url) for e in enclosures) if url]
    urls = [url for url in urls if url.startswith(("http://", "https://"))]
    if not urls:
        raise PlayerError("This post has no attachment to play.")
    argv = player_argv(player, urls)
    try:
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise PlayerError(
            f"Could not start the player {clean_line(argv[0], 80)} "
            f"({exc.strerror or exc}): check general.player"
        ) from None
    return argv
