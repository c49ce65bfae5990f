"""CPU of the output layer itself: Textual's frames for n / p drawn onto the model and diffed.

    .venv/bin/python bench/layer.py [--columns 120 --rows 40] [--keys 20] [--repeat 5]

Runs the reader headless on the sample site (in this process), presses `n` and `p` in turn
through the Saltmarsh Quay Gazette feed and records every compositor update Textual hands
to `App._display`. Then it replays the recorded frames through the layer (`draw_update`
onto the model, `Screen.frame` for the bytes) `--repeat` times, 256 colours, and prints
the time per key of each part and the bytes per key. Not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from rich.color import ColorSystem  # noqa: E402

from termnews.terminal.cells import PenTable  # noqa: E402
from termnews.terminal.diff import Capabilities, Screen  # noqa: E402
from termnews.terminal.updates import can_draw, draw_update  # noqa: E402

FEED = "Saltmarsh Quay Gazette"


async def record(columns: int, rows: int, keys: int) -> list[list[Any]]:
    """The compositor updates of each key press, in order."""
    from termnews.app import TermNewsApp
    from termnews.demo import DemoSite
    from termnews.model import ArticleQuery
    from termnews.screens.reader import ReaderScreen
    from tests.support.news import subscribed_in_loop
    from tests.support.pilot import open_post, wait_until

    frames: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="tn-layer-") as home, DemoSite(flood_seconds=0) as site:
        service = await subscribed_in_loop(Path(home), site.feed_urls[0])
        first = service.article_ids(ArticleQuery())[0]
        app = TermNewsApp(service)
        original = app._display

        def display(screen: Any, update: Any) -> None:
            if update is not None and can_draw(update) and frames:
                frames[-1].append(update)
            original(screen, update)

        app._display = display  # type: ignore[method-assign]
        async with app.run_test(size=(columns, rows)) as pilot:
            await open_post(pilot, first)
            await pilot.pause(0.5)
            for number in range(keys):
                frames.append([])
                reader = app.screen
                assert isinstance(reader, ReaderScreen)
                before = reader.article.id if reader.article else None
                await pilot.press("n" if number % 4 < 2 else "p")
                await wait_until(pilot, lambda was=before: shown(app) != was)
                await pilot.pause(0.4)
        service.close()
    return frames


def shown(app: Any) -> int | None:
    article = getattr(app.screen, "article", None)
    return article.id if article is not None else None


def replay(frames: list[list[Any]], columns: int, rows: int) -> tuple[float, float, int]:
    """Seconds drawing, seconds diffing, bytes: all keys once, from a screen that shows the
    first frame."""
    pens = PenTable(ColorSystem.EIGHT_BIT)
    screen = Screen(columns, rows, Capabilities.for_term("xterm-256color"))
    drawing = diffing = 0.0
    sent = 0
    for updates in frames:
        for update in updates:
            started = time.perf_counter()
            draw_update(screen, update, pens)
            middle = time.perf_counter()
            sent += len(screen.frame((0, 0)).encode())
            drawing += middle - started
            diffing += time.perf_counter() - middle
    return drawing, diffing, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frames = asyncio.run(record(args.columns, args.rows, args.keys))
    keys = len(frames)
    draws, diffs = [], []
    sent = 0
    for _ in range(args.repeat):
        drawing, diffing, sent = replay(frames, args.columns, args.rows)
        draws.append(drawing * 1000 / keys)
        diffs.append(diffing * 1000 / keys)
    updates = sum(map(len, frames))
    size = f"{args.columns}x{args.rows}"
    print(f"{keys} keys (n, n, p, p, ...), {updates} compositor updates, {size}")
    print(
        f"per key: draw onto the model {statistics.median(draws):.2f} ms, "
        f"diff to bytes {statistics.median(diffs):.2f} ms "
        f"(median of {args.repeat} replays), {sent / keys:.0f} bytes"
    )
    # The fastest replay: what the code costs with the least interference from the machine.
    print(f"fastest replay: draw {min(draws):.2f} ms, diff {min(diffs):.2f} ms per key")


if __name__ == "__main__":
    main()
