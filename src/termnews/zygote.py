"""A pre-forked session zygote for `termnews serve`.

Starting a session used to mean a fresh Python that spends ~0.35 s of CPU importing
Textual and termnews before drawing anything, and holds its own copy of every module.
The zygote is one process, started by the server before it accepts connections, that
has imported everything a session needs and then waits. For each session the server
sends it the PTY slave (SCM_RIGHTS over a Unix socket pair) and a small JSON request;
the zygote forks, and the child becomes the session exactly as an exec'd
`python -m termnews --as NAME` would: its own session and controlling terminal, default
signal dispositions, nothing blocked, the server's filtered environment, then
`termnews.cli.main`. Modules are shared copy-on-write between all sessions.

The zygote stays single-threaded with no event loop and no database: it checks
`threading.active_count() == 1` before every fork and refuses (the server then execs)
otherwise. Sessions are the zygote's children: it reaps them and reports each exit.

The child also rewrites its argv and environment strings in place (as setproctitle
does), so `ps` and /proc/PID/{cmdline,environ} show the session's own command line and
exactly its filtered environment, not the zygote's. The zygote is started with room for
both: a padding argument and a padding variable, sized by the server.

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
import fcntl
import gc
import importlib
import io
import json
import logging
import os
import pkgutil
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from termnews.errors import TermnewsError

log = logging.getLogger("termnews.serve")

ROOM_VARIABLE = "TERMNEWS_ZYGOTE_ROOM"
ENV_ROOM = 16384  # bytes of environment a session may have beyond the zygote's own
READY_SECONDS = 60.0  # how long the zygote may take to import everything
SPAWN_SECONDS = 10.0
MAX_MESSAGE = 1 << 20
EXIT_START_FAILED = 127
RESTART_LIMIT = 3  # deaths within RESTART_WINDOW of starting before giving up on the zygote
RESTART_WINDOW = 30.0

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

# What a session imports; submodules of the packages are walked too.
PRELOAD = (
    "termnews.cli",
    "termnews.app",
    "termnews.service",
    "termnews.render",
    "termnews.store",
    "termnews.feeds.fetch",
    "termnews.feeds.parse",
    "termnews.feeds.discover",
    "termnews.feeds.opml",
    "termnews.members",
    "termnews.comments",
    "termnews.screens",
    "termnews.widgets",
    "httpx",
    "feedparser",
    "sqlite3",
    "textual.drivers.linux_driver",
    "textual._xterm_parser",
)
PRELOAD_PACKAGES = ("termnews.comments", "termnews.screens", "termnews.widgets")


def supported() -> bool:
    """Fork, fd passing and the /proc view the children rewrite: Linux only."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and hasattr(socket, "send_fds")
        and hasattr(socket, "SOCK_SEQPACKET")
    )


# -- the zygote process ----------------------------------------------------------------


def preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for package_name in PRELOAD_PACKAGES:
        package = sys.modules.get(package_name)
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            with contextlib.suppress(ImportError):
                importlib.import_module(f"{package_name}.{info.name}")


def _proc_areas() -> tuple[int, int, int, int]:
    """arg_start, arg_end, env_start, env_end of this process (fields 48-51 of stat)."""
    text = Path("/proc/self/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    arg_start, arg_end, env_start, env_end = (int(value) for value in fields[45:49])
    return arg_start, arg_end, env_start, env_end


def _argv_block(argv: Sequence[str]) -> bytes:
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def _env_block(env: Mapping[str, str]) -> bytes:
    return b"".join(os.fsencode(f"{name}={value}") + b"\0" for name, value in env.items())


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.send(json.dumps(message).encode("utf-8"))


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(sock, {"exit": pid, "status": os.waitstatus_to_exitcode(status)})


def serve(sock: socket.socket) -> int:
    """The zygote's loop: fork a session per request, report exits, stop at EOF."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    arg_start, arg_end, env_start, env_end = _proc_areas()
    gc.collect()
    gc.freeze()  # the children's collector leaves the shared objects' pages alone
    _send(
        sock,
        {"ready": os.getpid(), "argv_room": arg_end - arg_start, "env_room": env_end - env_start},
    )
    while True:
        readable = select.select([sock, wake_r], [], [])[0]
        if wake_r in readable:
            with contextlib.suppress(OSError):
                while os.read(wake_r, 512):
                    pass
        if sock in readable:
            try:
                data, fds, _flags, _address = socket.recv_fds(sock, MAX_MESSAGE, 1)
            except ConnectionError:
                return 0
            if not data:
                return 0  # the server has gone: sessions hang up with their terminals
            try:
                reply = _fork_session(data, fds, sock, (wake_r, wake_w))
            finally:
                for fd in fds:
                    os.close(fd)
            _send(sock, reply)
        _reap(sock)


def _fork_session(
    data: bytes, fds: list[int], sock: socket.socket, pipe: tuple[int, int]
) -> dict[str, Any]:
    try:
        request = json.loads(data)
        request_id = int(request["id"])
    except (ValueError, KeyError, TypeError):
        return {"id": None, "error": "unreadable request"}
    if len(fds) != 1:
        return {"id": request_id, "error": "no terminal was passed"}
    if threading.active_count() != 1:
        return {"id": request_id, "error": "the zygote has started threads"}
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:
        try:
            _become_session(request, fds[0], sock, pipe)
        except BaseException as exc:  # nothing may return into the loop
            with contextlib.suppress(Exception):
                os.write(2, f"termnews could not start: {type(exc).__name__}: {exc}\r\n".encode())
            os._exit(EXIT_START_FAILED)
    return {"id": request_id, "pid": pid}


def _replace_environment(env: Mapping[str, str]) -> None:
    os.environ.clear()  # unsetenv() each: libc keeps no pointer into the old strings
    os.environ.update(env)
    time.tzset()


def _rewrite_proc_view(argv: Sequence[str], env: Mapping[str, str]) -> None:
    """Overwrite the zygote's argv and environment strings, so /proc/PID/cmdline and
    /proc/PID/environ (and ps) describe this session. Needs room; best effort."""
    import ctypes

    arg_start, arg_end, env_start, env_end = _proc_areas()
    args, envs = _argv_block(argv), _env_block(env)
    if len(args) > arg_end - arg_start or len(envs) > env_end - env_start:
        return
    ctypes.memmove(arg_start, args.ljust(arg_end - arg_start, b"\0"), arg_end - arg_start)
    ctypes.memmove(env_start, envs.ljust(env_end - env_start, b"\0"), env_end - env_start)


def _locale_encoding() -> tuple[str, str]:
    """The encoding and error handler a new Python would give stdin and stdout."""
    import codecs
    import locale

    try:
        name = locale.setlocale(locale.LC_CTYPE, "")
    except locale.Error:
        return "utf-8", "surrogateescape"
    encoding = codecs.lookup(locale.getencoding()).name
    if encoding == "ascii" or name in ("C", "POSIX") or name.startswith("C."):
        return "utf-8", "surrogateescape"  # a C locale is coerced to UTF-8 (PEP 538)
    return encoding, "strict"


def _reopen_stdio() -> None:
    """Standard streams as Python makes them at start-up for a terminal on fds 0-2
    (buffer sized by st_blksize, line buffered)."""
    encoding, errors = _locale_encoding()

    def stream(fd: int, mode: str, errors: str) -> io.TextIOWrapper:
        text = open(  # noqa: SIM115 - the interpreter's stream for the session's life
            fd, mode, encoding=encoding, errors=errors, newline="\n", closefd=False
        )
        text.reconfigure(line_buffering=True)
        return text

    sys.stdin = sys.__stdin__ = stream(0, "r", errors)
    sys.stdout = sys.__stdout__ = stream(1, "w", errors)
    sys.stderr = sys.__stderr__ = stream(2, "w", "backslashreplace")


def _become_session(
    request: dict[str, Any], slave: int, sock: socket.socket, pipe: tuple[int, int]
) -> NoReturn:
    os.setsid()
    signal.set_wakeup_fd(-1)
    for signum in RESET_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    # What a new Python sets up at start-up, as the exec'd session had it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    sock.close()
    for fd in pipe:
        os.close(fd)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    rows, columns = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, bytes(8)))[:2]
    size = request.get("size")
    if (rows == 0 or columns == 0) and isinstance(size, list) and len(size) == 4:
        packed = struct.pack("HHHH", size[1], size[0], size[2], size[3])
        fcntl.ioctl(0, termios.TIOCSWINSZ, packed)
    argv = [str(arg) for arg in request["argv"]]
    env = {str(name): str(value) for name, value in request["env"].items()}
    os.chdir(request["cwd"])
    _replace_environment(env)
    with contextlib.suppress(OSError, ValueError):
        _rewrite_proc_view(argv, env)
    _reopen_stdio()
    gc.enable()
    os._exit(_run_termnews(argv))


def _run_termnews(argv: list[str]) -> int:
    """`python -m termnews ARGS` without the exec: main, then the interpreter's exit."""
    import importlib.util

    spec = importlib.util.find_spec("termnews.__main__")  # its file name, as `-m` sets it
    args = argv[3:] if argv[1:3] == ["-m", "termnews"] else argv[1:]
    sys.argv = [(spec.origin if spec else None) or "termnews", *args]
    sys.orig_argv = list(argv)  # type: ignore[misc]
    from termnews.cli import main

    try:
        status = main(args)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # as the interpreter would: report, exit 1
        traceback.print_exc()
        status = 1
    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]  # join non-daemon threads
    with contextlib.suppress(Exception):
        import atexit

        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return int(status) & 0xFF


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m termnews.zygote FD [ROOM]`: FD is the server's end of the socket pair."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        fd = int(args[0])
        sock = socket.socket(fileno=fd)
    except (IndexError, ValueError, OSError):
        print("termnews.zygote is started by `termnews serve` only", file=sys.stderr)
        return 2
    os.environ.pop(ROOM_VARIABLE, None)
    preload()
    if threading.active_count() != 1:
        print("termnews zygote: importing started threads; giving up", file=sys.stderr)
        return 1
    try:
        return serve(sock)
    except (BrokenPipeError, ConnectionError):
        return 0


# -- the server's side ----------------------------------------------------------------


class ZygoteError(TermnewsError):
    """The zygote cannot start this session; the server may exec it instead."""


class ZygoteLost(ZygoteError):
    """The request may have reached the zygote: do not start the session another way."""


def zygote_environment(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env[ROOM_VARIABLE] = "x" * ENV_ROOM
    return env


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
        self._exits: dict[int, asyncio.Future[int]] = {}
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
                "termnews.zygote",
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
        if len(_argv_block(argv)) > argv_room or len(_env_block(env)) > env_room:
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
        pid = int(reply["pid"])
        return pid, self._exits[pid]

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def close(self) -> None:
        """Stop the zygote: it exits when its socket closes (sessions are stopped first)."""
        self._closing = True
        process = self._process
        self._lost()
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
            future = self._exits.pop(int(message["exit"]), None)
            if future is not None and not future.done():
                future.set_result(int(message["status"]))
        elif "ready" in message:
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message)
        elif "id" in message:
            future = self._requests.pop(int(message["id"]), None) if message["id"] else None
            pid = message.get("pid")
            if pid is not None:
                self._exits[int(pid)] = self._loop.create_future()
                if future is None or future.done():  # its requester gave up: no session
                    _kill_group(int(pid), signal.SIGKILL)
            if future is not None and not future.done():
                future.set_result(message)

    def _lost(self) -> None:
        """The socket is gone: fail what waits on it, and end sessions nobody can reap."""
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
        for pid, future in self._exits.items():
            _kill_group(pid, signal.SIGHUP)
            self._loop.call_later(1.0, _kill_group, pid, signal.SIGKILL)
            if not future.done():
                future.set_result(-signal.SIGHUP)
        self._exits.clear()

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


if __name__ == "__main__":
    raise SystemExit(main())
