"""The first refresh inside a freshly started app (parse workers started from within Textual)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import asyncio, sys, tempfile
from pathlib import Path
from termnews.app import TermNewsApp
from termnews.config import Paths, Settings
from termnews.service import NewsService
from tests.support.feedserver import FeedServer, make_rss

async def main(url):
    data = Path(tempfile.mkdtemp())
    service = NewsService.open(Paths(data / "c.toml", data / "d"), Settings(refresh_on_start=False))
    service.subscribe(url)
    app = TermNewsApp(service)
    async with app.run_test() as pilot:
        app.start_refresh(None)
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    feed = service.feeds()[0]
    print(feed.total, feed.error)
    service.close()

if __name__ == "__main__":
    with FeedServer() as server:
        server.add_feed("/f.xml", make_rss("Fresh", [{"title": "One"}, {"title": "Two"}]))
        asyncio.run(main(server.url_for("/f.xml")))
"""


def test_first_refresh_in_a_fresh_app_process_parses(tmp_path: Path) -> None:
    # A new interpreter: the parse workers' helper processes are started by the app itself,
    # after Textual has replaced stderr (which once made every refresh fail).
    script = tmp_path / "fresh_refresh.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "None"], result.stdout + result.stderr
