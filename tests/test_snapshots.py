"""Snapshots of the screens where the picture is the point: feed list, reader, help."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.config import Paths, Settings
from termnews.model import ArticleQuery, CommentMeta, Identity, ParsedEntry, ParsedFeed
from termnews.service import NewsService

BODY = """
<p>The harbour office printed a new tide table this week. It adds the
<strong>range</strong>, a coefficient and a <em>weather note</em>; see the
<a href="https://example.org/tides">printable sheet</a>.</p>
<h2>Reading a row</h2>
<ul><li>Times are local.</li>
<li>Heights are in metres:<ul><li>bold for high water</li></ul></li></ul>
<blockquote><p>A dash means no second tide that day.</p></blockquote>
<pre><code>Low  04:12  0.8
High 10:31  5.1</code></pre>
<table><tr><th>Tide</th><th>Time</th></tr><tr><td>Low</td><td>04:12</td></tr></table>
<p><img alt="the December sheet" src="/sheet.png"> and
<a href="https://example.org/ferry">the ferry page</a>.</p>
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TermNewsApp]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    paths = Paths(tmp_path / "config.toml", tmp_path / "data")
    # Hyperlinks and images off: "auto" would follow the runner's TERM (test_hyperlinks and
    # test_images check them).
    settings = Settings(refresh_on_start=False, hyperlinks="off", images="off")
    service = NewsService.open(paths, settings, identity=Identity())
    for n, (title, tags) in enumerate(
        [("Saltmarsh Quay Gazette", ["local"]), ("Tidewater releases", ["software"]), ("Notes", [])]
    ):
        feed = service.subscribe(f"https://example.org/{n}/feed", tags=tags)
        entries = [
            ParsedEntry(
                guid=f"{n}-{i}",
                link=f"https://example.org/{n}/{i}",
                title=f"{title}: post number {i} about the harbour",
                author="Morwenna Pike",
                published=1_700_000_000.0 + n * 600 + i * 3600,
                updated=None,
                summary=None,
                content=BODY,
                comments=CommentMeta(count=i),
            )
            for i in range(6)
        ]
        service.store.store_feed(
            feed.id,
            ParsedFeed(title=title, site_url=None, entries=entries),
            etag=None,
            last_modified=None,
            body_hash=str(n),
            next_fetch=time.time() + 3600,
        )
    ids = service.article_ids(ArticleQuery())
    service.mark_read(list(ids[3:6]))
    service.set_starred(ids[1], True)
    yield TermNewsApp(service)
    service.close()
    monkeypatch.delenv("TZ")
    time.tzset()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_feed_list(snap_compare, app: TermNewsApp, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=size, press=["tab", "j"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_reader(snap_compare, app: TermNewsApp, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=size, press=["tab", "enter"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_help(snap_compare, app: TermNewsApp, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app, terminal_size=size, press=["question_mark"])
