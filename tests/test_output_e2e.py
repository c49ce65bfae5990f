"""The output layer end to end: the real app in a real PTY, with the layer on and with
Textual's own output, shows the same screen after every key (cells and colours, read
through a terminal emulator), while the layer sends fewer bytes."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ptyprocess import PtyProcess

from termnews.demo import DemoSite
from tests.support.emulator import RichScreen, emulator
from tests.support.terminal import termnews_env
from tests.test_output_exact import visible

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
COLS, ROWS = 100, 30
QUIET = 0.6  # seconds without output that count as "the key is done"
# Into the All list, the first post, n to the 40k-word one (the seventh), which scrolls.
KEYS = [b"\t", b"\r", *[b"n"] * 6, b"j", b"j", b"j", b" ", b"p", b"q", b"j", b"j", b"k"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample site's feeds, fetched once into a data dir each run starts from a copy of."""
    home = tmp_path_factory.mktemp("output-e2e")
    site = DemoSite().start()
    try:
        env = termnews_env(home)
        urls = home / "urls"
        urls.write_text("\n".join(site.feed_urls) + "\n", encoding="utf-8")
        data = home / "data"
        for args in (["import", str(urls)], ["refresh"]):
            done = subprocess.run(
                [sys.executable, "-m", "termnews", *args, "--data-dir", str(data)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        site.stop()
    yield data


class Session:
    def __init__(self, data: Path, home: Path, diff_output: bool, term: str) -> None:
        settings = home / "xdg-config" / "termnews"
        settings.mkdir(parents=True)
        value = "true" if diff_output else "false"
        (settings / "config.toml").write_text(f"[general]\ndiff_output = {value}\n", "utf-8")
        env = termnews_env(home)
        env["TERM"] = term
        if term.startswith("xterm"):
            env["COLORTERM"] = "truecolor"
        argv = [sys.executable, "-m", "termnews", "--data-dir", str(data)]
        self.proc = PtyProcess.spawn(argv, env=env, cwd=str(ROOT), dimensions=(ROWS, COLS))
        self.screen: RichScreen
        self.screen, self.stream = emulator(COLS, ROWS)
        self.received = 0

    def settle(self, first: float = 20.0) -> int:
        """Read until the output has been quiet for QUIET seconds; bytes read."""
        before = self.received
        wait = first
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.fd], [], [], wait)
            if not ready:
                break
            try:
                data = os.read(self.proc.fd, 1 << 16)
            except OSError:
                break
            if not data:
                break
            self.received += len(data)
            self.stream.feed(data)
            wait = QUIET
        return self.received - before

    def press(self, key: bytes) -> int:
        os.write(self.proc.fd, key)
        return self.settle(first=5.0)

    def cells(self) -> list[list[tuple[object, ...]]]:
        return [[visible(cell) for cell in row] for row in self.screen.cells()]

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)


def difference(layer: Session, textual: Session) -> str:
    """The first cells that differ, to say what went wrong (and where)."""
    for y, (mine, theirs) in enumerate(zip(layer.cells(), textual.cells(), strict=True)):
        for x, (cell, other) in enumerate(zip(mine, theirs, strict=True)):
            if cell != other:
                return f"row {y} column {x}: layer {cell!r}, Textual {other!r}"
    return "no cell differs now"


def start(data_dir: Path, tmp_path: Path, diff_output: bool, term: str) -> Session:
    name = "layer" if diff_output else "textual"
    data = tmp_path / name / "data"
    shutil.copytree(data_dir, data)
    return Session(data, tmp_path / name, diff_output, term)


# xterm: truecolor, erase with the background, ECH, scrolling; vt100: none of the erases
# and no scrolling margins with delete line (only cursor moves and SGR).
@pytest.mark.parametrize("term", ["xterm-256color", "vt100"])
def test_the_layer_shows_what_textual_shows_in_a_real_terminal(
    data_dir: Path, tmp_path: Path, term: str
) -> None:
    textual = start(data_dir, tmp_path, False, term)
    layer = start(data_dir, tmp_path, True, term)
    try:
        textual.settle()
        layer.settle()
        first = textual.text()
        assert "Saltmarsh Quay Gazette" in first
        for step, key in enumerate(KEYS):
            os.write(textual.proc.fd, key)
            os.write(layer.proc.fd, key)
            textual.settle(first=3.0)
            layer.settle(first=3.0)
            if layer.cells() != textual.cells():
                # A frame later than the quiet window (a loaded machine): one more wait.
                textual.settle(first=3.0)
                layer.settle(first=3.0)
            assert layer.text() == textual.text(), f"after {key!r}:\n{layer.text()}"
            assert layer.cells() == textual.cells(), f"after {key!r}: {difference(layer, textual)}"
            if step == 1:
                assert textual.text() != first  # the keys did something: a post opened
        assert layer.received < textual.received / 2
    finally:
        textual.close()
        layer.close()
