"""Where the reader runs: for someone at the other end of SSH, and with a display or not.

Core (no Textual): the app asks these to choose between a browser and an OSC 52 copy,
whether to send mouse modes and OSC 8 hyperlinks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import webbrowser
from collections.abc import Mapping

from termnews.config import split_command


def over_ssh() -> bool:
    """Whether the reader runs for someone on the other end of an SSH connection: sshd
    sets SSH_CONNECTION/SSH_TTY; `termnews serve` filters those out of its sessions'
    environment and sets TERMNEWS_SERVED instead (served means remote)."""
    return over_ssh_in()


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def start_browser(url: str, browser: str) -> None:
    """Open `url` with the `browser` command of the settings, or else the system's
    browser; OSError when none starts."""
    if browser:
        quiet = subprocess.DEVNULL
        command = [*split_command(browser), url]
        subprocess.Popen(command, stdin=quiet, stdout=quiet, stderr=quiet, start_new_session=True)
    elif not webbrowser.open(url):
        raise OSError("no browser found")


# TERM names of terminals that draw OSC 8 hyperlinks, or that pass them on (tmux 3.4+ with
# `terminal-features ... hyperlinks`, and drops them silently without). Terminals that
# call themselves xterm but know no OSC 8 (xterm itself, Terminal.app, PuTTY) ignore it.
HYPERLINK_TERMS = ("xterm", "tmux", "foot", "alacritty", "wezterm", "contour", "ghostty")
# Where the sequence might be drawn as text, or is not passed on: GNU screen, the Linux
# console, vt100-class terminals.
NO_HYPERLINK_TERMS = ("dumb", "linux", "vt", "ansi", "cons", "screen", "eterm", "emacs")
HYPERLINK_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "vscode", "ghostty", "tmux", "Hyper"})


def hyperlinks_supported(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the terminal shows OSC 8 hyperlinks (the rule of `hyperlinks = "auto"`):
    a terminal that says so (TERM_PROGRAM, VTE_VERSION >= 5000, KONSOLE_VERSION,
    WT_SESSION), or TERM naming one of HYPERLINK_TERMS; inside tmux (TMUX set) as well,
    whatever TERM says; never for NO_HYPERLINK_TERMS outside tmux, nor an unknown TERM."""
    env = os.environ if environ is None else environ
    vte = env.get("VTE_VERSION", "")
    if env.get("TERM_PROGRAM") in HYPERLINK_PROGRAMS or env.get("TMUX"):
        return True
    if (vte.isdigit() and int(vte) >= 5000) or env.get("KONSOLE_VERSION") or env.get("WT_SESSION"):
        return True
    term = env.get("TERM", "").lower()
    return term.startswith(HYPERLINK_TERMS) and not term.startswith(NO_HYPERLINK_TERMS)


def hyperlinks_on(setting: str, environ: Mapping[str, str] | None = None) -> bool:
    """The `hyperlinks` setting ("auto", "on", "off") for this terminal."""
    if setting == "auto":
        return hyperlinks_supported(environ)
    return setting == "on"


def graphics_protocol(environ: Mapping[str, str] | None = None) -> str | None:
    """The terminal graphics protocol the reader can draw images with: "kitty" (the
    protocol with Unicode placeholders: kitty, ghostty; not through tmux, which does not
    pass it on by default), or None."""
    env = os.environ if environ is None else environ
    if env.get("TMUX"):
        return None
    term = env.get("TERM", "").lower()
    if term in ("xterm-kitty", "xterm-ghostty") or env.get("TERM_PROGRAM") == "ghostty":
        return "kitty"
    return None


def inline_images(setting: str, halfblocks: bool, environ: Mapping[str, str] | None = None) -> str:
    """How the reader draws images inline: "kitty", "halfblock" or "" (not inline), from
    the `images` and `image_halfblocks` settings and the terminal; "auto" is never over SSH."""
    if setting == "off" or (setting == "auto" and over_ssh_in(environ)):
        return ""
    protocol = graphics_protocol(environ)
    if protocol is not None:
        return protocol
    return "halfblock" if halfblocks else ""


def over_ssh_in(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ("SSH_CONNECTION", "SSH_TTY", "TERMNEWS_SERVED"))
