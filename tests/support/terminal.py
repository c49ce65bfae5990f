"""A real PTY running termnews, read through a terminal emulator (pyte) as a person sees it."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pexpect

from tests.support.emulator import emulator

ROOT = Path(__file__).resolve().parents[2]


def termnews_env(home: Path) -> dict[str, str]:
    """An environment for a termnews child as a user's shell would give it: settings and
    data under `home`, no TERMNEWS_* or SSH variables from this process, no auto-refresh."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TERMNEWS_", "SSH_")) and name not in ("COLUMNS", "LINES")
    }
    env.update(
        TERM="xterm-256color",
        TERMNEWS_NO_AUTO_REFRESH="1",
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        XDG_DATA_HOME=str(home / "xdg-data"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
    )
    return env


class Terminal:
    """`python -m termnews ARGS` in a PTY of the given size; `screen()` is what is shown."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        columns: int = 120,
        lines: int = 40,
        cwd: Path | None = None,
    ) -> None:
        # pytest-xdist workers run with COLUMNS=80 LINES=24, which Textual prefers to the
        # PTY's own size: the child must see only the PTY.
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TERMNEWS_") and k not in ("COLUMNS", "LINES")
        }
        base.update({"TERM": "xterm-256color", "COLORTERM": "truecolor"})
        base.update(env or {})
        self.screen_model, self.stream = emulator(columns, lines)
        self.raw = bytearray()
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "termnews", *args],
            env=base,
            dimensions=(lines, columns),
            cwd=str(cwd) if cwd else None,
        )

    def pump(self, timeout: float = 0.1) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            return
        self.raw.extend(data)
        self.stream.feed(data)

    def drain(self, quiet: float = 0.05, most: float = 1.0) -> None:
        """Read until no byte comes for `quiet` seconds (at most `most` seconds)."""
        deadline = time.monotonic() + most
        while time.monotonic() < deadline:
            try:
                data = self.child.read_nonblocking(65536, timeout=quiet)
            except (pexpect.TIMEOUT, pexpect.EOF):
                return
            self.raw.extend(data)
            self.stream.feed(data)

    def screen(self) -> str:
        return self.screen_model.text

    def wait_for(self, text: str, timeout: float = 45.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            shown = self.screen()
            if text in shown:
                # The rest of the frame it came in (a frame can arrive in several reads):
                # what the caller checks next is on the same screen.
                self.drain()
                shown = self.screen()
                if text in shown:
                    return shown
            if not self.child.isalive():
                self.pump()
                break
        raise AssertionError(f"{text!r} did not appear; the screen shows:\n{self.screen()}")

    def press(self, *keys: str) -> None:
        names = {
            "enter": "\r",
            "tab": "\t",
            "escape": "\x1b",
            "ctrl+s": "\x13",
            "ctrl+e": "\x05",
            "ctrl+q": "\x11",
            "up": "\x1b[A",
            "down": "\x1b[B",
        }
        for key in keys:
            self.child.send(names.get(key, key))
            self.pump(0.05)

    def type(self, text: str) -> None:
        self.child.send(text)
        self.pump(0.05)

    def signal(self, signum: int = signal.SIGHUP) -> None:
        self.child.kill(signum)

    def leave_to_lists(self) -> None:
        """From the comments pane back to the lists, a screen at a time."""
        self.press("q")
        self.wait_for("C Write comment")  # the reader
        self.press("q")
        self.wait_for("a Add")  # the lists

    def quit_from_lists(self) -> int:
        """q leaves the article pane, the next q quits: the exit status."""
        self.press("q")
        self.pump(0.5)
        self.press("q")
        return self.wait_exit()

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self.pump()
        if self.child.isalive():
            self.child.terminate(force=True)
            raise AssertionError("termnews did not exit")
        self.child.close()
        status = self.child.exitstatus
        return status if status is not None else 128 + (self.child.signalstatus or 0)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
