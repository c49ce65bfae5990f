"""Images in the reader: decoding under limits, the bounded cache, downloads over loopback
HTTP, half-block and Kitty drawing, where pictures go in a post, and the reader with Pilot.
Every image here is made by the test with Pillow."""

from __future__ import annotations

import asyncio
import io
import random
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import Static

from termnews.app import TermNewsApp
from termnews.config import ConfigError, Settings, load_settings
from termnews.images import MAX_IMAGE_BYTES, ImageCache, ImageError, Picture, decode
from termnews.remote import graphics_protocol, inline_images
from termnews.render import Link, render_html
from termnews.render.pictures import (
    PLACEHOLDER,
    UPPER_HALF,
    fit_cells,
    halfblock_lines,
    kitty_lines,
    kitty_transmit,
)
from termnews.screens.dialogs import LinksScreen
from termnews.screens.images import ImageScreen, image_anchors
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.widgets.article_view import ArticleView
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import subscribed, subscribed_in_loop
from tests.support.pilot import wait_until

RED, BLUE = (255, 0, 0), (0, 0, 255)


def png(width: int, height: int, *, split: bool = True, mode: str = "RGB") -> bytes:
    """Top half red, bottom half blue (or all red)."""
    image = Image.new(mode, (width, height), RED)
    if split:
        image.paste(BLUE, (0, height // 2, width, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size and has no pixels (what a decompression bomb declares)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + body + end


# -- decoding ----------------------------------------------------------------------------


def test_decode_scales_down_and_keeps_the_colours() -> None:
    picture = decode(png(1200, 600))
    assert (picture.width, picture.height) == (512, 256)
    assert picture.pixel(10, 10) == RED
    assert picture.pixel(10, 250) == BLUE
    assert len(picture.rgb) == 512 * 256 * 3


def test_transparency_is_flattened() -> None:
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    assert decode(out.getvalue()).pixel(0, 0) == (128, 128, 128)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png_header_only(30_000, 30_000), "too large"),
        (png_header_only(6_000, 6_000), "too large"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "cannot be read"),
        (png(40, 40)[:60], "cannot be read"),
        (b"<html>not an image</html>", "cannot be read"),
        (b"", "cannot be read"),
    ],
)
def test_hostile_or_broken_files_are_a_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        decode(data)


# -- the cache ---------------------------------------------------------------------------


def test_cache_keeps_files_by_address_and_stays_under_its_bound(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "images", max_bytes=2500)
    assert cache.get("http://a.example/1.png") is None
    for n in range(5):
        cache.put(f"http://a.example/{n}.png", bytes([n]) * 1000)
    files = list((tmp_path / "images").iterdir())
    assert sum(path.stat().st_size for path in files) <= 2500
    assert cache.get("http://a.example/4.png") == b"\x04" * 1000  # the newest stays
    assert cache.get("http://a.example/0.png") is None  # the oldest went
    cache.put("http://a.example/huge.png", b"x" * 5000)  # more than the whole cache
    assert cache.get("http://a.example/huge.png") is None


# -- downloads over loopback -------------------------------------------------------------


@pytest.fixture
def image_service(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    feed_server.add_feed("/red.png", png(64, 32), "image/png")
    feed_server.add_feed("/hostile.png", b"\x89PNG\r\n\x1a\n garbage", "image/png")
    feed_server.add_feed("/bomb.png", png_header_only(30_000, 30_000), "image/png")
    feed_server.add_feed("/page.png", b"<html></html>", "text/html")
    feed_server.add_feed("/big.png", b"\x89PNG" + b"0" * (MAX_IMAGE_BYTES + 10), "image/png")
    content = (
        "<p>Before the picture.</p>"
        f"<p><img src='{feed_server.url_for('/red.png')}' alt='red and blue'></p>"
        "<p>Between.</p>"
        f"<p><img src='{feed_server.url_for('/hostile.png')}' alt='hostile'></p>"
        "<p>After the pictures.</p>"
    )
    items = [{"title": "Pictures", "guid": "p", "content": content, "pub_date": 1_700_000_000}]
    feed_server.add_feed("/pictures.xml", make_rss("Pictures", items))
    service = subscribed(
        tmp_path,
        feed_server.url_for("/pictures.xml"),
        settings=Settings(refresh_on_start=False, images="on", image_halfblocks=True),
    )
    yield service
    service.close()


def test_service_downloads_decodes_and_caches(
    image_service: NewsService, feed_server: FeedServer
) -> None:
    url = feed_server.url_for("/red.png")
    picture = asyncio.run(image_service.image(url))
    assert (picture.width, picture.height) == (64, 32)
    fetched = [r for r in feed_server.requests if r.path == "/red.png"]
    assert len(fetched) == 1 and "image/png" in (fetched[0].header("accept") or "")
    image_service._pictures.clear()  # decoded copies gone: the file comes from the disk
    assert asyncio.run(image_service.image(url)).pixel(0, 0) == RED
    assert len([r for r in feed_server.requests if r.path == "/red.png"]) == 1
    assert list((image_service.data_dir or Path()).glob("images/*"))


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/hostile.png", "cannot be read"),
        ("/bomb.png", "too large"),
        ("/page.png", "not an image"),
        ("/big.png", "MB|large|limit"),
        ("/missing.png", "404"),
    ],
)
def test_service_turns_every_bad_image_into_one_line(
    image_service: NewsService, feed_server: FeedServer, path: str, reason: str
) -> None:
    with pytest.raises(ImageError, match=reason) as caught:
        asyncio.run(image_service.image(feed_server.url_for(path)))
    assert "\n" not in str(caught.value)


def test_only_http_images_are_fetched(image_service: NewsService) -> None:
    with pytest.raises(ImageError, match="http"):
        asyncio.run(image_service.image("file:///etc/passwd"))


# -- drawing -----------------------------------------------------------------------------


def test_half_blocks_show_two_pixels_a_cell() -> None:
    picture = decode(png(40, 40))
    assert fit_cells(picture, 20, 50) == (20, 10)  # a cell is twice as tall as wide
    assert fit_cells(picture, 80, 5) == (10, 5)  # the rows bound it: narrower
    lines = halfblock_lines(picture, 20, 50)
    assert len(lines) == 10 and all(line.plain == UPPER_HALF * 20 for line in lines)
    top = lines[0].spans[0].style
    bottom = lines[-1].spans[0].style
    assert top.color.triplet == RED and top.bgcolor.triplet == RED  # type: ignore[union-attr]
    assert bottom.color.triplet == BLUE  # type: ignore[union-attr]


def test_kitty_placeholders_and_the_transmission() -> None:
    picture = Picture(2, 2, bytes([255, 0, 0]) * 4)
    lines = kitty_lines(0x010203, 3, 2)
    assert [line.plain.count(PLACEHOLDER) for line in lines] == [3, 3]
    assert lines[0].style.color.triplet == (1, 2, 3)  # type: ignore[union-attr]
    sent = kitty_transmit(picture, picture.rgb, 0x010203, 3, 2)
    assert sent.startswith("\x1b_Ga=T,U=1,q=2,f=24,o=z,s=2,v=2,i=66051,c=3,r=2,m=0;")
    assert sent.endswith("\x1b\\") and sent.count("\x1b") == 2
    big = Picture(200, 200, random.Random(1).randbytes(200 * 200 * 3))
    chunks = kitty_transmit(big, big.rgb, 7, 10, 5).split("\x1b\\")[:-1]
    assert len(chunks) > 1 and ",m=1;" in chunks[0] and chunks[-1].startswith("\x1b_Gm=0;")


@pytest.mark.parametrize(
    ("setting", "halfblocks", "env", "mode"),
    [
        ("auto", False, {"TERM": "xterm-kitty"}, "kitty"),
        ("auto", False, {"TERM": "xterm-kitty", "SSH_CONNECTION": "1 2 3 4"}, ""),
        ("on", False, {"TERM": "xterm-kitty", "TERMNEWS_SERVED": "1"}, "kitty"),
        ("auto", False, {"TERM": "xterm-256color"}, ""),
        ("auto", True, {"TERM": "xterm-256color"}, "halfblock"),
        ("auto", True, {"TERM": "xterm-256color", "TERMNEWS_SERVED": "1"}, ""),
        ("off", True, {"TERM": "xterm-kitty"}, ""),
        ("auto", False, {"TERM": "xterm-kitty", "TMUX": "/tmp/t,1,0"}, ""),
    ],
)
def test_inline_mode_follows_settings_terminal_and_ssh(
    setting: str, halfblocks: bool, env: dict[str, str], mode: str
) -> None:
    assert inline_images(setting, halfblocks, env) == mode
    assert graphics_protocol({"TERM": "xterm-ghostty"}) == "kitty"


def test_images_setting_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[general]\nimages = "always"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'general.images must be "auto"'):
        load_settings(path)


def test_anchors_are_the_lines_of_the_image_text_never_the_link_list() -> None:
    html = (
        "<p>One two three four five six seven eight nine ten eleven.</p>"
        '<p><img src="https://e.org/a.png" alt="a long description of the first picture"></p>'
        '<p><a href="https://e.org/"><img src="https://e.org/thumb.png" alt="t"></a></p>'
    )
    doc = render_html(html, 30)
    anchors = image_anchors(doc)
    assert [link.url for _, link in anchors] == ["https://e.org/a.png"]
    assert doc.lines[anchors[0][0]].plain.endswith("picture][1]")
    assert [link.url for link in doc.links if link.image] == [
        "https://e.org/a.png",
        "https://e.org/thumb.png",  # a linked thumbnail: listed, not inline
    ]


# -- the reader ----------------------------------------------------------------------------


def view_text(app: TermNewsApp) -> list[str]:
    return [line.plain for line in app.screen.query_one(ArticleView).lines]


async def test_reader_shows_images_inline_and_a_hostile_one_as_a_line(
    image_service: NewsService,
) -> None:
    app = TermNewsApp(image_service)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await wait_until(pilot, lambda: any("cannot be read" in t for t in view_text(app)))
        await wait_until(pilot, lambda: any(UPPER_HALF in t for t in view_text(app)))
        text = view_text(app)
        first = next(i for i, t in enumerate(text) if UPPER_HALF in t)
        assert "red and blue" in text[first - 1]  # right after its [image: ...] line
        rows = [t for t in text if UPPER_HALF in t]
        assert 1 < len(rows) <= 20
        assert any(t.startswith("[image 2: the image cannot be read") for t in text)
        assert text.index("After the pictures.") > first
        # `i` shows the picture under the top of the window in a modal
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
        modal = app.screen
        assert isinstance(modal, ImageScreen) and modal.link.url.endswith("/red.png")
        await wait_until(pilot, lambda: any(UPPER_HALF in t for t in view_text(app)))
        # the picture (cached, so ready at once) fills the window, not a cell of it
        assert max(len(t) for t in view_text(app)) >= 40
        await pilot.press("escape")
        assert isinstance(app.screen, ReaderScreen)


async def test_i_works_with_inline_images_off_and_reports_a_bad_one(
    image_service: NewsService, feed_server: FeedServer
) -> None:
    image_service.settings.images = "off"
    app = TermNewsApp(image_service)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await pilot.pause(0.3)
        assert not any(UPPER_HALF in t for t in view_text(app))  # nothing inline
        await pilot.press("i")  # half blocks in the modal all the same
        await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
        await wait_until(pilot, lambda: any(UPPER_HALF in t for t in view_text(app)))
        await pilot.press("escape")
        assert isinstance(app.screen, ReaderScreen)
        hostile = Link(2, feed_server.url_for("/hostile.png"), "image: hostile", True)
        app.push_screen(ImageScreen(image_service, hostile, "halfblock"))
        await wait_until(pilot, lambda: app.screen.query("#image-status"))
        status = app.screen.query_one("#image-status", Static)
        await wait_until(pilot, lambda: "Cannot show" in str(status.content))
        assert "cannot be read" in str(status.content)
        await pilot.press("escape")
        assert isinstance(app.screen, ReaderScreen)


async def test_i_picks_the_image_at_the_top_of_the_window(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/one.png", png(30, 30), "image/png")
    feed_server.add_feed("/two.png", png(30, 30, split=False), "image/png")
    filler = "".join(f"<p>Paragraph {n} of the long middle part.</p>" for n in range(60))
    content = (
        f"<p><img src='{feed_server.url_for('/one.png')}' alt='one'></p>{filler}"
        f"<p><img src='{feed_server.url_for('/two.png')}' alt='two'></p><p>End.</p>"
    )
    items = [{"title": "Two pictures", "guid": "t", "content": content, "pub_date": 1}]
    feed_server.add_feed("/two.xml", make_rss("Two", items))
    service = await subscribed_in_loop(
        tmp_path,
        feed_server.url_for("/two.xml"),
        settings=Settings(refresh_on_start=False, images="on", image_halfblocks=True),
    )
    app = TermNewsApp(service)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("tab", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            await wait_until(pilot, lambda: sum(UPPER_HALF in t for t in view_text(app)) > 20)
            text = view_text(app)
            second = next(i for i, t in enumerate(text) if "[image: two]" in t)
            reader.view.scroll_to(y=second - 5, animate=False, immediate=True)
            await pilot.pause()
            await pilot.press("i")
            await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
            modal = app.screen
            assert isinstance(modal, ImageScreen) and modal.link.url.endswith("/two.png")
            await pilot.press("escape")
            reader.view.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            await pilot.press("i")
            await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
            modal = app.screen
            assert isinstance(modal, ImageScreen) and modal.link.url.endswith("/one.png")
    finally:
        service.close()


def test_kitty_numbers_fit_the_colours_the_terminal_gets() -> None:
    lines = kitty_lines(17, 2, 1, truecolor=False)
    assert lines[0].style.color.number == 17  # type: ignore[union-attr]


async def test_i_in_the_link_list_shows_the_highlighted_image(
    image_service: NewsService,
) -> None:
    image_service.settings.images = "off"
    app = TermNewsApp(image_service)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, LinksScreen))
        links = app.screen
        await pilot.press("i")  # [1] is highlighted (the post has no address of its own)
        await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
        modal = app.screen
        assert isinstance(modal, ImageScreen) and modal.link.url.endswith("/red.png")
        await pilot.press("escape")
        assert app.screen is links  # back in the list


async def test_a_picture_arriving_above_the_window_does_not_move_the_text(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_held("/slow.png", png(40, 40), hold=1.5, content_type="image/png")
    filler = "".join(f"<p>Paragraph {n} of the long part.</p>" for n in range(80))
    content = f"<p><img src='{feed_server.url_for('/slow.png')}' alt='slow'></p>{filler}"
    items = [{"title": "Slow picture", "guid": "s", "content": content, "pub_date": 1}]
    feed_server.add_feed("/slow.xml", make_rss("Slow", items))
    service = await subscribed_in_loop(
        tmp_path,
        feed_server.url_for("/slow.xml"),
        settings=Settings(refresh_on_start=False, images="on", image_halfblocks=True),
    )
    app = TermNewsApp(service)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("tab", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            await pilot.pause()
            reader.view.scroll_to(y=60, animate=False, immediate=True)
            await pilot.pause()
            top = view_text(app)[int(reader.view.scroll_y)]
            assert top.startswith("Paragraph") and not any(UPPER_HALF in t for t in view_text(app))
            await wait_until(pilot, lambda: any(UPPER_HALF in t for t in view_text(app)))
            await pilot.pause()
            assert view_text(app)[int(reader.view.scroll_y)] == top
    finally:
        service.close()


def test_graphics_commands_do_not_make_the_output_layer_repaint() -> None:
    from termnews.render.pictures import kitty_delete
    from termnews.terminal.hook import changes_cells

    picture = Picture(3, 3, random.Random(2).randbytes(27))
    assert not changes_cells(kitty_transmit(picture, picture.rgb, 9, 2, 1) + kitty_delete(9))
    assert changes_cells(kitty_transmit(picture, picture.rgb, 9, 2, 1) + "x")


async def test_the_palette_shows_the_image(image_service: NewsService) -> None:
    image_service.settings.images = "off"
    app = TermNewsApp(image_service)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Show image", "Clickable links"} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.press(*"Show image")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
