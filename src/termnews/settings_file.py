"""Changing one entry of the settings file from the command line, keeping the rest as the
user wrote it (comments, order, layout).

Only entries of the free-form tables (`[full_article]` "feed url" = "refresh") are written:
the entry's line is replaced in place, or added at the end of its table (the table at the
end of the file when there is none). The new text must read back with the new value
before it replaces the old file (atomically, with the old file's permissions).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

from termnews.config import ConfigError

_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's too)."""
    return json.dumps(value, ensure_ascii=False)


def _entry_key(line: str) -> str | None:
    """The key a `key = value` line sets, or None."""
    if "=" not in line or line.lstrip().startswith("#"):
        return None
    try:
        data = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return None
    return next(iter(data)) if len(data) == 1 else None


def set_entry(path: Path, section: str, key: str, value: str) -> None:
    """Write `key = "value"` into `[section]` of the settings file at `path`."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the settings file ({exc})") from None
    line = f"{_toml_string(key)} = {_toml_string(value)}"
    lines = text.splitlines()
    start = next(
        (i for i, row in enumerate(lines) if (m := _HEADER.match(row)) and m.group(1) == section),
        None,
    )
    if start is None:
        lines += [*([""] if lines and lines[-1].strip() else []), f"[{section}]", line]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        at = next((i for i in range(start + 1, end) if _entry_key(lines[i]) == key), None)
        if at is not None:
            lines[at] = line
        else:
            last = max([start] + [i for i in range(start + 1, end) if lines[i].strip()])
            lines.insert(last + 1, line)
    new_text = "\n".join(lines) + "\n"
    try:
        written = tomllib.loads(new_text).get(section, {}).get(key)
    except (tomllib.TOMLDecodeError, AttributeError):
        written = None
    if written != value:
        raise ConfigError(
            f"{path}: could not add {line} under [{section}] (the file writes that table "
            "in another form): add it by hand"
        )
    _replace(path, new_text)


def _replace(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            if path.exists():
                shutil.copymode(path, name)  # a file holding tokens stays private
            os.replace(name, path)
        finally:
            Path(name).unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the settings file ({exc.strerror or exc})"
        ) from None
