"""The output layer is exact: random frames, sent through it into a terminal emulator, leave
the same cells (characters, colours, attributes) and the same cursor as Textual's own output.

Each case builds random compositor updates (full layouts and partial chops, text with wide
characters, combining marks, emoji and ZWJ sequences, truecolor / 256-colour / standard
styles), and between them resizes. The reference is Textual's `render_segments` of every
update fed to one emulator; the layer's frames are fed to another.
"""

from __future__ import annotations

import io
import itertools
import random
import statistics
from collections.abc import Iterable

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from termnews.terminal.cells import PenTable
from termnews.terminal.diff import Capabilities, Screen
from termnews.terminal.hook import changes_cells
from termnews.terminal.updates import draw_update
from tests.support.emulator import Cell, RichScreen, emulator, feed

WORDS = ["the", "quay", "tide", "gull", "ledger", "marsh", "  ", "-", "│", "▁▂▃", "…", "⏎"]
WORDS += ["café", "naïve", "e\u0301t\u0301e\u0301", "世界", "ｶﾀｶﾅ", "日本語", "😀", "🦀"]
WORDS += ["👨\u200d👩\u200d👧", "❤\ufe0f", "✓", "αβγ", "Привет", "▎", " " * 7]
WORDS += ["─" * 9, "=" * 12, "┼──────┼", "ab" * 5, "世" * 5]  # runs that REP may repeat


def random_style(rng: random.Random) -> Style | None:
    if rng.random() < 0.1:
        return None

    def colour() -> str | None:
        kind = rng.random()
        if kind < 0.2:
            return None
        if kind < 0.5:
            return f"#{rng.randrange(1 << 24):06x}"
        if kind < 0.7:
            return f"color({rng.randrange(256)})"
        if kind < 0.85:
            return rng.choice(["red", "green", "bright_blue", "black", "white"])
        return "default"

    def flag() -> bool:
        return rng.random() < 0.15

    link = "http://example.org/x" if rng.random() < 0.03 else None
    return Style(
        color=colour(),
        bgcolor=colour(),
        link=link,
        bold=flag(),
        dim=flag(),
        italic=flag(),
        underline=flag(),
        reverse=flag(),
        strike=flag(),
        blink=flag(),
    )


def random_strip(rng: random.Random, width: int, styles: list[Style | None]) -> Strip:
    segments: list[Segment] = []
    used = 0
    while used < width:
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
        text = " ".join(words)
        while text and used + cell_len(text) > width:
            text = text[:-1]
        if not text or cell_len(text) == 0:
            text = " " * (width - used)
        segments.append(Segment(text, rng.choice(styles)))
        used += cell_len(text)
    return Strip(segments, width)


def random_layout(
    rng: random.Random, width: int, height: int, styles: list[Style | None]
) -> LayoutUpdate:
    return LayoutUpdate(
        [[random_strip(rng, width, styles)] for _ in range(height)], Region(0, 0, width, height)
    )


def random_chops(
    rng: random.Random, width: int, height: int, styles: list[Style | None]
) -> ChopsUpdate:
    chops: list[dict[int, Strip | None]] = []
    ends: list[list[int]] = []
    for _ in range(height):
        cuts = sorted({0, width, *(rng.randrange(1, width) for _ in range(rng.randint(0, 3)))})
        chops.append(
            {
                start: random_strip(rng, end - start, styles)
                for start, end in itertools.pairwise(cuts)
            }
        )
        ends.append(cuts[1:])
    spans = []
    for y in sorted(rng.sample(range(height), rng.randint(1, height))):
        x1 = rng.randrange(width)
        spans.append((y, x1, rng.randint(x1 + 1, width)))
    return ChopsUpdate(chops, spans, ends)


def textual_output(update: CompositorUpdate, console: Console, cursor: tuple[int, int]) -> str:
    return update.render_segments(console) + f"\x1b[{cursor[1] + 1};{cursor[0] + 1}H"


SHOWN_ON_BLANK = 8 | 16 | 32 | 64  # double underline, frame, encircle, overline in `extra`


def visible(cell: Cell) -> tuple[object, ...]:
    """What a person sees of a cell: of a blank, only its background (unless an attribute
    such as underline or reverse shows on it) and the hyperlink a click on it opens."""
    if cell.data == " " and not (
        cell.underscore or cell.strikethrough or cell.reverse or cell.extra & SHOWN_ON_BLANK
    ):
        return (" ", cell.bg, address(cell.link))
    return (*cell[:-1], address(cell.link))


def address(link: str) -> str:
    """Where a hyperlink goes ("id=...;url": the url); the id only groups cells on hover,
    and the layer's ids are the address's own, Textual's a new number per style."""
    return link.split(";", 1)[-1]


def compare(reference: RichScreen, mine: RichScreen, what: str) -> None:
    for y, (want, got) in enumerate(zip(reference.cells(), mine.cells(), strict=True)):
        for x, (a, b) in enumerate(zip(want, got, strict=True)):
            assert visible(a) == visible(b), (
                f"{what}: cell {x},{y}: Textual shows {a}, the layer {b}"
            )
    assert (reference.cursor.x, reference.cursor.y) == (mine.cursor.x, mine.cursor.y), what


@pytest.mark.parametrize("system", ["truecolor", "256", "standard"])
@pytest.mark.parametrize("seed", range(8))
def test_random_frames_show_what_textual_would(system: str, seed: int) -> None:
    rng = random.Random(f"{system}-{seed}")
    width, height = rng.randint(8, 50), rng.randint(3, 14)
    console = Console(file=io.StringIO(), force_terminal=True, color_system=system)  # type: ignore[arg-type]
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    onlcr = rng.random() < 0.5  # the tty turns LF into CR LF, as it does by default
    capabilities = Capabilities(
        bce=rng.random() < 0.7, ech=rng.random() < 0.8, onlcr=onlcr, rep=rng.random() < 0.6
    )
    screen = Screen(width, height, capabilities)
    reference, reference_stream = emulator(width, height)
    mine, mine_stream = emulator(width, height)
    styles = [random_style(rng) for _ in range(rng.randint(1, 8))]
    sent = textual_bytes = 0
    for step in range(40):
        if step and rng.random() < 0.08:  # a resize: Textual answers with a full layout
            width, height = rng.randint(8, 50), rng.randint(3, 14)
            for emulated in (reference, mine):
                emulated.resize(height, width)
            screen.resize(width, height)
            update: CompositorUpdate = random_layout(rng, width, height, styles)
        elif step == 0 or rng.random() < 0.15:
            update = random_layout(rng, width, height, styles)
        else:
            update = random_chops(rng, width, height, styles)
        if rng.random() < 0.1:
            styles.append(random_style(rng))
        cursor = (rng.randrange(width), rng.randrange(height))
        expected = textual_output(update, console, cursor)
        reference_stream.feed(expected.encode())
        draw_update(screen, update, pens)
        frame = screen.frame(cursor)
        mine_stream.feed((frame.replace("\n", "\r\n") if onlcr else frame).encode())
        compare(reference, mine, f"seed {seed} step {step}")
        sent += len(frame.encode())
        textual_bytes += len(expected.encode())
    assert sent < textual_bytes


def test_an_unchanged_frame_sends_nothing() -> None:
    rng = random.Random(3)
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    styles = [random_style(rng) for _ in range(4)]
    update = random_layout(rng, 30, 5, styles)
    screen = Screen(30, 5)
    draw_update(screen, update, pens)
    assert screen.frame((0, 0))
    draw_update(screen, update, pens)
    assert screen.frame((0, 0)) == ""
    assert screen.frame((3, 2)) == "\x1b[3;4H"  # only the cursor moved


def test_an_invalidated_screen_is_repainted_whole() -> None:
    rng = random.Random(4)
    console = Console(file=io.StringIO(), force_terminal=True, color_system="256")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    screen = Screen(20, 4)
    draw_update(screen, random_layout(rng, 20, 4, [random_style(rng)]), pens)
    first = screen.frame((0, 0))
    screen.invalidate()
    mine, stream = emulator(20, 4)
    stream.feed(("\x1b[31mgarbage everywhere\r\n" * 4).encode())
    stream.feed(screen.frame((0, 0)).encode())
    reference, reference_stream = emulator(20, 4)
    reference_stream.feed(first.encode())
    compare(reference, mine, "after invalidate")


@pytest.mark.parametrize("panel", [0, 20])
@pytest.mark.parametrize("seed", range(4))
def test_scrolled_text_is_moved_not_redrawn_and_stays_exact(panel: int, seed: int) -> None:
    """A reader-like screen: a header, a text view that scrolls by a few lines (with a scroll
    bar, beside a static side panel or not), a footer."""
    rng = random.Random(seed)
    width, height = 60, 16
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    styles = [random_style(rng) for _ in range(5)]
    text = [random_strip(rng, width - panel - 1, styles) for _ in range(80)]
    side = [random_strip(rng, panel, styles) for _ in range(height)] if panel else []
    header, footer = random_strip(rng, width, styles), random_strip(rng, width, styles)
    bar = Style(color="#808080", bgcolor="#202020")
    screen = Screen(width, height)
    reference, reference_stream = emulator(width, height)
    mine, mine_stream = emulator(width, height)
    top, one_line, drawn = 0, [], []
    for step in range(30):
        moved = rng.choice([1, 1, 1, 2, -1, -3, 5]) if step else 0
        top = max(0, min(len(text) - height, top + moved))
        thumb = top * (height - 2) // len(text)
        lines: list[Iterable[Strip]] = [[header]]
        for y in range(height - 2):
            mark = "█" if thumb <= y < thumb + 2 else "│"
            row = [text[top + y], Strip([Segment(mark, bar)], 1)]
            lines.append(([side[y]] if panel else []) + row)
        lines.append([footer])
        update = LayoutUpdate(lines, Region(0, 0, width, height))
        expected = textual_output(update, console, (0, 0))
        reference_stream.feed(expected.encode())
        draw_update(screen, update, pens)
        frame = screen.frame((0, 0))
        mine_stream.feed(frame.encode())
        compare(reference, mine, f"step {step}, top {top}")
        drawn.append(len(expected.encode()))
        if moved == 1:
            one_line.append(len(frame.encode()))
    if not panel:  # the view is moved on the terminal: a line's step costs about a line
        assert statistics.median(one_line) < statistics.median(drawn) / 4, one_line


@pytest.mark.parametrize(
    ("written", "draws"),
    [
        ("\x1b]52;c;aGVsbG8=\x07", False),  # a clipboard copy
        ("\x1b[?1000h\x1b[?1006h\x1b[?25l", False),  # mouse modes, cursor hidden
        ("\x1b[?2026$p", False),  # a mode query
        ("\x07", False),
        ("\x1b[?1049h", True),  # back on the alternate screen (after a suspend)
        ("hello", True),
        ("\x1b[2J", True),
        ("\x1b[5;1Hx", True),
    ],
)
def test_writes_outside_the_layer_that_may_draw_forget_the_shadow(
    written: str, draws: bool
) -> None:
    assert changes_cells(written) is draws


def test_terminal_names_decide_background_erase_and_ech() -> None:
    assert Capabilities.for_term("xterm-256color") == Capabilities(bce=True, ech=True, rep=True)
    assert Capabilities.for_term("tmux-256color").bce
    assert not Capabilities.for_term("tmux-256color").rep  # its terminfo has no `rep`
    assert Capabilities.for_term("linux").bce
    assert not Capabilities.for_term("screen-256color").bce  # GNU screen without defbce
    assert Capabilities.for_term("vt100") == Capabilities(bce=False, ech=False, scroll=False)


def test_without_bce_only_default_background_blanks_are_erased() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    coloured = Strip([Segment("x" + " " * 39, Style(bgcolor="#102030"))], 40)
    plain = Strip([Segment("x" + " " * 39)], 40)
    for capabilities, strip, erased in [
        (Capabilities(bce=False), coloured, False),
        (Capabilities(bce=False), plain, True),
        (Capabilities(bce=True), coloured, True),
    ]:
        screen = Screen(40, 1, capabilities)
        draw_update(screen, LayoutUpdate([[strip]], Region(0, 0, 40, 1)), pens)
        frame = screen.frame()
        assert ("\x1b[K" in frame or "\x1b[H\x1b[J" in frame) is erased, frame
        assert (" " * 39 in frame) is not erased


def test_a_run_of_one_character_goes_as_rep_where_the_terminal_has_it() -> None:
    """ASCII runs only: tmux (often behind TERM=xterm-256color) repeats no other character."""
    console = Console(file=io.StringIO(), force_terminal=True, color_system="256")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    line = "-" * 30 + "+" + "-" * 9 + "─" * 10
    rule = Strip([Segment(line, Style(color="color(246)", underline=True))], 50)
    frames = {}
    for rep in (False, True):
        screen = Screen(50, 1, Capabilities(rep=rep))
        draw_update(screen, LayoutUpdate([[rule]], Region(0, 0, 50, 1)), pens)
        frames[rep] = screen.frame((0, 0))
        shown = feed(frames[rep].encode(), 50, 1)
        assert shown.text == line
        assert {(cell.fg, cell.underscore) for cell in shown.cells()[0]} == {("949494", True)}
    assert "-\x1b[29b+-\x1b[8b" in frames[True]
    assert "─" * 10 in frames[True]
    assert len(frames[True].encode()) == len(frames[False].encode()) - 38 + 10


def test_blanks_after_underlined_text_keep_the_colour_for_the_text_after_them() -> None:
    """Erasing after an underlined heading needs only the underline off: the colour and the
    bold stay for the next row's text, which then needs no colour of its own."""
    console = Console(file=io.StringIO(), force_terminal=True, color_system="256")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    text, bg = Style(color="color(253)", bgcolor="color(234)"), Style(bgcolor="color(234)")
    rows = [
        [
            Strip(
                [Segment("Heading", text + Style(bold=True, underline=True)), Segment(" " * 33, bg)]
            )
        ],
        [Strip([Segment("Body text", text), Segment(" " * 31, bg)])],
    ]
    screen = Screen(40, 2, Capabilities())
    draw_update(screen, LayoutUpdate(rows, Region(0, 0, 40, 2)), pens)
    frame = screen.frame((0, 0))
    assert frame.count("38;5;253") == 1, repr(frame)
    shown = feed(frame.encode(), 40, 2)
    assert shown.text.split("\n") == ["Heading".ljust(40), "Body text".ljust(40)]
    assert [cell.bg for cell in shown.cells()[0][7:]] == ["1c1c1c"] * 33
    assert not any(cell.underscore for cell in shown.cells()[0][7:])


def test_with_onlcr_a_bare_line_feed_starts_the_next_row() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    pens = PenTable(console._color_system)  # type: ignore[arg-type]
    rows = [[Strip([Segment(f"row {y} of text".ljust(30))], 30)] for y in range(4)]
    frames = {}
    for onlcr in (False, True):
        screen = Screen(30, 4, Capabilities(onlcr=onlcr))
        draw_update(screen, LayoutUpdate(rows, Region(0, 0, 30, 4)), pens)
        frames[onlcr] = screen.frame((0, 0))
    assert "\r\n" in frames[False] and "\n" in frames[True]
    assert "\r" not in frames[True]
    assert frames[True] == frames[False].replace("\r\n", "\n")


def test_translates_newlines_reads_the_ttys_output_flags() -> None:
    import os
    import pty
    import termios
    from types import SimpleNamespace

    from termnews.terminal.hook import translates_newlines

    master, slave = pty.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as file:
            driver = SimpleNamespace(_file=file)
            assert translates_newlines(driver) is True  # type: ignore[arg-type]  # a stand-in
            attrs = termios.tcgetattr(slave)
            attrs[1] &= ~termios.ONLCR
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            assert translates_newlines(driver) is False  # type: ignore[arg-type]
        with open(os.devnull, "w") as not_a_tty:
            assert translates_newlines(SimpleNamespace(_file=not_a_tty)) is False  # type: ignore[arg-type]
    finally:
        os.close(master)
        os.close(slave)
