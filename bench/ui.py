"""Benchmark the reader UI on a big cache against DESIGN.md's targets. Prints a table.

    .venv/bin/python bench/ui.py --cache DIR

--cache DIR is reused when it holds a database, and generated there otherwise
(bench/make_cache.py, --articles/--feeds). Without --cache a temporary one is made and
deleted. What is measured:

1. process start to first frame: `python -m termnews --data-dir DIR` in a real PTY
   (120x40, TERM=xterm-256color, TERMNEWS_NO_AUTO_REFRESH=1), from spawn until a feed
   title and the first article's title have reached the terminal; median of --runs.
   --refresh-on-start times it again with the refresh on start on (no feed of the cache
   is due, so it fetches nothing, but its imports, threads and parse workers start);
   --cold times it once more with the page cache emptied before each start (needs root).
2. opening the 100k "All" list: in-process with Textual's Pilot, FeedsScreen.load_list("all")
   (from another list) plus processing the messages it caused and the next screen update
   (including turning it into terminal bytes); and the raw service.article_ids(ArticleQuery()).
3. n/p: ReaderScreen.action_step / show_index plus the next screen update, for typical
   posts of the cache and the sample site, the sample site's "long" post, the cache's
   largest post and the largest post of the shared corpus (parsed from
   $TERMNEWS_CORPUS/feeds); long posts are timed with the render cache emptied first.
4. peak RSS (VmHWM) of the PTY process after the first frame, and after paging through
   the All list and stepping through 200 posts with `n` (the key-to-screen time of each
   `n` over the PTY is printed too).
5. search: service.article_ids(ArticleQuery(search=...)) for a few queries.

Numbers depend on the machine and its load (the load average is printed). Not run by CI.
Stepping marks posts read in the cache (as a user would); lists and timings do not depend on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ptyprocess import PtyProcess

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from make_cache import make_cache  # noqa: E402

from termnews.config import Paths, Settings, database_path  # noqa: E402
from termnews.feeds.parse import FeedParseError, parse_feed  # noqa: E402
from termnews.model import ArticleQuery, Identity  # noqa: E402
from termnews.service import NewsService  # noqa: E402
from termnews.store import Store  # noqa: E402
from tests.support.emulator import emulator  # noqa: E402
from tests.support.terminal import termnews_env  # noqa: E402

COLS, ROWS = 120, 40
DEFAULT_CORPUS = Path(os.environ.get("TERMNEWS_CORPUS", REPO / ".." / "shared" / "corpus"))
SEARCHES = ("lighthouse", "harbour wall", "compost frost", "observatory tuning", "telesc")
ANSI = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC
    rb"|\x1b[ -/]*[0-~]"  # other escapes
)


# -- results ----------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    measured: float | None  # in `unit`
    unit: str
    target: float | None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        if self.target is None:
            return "-"
        return "pass" if self.measured <= self.target else "FAIL"


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)

    def add(
        self, what: str, value: float | None, unit: str, target: float | None, note: str = ""
    ) -> None:
        self.rows.append(Row(what, value, unit, target, note))
        shown = "-" if value is None else f"{value:.1f} {unit}"
        print(f"  {what}: {shown} {note}", flush=True)

    def table(self) -> str:
        head = ("what", "measured", "target", "result", "note")
        lines = [
            (
                r.what,
                "-" if r.measured is None else f"{r.measured:.1f} {r.unit}",
                "-" if r.target is None else f"≤ {r.target:g} {r.unit}",
                r.verdict,
                r.note,
            )
            for r in self.rows
        ]
        widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
        out.append("  ".join("-" * w for w in widths))
        out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
        return "\n".join(out)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else float("nan")


# -- a real PTY -----------------------------------------------------------------------------


def screen_text(raw: bytes) -> str:
    """What a terminal would show as text, escape sequences dropped (good enough to search)."""
    return ANSI.sub(b"", raw).decode("utf-8", "replace")


class Terminal:
    """termnews in a PTY; output is collected as it arrives, with its arrival times."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.proc = PtyProcess.spawn(argv, env=env, cwd=str(REPO), dimensions=(ROWS, COLS))
        self.output = bytearray()
        self.eof = False
        # The output layer sends only changed cells: text is also looked for on a screen.
        self.screen, self.stream = emulator(COLS, ROWS)

    def pump(self, timeout: float) -> None:
        if self.eof:
            time.sleep(min(timeout, 0.05))
            return
        ready, _, _ = select.select([self.proc.fd], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.proc.fd, 1 << 16)
        except OSError:  # EIO: the child closed the PTY
            data = b""
        if not data:
            self.eof = True
        self.output += data
        self.stream.feed(data)

    def wait_for(self, text: str, since: int = 0, timeout: float = 60.0) -> float:
        """perf_counter time when `text` first showed after output offset `since`."""
        deadline = time.perf_counter() + timeout
        checked = since
        while True:
            # Search only the new output (plus an overlap for text split across reads).
            start = max(since, checked - 4 * len(text.encode()) - 64)
            if text in screen_text(bytes(self.output[start:])) or any(
                text in line for line in self.screen.display
            ):
                return time.perf_counter()
            checked = len(self.output)
            if self.eof or time.perf_counter() > deadline:
                tail = screen_text(bytes(self.output[-2000:]))
                raise TimeoutError(f"{text!r} did not appear; last output: {tail!r}")
            self.pump(0.02)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the child has used so far: unlike the wall time, it
        hardly moves with the machine's load (Linux only; 0 elsewhere)."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def send(self, data: bytes) -> int:
        mark = len(self.output)
        os.write(self.proc.fd, data)
        return mark

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Drain the output (a full PTY would block the child) until the child exits."""
        deadline = time.perf_counter() + timeout
        while not self.eof and time.perf_counter() < deadline:
            self.pump(0.05)
        # The PTY closes a moment before the process is gone.
        while self.proc.isalive() and time.perf_counter() < deadline:
            time.sleep(0.02)
        if self.proc.isalive():
            raise TimeoutError("termnews did not exit")
        return int(self.proc.wait())

    def memory_kb(self) -> dict[str, int]:
        values: dict[str, int] = {}
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0])
        return values

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)
        self.proc.close(force=True)


def quit_with_q(term: Terminal, presses: int, took: list[float] | None = None) -> int:
    """Press q `presses` times, one a second until termnews exits; how many extra q it took.
    `took` gets the seconds from the last q to the process's exit.

    Extra presses are needed when a q lands before a focus change that an earlier key asked
    for (Textual applies Widget.focus() later).
    """
    sent = 0
    while sent < presses + 5:
        term.send(b"q")
        sent += 1
        pressed = time.perf_counter()
        try:
            term.wait_exit(timeout=1.0 if sent < presses else 3.0)
            if took is not None and sent >= presses:
                took.append(time.perf_counter() - pressed)
            return max(0, sent - presses)
        except TimeoutError:
            continue
    print("  (warning: termnews did not quit on q; killed it)", flush=True)
    return sent - presses


def first_titles(data_dir: Path) -> tuple[str, str, int]:
    """(first feed's title, first article's title, list length), as the UI will show them."""
    store = Store(database_path(data_dir))
    try:
        feed = store.feeds()[0]
        ids = store.first_article_ids(ArticleQuery(), 1)
        article = store.articles(ids)[ids[0]]
        total = len(store.article_ids(ArticleQuery()))
    finally:
        store.close()
    return feed.display_title[:20], article.title[:30], total


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (needs root), so the next start reads from disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def bench_first_frame(
    data_dir: Path,
    runs: int,
    results: Results,
    *,
    refresh_on_start: bool = False,
    cold: bool = False,
) -> None:
    feed_title, article_title, _ = first_titles(data_dir)
    argv = [sys.executable, "-m", "termnews", "--data-dir", str(data_dir)]
    with tempfile.TemporaryDirectory(prefix="tn-bench-home-") as home:
        env = termnews_env(Path(home))
        if refresh_on_start:  # as a user starts it: the refresh on start runs too
            del env["TERMNEWS_NO_AUTO_REFRESH"]
        times: list[float] = []
        cpu: list[float] = []
        quits: list[float] = []
        lost_keys = 0
        for _ in range(runs):
            if cold and not drop_page_cache():
                print("  (a cold page cache needs root: /proc/sys/vm/drop_caches; skipped)")
                return
            term = Terminal(argv, env)
            try:
                seen_feed = term.wait_for(feed_title)
                seen_rows = term.wait_for(article_title)
                times.append(max(seen_feed, seen_rows) - term.started)
                cpu.append(term.cpu_seconds())
                lost_keys += quit_with_q(term, 1, quits)
            finally:
                term.close()
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual.app"], check=True, env=env)
        textual_import = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        bare = time.perf_counter() - started
    results.add(
        "start to first frame (PTY, median)"
        + (", refresh on start" if refresh_on_start else "")
        + (", cold page cache" if cold else ""),
        ms(median(times)),
        "ms",
        500,
        f"runs {', '.join(f'{ms(t):.0f}' for t in times)}; CPU by then {ms(median(cpu)):.0f} "
        f"ms (median); q lost {lost_keys}x; q to exit {ms(median(quits)):.0f} ms (median); "
        f"python -c 'import textual.app' {ms(textual_import):.0f} ms, bare python {ms(bare):.0f}",
    )


def bench_memory(data_dir: Path, steps: int, pages: int, results: Results) -> None:
    feed_title, article_title, total = first_titles(data_dir)
    argv = [sys.executable, "-m", "termnews", "--data-dir", str(data_dir)]
    with tempfile.TemporaryDirectory(prefix="tn-bench-home-") as home:
        term = Terminal(argv, termnews_env(Path(home)))
        try:
            term.wait_for(feed_title)
            term.wait_for(article_title)
            at_open = term.memory_kb()
            # Page through the All list, to its end and back, then open its first post.
            mark = term.send(b"\t" + b" " * pages + b"G" + b"g" + b"\r")
            term.wait_for(f" 1/{total}", since=mark, timeout=120)
            latencies: list[float] = []
            for n in range(2, steps + 2):
                sent_at = time.perf_counter()
                mark = term.send(b"n")
                latencies.append(term.wait_for(f" {n}/{total}", since=mark) - sent_at)
            after = term.memory_kb()
            lost = quit_with_q(term, 3)  # reader -> article list -> feed list -> quit
        finally:
            term.close()
    mb = 1024.0
    results.add(f"peak RSS, {total} articles open", at_open["VmHWM"] / mb, "MB", 92)
    results.add(
        f"peak RSS after {pages} pages + {steps} posts",
        after["VmHWM"] / mb,
        "MB",
        92,
        f"RSS now {after['VmRSS'] / mb:.0f} MB; q lost {lost}x",
    )
    results.add(
        "n over the PTY, key to screen (median)",
        ms(median(latencies)),
        "ms",
        None,
        f"p90 {ms(p90(latencies)):.0f} ms, max {ms(max(latencies)):.0f} ms, {steps} presses",
    )


# -- in process, with Textual's Pilot ----------------------------------------------------


def open_service(data_dir: Path) -> NewsService:
    paths = Paths(config_file=data_dir / "no-config.toml", data_dir=data_dir)
    return NewsService.open(paths, Settings(refresh_on_start=False), identity=Identity())


@contextmanager
def timed_display(app: Any) -> Iterator[None]:
    """Make the headless app also turn each screen update into terminal bytes, as a real
    terminal driver does (the headless driver skips that step)."""
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        render = getattr(renderable, "render_segments", None)
        if render is not None:
            render(app.console)

    app._display = display
    try:
        yield
    finally:
        app._display = original


async def settle(app: Any, pilot: Any) -> None:
    """Process the messages the last action caused, then draw the next screen update."""
    await pilot._wait_for_screen()
    app.screen._on_timer_update()


async def timed(app: Any, pilot: Any, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    await settle(app, pilot)
    return time.perf_counter() - started


def screen_lines(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def bench_list_and_search(data_dir: Path, runs: int, results: Results) -> None:
    from termnews.app import TermNewsApp
    from termnews.screens.feeds import FeedsScreen

    service = open_service(data_dir)
    try:
        raw = []
        for _ in range(runs):
            started = time.perf_counter()
            ids = service.article_ids(ArticleQuery())
            raw.append(time.perf_counter() - started)
        first_title = service.articles([ids[0]])[ids[0]].title[:30]

        async def run() -> list[float]:
            app = TermNewsApp(service)
            opened: list[float] = []
            async with app.run_test(size=(COLS, ROWS)) as pilot:
                await pilot.pause()
                screen = app.screen
                assert isinstance(screen, FeedsScreen), screen
                with timed_display(app):
                    for _ in range(runs):
                        screen.load_list("feed:1")
                        await settle(app, pilot)
                        opened.append(await timed(app, pilot, lambda: screen.load_list("all")))
                        if first_title not in screen_lines(app):
                            raise AssertionError("the All list's first row is not on screen")
            return opened

        opened = asyncio.run(run())
        results.add(
            f"open All ({len(ids)} articles) to first rows",
            ms(median(opened)),
            "ms",
            100,
            f"median of {runs}; max {ms(max(opened)):.0f} ms",
        )
        results.add("  of which article_ids(All)", ms(median(raw)), "ms", None)
        for text in SEARCHES:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                found = service.article_ids(ArticleQuery(search=text))
                times.append(time.perf_counter() - started)
            results.add(f"search {text!r}", ms(median(times)), "ms", 50, f"{len(found)} matches")
    finally:
        service.close()


def bench_steps(
    label: str, service: NewsService, special: dict[str, int], steps: int, runs: int
) -> list[tuple[str, float, str]]:
    """Typical n over `steps` posts from the top of All; each special post's n, uncached."""
    from termnews.app import TermNewsApp
    from termnews.screens.reader import ReaderScreen
    from termnews.widgets.article_list import Position

    ids: array[int] = service.article_ids(ArticleQuery())

    async def run() -> list[tuple[str, float, str]]:
        app = TermNewsApp(service)
        out: list[tuple[str, float, str]] = []
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await pilot.pause()
            app.push_screen(ReaderScreen(Position(ids, 0)))
            await pilot.pause()
            reader = app.screen
            assert isinstance(reader, ReaderScreen), reader
            with timed_display(app):
                forward = [
                    await timed(app, pilot, lambda: reader.action_step(1))
                    for _ in range(min(steps, len(ids) - 1))
                ]
                back = [
                    await timed(app, pilot, lambda: reader.action_step(-1))
                    for _ in range(min(steps, len(ids) - 1))
                ]
                out.append(
                    (
                        f"{label}: n, typical post",
                        median(forward),
                        f"p90 {ms(p90(forward)):.1f} ms over {len(forward)} posts",
                    )
                )
                out.append((f"{label}: p, typical post (cached)", median(back), ""))
                for name, article_id in special.items():
                    index = ids.index(article_id)
                    times = []
                    show = partial(reader.show_index, index)
                    for _ in range(runs):
                        reader.show_index(index - 1 if index else index + 1)
                        await settle(app, pilot)
                        service._renders.forget()  # what the first visit costs
                        times.append(await timed(app, pilot, show))
                    title = service.articles([article_id])[article_id].title[:30]
                    if title not in screen_lines(app):
                        raise AssertionError(f"{title!r} is not on screen")
                    article = service.article(article_id)
                    words = len((article.body_html if article else "").split())
                    out.append(
                        (f"{label}: n onto {name}", median(times), f"~{words} words (HTML split)")
                    )
        return out

    return asyncio.run(run())


def largest_corpus_entry(corpus: Path) -> tuple[bytes, str, str, int] | None:
    """(feed bytes, its file name, the entry guid, body length) of the corpus' largest post."""
    best: tuple[bytes, str, str, int] | None = None
    for path in sorted((corpus / "feeds").iterdir()):
        if not path.is_file() or path.suffix == ".tsv":
            continue
        body = path.read_bytes()
        try:
            feed = parse_feed(body, f"http://127.0.0.1/{path.name}")
        except FeedParseError:
            continue
        for entry in feed.entries:
            size = len(entry.content or entry.summary or "")
            if best is None or size > best[3]:
                best = (body, path.name, entry.guid, size)
    return best


def bench_reader(data_dir: Path, corpus: Path, steps: int, runs: int, results: Results) -> None:
    # The big cache: typical posts, and its longest post.
    service = open_service(data_dir)
    try:
        row = service.store.db.execute(
            "SELECT id FROM articles ORDER BY length(content) DESC LIMIT 1"
        ).fetchone()
        rows = bench_steps("cache", service, {"its largest post": row[0]}, steps, runs)
    finally:
        service.close()
    # A database refreshed from the sample site: typical posts and its "long" post.
    from termnews.demo import DemoSite

    with tempfile.TemporaryDirectory(prefix="tn-bench-demo-") as tmp, DemoSite() as site:
        service = open_service(Path(tmp))
        try:
            for url in site.feed_urls:
                service.subscribe(url)
            asyncio.run(service.refresh())
            long_post = site.post_for("long")
            found = service.store.db.execute(
                "SELECT id FROM articles WHERE link = ?", (long_post.url,)
            ).fetchone()
            special = {"the 'long' post": found[0]} if found else {}
            rows += bench_steps("sample site", service, special, steps, runs)
        finally:
            service.close()
    # The largest post of the shared corpus, in a database of its own.
    largest = largest_corpus_entry(corpus) if (corpus / "feeds").is_dir() else None
    if largest is not None:
        body, name, guid, size = largest
        with tempfile.TemporaryDirectory(prefix="tn-bench-corpus-") as tmp:
            service = open_service(Path(tmp))
            try:
                parsed = parse_feed(body, f"http://127.0.0.1/{name}")
                feed = service.subscribe(f"http://127.0.0.1/{name}")
                service.store.store_feed(
                    feed.id,
                    parsed,
                    etag=None,
                    last_modified=None,
                    body_hash="bench",
                    next_fetch=time.time() + 86400,
                )
                found = service.store.db.execute(
                    "SELECT id FROM articles WHERE guid = ?", (guid,)
                ).fetchone()
                special = {f"corpus' largest ({name}, {size // 1024} KB)": found[0]}
                rows += [
                    r for r in bench_steps("corpus", service, special, 1, runs) if "onto" in r[0]
                ]
            finally:
                service.close()
    else:
        print(f"  (no corpus at {corpus}: the corpus' largest post is skipped)")
    for what, seconds, note in rows:
        target = 250 if "largest" in what or "long" in what else 50
        results.add(what, ms(seconds), "ms", target, note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, help="data dir of a big cache (made if empty)")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="repeats of each timing")
    parser.add_argument("--steps", type=int, default=200, help="posts stepped with n")
    parser.add_argument("--pages", type=int, default=100, help="pages down the All list")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--only",
        action="append",
        choices=("start", "list", "reader", "memory"),
        help="run only these parts (repeatable)",
    )
    parser.add_argument(
        "--refresh-on-start",
        action="store_true",
        help="time the first frame with the refresh on start on (the cache's feeds are not due)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also time the first frame with the page cache emptied before each start (root)",
    )
    args = parser.parse_args()
    parts = set(args.only or ("start", "list", "reader", "memory"))
    temporary = args.cache is None
    data_dir = Path(tempfile.mkdtemp(prefix="tn-bench-cache-")) if temporary else args.cache
    try:
        if not database_path(data_dir).exists():
            print(f"making a cache of {args.articles} articles in {args.feeds} feeds in {data_dir}")
            make_cache(data_dir, args.articles, args.feeds)
        load = os.getloadavg()
        print(f"cache {data_dir}; {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f}")
        results = Results()
        if "start" in parts:
            bench_first_frame(data_dir, args.runs, results)
            if args.refresh_on_start:
                bench_first_frame(data_dir, args.runs, results, refresh_on_start=True)
            if args.cold:
                bench_first_frame(
                    data_dir, args.runs, results, refresh_on_start=args.refresh_on_start, cold=True
                )
        if "list" in parts:
            bench_list_and_search(data_dir, args.runs, results)
        if "reader" in parts:
            bench_reader(data_dir, args.corpus, min(args.steps, 50), args.runs, results)
        if "memory" in parts:
            bench_memory(data_dir, args.steps, args.pages, results)
        print()
        print(results.table())
        load = os.getloadavg()
        print(f"load at the end: {load[0]:.1f} {load[1]:.1f}")
    finally:
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
