"""A real `termnews serve` for tests: start it, connect real asyncssh clients, look at
its processes in /proc, and see what a session drew (through tests.support.emulator)."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from tests.support.emulator import LinkStream, RichScreen, emulator, feed

WAIT = 30.0  # generous upper bound for the machine being busy; never a speed check


# -- the server, and clients --------------------------------------------------------------


@dataclass
class Host:
    base: Path
    data_dir: Path
    config: Path
    port: int
    process: subprocess.Popen[bytes]
    stderr: Path
    keys: dict[str, Path]
    feed_title: str

    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(encoding="utf-8")

    def zygote_pid(self) -> int | None:
        """The session zygote the server last logged as ready, if any."""
        found = re.findall(r"session zygote ready \(pid (\d+)", self.log())
        return int(found[-1]) if found else None

    def sessions_parent(self) -> int:
        """Sessions are the zygote's children when there is one, else the server's."""
        return self.zygote_pid() or self.process.pid


def env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMNEWS_", "SSH_", "XDG_"))}
    env["XDG_CONFIG_HOME"] = str(base / "xdg-config")
    env["XDG_DATA_HOME"] = str(base / "xdg-data")
    return env


def ignore_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def start_server(
    base: Path,
    data_dir: Path,
    config: Path,
    *extra: str,
    zygote: bool = True,
    open_files: int | None = None,
) -> Host:
    """The server as a subprocess (SIGHUP ignored, as under nohup); `open_files` lowers
    its RLIMIT_NOFILE, so running out of descriptors takes hundreds of sockets, not 20,000."""

    def prepare() -> None:
        ignore_sighup()
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    stderr = base / f"serve-{len(list(base.glob('serve-*.err')))}.err"
    argv = [sys.executable, "-m", "termnews", "serve", "--listen", "127.0.0.1:0"]
    argv += ["--data-dir", str(data_dir), "--config", str(config), "--refresh-every", "0"]
    if not zygote:
        argv.append("--no-zygote")
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [*argv, *extra],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            env=env(base),
            preexec_fn=prepare,
        )
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", stderr.read_text())
        if found:
            return Host(base, data_dir, config, int(found.group(1)), process, stderr, {}, "")
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    pytest.fail(f"termnews serve did not start:\n{stderr.read_text()}")


def stop_server(host: Host) -> None:
    host.process.send_signal(signal.SIGTERM)
    try:
        host.process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        host.process.kill()
        host.process.wait()


def termnews(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "termnews", *args],
        capture_output=True,
        text=True,
        env=env(base),
        timeout=WAIT * 2,
        check=False,
    )


def make_keys(base: Path, names: list[str]) -> dict[str, Path]:
    keys = {}
    for name in names:
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{name}@test")
        key.write_private_key(base / name)
        key.write_public_key(base / f"{name}.pub")
        keys[name] = base / name
    return keys


def ppid(pid: int) -> int:
    stat = proc_stat(pid)
    assert stat is not None, f"process {pid} is gone"
    return int(stat[1])


def status_mask(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s*([0-9a-f]+)", status, re.M).group(1), 16)  # type: ignore[union-attr]


class Terminal(asyncssh.SSHClientSession):  # type: ignore[type-arg]
    """The client's side of a session: every byte the server sent, and how it ended."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.exit_status: int | None = None
        self.closed = asyncio.Event()
        self._live: tuple[RichScreen, LinkStream, int] | None = None

    def data_received(self, data: bytes, datatype: int | None) -> None:  # type: ignore[override]
        self.output += data

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def screen(self, columns: int = 100, rows: int = 30, start: int = 0) -> RichScreen:
        """What a terminal of that size shows after the output from byte `start` on."""
        return feed(bytes(self.output[start:]), columns, rows)

    def live(self, columns: int = 100, rows: int = 30) -> RichScreen:
        """`screen(columns, rows)`, kept and fed only the new output (cheap to poll)."""
        if self._live is None or (self._live[0].columns, self._live[0].lines) != (columns, rows):
            self._live = (*emulator(columns, rows), 0)
        screen, stream, fed = self._live
        stream.feed(bytes(self.output[fed:]))
        self._live = (screen, stream, len(self.output))
        return screen


async def connect(host: Host, name: str, username: str = "root") -> asyncssh.SSHClientConnection:
    """Log in with `name`'s key; the server ignores `username`: the key says who this is."""
    return await asyncssh.connect(
        "127.0.0.1",
        host.port,
        username=username,
        client_keys=[str(host.keys[name])],
        known_hosts=None,
        agent_path=None,
        preferred_auth="publickey",
    )


async def session(
    conn: asyncssh.SSHClientConnection,
    *,
    size: tuple[int, int] | None = (100, 30),
    env: dict[str, str] | None = None,
    command: str | None = None,
) -> tuple[asyncssh.SSHClientChannel[bytes], Terminal]:
    options: dict[str, object] = {"encoding": None, "env": env or {}}
    if size is not None:
        options.update(term_type="xterm-256color", term_size=size)
    if command is not None:
        options["command"] = command
    return await conn.create_session(Terminal, **options)  # type: ignore[arg-type]


async def until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def settled(terminal: Terminal, quiet: float = 0.5) -> None:
    """Wait until the session has sent nothing for `quiet` seconds."""
    size, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        if len(terminal.output) != size:
            size, since = len(terminal.output), time.monotonic()
        await asyncio.sleep(0.05)


def proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def children(parent: int, member: str) -> list[int]:
    """Live termnews children of the server running as `member`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = proc_stat(int(entry.name))
        if stat is None or int(stat[1]) != parent or stat[0] == "Z":
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--as" in argv and argv[argv.index(b"--as") + 1] == member.encode():
            found.append(int(entry.name))
    return found


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None and int(stat[2]) == pgid and stat[0] != "Z":
                members.append(int(entry.name))
    return members


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


async def open_reader(
    host: Host, name: str, **options: object
) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientChannel[bytes], Terminal]:
    conn = await connect(host, name)
    chan, terminal = await session(conn, **options)  # type: ignore[arg-type]
    await until(
        lambda: host.feed_title in terminal.live().text,
        f"{name}'s feed list to show {host.feed_title!r}",
    )
    return conn, chan, terminal
