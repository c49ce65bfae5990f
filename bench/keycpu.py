"""CPU one session spends per key: `j`/`k` in the article list, `n`/`p` through a feed, and
`n` onto a long post.

    .venv/bin/python bench/keycpu.py [--rounds 6] [--columns 120 --rows 40]

Runs `termnews demo` in a real PTY (as bench/bytes.py does), opens the first post of the
sample site's posts feed and reads the process's CPU time from /proc around the keys:
`--rounds` times four `j` and four `k` in the article list first, and Enter then `q` (the
post opens, the list comes back); then four `n` and four `p` in the reader (each waits
for a quiet screen), then, from the post before it, `n` onto the sample site's 40k-word
post after a 1.5 s pause (a reader reading: the read-ahead has run). CPU time, not wall
time: what a shared host pays per key (the scheduler's per-thread nanoseconds, where /proc
has them; a thread that ends between two readings takes its time with it, which only the
read-ahead's could). First, cold: `n` from post 1 to the feed's end with no pause and
nothing cached (the long post, and the key after it, where the collector's work for its
objects falls).
Not run by CI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bytes import FEED, LONG_POST, REPO, Pty
from machine import python_speed

sys.path.insert(0, str(REPO))
from tests.support.terminal import termnews_env


def cpu_seconds(pid: int) -> float:
    """CPU time of all the process's threads so far: the scheduler's nanoseconds on a CPU
    (/proc/PID/task/*/schedstat; ended threads are gone from it), else /proc's 10 ms ticks."""
    total, found = 0, False
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[0])
                found = True
    if found:
        return total / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(term: Pty, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        term.pump(0.1)


Run = tuple[list[float], float, list[float], list[float], list[tuple[float, float]]]


def run(args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix="tn-keycpu-") as home_dir:
        home = Path(home_dir)
        (home / "xdg-config" / "termnews").mkdir(parents=True)
        (home / "xdg-config" / "termnews" / "config.toml").write_text("[general]\n")
        argv = [sys.executable, "-m", "termnews", "demo", "--data-dir", str(home / "data")]
        term = Pty(argv, termnews_env(home), args.columns, args.rows)
        try:
            term.wait_for(FEED)
            term.settle(0.5)
            for _ in range(8):  # down the feed list to the posts feed
                if f"─ {FEED} " in term.text():
                    break
                term.key(b"j", 0.3)
            term.key(b"\t", 0.3)
            idle(term, 3.0)
            in_list = []  # j/k in the article list (the feed's five posts)
            for _ in range(args.rounds):
                before = cpu_seconds(term.proc.pid)
                for key in b"jjjjkkkk":
                    term.key(bytes([key]), 0.15)
                in_list.append((cpu_seconds(term.proc.pid) - before) / 8)
            trips = []  # Enter opens the highlighted post, q goes back to the list
            for _ in range(args.rounds):
                before = cpu_seconds(term.proc.pid)
                term.key(b"\r", 0.25)
                opened = cpu_seconds(term.proc.pid)
                term.key(b"q", 0.25)
                trips.append((opened - before, cpu_seconds(term.proc.pid) - opened))
            term.key(b"\r", 0.3)
            term.wait_for(" 1/")
            idle(term, 6.0)  # the start's own work (comment counts, search index) is done
            # Cold: n from post 1 to the end of the feed, each key as soon as the screen is
            # quiet (no read-ahead has run, nothing is cached): the long post, and the key
            # after it (where the collector's work for the long post's objects falls).
            cold = []
            for _ in range(4):
                before = cpu_seconds(term.proc.pid)
                term.key(b"n", 0.1)
                cold.append(cpu_seconds(term.proc.pid) - before)
            for _ in range(4):
                term.key(b"p", 0.3)
            term.wait_for(" 1/")
            per_round = []
            for _ in range(args.rounds):
                before = cpu_seconds(term.proc.pid)
                for key in b"nnnnpppp":
                    term.key(bytes([key]), 0.15)
                per_round.append((cpu_seconds(term.proc.pid) - before) / 8)
            for _ in range(6):  # to the post before the long one
                if LONG_POST in term.screen.display[0]:
                    break
                term.key(b"n", 0.3)
            term.key(b"p", 0.3)
            idle(term, 1.5)
            before = cpu_seconds(term.proc.pid)
            term.key(b"n", 0.3)
            long_post = cpu_seconds(term.proc.pid) - before
            if LONG_POST not in term.screen.display[0]:
                raise SystemExit("n did not reach the long post:\n" + term.text())
            return per_round, long_post, cold, in_list, trips
        finally:
            term.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    args = parser.parse_args()
    per_round, long_post, cold, in_list, trips = run(args)
    load = os.getloadavg()
    print(f"termnews demo {args.columns}x{args.rows}, {os.cpu_count()} cores, load {load[0]:.1f}")
    print(f"machine: {python_speed()}")
    print(
        f"CPU per n/p: median {statistics.median(per_round) * 1000:.1f} ms"
        f" (rounds: {', '.join(f'{v * 1000:.1f}' for v in per_round)})"
    )
    print(
        f"CPU per j/k in the article list: median {statistics.median(in_list) * 1000:.1f} ms"
        f" (rounds: {', '.join(f'{v * 1000:.1f}' for v in in_list)})"
    )
    opens, closes = [t[0] for t in trips], [t[1] for t in trips]
    print(
        f"CPU per Enter (the post opens) / q (back to the list): median"
        f" {statistics.median(opens) * 1000:.1f} / {statistics.median(closes) * 1000:.1f} ms"
    )
    print(f"CPU for n onto the long post after a pause: {long_post * 1000:.1f} ms")
    print(
        "CPU per n, cold (no pause, nothing cached), posts 2-5 (3: the long one): "
        + ", ".join(f"{v * 1000:.0f}" for v in cold)
        + " ms"
    )


if __name__ == "__main__":
    main()
