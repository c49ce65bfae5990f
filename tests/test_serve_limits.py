"""What a connection must get past on `termnews serve`: startup caps and the login grace
time, open mode's reserved names and new-member rate; and what a session is told."""

from __future__ import annotations

import asyncio
import errno
import getpass
import logging
import os
import random
import socket
import tempfile
import time
from pathlib import Path

import pytest

from termnews.host.limits import RegistrationLimit, StartupGate, host_names
from termnews.host.zygote_main import reseed
from tests.support import sshhost as sh


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- plain unit tests ---------------------------------------------------------------------


def test_startup_gate_caps_per_source_and_in_all(caplog: pytest.LogCaptureFixture) -> None:
    gate = StartupGate(total=5, per_source=2, clock=Clock())
    with caplog.at_level(logging.WARNING, logger="termnews.serve"):
        assert gate.enter("10.0.0.1") is None and gate.enter("10.0.0.1") is None
        assert "from this address" in (gate.enter("10.0.0.1") or "")
        for source in ("10.0.0.2", "10.0.0.2", "10.0.0.3"):
            assert gate.enter(source) is None
        assert "in all" in (gate.enter("10.0.0.4") or "")
        gate.leave("10.0.0.1")
        assert gate.enter("10.0.0.4") is None  # room again
        assert gate.pending_total == 5
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 2 and "refused a connection from 10.0.0.1" in refusals[0]


def test_a_flood_of_refusals_is_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    gate = StartupGate(total=100, per_source=1, clock=clock)
    gate.enter("10.0.0.9")
    with caplog.at_level(logging.WARNING, logger="termnews.serve"):
        for _ in range(500):
            gate.enter("10.0.0.9")
        clock.now += 11
        gate.enter("10.0.0.9")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "(499 more refused since the last line)" in lines[1]


def test_registration_limit_per_source_per_hour() -> None:
    clock = Clock()
    limit = RegistrationLimit(per_hour=2, clock=clock)
    for _ in range(2):
        assert limit.allows("10.0.0.1")
        limit.record("10.0.0.1")
    assert not limit.allows("10.0.0.1") and limit.allows("10.0.0.2")
    clock.now += 3601
    assert limit.allows("10.0.0.1")


def test_host_names_are_reserved() -> None:
    names = host_names()
    assert {"root", "local", getpass.getuser().lower()} <= names


def test_reseed_gives_a_forked_session_its_own_random_state() -> None:
    random.seed(1)
    inherited = random.random()
    random.seed(1)
    reseed()
    assert random.random() != inherited
    assert tempfile._name_sequence is None  # type: ignore[attr-defined]  # made anew on use


# -- over real SSH ------------------------------------------------------------------------


def _member_host(tmp_path: Path, names: list[str], *extra: str, **options: object) -> sh.Host:
    keys = sh.make_keys(tmp_path, names)
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    for name in names[:1]:  # the first is a member, the others are new keys
        result = sh.termnews(
            tmp_path, "members", "add", name, f"{keys[name]}.pub", "--data-dir", str(data_dir)
        )
        assert result.returncode == 0, result.stderr
    host = sh.start_server(tmp_path, data_dir, config, *extra, **options)  # type: ignore[arg-type]
    host.keys = keys
    return host


def _half_open(source: str, port: int, count: int) -> list[socket.socket]:
    """TCP connections that never say a word, as a flood would open them."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.setblocking(False)
        code = sock.connect_ex(("127.0.0.1", port))
        assert code in (0, errno.EINPROGRESS), os.strerror(code)
        sockets.append(sock)
    return sockets


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.e2e
async def test_half_open_connections_do_not_lock_members_out(tmp_path: Path) -> None:
    # 240 descriptors: without startup caps, 400 silent connections use them all up.
    host = _member_host(tmp_path, ["ada"], open_files=240)  # login grace: the default 20 s
    flood: list[socket.socket] = []
    try:
        flood = _half_open("127.0.0.2", host.port, 400)
        await asyncio.sleep(1.0)  # the server has accepted what it will
        conn = await asyncio.wait_for(sh.connect(host, "ada"), 10)
        _, terminal = await sh.session(conn)
        await sh.until(lambda: b"Welcome" in terminal.output, "ada's session")
        assert _open_fds(host.process.pid) < 120  # the flood holds ten of them at most
        assert "refused a connection from 127.0.0.2" in host.log()
        assert "10 unauthenticated connections from this address" in host.log()
        conn.close()
        await conn.wait_closed()
    finally:
        for sock in flood:
            sock.close()
        sh.stop_server(host)


@pytest.mark.e2e
async def test_a_silent_connection_is_dropped_after_the_login_grace_time(tmp_path: Path) -> None:
    host = _member_host(tmp_path, ["ada"], "--login-grace", "2")
    try:
        (sock,) = _half_open("127.0.0.3", host.port, 1)
        sock.setblocking(True)
        sock.settimeout(sh.WAIT)
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(4096):  # the server's version line, then EOF
            received += chunk
        assert received.startswith(b"SSH-2.0-")
        assert 1.5 < time.monotonic() - started < 15
        sock.close()
    finally:
        sh.stop_server(host)


@pytest.mark.e2e
async def test_open_mode_reserves_host_names_and_caps_new_members(tmp_path: Path) -> None:
    host = _member_host(
        tmp_path, ["ada", "newcomer", "churner"], "--open", "--new-members-per-hour", "1"
    )
    try:
        conn = await sh.connect(host, "newcomer")
        chan, terminal = await sh.session(conn)
        await sh.until(lambda: b"name: " in terminal.output, "the name prompt")
        for name in ("root", "local", getpass.getuser()):
            mark = len(terminal.output)
            chan.write(name.encode() + b"\r")
            await sh.until(
                lambda m=mark: b"taken" in terminal.output[m:], f"{name!r} to be refused"
            )
        chan.write(b"newcomer\r")
        await sh.until(lambda: sh.children(host.sessions_parent(), "newcomer"), "the session")
        conn.close()
        await conn.wait_closed()

        conn = await sh.connect(host, "churner")  # a second new key from the same address
        _, terminal = await sh.session(conn)
        await asyncio.wait_for(terminal.closed.wait(), sh.WAIT)
        assert b"Too many new members from your address" in terminal.output
        assert b"name: " not in terminal.output
        assert "churner" not in (host.data_dir / "members").read_text()
    finally:
        sh.stop_server(host)


@pytest.mark.e2e
async def test_the_server_creates_the_cache_before_any_session_can_race_for_it(
    tmp_path: Path,
) -> None:
    # Two sessions starting on a fresh host once raced to create it; one cut off early
    # left a 0-byte database that every later session refused as damaged.
    host = _member_host(tmp_path, ["ada"])
    try:
        database = host.data_dir / "termnews.db"
        assert database.exists() and database.stat().st_size > 0
    finally:
        sh.stop_server(host)
