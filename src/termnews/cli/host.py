"""The host subcommands: `serve` and `members`.

The host itself (and asyncssh, ~90 ms of start-up) is imported inside the handlers only,
so every other command starts without it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from termnews.cli.common import EXIT_OK, EXIT_USAGE, CommandError, Subcommands, command, paths_of
from termnews.config import Paths, load_settings

if TYPE_CHECKING:
    from termnews.host.server import ServeOptions


def register(sub: Subcommands) -> None:
    p = command(
        sub,
        "serve",
        cmd_serve,
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
    limits = p.add_argument_group("limits")
    limits.add_argument(
        "--max-startups",
        type=int,
        default=30,
        metavar="N",
        help="unauthenticated connections at once, in all (default 30)",
    )
    limits.add_argument(
        "--per-source-startups",
        type=int,
        default=10,
        metavar="N",
        help="unauthenticated connections at once from one address (default 10)",
    )
    limits.add_argument(
        "--login-grace",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="time a connection has to authenticate (default 20)",
    )
    limits.add_argument(
        "--new-members-per-hour",
        type=int,
        default=3,
        metavar="N",
        help="with --open: new member names per source address per hour (default 3)",
    )

    p = command(sub, "members", _members_usage, help="manage who may log in to `termnews serve`")
    actions = p.add_subparsers(dest="members_command", metavar="ACTION")
    a = command(actions, "add", cmd_members_add, help="add a member with their public key")
    a.add_argument("name", help="member name: 1-32 of a-z, 0-9, _ and -")
    a.add_argument("keyfile", help="their OpenSSH public key file (.pub), or '-' for stdin")
    command(actions, "list", cmd_members_list, help="list members and their key fingerprints")
    a = command(
        actions, "remove", cmd_members_remove, help="remove a member (open sessions keep running)"
    )
    a.add_argument("name", help="member name")


def _members_usage(args: argparse.Namespace) -> int:
    raise CommandError("say `termnews members add`, `list` or `remove`", EXIT_USAGE)


def _data_dir(args: argparse.Namespace) -> Path:
    return paths_of(args).data_dir


def cmd_members_add(args: argparse.Namespace) -> int:
    from termnews.host.members import add_member, members_path, parse_public_key, validate_name

    validate_name(args.name)
    if args.keyfile == "-":
        text, source = sys.stdin.read(), "standard input"
    else:
        source = args.keyfile
        try:
            text = Path(args.keyfile).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {args.keyfile}: {exc}") from exc
    key = parse_public_key(text, source)
    try:
        member = add_member(members_path(_data_dir(args)), args.name, key)
    except OSError as exc:
        raise CommandError(f"cannot update the members file: {exc}") from exc
    print(f"Added {member.name} ({member.key_type} {member.fingerprint}).")
    return EXIT_OK


def cmd_members_list(args: argparse.Namespace) -> int:
    from termnews.host.members import members_path, read_members

    path = members_path(_data_dir(args))
    members, problems = read_members(path)
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
    from termnews.host.members import members_path, remove_member

    try:
        member = remove_member(members_path(_data_dir(args)), args.name)
    except OSError as exc:
        raise CommandError(f"cannot update the members file: {exc}") from exc
    print(f"Removed {member.name}. Sessions already open keep running until they end.")
    return EXIT_OK


def serve_options(args: argparse.Namespace) -> ServeOptions:
    """The server's options from the command line; CommandError (usage) when wrong."""
    from termnews.host.server import ServeOptions, parse_listen

    def usage(message: str) -> CommandError:
        return CommandError(message, EXIT_USAGE)

    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        raise usage(str(exc)) from exc
    counts = {
        "--max-sessions": args.max_sessions,
        "--max-per-member": args.max_per_member,
        "--max-startups": args.max_startups,
        "--per-source-startups": args.per_source_startups,
        "--new-members-per-hour": args.new_members_per_hour,
    }
    for option, value in counts.items():
        if value < 1:
            raise usage(f"{option} must be at least 1")
    if args.refresh_every < 0:
        raise usage("--refresh-every must not be negative")
    if args.login_grace <= 0:
        raise usage("--login-grace must be more than 0 seconds")
    extra: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise usage(f"--env wants NAME=VALUE, got {item!r}")
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
        max_startups=args.max_startups,
        per_source_startups=args.per_source_startups,
        login_grace=args.login_grace,
        new_members_per_hour=args.new_members_per_hour,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from termnews.host.server import run_server, setup_logging

    options = serve_options(args)
    resolved = paths_of(args)
    # Absolute: sessions run elsewhere and are told where both are.
    paths = Paths(resolved.config_file.absolute(), resolved.data_dir.absolute())
    load_settings(paths.config_file)  # a broken file is reported now, not per session
    try:
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(paths.data_dir)
        return asyncio.run(run_server(paths, options))
    except OSError as exc:
        raise CommandError(str(exc)) from exc
