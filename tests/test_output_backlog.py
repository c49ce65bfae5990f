"""Frames drawn while the terminal is not read coalesce: when the reader comes back it
gets about one frame's difference to the latest screen, not every frame drawn meanwhile
(the real app in a real PTY whose reader stops, as a host's does on a slow link)."""

from __future__ import annotations

import os
import shutil
import time
import tty
from pathlib import Path

import pytest

from tests import test_output_e2e as e2e

pytestmark = pytest.mark.e2e

data_dir = e2e.data_dir  # the same fixture: the sample site's feeds, fetched once
# 97 keys that each show another post (the feed has 5), ending on the second; so far
# apart that each is drawn on its own.
HELD = b"nnnnpppp" * 12 + b"n"
GAP = 0.04


def pty_capacity() -> int:
    """Bytes a PTY takes before a writer blocks, while nobody reads it."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        os.set_blocking(slave, False)
        taken = 0
        try:
            while True:
                taken += os.write(slave, b"x" * 1024)
        except BlockingIOError:
            return taken
    finally:
        os.close(master)
        os.close(slave)


def opened(data_dir: Path, home: Path) -> e2e.Session:
    data = home / "data"
    shutil.copytree(data_dir, data)
    session = e2e.Session(data, home, diff_output=True, term="xterm-256color")
    session.settle()
    session.press(b"\t")
    session.press(b"\r")  # the first post
    return session


def test_frames_drawn_while_the_terminal_is_not_read_coalesce(
    data_dir: Path, tmp_path: Path
) -> None:
    session = opened(data_dir, tmp_path / "held")
    reference = opened(data_dir, tmp_path / "reference")
    try:
        frame = max(session.press(b"n"), session.press(b"p"))  # one step's difference
        assert frame > 500
        for key in HELD:  # nobody reads the terminal meanwhile
            os.write(session.proc.fd, bytes([key]))
            time.sleep(GAP)
        time.sleep(2.0)  # time enough to draw every one of those frames
        after = session.settle(first=5.0)
        for key in b"npn":
            reference.press(bytes([key]))
        # What the PTY held when the reader stopped, the frame being written then, and
        # one difference to the latest screen; not 97 frames.
        assert after <= pty_capacity() + 3 * frame, (after, frame)
        assert session.text() == reference.text()
        assert session.cells() == reference.cells()
    finally:
        session.close()
        reference.close()
