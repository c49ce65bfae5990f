"""Benchmark `termnews serve`: N concurrent SSH sessions stepping through posts with `n`.

    .venv/bin/python bench/ssh.py --sessions 10 --sessions 50 --presses 10 [--no-zygote]

For each N: starts the sample site and `termnews serve` on loopback with a fresh data dir,
logs N members in at once (asyncssh clients, 100x30 PTYs), opens the first post in every
session, then presses `n` in all sessions at the same moment, `--presses` times (`n` to
the feed's last post, then `p` back to the first, and so on: every press is a step). Prints:

- memory per session: RSS and PSS of each session's process tree, from /proc (sessions
  are the session zygote's children, or the server's with --no-zygote; the zygote's own
  PSS is printed apart: it is paid once per host);
- key-to-screen latency at the client: from sending `n` to the first output byte, and to
  output quiescence (no byte for --quiet seconds; the quiet window is not counted);
- bytes the server sent per `n` press;
- CPU: per login, per first post opened, per `n` (sessions, server, the bench's own
  client), and per second of an idle session (IDLE_SECONDS with nothing pressed);
- how long after every connection drops at once the last session process has ended.

Not run by CI; numbers depend on the machine (record its core count with them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import python_speed

from termnews.demo import DemoSite
from termnews.demo.content import BLOGS, WORDPRESS
from termnews.host.members import add_member, members_path, parse_public_key

STEP_TIMEOUT = 60.0
IDLE_SECONDS = 3.0  # after the first post opens, before the presses: nothing is pressed
ADD = [sys.executable, "-m", "termnews", "add", "--no-discover"]


class Terminal(asyncssh.SSHClientSession):  # type: ignore[type-arg]
    def __init__(self) -> None:
        self.output = bytearray()
        self.last_output = 0.0
        self.first_after: float | None = None  # time of the first byte after `mark`
        self.mark = 0.0

    def data_received(self, data: bytes, datatype: int | None) -> None:  # type: ignore[override]
        now = time.perf_counter()
        if self.first_after is None and now >= self.mark:
            self.first_after = now
        self.output += data
        self.last_output = now

    def arm(self) -> float:
        self.mark = time.perf_counter()
        self.first_after = None
        return self.mark


@dataclass
class Session:
    conn: asyncssh.SSHClientConnection
    chan: asyncssh.SSHClientChannel[bytes]
    term: Terminal
    started: float
    first_frame: float = 0.0
    firsts: list[float] = field(default_factory=list)
    quiets: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def _strip(data: bytes) -> str:
    return re.sub(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b.", b"", data).decode(
        "utf-8", "replace"
    )


async def _quiet(session: Session, quiet: float, since: float, answer: float = 10.0) -> float:
    """Wait for the first byte after `since` (up to `answer` s), then until the session has
    been silent for `quiet` s; returns the last byte's time (`since` if nothing came)."""
    term = session.term
    deadline = time.perf_counter() + answer
    while term.last_output < since and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    deadline = time.perf_counter() + STEP_TIMEOUT
    while time.perf_counter() < deadline:
        last = max(term.last_output, since)
        if time.perf_counter() - last >= quiet:
            return last
        await asyncio.sleep(quiet / 5)
    raise TimeoutError("a session never went quiet")


def _proc_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB of one process, 0 where unreadable."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _faults_and_cpu(pids: list[int]) -> tuple[int, float]:
    """Minor page faults (a forked session pays a copy-on-write fault for each shared page
    it first writes) and CPU seconds (user + system) of these processes so far."""
    faults, ticks = 0, 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        faults += int(fields[7])
        ticks += int(fields[11]) + int(fields[12])
    return faults, ticks / os.sysconf("SC_CLK_TCK")


def _running(pids: list[int]) -> bool:
    """Whether any of these processes still runs (an exited one not yet reaped is a zombie)."""
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] not in "ZX":
            return True
    return False


def _session_memory(parent: int) -> list[tuple[int, int]]:
    """Per session (each child of `parent` with its descendants): total RSS, PSS in kB."""
    result = []
    for child in _proc_tree(parent)[1:]:
        try:
            if Path(f"/proc/{child}/stat").read_text().split(") ")[1].split()[1] != str(parent):
                continue
        except (OSError, IndexError):
            continue
        totals = [_memory_kb(pid) for pid in _proc_tree(child)]
        result.append((sum(r for r, _ in totals), sum(p for _, p in totals)))
    return result


def _start_server(
    base: Path, data_dir: Path, sessions: int, zygote: bool, host: str = "127.0.0.1"
) -> tuple[subprocess.Popen[bytes], int]:
    log = base / "serve.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMNEWS_", "SSH_"))}
    env["XDG_CONFIG_HOME"] = str(base / "xdg-config")
    argv = [sys.executable, "-m", "termnews", "serve", "--listen", f"{host}:0"]
    argv += ["--data-dir", str(data_dir), "--config", str(base / "config.toml")]
    argv += ["--max-sessions", str(sessions), "--max-per-member", "1", "--refresh-every", "0"]
    # Every login comes at once from 127.0.0.1: let them all through the start-up gate.
    argv += ["--max-startups", str(sessions), "--per-source-startups", str(sessions)]
    if not zygote:
        argv.append("--no-zygote")
    with log.open("wb") as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(rf"listening on {re.escape(host)}:(\d+)", log.read_text())
        if found:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"termnews serve did not start:\n{log.read_text()}")


async def _open(
    port: int,
    key: asyncssh.SSHKey,
    title: str,
    host: str = "127.0.0.1",
    size: tuple[int, int] = (100, 30),
) -> Session:
    started = time.perf_counter()
    conn = await asyncssh.connect(
        host, port, username="bench", client_keys=[key], known_hosts=None, agent_path=None
    )
    chan, term = await conn.create_session(
        Terminal, encoding=None, term_type="xterm-256color", term_size=size
    )
    session = Session(conn, chan, term, started)  # type: ignore[arg-type]
    deadline = time.perf_counter() + STEP_TIMEOUT
    while title not in _strip(bytes(term.output)):
        if time.perf_counter() > deadline:
            raise TimeoutError("the feed list never appeared")
        await asyncio.sleep(0.02)
    session.first_frame = time.perf_counter() - started
    return session


async def _press_all(sessions: list[Session], key: bytes, quiet: float) -> None:
    for session in sessions:
        session.term.arm()
        session.chan.write(key)
    await asyncio.gather(*(_quiet(s, quiet, s.term.mark) for s in sessions))


def _zygote_pid(base: Path) -> int | None:
    found = re.findall(r"session zygote ready \(pid (\d+)", (base / "serve.err").read_text())
    return int(found[-1]) if found else None


async def run(
    count: int, presses: int, quiet: float, verbose: bool, zygote: bool
) -> dict[str, Any]:
    title = BLOGS[WORDPRESS].title
    with tempfile.TemporaryDirectory(prefix="termnews-bench-ssh-") as tmp, DemoSite() as site:
        base = Path(tmp)
        data_dir = base / "data"
        for url in site.feed_urls:
            subprocess.run(
                [*ADD, url, "--data-dir", str(data_dir), "--config", str(base / "config.toml")],
                check=True,
                capture_output=True,
            )
        keys = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(count)]
        for number, key in enumerate(keys):
            text = key.export_public_key().decode("ascii")
            add_member(members_path(data_dir), f"m{number}", parse_public_key(text))
        process, port = _start_server(base, data_dir, count, zygote)
        zygote_pid = _zygote_pid(base)
        if zygote and zygote_pid is None:
            raise SystemExit("the server started without its session zygote")
        try:

            def sessions_cpu() -> float:
                return _faults_and_cpu(_proc_tree(zygote_pid or process.pid)[1:])[1]

            server_cpu = _faults_and_cpu([process.pid])[1]
            client_cpu = time.process_time()
            sessions = await asyncio.gather(*(_open(port, key, title) for key in keys))
            await asyncio.gather(*(_quiet(s, quiet, 0.0, 0.0) for s in sessions))
            # Where a login's CPU goes: the server (SSH handshake, PTY, fork request) and the
            # session itself up to its first quiet screen (the zygote forks it ready-made).
            server_cpu = _faults_and_cpu([process.pid])[1] - server_cpu
            # The bench's own SSH clients share the machine's cores with the host.
            client_cpu = time.process_time() - client_cpu
            login_cpu = sessions_cpu()
            # Feed list -> article list (tab) -> first post (enter).
            await _press_all(sessions, b"\t", quiet)
            opening = sessions_cpu()
            await _press_all(sessions, b"\r", quiet)
            open_cpu = sessions_cpu() - opening
            if verbose:
                print(_strip(bytes(sessions[0].term.output[-4000:]))[-1500:])
            # Idle: what the sessions cost while their members read (nothing pressed).
            idle_start = sessions_cpu()
            await asyncio.sleep(IDLE_SECONDS)
            idle_cpu = sessions_cpu() - idle_start
            memory = _session_memory(zygote_pid or process.pid)
            zygote_pss = _memory_kb(zygote_pid)[1] if zygote_pid else 0
            session_pids = _proc_tree(zygote_pid or process.pid)[1:]
            faults_before, cpu_before = _faults_and_cpu(session_pids)
            rounds: list[list[float]] = []
            round_cpu: list[float] = []  # CPU of all sessions in each round, seconds
            server_round_cpu = _faults_and_cpu([process.pid])[1]
            client_round_cpu = time.process_time()
            # Every press a real step: `n` to the last post, then `p` back, and so on. (Past
            # the end, `n` only shows a "Last post" toast, whose slow first mount once
            # made up most of the p90 and hid the steps' own latency.)
            found = re.findall(r" 1/(\d+)", _strip(bytes(sessions[0].term.output[-6000:])))
            posts = max(2, int(found[-1])) if found else 2
            for number in range(presses):
                rounds.append([])
                cpu_start = _faults_and_cpu(session_pids)[1]
                starts = [len(s.term.output) for s in sessions]
                key = b"n" if (number // (posts - 1)) % 2 == 0 else b"p"
                for session in sessions:
                    session.term.arm()
                    session.chan.write(key)
                lasts = await asyncio.gather(*(_quiet(s, quiet, s.term.mark) for s in sessions))
                round_cpu.append(_faults_and_cpu(session_pids)[1] - cpu_start)
                for session, start, last in zip(sessions, starts, lasts, strict=True):
                    if session.term.first_after is None:
                        continue  # nothing drawn (end of list): not a latency sample
                    session.firsts.append(session.term.first_after - session.term.mark)
                    rounds[-1].append(session.term.first_after - session.term.mark)
                    session.quiets.append(last - session.term.mark)
                    session.sizes.append(len(session.term.output) - start)
            faults_after, cpu_after = _faults_and_cpu(session_pids)
            faults, cpu = faults_after - faults_before, cpu_after - cpu_before
            server_round_cpu = _faults_and_cpu([process.pid])[1] - server_round_cpu
            client_round_cpu = time.process_time() - client_round_cpu
            # Every connection dropped at once: until the last session process has ended.
            dropped = time.perf_counter()
            for session in sessions:
                session.conn.close()
            await asyncio.gather(*(s.conn.wait_closed() for s in sessions))
            while _running(session_pids) and time.perf_counter() - dropped < 10:
                await asyncio.sleep(0.01)
            gone_s = time.perf_counter() - dropped
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    firsts = [v * 1000 for s in sessions for v in s.firsts]
    quiets = [v * 1000 for s in sessions for v in s.quiets]
    sizes = [v for s in sessions for v in s.sizes]

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {
        "sessions": count,
        "startup_med_s": statistics.median(s.first_frame for s in sessions),
        "login_cpu_ms": (server_cpu * 1000 / count, login_cpu * 1000 / count),
        "client_cpu_ms": client_cpu * 1000 / count,
        "open_cpu_ms": open_cpu * 1000 / count,
        "idle_ms_per_s": idle_cpu * 1000 / count / IDLE_SECONDS,
        "gone_s": gone_s,
        "rss_mb": statistics.mean(r for r, _ in memory) / 1024 if memory else float("nan"),
        "pss_mb": statistics.mean(p for _, p in memory) / 1024 if memory else float("nan"),
        "first_med_ms": pct(firsts, 0.5),
        "first_p90_ms": pct(firsts, 0.9),
        "quiet_med_ms": pct(quiets, 0.5),
        "quiet_p90_ms": pct(quiets, 0.9),
        "bytes_per_n": statistics.mean(sizes) if sizes else float("nan"),
        "samples": len(sizes),
        "zygote_pss_mb": zygote_pss / 1024,
        "faults_per_n": faults / max(1, len(sizes)),
        "cpu_per_n_ms": cpu * 1000 / max(1, len(sizes)),
        "server_per_n_ms": server_round_cpu * 1000 / max(1, len(sizes)),
        "client_per_n_ms": client_round_cpu * 1000 / max(1, len(sizes)),
        # Key to first byte, median of each round of presses: a cost paid only by the
        # first presses (a forked session's copy-on-write faults) shows up front.
        "first_med_by_round_ms": [
            round(statistics.median(r) * 1000, 1) if r else float("nan") for r in rounds
        ],
        "cpu_by_round_ms": [c * 1000 / count for c in round_cpu],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sessions", type=int, action="append", help="concurrent sessions (repeatable)"
    )
    parser.add_argument("--presses", type=int, default=10, help="`n` presses per session")
    parser.add_argument("--quiet", type=float, default=0.25, help="seconds of silence = done")
    parser.add_argument("--verbose", action="store_true", help="show a session's screen text")
    parser.add_argument(
        "--no-zygote", action="store_true", help="exec every session (no session zygote)"
    )
    args = parser.parse_args()
    counts = args.sessions or [10, 50]
    mode = "exec per session" if args.no_zygote else "sessions forked by the zygote"
    print(
        f"termnews serve benchmark on {os.cpu_count()} cores; {args.presses} presses/session;"
        f" {mode}; machine: {python_speed()}"
    )
    print(
        "sessions  startup(med)  RSS/session  PSS/session  first byte med/p90"
        "   quiescent med/p90   bytes/n  samples  zygote PSS"
    )
    for count in counts:
        r = asyncio.run(run(count, args.presses, args.quiet, args.verbose, not args.no_zygote))
        print(
            f"{r['sessions']:>8}  {r['startup_med_s']:>10.2f} s  {r['rss_mb']:>8.1f} MB"
            f"  {r['pss_mb']:>8.1f} MB  {r['first_med_ms']:>7.0f}/{r['first_p90_ms']:<6.0f} ms"
            f"  {r['quiet_med_ms']:>7.0f}/{r['quiet_p90_ms']:<6.0f} ms"
            f"  {r['bytes_per_n']:>8.0f}  {r['samples']:>7}  {r['zygote_pss_mb']:>7.1f} MB",
            flush=True,
        )
        load = os.getloadavg()
        rounds = ", ".join(f"{v:.0f}" for v in r["first_med_by_round_ms"])
        cpu = ", ".join(f"{v:.0f}" for v in r["cpu_by_round_ms"])
        print(
            f"          per n and session: CPU {r['cpu_per_n_ms']:.1f} ms (the server's SSH"
            f" {r['server_per_n_ms']:.1f} ms, the bench's client {r['client_per_n_ms']:.1f} ms),"
            f" minor faults"
            f" {r['faults_per_n']:.0f}; first byte median"
            f" by round of presses: {rounds} ms; CPU per session by round: {cpu} ms;"
            f" load {load[0]:.1f} {load[1]:.1f}",
            flush=True,
        )
        server_ms, session_ms = r["login_cpu_ms"]
        print(
            f"          CPU per login: server {server_ms:.0f} ms (SSH, PTY, fork request),"
            f" session {session_ms:.0f} ms (to its first quiet screen); the bench's own"
            f" SSH client {r['client_cpu_ms']:.0f} ms on the same cores; the first post"
            f" opened (Enter) {r['open_cpu_ms']:.0f} ms; idle, per session"
            f" {r['idle_ms_per_s']:.2f} ms of CPU a second; all connections dropped at"
            f" once: every session ended {r['gone_s']:.2f} s later",
            flush=True,
        )


if __name__ == "__main__":
    main()
