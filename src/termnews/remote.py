"""Where the reader runs: for someone at the other end of SSH, and with a display or not.

Core (no Textual): the app asks these to choose between a browser and an OSC 52 copy, and
whether to send mouse modes.
"""

from __future__ import annotations

import os
import sys


def over_ssh() -> bool:
    """Whether the reader runs for someone on the other end of an SSH connection: sshd
    sets SSH_CONNECTION/SSH_TTY; `termnews serve` filters those out of its sessions'
    environment and sets TERMNEWS_SERVED instead (served means remote)."""
    return any(os.environ.get(name) for name in ("SSH_CONNECTION", "SSH_TTY", "TERMNEWS_SERVED"))


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
