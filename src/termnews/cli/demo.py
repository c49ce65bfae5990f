"""`termnews demo`: the reader on the bundled sample site, or the site alone."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from termnews.cli.common import (
    EXIT_OK,
    CommandError,
    Subcommands,
    command,
    open_service,
    paths_of,
    run_app,
)
from termnews.config import ConfigError, load_settings

if TYPE_CHECKING:
    from termnews.demo import DemoSite


def register(sub: Subcommands) -> None:
    p = command(
        sub, "demo", cmd_demo, help="open termnews on the bundled sample site (no network needed)"
    )
    p.add_argument(
        "--serve-only", action="store_true", help="only run the sample site, until Ctrl-C"
    )
    add_site_arguments(p)


def cmd_demo(args: argparse.Namespace) -> int:
    from termnews.demo import DemoSite, serve_forever
    from termnews.demo.server import _FAULT_OPTIONS as FAULT_OPTIONS
    from termnews.demo.server import outside_faults

    options = site_options(args)
    if args.serve_only:
        serve_forever(args.host, args.port, **options)
        return EXIT_OK
    faults = {k: options.pop(k) for k in FAULT_OPTIONS if k in options}
    outside = outside_faults(options)
    kept = args.data_dir is not None  # a data dir the user keeps between runs
    throwaway = None if kept else tempfile.mkdtemp(prefix="termnews-demo-")
    args.data_dir = args.data_dir or throwaway
    try:
        service, _ = open_service(args)
        try:
            # A kept data dir gets the same port again, so its subscriptions (and the
            # posts' ids, which carry the address) stay the same from one run to the next.
            last = service.get_preference("demo-port") if kept else None
            port = args.port or int(last or 0)
            try:
                site = DemoSite(args.host, port, **options).start()
            except OSError as exc:
                if not port or args.port:
                    raise CommandError(
                        f"the sample site cannot listen on {args.host}:{port}: "
                        f"{exc.strerror or exc}"
                    ) from exc
                site = DemoSite(args.host, 0, **options).start()  # last run's port is taken
            site.set_faults(**faults)
            site.discussions.set_faults(**outside)
            if kept:
                service.set_preference("demo-port", str(site.url.rsplit(":", 1)[1].strip("/")))
            for url in site.feed_urls:
                service.subscribe(url, tags=["sample site"])
            asyncio.run(service.refresh())
        finally:
            service.close()
        args.config = str(
            write_demo_settings(site, paths_of(args).config_file, Path(args.data_dir))
        )
        try:
            return run_app(args)
        finally:
            site.stop()
    finally:
        if throwaway is not None:
            shutil.rmtree(throwaway, ignore_errors=True)


# -- the demo's settings: yours, with [discussions] pointed at the sample site -----------

_HEADER = re.compile(r"^\s*\[\[?\s*\"?([^\]\".]+)")


def write_demo_settings(site: DemoSite, yours: Path, data_dir: Path) -> Path:
    """The settings file the demo's reader runs with, in its data dir (0600: it holds the
    stand-in Mastodon account's token). Your settings are kept except [wordpress] (your
    application passwords) and [discussions], which
    names the sample site's HN, Lobsters and Mastodon stand-ins and allows looking up its
    loopback posts there (private sites are otherwise never looked up)."""
    from termnews.demo.fediverse import DEMO_TOKEN

    origin = site.url.rstrip("/")
    section = "\n".join(
        [
            "[discussions]",
            f'hackernews = "{origin}/hn"',
            f'hackernews_site = "{origin}/hn"',
            f'lobsters = "{origin}/lobsters"',
            f'private_sites = ["{origin}"]',
            f'mastodon_instance = "{origin}"',
            f'mastodon_token = "{DEMO_TOKEN}"',
            "",
        ]
    )
    try:
        kept = _without_accounts(yours.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        kept = []
    target = data_dir / "demo-settings.toml"
    for text in ("\n".join(kept) + "\n\n" + section, section):
        target.unlink(missing_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            load_settings(target)
        except ConfigError:
            continue  # your file does something this line-based edit cannot keep
        break
    return target


def _without_accounts(text: str) -> list[str]:
    lines, skipping = [], False
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            # Your accounts never come along: the demo has its own, on loopback.
            skipping = header.group(1).strip() in ("discussions", "wordpress")
        if not skipping:
            lines.append(line)
    return lines


# -- the sample site's options (also `termnews demo --serve-only`) ----------------------


def _non_negative(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text}")
        return value

    return parse


def _status(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an HTTP status code: {text!r}") from None
    if not 100 <= value <= 599:
        raise argparse.ArgumentTypeError(f"not an HTTP status code: {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text}")
    return value


def _app_password(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `termnews demo --serve-only` (dest names match serve_forever's options)."""
    group = parser.add_argument_group("sample site")
    group.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    group.add_argument("--port", type=_port, default=0, help="port to listen on (0: any free)")
    group.add_argument(
        "--moderate",
        dest="moderate_new_authors",
        action="store_true",
        help="hold a new author's first comment for moderation",
    )
    group.add_argument(
        "--anonymous-rest",
        dest="allow_anonymous_rest",
        action="store_true",
        help="accept REST API comments without logging in",
    )
    group.add_argument(
        "--flood-seconds",
        type=_non_negative(float),
        default=15.0,
        metavar="S",
        help="refuse a second comment from one address within S seconds (0: never; 15)",
    )
    group.add_argument(
        "--state",
        dest="state_file",
        type=Path,
        metavar="FILE",
        help="keep posted comments in this JSON file",
    )
    group.add_argument(
        "--app-password",
        dest="app_passwords",
        type=_app_password,
        action="append",
        metavar="USER:PASSWORD",
        help="an application password for REST comments (repeatable)",
    )
    group.add_argument(
        "--latency",
        type=_non_negative(float),
        default=0.0,
        metavar="S",
        help="delay feeds and comment endpoints by S seconds",
    )
    group.add_argument(
        "--fail-next",
        type=_non_negative(int),
        default=0,
        metavar="N",
        help="answer the next N feed/comment requests with --fail-status",
    )
    group.add_argument(
        "--fail-status", type=_status, default=500, metavar="CODE", help="status for --fail-next"
    )
    group.add_argument(
        "--drop-next",
        type=_non_negative(int),
        default=0,
        metavar="N",
        help="close the connection of the next N feed/comment requests without answering",
    )
    group.add_argument(
        "--outside-fail-next",
        type=_non_negative(int),
        default=0,
        metavar="N",
        help="answer the next N requests to the HN, Lobsters and Mastodon stand-ins with "
        "--outside-fail-status",
    )
    group.add_argument(
        "--outside-fail-status",
        type=_status,
        default=429,
        metavar="CODE",
        help="status for --outside-fail-next (429)",
    )
    group.add_argument(
        "--outside-retry-after",
        metavar="SECONDS",
        help="the Retry-After header sent with those answers",
    )


def site_options(args: argparse.Namespace) -> dict[str, Any]:
    """serve_forever's keyword options from arguments parsed with add_site_arguments."""
    # The sample site loads only for the commands that run it, not for every start.
    from termnews.demo.server import _FAULT_OPTIONS as FAULT_OPTIONS
    from termnews.demo.server import _OUTSIDE_OPTIONS as OUTSIDE_OPTIONS
    from termnews.demo.server import _SITE_OPTIONS as SITE_OPTIONS

    names = (*SITE_OPTIONS, *FAULT_OPTIONS, *OUTSIDE_OPTIONS)
    options = {name: getattr(args, name) for name in names}
    options["app_passwords"] = dict(options["app_passwords"] or [])
    return options
