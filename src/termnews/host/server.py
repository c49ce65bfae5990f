"""`termnews serve`: the listener, authentication by member key, and the server's life.

Every SSH connection that proves it holds a member's key gets its own PTY and its own
termnews process, started as `termnews --as NAME` in restricted mode. Identity comes
from the members file only (see members.py); the client's username, environment and
command never choose it. A connection that has not authenticated is counted against
the startup limits (limits.py) and closed after the login grace time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from termnews.config import Paths, load_settings
from termnews.errors import TermnewsError
from termnews.host.environment import SESSION_CWD, child_argv, child_environment
from termnews.host.hub import Caller, Hub, ServeOptions
from termnews.host.members import MemberError, parse_public_key, read_members
from termnews.host.session import MemberSession
from termnews.host.zygote import Zygote, ZygoteError
from termnews.host.zygote import supported as zygote_supported

if TYPE_CHECKING:
    pass

__all__ = ["ServeError", "ServeOptions", "parse_listen", "run_server", "setup_logging"]

HOST_KEY_FILE = "ssh_host_ed25519_key"
LOG_FILE = "serve.log"

log = logging.getLogger("termnews.serve")


class ServeError(TermnewsError):
    """A problem that stops the server from starting, worded for the operator."""


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen wants HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


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


class MemberServer(asyncssh.SSHServer):
    """One SSH connection: authentication by member key, sessions, nothing else."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.caller = Caller()
        self._conn: asyncssh.SSHServerConnection | None = None
        self._counted = False  # in the startup gate until it authenticates or closes
        self._unknown: list[str] = []

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.caller.peer = f"{peer[0]}:{peer[1]}"
            self.caller.source = str(peer[0])
        if self.hub.gate.enter(self.caller.source) is not None:
            # Closed before the key exchange: a flood costs a socket for a moment only.
            asyncio.get_running_loop().call_soon(conn.abort)
            return
        self._counted = True

    def _leave_gate(self) -> None:
        if self._counted:
            self._counted = False
            self.hub.gate.leave(self.caller.source)

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave_gate()
        if self.caller.member is None and self._unknown:
            log.warning(
                "refused %s: unknown key %s",
                self.caller.peer,
                ", ".join(dict.fromkeys(self._unknown)),
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
        caller = self.caller
        try:
            member = self.hub.book.member_for(key.public_data)
        except MemberError as exc:
            log.error("%s", exc)
            return False
        if member is not None:
            caller.member, caller.pending_key = member.name, None
            return True
        fingerprint = key.get_fingerprint()
        if self.hub.options.open_mode:
            text = key.export_public_key("openssh").decode("ascii")
            try:
                pending = parse_public_key(text, "the client's key")
            except MemberError as exc:  # a certificate or an odd key: never a member
                log.warning("refused %s: %s", caller.peer, exc)
                return False
            caller.member, caller.pending_key = None, pending
            return True
        self._unknown.append(fingerprint)
        return False

    def auth_completed(self) -> None:
        self._leave_gate()
        self._unknown.clear()

    def session_requested(self) -> MemberSession:
        return MemberSession(self.hub, self.caller)

    def connection_requested(self, *args: object) -> bool:
        log.warning("refused port forwarding for %s from %s", self.caller.member, self.caller.peer)
        return False

    def server_requested(self, *args: object) -> bool:
        log.warning(
            "refused remote forwarding for %s from %s", self.caller.member, self.caller.peer
        )
        return False

    def unix_connection_requested(self, *args: object) -> bool:
        return False

    def unix_server_requested(self, *args: object) -> bool:
        return False


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
                # service.refresh indexes the new articles for search before it returns, so
                # no session's first search after a refresh indexes them on its UI loop.
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
    room = max(
        sum(len(os.fsencode(arg)) + 1 for arg in child_argv(paths, "x" * 64, config_exists=exists))
        for exists in (True, False)
    )
    zygote = Zygote(base_env, SESSION_CWD, room + 64)
    try:
        await zygote.start()
    except (OSError, ZygoteError) as exc:
        log.error("%s; sessions start with exec", exc)
        await zygote.close()
        return None
    return zygote


def _prepare_cache(paths: Paths) -> None:
    """Create (or migrate) the shared database before any session starts: otherwise the
    first sessions race to create it, and one cut off early leaves an empty file behind."""
    from termnews.service import NewsService

    NewsService.open(paths, load_settings(paths.config_file)).close()


async def run_server(paths: Paths, options: ServeOptions) -> int:
    """Serve until SIGTERM/SIGINT (or SIGHUP, unless it was ignored at start)."""
    host_key = load_or_create_host_key(paths.data_dir / HOST_KEY_FILE)
    _prepare_cache(paths)
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
            login_timeout=options.login_grace,
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
    return 0
