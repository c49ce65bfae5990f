"""The core subcommands: add, remove, feeds, refresh, import, export, full-article, config."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from termnews.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Subcommands,
    command,
    open_service,
    paths_of,
)
from termnews.config import FULL_ARTICLE, default_config_text, load_settings
from termnews.model import Feed
from termnews.sanitize import clean_line
from termnews.service import FeedRefresh, NewsService, RefreshOutcome, RefreshReport

if TYPE_CHECKING:
    from termnews.feeds.discover import DiscoveredFeed  # discovery (httpx) loads on `add`


def register(sub: Subcommands) -> None:
    p = command(sub, "add", cmd_add, help="subscribe to a feed or a site (its feed is discovered)")
    p.add_argument("url", help="feed URL, or a site's page that advertises its feed")
    p.add_argument("--tag", "-t", action="append", default=[], help="tag (repeatable)")
    p.add_argument("--no-discover", action="store_true", help="add the URL exactly as given")
    p.add_argument("--all", action="store_true", help="subscribe to every feed the site advertises")

    p = command(
        sub, "remove", cmd_remove, help="unsubscribe from a feed (its articles are deleted)"
    )
    p.add_argument("feed", help="feed id, URL, or a unique part of its title or URL")

    p = command(sub, "feeds", cmd_feeds, help="list subscriptions with unread counts and errors")
    p.add_argument(
        "--format",
        choices=("table", "tsv", "json"),
        help="table (on a terminal), or whole fields one feed a line: tsv (when piped) or "
        "json; fields: " + ", ".join(FEED_FIELDS),
    )

    p = command(sub, "refresh", cmd_refresh, help="fetch feeds now (all, or those named)")
    p.add_argument(
        "--feed", "-f", action="append", default=[], help="feed id, URL or title part (repeatable)"
    )
    p.add_argument("--due", action="store_true", help="only feeds whose refresh interval is up")

    p = command(
        sub, "import", cmd_import, help="import subscriptions from OPML or a newsboat urls file"
    )
    p.add_argument("file", help="OPML 1/2 file or newsboat urls file ('-' for stdin)")

    p = command(sub, "export", cmd_export, help="write subscriptions as OPML 2")
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")

    p = command(
        sub,
        "full-article",
        cmd_full_article,
        help="when a feed's posts get their full article: open, refresh or never",
        description="Without arguments, list each feed's setting. With FEED and WHEN, write "
        '[full_article] "feed url" = WHEN into the settings file: "open" fetches a post\'s '
        'page when it opens, "refresh" fetches the pages of new posts at refresh (and on '
        'open those a refresh did not reach), "never" only with F in the reader.',
    )
    p.add_argument("feed", nargs="?", help="feed id, URL, or a unique part of its title or URL")
    p.add_argument("when", nargs="?", choices=FULL_ARTICLE, help="open, refresh or never")

    p = command(sub, "config", cmd_config, help="show where settings live, or print the defaults")
    p.add_argument(
        "--defaults", action="store_true", help="print a settings file with every default"
    )


def _refresh_line(result: FeedRefresh) -> str:
    title = clean_line(result.title, 60)
    if result.outcome is RefreshOutcome.NEW:
        return f"ok        {title}: {result.new} new, {result.updated} updated"
    if result.outcome is RefreshOutcome.UNCHANGED:
        return f"unchanged {title}"
    if result.outcome is RefreshOutcome.SKIPPED:
        return f"skipped   {title}: another termnews is refreshing it"
    if result.outcome is RefreshOutcome.REMOVED:
        return f"skipped   {title or result.feed_id}: unsubscribed meanwhile"
    return f"FAILED    {title}: {clean_line(result.error)}"


def cmd_refresh(args: argparse.Namespace) -> int:
    service, _ = open_service(args)
    try:
        ids: list[int] | None = None
        if args.feed:
            ids = []
            for ref in args.feed:
                feed = service.find_feed(ref)
                if feed is None:
                    raise CommandError(f"no single feed matches {ref!r}", EXIT_USAGE)
                ids.append(feed.id)
        if not service.has_feeds():
            print("No feeds yet: add one with `termnews add URL` or `termnews import FILE`.")
            return EXIT_OK
        if sys.stdout.isatty():
            report = asyncio.run(_refresh_with_progress(service, ids, args.due))
        else:

            def plain(result: FeedRefresh, done: int, total: int) -> None:
                print(f"[{done}/{total}] {_refresh_line(result)}", flush=True)

            report = asyncio.run(
                service.refresh(ids, due_only=args.due, progress=plain, index=False)
            )
        for delivery in report.deliveries:
            print(delivery.line)
        print(report.summary())
        return EXIT_FAILED if report.failed else EXIT_OK
    finally:
        service.close()


async def _refresh_with_progress(
    service: NewsService, ids: list[int] | None, due: bool
) -> RefreshReport:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=False)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("Refreshing", total=None)

        def update(result: FeedRefresh, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            if result.outcome in (RefreshOutcome.ERROR, RefreshOutcome.GONE):
                progress.console.print(_refresh_line(result), markup=False, highlight=False)

        return await service.refresh(ids, due_only=due, progress=update, index=False)


def main_feed(found: list[DiscoveredFeed]) -> DiscoveredFeed:
    """The site's posts feed: the first one advertised that is not a comments feed."""
    for feed in found:
        if "comment" not in f"{feed.url} {feed.title or ''}".lower():
            return feed
    return found[0]


def cmd_add(args: argparse.Namespace) -> int:
    service, _ = open_service(args)
    try:
        known = {feed.url: feed for feed in service.feeds()}
        chosen: list[tuple[str, str | None]]
        if args.no_discover:
            chosen = [(args.url.strip(), None)]
        else:
            found = asyncio.run(service.find_feeds(args.url))
            picked = found if args.all else [main_feed(found)]
            if len(found) > 1:
                print(f"{clean_line(args.url)} advertises {len(found)} feeds:")
                for offer in found:
                    mark = "*" if offer in picked else " "
                    print(f"  {mark} {clean_line(offer.title or '(untitled)')} <{offer.url}>")
                if not args.all:
                    print("Subscribing to the one marked *; `--all` subscribes to every one.")
            chosen = [(offer.url, offer.title) for offer in picked]
        added = []
        for url, title in chosen:
            before = known.get(url)
            if before is not None:
                if args.tag:
                    asyncio.run(service.add_feed(url, tags=args.tag, discover=False))
                print(
                    f"Already subscribed to {clean_line(before.display_title)} "
                    f"<{clean_line(before.url)}> (feed {before.id})"
                )
                continue
            if title is None:
                feed = asyncio.run(service.add_feed(url, tags=args.tag, discover=False))
            else:
                feed = service.subscribe(url, title=title, tags=args.tag)
            if feed.url in known:  # the same feed under the address it was normalised to
                print(f"Already subscribed to {clean_line(feed.display_title)} <{feed.url}>")
                continue
            print(f"Subscribed to {clean_line(feed.display_title)} <{clean_line(feed.url)}>")
            added.append(feed.id)
        if not added:
            return EXIT_OK
        report = asyncio.run(service.refresh(added))
        for result in report.results:
            print(_refresh_line(result))
        return EXIT_FAILED if report.failed else EXIT_OK
    finally:
        service.close()


def cmd_remove(args: argparse.Namespace) -> int:
    service, _ = open_service(args)
    try:
        feed = service.find_feed(args.feed)
        if feed is None:
            raise CommandError(f"no single feed matches {args.feed!r}", EXIT_USAGE)
        service.remove_feed(feed.id)
        print(f"Removed {clean_line(feed.display_title)} ({feed.total} articles)")
        return EXIT_OK
    finally:
        service.close()


def _ago(when: float | None) -> str:
    if not when:
        return "never"
    seconds = max(0, time.time() - when)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


FEED_FIELDS = ("id", "title", "url", "tags", "unread", "total", "last_fetch", "error")


def _iso(when: float | None) -> str | None:
    if not when:
        return None
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_record(feed: Feed) -> dict[str, object]:
    """One feed as whole fields, for scripts (`termnews feeds --format tsv|json`)."""
    return {
        "id": feed.id,
        "title": clean_line(feed.display_title),
        "url": clean_line(feed.url),
        "tags": [clean_line(tag) for tag in feed.tags],
        "unread": feed.unread,
        "total": feed.total,
        "last_fetch": _iso(feed.last_fetch),
        "error": clean_line(feed.error) or None,
    }


def _tsv_line(record: dict[str, object]) -> str:
    def field(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, list):
            return ",".join(str(item) for item in value)
        return str(value)

    return "\t".join(field(record[name]) for name in FEED_FIELDS)


def cmd_feeds(args: argparse.Namespace) -> int:
    service, _ = open_service(args)
    try:
        feeds = service.feeds()
    finally:
        service.close()
    output = args.format or ("table" if sys.stdout.isatty() else "tsv")
    if output == "table":
        if not feeds:
            print("No feeds yet: add one with `termnews add URL` or `termnews import FILE`.")
        else:
            _print_table(feeds)
    elif output == "json":
        for feed in feeds:
            print(json.dumps(feed_record(feed), ensure_ascii=False))
    else:
        for feed in feeds:
            print(_tsv_line(feed_record(feed)))
    return EXIT_OK


def _print_table(feeds: list[Feed]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "title", "url", "tags", "unread", "total", "last fetch", "error"):
        table.add_column(column, justify="right" if column in ("id", "unread", "total") else "left")
    for feed in feeds:
        table.add_row(
            str(feed.id),
            Text(clean_line(feed.display_title, 40)),
            Text(clean_line(feed.url, 60)),
            Text(clean_line(", ".join(feed.tags), 30)),
            str(feed.unread),
            str(feed.total),
            _ago(feed.last_fetch),
            Text(clean_line(feed.error, 60), style="red") if feed.error else Text(""),
        )
    Console().print(table)


def cmd_import(args: argparse.Namespace) -> int:
    from termnews.feeds.opml import ImportError_

    try:
        if args.file == "-":
            text, name = sys.stdin.read(), "standard input"
        else:
            text, name = Path(args.file).read_text(encoding="utf-8-sig"), args.file
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from exc
    service, _ = open_service(args)
    try:
        try:
            subs = service.import_subscriptions(text, name)
        except ImportError_ as exc:
            raise CommandError(str(exc)) from exc
        from termnews.feeds.opml import VIRTUAL_FEEDS

        tagged = sum(1 for s in subs if s.tags)
        print(f"Imported {len(subs)} feeds ({tagged} with tags) from {name}.")
        for line in subs.skipped:
            what = "a newsboat virtual feed" if line.startswith(VIRTUAL_FEEDS) else "not a feed URL"
            print(f"skipped   {clean_line(line, 80)} ({what})")
        print("Run `termnews refresh` to fetch them.")
        return EXIT_OK
    finally:
        service.close()


def cmd_export(args: argparse.Namespace) -> int:
    service, _ = open_service(args)
    try:
        text = service.export_opml()
    finally:
        service.close()
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {args.output}: {exc}") from exc
    else:
        sys.stdout.write(text + "\n")
    return EXIT_OK


def cmd_full_article(args: argparse.Namespace) -> int:
    from termnews.settings_file import set_entry

    service, paths = open_service(args)
    settings = service.settings
    try:
        if args.feed is None:
            for feed in service.feeds():
                mode = settings.full_article.get(feed.url, "never")
                print(f"{mode:8} {clean_line(feed.display_title, 60)}  {feed.url}")
            return EXIT_OK
        found = service.find_feed(args.feed)
        if found is None:
            raise CommandError(f"no single feed matches {clean_line(args.feed, 80)!r}", EXIT_USAGE)
        if args.when is None:
            print(settings.full_article.get(found.url, "never"))
            return EXIT_OK
        set_entry(paths.config_file, "full_article", found.url, args.when)
        load_settings(paths.config_file)  # the whole file still reads
    finally:
        service.close()
    print(f"{clean_line(found.display_title, 60)}: full article {args.when} ({paths.config_file})")
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    paths = paths_of(args)
    if args.defaults:
        sys.stdout.write(default_config_text())
        return EXIT_OK
    load_settings(paths.config_file)  # reports a broken file
    exists = "" if paths.config_file.exists() else " (not created yet: defaults apply)"
    print(f"settings: {paths.config_file}{exists}")
    print(f"data:     {paths.data_dir}")
    return EXIT_OK
