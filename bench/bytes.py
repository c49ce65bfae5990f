"""Bytes the terminal receives per key: next post (`n`) and one scroll line (`j`).

    .venv/bin/python bench/bytes.py [--columns 120 --rows 40] [--presses 4] [--scrolls 20]

Runs `termnews demo` (the sample site on loopback) in a real PTY once per output mode:
Textual's own output (`diff_output = false`), the output layer (the default), and the
layer with the terminal's own colours (`ansi_colors = true`). In each it opens the first
post of the Saltmarsh Quay Gazette feed (the sample site's posts feed), presses `n` through
the feed, then opens the long post, presses `j`, and goes back to the list with `q` (the
"back" column: a whole screen drawn anew). For every key it counts the bytes read
from the PTY master between the key and quiet (no byte for --quiet seconds), and checks on
a pyte screen that the key did what it should. Prints medians and each count. Not run by CI.
`--no-truecolor` drops COLORTERM, as most SSH logins do (Textual then sends 256 colours).
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ptyprocess import PtyProcess

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.support.emulator import emulator  # noqa: E402
from tests.support.terminal import termnews_env  # noqa: E402

FEED = "Saltmarsh Quay Gazette"
LONG_POST = "A year of harbour logs"
MODES = {
    "textual": "diff_output = false\n",
    "layer": "diff_output = true\n",
    "layer+ansi": "diff_output = true\nansi_colors = true\n",
}


class Pty:
    """termnews in a PTY, its output drawn on a pyte screen and counted."""

    def __init__(self, argv: list[str], env: dict[str, str], columns: int, rows: int) -> None:
        self.proc = PtyProcess.spawn(argv, env=env, cwd=str(REPO), dimensions=(rows, columns))
        self.screen, self.stream = emulator(columns, rows)
        self.received = 0
        self.last = bytearray()  # what the last key brought

    def pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.proc.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.proc.fd, 1 << 16)
        except OSError:
            data = b""
        if not data:
            raise RuntimeError("termnews exited:\n" + self.text())
        self.received += len(data)
        self.last += data
        self.stream.feed(data)
        return True

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} never showed; the screen:\n{self.text()}")
            self.pump(0.05)

    def settle(self, quiet: float) -> None:
        while self.pump(quiet):
            pass

    def key(self, key: bytes, quiet: float) -> int:
        """Bytes received from pressing `key` until the output is quiet."""
        self.settle(quiet)
        before = self.received
        self.last = bytearray()
        os.write(self.proc.fd, key)
        self.pump(5.0)  # the first byte
        self.settle(quiet)
        return self.received - before

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)


def run_mode(config: str, args: argparse.Namespace) -> dict[str, list[int]]:
    with tempfile.TemporaryDirectory(prefix="tn-bytes-") as home_dir:
        home = Path(home_dir)
        settings = home / "xdg-config" / "termnews"
        settings.mkdir(parents=True)
        (settings / "config.toml").write_text("[general]\n" + config, encoding="utf-8")
        env = termnews_env(home)
        if args.truecolor:
            env["COLORTERM"] = "truecolor"
        else:
            env.pop("COLORTERM", None)
        argv = [sys.executable, "-m", "termnews", "demo", "--data-dir", str(home / "data")]
        term = Pty(argv, env, args.columns, args.rows)
        counts: dict[str, list[int]] = {"first open": [], "n": [], "j": []}
        try:
            term.wait_for(FEED)
            term.settle(args.quiet)
            for _ in range(8):  # down the feed list to the posts feed
                if f"─ {FEED} " in term.text():
                    break
                term.key(b"j", args.quiet)
            term.wait_for(f"─ {FEED} ")
            term.key(b"\t", args.quiet)
            counts["first open"].append(term.key(b"\r", args.quiet))
            term.wait_for(" 1/")
            for number in range(2, args.presses + 2):
                counts["n"].append(term.key(b"n", args.quiet))
                term.wait_for(f" {number}/")
                if args.dump:
                    (args.dump / f"n{number}.bin").write_bytes(term.last)
            for _ in range(args.presses):  # back to the long post
                if LONG_POST in term.text():
                    break
                term.key(b"p", args.quiet)
            term.wait_for(LONG_POST)
            for _ in range(args.scrolls):
                counts["j"].append(term.key(b"j", args.quiet))
            counts["back"] = [term.key(b"q", args.quiet)]  # from the post back to the list
        finally:
            term.close()
        return counts


def run_newsboat(args: argparse.Namespace) -> dict[str, list[int]]:
    """newsboat on the sample site's posts feed: open the feed, its first post, then `J`."""
    from termnews.demo.server import DemoSite

    with tempfile.TemporaryDirectory(prefix="tn-bytes-nb-") as home_dir, DemoSite() as site:
        home = Path(home_dir)
        (home / "urls").write_text(site.feed_urls[0] + "\n", encoding="utf-8")
        (home / "config").write_text("refresh-on-startup yes\n", encoding="utf-8")
        env = {"TERM": "xterm-256color", "HOME": str(home), "LANG": "C.UTF-8"}
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        if args.truecolor:
            env["COLORTERM"] = "truecolor"
        argv = ["newsboat", "-u", str(home / "urls"), "-c", str(home / "cache.db")]
        term = Pty([*argv, "-C", str(home / "config")], env, args.columns, args.rows)
        counts: dict[str, list[int]] = {"first open": [], "n": [], "j": []}
        try:
            term.wait_for(FEED)
            term.settle(args.quiet)
            term.key(b"\r", args.quiet)  # the feed's posts
            counts["first open"].append(term.key(b"\r", args.quiet))
            term.wait_for("Title:")
            for _ in range(args.presses):
                before = term.screen.display[0]
                counts["n"].append(term.key(b"J", args.quiet))
                if args.dump:
                    (args.dump / f"nb{len(counts['n']) + 1}.bin").write_bytes(term.last)
                if term.screen.display[0] == before:
                    raise RuntimeError("newsboat did not go to the next post:\n" + term.text())
            for _ in range(args.presses):  # back to the long post
                if LONG_POST in term.screen.display[0]:
                    break
                term.key(b"K", args.quiet)
            term.wait_for("Title: " + LONG_POST)
            for _ in range(args.scrolls):  # the pager scrolls with the arrow keys (keypad mode)
                counts["j"].append(term.key(b"\x1bOB", args.quiet))
            counts["back"] = [term.key(b"q", args.quiet)]  # from the post back to the list
        finally:
            term.close()
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--presses", type=int, default=4, help="n presses (the feed has 5)")
    parser.add_argument("--scrolls", type=int, default=20, help="j presses in the long post")
    parser.add_argument("--quiet", type=float, default=0.3, help="seconds without output")
    parser.add_argument(
        "--no-truecolor",
        dest="truecolor",
        action="store_false",
        help="no COLORTERM (what an SSH login usually gets: 256 colours)",
    )
    parser.add_argument(
        "--mode", action="append", choices=[*sorted(MODES), "newsboat"], help="default: all"
    )
    parser.add_argument("--dump", type=Path, help="write each n's bytes to DIR/nN.bin")
    args = parser.parse_args()
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
    colours = "COLORTERM=truecolor" if args.truecolor else "no COLORTERM (256 colours)"
    print(f"termnews demo, {args.columns}x{args.rows}, TERM=xterm-256color, {colours}")
    print(f"{'mode':<12} {'open':>7} {'back':>7} {'n median':>9} {'j median':>9}   each n / each j")
    modes = args.mode or [*MODES, *(["newsboat"] if shutil.which("newsboat") else [])]
    if not shutil.which("newsboat"):
        print("(newsboat is not installed: no comparison)")
    for mode in modes:
        counts = run_newsboat(args) if mode == "newsboat" else run_mode(MODES[mode], args)
        n, j = counts["n"], counts["j"]
        print(
            f"{mode:<12} {counts['first open'][0]:>7} {counts['back'][0]:>7}"
            f" {statistics.median(n):>9.0f} "
            f"{statistics.median(j):>9.0f}   {' '.join(map(str, n))} / {' '.join(map(str, j))}"
        )


if __name__ == "__main__":
    main()
