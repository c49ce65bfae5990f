"""`termnews serve` over real SSH: asyncssh clients against the server as a subprocess.

The server runs with SIGHUP ignored (as under `nohup`), on a free loopback port, with a
fresh data dir holding the sample site's feed; every session runs the real reader.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from termnews.demo import DemoSite
from termnews.demo.content import BLOGS, WORDPRESS
from termnews.host.environment import child_environment, filter_client_env
from termnews.host.server import ServeError, load_or_create_host_key, parse_listen
from termnews.host.session import NO_COMMANDS, NO_TERMINAL
from tests.support import sshhost as sh

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


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sh.Host]:
    base = tmp_path_factory.mktemp("serve")
    data_dir, config = base / "data", base / "config.toml"
    keys = sh.make_keys(base, ["ada", "bob", "cy", "dee", "eve"])
    with DemoSite(flood_seconds=0) as site:
        common = ["--data-dir", str(data_dir), "--config", str(config)]
        added = sh.termnews(base, "add", "--no-discover", site.feed_urls[0], *common)
        assert added.returncode == 0, added.stderr
        for name in ("ada", "bob", "cy", "dee"):  # eve stays a stranger
            result = sh.termnews(base, "members", "add", name, f"{keys[name]}.pub", *common)
            assert result.returncode == 0, result.stderr
        server = sh.start_server(base, data_dir, config)
        server.keys = keys
        server.feed_title = BLOGS[WORDPRESS].title  # the first of site.feed_urls
        try:
            yield server
        finally:
            sh.stop_server(server)


# -- end-to-end ---------------------------------------------------------------------------


@pytest.mark.e2e
async def test_two_members_at_once_both_see_the_feed_list(host: sh.Host) -> None:
    (ada, _, ada_term), (bob, _, bob_term) = await asyncio.gather(
        sh.open_reader(host, "ada"), sh.open_reader(host, "bob")
    )
    try:
        assert host.feed_title in ada_term.screen().text
        assert host.feed_title in bob_term.screen().text
        assert sh.children(host.sessions_parent(), "ada") and sh.children(
            host.sessions_parent(), "bob"
        )
        log = host.log()
        assert re.search(r"login ada from 127\.0\.0\.1:\d+", log)
        assert re.search(r"login bob from 127\.0\.0\.1:\d+", log)
    finally:
        ada.close()
        bob.close()
        await asyncio.gather(ada.wait_closed(), bob.wait_closed())
    await sh.until(lambda: "logout ada" in host.log(), "ada's logout to be logged")
    assert re.search(r"logout ada from 127\.0\.0\.1:\d+ after \d+\.\d s", host.log())


@pytest.mark.e2e
async def test_unknown_key_is_refused(host: sh.Host) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await sh.connect(host, "eve")
    fingerprint = asyncssh.read_public_key(f"{host.keys['eve']}.pub").get_fingerprint()
    await sh.until(lambda: fingerprint in host.log(), "the refusal to be logged")
    assert re.search(rf"refused 127\.0\.0\.1:\d+: unknown key {re.escape(fingerprint)}", host.log())


@pytest.mark.e2e
async def test_session_without_a_terminal_is_refused(host: sh.Host) -> None:
    async with await sh.connect(host, "ada") as conn:
        result = await conn.run(encoding=None, env={})
    assert result.exit_status == 1
    assert result.stdout == (NO_TERMINAL + "\n").encode()
    assert "needs a terminal" in host.log()


@pytest.mark.e2e
async def test_commands_subsystems_and_forwarding_are_refused(host: sh.Host) -> None:
    async with await sh.connect(host, "dee") as conn:
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
async def test_served_sessions_know_they_are_remote_and_send_no_mouse_modes(
    host: sh.Host,
) -> None:
    # The filter drops SSH_CONNECTION and SSH_TTY; mouse tracking is off over SSH unless
    # the settings ask for it, so the session's PTY must never carry these modes.
    conn, _, terminal = await sh.open_reader(host, "cy")
    try:
        await sh.settled(terminal)
        for mode in (b"\x1b[?1000h", b"\x1b[?1003h", b"\x1b[?1006h"):
            assert mode not in terminal.output
        # The host has no settings file: members are not told about the host's paths.
        assert not host.config.exists() and "does not exist" not in terminal.screen().text
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.e2e
async def test_client_environment_is_filtered(host: sh.Host) -> None:
    sent = {
        "LD_PRELOAD": "/nonexistent/evil.so",
        "TERMNEWS_DATA_DIR": str(host.base / "elsewhere"),
        "PYTHONSTARTUP": "/tmp/evil.py",
        "LANG": "C.UTF-8",
        "LC_TIME": "C.UTF-8",
        "COLORTERM": "truecolor",
    }
    conn, _, _ = await sh.open_reader(host, "dee", env=sent)
    try:
        (pid,) = sh.children(host.sessions_parent(), "dee")
        env = sh.environ(pid)
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
async def test_dropped_connection_leaves_no_process_behind(host: sh.Host) -> None:
    conn, _, _ = await sh.open_reader(host, "bob")
    # Under load an earlier test's bob may still be exiting: wait for exactly this one.
    await sh.until(lambda: len(sh.children(host.sessions_parent(), "bob")) == 1, "one bob session")
    (pid,) = sh.children(host.sessions_parent(), "bob")
    # The server ignores SIGHUP (like under nohup); its child must not inherit that.
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)", status, re.M).group(1), 16)  # type: ignore[union-attr]
    assert not ignored & (1 << (signal.SIGHUP - 1))
    assert sh.group_members(pid)  # the child leads its own process group

    conn.abort()  # the network goes away: no SSH goodbye
    await sh.until(lambda: not sh.group_members(pid), "the child's process group to be gone")
    # Reaped, not left a zombie: the server reaps a moment after the group is gone.
    await sh.until(lambda: sh.proc_stat(pid) is None, "the server to reap the session")
    await sh.until(lambda: "logout bob" in host.log().split("login bob")[-1], "bob's logout")


@pytest.mark.e2e
async def test_resize_relays_out_the_screen(host: sh.Host) -> None:
    conn, chan, terminal = await sh.open_reader(host, "ada", size=(100, 30))
    try:
        await sh.settled(terminal)
        assert terminal.screen(100, 30).widest == 100
        start = len(terminal.output)
        chan.change_terminal_size(60, 20)
        await sh.until(
            lambda: host.feed_title[:20] in terminal.screen(60, 20, start).text,
            "a redraw at 60 columns",
        )
        await sh.settled(terminal)
        after = terminal.screen(60, 20, start)
        assert after.widest == 60  # drawn edge to edge at the new width, and no wider
        chan.change_terminal_size(120, 24)
        start = len(terminal.output)
        await sh.until(lambda: terminal.screen(120, 24, start).widest == 120, "a 120-column redraw")
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.e2e
async def test_member_limit_refuses_a_fourth_session(host: sh.Host) -> None:
    conn = await sh.connect(host, "cy")
    try:
        sessions = [await sh.session(conn) for _ in range(3)]
        await sh.until(
            lambda: len(sh.children(host.sessions_parent(), "cy")) == 3, "three cy sessions"
        )
        _, fourth = await sh.session(conn)
        await asyncio.wait_for(fourth.closed.wait(), sh.WAIT)
        assert fourth.exit_status == 1
        assert b"the limit is 3" in fourth.output
        assert len(sh.children(host.sessions_parent(), "cy")) == 3
        assert all(t.exit_status is None for _, t in sessions)
        assert re.search(r"refused cy from 127\.0\.0\.1:\d+: cy already has 3", host.log())
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.e2e
async def test_open_mode_lets_a_new_key_pick_a_free_name(tmp_path: Path) -> None:
    keys = sh.make_keys(tmp_path, ["ada", "newcomer"])
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    result = sh.termnews(
        tmp_path, "members", "add", "ada", f"{keys['ada']}.pub", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    host = sh.start_server(tmp_path, data_dir, config, "--open")
    host.keys = keys
    try:
        conn = await sh.connect(host, "newcomer")
        chan, terminal = await sh.session(conn)
        await sh.until(lambda: b"name: " in terminal.output, "the name prompt")
        for attempt, answer in ((b"Not Valid\r", b"Use 1 to 32"), (b"ada\r", b"taken")):
            chan.write(attempt)
            await sh.until(lambda a=answer: a in terminal.output, f"the answer {answer!r}")
        chan.write(b"newcomer\r")
        await sh.until(
            lambda: sh.children(host.sessions_parent(), "newcomer"), "newcomer's session"
        )
        conn.close()
        await conn.wait_closed()
        names = [
            line.split('"')[1]
            for line in (data_dir / "members").read_text().splitlines()
            if line.startswith("termnews-user=")
        ]
        assert names == ["ada", "newcomer"]

        conn = await sh.connect(host, "newcomer")  # remembered: straight in, no prompt
        chan, terminal = await sh.session(conn)
        await sh.until(
            lambda: sh.children(host.sessions_parent(), "newcomer"), "newcomer's second session"
        )
        assert b"name: " not in terminal.output
        conn.close()
        await conn.wait_closed()
    finally:
        sh.stop_server(host)


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
        host = sh.start_server(tmp_path, paths.data_dir, paths.config_file, "--refresh-every", "1")
        try:
            await sh.until(lambda: "refreshed 1 feeds" in host.log(), "the scheduled refresh")
        finally:
            sh.stop_server(host)
    assert re.search(r"refreshed 1 feeds: [1-9]\d* new articles, 0 failed", host.log())
    service = NewsService.open(paths, Settings())
    try:
        (feed,) = service.feeds()
        assert feed.total > 0 and feed.error is None
        assert service.pending_index() == 0  # indexed for search by the server, not a session
    finally:
        service.close()


@pytest.mark.e2e
async def test_sessions_are_forked_by_the_zygote_as_if_exec_d(host: sh.Host) -> None:
    zygote = host.zygote_pid()
    assert zygote is not None, host.log()
    assert sh.ppid(zygote) == host.process.pid  # the server started it
    conn, _, _ = await sh.open_reader(host, "ada", env={"LC_TIME": "C.UTF-8"})
    try:
        # Under load an earlier test's ada may still be exiting: wait for exactly this one.
        await sh.until(
            lambda: len(sh.children(zygote, "ada")) == 1, "ada's session under the zygote"
        )
        (pid,) = sh.children(zygote, "ada")
        assert sh.ppid(pid) == zygote and not sh.children(host.process.pid, "ada")
        stat = sh.proc_stat(pid)
        assert stat is not None
        assert int(stat[2]) == pid and int(stat[3]) == pid  # own group, own session
        assert int(stat[4]) != 0  # ... with the PTY as its controlling terminal
        assert sh.status_mask(pid, "SigBlk") == 0  # nothing blocked
        assert not sh.status_mask(pid, "SigIgn") & (1 << (signal.SIGHUP - 1))
        assert sh.status_mask(pid, "SigCgt") & (1 << (signal.SIGINT - 1))  # KeyboardInterrupt
        env = sh.environ(pid)  # exactly the filtered environment, none of the zygote's room
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
    await sh.until(lambda: sh.proc_stat(pid) is None, "ada's session to be reaped by the zygote")


@pytest.mark.e2e
async def test_no_zygote_execs_each_session(tmp_path: Path) -> None:
    keys = sh.make_keys(tmp_path, ["ada"])
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    result = sh.termnews(
        tmp_path, "members", "add", "ada", f"{keys['ada']}.pub", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    host = sh.start_server(tmp_path, data_dir, config, zygote=False)
    host.keys = keys
    try:
        assert "sessions start with exec" in host.log() and host.zygote_pid() is None
        conn = await sh.connect(host, "ada")
        _, terminal = await sh.session(conn, env={"LD_PRELOAD": "/nonexistent/evil.so"})
        await sh.until(lambda: sh.children(host.process.pid, "ada"), "ada's exec'd session")
        (pid,) = sh.children(host.process.pid, "ada")
        assert "LD_PRELOAD" not in sh.environ(pid) and sh.environ(pid)["TERMNEWS_SERVED"] == "1"
        assert os.readlink(f"/proc/{pid}/cwd") == "/"  # not the data dir
        assert not sh.status_mask(pid, "SigIgn") & (1 << (signal.SIGHUP - 1))
        await sh.until(lambda: len(terminal.output) > 0, "the reader to draw")
        conn.abort()
        await sh.until(lambda: not sh.group_members(pid), "the session's process group to be gone")
        # The server reaps it (no zombie left behind), a moment after the group is gone.
        await sh.until(lambda: sh.proc_stat(pid) is None, "the server to reap the session")
        await sh.until(lambda: "logout ada" in host.log(), "ada's logout")
    finally:
        sh.stop_server(host)


@pytest.mark.e2e
async def test_sessions_outlive_a_dead_zygote_which_is_restarted(tmp_path: Path) -> None:
    keys = sh.make_keys(tmp_path, ["ada"])
    data_dir, config = tmp_path / "data", tmp_path / "config.toml"
    result = sh.termnews(
        tmp_path, "members", "add", "ada", f"{keys['ada']}.pub", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    host = sh.start_server(tmp_path, data_dir, config)
    host.keys = keys
    try:
        first = host.zygote_pid()
        assert first is not None
        conn = await sh.connect(host, "ada")
        chan, terminal = await sh.session(conn)
        await sh.until(lambda: sh.children(first, "ada"), "ada's session")
        (pid,) = sh.children(first, "ada")
        await sh.until(lambda: b"Welcome" in terminal.output, "the welcome screen")
        os.kill(first, signal.SIGKILL)
        await sh.until(lambda: host.zygote_pid() not in (None, first), "a new zygote")
        assert "session zygote exited" in host.log()
        await asyncio.sleep(3.0)  # the old code hung sessions up 1-2 s after the death
        assert not terminal.closed.is_set() and sh.proc_stat(pid) is not None
        assert sh.proc_stat(pid)[0] != "Z"  # type: ignore[index]
        mark = len(terminal.output)
        chan.change_terminal_size(90, 25)  # the session still draws: it lays out again
        await sh.until(lambda: len(terminal.output) > mark + 200, "the session to redraw")
        second = host.zygote_pid()
        assert second is not None
        conn2 = await sh.connect(host, "ada")
        await sh.session(conn2)
        await sh.until(lambda: sh.children(second, "ada"), "a session from the new zygote")
        conn2.close()
        await conn2.wait_closed()
        conn.close()  # the orphaned session still ends with its connection
        await conn.wait_closed()
        await sh.until(lambda: not sh.group_members(pid), "the orphaned session to end")
        await sh.until(lambda: host.log().count("logout ada") == 2, "both logouts")
    finally:
        sh.stop_server(host)
