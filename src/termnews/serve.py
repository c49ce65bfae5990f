"""`termnews serve`: the SSH front door of a community host, and `termnews members`.

Every SSH connection that proves it holds a member's key gets its own PTY and its own
termnews process, started as `termnews --as NAME` in restricted mode. Identity comes
from the members file only (see members.py); the client's username, environment and
command never choose it. The client's environment is cut down to a short whitelist
before it reaches the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from termnews.config import Paths, load_settings
from termnews.errors import TermnewsError
from termnews.members import (
    MemberBook,
    MemberError,
    add_member,
    members_path,
    parse_public_key,
    read_members,
    validate_name,
)
from termnews.zygote import RESET_SIGNALS, Zygote, ZygoteError, ZygoteLost
from termnews.zygote import supported as zygote_supported

if TYPE_CHECKING:
    from termnews.service import NewsService, RefreshReport

HOST_KEY_FILE = "ssh_host_ed25519_key"
LOG_FILE = "serve.log"
NO_TERMINAL = "termnews serve needs a terminal: use ssh -t"
NO_COMMANDS = "termnews serve runs no commands: connect with plain `ssh -t HOST`"
GRACE_SECONDS = 1.0  # between SIGHUP and SIGKILL when a connection drops
MAX_COLUMNS, MAX_ROWS = 1000, 500  # a client cannot make the child draw a huge screen
PROMPT_ATTEMPTS = 5
PROMPT_MAX_CHARS = 64
PROMPT_SECONDS = 120.0  # open mode: how long a new key may take to pick a name

# The only variables a client may pass to its session, with the values they may take.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._@+:=-]{1,64}")
_LC_NAME = re.compile(r"LC_[A-Z]{1,20}")
CLIENT_ENV_NAMES = frozenset({"TERM", "LANG", "COLORTERM", "NO_COLOR"})
# Taken from the server's own environment, when set (the operator's choice).
SERVER_ENV_NAMES = ("PATH", "HOME", "PYTHONPATH", "TZ")

log = logging.getLogger("termnews.serve")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ServeError(TermnewsError):
    """A problem that stops the server from starting, worded for the operator."""


@dataclass(slots=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 2222
    open_mode: bool = False
    max_sessions: int = 50
    max_per_member: int = 3
    refresh_minutes: float = 1.0
    extra_env: dict[str, str] = field(default_factory=dict)
    zygote: bool = True  # fork sessions from a pre-imported zygote; False: exec each one


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen wants HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def filter_client_env(env: Mapping[str, str]) -> dict[str, str]:
    """The client's variables that may reach the child: TERM, LANG, LC_*, COLORTERM,
    NO_COLOR, each with a plain short value. Everything else is dropped."""
    kept: dict[str, str] = {}
    for name, value in env.items():
        if name not in CLIENT_ENV_NAMES and not _LC_NAME.fullmatch(name):
            continue
        if name == "NO_COLOR":
            kept[name] = "1"  # its presence is the whole meaning
        elif _SAFE_VALUE.fullmatch(value):
            kept[name] = value
    return kept


def child_environment(
    client_env: Mapping[str, str], term_type: str | None, extra: Mapping[str, str]
) -> dict[str, str]:
    env = {name: os.environ[name] for name in SERVER_ENV_NAMES if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(filter_client_env(client_env))
    if term_type and _SAFE_VALUE.fullmatch(term_type):
        env["TERM"] = term_type
    env.setdefault("TERM", "xterm-256color")
    if "LANG" not in env and "LC_ALL" not in env:
        env["LANG"] = "C.UTF-8"
    env.update(extra)
    env["TERMNEWS_SERVED"] = "1"
    env["TERMNEWS_NO_AUTO_REFRESH"] = "1"
    return env


def child_argv(paths: Paths, member: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "termnews",
        "--data-dir",
        str(paths.data_dir),
        "--config",
        str(paths.config_file),
        "--as",
        member,
    ]


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's key: made on first start (0600), refused if others may read it."""
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment="termnews serve")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another server made it just now: read that one
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.export_private_key())
            pub = path.with_name(path.name + ".pub")
            pub.write_bytes(key.export_public_key())
            log.info("created host key %s (%s)", path, key.get_fingerprint())
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise ServeError(f"{path} may be read by other users: run `chmod 600 {path}`")
        return asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError) as exc:
        raise ServeError(f"cannot read the host key {path}: {exc}") from exc


def _prepare_child() -> None:
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
                    preexec_fn=_prepare_child,
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


@dataclass(slots=True)
class SessionRecord:
    member: str
    peer: str
    started: float


class Hub:
    """What all connections share: options, members, session counts, the log."""

    def __init__(self, paths: Paths, options: ServeOptions) -> None:
        self.paths = paths
        self.options = options
        self.book = MemberBook(members_path(paths.data_dir))
        self.sessions: dict[int, SessionRecord] = {}
        self._next_id = 1
        self.tasks: set[asyncio.Task[Any]] = set()
        self.children: set[ChildTerminal] = set()
        self.zygote: Zygote | None = None

    def admit(self, member: str, peer: str) -> tuple[int | None, str]:
        """A session id, or None and the line to show the client."""
        if len(self.sessions) >= self.options.max_sessions:
            return None, (
                f"This termnews host is full ({self.options.max_sessions} sessions): "
                "try again later."
            )
        mine = sum(1 for record in self.sessions.values() if record.member == member)
        if mine >= self.options.max_per_member:
            return None, (
                f"{member} already has {mine} termnews sessions open on this host "
                f"(the limit is {self.options.max_per_member}): close one and try again."
            )
        session_id, self._next_id = self._next_id, self._next_id + 1
        self.sessions[session_id] = SessionRecord(member, peer, time.monotonic())
        return session_id, ""

    def release(self, session_id: int) -> SessionRecord | None:
        return self.sessions.pop(session_id, None)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("session task failed: %s: %s", type(exc).__name__, exc)


class NamePrompt:
    """Open mode: a small line editor that asks a new key for a free member name."""

    def __init__(self, write: Callable[[bytes], None], book: MemberBook) -> None:
        self._write = write
        self._book = book
        self._text = ""
        self.attempts = 0

    def begin(self) -> None:
        self._write(
            b"Welcome to this termnews host. Your key is new here.\r\n"
            b"Pick a member name (1-32 of a-z 0-9 _ -); Ctrl-C leaves.\r\n"
        )
        self._write(b"name: ")

    def feed(self, data: bytes) -> str | None:
        """Returns the chosen name, "" to give up, or None while still typing."""
        for byte in data:
            char = chr(byte)
            if char in "\x03\x04":
                self._write(b"\r\n")
                return ""
            if char in "\r\n":
                self._write(b"\r\n")
                name, self._text = self._text, ""
                answer = self._check(name)
                if answer is not None:
                    return answer
                self.attempts += 1
                if self.attempts >= PROMPT_ATTEMPTS:
                    self._write(b"Too many tries; goodbye.\r\n")
                    return ""
                self._write(b"name: ")
            elif char in "\x7f\x08":
                if self._text:
                    self._text = self._text[:-1]
                    self._write(b"\x08 \x08")
            elif char.isascii() and char.isprintable() and len(self._text) < PROMPT_MAX_CHARS:
                self._text += char
                self._write(char.encode("ascii"))
        return None

    def _check(self, name: str) -> str | None:
        try:
            validate_name(name)
        except MemberError:
            self._write(b"Use 1 to 32 of a-z, 0-9, '_' and '-'.\r\n")
            return None
        if self._book.is_taken(name):
            self._write(b"That name is taken; pick another.\r\n")
            return None
        return name


class MemberSession(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """One SSH session channel: refuses what it must, then bridges a PTY child."""

    def __init__(self, server: MemberServer) -> None:
        self._server = server
        self._hub = server.hub
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._term_type: str | None = None
        self._term_size = (80, 24, 0, 0)
        self._has_pty = False
        self._refusal: str | None = None
        self._child: ChildTerminal | None = None
        self._prompt: NamePrompt | None = None
        self._session_id: int | None = None
        self._member: str | None = None
        self._closed = False
        self._prompt_timer: asyncio.TimerHandle | None = None

    # -- asyncssh callbacks -----------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:  # type: ignore[override]
        self._chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Mapping[int, int]
    ) -> bool:
        self._has_pty = True
        self._term_type = term_type
        self._term_size = term_size
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._refusal = NO_COMMANDS  # the command itself is never looked at
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal: str) -> None:
        pass  # the child's terminal is the only way to signal it (Ctrl-C and friends)

    def session_started(self) -> None:
        if self._refusal is None and not self._has_pty:
            self._refusal = NO_TERMINAL
        if self._refusal is not None:
            self._server.log_refusal(self._server.member or "new key", self._refusal)
            self._finish_with_line(self._refusal)
            return
        if self._server.member is None:  # open mode, a key seen for the first time
            if len(self._hub.sessions) >= self._hub.options.max_sessions:
                self._server.log_refusal("new key", "the host is full")
                self._finish_with_line("This termnews host is full: try again later.")
                return
            self._prompt = NamePrompt(self._write, self._hub.book)
            self._prompt.begin()
            self._prompt_timer = asyncio.get_running_loop().call_later(
                PROMPT_SECONDS, self._prompt_expired
            )
            return
        self._hub.spawn(self._start_child(self._server.member))

    def data_received(self, data: bytes, datatype: int | None) -> None:  # type: ignore[override]
        if self._prompt is not None:
            name = self._prompt.feed(data)
            if name is None:
                return
            self._prompt = None
            self._cancel_prompt_timer()
            if not name:
                self._exit(1)
                return
            self._hub.spawn(self._register_and_start(name))
        elif self._child is not None:
            self._child.write(data)
            if self._child.pending_input > 65536 and self._chan is not None:
                self._chan.pause_reading()

    def eof_received(self) -> bool:
        return True  # keep the session open; the terminal decides what EOF means

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self._term_size = (width, height, pixwidth, pixheight)
        if self._child is not None:
            self._child.resize(width, height, pixwidth, pixheight)

    def pause_writing(self) -> None:
        if self._child is not None:
            self._child.pause_output()

    def resume_writing(self) -> None:
        if self._child is not None:
            self._child.resume_output()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._cancel_prompt_timer()
        if self._child is not None:
            self._hub.spawn(self._stop_child(self._child))
        self._end_record()

    # -- the session's life -------------------------------------------------------------

    def _prompt_expired(self) -> None:
        if self._prompt is not None:
            self._prompt = None
            self._finish_with_line("\r\nNo name chosen in time; goodbye.")

    def _cancel_prompt_timer(self) -> None:
        if self._prompt_timer is not None:
            self._prompt_timer.cancel()
            self._prompt_timer = None

    def _write(self, data: bytes) -> None:
        if self._chan is not None and not self._closed:
            self._chan.write(data)

    def _exit(self, status: int) -> None:
        if self._chan is not None and not self._closed:
            with contextlib.suppress(OSError):
                self._chan.exit(status)

    def _finish_with_line(self, line: str) -> None:
        self._write((line + ("\r\n" if self._has_pty else "\n")).encode("utf-8"))
        self._exit(1)

    async def _register_and_start(self, name: str) -> None:
        key = self._server.pending_key
        assert key is not None
        try:
            await asyncio.to_thread(add_member, self._hub.book.path, name, key)
        except MemberError as exc:
            self._finish_with_line(f"Could not register {name}: {exc}")
            return
        log.info("new member %s (%s) from %s", name, key.fingerprint, self._server.peer)
        self._server.member = name
        await self._start_child(name)

    async def _start_child(self, member: str) -> None:
        if self._closed:
            return
        session_id, refusal = self._hub.admit(member, self._server.peer)
        if session_id is None:
            self._server.log_refusal(member, refusal)
            self._finish_with_line(refusal)
            return
        self._session_id, self._member = session_id, member
        assert self._chan is not None
        env = child_environment(
            self._chan.get_environment(), self._term_type, self._hub.options.extra_env
        )
        child = ChildTerminal(self._write)
        child.on_input_drained = self._input_drained
        try:
            await child.start(
                child_argv(self._hub.paths, member),
                env,
                self._hub.paths.data_dir,
                self._term_size,
                self._hub.zygote,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("could not start termnews for %s: %s", member, exc)
            self._end_record()
            self._finish_with_line("termnews could not start on this host; tell its operator.")
            return
        self._child = child
        self._hub.children.add(child)
        log.info(
            "login %s from %s (session %d, pid %s%s, %d open)",
            member,
            self._server.peer,
            session_id,
            child.pid,
            f" from zygote {child.zygote_pid}" if child.zygote_pid else "",
            len(self._hub.sessions),
        )
        if self._closed:  # the client left while the child was starting
            await self._stop_child(child)
            return
        status = await child.wait()
        child.drain_output()
        self._exit(status if status >= 0 else 128 - status)

    def _input_drained(self) -> None:
        if self._chan is not None and not self._closed:
            self._chan.resume_reading()

    async def _stop_child(self, child: ChildTerminal) -> None:
        try:
            await child.stop()
        finally:
            self._hub.children.discard(child)

    def _end_record(self) -> None:
        if self._session_id is None:
            return
        record = self._hub.release(self._session_id)
        self._session_id = None
        if record is not None:
            log.info(
                "logout %s from %s after %.1f s (%d open)",
                record.member,
                record.peer,
                time.monotonic() - record.started,
                len(self._hub.sessions),
            )


class MemberServer(asyncssh.SSHServer):
    """One SSH connection: authentication by member key, sessions, nothing else."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.peer = "?"
        self.member: str | None = None
        self.pending_key: Any = None  # open mode: the new key's PublicKey
        self._authenticated = False
        self._unknown: list[str] = []

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._authenticated and self._unknown:
            log.warning(
                "refused %s: unknown key %s", self.peer, ", ".join(dict.fromkeys(self._unknown))
            )

    def begin_auth(self, username: str) -> bool:
        return True  # the username is ignored: the key alone says who this is

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # Called for the key the client offers and again for the signed request; the last
        # call before auth_completed is the key that authenticated.
        try:
            member = self.hub.book.member_for(key.public_data)
        except MemberError as exc:
            log.error("%s", exc)
            return False
        if member is not None:
            self.member, self.pending_key = member.name, None
            return True
        fingerprint = key.get_fingerprint()
        if self.hub.options.open_mode:
            text = key.export_public_key("openssh").decode("ascii")
            self.member, self.pending_key = None, parse_public_key(text, "the client's key")
            return True
        self._unknown.append(fingerprint)
        return False

    def auth_completed(self) -> None:
        self._authenticated = True

    def session_requested(self) -> MemberSession:
        return MemberSession(self)

    def connection_requested(self, *args: object) -> bool:
        log.warning("refused port forwarding for %s from %s", self.member, self.peer)
        return False

    def server_requested(self, *args: object) -> bool:
        log.warning("refused remote forwarding for %s from %s", self.member, self.peer)
        return False

    def unix_connection_requested(self, *args: object) -> bool:
        return False

    def unix_server_requested(self, *args: object) -> bool:
        return False

    def log_refusal(self, member: str, reason: str) -> None:
        log.warning("refused %s from %s: %s", member, self.peer, reason)


def setup_logging(data_dir: Path) -> None:
    formatter = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    to_file = logging.FileHandler(data_dir / LOG_FILE, encoding="utf-8")
    to_stderr = logging.StreamHandler(sys.stderr)
    for handler in (to_file, to_stderr):
        handler.setFormatter(formatter)
        log.addHandler(handler)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


def _refresh_and_index(service: NewsService) -> RefreshReport:
    report = asyncio.run(service.refresh(due_only=True))
    service.index_search()
    return report


async def _refresh_loop(paths: Paths, minutes: float) -> None:
    """Keep the shared cache warm so sessions never each refetch.

    The refresh runs in a thread with its own event loop and database connection:
    storing a big feed takes tens of milliseconds, which must not delay the sessions'
    keystrokes on this loop.
    """
    from termnews.service import NewsService

    try:
        service = NewsService.open(paths, load_settings(paths.config_file))
    except Exception as exc:
        log.error("scheduled refresh is off: cannot open the cache: %s", exc)
        return
    try:
        while True:
            try:
                report = await asyncio.to_thread(asyncio.run, service.refresh(due_only=True))
            except Exception as exc:  # a refresh problem must never stop the server
                log.error("scheduled refresh failed: %s: %s", type(exc).__name__, exc)
            else:
                if report.results:
                    log.info(
                        "refreshed %d feeds: %d new articles, %d failed",
                        len(report.results),
                        report.new_articles,
                        len(report.failed),
                    )
            await asyncio.sleep(minutes * 60)
    finally:
        service.close()


async def _start_zygote(paths: Paths, options: ServeOptions) -> Zygote | None:
    """The session zygote, or None (then every session is exec'd), with a log line."""
    if not options.zygote:
        log.info("sessions start with exec (--no-zygote)")
        return None
    if not zygote_supported():
        log.info("sessions start with exec: no fork or fd passing on this platform")
        return None
    # The environment every session shares (nothing of any client's) and room enough
    # for the longest command line a session can have.
    base_env = child_environment({}, None, options.extra_env)
    longest = child_argv(paths, "x" * 64)
    zygote = Zygote(base_env, paths.data_dir, sum(len(os.fsencode(a)) + 1 for a in longest) + 64)
    try:
        await zygote.start()
    except (OSError, ZygoteError) as exc:
        log.error("%s; sessions start with exec", exc)
        await zygote.close()
        return None
    return zygote


async def run_server(paths: Paths, options: ServeOptions) -> int:
    """Serve until SIGTERM/SIGINT (or SIGHUP, unless it was ignored at start)."""
    host_key = load_or_create_host_key(paths.data_dir / HOST_KEY_FILE)
    hub = Hub(paths, options)
    for problem in read_members(hub.book.path)[1]:
        log.warning("%s", problem)
    hub.zygote = await _start_zygote(paths, options)
    try:
        acceptor = await asyncssh.listen(
            options.host,
            options.port,
            server_factory=lambda: MemberServer(hub),
            server_host_keys=[host_key],
            encoding=None,
            line_editor=False,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            keepalive_interval=30,
            keepalive_count_max=3,
            login_timeout=60,
        )
    except OSError as exc:
        if hub.zygote is not None:
            await hub.zygote.close()
        raise ServeError(f"cannot listen on {options.host}:{options.port}: {exc}") from exc
    sockets = acceptor.sockets if hasattr(acceptor, "sockets") else []
    port = sockets[0].getsockname()[1] if sockets else acceptor.get_port()
    log.info(
        "listening on %s:%d (host key %s; members in %s%s)",
        options.host,
        port,
        host_key.get_fingerprint(),
        hub.book.path,
        "; open mode: new keys may pick a name" if options.open_mode else "",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop_signals = [signal.SIGTERM, signal.SIGINT]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        stop_signals.append(signal.SIGHUP)
    for signum in stop_signals:
        loop.add_signal_handler(signum, stop.set)
    refresher = (
        asyncio.ensure_future(_refresh_loop(paths, options.refresh_minutes))
        if options.refresh_minutes > 0
        else None
    )
    try:
        await stop.wait()
    finally:
        log.info("stopping: %d sessions open", len(hub.sessions))
        acceptor.close()
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await refresher
        await asyncio.gather(*(child.stop() for child in list(hub.children)))
        if hub.zygote is not None:
            await hub.zygote.close()
        for task in list(hub.tasks):
            task.cancel()
        for signum in stop_signals:
            loop.remove_signal_handler(signum)
    return EXIT_OK


# -- command line --------------------------------------------------------------------
