"""The difference between what the terminal shows and what it should show, as bytes.

`Screen` keeps two grids: the model (what Textual's compositor has drawn so far) and the
shadow (what the terminal shows, as far as this module knows; unknown after an
invalidation). `Screen.frame()` returns the escape sequences and text that turn the shadow
into the model, as curses does: unchanged cells are skipped with the cheapest cursor move,
the pen (SGR and OSC 8 state) carries across cells and only what changes is sent, runs
of blanks are erased with EL / ECH where the terminal erases with the current background,
and runs of one character are sent once and repeated (REP) where the terminal has REP.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain, compress, islice, takewhile
from operator import itemgetter, ne

from termnews.terminal.cells import (
    ATTRIBUTES,
    BLANK,
    DEFAULT_PEN,
    SHOWN_ON_BLANK,
    UNKNOWN,
    Cell,
    Pen,
    Row,
    blank_of,
    erasable,
    trusted,
)
from termnews.terminal.cells import width as cell_width

# Terminals known to erase with the current background colour (terminfo `bce`) and to have
# ECH. GNU screen (TERM=screen*) erases with the default background unless `defbce on`;
# vt100/vt220 have no colours and vt100 no ECH; unknown names get the safe choice.
BCE_TERMS: tuple[str, ...] = ("xterm", "tmux", "rxvt", "linux", "alacritty", "kitty", "foot")
BCE_TERMS += ("wezterm", "st-", "konsole", "gnome", "vte", "iterm", "contour", "ghostty")
NO_ECH_TERMS = ("vt100", "vt102", "vt52", "dumb", "ansi")
# Terminals with REP (repeat the last character): terminfo gives xterm's `rep`, and these
# implement it. tmux and screen are left out (their terminfo entries have no `rep`). Only
# ASCII is repeated: tmux, often behind TERM=xterm-256color, repeats no other character.
REP_TERMS = ("xterm", "kitty", "foot", "alacritty", "wezterm", "contour", "ghostty")
REP_RUN = 4  # cells of one character in a row that make REP worth weighing
SCROLL_MIN_ROWS = 3  # rows that must line up before scrolling is considered
ECH_RUN = 6  # blanks in a row that make ECH worth weighing
DEFER_CELLS = 3  # a row's last changed cells, if this few, may wait for a second pass
CLEAR_SHARE = 4  # a blank on at least 1/CLEAR_SHARE of the screen: a repaint erases with it
SCROLL_OVERHEAD = 16  # bytes of margins, a move, DL / IL and the margins' reset
SHIFT_SAMPLES = 12  # cells of each half of a row that stand for it when shifts are sought


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the terminal can be asked to do, beyond cursor moves, EL and SGR."""

    bce: bool = True  # erasing fills with the current background
    ech: bool = True  # ECH (erase characters) exists
    scroll: bool = True  # scrolling margins (DECSTBM) with insert / delete line (IL, DL)
    # The tty turns LF into CR LF (termios OPOST and ONLCR, the default, which Textual
    # keeps): a bare LF moves to the start of the next row, one byte less per row.
    onlcr: bool = False
    rep: bool = False  # REP (CSI n b) repeats the character before it n times

    @classmethod
    def for_term(cls, term: str) -> Capabilities:
        name = term.lower()
        vt100 = name.startswith(NO_ECH_TERMS)
        bce, rep = name.startswith(BCE_TERMS), name.startswith(REP_TERMS)
        return cls(bce=bce, ech=not vt100, scroll=not vt100, rep=rep)


def cup(y: int, x: int) -> str:
    """Cursor position (0-based arguments), in its shortest spelling."""
    if x == 0:
        return "\x1b[H" if y == 0 else f"\x1b[{y + 1}H"
    return f"\x1b[{y + 1};{x + 1}H"


def _repeat(count: int, final: str) -> str:
    return f"\x1b[{final}" if count == 1 else f"\x1b[{count}{final}"


def sgr_change(old: Pen | None, new: Pen) -> str:
    """The SGR sequence that turns pen `old` (None: unknown) into `new` (links apart)."""
    bits, fg, bg, _ = new
    full = [ATTRIBUTES[bit][1] for bit in range(len(ATTRIBUTES)) if bits >> bit & 1]
    full += [code for code in (fg, bg) if code]
    reset = "\x1b[0;" + ";".join(full) + "m" if full else "\x1b[m"
    if old is None or old[0] < 0:
        return reset
    old_bits, old_fg, old_bg, _ = old
    params: list[str] = []
    off = old_bits & ~bits
    again = 0
    for bit, (_, _, clear) in enumerate(ATTRIBUTES):
        if off >> bit & 1 and clear not in params:
            params.append(clear)
            # The same code clears its partner (22: bold and dim); set it again if wanted.
            again |= sum(1 << b for b, a in enumerate(ATTRIBUTES) if a[2] == clear) & bits
    params += [
        ATTRIBUTES[bit][1]
        for bit in range(len(ATTRIBUTES))
        if (bits & ~old_bits | again) >> bit & 1
    ]
    if fg != old_fg:
        params.append(fg or "39")
    if bg != old_bg:
        params.append(bg or "49")
    change = "\x1b[" + ";".join(params) + "m"
    return change if len(change) < len(reset) else reset


class Screen:
    """The model and the shadow of one terminal screen, and the frames between them."""

    def __init__(self, width: int, height: int, capabilities: Capabilities | None = None) -> None:
        self.capabilities = capabilities or Capabilities()
        self.width = width
        self.height = height
        self.model: list[Row] = [[BLANK] * width for _ in range(height)]
        self.shadow: list[Row] = []
        self.dirty: set[int] = set()
        self.cursor: tuple[int, int] | None = None  # (y, x) on the terminal, None: unknown
        self.pen: Pen | None = None  # the terminal's pen, None: unknown
        self._sgr: dict[tuple[Pen | None, Pen], str] = {}
        self._deferred: list[tuple[int, int]] = []
        self._unknown = True  # nothing on the terminal is known: the next frame may clear it
        self._halves_for: tuple[int, tuple[Callable[[Row], tuple[Cell, ...]], ...]] = (-1, ())
        self.invalidate()

    def resize(self, width: int, height: int) -> None:
        """A new terminal size: the model keeps what fits, the terminal is repainted."""
        if (width, height) == (self.width, self.height):
            return
        rows = [(row + [BLANK] * width)[:width] for row in self.model[:height]]
        rows += [[BLANK] * width for _ in range(height - len(rows))]
        self.model, self.width, self.height = rows, width, height
        self.invalidate()

    def invalidate(self) -> None:
        """Forget what the terminal shows: the next frame repaints every cell."""
        self.shadow = [[UNKNOWN] * self.width for _ in range(self.height)]
        self.dirty = set(range(self.height))
        self.cursor = None
        self.pen = None
        self._unknown = True

    def row(self, y: int) -> Row:
        """Row `y` of the model, marked to be compared with the terminal at the next frame."""
        self.dirty.add(y)
        return self.model[y]

    # -- frames ------------------------------------------------------------------------

    def frame(self, cursor: tuple[int, int] | None = None) -> str:
        """Escape sequences and text that make the terminal show the model; leaves the pen
        at the default and the cursor at `cursor` (x, y), as Textual's own output does."""
        out: list[str] = []
        if self._unknown:
            self._clear(out)
        if self.capabilities.scroll and len(self.dirty) >= SCROLL_MIN_ROWS:
            self._scroll(out)
        self._deferred = []
        for y in sorted(self.dirty):
            if y < self.height and self.model[y] != self.shadow[y]:
                self._row(out, y)
        self.dirty.clear()
        model = self.model
        for y, _ in sorted(self._deferred, key=lambda at: (model[at[0]][at[1]][1], at)):
            self._row(out, y, defer=False)
        if out and self.pen != DEFAULT_PEN:
            self._set_pen(out, DEFAULT_PEN)
        if cursor is not None:
            x, y = cursor
            if out or self.cursor != (y, x):
                self._move(out, y, x)
        return "".join(out)

    def _clear(self, out: list[str]) -> None:
        """Nothing on the terminal is known (the first frame, a new screen, a resize): when
        one blank fills a good part of the model, erase the whole screen with it (ED), so
        the rows need draw only what is not that blank, and not erase the rest piece by
        piece."""
        self._unknown = False
        counts = Counter(chain.from_iterable(self.model))
        blanks = [(count, cell) for cell, count in counts.items() if self._can_erase(cell)]
        if not blanks:
            return
        count, blank = max(blanks, key=itemgetter(0))
        if count * CLEAR_SHARE < self.width * self.height:
            return  # mostly text: its rows are written whole anyway
        self._set_pen(out, blank[1], blank=True)
        out.append("\x1b[H\x1b[J")  # home, then erase to the end: the whole screen
        self.cursor = (0, 0)
        self.shadow = [[blank] * self.width for _ in range(self.height)]
        self.dirty = set(range(self.height))

    def _row(self, out: list[str], y: int, *, defer: bool = True) -> None:
        new, old, width = self.model[y], self.shadow[y], self.width
        tail = self._tail(new)
        # Which cells differ, compared in C: the next one to draw is found with index().
        differs = list(map(ne, new, old))
        find = differs.index
        x = 0
        while x < width:
            if old[x] == new[x]:
                try:
                    x = find(True, x + 1)
                except ValueError:
                    return
                if old[x] == new[x]:  # drawn meanwhile (a run, a repeat, an erase)
                    continue
            if new[x][0] == "" and x and new[x - 1][0]:
                x -= 1  # the right half of a wide character: draw the character
            if x >= tail:
                self._erase_from(out, y, x, width)
                old[x:] = new[x:]
                return
            blank = new[x]
            if self.capabilities.ech and self._can_erase(blank):
                end = x + 1
                while end < width and new[end] == blank:
                    end += 1
                changed = sum(map(ne, new[x:end], old[x:end]))
                if changed > len(f"\x1b[{end - x}X"):
                    self._erase_from(out, y, x, end)
                    old[x:end] = new[x:end]
                    x = end
                    continue
            if defer and self._defer(y, x):
                return
            x = self._write_run(out, y, x, tail, defer=defer)

    def _erase_from(self, out: list[str], y: int, x: int, end: int) -> None:
        """Erase cells x..end of row y (blanks of one pen; `end` the width: to the edge),
        starting where the cursor gets cheapest: the unchanged blanks of the same pen before
        x may be erased again (the cursor may already be among them, or a newline away)."""
        row, blank = self.model[y], self.model[y][x]
        start = x
        while start > 0 and row[start - 1] == blank and self.shadow[y][start - 1] == blank:
            start -= 1
        starts = {x, start}
        if self.cursor is not None and self.cursor[0] == y and start <= self.cursor[1] <= x:
            starts.add(self.cursor[1])

        def way(at: int) -> tuple[int, int, str, str]:
            erase = "\x1b[K" if end == self.width else f"\x1b[{end - at}X"
            path = self._path(y, at)
            return len(path) + len(erase), -at, path, erase

        _, left_of, path, erase = min(map(way, starts))  # cheapest, then the rightmost
        out.append(path)
        self.cursor = (y, -left_of)
        self._set_pen(out, blank[1], blank=True)
        out.append(erase)

    def _defer(self, y: int, x: int) -> bool:
        """Whether the changed cells from x on are the row's last few (anywhere in the
        rest of the row), in a pen other than the current one (a scroll bar, the borders
        of a panel): they are drawn after the other rows, grouped by pen, so that the pen
        does not flip twice on every row."""
        new, old = self.model[y], self.shadow[y]
        pen = new[x][1]
        if pen == self.pen:
            return False
        # The first few changed columns, found in C; a run of text stops this at once.
        differs = map(ne, islice(new, x, None), islice(old, x, None))
        changed = list(islice(compress(range(x, self.width), differs), DEFER_CELLS + 1))
        if len(changed) > DEFER_CELLS or any(new[i][1] != pen for i in changed):
            return False
        self._deferred.append((y, x))
        return True

    def _write_run(self, out: list[str], y: int, x: int, stop: int, *, defer: bool = False) -> int:
        """Draw the changed cells from `x` on, up to `stop` (where the row's trailing blanks
        begin) or a run of blanks worth erasing; the column after them. With `defer`, the
        run stops where the rest of the row's changes may wait for the second pass."""
        new, old, width = self.model[y], self.shadow[y], self.width
        self._move(out, y, x)
        known = True
        first = True  # drawn even if unchanged: the left half of a changed wide character
        rep, ech = self.capabilities.rep, self.capabilities.ech
        append = out.append
        while x < width:
            text, pen = cell = new[x]
            if not first:
                if x >= stop:
                    break
                if cell == old[x]:
                    # Unchanged cells before a changed one: a few the pen can write again
                    # cost no more bytes than a move over them, and the run goes on.
                    gap = self._gap(y, x, stop)
                    if not gap:
                        break
                    append(gap)
                    x += len(gap)  # one cell per character: `_literal` takes no other
                    continue
                if text == " " and ech and self._erase_here(new, x):
                    break
            if pen != self.pen:
                if not first and defer and self._defer(y, x):
                    break
                self._set_pen(out, pen, blank=text == " ")
            first = False
            old[x] = cell
            x += 1
            if len(text) == 1 and " " <= text <= "~":  # printable ASCII: one trusted cell
                append(text)
                if rep and x + REP_RUN <= stop and new[x] == cell:
                    x = self._repeat_run(out, y, x, stop)
                continue
            if not text:  # a lone right half (the model never holds one): draw a blank
                text = " "
            append(text)
            known = known and trusted(text)
            if cell_width(text) == 2:
                if x < width and new[x][0] == "":
                    old[x] = new[x]
                    x += 1
                else:  # the terminal went two columns on, the model one: move afresh
                    known = False
                    break
        # After the last column the terminal waits to wrap; after a cluster or emoji the
        # column is the terminal's guess: either way the next move is absolute.
        self.cursor = (y, x) if known and x < width else None
        return x

    def _gap(self, y: int, x: int, stop: int) -> str:
        """The unchanged cells from x on, written again, if they are at most three, end
        before `stop` at a changed cell of the current pen, and the pen draws them as they
        are (`_literal`); else ""."""
        new, old, pen = self.model[y], self.shadow[y], self.pen
        end = x
        while end < stop and end - x < 3 and new[end] == old[end]:
            end += 1
        if end >= stop or new[end] == old[end] or pen is None:
            return ""
        if new[end][1] not in (pen, blank_of(pen)):
            return ""  # a pen change follows: the row loop decides (it may defer those cells)
        text = self._literal(y, x, end)
        return "" if text.startswith("\x1b") else text

    def _repeat_run(self, out: list[str], y: int, x: int, stop: int) -> int:
        """After a character at x - 1, the cells from x on that repeat it (changed or not,
        up to `stop`), sent as REP if that is shorter; the column after what was sent."""
        new, old = self.model[y], self.shadow[y]
        cell = new[x - 1]
        end = x
        while end < stop and new[end] == cell:
            end += 1
        count = end - x
        if count < REP_RUN or count * len(cell[0].encode()) <= len(f"\x1b[{count}b"):
            return x
        out.append(f"\x1b[{count}b")
        old[x:end] = new[x:end]
        return end

    def _erase_here(self, row: Row, x: int) -> bool:
        """Whether blanks from x on are a run that ECH may erase (the row loop decides)."""
        cell = row[x]
        if not self.capabilities.ech or cell[0] != " " or x + ECH_RUN > self.width:
            return False
        return self._can_erase(cell) and row[x : x + ECH_RUN].count(cell) == ECH_RUN

    def _tail(self, row: Row) -> int:
        """The first column of the row's trailing run of erasable blanks of one pen."""
        last = row[-1] if row else BLANK
        if not self._can_erase(last):
            return self.width
        return self.width - len(list(takewhile(last.__eq__, reversed(row))))

    def _can_erase(self, cell: Cell) -> bool:
        return erasable(cell) and (self.capabilities.bce or not cell[1][2])

    # -- scrolling -----------------------------------------------------------------------

    def _scroll(self, out: list[str]) -> None:
        """Where a block of rows moved up or down (a scrolled view), move it on the terminal
        with delete / insert line inside scrolling margins, if that costs fewer cells."""
        model, shadow = self.model, self.shadow
        changed = [y for y in sorted(self.dirty) if model[y] != shadow[y]]
        if len(changed) < SCROLL_MIN_ROWS:
            return
        top, bottom = changed[0], changed[-1]
        plain = {y: sum(map(ne, model[y], shadow[y])) for y in range(top, bottom + 1)}
        best: tuple[int, int, int, int] | None = None  # cost, shift, top, bottom
        for shift in self._shifts(top, bottom):
            region = self._region(top, bottom, shift, plain)
            if region is None:
                continue
            cost = self._scroll_cost(*region, shift, plain)
            if cost < (best[0] if best else sum(plain.values()) - SCROLL_OVERHEAD):
                best = (cost, shift, *region)
        if best is None:
            return
        _, shift, top, bottom = best
        out.append(f"\x1b[{top + 1};{bottom + 1}r{cup(top, 0)}")
        unknown = [[UNKNOWN] * self.width for _ in range(abs(shift))]
        if shift > 0:  # rows moved up: delete at the top of the region
            out.append(_repeat(shift, "M"))
            shadow[top : bottom + 1] = shadow[top + shift : bottom + 1] + unknown
        else:
            out.append(_repeat(-shift, "L"))
            shadow[top : bottom + 1] = unknown + shadow[top : bottom + 1 + shift]
        out.append("\x1b[r")  # margins back to the whole screen (the cursor goes home)
        self.cursor = None
        self.dirty.update(range(top, bottom + 1))

    def _shifts(self, top: int, bottom: int) -> list[int]:
        """Row shifts worth trying: those that line up the most row halves (a scroll bar or
        a border at one side stops whole rows from matching). A half is known by a few of
        its cells, picked out in C; `_region` then checks every cell of the rows it keeps."""
        halves = self._halves()
        where: dict[tuple[Cell, ...], list[int]] = {}
        for y in range(top, bottom + 1):
            row = self.shadow[y]
            for half in halves:
                part = half(row)
                if part.count(part[0]) != len(part):  # not one cell repeated
                    where.setdefault(part, []).append(y)
        votes: dict[int, int] = {}
        for y in range(top, bottom + 1):
            row = self.model[y]
            for half in halves:
                for old_y in where.get(half(row), ())[:4]:
                    if old_y != y:
                        votes[old_y - y] = votes.get(old_y - y, 0) + 1
        ranked = sorted(votes, key=lambda shift: (-votes[shift], abs(shift)))
        return [shift for shift in ranked[:3] if votes[shift] >= 2]

    def _halves(self) -> tuple[Callable[[Row], tuple[Cell, ...]], ...]:
        """For each half of a row, a function that picks out its sample cells as a tuple."""
        if self._halves_for[0] != self.width:
            half = self.width // 2
            pickers = []
            for start, end in ((0, half), (half, self.width)):
                if end - start <= SHIFT_SAMPLES:
                    columns = list(range(start, end))
                else:
                    step = (end - start) / SHIFT_SAMPLES
                    columns = [start + int(step * k) for k in range(SHIFT_SAMPLES)]
                columns = columns or [start]
                pickers.append(itemgetter(*columns, columns[-1]))  # always a tuple
            self._halves_for = (self.width, tuple(pickers))
        return self._halves_for[1]

    def _region(
        self, top: int, bottom: int, shift: int, plain: dict[int, int]
    ) -> tuple[int, int] | None:
        """The rows to scroll: from the first to the last row that the shift draws cheaper."""
        model, shadow = self.model, self.shadow
        better = [
            y
            for y in range(top, bottom + 1)
            if top <= y + shift <= bottom and sum(map(ne, model[y], shadow[y + shift])) < plain[y]
        ]
        if len(better) < SCROLL_MIN_ROWS:
            return None
        if shift > 0:
            return better[0], better[-1] + shift
        return better[0] + shift, better[-1]

    def _scroll_cost(self, top: int, bottom: int, shift: int, plain: dict[int, int]) -> int:
        """Cells to draw after scrolling rows top..bottom by `shift`, plus the rest."""
        model, shadow = self.model, self.shadow
        cost = sum(count for y, count in plain.items() if not top <= y <= bottom)
        for y in range(top, bottom + 1):
            source = y + shift
            if top <= source <= bottom:
                cost += sum(map(ne, model[y], shadow[source]))
            else:  # a row scrolled in: drawn whole, its trailing blanks erased
                cost += self._tail(model[y]) + 3
        return cost

    # -- the cursor and the pen --------------------------------------------------------

    def _move(self, out: list[str], y: int, x: int) -> None:
        if self.cursor != (y, x):
            out.append(self._path(y, x))
            self.cursor = (y, x)

    def _path(self, y: int, x: int) -> str:
        """The shortest bytes that take the cursor from where it is to (y, x)."""
        at = self.cursor
        if at == (y, x):
            return ""
        if at is not None and at[0] == y and x > at[1]:
            return self._across(y, at[1], x)  # CUF, or the cells: never longer than CUP
        best = cup(y, x)
        if at is not None:
            cy, cx = at
            if cy == y:
                best = min(best, self._across(y, cx, x), key=len)
            else:
                vertical = _repeat(abs(y - cy), "B" if y > cy else "A")
                best = min(best, vertical + self._across(y, cx, x), key=len)
                if 0 < y - cy <= 4:
                    newline = "\n" if self.capabilities.onlcr else "\r\n"
                    lines = newline + "\n" * (y - cy - 1)
                    best = min(best, lines + self._forward(y, x), key=len)
        return best

    def _across(self, y: int, cx: int, x: int) -> str:
        """Along row y from column cx to x: CUF, CUB, backspaces or the cells themselves."""
        if x == cx:
            return ""
        if x > cx:
            return min(_repeat(x - cx, "C"), self._literal(y, cx, x), key=len)
        back = "\b" * (cx - x) if cx - x <= 3 else _repeat(cx - x, "D")
        return min(back, _repeat(cx - x, "D"), "\r" + self._forward(y, x), key=len)

    def _forward(self, y: int, x: int) -> str:
        """From column 0 of row y to column x."""
        return "" if x == 0 else min(_repeat(x, "C"), self._literal(y, 0, x), key=len)

    def _literal(self, y: int, start: int, end: int) -> str:
        """Cells start..end of row y written again, if that moves the cursor as cheaply."""
        limit = len(f"\x1b[{end - start}C")
        if end - start > limit:
            return "\x1b[" + "9" * 9 + "C"  # longer than any other choice
        shown = self.shadow[y]
        chars = []
        for x in range(start, end):
            text, pen = shown[x]
            same = pen == self.pen or (
                text == " " and self.pen is not None and blank_of(self.pen) == pen
            )
            if not same or not trusted(text) or cell_width(text) != 1:
                return "\x1b[" + "9" * 9 + "C"
            chars.append(text)
        return "".join(chars)

    def _set_pen(self, out: list[str], pen: Pen, *, blank: bool = False) -> None:
        """Make `pen` the terminal's; for a blank, a pen that shows a blank the same will do."""
        old = self.pen
        if blank and old is not None and old[0] >= 0:
            if blank_of(old) == pen:
                return
            if pen == blank_of(pen) and not (pen[0] or pen[1] or pen[3]):
                # Any pen that shows a blank as `pen` does will do: the nearest to the
                # current one (drop what shows on a blank, take the background), so the
                # text after the blanks may need no change either.
                pen = (old[0] & ~SHOWN_ON_BLANK, old[1], pen[2], "")
        # An unknown pen may have a link open (OSC 8 outlives SGR 0): say what is wanted.
        if old is None or old[0] < 0 or old[3] != pen[3]:
            out.append(f"\x1b]8;{pen[3]}\x1b\\" if pen[3] else "\x1b]8;;\x1b\\")
        key = (old, pen)
        change = self._sgr.get(key)
        if change is None:
            same = old is not None and old[:3] == pen[:3]
            change = "" if same else sgr_change(old, pen)
            if len(self._sgr) > 4096:
                self._sgr.clear()
            self._sgr[key] = change
        if change:
            out.append(change)
        self.pen = pen
