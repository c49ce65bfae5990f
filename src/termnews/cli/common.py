"""What every subcommand shares: exit codes, the common options, opening the service.

Exit status: 0 success, 1 some work failed (a feed, a file), 2 usage or settings errors,
130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from termnews.config import Paths, Settings, load_settings, resolve_paths
from termnews.errors import TermnewsError
from termnews.model import Identity
from termnews.service import NewsService

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

Handler: TypeAlias = Callable[[argparse.Namespace], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(TermnewsError):
    """A subcommand's own refusal, with the exit status it means."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--config and --data-dir, on the top parser and on every subcommand."""
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


def command(
    sub: Subcommands,
    name: str,
    handler: Handler,
    *,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """One subcommand: its parser, with the common options, run by `handler`.

    Every subcommand is made here, so each gets the same options and is run the same way
    (main catches TermnewsError from any handler and turns it into a message and status).
    """
    parser = sub.add_parser(name, help=help, description=description or help)
    add_common(parser)
    parser.set_defaults(handler=handler)
    return parser


def paths_of(args: argparse.Namespace) -> Paths:
    return resolve_paths(args.config, args.data_dir)


def open_service(
    args: argparse.Namespace, *, restricted: bool = False
) -> tuple[NewsService, Paths]:
    paths = paths_of(args)
    settings = load_settings(paths.config_file)
    member = getattr(args, "as_member", None)
    identity = identity_for(settings, member)
    service = NewsService.open(
        paths, settings, identity=identity, restricted=restricted or bool(member)
    )
    return service, paths


def identity_for(settings: Settings, member: str | None) -> Identity:
    if member:
        return Identity(name=member, display_name=member)
    return Identity(
        name=login_name(), display_name=settings.name, email=settings.email, url=settings.url
    )


def login_name() -> str:
    """The local user's name: read state and board posts are kept under it."""
    try:
        return getpass.getuser() or "local"
    except (OSError, KeyError):
        return "local"


def run_app(args: argparse.Namespace, open_sample_site: Callable[[], int] | None = None) -> int:
    """The reader itself. ``open_sample_site`` is what the welcome screen's "Open the sample
    site" runs after the reader closes (the app never starts a server itself)."""
    try:
        from termnews.app import run_app as run_reader
    except ImportError as exc:  # pragma: no cover - the UI ships with the package
        raise CommandError(f"the reader UI could not be loaded: {exc}") from exc
    service, _ = open_service(args)
    try:
        return run_reader(service, open_sample_site=open_sample_site)
    finally:
        service.close()


WARM_UP_POSTS = (
    (
        "Reading the tide board",
        "<h2>Before you set out</h2><p>The board by the slipway gives the <em>next</em> high "
        "water, its height and <a href='http://127.0.0.1:9/tides'>the week ahead</a>.</p>"
        "<ul><li>Times are local.</li><li>Heights are in <strong>metres</strong>.</li></ul>"
        "<blockquote><p>Ask at the hut when in doubt.</p></blockquote>"
        "<pre><code>high = 5.1  # metres</code></pre>"
        "<table><tr><th>Tide</th><th>Time</th></tr><tr><td>High</td><td>10:31</td></tr></table>",
    ),
    ("The hut opens at nine", "<p>Keys are with the harbour master until then.</p>"),
)


def warm_up() -> None:
    """Run the reader once, headless, on a throwaway cache (the session zygote of
    `termnews serve` does, before it forks): to its feed list, into a post, on to the next
    and out. What each session would do first (parse the CSS into the process's shared
    rules, fill Textual's and Rich's caches, take the renderer's first steps) then sits in
    the zygote's memory, shared by the sessions. Best effort: whatever goes wrong leaves the
    process as it was, and it ends with no thread started."""
    import asyncio
    import tempfile
    import time
    import traceback

    from termnews.app import TermNewsApp
    from termnews.model import ParsedEntry, ParsedFeed

    async def first_screens(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("tab", "enter")  # the first post
        await pilot.pause()
        await pilot.press("n")  # and the next: out before the read-ahead's timer
        await pilot.pause()
        pilot.app.exit()

    with tempfile.TemporaryDirectory(prefix="termnews-zygote-") as scratch:
        base = Path(scratch)
        try:
            settings = Settings(refresh_on_start=False)
            service = NewsService.open(Paths(base / "config.toml", base / "data"), settings)
        except Exception:
            return
        try:
            feed = service.subscribe("http://127.0.0.1:9/feed.xml", title="Warm-up")
            now = time.time()
            entries = [
                ParsedEntry(f"warm-{n}", None, title, None, now - n, None, None, html)
                for n, (title, html) in enumerate(WARM_UP_POSTS)
            ]
            service.store.store_feed(
                feed.id,
                ParsedFeed("Warm-up", None, entries),
                etag=None,
                last_modified=None,
                body_hash="",
                next_fetch=now + 86400,
            )
            app = TermNewsApp(service)
            run = app.run_async(headless=True, size=(120, 40), auto_pilot=first_screens)
            asyncio.run(run)
        except Exception:
            traceback.print_exc(file=sys.stderr)
        finally:
            service.close()
