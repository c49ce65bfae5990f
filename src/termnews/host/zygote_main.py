"""The session zygote of `termnews serve`: `python -m termnews.host.zygote_main FD ROOM`.

It imports everything a session needs, then waits on FD (its end of a socket pair with
the server) for requests; each is forked into a session that becomes exactly what an
exec'd `python -m termnews --as NAME` would be: its own session and controlling terminal,
default signal dispositions, nothing blocked, the server's filtered environment, fresh
random state, then `termnews.cli.main`. The protocol is described in host/zygote.py.

The zygote stays single-threaded with no event loop and no database: it checks
`threading.active_count() == 1` before every fork and refuses (the server then execs)
otherwise. It reaps the sessions it forked and reports each exit while it lives.

The child also rewrites its argv and environment strings in place (as setproctitle
does), so `ps` and /proc/PID/{cmdline,environ} show the session's own command line and
exactly its filtered environment, not the zygote's. The zygote is started with room for
both: a padding argument and a padding variable, sized by the server.

What forked sessions still share (README, "Over SSH"): the hash seed of str/bytes (fixed
when the interpreter starts) and the address-space layout of the zygote. `--no-zygote`
gives every session its own.

This is the only host module that imports the CLI (the session runs it).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import json
import os
import pkgutil
import random
import select
import signal
import socket
import struct
import sys
import tempfile
import termios
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from termnews.host.pty import RESET_SIGNALS
from termnews.host.zygote import (
    MAX_MESSAGE,
    ROOM_VARIABLE,
    START_FAILED_STATUS,
    argv_block,
    env_block,
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
    "termnews.comments",
    "termnews.screens",
    "termnews.widgets",
    "httpx",
    "feedparser",
    "sqlite3",
    "textual.drivers.linux_driver",
    "termnews.terminal.driver",
    "textual._xterm_parser",
)
PRELOAD_PACKAGES = ("termnews.cli", "termnews.comments", "termnews.screens", "termnews.widgets")


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
        readable = select.select([sock.fileno(), wake_r], [], [])[0]
        if wake_r in readable:
            with contextlib.suppress(OSError):
                while os.read(wake_r, 512):
                    pass
        if sock.fileno() in readable:
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
            os._exit(START_FAILED_STATUS)
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
    args, envs = argv_block(argv), env_block(env)
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

    def stream(binary: io.BufferedReader | io.BufferedWriter, errors: str) -> io.TextIOWrapper:
        return io.TextIOWrapper(
            binary, encoding=encoding, errors=errors, newline="\n", line_buffering=True
        )

    # The session's streams for its whole life (hence no `with`).
    stdin = stream(open(0, "rb", closefd=False), errors)  # noqa: SIM115
    stdout = stream(open(1, "wb", closefd=False), errors)  # noqa: SIM115
    stderr = stream(open(2, "wb", closefd=False), "backslashreplace")  # noqa: SIM115
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    # sys.__stdin__ and friends are Final to type checkers; a new interpreter sets them.
    vars(sys).update(__stdin__=stdin, __stdout__=stdout, __stderr__=stderr)


def reseed() -> None:
    """Give this session randomness of its own: every session forked from one zygote
    would otherwise start from the zygote's state wherever it is not re-seeded."""
    random.seed(os.urandom(32))
    tempfile._name_sequence = None  # type: ignore[attr-defined]  # private: a new one is made
    with contextlib.suppress(ImportError):
        import ssl

        ssl.RAND_add(os.urandom(32), 32.0)


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
    reseed()
    gc.enable()
    os._exit(_run_termnews(argv))


def _run_termnews(argv: list[str]) -> int:
    """`python -m termnews ARGS` without the exec: main, then the interpreter's exit."""
    import importlib.util

    spec = importlib.util.find_spec("termnews.__main__")  # its file name, as `-m` sets it
    args = argv[3:] if argv[1:3] == ["-m", "termnews"] else argv[1:]
    sys.argv = [(spec.origin if spec else None) or "termnews", *args]
    sys.orig_argv = list(argv)
    from termnews.cli import main

    try:
        status = main(args)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # as the interpreter would: report, exit 1
        traceback.print_exc()
        status = 1
    with contextlib.suppress(Exception):
        # Join non-daemon threads as the interpreter does; private, hence not in typeshed.
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        import atexit

        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return int(status) & 0xFF


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m termnews.host.zygote_main FD [ROOM]`: FD is the server's end of the
    socket pair."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        fd = int(args[0])
        sock = socket.socket(fileno=fd)
    except (IndexError, ValueError, OSError):
        print("the session zygote is started by `termnews serve` only", file=sys.stderr)
        return 2
    os.environ.pop(ROOM_VARIABLE, None)
    preload()
    from termnews.cli import build_parser
    from termnews.cli.common import warm_up
    from termnews.render_cache import renderer_digest

    build_parser()  # kept by the process: sessions parse their arguments with it
    renderer_digest()  # the renderer's own source, read once for all sessions
    warm_up()
    if threading.active_count() != 1:
        print("termnews zygote: importing started threads; giving up", file=sys.stderr)
        return 1
    try:
        return serve(sock)
    except (BrokenPipeError, ConnectionError):
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
