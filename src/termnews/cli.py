"""The `termnews` command: argument parsing, subcommands and exit codes.

Exit status: 0 success, 1 some work failed (a feed, a file), 2 usage or settings errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from termnews import __version__
from termnews.config import (
    ConfigError,
    Paths,
    Settings,
    default_config_text,
    load_settings,
    resolve_paths,
)
from termnews.errors import TermnewsError
from termnews.model import Identity
from termnews.sanitize import clean_line
from termnews.service import (
    FeedRefresh,
    NewsService,
    RefreshOutcome,
    RefreshReport,
    ServiceError,
)
from termnews.store import StoreError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandError(TermnewsError):
    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    # On subcommands the default is SUPPRESS, so `termnews --data-dir X feeds` keeps X.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="settings file (default: XDG config dir/config.toml)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="where the database lives (default: $TERMNEWS_DATA_DIR or the XDG data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="termnews",
        description="A keyboard-driven terminal reader for news sites and blogs.",
        epilog="Run without a command to open the reader. `termnews demo` tries it on a "
        "bundled sample site with no network.",
    )
    parser.add_argument("--version", action="version", version=f"termnews {__version__}")
    _common(parser, top=True)
    parser.add_argument(
        "--as",
        dest="as_member",
        metavar="NAME",
        help="run in restricted (hosted) mode as member NAME; for sshd forced commands",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("add", help="subscribe to a feed or a site (its feed is discovered)")
    p.add_argument("url", help="feed URL, or a site's page that advertises its feed")
    p.add_argument("--tag", "-t", action="append", default=[], help="tag (repeatable)")
    p.add_argument("--no-discover", action="store_true", help="add the URL exactly as given")
    _common(p)

    p = sub.add_parser("remove", help="unsubscribe from a feed (its articles are deleted)")
    p.add_argument("feed", help="feed id, URL, or a unique part of its title or URL")
    _common(p)

    p = sub.add_parser("feeds", help="list subscriptions with unread counts and errors")
    _common(p)

    p = sub.add_parser("refresh", help="fetch feeds now (all, or those named)")
    p.add_argument(
        "--feed", "-f", action="append", default=[], help="feed id, URL or title part (repeatable)"
    )
    p.add_argument("--due", action="store_true", help="only feeds whose refresh interval is up")
    _common(p)

    p = sub.add_parser("import", help="import subscriptions from OPML or a newsboat urls file")
    p.add_argument("file", help="OPML 1/2 file or newsboat urls file ('-' for stdin)")
    _common(p)

    p = sub.add_parser("export", help="write subscriptions as OPML 2")
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")
    _common(p)

    p = sub.add_parser("config", help="show where settings live, or print the defaults")
    p.add_argument(
        "--defaults", action="store_true", help="print a settings file with every default"
    )
    _common(p)

    p = sub.add_parser("demo", help="open termnews on the bundled sample site (no network needed)")
    p.add_argument(
        "--serve-only", action="store_true", help="only run the sample site, until Ctrl-C"
    )
    _demo_arguments(p)
    _common(p)

    _serve_arguments(sub)
    return parser


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    from termnews.demo import add_arguments

    add_arguments(parser)


def _serve_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from termnews.serve_cli import add_subcommands

    add_subcommands(sub, _common)


def _open(args: argparse.Namespace, *, restricted: bool = False) -> tuple[NewsService, Paths]:
    paths = resolve_paths(args.config, args.data_dir)
    settings = load_settings(paths.config_file)
    member = getattr(args, "as_member", None)
    identity = _identity(settings, member)
    service = NewsService.open(
        paths, settings, identity=identity, restricted=restricted or bool(member)
    )
    return service, paths


def _identity(settings: Settings, member: str | None) -> Identity:
    if member:
        return Identity(name=member, display_name=member)
    return Identity(
        name=_login_name(), display_name=settings.name, email=settings.email, url=settings.url
    )


def _login_name() -> str:
    """The local user's name: read state and board posts are kept under it."""
    import getpass

    try:
        return getpass.getuser() or "local"
    except (OSError, KeyError):
        return "local"


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
    service, _ = _open(args)
    try:
        ids: list[int] | None = None
        if args.feed:
            ids = []
            for ref in args.feed:
                feed = service.find_feed(ref)
                if feed is None:
                    raise CommandError(f"no single feed matches {ref!r}", EXIT_USAGE)
                ids.append(feed.id)
        if not service.feeds():
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


def cmd_add(args: argparse.Namespace) -> int:
    service, _ = _open(args)
    try:
        try:
            feed = asyncio.run(
                service.add_feed(args.url, tags=args.tag, discover=not args.no_discover)
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        print(f"Subscribed to {clean_line(feed.display_title)} <{clean_line(feed.url)}>")
        report = asyncio.run(service.refresh([feed.id]))
        for result in report.results:
            print(_refresh_line(result))
        return EXIT_FAILED if report.failed else EXIT_OK
    finally:
        service.close()


def cmd_remove(args: argparse.Namespace) -> int:
    service, _ = _open(args)
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


def cmd_feeds(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    service, _ = _open(args)
    try:
        feeds = service.feeds()
        if not feeds:
            print("No feeds yet: add one with `termnews add URL` or `termnews import FILE`.")
            return EXIT_OK
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("id", "title", "url", "unread", "total", "last fetch", "error"):
            table.add_column(
                column, justify="right" if column in ("id", "unread", "total") else "left"
            )
        for feed in feeds:
            table.add_row(
                str(feed.id),
                Text(clean_line(feed.display_title, 40)),
                Text(clean_line(feed.url, 60)),
                str(feed.unread),
                str(feed.total),
                _ago(feed.last_fetch),
                Text(clean_line(feed.error, 60), style="red") if feed.error else Text(""),
            )
        Console(soft_wrap=not sys.stdout.isatty()).print(table)
        return EXIT_OK
    finally:
        service.close()


def cmd_import(args: argparse.Namespace) -> int:
    from termnews.feeds.opml import ImportError_

    try:
        if args.file == "-":
            text, name = sys.stdin.read(), "standard input"
        else:
            text, name = Path(args.file).read_text(encoding="utf-8-sig"), args.file
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from exc
    service, _ = _open(args)
    try:
        try:
            subs = service.import_subscriptions(text, name)
        except ImportError_ as exc:
            raise CommandError(str(exc)) from exc
        tagged = sum(1 for s in subs if s.tags)
        print(f"Imported {len(subs)} feeds ({tagged} with tags) from {name}.")
        print("Run `termnews refresh` to fetch them.")
        return EXIT_OK
    finally:
        service.close()


def cmd_export(args: argparse.Namespace) -> int:
    service, _ = _open(args)
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


def cmd_config(args: argparse.Namespace) -> int:
    paths = resolve_paths(args.config, args.data_dir)
    if args.defaults:
        sys.stdout.write(default_config_text())
        return EXIT_OK
    load_settings(paths.config_file)  # reports a broken file
    exists = "" if paths.config_file.exists() else " (not created yet: defaults apply)"
    print(f"settings: {paths.config_file}{exists}")
    print(f"data:     {paths.data_dir}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from termnews.demo import DemoSite, options_from_args, serve_forever
    from termnews.demo.server import _FAULT_OPTIONS

    options = options_from_args(args)
    if args.serve_only:
        serve_forever(args.host, args.port, **options)
        return EXIT_OK
    faults = {k: options.pop(k) for k in _FAULT_OPTIONS if k in options}
    kept = args.data_dir is not None  # a data dir the user keeps between runs
    args.data_dir = args.data_dir or tempfile.mkdtemp(prefix="termnews-demo-")
    service, _ = _open(args)
    try:
        # A kept data dir gets the same port again, so its subscriptions (and the posts'
        # ids, which carry the address) stay the same from one run to the next.
        last = service.get_preference("demo-port") if kept else None
        port = args.port or int(last or 0)
        try:
            site = DemoSite(args.host, port, **options).start()
        except OSError as exc:
            if not port or args.port:
                raise CommandError(
                    f"the sample site cannot listen on {args.host}:{port}: {exc.strerror or exc}"
                ) from exc
            site = DemoSite(args.host, 0, **options).start()  # last run's port is taken
        site.set_faults(**faults)
        if kept:
            service.set_preference("demo-port", str(site.url.rsplit(":", 1)[1].strip("/")))
        for url in site.feed_urls:
            service.subscribe(url, tags=["sample site"])
        asyncio.run(service.refresh())
    finally:
        service.close()
    try:
        return _run_app(args)
    finally:
        site.stop()


def _run_app(args: argparse.Namespace) -> int:
    try:
        from termnews.app import run_app
    except ImportError as exc:  # pragma: no cover - the UI ships with the package
        raise CommandError(f"the reader UI could not be loaded: {exc}") from exc
    service, paths = _open(args)
    try:
        return run_app(service, paths)
    finally:
        service.close()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "add": cmd_add,
    "remove": cmd_remove,
    "feeds": cmd_feeds,
    "refresh": cmd_refresh,
    "import": cmd_import,
    "export": cmd_export,
    "config": cmd_config,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        handler: Callable[[argparse.Namespace], int] = _run_app
    elif args.command in COMMANDS:
        handler = COMMANDS[args.command]
    else:
        handler = args.handler
    if args.as_member and args.command not in (None,):
        print("termnews: error: --as only opens the reader", file=sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except CommandError as exc:
        print(f"termnews: error: {exc}", file=sys.stderr)
        return exc.status
    except ConfigError as exc:
        print(f"termnews: settings error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ServiceError, StoreError) as exc:
        print(f"termnews: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("termnews: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("TERMNEWS_DEBUG"):
            raise
        print(
            f"termnews: unexpected error: {type(exc).__name__}: {clean_line(str(exc))}\n"
            "Set TERMNEWS_DEBUG=1 to see the details, and please report it.",
            file=sys.stderr,
        )
        return EXIT_FAILED
