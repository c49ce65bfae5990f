"""Benchmark one `termnews serve` session over real SSH through a slow, throttled link.

    sudo .venv/bin/python bench/slowlink.py [--rate 1mbit] [--delay 50ms] [--one-way]

Needs root and `ip`/`tc` (iproute2); without them it prints why and exits 0. It makes a
network namespace and a veth pair (10.213.N.1 on the host side, .2 inside), puts
`tc qdisc netem rate RATE delay DELAY` on both ends of the pair (both directions, so the
round trip is twice DELAY; `--one-way` throttles only the host -> client side, where the
screen output flows), and removes all of it on exit, Ctrl-C or error. A kernel without
netem (sch_netem) gets the same link from two TUN devices and a delay line in this
process instead of the veth pair (`--link tun`; `auto` picks netem where it exists).

The sample site, the member and `termnews serve` (listening on the veth address) start
as in bench/ssh.py, whose helpers this imports. The asyncssh client runs inside the
namespace (`ip netns exec`), with a 120x40 PTY. It opens the first post of the sample
site's posts feed, then:

- steps: presses `n` and waits for quiet (no byte for --quiet s), over the feed's posts
  and back with `p` (not measured), --rounds times; prints the time from `n` to its
  first and last byte (the quiet window not counted) and the bytes per `n`;
- burst: 10 keys in 100 ms (n p n p n p n p n n: the feed has 5 posts, so every key
  draws another post), as when `n` is held down; prints the time from the first key to
  the last byte (the final screen) and the bytes sent.

Both run with the default output path and again with `diff_output = false` (Textual's
own whole-line output). Not run by CI; numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import heapq
import json
import math
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncssh
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ssh import ADD, Session, _open, _quiet, _start_server

from termnews.demo import DemoSite
from termnews.demo.content import BLOGS, WORDPRESS
from termnews.host.members import add_member, members_path, parse_public_key

SIZE = (120, 40)
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
BURST = b"npnpnpnpnn"
BURST_GAP = 0.010  # seconds between the burst's keys: 10 keys in 100 ms


def unavailable() -> str | None:
    """Why the throttled link cannot be made here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "making a network namespace needs root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"`{tool}` (iproute2) is not installed"
    return None


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def _namespace(name: str) -> None:
    _run("ip", "netns", "add", name)
    _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")


@contextmanager
def netem_link(rate: str, delay: str, both: bool) -> Iterator[tuple[str, str]]:
    """A namespace joined to this one by a veth pair with netem on it: (namespace, host
    address); the client's address is .2. Everything made is removed on the way out."""
    tag = os.getpid() % 250
    name, host_if, ns_if = f"tnslow{os.getpid()}", f"tnsh{os.getpid()}", "tnsc0"
    host_ip, ns_ip = f"10.213.{tag}.1", f"10.213.{tag}.2"
    inside = ("ip", "netns", "exec", name)
    try:
        _namespace(name)
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _run("ip", "link", "set", ns_if, "netns", name)
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run(*inside, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        _run(*inside, "ip", "link", "set", ns_if, "up")
        netem = ("root", "netem", "rate", rate, "delay", delay)
        _run("tc", "qdisc", "add", "dev", host_if, *netem)
        if both:
            _run(*inside, "tc", "qdisc", "add", "dev", ns_if, *netem)
        yield name, host_ip
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)


def netem_missing() -> bool:
    """Whether this kernel lacks the netem qdisc (tried on a throwaway veth pair)."""
    probe = f"tnsp{os.getpid()}"
    try:
        _run("ip", "link", "add", probe, "type", "veth", "peer", "name", probe + "p")
        done = subprocess.run(
            ["tc", "qdisc", "add", "dev", probe, "root", "netem", "delay", "1ms"],
            capture_output=True,
        )
        return done.returncode != 0
    finally:
        subprocess.run(["ip", "link", "del", probe], capture_output=True)


def _tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


class DelayLine(threading.Thread):
    """netem in user space, for kernels without it: moves IP packets between two TUN
    devices, each direction a link of `rate` bit/s (packets wait their turn) whose
    packets arrive `delay` s after they leave. Over 1000 packets queued, it drops."""

    def __init__(self, links: list[tuple[int, int, float, float]]) -> None:
        super().__init__(daemon=True, name="delay-line")
        self._links = {src: (dst, rate, delay) for src, dst, rate, delay in links}
        self._quit, self._wake = os.pipe()
        self.dropped = 0

    def stop(self) -> None:
        os.write(self._wake, b"x")
        self.join()
        os.close(self._quit)
        os.close(self._wake)

    def run(self) -> None:
        due: list[tuple[float, int, int, bytes]] = []  # (arrival, order, from fd, packet)
        free_at = dict.fromkeys(self._links, 0.0)  # when each link has sent its queue
        queued = dict.fromkeys(self._links, 0)
        order = 0
        while True:
            timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
            ready, _, _ = select.select([self._quit, *self._links], [], [], timeout)
            if self._quit in ready:
                return
            now = time.monotonic()
            for src in ready:
                _, rate, delay = self._links[src]
                while True:
                    try:
                        packet = os.read(src, 65536)
                    except BlockingIOError:
                        break
                    if queued[src] >= 1000:
                        self.dropped += 1
                        continue
                    free_at[src] = max(now, free_at[src]) + len(packet) * 8 / rate
                    heapq.heappush(due, (free_at[src] + delay, order, src, packet))
                    order += 1
                    queued[src] += 1
            while due and due[0][0] <= time.monotonic():
                _, _, src, packet = heapq.heappop(due)
                queued[src] -= 1
                with contextlib.suppress(OSError):
                    os.write(self._links[src][0], packet)


def _amount(text: str, units: dict[str, float]) -> float:
    found = re.fullmatch(r"([0-9.]+)\s*([a-z]*)", text.strip().lower())
    if found is None or found.group(2) not in units:
        raise SystemExit(f"slowlink: cannot read {text!r} (units: {', '.join(units)})")
    return float(found.group(1)) * units[found.group(2)]


@contextmanager
def tun_link(rate: str, delay: str, both: bool) -> Iterator[tuple[str, str]]:
    """Like `netem_link`, through two TUN devices and a `DelayLine` instead of a veth pair
    with netem: the kernel's TCP still sees the link's rate and round trip."""
    bits = _amount(rate, {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9})
    seconds = _amount(delay, {"s": 1, "ms": 1e-3, "us": 1e-6})
    tag = os.getpid() % 250
    name, host_if, ns_if = f"tnslow{os.getpid()}", f"tnsh{os.getpid()}", f"tnsc{os.getpid()}"
    host_ip, ns_ip = f"10.213.{tag}.1", f"10.213.{tag}.2"
    inside = ("ip", "netns", "exec", name)
    fds: list[int] = []
    line: DelayLine | None = None
    try:
        _namespace(name)
        fds = [_tun(host_if), _tun(ns_if)]
        _run("ip", "link", "set", ns_if, "netns", name)
        _run("ip", "addr", "add", host_ip, "peer", ns_ip, "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run(*inside, "ip", "addr", "add", ns_ip, "peer", host_ip, "dev", ns_if)
        _run(*inside, "ip", "link", "set", ns_if, "up")
        # What the host sends to the client leaves through host_if's fd, and back.
        back = (bits, seconds) if both else (math.inf, 0.0)
        line = DelayLine([(fds[0], fds[1], bits, seconds), (fds[1], fds[0], *back)])
        line.start()
        yield name, host_ip
    finally:
        try:
            if line is not None:
                line.stop()
        finally:
            for fd in fds:
                os.close(fd)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            subprocess.run(["ip", "link", "del", host_if], capture_output=True)


# -- the client, inside the namespace ---------------------------------------------------


async def _step(session: Session, key: bytes, quiet: float) -> tuple[float, float, int] | None:
    """Press `key`; (ms to the first byte, ms to the last, bytes), None if nothing came."""
    start = len(session.term.output)
    mark = session.term.arm()
    session.chan.write(key)
    last = await _quiet(session, quiet, mark)
    if session.term.first_after is None:
        return None
    first = session.term.first_after
    return (first - mark) * 1000, (last - mark) * 1000, len(session.term.output) - start


async def _back(session: Session, quiet: float, count: int) -> None:
    """`p` `count` times, never past the first post (its notice would draw later on)."""
    for _ in range(count):
        await _step(session, b"p", quiet)


async def _burst(session: Session, quiet: float) -> tuple[float, int]:
    start = len(session.term.output)
    mark = session.term.arm()
    for number, key in enumerate(BURST):
        await asyncio.sleep(max(0.0, mark + number * BURST_GAP - time.perf_counter()))
        session.chan.write(bytes([key]))
    last = await _quiet(session, quiet, mark)
    return (last - mark) * 1000, len(session.term.output) - start


async def client(spec: dict[str, Any]) -> dict[str, Any]:
    key = asyncssh.read_private_key(spec["key"])
    session = await _open(spec["port"], key, spec["title"], spec["host"], SIZE)
    quiet = spec["quiet"]
    await _quiet(session, quiet, 0.0, 0.0)
    for key_press in (b"\t", b"\r"):  # feed list -> article list -> first post
        await _step(session, key_press, quiet)
    steps: list[tuple[float, float, int]] = []
    for _ in range(spec["rounds"]):
        for _ in range(spec["posts"] - 1):
            sample = await _step(session, b"n", quiet)
            if sample is not None:
                steps.append(sample)
        await _back(session, quiet, spec["posts"] - 1)
    bursts = []
    for _ in range(spec["bursts"]):
        bursts.append(await _burst(session, quiet))
        await _back(session, quiet, BURST.count(b"n") - BURST.count(b"p"))
    session.conn.close()
    await session.conn.wait_closed()
    return {"first_frame_s": session.first_frame, "steps": steps, "bursts": bursts}


# -- the host side ----------------------------------------------------------------------


def run(args: argparse.Namespace, diff_output: bool) -> dict[str, Any]:
    title = BLOGS[WORDPRESS].title
    with (
        tempfile.TemporaryDirectory(prefix="termnews-bench-slowlink-") as tmp,
        DemoSite() as site,
        args.make_link(args.rate, args.delay, not args.one_way) as (namespace, host_ip),
    ):
        base = Path(tmp)
        data_dir, config = base / "data", base / "config.toml"
        config.write_text(f"[general]\ndiff_output = {'true' if diff_output else 'false'}\n")
        subprocess.run(
            [*ADD, site.feed_urls[0], "--data-dir", str(data_dir), "--config", str(config)],
            check=True,
            capture_output=True,
        )
        key = asyncssh.generate_private_key("ssh-ed25519")
        key_file = base / "client_key"
        key.write_private_key(str(key_file))
        add_member(
            members_path(data_dir), "slow", parse_public_key(key.export_public_key().decode())
        )
        process, port = _start_server(base, data_dir, 1, True, host_ip)
        try:
            spec = {
                "key": str(key_file),
                "host": host_ip,
                "port": port,
                "title": title,
                "quiet": args.quiet,
                "rounds": args.rounds,
                "bursts": args.bursts,
                # `n` on the last post shows a notice (drawn again when it goes): stop short.
                "posts": httpx.get(site.feed_urls[0]).text.count("<item>"),
            }
            argv = ["ip", "netns", "exec", namespace, sys.executable, __file__]
            done = subprocess.run(
                [*argv, "--client", json.dumps(spec)], capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"the client failed:\n{done.stderr[-3000:]}")
            return dict(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _report(label: str, result: dict[str, Any]) -> None:
    steps = result["steps"]
    firsts = [s[0] for s in steps]
    lasts = [s[1] for s in steps]
    sizes = [s[2] for s in steps]
    bursts = result["bursts"]
    print(
        f"{label:<22} {result['first_frame_s']:>6.2f} s"
        f"  {statistics.median(firsts):>5.0f} / {max(firsts):<5.0f}"
        f"  {statistics.median(lasts):>5.0f} / {max(lasts):<5.0f}"
        f"  {statistics.mean(sizes):>7.0f}  {len(steps):>3}"
        f"  {statistics.median(b[0] for b in bursts):>6.0f}"
        f"  {statistics.mean(b[1] for b in bursts):>8.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", default="1mbit", help="netem rate (tc syntax)")
    parser.add_argument("--delay", default="50ms", help="netem delay per direction")
    parser.add_argument(
        "--one-way", action="store_true", help="throttle only host -> client (the output)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="passes over the feed's posts")
    parser.add_argument("--bursts", type=int, default=3, help="10-key bursts")
    parser.add_argument("--quiet", type=float, default=0.4, help="seconds of silence = done")
    parser.add_argument(
        "--link",
        choices=("auto", "netem", "tun"),
        default="auto",
        help="netem on a veth pair, or TUN devices and a user-space delay line"
        " (auto: netem where the kernel has it)",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(client(json.loads(args.client)))))
        return
    reason = unavailable()
    if reason is not None:
        print(f"slowlink: skipped: {reason}")
        return
    # SIGTERM unwinds like Ctrl-C, so the namespace and the server go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.link == "auto":
        args.link = "tun" if netem_missing() else "netem"
    args.make_link = tun_link if args.link == "tun" else netem_link
    how = "netem on a veth pair" if args.link == "netem" else "TUN + user-space delay line"
    way = "one way (host -> client)" if args.one_way else "both directions"
    print(
        f"termnews serve over SSH, {how}: rate {args.rate} delay {args.delay}, {way};"
        f" {SIZE[0]}x{SIZE[1]}; {os.cpu_count()} cores"
    )
    print(
        "output path            start     n: first byte  last byte (ms)"
        "  bytes/n   #   burst: last byte (ms)  bytes"
    )
    print("                                  med / max     med / max")
    for label, diff_output in (("default (diff output)", True), ("diff_output = false", False)):
        try:
            _report(label, run(args, diff_output))
        except RuntimeError as error:
            print(f"slowlink: skipped: cannot make the link: {error}")
            return


if __name__ == "__main__":
    main()
