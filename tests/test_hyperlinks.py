"""OSC 8 hyperlinks: which addresses may become one, the renderer's link styles, the rule
that turns them on, the reader's segments, and the output layer's bytes (pyte ignores OSC,
so the emulator here reads OSC 8 itself and every cell keeps the link it was drawn with)."""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from termnews.app import TermNewsApp
from termnews.config import ConfigError, load_settings
from termnews.remote import hyperlinks_on, hyperlinks_supported, start_browser
from termnews.render import render_html
from termnews.sanitize import HYPERLINK_MAX, hyperlink_target
from termnews.screens.reader import ReaderScreen
from termnews.service import NewsService
from termnews.terminal.cells import PenTable
from termnews.terminal.diff import Screen
from termnews.terminal.updates import draw_update
from termnews.widgets.article_view import ArticleView
from tests.support.emulator import RichScreen, emulator
from tests.support.feedserver import FeedServer, make_rss
from tests.support.news import subscribed
from tests.support.pilot import wait_until

OSC8 = re.compile(r"\x1b\]8;([^\x1b\x07]*)(\x1b\\|\x07)")
# The only OSC 8 shapes the layer may send: open with an id and a printable address, close.
SAFE_OSC8 = re.compile(r"\x1b\]8;(?:id=[!-~]+;[!-~]+|;)\x1b\\")


# -- which addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://example.org/a?b=1;c", "https://example.org/a?b=1;c"),
        ("http://example.org/caf\u00e9 menu", "http://example.org/caf%C3%A9%20menu"),
        ("mailto:ada@example.org", "mailto:ada@example.org"),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("/relative/path", None),
        ("https:///no-host", None),
        ("mailto:", None),
        ("http://x.example/\x1b]8;;http://evil.example/\x07", "http://x.example/"),
        ("http://x.example/a\x9cb\x07c\x1b\\d", "http://x.example/abcd"),
        ("http://x.example/" + "a" * HYPERLINK_MAX, None),
    ],
)
def test_only_clean_http_and_mailto_addresses_become_hyperlinks(
    url: str, target: str | None
) -> None:
    assert hyperlink_target(url) == target
    if target is not None:
        assert re.fullmatch(r"[!-~]+", target)


def test_link_text_numbers_images_and_the_link_list_carry_the_link() -> None:
    html = (
        '<p>See <a href="https://example.org/long/path">the quay and the marsh and the tide'
        '</a> and <img src="/gull.png" alt="gull"> <a href="javascript:x()">bad</a></p>'
    )
    doc = render_html(html, 30, base_url="https://example.org/post")
    linked: dict[str, set[str]] = {}
    for line in doc.lines:
        for span in line.spans:
            style = span.style
            if isinstance(style, Style) and style.link:
                linked.setdefault(style.link, set()).add(line.plain[span.start : span.end])
    assert linked == {  # the list's addresses are cut to the width: both halves linked
        "https://example.org/long/path": {
            "the quay and the marsh and",
            "the tide",
            "[1]",
            "https://example.org/long/p",
            "ath",
        },
        "https://example.org/gull.png": {
            "[image:",
            "gull][2]",
            "[2]",
            "https://example.org/gull.p",
            "ng",
        },
    }


def test_escape_sequences_in_feed_text_never_become_links() -> None:
    html = "<p>\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ me</p>"
    doc = render_html(html, 40)
    assert not any(
        isinstance(span.style, Style) and span.style.link
        for line in doc.lines
        for span in line.spans
    )
    assert "\x1b" not in "".join(line.plain for line in doc.lines)


# -- when they are on ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({"TERM": "xterm-256color"}, True),
        ({"TERM": "xterm-kitty"}, True),
        ({"TERM": "tmux-256color"}, True),
        ({"TERM": "screen-256color", "TMUX": "/tmp/tmux-1/default,1,0"}, True),
        ({"TERM": "screen-256color"}, False),
        ({"TERM": "linux"}, False),
        ({"TERM": "vt100"}, False),
        ({"TERM": "dumb"}, False),
        ({}, False),
        ({"TERM": "weird-terminal"}, False),
        ({"TERM": "weird-terminal", "TERM_PROGRAM": "iTerm.app"}, True),
        ({"TERM": "weird-terminal", "VTE_VERSION": "7200"}, True),
        ({"TERM": "weird-terminal", "VTE_VERSION": "4800"}, False),
    ],
)
def test_auto_follows_the_terminal(env: dict[str, str], on: bool) -> None:
    assert hyperlinks_supported(env) is on
    assert hyperlinks_on("auto", env) is on
    assert hyperlinks_on("on", env) is True
    assert hyperlinks_on("off", env) is False


@pytest.mark.parametrize(("term", "on"), [("xterm-256color", True), ("screen", False)])
def test_served_sessions_decide_by_the_clients_term(
    monkeypatch: pytest.MonkeyPatch, term: str, on: bool
) -> None:
    """`termnews serve` passes TERM (and never the host's own TMUX or TERM_PROGRAM)."""
    from termnews.host.environment import child_environment

    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    monkeypatch.setenv("TERM_PROGRAM", "tmux")
    env = child_environment({"TERM_PROGRAM": "iTerm.app", "TMUX": "x"}, term, {})
    assert hyperlinks_supported(env) is on


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert load_settings(path).hyperlinks == "auto"
    path.write_text('[general]\nhyperlinks = "off"\n', encoding="utf-8")
    assert load_settings(path).hyperlinks == "off"
    path.write_text('[general]\nhyperlinks = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'line 2: general.hyperlinks must be "auto"'):
        load_settings(path)


# -- the reader's segments -----------------------------------------------------------------


@pytest.fixture
def link_service(tmp_path: Path, feed_server: FeedServer) -> Iterator[NewsService]:
    items = [
        {
            "title": "Linked post",
            "link": "http://example.org/post",
            "guid": "linked",
            "content": "<p>Read <a href='https://example.org/quay'>the quay</a> and "
            "<a href='javascript:steal()'>this</a>.</p>",
            "pub_date": 1_700_000_000,
        }
    ]
    feed_server.add_feed("/links.xml", make_rss("Links", items))
    service = subscribed(tmp_path, feed_server.url_for("/links.xml"))
    yield service
    service.close()


def reader_segments(app: TermNewsApp) -> list[Segment]:
    view = app.screen.query_one(ArticleView)
    return [
        segment
        for y in range(view.scrollable_content_region.height)
        for segment in view.render_line(y)
    ]


@pytest.mark.parametrize("setting", ["on", "off"])
async def test_reader_link_text_is_a_style_link_never_an_action(
    link_service: NewsService, setting: str
) -> None:
    link_service.settings.hyperlinks = setting
    app = TermNewsApp(link_service)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await wait_until(pilot, lambda: "the quay" in "".join(s.text for s in reader_segments(app)))
        segments = reader_segments(app)
        links = {
            (segment.style.link, segment.text)
            for segment in segments
            if segment.style is not None and segment.style.link
        }
        if setting == "off":
            assert links == set()
        else:
            assert ("https://example.org/quay", "the quay") in links
            assert {link for link, _ in links} == {"https://example.org/quay"}
        # nothing a click would run as a Textual action
        assert not any(segment.style is not None and segment.style.meta for segment in segments)


# -- the output layer's bytes --------------------------------------------------------------


def pens() -> PenTable:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    return PenTable(console._color_system)  # type: ignore[arg-type]


def layout(rows: list[list[Segment]], width: int) -> LayoutUpdate:
    """Rows padded with blanks to the width, as Textual's compositor gives them."""
    strips = [Strip(row).extend_cell_length(width) for row in rows]
    return LayoutUpdate([[strip] for strip in strips], Region(0, 0, width, len(rows)))


def assert_links_as_model(screen: Screen, emulated: RichScreen) -> None:
    """Every cell the terminal shows links exactly where the model does (and nowhere else)."""
    for y, row in enumerate(emulated.cells()):
        for x, cell in enumerate(row):
            want = screen.model[y][x][1][3]
            assert cell.link == want, f"cell {x},{y} {cell.data!r}: {cell.link!r}, want {want!r}"


def check_bytes(frame: str) -> None:
    sequences = [match.group(0) for match in OSC8.finditer(frame)]
    assert all(SAFE_OSC8.fullmatch(seq) for seq in sequences), sequences
    if sequences:  # a frame never leaves a link open
        assert sequences[-1] == "\x1b]8;;\x1b\\"


def test_a_link_opens_and_closes_exactly_around_its_cells() -> None:
    quay = Style(underline=True, link="https://example.org/quay")
    screen, table = Screen(30, 2), pens()
    draw_update(
        screen,
        layout([[Segment("see "), Segment("the quay", quay), Segment(" now")], []], 30),
        table,
    )
    frame = screen.frame((0, 0))
    check_bytes(frame)
    opened = re.search(
        r"\x1b\]8;id=[^;]+;https://example.org/quay\x1b\\(.*?)\x1b\]8;;\x1b\\", frame
    )
    # Inside the link only its cells are drawn: SGR and cursor moves aside (the screen was
    # erased first, so the blank after it is skipped with a move before the link closes).
    assert opened is not None and re.sub(r"\x1b\[[0-9;]*[mC]", "", opened.group(1)) == "the quay"
    assert frame.count("\x1b]8;id=") == 1
    emulated, stream = emulator(30, 2)
    stream.feed(frame.encode())
    row = emulated.cells()[0]
    assert [x for x, cell in enumerate(row) if cell.link] == list(range(4, 12))
    assert_links_as_model(screen, emulated)


def test_a_link_cut_across_lines_and_changed_in_later_frames_stays_exact() -> None:
    tide = Style(link="https://example.org/tide")
    other = Style(bold=True, link="mailto:ada@example.org")
    screen, table = Screen(24, 4), pens()
    emulated, stream = emulator(24, 4)
    frames = [
        [
            [Segment("the quay and "), Segment("the marsh", tide)],
            [Segment("and the", tide), Segment(" tide")],
            [],
            [],
        ],
        # one word in the middle of the link changes: only it is drawn, still linked
        [
            [Segment("the quay and "), Segment("the MARSH", tide)],
            [Segment("and the", tide), Segment(" tide")],
            [],
            [],
        ],
        # the link moves down a row and another link takes its place (plain text between)
        [
            [Segment("write to "), Segment("Ada", other)],
            [Segment("the marsh", tide)],
            [Segment("and the", tide)],
            [],
        ],
        # links gone: the cells are plain again, blanks erased
        [[Segment("plain")], [], [], []],
    ]
    for rows in frames:
        draw_update(screen, layout(rows, 24), table)
        frame = screen.frame((0, 3))
        check_bytes(frame)
        stream.feed(frame.encode())
        assert_links_as_model(screen, emulated)
        if rows is frames[0]:  # the two halves of the cut link are one link: one id
            ids = {cell.link for row in emulated.cells() for cell in row if "tide" in cell.link}
            assert len(ids) == 1, ids
    assert not any(cell.link for row in emulated.cells() for cell in row)


def test_scrolling_moves_links_with_their_text() -> None:
    """A reader-like view scrolled line by line (the layer moves rows with DL / IL)."""
    width, height = 40, 10
    styles = [Style(link=f"https://example.org/{n}") for n in range(3)]
    text = []
    for n in range(40):
        style = styles[n % 3] if n % 2 else None
        text.append([Segment(f"line {n:02} "), Segment(f"link {n:02}", style), Segment(" tail")])
    screen, table = Screen(width, height), pens()
    emulated, stream = emulator(width, height)
    scrolled = False
    for top in [0, 1, 2, 3, 5, 4, 3, 8, 9]:
        draw_update(screen, layout(text[top : top + height], width), table)
        frame = screen.frame((0, 0))
        check_bytes(frame)
        scrolled = scrolled or "\x1b[M" in frame or re.search(r"\x1b\[\d*[LM]", frame) is not None
        stream.feed(frame.encode())
        assert_links_as_model(screen, emulated)
    assert scrolled  # the scroll path was taken, and kept the links right


def test_a_link_that_could_end_the_sequence_is_drawn_as_plain_text() -> None:
    for link in ["http://x.example/\x1b]52;c;cHduZWQ=\x07", "http://x.example/\x9c", "a" * 3000]:
        screen = Screen(20, 1)
        draw_update(screen, layout([[Segment("click", Style(link=link))]], 20), pens())
        frame = screen.frame((0, 0))
        assert "\x1b]8;id" not in frame and "\x1b]52" not in frame
        assert "click" in frame


def test_a_repaint_closes_a_link_left_open_on_the_terminal() -> None:
    screen, table = Screen(20, 2), pens()
    emulated, stream = emulator(20, 2)
    stream.feed(b"\x1b]8;id=1;http://stale.example/\x1b\\")  # someone else left it open
    draw_update(screen, layout([[Segment("plain text")], []], 20), table)
    stream.feed(screen.frame((0, 0)).encode())
    assert_links_as_model(screen, emulated)


async def test_l_turns_links_off_and_on_in_the_open_reader(link_service: NewsService) -> None:
    link_service.settings.hyperlinks = "on"
    app = TermNewsApp(link_service)

    def linked() -> bool:
        return any(s.style is not None and s.style.link for s in reader_segments(app))

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await wait_until(pilot, linked)
        await pilot.press("L")
        assert not linked()
        assert link_service.settings.hyperlinks == "off"
        await pilot.press("L")
        assert linked()


async def test_clicking_a_link_runs_nothing_in_the_app(link_service: NewsService) -> None:
    link_service.settings.hyperlinks = "on"
    app = TermNewsApp(link_service)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        view = app.screen.query_one(ArticleView)
        await wait_until(pilot, lambda: bool(view.lines))
        row = next(y for y, line in enumerate(view.lines) if "the quay" in line.plain)
        x = view.lines[row].plain.index("the quay") + 1  # + the view's padding
        stack = list(app.screen_stack)
        assert await pilot.click(ArticleView, offset=(x + 2, row))
        await pilot.pause()
        # the terminal opens the link (OSC 8); Textual has nothing to run for a style link
        assert list(app.screen_stack) == stack
        assert not app._notifications  # no message, no error


def test_the_browser_setting_is_a_command_given_the_address(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    script = tmp_path / "browse.py"
    script.write_text("import sys\nopen(sys.argv[1], 'w').write(repr(sys.argv[2:]))\n")
    start_browser("http://example.org/a b?c=1;d", f"{sys.executable} '{script}' '{seen}'")
    deadline = time.monotonic() + 30
    while not (seen.exists() and seen.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.read_text() == repr(["http://example.org/a b?c=1;d"])  # one argument, no shell


def test_the_test_terminal_reads_a_link_cut_anywhere_between_two_reads() -> None:
    """PTY reads cut the output anywhere: the emulator must not lose a link cut in two."""
    link = b"\x1b]8;id=1;http://example.org/a;b\x1b\\"
    output = b"one \x1b[4m" + link + b"link\x1b]8;;\x1b\\\x1b[24m \x1b]8;;\x07done\x1b[1;1H"
    whole, stream = emulator(20, 2)
    stream.feed(output)
    for cut in range(1, len(output)):
        screen, stream = emulator(20, 2)
        stream.feed(output[:cut])
        stream.feed(output[cut:])
        assert screen.cells() == whole.cells(), cut
    assert "http://example.org/a;b" in str(whole.cells()[0][4])
