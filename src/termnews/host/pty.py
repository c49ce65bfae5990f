"""One termnews process on its own PTY, with its output handed to a callback.

The process is forked by the session zygote when there is one, else exec'd here. Either
way it gets its own session with the PTY as its controlling terminal, default signal
dispositions and nothing blocked, so a dropped connection (SIGHUP) ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import struct
import termios
from collections.abc import Callable
from pathlib import Path

from termnews.host.zygote import Zygote, ZygoteError, ZygoteLost

log = logging.getLogger("termnews.serve")

GRACE_SECONDS = 1.0  # between SIGHUP and SIGKILL when a connection drops
MAX_COLUMNS, MAX_ROWS = 1000, 500  # a client cannot make the child draw a huge screen

# Dispositions a session must not inherit: a server started under `nohup` ignores SIGHUP,
# and its sessions would then outlive their connection.
RESET_SIGNALS = (
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGTSTP,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGPIPE,
    signal.SIGCHLD,
)


def prepare_child() -> None:
    """Runs in the child between fork and exec, after setsid(): default signal
    dispositions, nothing blocked, and the PTY on fd 0 as the controlling terminal."""
    for signum in RESET_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _winsize(columns: int, rows: int, pixel_width: int = 0, pixel_height: int = 0) -> bytes:
    columns = min(max(columns or 80, 1), MAX_COLUMNS)
    rows = min(max(rows or 24, 1), MAX_ROWS)
    return struct.pack("HHHH", rows, columns, pixel_width & 0xFFFF, pixel_height & 0xFFFF)


class ChildTerminal:
    """One termnews process on its own PTY, with its output handed to a callback.

    The process is forked by the session zygote when there is one, else exec'd here.
    """

    def __init__(self, on_output: Callable[[bytes], None]) -> None:
        self._on_output = on_output
        self._loop = asyncio.get_running_loop()
        self._master: int | None = None
        self._pid: int | None = None
        self._exit: asyncio.Future[int] | None = None
        self._pending = bytearray()
        self._reading = False
        self.on_input_drained: Callable[[], None] | None = None
        self.zygote_pid: int | None = None  # the parent, when the zygote forked it

    @property
    def pid(self) -> int | None:
        return self._pid

    async def start(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        size: tuple[int, int, int, int],
        zygote: Zygote | None = None,
    ) -> None:
        master, slave = os.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, _winsize(*size))
            if zygote is not None and zygote.ready:
                parent = zygote.pid
                try:
                    self._pid, self._exit = await zygote.spawn(argv, env, cwd, size, slave)
                    self.zygote_pid = parent
                except ZygoteLost as exc:
                    raise OSError(str(exc)) from exc
                except ZygoteError as exc:
                    log.warning("the session zygote cannot start this session (%s): exec", exc)
            if self._pid is None:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                    preexec_fn=prepare_child,
                    close_fds=True,
                )
                self._pid, self._exit = process.pid, asyncio.ensure_future(process.wait())
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self.resume_output()

    def resume_output(self) -> None:
        if self._master is not None and not self._reading:
            self._loop.add_reader(self._master, self._read)
            self._reading = True

    def pause_output(self) -> None:
        if self._master is not None and self._reading:
            self._loop.remove_reader(self._master)
            self._reading = False

    def _read(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every process let go of the terminal
            data = b""
        if data:
            self._on_output(data)
        else:
            self.pause_output()

    def drain_output(self) -> None:
        """Hand over what the child wrote just before it exited."""
        while self._master is not None:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            if not data:
                return
            self._on_output(data)

    @property
    def pending_input(self) -> int:
        return len(self._pending)

    def write(self, data: bytes) -> None:
        if self._master is None:
            return
        if not self._pending:
            try:
                written = os.write(self._master, data)
            except BlockingIOError:
                written = 0
            except OSError:
                return
            data = data[written:]
            if not data:
                return
            self._loop.add_writer(self._master, self._flush)
        self._pending += data

    def _flush(self) -> None:
        assert self._master is not None
        try:
            written = os.write(self._master, self._pending)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending)
        del self._pending[:written]
        if not self._pending:
            self._loop.remove_writer(self._master)
            if self.on_input_drained is not None:
                self.on_input_drained()

    def resize(self, columns: int, rows: int, pixel_width: int, pixel_height: int) -> None:
        # Setting the size on the master also sends SIGWINCH to the child's foreground group.
        if self._master is not None:
            with contextlib.suppress(OSError):
                fcntl.ioctl(
                    self._master,
                    termios.TIOCSWINSZ,
                    _winsize(columns, rows, pixel_width, pixel_height),
                )

    async def wait(self) -> int:
        assert self._exit is not None
        return await asyncio.shield(self._exit)

    def _signal_group(self, signum: int) -> None:
        assert self._pid is not None
        if self._exit is not None and self._exit.done():
            return  # reaped: the pid may belong to someone else by now
        try:
            os.killpg(self._pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signum)

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGHUP to the child's process group, SIGKILL after `grace`, then reap (the
        zygote reaps its children and reports; an exec'd child is reaped here)."""
        exited = self._exit
        if exited is not None and not exited.done():
            self._signal_group(signal.SIGHUP)
            try:
                await asyncio.wait_for(asyncio.shield(exited), grace)
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
                await asyncio.shield(exited)
        self.close()

    def close(self) -> None:
        if self._master is None:
            return
        self.pause_output()
        if self._pending:
            self._loop.remove_writer(self._master)
            self._pending.clear()
        os.close(self._master)
        self._master = None
