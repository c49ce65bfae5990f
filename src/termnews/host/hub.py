"""What all connections of one `termnews serve` share: options, sessions, limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from termnews.config import Paths
from termnews.host.limits import RegistrationLimit, StartupGate, host_names
from termnews.host.members import MemberBook, PublicKey, members_path
from termnews.host.pty import ChildTerminal
from termnews.host.zygote import Zygote

log = logging.getLogger("termnews.serve")


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
    max_startups: int = 30  # unauthenticated connections at once (OpenSSH: MaxStartups)
    per_source_startups: int = 10  # ... from one address (OpenSSH: PerSourceMaxStartups)
    login_grace: float = 20.0  # seconds to authenticate (OpenSSH: LoginGraceTime)
    new_members_per_hour: int = 3  # open mode: new names per source address per hour


@dataclass(slots=True)
class Caller:
    """One SSH connection as its sessions see it: where from, and who it proved to be."""

    peer: str = "?"  # address:port, for the log
    source: str = "?"  # the address alone, for the per-source limits
    member: str | None = None
    pending_key: PublicKey | None = None  # open mode: a new key that has no name yet


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
        self.gate = StartupGate(options.max_startups, options.per_source_startups)
        self.registrations = RegistrationLimit(options.new_members_per_hour)
        self.reserved_names = host_names()

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

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            log.error("session task failed: %s: %s", type(exc).__name__, exc)
