"""Start-up imports only what the first frame needs (issue 13: first frame in 0.5 s).

The network stack (httpx), feedparser, the comment backends, the SSH host, Pillow, the sample
site, the HTML renderer and the OPML reader load later, in the functions that use them. Each
check runs in a fresh interpreter,
since this test process has long imported all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NOT_AT_START = ("httpx", "feedparser", "asyncssh", "termnews.comments", "termnews.demo", "PIL")
NOT_AT_START += ("termnews.render", "termnews.feeds.opml")  # the renderer, OPML (xml, email)

SCRIPT = """
import asyncio, json, sys, tempfile
from pathlib import Path

import termnews.cli  # the front door `python -m termnews` goes through
from termnews.app import TermNewsApp
from termnews.config import Paths, Settings
from termnews.service import NewsService

NOT_AT_START = {not_at_start!r}


def loaded():
    return sorted(
        m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in NOT_AT_START)
    )


async def main():
    data = Path(tempfile.mkdtemp())
    settings = Settings(refresh_on_start=False)
    service = NewsService.open(Paths(data / "c.toml", data / "d"), settings)
    service.subscribe("http://127.0.0.1:9/feed.xml", title="Quiet feed")
    app = TermNewsApp(service)
    built = loaded()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = type(app.screen).__name__
        shown = loaded()
    service.close()
    print(json.dumps({{"built": built, "shown": shown, "screen": screen}}))


asyncio.run(main())
"""


def test_first_frame_imports_no_network_parser_comments_host_or_demo(tmp_path: Path) -> None:
    script = tmp_path / "startup_imports.py"
    script.write_text(SCRIPT.format(not_at_start=NOT_AT_START), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMNEWS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT)]))
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["screen"] == "FeedsScreen"  # the feed list was shown: a real first frame
    assert report["built"] == []
    assert report["shown"] == []


def test_the_lazy_names_still_resolve() -> None:
    # What start-up no longer imports must still be there when it is asked for.
    code = (
        "import termnews.feeds.parse as p, termnews.service as s\n"
        "from termnews.feeds.parse import parse_feed\n"
        "from termnews.feeds.parse.document import parse_feed as direct\n"
        "assert parse_feed is direct\n"
        "try:\n"
        "    p.no_such_name\n"
        "except AttributeError:\n"
        "    print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_default_bindings_bind_no_key_twice(tmp_path: Path) -> None:
    # The app skips this check at start when nothing is remapped; run it on the defaults.
    from termnews.app import TermNewsApp, binding_places
    from termnews.config import Paths, Settings
    from termnews.service import NewsService

    service = NewsService.open(Paths(tmp_path / "c.toml", tmp_path / "d"), Settings())
    try:
        app = TermNewsApp(service)
        defaults = {b.id: b.key for _where, bindings in binding_places() for b in bindings if b.id}
        assert len(defaults) > 20
        assert [p for p in app.keymap_problems(defaults) if "bound to both" in p] == []
    finally:
        service.close()


SPY = """
import gc, os

_freeze = gc.freeze


def freeze():  # records the call, then freezes for real
    _freeze()
    with open(os.environ["FREEZE_MARK"], "a", encoding="utf-8") as mark:
        mark.write(f"{gc.get_freeze_count()}\\n")


gc.freeze = freeze
"""


@pytest.mark.e2e
def test_the_start_up_heap_is_frozen_once_after_the_first_frame(tmp_path: Path) -> None:
    """In a real terminal, what is alive a moment after the first frame goes to the
    collector's permanent generation, once: later full collections skip it."""
    from tests.support.terminal import Terminal

    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(SPY, encoding="utf-8")
    mark = tmp_path / "frozen"
    env = {"PYTHONPATH": str(spy), "FREEZE_MARK": str(mark), "HOME": str(tmp_path)}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    term = Terminal(["--data-dir", str(tmp_path / "data")], env=env)
    try:
        term.wait_for("Welcome to termnews")
        assert not mark.exists() or mark.read_text() == ""  # not before the first frame
        deadline = time.monotonic() + 30
        while not mark.exists() and time.monotonic() < deadline:
            term.pump(0.2)
        counts = mark.read_text().split()
        assert len(counts) == 1, counts
        assert int(counts[0]) > 50_000  # the imports and the app: most of the heap
        term.press("tab")
        term.pump(2.0)
        assert len(mark.read_text().split()) == 1  # once
    finally:
        term.close()
