"""`termnews serve` over real SSH: asyncssh clients against the server as a subprocess.

The server runs with SIGHUP ignored (as under `nohup`), on a free loopback port, with a
fresh data dir holding the sample site's feed; every session runs the real reader.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from termnews.demo import DemoSite
from termnews.demo.content import BLOGS, WORDPRESS
from termnews.host.environment import child_environment, filter_client_env
from termnews.host.server import ServeError, load_or_create_host_key, parse_listen
from termnews.host.session import NO_COMMANDS, NO_TERMINAL

WAIT = 30.0  # generous upper bound for the machine being busy; never a speed check

# -- plain unit tests ---------------------------------------------------------------------


def test_filter_client_env_keeps_only_the_whitelist() -> None:
    sent = {
        "TERM": "screen-256color",
        "LANG": "de_DE.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "LC_ALL": "C.UTF-8",
        "COLORTERM": "truecolor",
        "NO_COLOR": "anything at all",
        "LD_PRELOAD": "/tmp/evil.so",
        "TERMNEWS_DATA_DIR": "/tmp/elsewhere",
        "PATH": "/tmp/bin",
        "PYTHONPATH": "/tmp/py",
        "LC_": "x",
        "lc_time": "x",
        "LANGUAGE": "fr",
    }
    kept = filter_client_env(sent)
    assert kept == {
        "TERM": "screen-256color",
        "LANG": "de_DE.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "LC_ALL": "C.UTF-8",
        "COLORTERM": "truecolor",
        "NO_COLOR": "1",
    }


def test_filter_client_env_drops_odd_values() -> None:
    kept = filter_client_env({"TERM": "../../etc/x", "LANG": "a b", "COLORTERM": "\x1b[31m"})
    assert kept == {}


def test_child_environment() -> None:
    env = child_environment({"TERM": "vt100", "LD_PRELOAD": "x.so"}, "tmux-256color", {"TZ": "UTC"})
    assert env["TERM"] == "tmux-256color"  # the pty request's terminal type wins
    assert env["LANG"] == "C.UTF-8"
    assert env["TERMNEWS_SERVED"] == "1" and env["TERMNEWS_NO_AUTO_REFRESH"] == "1"
    assert env["TZ"] == "UTC" and "PATH" in env
    assert "LD_PRELOAD" not in env


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:2222", ("127.0.0.1", 2222)), (":22", ("", 22)), ("[::1]:0", ("::1", 0))],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["2222", "host:", "host:x", "host:70000"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(text)


def test_host_key_is_made_once_private_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ssh_host_ed25519_key"
    key = load_or_create_host_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_host_key(path).get_fingerprint() == key.get_fingerprint()
    path.chmod(0o644)
    with pytest.raises(ServeError, match="chmod 600"):
        load_or_create_host_key(path)


# -- a tiny terminal: enough of VT100 to see what the reader (and the output layer) drew --

_CONTROL = re.compile(
    rb"\x1b\[([0-9;?<=>]*)[ -/]*([@-~])"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1bP[^\x1b]*\x1b\\"  # DCS
    rb"|\x1b[()][0-9A-Za-z]"  # charset
    rb"|\x1b[^\[\]P()]"  # other two-byte escapes
)


class Screen:
    """Applies cursor moves and text to a grid; records the widest column written."""

    def __init__(self, columns: int, rows: int) -> None:
        self.columns, self.rows = columns, rows
        self.grid = [[" "] * columns for _ in range(rows)]
        self.row = self.col = 0
        self.widest = 0
        self.margins: tuple[int, int] | None = None

    def feed(self, data: bytes) -> None:
        text_start = 0
        for match in _CONTROL.finditer(data):
            self._text(data[text_start : match.start()])
            text_start = match.end()
            params, final = match.group(1), match.group(2)
            if params is None:
                continue
            if final == b"H":
                parts = [int(p) if p.isdigit() else 1 for p in params.split(b";")] + [1, 1]
                self.row, self.col = parts[0] - 1, parts[1] - 1
            else:  # the moves and erases the output layer sends
                self._csi(int(params) if params.isdigit() else 1, final, params)
        self._text(data[text_start:])

    def _csi(self, count: int, final: bytes, params: bytes) -> None:
        if final in b"CDAB" and len(final) == 1:
            step = {b"C": (0, count), b"D": (0, -count), b"A": (-count, 0), b"B": (count, 0)}
            rows, cols = step[final]
            self.row, self.col = max(0, self.row + rows), max(0, self.col + cols)
        elif final in (b"X", b"K"):
            count = count if final == b"X" else self.columns - self.col
            for col in range(self.col, min(self.col + count, self.columns)):
                if 0 <= self.row < self.rows:
                    self.grid[self.row][col] = " "
            self.widest = max(self.widest, min(self.col + count, self.columns))
        elif final == b"r":
            parts = [int(p) for p in params.split(b";") if p.isdigit()]
            self.margins = (parts[0] - 1, parts[1] - 1) if len(parts) == 2 else None
            self.row = self.col = 0
        elif final in (b"M", b"L"):
            _, bottom = self.margins or (0, self.rows - 1)
            block = self.grid[self.row : bottom + 1]
            blank = [[" "] * self.columns for _ in range(count)]
            block = block[count:] + blank if final == b"M" else blank + block[:-count]
            self.grid[self.row : bottom + 1] = block[: bottom + 1 - self.row]

    def _text(self, raw: bytes) -> None:
        for char in raw.decode("utf-8", "replace"):
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.row += 1
            elif char == "\b":
                self.col = max(0, self.col - 1)
            elif char >= " ":
                if 0 <= self.row < self.rows and 0 <= self.col < self.columns:
                    self.grid[self.row][self.col] = char
                self.col += 1
                self.widest = max(self.widest, self.col)

    @property
    def text(self) -> str:
        return "\n".join("".join(line) for line in self.grid)


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


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMNEWS_", "SSH_", "XDG_"))}
    env["XDG_CONFIG_HOME"] = str(base / "xdg-config")
    env["XDG_DATA_HOME"] = str(base / "xdg-data")
    return env


def _ignore_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _start_server(
    base: Path, data_dir: Path, config: Path, *extra: str, zygote: bool = True
) -> Host:
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
            env=_env(base),
            preexec_fn=_ignore_sighup,
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


def _stop_server(host: Host) -> None:
    host.process.send_signal(signal.SIGTERM)
    try:
        host.process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        host.process.kill()
        host.process.wait()


def _termnews(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "termnews", *args],
        capture_output=True,
        text=True,
        env=_env(base),
        timeout=WAIT * 2,
        check=False,
    )


def _make_keys(base: Path, names: list[str]) -> dict[str, Path]:
    keys = {}
    for name in names:
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{name}@test")
        key.write_private_key(base / name)
        key.write_public_key(base / f"{name}.pub")
        keys[name] = base / name
    return keys


def _ppid(pid: int) -> int:
    stat = _proc_stat(pid)
    assert stat is not None, f"process {pid} is gone"
    return int(stat[1])


def _status_mask(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s*([0-9a-f]+)", status, re.M).group(1), 16)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    base = tmp_path_factory.mktemp("serve")
    data_dir, config = base / "data", base / "config.toml"
    keys = _make_keys(base, ["ada", "bob", "cy", "dee", "eve"])
    with DemoSite(flood_seconds=0) as site:
        common = ["--data-dir", str(data_dir), "--config", str(config)]
        added = _termnews(base, "add", "--no-discover", site.feed_urls[0], *common)
        assert added.returncode == 0, added.stderr
        for name in ("ada", "bob", "cy", "dee"):  # eve stays a stranger
            result = _termnews(base, "members", "add", name, f"{keys[name]}.pub", *common)
            assert result.returncode == 0, result.stderr
        server = _start_server(base, data_dir, config)
        server.keys = keys
        server.feed_title = BLOGS[WORDPRESS].title  # the first of site.feed_urls
        try:
            yield server
        finally:
            _stop_server(server)


class Terminal(asyncssh.SSHClientSession):  # type: ignore[type-arg]
    """The client's side of a session: every byte the server sent, and how it ended."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.exit_status: int | None = None
        self.closed = asyncio.Event()

    def data_received(self, data: bytes, datatype: int | None) -> None:  # type: ignore[override]
        self.output += data

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def screen(self, columns: int = 100, rows: int = 30, start: int = 0) -> Screen:
        screen = Screen(columns, rows)
        screen.feed(bytes(self.output[start:]))
        return screen


async def _connect(host: Host, name: str) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        host.port,
        username="root",  # ignored by the server: the key says who this is
        client_keys=[str(host.keys[name])],
        known_hosts=None,
        agent_path=None,
        preferred_auth="publickey",
    )


async def _session(
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


async def _until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def _settled(terminal: Terminal, quiet: float = 0.5) -> None:
    """Wait until the session has sent nothing for `quiet` seconds."""
    size, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        if len(terminal.output) != size:
            size, since = len(terminal.output), time.monotonic()
        await asyncio.sleep(0.05)


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def _children(parent: int, member: str) -> list[int]:
    """Live termnews children of the server running as `member`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is None or int(stat[1]) != parent or stat[0] == "Z":
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--as" in argv and argv[argv.index(b"--as") + 1] == member.encode():
            found.append(int(entry.name))
    return found


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and int(stat[2]) == pgid and stat[0] != "Z":
                members.append(int(entry.name))
    return members


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


async def _open_reader(
    host: Host, name: str, **options: object
) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientChannel[bytes], Terminal]:
    conn = await _connect(host, name)
    chan, terminal = await _session(conn, **options)  # type: ignore[arg-type]
    await _until(
        lambda: host.feed_title in terminal.screen().text,
        f"{name}'s feed list to show {host.feed_title!r}",
    )
    return conn, chan, terminal


# -- end-to-end ---------------------------------------------------------------------------


@pytest.mark.e2e
async def test_two_members_at_once_both_see_the_feed_list(host: Host) -> None:
    (ada, _, ada_term), (bob, _, bob_term) = await asyncio.gather(
        _open_reader(host, "ada"), _open_reader(host, "bob")
    )
    try:
        assert host.feed_title in ada_term.screen().text
        assert host.feed_title in bob_term.screen().text
        assert _children(host.sessions_parent(), "ada") and _children(host.sessions_parent(), "bob")
        log = host.log()
        assert re.search(r"login ada from 127\.0\.0\.1:\d+", log)
        assert re.search(r"login bob from 127\.0\.0\.1:\d+", log)
    finally:
        ada.close()
        bob.close()
        await asyncio.gather(ada.wait_closed(), bob.wait_closed())
    await _until(lambda: "logout ada" in host.log(), "ada's logout to be logged")
    assert re.search(r"logout ada from 127\.0\.0\.1:\d+ after \d+\.\d s", host.log())


@pytest.mark.e2e
async def test_unknown_key_is_refused(host: Host) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(host, "eve")
    fingerprint = asyncssh.read_public_key(f"{host.keys['eve']}.pub").get_fingerprint()
    await _until(lambda: fingerprint in host.log(), "the refusal to be logged")
    assert re.search(rf"refused 127\.0\.0\.1:\d+: unknown key {re.escape(fingerprint)}", host.log())


@pytest.mark.e2e
async def test_session_without_a_terminal_is_refused(host: Host) -> None:
    async with await _connect(host, "ada") as conn:
        result = await conn.run(encoding=None, env={})
    assert result.exit_status == 1
    assert result.stdout == (NO_TERMINAL + "\n").encode()
    assert "needs a terminal" in host.log()


@pytest.mark.e2e
async def test_commands_subsystems_and_forwarding_are_refused(host: Host) -> None:
    async with await _connect(host, "dee") as conn:
        result = await conn.run("cat /etc/passwd", term_type="xterm", encoding=None)
        assert result.exit_status == 1
        assert NO_COMMANDS.encode() in result.stdout
        assert b"root:" not in result.stdout
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", host.port)
        with pytest.raises(asyncssh.ChannelOpenError):
            async with conn.start_sftp_client():
                pass


@pytest.mark.e2e
async def test_client_environment_is_filtered(host: Host) -> None:
    sent = {
        "LD_PRELOAD": "/nonexistent/evil.so",
        "TERMNEWS_DATA_DIR": str(host.base / "elsewhere"),
        "PYTHONSTARTUP": "/tmp/evil.py",
        "LANG": "C.UTF-8",
        "LC_TIME": "C.UTF-8",
        "COLORTERM": "truecolor",
    }
    conn, _, _ = await _open_reader(host, "dee", env=sent)
    try:
        (pid,) = _children(host.sessions_parent(), "dee")
        env = _environ(pid)
        assert "LD_PRELOAD" not in env
        assert "TERMNEWS_DATA_DIR" not in env
        assert "PYTHONSTARTUP" not in env
        assert env["LANG"] == "C.UTF-8" and env["LC_TIME"] == "C.UTF-8"
        assert env["COLORTERM"] == "truecolor" and env["TERM"] == "xterm-256color"
        assert env["TERMNEWS_SERVED"] == "1"
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert argv[argv.index(b"--data-dir") + 1] == str(host.data_dir).encode()
        assert not (host.base / "elsewhere").exists()
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.e2e
async def test_dropped_connection_leaves_no_process_behind(host: Host) -> None:
    conn, _, _ = await _open_reader(host, "bob")
    # Under load an earlier test's bob may still be exiting: wait for exactly this one.
    await _until(lambda: len(_children(host.sessions_parent(), "bob")) == 1, "one bob session")
    (pid,) = _children(host.sessions_parent(), "bob")
    # The server ignores SIGHUP (like under nohup); its child must not inherit that.
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)", status, re.M).group(1), 16)  # type: ignore[union-attr]
    assert not ignored & (1 << (signal.SIGHUP - 1))
    assert _group_members(pid)  # the child leads its own process group

    conn.abort()  # the network goes away: no SSH goodbye
    await _until(lambda: not _group_members(pid), "the child's process group to be gone")
    assert _proc_stat(pid) is None  # reaped, not a zombie
    await _until(lambda: "logout bob" in host.log().split("login bob")[-1], "bob's logout")


@pytest.mark.e2e
async def test_resize_relays_out_the_screen(host: Host) -> None:
    conn, chan, terminal = await _open_reader(host, "ada", size=(100, 30))
    try:
        await _settled(terminal)
        assert terminal.screen(100, 30).widest == 100
        start = len(terminal.output)
        chan.change_terminal_size(60, 20)
        await _until(
            lambda: host.feed_title[:20] in terminal.screen(60, 20, start).text,
            "a redraw at 60 columns",
        )
        await _settled(terminal)
        after = terminal.screen(60, 20, start)
        assert after.widest == 60  # drawn edge to edge at the new width, and no wider
        chan.change_terminal_size(120, 24)
        start = len(terminal.output)
        await _until(lambda: terminal.screen(120, 24, start).widest == 120, "a 120-column redraw")
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.e2e
async def test_member_limit_refuses_a_fourth_session(host: Host) -> None:
    conn = await _connect(host, "cy")
    try:
        sessions = [await _session(conn) for _ in range(3)]
        await _until(lambda: len(_children(host.sessions_parent(), "cy")) == 3, "three cy sessions")
        _, fourth = await _session(conn)
        await asyncio.wait_for(fourth.closed.wait(), WAIT)
        assert fourth.exit_status == 1
        assert b"the limit is 3" in fourth.output
        assert len(_children(host.sessions_parent(), "cy")) == 3
        assert all(t.exit_status is None for _, t in sessions)
        assert re.search(r"refused cy from 127\.0\.0\.1:\d+: cy already has 3", host.log())
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.e2e
async def test_open_mode_lets_a_new_key_pick_a_free_name(tmp_path: Path) -> None:
    keys = _make_keys(tmp_path, ["ada", "newcomer"])
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    result = _termnews(
        tmp_path, "members", "add", "ada", f"{keys['ada']}.pub", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    host = _start_server(tmp_path, data_dir, config, "--open")
    host.keys = keys
    try:
        conn = await _connect(host, "newcomer")
        chan, terminal = await _session(conn)
        await _until(lambda: b"name: " in terminal.output, "the name prompt")
        for attempt, answer in ((b"Not Valid\r", b"Use 1 to 32"), (b"ada\r", b"taken")):
            chan.write(attempt)
            await _until(lambda a=answer: a in terminal.output, f"the answer {answer!r}")
        chan.write(b"newcomer\r")
        await _until(lambda: _children(host.sessions_parent(), "newcomer"), "newcomer's session")
        conn.close()
        await conn.wait_closed()
        names = [
            line.split('"')[1]
            for line in (data_dir / "members").read_text().splitlines()
            if line.startswith("termnews-user=")
        ]
        assert names == ["ada", "newcomer"]

        conn = await _connect(host, "newcomer")  # remembered: straight in, no prompt
        chan, terminal = await _session(conn)
        await _until(
            lambda: _children(host.sessions_parent(), "newcomer"), "newcomer's second session"
        )
        assert b"name: " not in terminal.output
        conn.close()
        await conn.wait_closed()
    finally:
        _stop_server(host)


@pytest.mark.e2e
async def test_server_refreshes_due_feeds_on_its_schedule(tmp_path: Path) -> None:
    from termnews.config import Paths, Settings
    from termnews.service import NewsService

    paths = Paths(config_file=tmp_path / "config.toml", data_dir=tmp_path / "data")
    with DemoSite(flood_seconds=0) as site:
        service = NewsService.open(paths, Settings())
        try:
            service.subscribe(site.feed_urls[0])  # subscribed, never fetched: due now
        finally:
            service.close()
        host = _start_server(tmp_path, paths.data_dir, paths.config_file, "--refresh-every", "1")
        try:
            await _until(lambda: "refreshed 1 feeds" in host.log(), "the scheduled refresh")
        finally:
            _stop_server(host)
    assert re.search(r"refreshed 1 feeds: [1-9]\d* new articles, 0 failed", host.log())
    service = NewsService.open(paths, Settings())
    try:
        (feed,) = service.feeds()
        assert feed.total > 0 and feed.error is None
        assert service.pending_index() == 0  # indexed for search by the server, not a session
    finally:
        service.close()


@pytest.mark.e2e
async def test_sessions_are_forked_by_the_zygote_as_if_exec_d(host: Host) -> None:
    zygote = host.zygote_pid()
    assert zygote is not None, host.log()
    assert _ppid(zygote) == host.process.pid  # the server started it
    conn, _, _ = await _open_reader(host, "ada", env={"LC_TIME": "C.UTF-8"})
    try:
        # Under load an earlier test's ada may still be exiting: wait for exactly this one.
        await _until(lambda: len(_children(zygote, "ada")) == 1, "ada's session under the zygote")
        (pid,) = _children(zygote, "ada")
        assert _ppid(pid) == zygote and not _children(host.process.pid, "ada")
        stat = _proc_stat(pid)
        assert stat is not None
        assert int(stat[2]) == pid and int(stat[3]) == pid  # own group, own session
        assert int(stat[4]) != 0  # ... with the PTY as its controlling terminal
        assert _status_mask(pid, "SigBlk") == 0  # nothing blocked
        assert not _status_mask(pid, "SigIgn") & (1 << (signal.SIGHUP - 1))
        assert _status_mask(pid, "SigCgt") & (1 << (signal.SIGINT - 1))  # KeyboardInterrupt
        env = _environ(pid)  # exactly the filtered environment, none of the zygote's room
        expected = {
            "PATH",
            "TERM",
            "LANG",
            "LC_TIME",
            "TERMNEWS_SERVED",
            "TERMNEWS_NO_AUTO_REFRESH",
        }
        assert set(env) - {"HOME", "PYTHONPATH", "TZ"} == expected
        assert os.readlink(f"/proc/{pid}/cwd") == "/"  # not the data dir
        assert re.search(
            rf"login ada from \S+ \(session \d+, pid {pid} from zygote {zygote},", host.log()
        )
    finally:
        conn.close()
        await conn.wait_closed()
    await _until(lambda: _proc_stat(pid) is None, "ada's session to be reaped by the zygote")


@pytest.mark.e2e
async def test_no_zygote_execs_each_session(tmp_path: Path) -> None:
    keys = _make_keys(tmp_path, ["ada"])
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    result = _termnews(
        tmp_path, "members", "add", "ada", f"{keys['ada']}.pub", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    host = _start_server(tmp_path, data_dir, config, zygote=False)
    host.keys = keys
    try:
        assert "sessions start with exec" in host.log() and host.zygote_pid() is None
        conn = await _connect(host, "ada")
        _, terminal = await _session(conn, env={"LD_PRELOAD": "/nonexistent/evil.so"})
        await _until(lambda: _children(host.process.pid, "ada"), "ada's exec'd session")
        (pid,) = _children(host.process.pid, "ada")
        assert "LD_PRELOAD" not in _environ(pid) and _environ(pid)["TERMNEWS_SERVED"] == "1"
        assert not _status_mask(pid, "SigIgn") & (1 << (signal.SIGHUP - 1))
        await _until(lambda: len(terminal.output) > 0, "the reader to draw")
        conn.abort()
        await _until(lambda: not _group_members(pid), "the session's process group to be gone")
        assert _proc_stat(pid) is None
        await _until(lambda: "logout ada" in host.log(), "ada's logout")
    finally:
        _stop_server(host)


@pytest.mark.e2e
async def test_sessions_outlive_a_dead_zygote_which_is_restarted(tmp_path: Path) -> None:
    keys = _make_keys(tmp_path, ["ada"])
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    result = _termnews(
        tmp_path, "members", "add", "ada", f"{keys['ada']}.pub", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    host = _start_server(tmp_path, data_dir, config)
    host.keys = keys
    try:
        first = host.zygote_pid()
        assert first is not None
        conn = await _connect(host, "ada")
        chan, terminal = await _session(conn)
        await _until(lambda: _children(first, "ada"), "ada's session")
        (pid,) = _children(first, "ada")
        await _until(lambda: "Welcome" in terminal.screen().text, "the welcome screen")
        os.kill(first, signal.SIGKILL)
        await _until(lambda: host.zygote_pid() not in (None, first), "a new zygote")
        assert "session zygote exited" in host.log()
        await asyncio.sleep(3.0)  # the old code hung sessions up 1-2 s after the death
        assert not terminal.closed.is_set() and _proc_stat(pid) is not None
        assert _proc_stat(pid)[0] != "Z"  # type: ignore[index]
        mark = len(terminal.output)
        chan.change_terminal_size(90, 25)  # the session still draws: it lays out again
        await _until(lambda: len(terminal.output) > mark + 200, "the session to redraw")
        second = host.zygote_pid()
        assert second is not None
        conn2 = await _connect(host, "ada")
        await _session(conn2)
        await _until(lambda: _children(second, "ada"), "a session from the new zygote")
        conn2.close()
        await conn2.wait_closed()
        conn.close()  # the orphaned session still ends with its connection
        await conn.wait_closed()
        await _until(lambda: not _group_members(pid), "the orphaned session to end")
        await _until(lambda: host.log().count("logout ada") == 2, "both logouts")
    finally:
        _stop_server(host)
