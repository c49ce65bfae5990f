"""Generate a big termnews cache (default: 100k articles in 200 feeds) for the benchmarks.

    .venv/bin/python bench/make_cache.py --articles 100000 --feeds 200 DIR

DIR becomes a termnews data dir (`termnews --data-dir DIR` opens it). Articles are written
through `termnews.store.Store.store_feed` (one transaction per feed), then the search index
is built, so the database is what a refresh and the app would have left. Titles and bodies
are generated from word lists (1-5 KB of HTML each: paragraphs, links, the odd list,
heading, quote and code block), dates are spread over three years, and a few posts are
long (20k-60k words).
Feeds are scheduled far in the future, so an app opened on the cache does not refetch.

Deterministic for a given --seed. Not run by CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from termnews.config import database_path
from termnews.model import CommentMeta, ParsedEntry, ParsedFeed
from termnews.store import Store

NOW = 1_760_000_000.0  # a fixed "now", so two runs with one seed give the same database
SPAN = 3 * 365 * 86400.0
LONG_WORDS = (20_000, 40_000, 60_000)  # the long posts, in words

SUBJECTS = (
    "harbour",
    "orchard",
    "compiler",
    "ferry",
    "library",
    "garden",
    "telescope",
    "bakery",
    "railway",
    "kernel",
    "choir",
    "market",
    "lighthouse",
    "database",
    "allotment",
    "bridge",
    "museum",
    "sailboat",
    "bicycle",
    "river",
    "workshop",
    "printer",
    "keyboard",
    "terminal",
    "weather station",
    "beehive",
    "tide gauge",
    "canal",
    "windmill",
    "observatory",
)
ADJECTIVES = (
    "quiet",
    "new",
    "old",
    "slow",
    "curious",
    "small",
    "forgotten",
    "rebuilt",
    "borrowed",
    "cheaper",
    "faster",
    "winter",
    "summer",
    "shared",
    "local",
    "odd",
    "second-hand",
    "patient",
)
VERBS = (
    "fixing",
    "measuring",
    "moving",
    "saving",
    "mapping",
    "rebuilding",
    "testing",
    "painting",
    "counting",
    "cleaning",
    "tuning",
    "watching",
    "porting",
    "sorting",
    "teaching",
)
PATTERNS = (
    "Notes on {verb} the {adj} {subject}",
    "What we learned {verb} a {subject}",
    "The {adj} {subject}, one year on",
    "Why the {subject} needs {verb}",
    "{Verb} the {subject}: a short guide",
    "A {adj} look at the {subject}",
    "Ask the editor: {verb} a {adj} {subject}",
    "Letters: the {subject} and its neighbours",
    "{Adj} {subject} weekly, issue {n}",
    "Release {n}.{m}: {verb} the {subject}",
    "How to start {verb} a {subject} this weekend",
    "The case against the {adj} {subject}",
)
_WORD_TEXT = (
    "the a of and to in is was for on with as by at from that this it be are were has had "
    "harbour wall tide ferry quay boat rope net gull stone sea swell pier channel anchor "
    "garden bed seed soil frost spade compost leaf root rain sun shed hedge path gate "
    "code test build merge branch patch review release bug cache queue thread socket "
    "morning evening winter spring council meeting vote plan cost budget report letter "
    "small large quiet busy careful slow early late first last every other whole "
    "walked counted measured mended painted carried found lost kept opened closed wrote "
    "because although while after before until since unless whether however perhaps"
)
WORDS = _WORD_TEXT.split()
FEED_NAMES = (
    "Gazette",
    "Ledger",
    "Notebook",
    "Dispatch",
    "Journal",
    "Almanac",
    "Log",
    "Quarterly",
    "Bulletin",
    "Field Notes",
)


def title_for(rng: random.Random) -> str:
    pattern = rng.choice(PATTERNS)
    adj, verb = rng.choice(ADJECTIVES), rng.choice(VERBS)
    return pattern.format(
        subject=rng.choice(SUBJECTS),
        adj=adj,
        Adj=adj.capitalize(),
        verb=verb,
        Verb=verb.capitalize(),
        n=rng.randint(1, 300),
        m=rng.randint(0, 20),
    )


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choices(WORDS, k=words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, target_bytes: int) -> str:
    parts: list[str] = []
    size = 0
    while size < target_bytes:
        s = sentence(rng, rng.randint(6, 22))
        if rng.random() < 0.08:
            n = rng.randint(1, 9999)
            s = f'{s[:-1]} (<a href="https://example.org/notes/{n}">note {n}</a>).'
        elif rng.random() < 0.05:
            s = f"{s[:-1]}, <em>{rng.choice(WORDS)}</em> and <strong>{rng.choice(WORDS)}</strong>."
        parts.append(s)
        size += len(s) + 1
    return "<p>" + " ".join(parts) + "</p>"


def body_for(rng: random.Random, target_bytes: int) -> str:
    """HTML of about `target_bytes`: mostly paragraphs, sometimes a list, heading, quote, code."""
    blocks: list[str] = []
    size = 0
    while size < target_bytes:
        roll = rng.random()
        if roll < 0.08:
            items = "".join(f"<li>{sentence(rng, rng.randint(3, 9))}</li>" for _ in range(4))
            block = f"<ul>{items}</ul>"
        elif roll < 0.13:
            block = f"<h2>{title_for(rng)}</h2>"
        elif roll < 0.17:
            block = f"<blockquote><p>{sentence(rng, rng.randint(10, 25))}</p></blockquote>"
        elif roll < 0.20:
            lines = "\n".join(f"step_{i} = measure({i}, {rng.randint(0, 99)})" for i in range(5))
            block = f"<pre><code>{lines}</code></pre>"
        else:
            block = paragraph(rng, rng.randint(250, 700))
        blocks.append(block)
        size += len(block)
    return "\n".join(blocks)


def long_body(rng: random.Random, words: int) -> str:
    blocks: list[str] = []
    count = 0
    section = 0
    while count < words:
        if count // 2000 >= section:
            section += 1
            blocks.append(f"<h2>Part {section}: {title_for(rng)}</h2>")
        n = rng.randint(60, 160)
        sentences = []
        left = n
        while left > 0:
            k = min(left, rng.randint(6, 20))
            sentences.append(sentence(rng, k))
            left -= k
        blocks.append("<p>" + " ".join(sentences) + "</p>")
        count += n
    return "\n".join(blocks)


def make_feed(
    rng: random.Random, feed_no: int, count: int, long_posts: dict[int, int]
) -> ParsedFeed:
    name = f"The {rng.choice(ADJECTIVES).capitalize()} {rng.choice(SUBJECTS).title()}"
    site = f"https://site{feed_no}.example/"
    entries: list[ParsedEntry] = []
    for i in range(count):
        published = NOW - rng.random() * SPAN
        words = long_posts.get(i)
        if words:
            title = f"The complete {rng.choice(SUBJECTS)} archive ({words // 1000}k words)"
            content = long_body(rng, words)
        else:
            title = title_for(rng)
            content = body_for(rng, rng.randint(1000, 5000))
        link = f"{site}{time.strftime('%Y/%m', time.gmtime(published))}/post-{i}/"
        entries.append(
            ParsedEntry(
                guid=f"{site}?p={i}",
                link=link,
                title=title,
                author=f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(SUBJECTS).title()}",
                published=published,
                updated=None,
                summary=None,
                content=content,
                comments=CommentMeta(
                    page_url=link + "#comments",
                    count=rng.randint(0, 40) if rng.random() < 0.4 else None,
                ),
            )
        )
    return ParsedFeed(
        title=f"{name} {rng.choice(FEED_NAMES)}", site_url=site, entries=entries, format="rss20"
    )


def make_cache(
    data_dir: Path,
    articles: int = 100_000,
    feeds: int = 200,
    *,
    seed: int = 1,
    long_posts: int = len(LONG_WORDS),
    progress: bool = True,
) -> Path:
    """Fill `data_dir` with a fresh cache; returns the database path."""
    db_path = database_path(data_dir)
    if db_path.exists():
        raise FileExistsError(f"{db_path} exists already; pick an empty directory")
    rng = random.Random(seed)
    store = Store(db_path)
    started = time.perf_counter()
    try:
        per_feed, extra = divmod(articles, feeds)
        for feed_no in range(feeds):
            count = per_feed + (1 if feed_no < extra else 0)
            longs = {0: LONG_WORDS[feed_no]} if feed_no < long_posts and count else {}
            parsed = make_feed(rng, feed_no, count, longs)
            feed = store.add_feed(f"https://site{feed_no}.example/feed/", title=parsed.title)
            store.store_feed(
                feed.id,
                parsed,
                etag=None,
                last_modified=None,
                body_hash=f"generated-{seed}-{feed_no}",
                next_fetch=NOW + 100 * 365 * 86400.0,  # never due: the cache stays as made
            )
            if progress and (feed_no + 1) % 10 == 0:
                elapsed = time.perf_counter() - started
                print(f"  {feed_no + 1}/{feeds} feeds, {elapsed:.0f} s", file=sys.stderr)
        indexed = store.index_pending()  # as the app does after a refresh
        if progress:
            print(f"  indexed {indexed} articles for search", file=sys.stderr)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return db_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, metavar="DIR", help="the data dir to create")
    parser.add_argument("--articles", type=int, default=100_000, help="articles in all")
    parser.add_argument("--feeds", type=int, default=200, help="number of feeds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--long-posts", type=int, default=len(LONG_WORDS), help="how many long posts (0-3)"
    )
    args = parser.parse_args()
    if args.articles < 0 or args.feeds < 1:
        parser.error("--articles must be >= 0 and --feeds >= 1")
    started = time.perf_counter()
    try:
        db = make_cache(
            args.data_dir,
            args.articles,
            args.feeds,
            seed=args.seed,
            long_posts=max(0, min(args.long_posts, len(LONG_WORDS))),
        )
    except FileExistsError as exc:
        print(f"make_cache: {exc}", file=sys.stderr)
        return 2
    size = db.stat().st_size / 1e6
    print(
        f"{args.articles} articles in {args.feeds} feeds -> {db} "
        f"({size:.0f} MB) in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
