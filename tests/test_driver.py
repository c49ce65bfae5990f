"""The terminal driver's input thread: it sleeps until there is input (an idle session
costs no wake-ups), still turns a lone Escape into a key, and wakes as soon as input stops.

The PTY tests run termnews in a real pseudo-terminal and read the kernel's count of the
process's context switches (/proc/PID/task/*/status) while nothing is pressed.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from textual._xterm_parser import XTermParser

from termnews.config import Paths, Settings
from termnews.service import NewsService
from termnews.terminal.driver import FALLBACK_TIMEOUT, QuietLinuxDriver, parser_timeout
from tests.support.terminal import Terminal, termnews_env

IDLE_SECONDS = 2.0


def context_switches(pid: int) -> int:
    """Voluntary context switches of all the process's threads so far (each is a wake-up
    after a sleep)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:
            continue  # a thread that just ended
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def test_the_parser_timeout_is_none_until_a_lone_escape_waits() -> None:
    parser = XTermParser()
    assert parser_timeout(parser) is None  # nothing pending: the thread may sleep
    list(parser.feed("\x1b"))  # Escape, or the start of a sequence: only time tells
    pending = parser_timeout(parser)
    assert pending is not None and 0.0 <= pending <= 1.0
    time.sleep(pending + 0.01)
    keys = list(parser.tick())
    assert [getattr(key, "key", None) for key in keys] == ["escape"]
    assert parser_timeout(parser) is None


def test_a_parser_whose_timeout_cannot_be_read_gets_textuals_tick() -> None:
    assert parser_timeout(object()) == FALLBACK_TIMEOUT


def subscribed(tmp_path: Path) -> tuple[Path, Path]:
    """A data dir with one feed (never fetched) and a config without a refresh on start."""
    data, config = tmp_path / "data", tmp_path / "config.toml"
    config.write_text("[general]\nrefresh_on_start = false\n", encoding="utf-8")
    service = NewsService.open(Paths(config, data), Settings())
    service.subscribe("http://127.0.0.1:9/feed.xml", title="Quiet feed")
    service.close()
    return data, config


def test_the_reader_runs_on_the_quiet_driver(tmp_path: Path) -> None:
    from termnews.app import TermNewsApp

    data, config = subscribed(tmp_path)
    service = NewsService.open(Paths(config, data), Settings())
    try:
        assert TermNewsApp(service).driver_class is QuietLinuxDriver
    finally:
        service.close()


@pytest.mark.e2e
def test_an_idle_session_does_not_wake_and_escape_still_works(tmp_path: Path) -> None:
    data, config = subscribed(tmp_path)
    term = Terminal(["--data-dir", str(data), "--config", str(config)], env=termnews_env(tmp_path))
    try:
        term.wait_for("Quiet feed")
        term.press("?")
        term.wait_for("termnews keys")
        term.drain(quiet=0.5, most=5.0)  # the frame is out and nothing else is due
        before = context_switches(term.child.pid)
        time.sleep(IDLE_SECONDS)
        woke = context_switches(term.child.pid) - before
        # Textual's own input thread wakes every 0.1 s: 20 times in these 2 seconds.
        assert woke < 5, f"{woke} wake-ups in {IDLE_SECONDS} s with nothing pressed"
        term.press("escape")  # a lone Escape: a key only after the parser's timeout
        deadline = time.monotonic() + 30
        while "termnews keys" in term.screen() and time.monotonic() < deadline:
            term.pump(0.1)
        assert "termnews keys" not in term.screen()
        term.press("ctrl+q")
        assert term.child.wait() == 0
    finally:
        term.close()


@pytest.mark.e2e
def test_a_terminal_gone_without_a_hang_up_signal_still_ends_the_session(
    tmp_path: Path,
) -> None:
    """termnews on a PTY that is not its controlling terminal (a new session): when the
    terminal goes, the kernel sends it no SIGHUP, and reading it only fails. It must end
    as on a hang-up (status 128 + SIGHUP), not live on reading nothing."""
    data, config = subscribed(tmp_path)
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = termnews_env(tmp_path)
    command = [sys.executable, "-m", "termnews", "--data-dir", str(data), "--config", str(config)]
    child = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    try:
        shown, deadline = b"", time.monotonic() + 45
        while b"Quiet feed" not in shown and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                shown += os.read(master, 65536)
        assert b"Quiet feed" in shown
    finally:
        os.close(master)  # the terminal goes
    try:
        status = child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise AssertionError("termnews lived on after its terminal went") from None
    assert status == 128 + signal.SIGHUP
