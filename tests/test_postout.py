"""Saving a post as Markdown or text and piping it to a command (real files, a real
program the test writes), refused in restricted mode; posts come over loopback HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from termnews.app import TermNewsApp
from termnews.config import ConfigError, Settings, load_settings
from termnews.model import ArticleDetail, ArticleQuery
from termnews.postout import post_text
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService, PostOutError, ServiceError
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import subscribed
from tests.support.pilot import wait_until

BODY = (
    "<p>The <b>ferry</b> leaves at <a href='https://example.org/times'>nine</a>.</p>"
    "<ul><li>nets</li><li>ropes</li></ul><blockquote><p>Mind the gap.</p></blockquote>"
    "<p>Evil \x1b[2J title</p>"
)


@pytest.fixture
def posts(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed(
        "/f.xml",
        make_rss(
            "Quay Gazette",
            [
                {
                    "title": "Winter ferry: timetable!",
                    "link": "https://example.org/2026/ferry/",
                    "guid": "ferry",
                    "author": "Morwenna Pike",
                    "content": BODY,
                    "pub_date": 1_795_000_000,
                }
            ],
        ),
    )
    settings = Settings(refresh_on_start=False, save_dir=str(tmp_path / "saved"))
    service = subscribed(tmp_path, feed_server.url_for("/f.xml"), settings=settings)
    yield service
    service.close()


def the_post(service: NewsService) -> ArticleDetail:
    article = service.article(service.article_ids(ArticleQuery())[0])
    assert article is not None
    return article


def catcher(tmp_path: Path, exit_code: int = 0) -> tuple[str, Path]:
    out = tmp_path / "piped.txt"
    script = tmp_path / "catch.py"
    script.write_text(
        "import sys\n"
        f"open({str(out)!r}, 'w').write(sys.stdin.read())\n"
        f"print('disk on fire', file=sys.stderr)\nsys.exit({exit_code})\n"
    )
    return f"{sys.executable} {script}", out


def test_markdown_and_text(posts: NewsService) -> None:
    article = the_post(posts)
    md = post_text(article, "markdown")
    assert md.startswith('---\ntitle: "Winter ferry: timetable!"\nauthor: "Morwenna Pike"\n')
    assert 'url: "https://example.org/2026/ferry/"\n---\n\n# Winter ferry: timetable\\!\n' in md
    assert "The **ferry** leaves at [nine](https://example.org/times)." in md
    assert "Links:" not in md
    assert "- nets\n- ropes" in md and "> Mind the gap." in md
    assert "\x1b" not in md
    text = post_text(article, "text")
    assert text.startswith("Winter ferry: timetable!\n=====")
    assert "• nets" in text and "[1]: " not in text


def test_save_writes_new_files(posts: NewsService, tmp_path: Path) -> None:
    article = the_post(posts)
    first = posts.save_post(article)
    second = posts.save_post(article)
    assert first.parent == tmp_path / "saved"
    assert first.name.endswith("-winter-ferry-timetable.md")
    assert second.name.endswith("-winter-ferry-timetable-2.md")
    assert "\n# Winter ferry" in first.read_text()
    posts.settings.save_format = "text"
    assert posts.save_post(article).suffix == ".txt"
    blocked = tmp_path / "file"
    blocked.write_text("")
    posts.settings.save_dir = str(blocked / "sub")
    with pytest.raises(PostOutError, match="cannot save to"):
        posts.save_post(article)


def test_pipe_the_post_or_its_url(posts: NewsService, tmp_path: Path) -> None:
    article = the_post(posts)
    posts.settings.pipe_command, out = catcher(tmp_path)
    posts.pipe_post(article, url_only=False)
    assert "\n# Winter ferry" in out.read_text()
    posts.pipe_post(article, url_only=True)
    assert out.read_text() == "https://example.org/2026/ferry/\n"
    posts.settings.pipe_command, out = catcher(tmp_path, exit_code=3)
    with pytest.raises(PostOutError, match=r"failed \(exit 3\): disk on fire"):
        posts.pipe_post(article, url_only=True)
    posts.settings.pipe_command = ""
    with pytest.raises(PostOutError, match=r"set general\.pipe_command"):
        posts.pipe_post(article, url_only=True)


def test_restricted_sessions_neither_save_nor_pipe(posts: NewsService, tmp_path: Path) -> None:
    served = NewsService(posts.store, posts.settings, restricted=True)
    served.settings.pipe_command, out = catcher(tmp_path)
    article = the_post(served)
    with pytest.raises(ServiceError, match="Not available"):
        served.save_post(article)
    with pytest.raises(ServiceError, match="Not available"):
        served.pipe_post(article, url_only=True)
    assert not out.exists() and not (tmp_path / "saved").exists()


def test_save_format_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[general]\nsave_format = "pdf"\n')
    with pytest.raises(ConfigError, match=r"line 2: general\.save_format must be"):
        load_settings(config)


async def test_reader_keys_save_and_pipe(posts: NewsService, tmp_path: Path) -> None:
    posts.settings.pipe_command, out = catcher(tmp_path)
    app = TermNewsApp(posts)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("S")  # written on a worker thread
        saved = tmp_path / "saved"
        await wait_until(pilot, lambda: saved.exists() and len(list(saved.iterdir())) == 1)
        await pilot.press("U")
        for _ in range(100):
            if out.exists():
                break
            await pilot.pause(0.05)
        assert out.read_text() == "https://example.org/2026/ferry/\n"
        out.unlink()
        await pilot.press("|")
        for _ in range(100):
            if out.exists() and out.read_text():
                break
            await pilot.pause(0.05)
        assert "\n# Winter ferry" in out.read_text()


async def test_a_served_reader_refuses_save_and_pipe(posts: NewsService, tmp_path: Path) -> None:
    served = NewsService(posts.store, posts.settings, restricted=True)
    served.settings.pipe_command, out = catcher(tmp_path)
    app = TermNewsApp(served)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("S", "|", "U")
        await pilot.pause(0.5)
    assert not out.exists() and not (tmp_path / "saved").exists()
