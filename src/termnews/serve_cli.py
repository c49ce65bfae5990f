"""The `serve` and `members` subcommands: argument parsing and handlers.

Kept apart from serve.py so that every other command starts without importing the
SSH stack (asyncssh costs ~90 ms of start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from termnews.config import ConfigError, Paths, load_settings, resolve_paths

if TYPE_CHECKING:
    from termnews.serve import ServeOptions

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_subcommands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser(
        "serve",
        help="let members ssh in and land in termnews (a community host)",
        description="Run the SSH front door of a termnews host. Members (see "
        "`termnews members`) log in with their key and get their own termnews session.",
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:2222",
        metavar="HOST:PORT",
        help="address to listen on (default: 127.0.0.1:2222)",
    )
    p.add_argument(
        "--open",
        dest="open_mode",
        action="store_true",
        help="let unknown keys log in and pick a free member name on first login",
    )
    p.add_argument(
        "--max-sessions", type=int, default=50, metavar="N", help="sessions at once (default 50)"
    )
    p.add_argument(
        "--max-per-member",
        type=int,
        default=3,
        metavar="N",
        help="sessions at once per member (default 3)",
    )
    p.add_argument(
        "--refresh-every",
        type=float,
        default=1.0,
        metavar="MINUTES",
        help="check for due feeds this often (default 1; 0 turns scheduled refresh off)",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable in every session's environment (repeatable)",
    )
    p.add_argument(
        "--no-zygote",
        action="store_true",
        help="start every session as a new Python process instead of forking it from a "
        "pre-imported one (slower start-up, more memory)",
    )
    common(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("members", help="manage who may log in to `termnews serve`")
    actions = p.add_subparsers(dest="members_command", metavar="ACTION")
    a = actions.add_parser("add", help="add a member with their public key")
    a.add_argument("name", help="member name: 1-32 of a-z, 0-9, _ and -")
    a.add_argument("keyfile", help="their OpenSSH public key file (.pub), or '-' for stdin")
    common(a)
    a.set_defaults(handler=cmd_members_add)
    a = actions.add_parser("list", help="list members and their key fingerprints")
    common(a)
    a.set_defaults(handler=cmd_members_list)
    a = actions.add_parser("remove", help="remove a member (open sessions keep running)")
    a.add_argument("name", help="member name")
    common(a)
    a.set_defaults(handler=cmd_members_remove)
    p.set_defaults(handler=_members_usage(p))


def _members_usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        print("termnews members: error: say add, list or remove", file=sys.stderr)
        return EXIT_USAGE

    return handler


def _error(message: str, status: int = EXIT_FAILED) -> int:
    print(f"termnews: error: {message}", file=sys.stderr)
    return status


def _data_dir(args: argparse.Namespace) -> Path:
    return resolve_paths(args.config, args.data_dir).data_dir


def cmd_members_add(args: argparse.Namespace) -> int:
    from termnews.members import (
        MemberError,
        add_member,
        members_path,
        parse_public_key,
        validate_name,
    )

    try:
        validate_name(args.name)
        if args.keyfile == "-":
            text, source = sys.stdin.read(), "standard input"
        else:
            source = args.keyfile
            try:
                text = Path(args.keyfile).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                return _error(f"cannot read {args.keyfile}: {exc}")
        key = parse_public_key(text, source)
        member = add_member(members_path(_data_dir(args)), args.name, key)
    except MemberError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot update the members file: {exc}")
    print(f"Added {member.name} ({member.key_type} {member.fingerprint}).")
    return EXIT_OK


def cmd_members_list(args: argparse.Namespace) -> int:
    from termnews.members import MemberError, members_path, read_members

    path = members_path(_data_dir(args))
    try:
        members, problems = read_members(path)
    except MemberError as exc:
        return _error(str(exc))
    for problem in problems:
        print(f"termnews: warning: {problem}", file=sys.stderr)
    if not members:
        print(f"No members yet ({path}). Add one with `termnews members add NAME KEYFILE`.")
        return EXIT_OK
    width = max(len(member.name) for member in members)
    for member in members:
        comment = f"  {member.comment}" if member.comment else ""
        print(f"{member.name:<{width}}  {member.key_type}  {member.fingerprint}{comment}")
    return EXIT_OK


def cmd_members_remove(args: argparse.Namespace) -> int:
    from termnews.members import MemberError, members_path, remove_member

    try:
        member = remove_member(members_path(_data_dir(args)), args.name)
    except MemberError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot update the members file: {exc}")
    print(f"Removed {member.name}. Sessions already open keep running until they end.")
    return EXIT_OK


def _serve_options(args: argparse.Namespace) -> ServeOptions:
    from termnews.serve import ServeOptions, parse_listen

    host, port = parse_listen(args.listen)
    if args.max_sessions < 1 or args.max_per_member < 1:
        raise ValueError("--max-sessions and --max-per-member must be at least 1")
    if args.refresh_every < 0:
        raise ValueError("--refresh-every must not be negative")
    extra: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"--env wants NAME=VALUE, got {item!r}")
        extra[name] = value
    return ServeOptions(
        host=host,
        port=port,
        open_mode=args.open_mode,
        max_sessions=args.max_sessions,
        max_per_member=args.max_per_member,
        refresh_minutes=args.refresh_every,
        extra_env=extra,
        zygote=not args.no_zygote,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from termnews.members import MemberError
    from termnews.serve import ServeError, run_server, setup_logging

    try:
        options = _serve_options(args)
    except ValueError as exc:
        return _error(str(exc), EXIT_USAGE)
    resolved = resolve_paths(args.config, args.data_dir)
    # Absolute, because each child runs in the data dir and is told where both are.
    paths = Paths(resolved.config_file.absolute(), resolved.data_dir.absolute())
    try:
        load_settings(paths.config_file)  # a broken file is reported now, not per session
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(paths.data_dir)
        return asyncio.run(run_server(paths, options))
    except ConfigError as exc:
        return _error(f"settings: {exc}", EXIT_USAGE)
    except (ServeError, MemberError) as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{exc}")
    except KeyboardInterrupt:
        return 130
