"""Output toward a slow client: stop reading the session's PTY while much is unsent.

asyncssh does not pass the TCP transport's back-pressure on to its channels, and a
client's channel window is 2 MB: on a slow link every frame the session draws is read
from the PTY at once and queues in the kernel's socket buffer and the link, where the
terminal gets, seconds later, a backlog of stale frames. Here the bytes written to the
connection that the client has not yet acknowledged (SIOCOUTQ) and those still in the
channel's buffer are counted; above HIGH the PTY is not read until they drop to LOW.
The session's output then waits in the PTY, where the app's output layer sees it and
coalesces frames (see termnews.terminal.hook).
"""

from __future__ import annotations

import asyncio
import fcntl
import struct
import termios
from collections.abc import Callable
from typing import Protocol

HIGH = 32768  # bytes in flight above which the PTY is not read
LOW = 16384  # ... and below which it is read again (over 1 Mbit/s x 100 ms)
POLL_SECONDS = 0.01  # the kernel says nothing when an acknowledgement arrives: look


class Socket(Protocol):  # a socket, or asyncio's TransportSocket around one
    def fileno(self) -> int: ...


def unacknowledged(sock: Socket | None) -> int:
    """Bytes written to a TCP socket that its peer has not acknowledged (0 if unknown)."""
    if sock is None:
        return 0
    try:
        answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")  # = SIOCOUTQ
    except (OSError, ValueError):
        return 0
    return int(struct.unpack("i", answer)[0])


class OutputGate:
    """Holds a PTY's reading while `backlog()` is above HIGH, and resumes below LOW."""

    def __init__(
        self,
        backlog: Callable[[], int],
        hold: Callable[[], None],
        release: Callable[[], None],
        *,
        high: int = HIGH,
        low: int = LOW,
    ) -> None:
        self._backlog = backlog
        self._hold = hold
        self._release = release
        self._high, self._low = high, low
        self._timer: asyncio.TimerHandle | None = None

    @property
    def holding(self) -> bool:
        return self._timer is not None

    def wrote(self) -> None:
        """Call after each write to the client."""
        if self._timer is None and self._backlog() > self._high:
            self._schedule()
            self._hold()

    def _schedule(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(POLL_SECONDS, self._check)

    def _check(self) -> None:
        if self._backlog() > self._low:
            self._schedule()
            return
        self._timer = None
        self._release()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
