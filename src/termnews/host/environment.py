"""What a served session is given: its environment, its command line, its directory.

The client's environment is cut down to a short whitelist before it reaches the session;
the rest comes from the server's own environment and the operator's `--env` options.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from termnews.config import Paths

# The only variables a client may pass to its session, with the values they may take.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._@+:=-]{1,64}")
_LC_NAME = re.compile(r"LC_[A-Z]{1,20}")
CLIENT_ENV_NAMES = frozenset({"TERM", "LANG", "COLORTERM", "NO_COLOR"})
# Taken from the server's own environment, when set (the operator's choice).
SERVER_ENV_NAMES = ("PATH", "HOME", "PYTHONPATH", "TZ")
# Tells the session it is served, hence remote: the filter drops SSH_CONNECTION and
# SSH_TTY, which is how a plain `ssh host termnews` session knows it (see remote.over_ssh).
SERVED_VARIABLE = "TERMNEWS_SERVED"
# Sessions run here, not in the data dir: nothing in a session may depend on its
# working directory, and a relative path must never land among the host's files.
SESSION_CWD = Path("/")


def filter_client_env(env: Mapping[str, str]) -> dict[str, str]:
    """The client's variables that may reach the child: TERM, LANG, LC_*, COLORTERM,
    NO_COLOR, each with a plain short value. Everything else is dropped."""
    kept: dict[str, str] = {}
    for name, value in env.items():
        if name not in CLIENT_ENV_NAMES and not _LC_NAME.fullmatch(name):
            continue
        if name == "NO_COLOR":
            kept[name] = "1"  # its presence is the whole meaning
        elif _SAFE_VALUE.fullmatch(value):
            kept[name] = value
    return kept


def child_environment(
    client_env: Mapping[str, str], term_type: str | None, extra: Mapping[str, str]
) -> dict[str, str]:
    env = {name: os.environ[name] for name in SERVER_ENV_NAMES if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(filter_client_env(client_env))
    if term_type and _SAFE_VALUE.fullmatch(term_type):
        env["TERM"] = term_type
    env.setdefault("TERM", "xterm-256color")
    if "LANG" not in env and "LC_ALL" not in env:
        env["LANG"] = "C.UTF-8"
    env.update(extra)
    env[SERVED_VARIABLE] = "1"
    env["TERMNEWS_NO_AUTO_REFRESH"] = "1"
    return env


def child_argv(paths: Paths, member: str, *, config_exists: bool | None = None) -> list[str]:
    """`python -m termnews ... --as MEMBER`. Without a settings file the session reads an
    empty one (the defaults) rather than telling members about the host's missing file."""
    if config_exists is None:
        config_exists = paths.config_file.exists()
    return [
        sys.executable,
        "-m",
        "termnews",
        "--data-dir",
        str(paths.data_dir),
        "--config",
        str(paths.config_file) if config_exists else os.devnull,
        "--as",
        member,
    ]
