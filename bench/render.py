"""Benchmark: article rendering (termnews.render) over the shared feed corpus.

Prints, at width 100: entries rendered, median / p99 / max ms per entry, the largest entry's
ms, and the ms for a generated 70k-word post (and for loading its kept render, what another
session on the data dir pays instead: the file, then its first screenful of lines, then
every line). Not run by CI.

    .venv/bin/python bench/render.py [--width 100] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import feedparser

from termnews.render import html_to_blocks, layout, render_html

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("TERMNEWS_CORPUS", REPO / ".." / "shared" / "corpus"))

_WORDS = [
    "river",
    "lantern",
    "quiet",
    "harbour",
    "signal",
    "copper",
    "meadow",
    "orbit",
    "thistle",
    "ledger",
    "parcel",
    "window",
    "cinder",
    "marble",
    "voyage",
    "hollow",
    "saddle",
    "beacon",
    "pepper",
    "canyon",
    "violet",
    "summit",
    "anchor",
    "mosaic",
    "tundra",
    "falcon",
    "rumour",
    "ribbon",
    "garnet",
    "pilgrim",
    "quarry",
    "lattice",
]


def corpus_bodies(corpus: Path) -> list[tuple[str, str, str | None]]:
    """(feed file name, body HTML, entry link) for every entry of every corpus feed."""
    bodies = []
    for path in sorted((corpus / "feeds").iterdir()):
        parsed = feedparser.parse(
            path.read_bytes(), sanitize_html=False, resolve_relative_uris=False
        )
        for entry in parsed.entries:
            content = entry.get("content") or []
            body = (content[0].get("value") if content else None) or entry.get("summary") or ""
            bodies.append((path.name, body, entry.get("link")))
    return bodies


def generated_post(words: int, seed: int = 7) -> str:
    """A long article of our own words: paragraphs with some inline markup and links."""
    rng = random.Random(seed)
    parts = ["<h1>A very long post</h1>"]
    written = 0
    n = 0
    while written < words:
        size = rng.randint(40, 160)
        chosen = [rng.choice(_WORDS) for _ in range(size)]
        # typographic punctuation, as real posts have (and as the fast wrap path must handle)
        chosen[rng.randrange(size)] = "\u201cquoted\u201d \u2014 it\u2019s"
        chosen[rng.randrange(size)] = "<b>" + chosen[rng.randrange(size)] + "</b>"
        link = rng.randrange(size)
        chosen[link] = f'<a href="/page/{n % 50}">{chosen[link]}</a>'
        parts.append("<p>" + " ".join(chosen) + "</p>")
        if n % 25 == 24:
            parts.append(f"<h2>Part {n // 25 + 1}</h2>")
        written += size
        n += 1
    return "\n".join(parts)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    width = args.width

    if (args.corpus / "feeds").is_dir():
        bodies = corpus_bodies(args.corpus)
        times: list[float] = []
        largest = max(bodies, key=lambda item: len(item[1]))
        for _name, body, link in bodies:
            start = time.perf_counter()
            render_html(body, width, link)
            times.append(time.perf_counter() - start)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"corpus entries rendered: {len(times)} at width {width}")
        print(
            f"per entry: median {ms(statistics.median(times)):.2f} ms, p99 {ms(p99):.2f} ms,"
            f" max {ms(times[-1]):.1f} ms, total {ms(sum(times)):.0f} ms"
        )
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            doc = render_html(largest[1], width, largest[2])
            runs.append(time.perf_counter() - start)
        print(
            f"largest entry ({largest[0]}, {len(largest[1]):,} chars, {len(doc.lines):,} lines):"
            f" {ms(min(runs)):.1f} ms (best of 3)"
        )
        blocks = html_to_blocks(largest[1], largest[2])
        start = time.perf_counter()
        layout(blocks, width)
        print(f"  of which layout alone: {ms(time.perf_counter() - start):.1f} ms")
    else:
        print(f"corpus not found at {args.corpus} (set TERMNEWS_CORPUS); skipping corpus part")

    post = generated_post(70_000)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        doc = render_html(post, width, "https://example.org/long")
        runs.append(time.perf_counter() - start)
    blocks = html_to_blocks(post, "https://example.org/long")
    start = time.perf_counter()
    layout(blocks, width)
    layout_ms = ms(time.perf_counter() - start)
    print(
        f"generated 70k-word post ({len(post):,} chars, {len(doc.lines):,} lines): "
        f"{ms(min(runs)):.1f} ms (best of 3); layout alone {layout_ms:.1f} ms"
    )
    # what another session (or the next start) pays instead: loading the kept render
    from termnews.render_cache import decode, encode

    kept = encode(doc)
    loads, screens, wholes = [], [], []
    for _ in range(3):
        start = time.perf_counter()
        loaded = decode(kept or b"")
        loads.append(time.perf_counter() - start)
        lines = loaded.lines if loaded else []
        [lines[index] for index in range(min(40, len(lines)))]  # the reader's first screen
        screens.append(time.perf_counter() - start)
        list(lines)  # every line made into a Text (as saving or piping the post does)
        wholes.append(time.perf_counter() - start)
    print(
        f"  its kept render ({len(kept or b''):,} bytes) loads in {ms(min(loads)):.1f} ms,"
        f" with its first 40 lines {ms(min(screens)):.1f} ms, with all of them"
        f" {ms(min(wholes)):.1f} ms (best of 3)"
    )
    # wide characters take the slower, cell-aware wrap path: measure it too
    rng = random.Random(3)
    han = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 400))
    cjk = "".join(
        "<p>" + "".join(rng.choice(han) for _ in range(300)) + "，🎉 ok。</p>" for _ in range(700)
    )
    cjk_blocks = html_to_blocks(cjk)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        doc = layout(cjk_blocks, width)
        runs.append(time.perf_counter() - start)
    print(
        f"generated CJK post ({len(cjk):,} chars, {len(doc.lines):,} lines): "
        f"layout {ms(min(runs)):.1f} ms (best of 3)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
