"""One SSH session channel: what it refuses, open mode's name prompt, and the bridge
between the channel and the session's terminal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from collections.abc import Callable, Mapping

import asyncssh

from termnews.host.backlog import OutputGate, unacknowledged
from termnews.host.environment import SESSION_CWD, child_argv, child_environment
from termnews.host.hub import Caller, Hub
from termnews.host.members import MemberBook, MemberError, add_member, validate_name
from termnews.host.pty import ChildTerminal

log = logging.getLogger("termnews.serve")

NO_TERMINAL = "termnews serve needs a terminal: use ssh -t"
NO_COMMANDS = "termnews serve runs no commands: connect with plain `ssh -t HOST`"
PROMPT_ATTEMPTS = 5
PROMPT_MAX_CHARS = 64
PROMPT_SECONDS = 120.0  # open mode: how long a new key may take to pick a name


def log_refusal(caller: Caller, who: str, reason: str) -> None:
    log.warning("refused %s from %s: %s", who, caller.peer, reason)


class NamePrompt:
    """Open mode: a small line editor that asks a new key for a free member name."""

    def __init__(
        self, write: Callable[[bytes], None], book: MemberBook, reserved: frozenset[str]
    ) -> None:
        self._write = write
        self._book = book
        self._reserved = reserved
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
        if name in self._reserved or self._book.is_taken(name):
            self._write(b"That name is taken; pick another.\r\n")
            return None
        return name


class MemberSession(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """One SSH session channel: refuses what it must, then bridges a PTY child."""

    def __init__(self, hub: Hub, caller: Caller) -> None:
        self._caller = caller
        self._hub = hub
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
        self._gate: OutputGate | None = None
        self._channel_full = False

    # -- asyncssh callbacks -----------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
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
            log_refusal(self._caller, self._caller.member or "new key", self._refusal)
            self._finish_with_line(self._refusal)
            return
        if self._caller.member is None:  # open mode, a key seen for the first time
            if len(self._hub.sessions) >= self._hub.options.max_sessions:
                log_refusal(self._caller, "new key", "the host is full")
                self._finish_with_line("This termnews host is full: try again later.")
                return
            if not self._hub.registrations.allows(self._caller.source):
                log_refusal(self._caller, "new key", "too many new members from this address")
                self._finish_with_line(
                    "Too many new members from your address this hour: try again later."
                )
                return
            self._prompt = NamePrompt(self._write, self._hub.book, self._hub.reserved_names)
            self._prompt.begin()
            self._prompt_timer = asyncio.get_running_loop().call_later(
                PROMPT_SECONDS, self._prompt_expired
            )
            return
        self._hub.spawn(self._start_child(self._caller.member))

    def data_received(self, data: bytes, datatype: int | None) -> None:
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
        self._channel_full = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._channel_full = False
        self._update_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._cancel_prompt_timer()
        if self._gate is not None:
            self._gate.close()
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
        key = self._caller.pending_key
        assert key is not None
        if not self._hub.registrations.allows(self._caller.source):
            self._finish_with_line("Too many new members from your address this hour.")
            return
        self._hub.registrations.record(self._caller.source)
        try:
            await asyncio.to_thread(add_member, self._hub.book.path, name, key)
        except MemberError as exc:
            self._finish_with_line(f"Could not register {name}: {exc}")
            return
        log.info("new member %s (%s) from %s", name, key.fingerprint, self._caller.peer)
        self._caller.member, self._caller.pending_key = name, None
        await self._start_child(name)

    async def _start_child(self, member: str) -> None:
        if self._closed:
            return
        session_id, refusal = self._hub.admit(member, self._caller.peer)
        if session_id is None:
            log_refusal(self._caller, member, refusal)
            self._finish_with_line(refusal)
            return
        self._session_id, self._member = session_id, member
        assert self._chan is not None
        env = child_environment(
            self._chan.get_environment(), self._term_type, self._hub.options.extra_env
        )
        child = ChildTerminal(self._child_output)
        child.on_input_drained = self._input_drained
        sock = self._chan.get_extra_info("socket")
        chan = self._chan
        self._gate = OutputGate(
            lambda: unacknowledged(sock) + chan.get_write_buffer_size(),
            child.pause_output,
            lambda: self._update_reading(child),  # self._child is set once it has started
        )
        try:
            await child.start(
                child_argv(self._hub.paths, member),
                env,
                SESSION_CWD,
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
            self._caller.peer,
            session_id,
            child.pid,
            f" from zygote {child.zygote_pid}" if child.zygote_pid else "",
            len(self._hub.sessions),
        )
        if self._client_left():  # while the child was starting
            await self._stop_child(child)
            return
        status = await child.wait()
        child.drain_output()
        self._exit(status if status >= 0 else 128 - status)

    def _child_output(self, data: bytes) -> None:
        self._write(data)
        if self._gate is not None:
            self._gate.wrote()

    def _update_reading(self, child: ChildTerminal | None = None) -> None:
        """Read the PTY unless the channel's buffer is full or the link is backed up."""
        child = child or self._child
        if child is None:
            return
        if self._channel_full or (self._gate is not None and self._gate.holding):
            child.pause_output()
        else:
            child.resume_output()

    def _client_left(self) -> bool:
        return self._closed  # a method: connection_lost may set it across an await

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
