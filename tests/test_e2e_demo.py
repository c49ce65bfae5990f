"""`termnews demo`, the newcomer's first command, in a real PTY."""

from __future__ import annotations

from pathlib import Path

import pytest

from termnews.store import Store
from tests.support.terminal import Terminal

pytestmark = pytest.mark.e2e


def run_demo(data: Path) -> None:
    term = Terminal(["demo", "--data-dir", str(data)])
    try:
        term.wait_for("Saltmarsh Quay Gazette")
        term.wait_for("up to date")  # the demo refreshed before opening
        term.press("q")
        assert term.wait_exit() == 0
    finally:
        term.close()


def test_demo_without_a_data_dir_leaves_no_temporary_files(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    term = Terminal(["demo"], env={"TMPDIR": str(temp)})
    try:
        term.wait_for("Saltmarsh Quay Gazette")
        assert any(p.name.startswith("termnews-demo-") for p in temp.iterdir())
        term.press("q")
        assert term.wait_exit() == 0
    finally:
        term.close()
    assert list(temp.iterdir()) == []  # the throwaway data dir went with the demo


def test_demo_opens_the_reader_and_a_kept_data_dir_stays_the_same(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_demo(data)
    first = sorted(r[0] for r in Store(data / "termnews.db").db.execute("SELECT url FROM feeds"))
    assert len(first) == 3
    run_demo(data)  # same port again: no second set of feeds, no duplicated posts
    store = Store(data / "termnews.db")
    assert sorted(r[0] for r in store.db.execute("SELECT url FROM feeds")) == first
    guids = [r[0] for r in store.db.execute("SELECT guid FROM articles")]
    assert len(guids) == len(set(guids)) > 5


MOUSE_ON = b"\x1b[?1000h"


def mouse_modes(tmp_path: Path, config: str, env: dict[str, str]) -> bytes:
    data = tmp_path / "d"
    (tmp_path / "c.toml").write_text(config, encoding="utf-8")
    term = Terminal(["--data-dir", str(data), "--config", str(tmp_path / "c.toml")], env=env)
    try:
        term.wait_for("Welcome to termnews")
        term.press("\x11")  # ctrl+q
        term.wait_exit()
    finally:
        term.close()
    return bytes(term.raw)


@pytest.mark.parametrize(
    ("config", "env", "mouse"),
    [
        ("", {}, True),
        ("[general]\nmouse = false\n", {}, False),
        ("", {"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}, False),  # off over SSH ...
        ("[general]\nmouse = true\n", {"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}, True),
        # only a setting asks: the word in a comment does not
        (
            "# mouse: maybe later\n[general]\n",
            {"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"},
            False,
        ),
    ],
)
def test_mouse_modes_only_when_wanted(
    tmp_path: Path, config: str, env: dict[str, str], mouse: bool
) -> None:
    assert (MOUSE_ON in mouse_modes(tmp_path, config, env)) is mouse
