"""When the database cannot be written or read: a full disk, a read-only data dir, a damaged
file. Real SQLite files; the full disk is SQLite's own limit (PRAGMA max_page_count), the
read-only dir real permissions (a child process as an unprivileged user, when root)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.model import ArticleQuery, ParsedEntry, ParsedFeed
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.store import Store, StoreDamaged, StoreFull
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import subscribed


def fill_the_disk(store: Store) -> None:
    """Let the database grow two pages more, then fill every page SQLite has room in."""
    ids = [r[0] for r in store.db.execute("SELECT id FROM articles")]
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 2}")
    n = 0
    with pytest.raises(StoreFull):
        while True:  # read state of other people: fills the pages the reader's marks go to
            store.db.execute(
                "INSERT INTO article_state (identity, article_id, read, changed) "
                "VALUES (?, ?, 1, 0)",
                (f"filler-{n:07d}", ids[n % len(ids)]),
            )
            n += 1
    for size in (3000, 1000, 300, 100, 30, 10, 1):
        with pytest.raises(StoreFull):
            while True:
                store.set_value(f"filler-{size}-{n}", "x" * size)
                n += 1


def free_the_disk(store: Store) -> None:
    store.db.execute("PRAGMA max_page_count = 1073741823")


def stored_entries(store: Store, n: int) -> list[int]:
    feed = store.add_feed("http://example.org/feed")
    entries = [
        ParsedEntry(f"urn:{i}", None, f"Post {i}", None, 1_700_000_000 + i, None, "text", None)
        for i in range(n)
    ]
    store.store_feed(
        feed.id,
        ParsedFeed("A feed", None, entries),
        etag=None,
        last_modified=None,
        body_hash="h",
        next_fetch=0,
    )
    return list(store.article_ids(ArticleQuery()))


def test_a_full_disk_is_reported_as_such_and_loses_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "data" / "termnews.db")
    ids = stored_entries(store, 5)
    store.set_read(ids[:2], True)
    fill_the_disk(store)
    # A transaction that SQLite itself rolled back: the error says what happened (before,
    # a second ROLLBACK raised "cannot rollback - no transaction is active" over it).
    with pytest.raises(StoreFull, match="database or disk is full") as caught:
        store.set_read(ids, True)
    assert str(tmp_path / "data") in str(caught.value) and "Free some space" in str(caught.value)
    assert not store.db.in_transaction
    assert [store.article(i).read for i in ids] == [True, True, False, False, False]
    free_the_disk(store)
    store.set_read(ids, True)  # once there is room again, saving works on the same connection
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
    again = Store(tmp_path / "data" / "termnews.db")
    assert all(again.article(i).read for i in ids)
    again.close()


@pytest.fixture
def full_service(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    posts = [
        {"title": f"Tide {i}", "guid": f"t{i}", "content": f"<p>Body {i}</p>", "pub_date": i}
        for i in range(1, 4)
    ]
    feed_server.add_feed("/tide.xml", make_rss("Tides", posts))
    service = subscribed(tmp_path, feed_server.url_for("/tide.xml"))
    yield service
    service.close()


async def test_the_reader_keeps_working_on_a_full_disk(full_service: NewsService) -> None:
    fill_the_disk(full_service.store)
    app = TermNewsApp(full_service)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "enter")  # open the first post: marking it read cannot be saved
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen) and app.is_running
        first = app.screen.article.id
        await pilot.press("n")  # and on to the next: still reading
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen) and app.screen.article.id != first
        # Textual keeps the list of notifications private; it is what the screen shows.
        told = [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]
        full = [m for m in told if "is full" in m]
        assert len(full) == 1, told  # told once, not at every post
        assert str(full_service.data_dir) in full[0]
        assert full_service.save_problem
        second = app.screen.article.id
        assert not full_service.article(second).read  # could not be saved
        free_the_disk(full_service.store)
        await pilot.press("p", "n")  # back and forth: opening it again saves it now
        await pilot.pause()
        assert app.screen.article.id == second
        assert full_service.article(second).read
        assert full_service.save_problem is None


def test_search_on_a_full_disk_answers_from_what_is_indexed(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    ids = stored_entries(store, 3)
    store.index_pending()
    words = " ".join(f"word{i}" for i in range(5000))  # needs new index pages
    more = ParsedEntry("urn:late", None, "Post late", None, 1_800_000_000, None, words, None)
    feed_id = store.article(ids[0]).feed_id
    store.store_feed(
        feed_id,
        ParsedFeed("A feed", None, [more]),
        etag=None,
        last_modified=None,
        body_hash="h2",
        next_fetch=0,
    )
    fill_the_disk(store)
    assert store.pending_index() == 1
    assert len(store.article_ids(ArticleQuery(search="post"))) == 3  # no StoreFull
    free_the_disk(store)
    assert len(store.article_ids(ArticleQuery(search="post"))) == 4
    store.close()


def test_damaged_databases_are_named_and_left_alone(tmp_path: Path) -> None:
    good = tmp_path / "good" / "termnews.db"
    store = Store(good)
    stored_entries(store, 20)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = good.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "cut-after-header": data[:100],
        "garbage": b"this is not a database\n" * 400,
        "empty": b"",
    }
    for name, content in cases.items():
        path = tmp_path / name / "termnews.db"
        path.parent.mkdir()
        path.write_bytes(content)
        with pytest.raises(StoreDamaged) as caught:
            Store(path)
        message = str(caught.value)
        assert str(path) in message, name
        assert "move it aside" in message and "backup" in message, name
        assert path.read_bytes() == content, f"{name}: the file was changed"


def run_cli(data: Path, *args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMNEWS_", "XDG_"))}
    env.update(HOME=str(data.parent), TERMNEWS_CONFIG=str(data.parent / "config.toml"))
    argv = [sys.executable, "-m", "termnews", "--data-dir", str(data), *args]
    if unprivileged:  # as "nobody", for whom permissions hold (they do not for root)
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def test_a_damaged_database_is_one_clear_line_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "termnews.db").write_bytes(b"\x00garbage" * 1000)
    result = run_cli(data, "feeds")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "please report" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert str(data / "termnews.db") in line and "not a termnews database" in line


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to run a child as an unprivileged user (root ignores permissions)",
)
def test_a_read_only_data_dir_says_what_to_do() -> None:
    top = Path(tempfile.mkdtemp(prefix="termnews-ro-"))
    try:
        top.chmod(0o755)
        data = top / "data"
        store = Store(data / "termnews.db")
        stored_entries(store, 2)
        store.close()
        for path in data.iterdir():
            path.chmod(0o644)
        data.chmod(0o555)  # the unprivileged user may read it all and write nothing
        for args in (("feeds",), ("add", "--no-discover", "http://example.org/other")):
            result = run_cli(data, *args, unprivileged=True)
            assert result.returncode != 0, args
            assert "please report" not in result.stderr and "Traceback" not in result.stderr
            assert str(data) in result.stderr and "writable" in result.stderr, result.stderr
        result = run_cli(data / "new", "feeds", unprivileged=True)
        assert "cannot create the data dir" in result.stderr and str(data / "new") in result.stderr
        db = sqlite3.connect(data / "termnews.db")
        assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 2
        db.close()
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A real 1 MB filesystem (tmpfs), where a mount is allowed (root); skipped elsewhere."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    where = Path(tempfile.mkdtemp(prefix="termnews-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)
        where.rmdir()


def test_a_refresh_onto_a_full_disk_stops_with_one_clear_line(
    small_disk: Path, feed_server: FeedServer
) -> None:
    # Posts worth ~2 MB of text: more than the disk holds.
    posts = [
        {"title": f"Long read {i}", "guid": f"long-{i}", "content": f"<p>{'tide ' * 8000}{i}</p>"}
        for i in range(50)
    ]
    feed_server.add_feed("/big.xml", make_rss("Big", posts))
    feed_server.add_feed("/small.xml", make_rss("Small", [{"title": "One", "guid": "one"}]))
    data = small_disk / "data"
    store = Store(data / "termnews.db")
    store.add_feed(feed_server.url_for("/small.xml"))
    store.add_feed(feed_server.url_for("/big.xml"))
    store.close()
    result = run_cli(data, "refresh")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is full" in lines[0] and str(data) in lines[0], result.stderr
    check = sqlite3.connect(data / "termnews.db")
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("SELECT COUNT(*) FROM feeds").fetchone()[0] == 2  # nothing lost
    check.close()
