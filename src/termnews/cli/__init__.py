"""The `termnews` command: one parser, one pattern for every subcommand, exit codes.

Every subcommand is registered by its module (`core`, `host`, `demo`) through
`common.command`, which gives it the common options and a handler; `main` runs the
handler and turns any `TermnewsError` into a one-line message and an exit status
(`common.EXIT_*`, defined nowhere else). The CLI imports the core; it imports the host,
the demo site and the UI lazily, inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence

from termnews import __version__
from termnews.cli import core, demo, host
from termnews.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Handler,
    add_common,
    run_app,
)
from termnews.config import ConfigError
from termnews.errors import TermnewsError
from termnews.sanitize import clean_line

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """Built once per process (parsing leaves a parser as it was): a session that `termnews
    serve` forks finds it made by the zygote, not 4 ms of argparse at every login."""
    parser = argparse.ArgumentParser(
        prog="termnews",
        description="A keyboard-driven terminal reader for news sites and blogs.",
        epilog="Run without a command to open the reader. `termnews demo` tries it on a "
        "bundled sample site with no network.",
    )
    parser.add_argument("--version", action="version", version=f"termnews {__version__}")
    add_common(parser, top=True)
    parser.add_argument(
        "--as",
        dest="as_member",
        metavar="NAME",
        help="run in restricted (hosted) mode as member NAME; for sshd forced commands",
    )
    parser.set_defaults(handler=_reader)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (core, demo, host):
        module.register(sub)
    return parser


def _reader(args: argparse.Namespace) -> int:
    """No subcommand: the reader, whose welcome screen may ask for the sample site (run as
    `termnews demo` does, in a throwaway data dir, never in the user's own)."""

    def sample_site() -> int:
        demo_args = build_parser().parse_args(["demo"])
        demo_args.config, demo_args.data_dir = args.config, None
        return demo.cmd_demo(demo_args)

    return run_app(args, open_sample_site=sample_site)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.as_member and args.command is not None:
        print("termnews: error: --as only opens the reader", file=sys.stderr)
        return EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args)
    except CommandError as exc:
        print(f"termnews: error: {exc}", file=sys.stderr)
        return exc.status
    except ConfigError as exc:
        print(f"termnews: settings error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TermnewsError as exc:
        print(f"termnews: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("termnews: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
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
