"""Textual's Linux driver, with an input thread that sleeps until there is input.

Textual's input thread wakes every 0.1 s to look for its exit flag and the parser's
timeouts (a lone Escape is a key only once no sequence follows it): an idle session woke
ten times a second, and on a host every member's idle session did. This one waits on the
terminal and a pipe of its own, with a timeout only while the parser has one pending;
setting the exit flag writes to the pipe, so leaving (quit, suspend) no longer waits up to
0.2 s for the thread to notice. When the terminal goes, the process is told as on a
hang-up.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

FALLBACK_TIMEOUT = 0.1  # Textual's own tick, for a parser whose timeout cannot be read


class _WakingEvent(threading.Event):
    """The driver's exit flag, with the pipe that wakes the input thread when it is set."""

    def __init__(self) -> None:
        super().__init__()
        self.fd = self._write = -1

    def open(self) -> None:
        if self.fd < 0:
            self.fd, self._write = os.pipe()  # not inherited by children (PEP 446)
            os.set_blocking(self.fd, False)
            os.set_blocking(self._write, False)

    def set(self) -> None:
        super().set()
        if self._write >= 0:
            with contextlib.suppress(OSError):  # full: the thread is being woken anyway
                os.write(self._write, b"\0")

    def drain(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.fd, 512):
                pass

    def close(self) -> None:
        fds, self.fd, self._write = (self.fd, self._write), -1, -1
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


_MISSING = object()


def parser_timeout(parser: Any) -> float | None:
    """Seconds until the parser's pending timeout; None while it waits for nothing."""
    due = getattr(parser, "_timeout_time", _MISSING)  # private (Textual 8.2)
    if due is None:
        return None
    if isinstance(due, float | int):
        return max(0.0, due - get_time())
    return FALLBACK_TIMEOUT


def hung_up() -> None:
    """The terminal is gone: the process is told so as a hang-up would (one whose tty is
    not its controlling terminal gets no SIGHUP from the kernel) and ends as it does on
    one. Textual's own loop read the end of input again and again: a core at 100%, for
    as long as the process lived."""
    os.kill(os.getpid(), signal.SIGHUP)


class QuietLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread is woken by input, its exit, or a parser timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exit_event = self._exit = _WakingEvent()

    def run_input_thread(self) -> None:
        """Wait for input and dispatch its events (Textual's loop, without the polling)."""
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        exit_event = self._exit
        exit_event.open()  # before the flag is first looked at: setting it now wakes this
        with selectors.SelectSelector() as selector:  # as Textual: ttys and kqueue differ
            selector.register(self.fileno, selectors.EVENT_READ)
            selector.register(exit_event.fd, selectors.EVENT_READ)
            try:
                while not exit_event.is_set():
                    for key, _ in selector.select(parser_timeout(parser)):
                        if key.fd == exit_event.fd:
                            exit_event.drain()
                            continue
                        try:
                            data = decode(os.read(self.fileno, 4096))
                        except OSError:  # EIO: the terminal went away
                            data = ""
                        if not data:  # nothing more will come: the terminal hung up
                            selector.unregister(self.fileno)
                            hung_up()
                            continue
                        for event in parser.feed(data):
                            self.process_message(event)
                    for event in parser.tick():
                        self.process_message(event)
            finally:
                with contextlib.suppress(Exception):  # as Textual: flush, ignore errors
                    for _event in parser.feed(""):
                        pass

    def stop_application_mode(self) -> None:
        super().stop_application_mode()  # sets the exit flag and waits for the thread
        thread = getattr(self, "_key_thread", None)
        if thread is None or not thread.is_alive():
            self._exit.close()  # a new one for the next start (after a suspend)
