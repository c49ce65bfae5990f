"""Long posts' renders kept on disk: a second process on the data dir loads instead of
rendering, gets exactly the same lines, and anything it cannot trust is rendered again."""

from __future__ import annotations

import fcntl
import hashlib
import marshal
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

import termnews.render
import termnews.render.lines
import termnews.render_cache
from termnews.model import ArticleDetail, CommentMeta
from termnews.render import RenderedDocument, render_html
from termnews.render_cache import MAX_FILES, RenderStore, decode, encode
from tests.support.news import open_service

BASE = "http://example.org/post/"
UNSET = (None,) * 8  # no attribute set


def long_html() -> str:
    paragraph = (
        "<p>The <b>harbour</b> log, <i>copied</i> out: see <a href='/tides'>the tides</a>, "
        "<code>range</code>, and <img src='/p.png' alt='a chart'> — in <s>full</s>.</p>"
    )
    return "<h2>Ledger</h2>" + paragraph * 600 + "<ul><li>one</li><li>two</li></ul>"


def lines_of(document: RenderedDocument) -> list[tuple[str, list[tuple[int, int, str]]]]:
    return [
        (line.plain, [(s.start, s.end, str(s.style)) for s in line.spans])
        for line in document.lines
    ]


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Widths termnews.render.render_html is called with (it still renders)."""
    calls: list[int] = []

    def counting(html: str, width: int, **kwargs: Any) -> RenderedDocument:
        calls.append(width)
        return render_html(html, width, **kwargs)

    monkeypatch.setattr(termnews.render, "render_html", counting)
    return calls


def article(html: str) -> ArticleDetail:
    return ArticleDetail(
        id=1, feed_id=1, feed_title="Feed", feed_url="http://example.org/feed", guid="1",
        title="Long", link=BASE, author=None, published=None, updated=None, summary=None,
        content=html, comments=CommentMeta(), read=False, starred=False,
    )  # fmt: skip


def test_a_second_service_on_the_data_dir_loads_the_long_post(
    tmp_path: Path, renders: list[int]
) -> None:
    html = long_html()
    first = open_service(tmp_path)
    try:
        drawn = first.render(article(html), 100)
    finally:
        first.close()
    assert renders == [100] and len(drawn.lines) > 800
    second = open_service(tmp_path)
    try:
        loaded = second.render(article(html), 100)
        assert renders == [100]  # loaded, not rendered
        assert lines_of(loaded) == lines_of(drawn)
        assert loaded.links == drawn.links and loaded.width == drawn.width
        assert any(link.image for link in loaded.links)
        assert any(s.style.link for line in loaded.lines for s in line.spans if s.style)
        second.render(article(html), 80)  # another width: rendered
        assert renders == [100, 80]
    finally:
        second.close()


def test_short_posts_are_not_kept(tmp_path: Path, renders: list[int]) -> None:
    service = open_service(tmp_path)
    try:
        service.render(article("<p>short</p>" * 10), 100)
    finally:
        service.close()
    assert not (tmp_path / "data" / "renders").exists()


def signed(payload: bytes) -> bytes:
    """A file as `encode` writes it: the payload's digest, then the payload."""
    return hashlib.blake2b(payload, digest_size=32).digest() + payload


FORMAT = termnews.render_cache.FORMAT
NO_SUCH_COLOUR = ("style", "no-such", None, UNSET, None)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: b"\x00garbage",
        lambda data: data[:40] + bytes([data[40] ^ 1]) + data[41:],  # one bit flipped
        lambda data: data[32:],  # no digest
        lambda data: marshal.dumps((FORMAT, 100, [], [("ab", [])], [])),  # unsigned
        lambda data: signed(marshal.dumps((FORMAT, 100, [NO_SUCH_COLOUR], [], []))),
        lambda data: signed(marshal.dumps((1, 100, [], [], []))),  # another format
        lambda data: signed(marshal.dumps((FORMAT, 100, [], [], [("1", "u", "t", False)]))),
        lambda data: signed(b"\x00garbage"),
    ],
)  # fmt: skip
def test_a_file_it_cannot_trust_is_rendered_again(
    tmp_path: Path, renders: list[int], spoil: Any
) -> None:
    html = long_html()
    store = RenderStore(tmp_path / "renders")
    key = store.key(html, 100, BASE)
    store.save(key, render_html(html, 100, base_url=BASE))
    path = tmp_path / "renders" / f"{key}.render"
    path.write_bytes(spoil(path.read_bytes()))
    assert store.load(key) is None
    service = open_service(tmp_path)
    try:
        assert len(service.render(article(html), 100).lines) > 800
    finally:
        service.close()


def test_a_signed_file_with_lines_encode_never_writes_reads_them_as_empty_lines() -> None:
    """Only a forged file (its digest made to match) has such lines: each reads as an empty
    line, and none stops the others from being read."""
    lines = [
        ("kept", [(0, 4, 0)]),
        ("ab", [(0, 9, 0)]),  # a span past the end
        ("ab", [(0, 1, 3)]),  # no such style
        ("a\x1b[2Jb", []),  # a control code
        (b"bytes", []),
        ("ab", [(0, "1", 0)]),
        "not a line",
        ("also kept", []),
    ]
    document = decode(signed(marshal.dumps((FORMAT, 100, [("name", "bold")], lines, []))))
    assert document is not None
    assert [line.plain for line in document.lines] == ["kept", "", "", "", "", "", "", "also kept"]
    assert [str(span.style) for span in document.lines[0].spans] == ["bold"]


def test_loaded_lines_are_made_as_they_are_read_and_kept() -> None:
    document = render_html(long_html(), 60, base_url=BASE)
    data = encode(document)
    assert data is not None
    loaded = decode(data)
    assert loaded is not None
    lines = loaded.lines
    assert isinstance(lines, termnews.render_cache.KeptLines)
    assert len(lines) == len(document.lines)
    assert not any(isinstance(entry, Text) for entry in lines._lines)  # none made yet
    first = lines[0]
    assert lines[0] is first  # made once, then kept
    assert sum(isinstance(entry, Text) for entry in lines._lines) == 1
    assert lines[-1].plain == document.lines[-1].plain
    assert [line.plain for line in lines[10:13]] == [line.plain for line in document.lines[10:13]]
    assert [line.plain for line in lines[::-200]] == [line.plain for line in document.lines[::-200]]
    with pytest.raises(IndexError):
        lines[len(lines)]


def test_round_trip_keeps_every_style_or_refuses() -> None:
    document = render_html(long_html(), 60, base_url=BASE)
    data = encode(document)
    assert data is not None
    again = decode(data)
    assert again is not None and lines_of(again) == lines_of(document)


def test_loaded_lines_are_the_texts_rich_would_make() -> None:
    document = render_html(long_html(), 60, base_url=BASE)
    data = encode(document)
    assert data is not None
    again = decode(data)
    assert again is not None
    for line, loaded in zip(document.lines, again.lines, strict=True):
        made = Text(line.plain, spans=list(line.spans))  # what decode stands in for
        for slot in termnews.render.lines.TEXT_SLOTS:
            assert getattr(loaded, slot) == getattr(made, slot), slot
        assert list(loaded.render(Console())) == list(made.render(Console()))


def test_the_directory_is_private_and_bounded(tmp_path: Path) -> None:
    store = RenderStore(tmp_path / "renders")
    document = render_html(long_html(), 100, base_url=BASE)
    for number in range(MAX_FILES + 5):
        store.save(f"{number:064x}", document)
    assert len(list((tmp_path / "renders").glob("*.render"))) == MAX_FILES
    assert (tmp_path / "renders").stat().st_mode & 0o077 == 0
    assert not list((tmp_path / "renders").glob(".*.part"))


# A process that renders the long post through the store, slowly, and says whether it had
# to render: what a host's session does when it steps onto the post.
SESSION = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from termnews.render import render_html
    from termnews.render_cache import RenderStore
    sys.path.insert(0, sys.argv[2])
    from tests.test_render_cache import BASE, lines_of, long_html

    html, made = long_html(), []
    def make():
        made.append(1)
        time.sleep(0.4)
        return render_html(html, 100, base_url=BASE)
    store = RenderStore(Path(sys.argv[1]))
    document = store.get(store.key(html, 100, BASE), make)
    print("rendered" if made else "loaded", len(lines_of(document)), hash(str(lines_of(document))))
""")


def test_sessions_opening_a_long_post_together_render_it_once(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[1])
    sessions = [
        subprocess.Popen(
            [sys.executable, "-c", SESSION, str(tmp_path / "renders"), root],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        for _ in range(4)
    ]
    answers = [session.communicate(timeout=60)[0].split() for session in sessions]
    assert all(session.returncode == 0 for session in sessions)
    assert sorted(answer[0] for answer in answers) == ["loaded"] * 3 + ["rendered"]
    assert len({tuple(answer[1:]) for answer in answers}) == 1  # the same lines in each


def test_a_thread_waits_for_the_render_under_way_and_loads_it(tmp_path: Path) -> None:
    html = long_html()
    store = RenderStore(tmp_path / "renders")
    key = store.key(html, 100, BASE)
    started, go, made = threading.Event(), threading.Event(), []

    def slow() -> RenderedDocument:
        made.append("first")
        started.set()
        go.wait(10)
        return render_html(html, 100, base_url=BASE)

    results: list[RenderedDocument] = []
    first = threading.Thread(target=lambda: results.append(store.get(key, slow)))
    first.start()
    assert started.wait(10)

    def again() -> RenderedDocument:
        made.append("second")
        return render_html(html, 100, base_url=BASE)

    threading.Timer(0.2, go.set).start()  # this get starts while the first holds the lock
    waited = store.get(key, again)
    first.join(10)
    assert made == ["first"]
    assert lines_of(waited) == lines_of(results[0])


def test_a_render_that_never_ends_is_waited_for_only_so_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(termnews.render_cache, "WAIT", 0.2)
    html = long_html()
    store = RenderStore(tmp_path / "renders")
    key = store.key(html, 100, BASE)
    store.directory.mkdir()
    holder = os.open(store.directory / f"{key}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a session stuck mid-render
    try:
        start = time.monotonic()
        document = store.get(key, lambda: render_html(html, 100, base_url=BASE))
        assert time.monotonic() - start >= 0.2
        assert len(document.lines) > 800
    finally:
        os.close(holder)


def test_the_render_is_written_after_it_is_handed_back_and_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = long_html()
    store = RenderStore(tmp_path / "renders")
    key = store.key(html, 100, BASE)
    go = threading.Event()
    save = RenderStore.save

    def slow_save(self: RenderStore, key: str, document: RenderedDocument) -> None:
        go.wait(10)
        save(self, key, document)

    monkeypatch.setattr(RenderStore, "save", slow_save)
    made: list[str] = []

    def make(who: str) -> RenderedDocument:
        made.append(who)
        return render_html(html, 100, base_url=BASE)

    first = store.get(key, lambda: make("first"))  # back before its file is written
    assert not (store.directory / f"{key}.render").exists()
    threading.Timer(0.2, go.set).start()
    second = store.get(key, lambda: make("second"))  # waits for the file, then loads it
    assert made == ["first"]
    assert lines_of(second) == lines_of(first)


def test_a_failed_write_loses_nothing_and_leaves_the_lock_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(document: RenderedDocument) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(termnews.render_cache, "encode", broken)
    html = long_html()
    store = RenderStore(tmp_path / "renders")
    key = store.key(html, 100, BASE)
    document = store.get(key, lambda: render_html(html, 100, base_url=BASE))
    assert len(document.lines) > 800
    for thread in threading.enumerate():
        if thread.name == "keep-render":
            thread.join(10)
    assert not (store.directory / f"{key}.render").exists()
    lock = os.open(store.directory / f"{key}.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(lock)
    assert "disk on fire" not in capfd.readouterr().err
