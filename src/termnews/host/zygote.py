"""The server's side of the session zygote of `termnews serve`.

Starting a session used to mean a fresh Python that spends ~0.35 s of CPU importing
Textual and termnews before drawing anything, and holds its own copy of every module.
The zygote (``zygote_main``, run with ``python -m``) is one process, started by the
server before it accepts connections, that has imported everything a session needs and
then waits. For each session the server sends it the PTY slave (SCM_RIGHTS over a Unix
socket pair) and a small JSON request; the zygote forks, and the child becomes the
session exactly as an exec'd `python -m termnews --as NAME` would. Modules are shared
copy-on-write between all sessions.

The zygote spawns sessions but they do not depend on it: each has its own session and
controlling terminal (the PTY, whose master the server holds), and the server watches
each one's exit through a pidfd. The zygote reports exit statuses while it lives; if it
dies, its sessions go on (reparented to init) and the server still sees them end, and
starts a new zygote for new sessions.

Messages (one JSON object per SOCK_SEQPACKET datagram):
  zygote -> server  {"ready": PID, "argv_room": N, "env_room": N}
  server -> zygote  {"id": N, "argv": [...], "env": {...}, "cwd": "...", "size": [c, r, pw, ph]}
                    with the PTY slave attached
  zygote -> server  {"id": N, "pid": PID} or {"id": N, "error": "..."}
  zygote -> server  {"exit": PID, "status": S}  (S as Popen.returncode: -SIG if killed)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from termnews.errors import TermnewsError

log = logging.getLogger("termnews.serve")

ROOM_VARIABLE = "TERMNEWS_ZYGOTE_ROOM"
ENV_ROOM = 16384  # bytes of environment a session may have beyond the zygote's own
READY_SECONDS = 60.0  # how long the zygote may take to import everything
SPAWN_SECONDS = 10.0
MAX_MESSAGE = 1 << 20
START_FAILED_STATUS = 127  # a forked session that could not become one exits so
RESTART_LIMIT = 3  # deaths within RESTART_WINDOW of starting before giving up on the zygote
RESTART_WINDOW = 30.0
# The exit status reported for a session whose zygote died before it: its new parent
# (init) reaps it, so the server sees it end but not how.
UNKNOWN_STATUS = 0


def supported() -> bool:
    """Fork, fd passing, pidfds and the /proc view the children rewrite: Linux only."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and hasattr(os, "pidfd_open")
        and hasattr(socket, "send_fds")
        and hasattr(socket, "SOCK_SEQPACKET")
    )


def argv_block(argv: Sequence[str]) -> bytes:
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def env_block(env: Mapping[str, str]) -> bytes:
    return b"".join(os.fsencode(f"{name}={value}") + b"\0" for name, value in env.items())


class ZygoteError(TermnewsError):
    """The zygote cannot start this session; the server may exec it instead."""


class ZygoteLost(ZygoteError):
    """The request may have reached the zygote: do not start the session another way."""


def zygote_environment(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env[ROOM_VARIABLE] = "x" * ENV_ROOM
    return env


@dataclass(slots=True, eq=False)
class _Spawned:
    """A session the zygote forked, as the server follows it."""

    pid: int
    exit: asyncio.Future[int]
    pidfd: int | None = None
    exited: bool = False  # the pidfd said so; the status comes from the zygote
    orphaned: bool = False  # the zygote died first: nobody will report the status

    def finish(self, status: int) -> None:
        if not self.exit.done():
            self.exit.set_result(status)

    def close_pidfd(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.pidfd is not None:
            loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None


class Zygote:
    """The server's handle on the zygote: start, spawn sessions, restart when it dies."""

    def __init__(self, base_env: Mapping[str, str], cwd: Path, argv_room: int) -> None:
        self._base_env = dict(base_env)
        self._cwd = cwd
        self._argv_room = argv_room
        self._loop = asyncio.get_running_loop()
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._requests: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._spawned: dict[int, _Spawned] = {}  # sessions this zygote forked, by pid
        self._next_id = 1
        self._rooms = (0, 0)
        self._watcher: asyncio.Task[None] | None = None
        self._deaths: list[float] = []
        self._closing = False
        self.pid: int | None = None

    @property
    def ready(self) -> bool:
        return self.pid is not None and self._sock is not None

    async def start(self) -> None:
        """Start the zygote and wait until it has imported everything."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started = time.monotonic()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "termnews.host.zygote_main",
                str(child.fileno()),
                "x" * self._argv_room,
                stdin=subprocess.DEVNULL,
                env=zygote_environment(self._base_env),
                cwd=self._cwd,
                pass_fds=(child.fileno(),),
                start_new_session=True,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        parent.setblocking(False)
        self._sock = parent
        self._ready = self._loop.create_future()
        self._loop.add_reader(parent, self._readable)
        process = self._process
        self._watcher = asyncio.ensure_future(self._watch(process))
        try:
            hello = await asyncio.wait_for(asyncio.shield(self._ready), READY_SECONDS)
        except (TimeoutError, ZygoteError) as exc:
            self._lost()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise ZygoteError(f"the session zygote did not start: {exc or 'timed out'}") from exc
        self._rooms = (int(hello["argv_room"]), int(hello["env_room"]))
        self.pid = int(hello["ready"])
        log.info(
            "session zygote ready (pid %d, imports took %.1f s)",
            self.pid,
            time.monotonic() - started,
        )

    async def spawn(
        self,
        argv: list[str],
        env: Mapping[str, str],
        cwd: Path,
        size: tuple[int, int, int, int],
        slave: int,
    ) -> tuple[int, asyncio.Future[int]]:
        """Fork a session on `slave`; its pid and a future for its exit status."""
        if not self.ready or self._sock is None:
            raise ZygoteError("the session zygote is not running")
        argv_room, env_room = self._rooms
        if len(argv_block(argv)) > argv_room or len(env_block(env)) > env_room:
            raise ZygoteError("the session's command line or environment is too long")
        request_id, self._next_id = self._next_id, self._next_id + 1
        message = {
            "id": request_id,
            "argv": argv,
            "env": dict(env),
            "cwd": str(cwd),
            "size": list(size),
        }
        reply_future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._requests[request_id] = reply_future
        try:
            socket.send_fds(self._sock, [json.dumps(message).encode("utf-8")], [slave])
        except OSError as exc:
            self._requests.pop(request_id, None)
            raise ZygoteError(f"cannot reach the session zygote: {exc}") from exc
        try:
            reply = await asyncio.wait_for(asyncio.shield(reply_future), SPAWN_SECONDS)
        except TimeoutError as exc:
            self._requests.pop(request_id, None)
            log.error("the session zygote did not answer in %.0f s: restarting it", SPAWN_SECONDS)
            self.kill()
            raise ZygoteLost("the session zygote did not answer") from exc
        if "pid" not in reply:
            raise ZygoteError(str(reply.get("error", "the session zygote refused")))
        exit_future: asyncio.Future[int] = reply["exit_future"]
        return int(reply["pid"]), exit_future

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def close(self) -> None:
        """Stop the zygote: it exits when its socket closes (sessions are stopped first)."""
        self._closing = True
        process = self._process
        self._lost()
        for spawned in self._spawned.values():
            spawned.close_pidfd(self._loop)
            spawned.finish(UNKNOWN_STATUS)
        self._spawned.clear()
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    # -- messages and deaths ------------------------------------------------------------

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            try:
                self._handle(json.loads(data))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable message from the session zygote: %s", exc)

    def _handle(self, message: dict[str, Any]) -> None:
        if "exit" in message:
            spawned = self._spawned.pop(int(message["exit"]), None)
            if spawned is not None:
                spawned.close_pidfd(self._loop)
                spawned.finish(int(message["status"]))
        elif "ready" in message:
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message)
        elif "id" in message:
            future = self._requests.pop(int(message["id"]), None) if message["id"] else None
            pid = message.get("pid")
            if pid is not None:
                # The reply carries the exit future: the exit report may come first.
                message["exit_future"] = self._track(int(pid))
                if future is None or future.done():  # its requester gave up: no session
                    _kill_group(int(pid), signal.SIGKILL)
            if future is not None and not future.done():
                future.set_result(message)

    def _track(self, pid: int) -> asyncio.Future[int]:
        """Watch a new session's exit through a pidfd: it reports the end even when the
        zygote is gone (the zygote's report, while it lives, gives the status)."""
        stale = self._spawned.pop(pid, None)
        if stale is not None:  # an orphan that ended: its pid was free to reuse
            stale.close_pidfd(self._loop)
            stale.finish(UNKNOWN_STATUS)
        spawned = _Spawned(pid, self._loop.create_future())
        self._spawned[pid] = spawned
        try:
            spawned.pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # already reaped by the zygote: its report follows
            return spawned.exit
        except OSError as exc:
            log.error("cannot watch session %d (%s): it ends with the zygote", pid, exc)
            return spawned.exit
        self._loop.add_reader(spawned.pidfd, self._session_ended, spawned)
        return spawned.exit

    def _session_ended(self, spawned: _Spawned) -> None:
        spawned.exited = True
        spawned.close_pidfd(self._loop)
        if spawned.orphaned:
            spawned.finish(UNKNOWN_STATUS)
            if self._spawned.get(spawned.pid) is spawned:
                del self._spawned[spawned.pid]

    def _lost(self) -> None:
        """The socket is gone: fail what waits on it. Sessions go on: their exits are
        seen through their pidfds from now on."""
        if self._sock is not None:
            self._loop.remove_reader(self._sock)
            self._sock.close()
            self._sock = None
        self.pid = None
        lost = ZygoteLost("the session zygote went away")
        for future in self._requests.values():
            if not future.done():
                future.set_exception(lost)
        self._requests.clear()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(lost)
        for spawned in self._spawned.values():
            spawned.orphaned = True
            if spawned.exited or spawned.pidfd is None:
                spawned.finish(UNKNOWN_STATUS)
        self._spawned = {pid: s for pid, s in self._spawned.items() if not s.exit.done()}

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        status = await process.wait()
        if self._closing or process is not self._process:
            return
        self._lost()
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW] + [now]
        if len(self._deaths) > RESTART_LIMIT:
            log.error(
                "the session zygote exited (status %s) %d times in %.0f s: "
                "sessions now start with exec",
                status,
                len(self._deaths),
                RESTART_WINDOW,
            )
            return
        log.error("the session zygote exited (status %s): restarting it", status)
        try:
            await self.start()
        except (OSError, ZygoteError) as exc:
            log.error("%s; sessions start with exec meanwhile", exc)


def _kill_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
