"""Settings (TOML in the XDG config dir) and where termnews keeps its files."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from termnews.errors import TermnewsError
from termnews.options import OPTIONS

if TYPE_CHECKING:
    from termnews.filters import KillRule, SavedSearch

APP_NAME = "termnews"


class ConfigError(TermnewsError):
    """A settings problem, worded for the user (file, line, key)."""


# Keys whose value must be an http(s) URL: those with a URL default, and your instance.
_URL_KEYS = {o.key for o in OPTIONS if str(o.default).startswith("https://")} | {
    "mastodon_instance"
}
_SECRET_KEYS = ("mastodon_token", "bluesky_app_password")

DISCUSSION_SERVICES = ("hackernews", "lobsters", "reddit", "mastodon", "bluesky")

# Key presets by binding id (see the README's key table); `keymap = "newsboat"` picks one.
KEYMAPS: dict[str, dict[str, str]] = {
    "default": {},
    "newsboat": {
        "next_unread": "n",
        "previous_unread": "p",
        "next_article": "J",
        "previous_article": "K",
        "toggle_read": "N",
        "open_post": "o",
        "open_links": "u",
        "mark_all_read": "A",
    },
}

# Free-form tables: [keys] binding_id = "key,key"; [wordpress."host"] user/app_password;
# [intervals] "feed url" = minutes. [discussions] has its own reader (a list and a sub-table).
# [full_article] "feed url" = "open" | "refresh" | "never" (true = "open"): when the post's
# page is fetched for its full article.
FREE_SECTIONS = {"keys", "wordpress", "intervals", "discussions", "full_article"}
# Arrays of tables: [[search]] (saved searches) and [[kill]] (the killfile), filters.py.
LIST_SECTIONS = {"search", "kill"}
# When a feed's posts get their full article: when a post opens; at refresh (new posts, and
# on open those a refresh did not reach); or only with F.
FULL_ARTICLE = ("open", "refresh", "never")


@dataclass(slots=True)
class WordPressLogin:
    user: str
    app_password: str


@dataclass(slots=True)
class DiscussionSettings:
    """[discussions]: which outside services are read, and where they are."""

    enabled: list[str] = field(default_factory=lambda: list(DISCUSSION_SERVICES))
    reddit_search: bool = False
    private_sites: list[str] = field(default_factory=list)
    refresh_after: int = 60
    prefetch: bool = False
    hackernews: str = "https://hn.algolia.com"
    hackernews_site: str = "https://news.ycombinator.com"
    lobsters: str = "https://lobste.rs"
    reddit: str = "https://www.reddit.com"
    bluesky: str = "https://public.api.bsky.app"
    timeout: float = 10.0
    max_comments: int = 10000
    mastodon_instance: str = ""
    mastodon_token: str = ""
    bluesky_handle: str = ""
    bluesky_app_password: str = ""
    bluesky_pds: str = "https://bsky.social"
    # [discussions.mastodon] "feed url" = "https://instance/@you/": links of that feed's posts
    # that start with this prefix (and end in a status id) are its Mastodon threads.
    mastodon: dict[str, str] = field(default_factory=dict)

    def on(self, service: str) -> bool:
        return service in self.enabled


@dataclass(slots=True)
class Settings:
    refresh_on_start: bool = True
    refresh_interval: int = 30
    mark_read_on_open: bool = True
    reader_width: int = 100
    mouse: bool = True
    hyperlinks: str = "auto"
    images: str = "auto"
    image_halfblocks: bool = False
    image_cache_mb: int = 64
    theme: str = "textual-dark"
    keymap: str = "default"
    browser: str = ""
    player: str = ""
    save_dir: str = ""
    save_format: str = "markdown"
    download_dir: str = ""
    max_download_mb: int = 2048
    pipe_command: str = ""
    ansi_colors: bool = False
    diff_output: bool = True
    timeout: float = 20.0
    max_concurrency: int = 10
    per_host: int = 2
    max_feed_mb: int = 20
    name: str = ""
    email: str = ""
    url: str = ""
    max_threads: int = 20  # [replies]: the comment inbox's checks (comments/inbox.py)
    watch_days: int = 14
    check_minutes: int = 15
    keys: dict[str, str] = field(default_factory=dict)
    wordpress: dict[str, WordPressLogin] = field(default_factory=dict)
    intervals: dict[str, int] = field(default_factory=dict)
    full_article: dict[str, str] = field(default_factory=dict)  # feed url -> FULL_ARTICLE
    searches: list[SavedSearch] = field(default_factory=list)
    kills: list[KillRule] = field(default_factory=list)
    discussions: DiscussionSettings = field(default_factory=DiscussionSettings)
    path: Path | None = None
    # "section.key" of every setting the file itself sets (a default may mean "not asked").
    written: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Paths:
    config_file: Path
    data_dir: Path

    @property
    def database(self) -> Path:
        return database_path(self.data_dir)


def database_path(data_dir: Path) -> Path:
    """The one SQLite file in a data dir."""
    return data_dir / "termnews.db"


def default_config_file() -> Path:
    """Where the settings file is when neither --config nor TERMNEWS_CONFIG says."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def resolve_paths(config: str | Path | None = None, data_dir: str | Path | None = None) -> Paths:
    """Command-line values win over the environment, which wins over XDG defaults."""
    config_file = Path(
        config or os.environ.get("TERMNEWS_CONFIG") or default_config_file()
    ).expanduser()
    data = Path(
        data_dir or os.environ.get("TERMNEWS_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
    ).expanduser()
    return Paths(config_file=config_file, data_dir=data)


def split_command(command: str) -> list[str]:
    """A command line from settings or the environment (`browser`, $VISUAL, $EDITOR) as
    argv, with shell quoting ("code --wait", "'/opt/My Editor/edit' -n"); unbalanced quotes
    fall back to splitting on spaces."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _line_of(text: str, section: str, key: str) -> int | None:
    """Best-effort line number of `key` in `[section]` (tomllib does not report positions)."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1).split(".")[0].strip().strip('"')
            continue
        if current == section and re.match(rf"^[\"']?{re.escape(key)}[\"']?\s*=", stripped):
            return number
    return None


def load_settings(path: Path) -> Settings:
    """Read settings; a missing file means defaults, a broken one a ConfigError."""
    settings = Settings(path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return settings
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the settings file is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the settings file ({exc.strerror or exc}): make it readable "
            "for this user, or name another one with --config or TERMNEWS_CONFIG"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc

    def where(section: str, key: str) -> str:
        line = _line_of(text, section, key)
        return f"{path}, line {line}" if line else str(path)

    known = {(o.section, o.key): o for o in OPTIONS}
    sections = {o.section for o in OPTIONS} | FREE_SECTIONS | LIST_SECTIONS
    for section, table in data.items():
        if section in LIST_SECTIONS:
            continue  # [[search]] and [[kill]]: read below
        if section not in sections:
            raise ConfigError(
                f"{where(section, section)}: unknown section [{section}] "
                f"(known: {', '.join(sorted(sections))})"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        if section in FREE_SECTIONS:
            continue
        for key, value in table.items():
            option = known.get((section, key))
            if option is None:
                raise ConfigError(f"{where(section, key)}: unknown key {section}.{key}")
            expected = option.kind
            ok = isinstance(value, expected) and not (
                expected is not bool and isinstance(value, bool)
            )
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                raise ConfigError(
                    f"{where(section, key)}: {section}.{key} must be "
                    f"{_kind_name(expected)}, got {value!r}"
                )
            if expected in (int, float) and value < 0:
                raise ConfigError(f"{where(section, key)}: {section}.{key} must not be negative")
            setattr(settings, key, value)
            settings.written.add(f"{section}.{key}")

    if settings.keymap not in KEYMAPS:
        raise ConfigError(
            f"{where('general', 'keymap')}: general.keymap must be one of "
            f"{', '.join(repr(k) for k in KEYMAPS)}, got {settings.keymap!r}"
        )
    if settings.hyperlinks not in ("auto", "on", "off"):
        raise ConfigError(
            f"{where('general', 'hyperlinks')}: general.hyperlinks must be "
            f'"auto", "on" or "off", got {settings.hyperlinks!r}'
        )
    if settings.images not in ("auto", "on", "off"):
        raise ConfigError(
            f"{where('general', 'images')}: general.images must be "
            f'"auto", "on" or "off", got {settings.images!r}'
        )
    if settings.save_format not in ("markdown", "text"):
        raise ConfigError(
            f"{where('general', 'save_format')}: general.save_format must be "
            f'"markdown" or "text", got {settings.save_format!r}'
        )
    for binding_id, keys in data.get("keys", {}).items():
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(
                f"{where('keys', binding_id)}: keys.{binding_id} must be a string of keys "
                'such as "j,down"'
            )
        settings.keys[binding_id] = keys
    for host, login in data.get("wordpress", {}).items():
        if (
            not isinstance(login, dict)
            or not isinstance(login.get("user"), str)
            or not isinstance(login.get("app_password"), str)
        ):
            raise ConfigError(
                f'{path}: [wordpress."{host}"] needs user = "..." and app_password = "..."'
            )
        settings.wordpress[host] = WordPressLogin(login["user"], login["app_password"])
    for url, minutes in data.get("intervals", {}).items():
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            raise ConfigError(f"{where('intervals', url)}: intervals must be whole minutes")
        settings.intervals[url] = minutes
    for url, mode in data.get("full_article", {}).items():
        if isinstance(mode, bool):  # the first form: true fetched on open
            mode = "open" if mode else "never"
        if mode not in FULL_ARTICLE:
            raise ConfigError(
                f"{where('full_article', url)}: full_article entries are "
                '"open", "refresh" or "never" ("feed url" = "refresh" fetches new posts\' '
                f"pages at refresh), got {mode!r}"
            )
        settings.full_article[url] = mode
    _load_discussions(data.get("discussions", {}), settings.discussions, where, path)
    _load_filters(data, settings, text, path)
    return settings


def _nth_table_line(text: str, section: str, n: int) -> int | None:
    """The line of the n-th (0-based) `[[section]]` header."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if line.strip() == f"[[{section}]]"]
    return found[n] if n < len(found) else None


def _load_filters(data: dict[str, Any], settings: Settings, text: str, path: Path) -> None:
    """[[search]] name/query tables and [[kill]] rules (filters.py)."""
    from termnews.filters import QueryError, SavedSearch, kill_rule, parse_query

    for section in LIST_SECTIONS:
        tables = data.get(section, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise ConfigError(f"{path}: write [{section}] entries as [[{section}]] tables")
    names: set[str] = set()
    for n, table in enumerate(data.get("search", [])):
        line = _nth_table_line(text, "search", n)
        where = f"{path}, line {line}" if line else str(path)
        name, query = table.get("name"), table.get("query")
        if not isinstance(name, str) or not name.strip() or not isinstance(query, str):
            raise ConfigError(f'{where}: [[search]] needs name = "..." and query = "..."')
        if set(table) - {"name", "query"}:
            raise ConfigError(f"{where}: [[search]] takes only name and query")
        if name in names:
            raise ConfigError(f"{where}: two saved searches are named {name!r}")
        names.add(name)
        try:
            parsed = parse_query(query)
        except QueryError as exc:
            raise ConfigError(f"{where}: search {name!r}: {exc}") from None
        settings.searches.append(SavedSearch(name, query, replace(parsed, name=name)))
    for n, table in enumerate(data.get("kill", [])):
        line = _nth_table_line(text, "kill", n)
        where = f"{path}, line {line}" if line else str(path)
        try:
            settings.kills.append(kill_rule(table))
        except QueryError as exc:
            raise ConfigError(f"{where}: [[kill]] rule: {exc}") from None


def _load_discussions(
    table: dict[str, Any], target: DiscussionSettings, where: Any, path: Path
) -> None:
    """[discussions]: typed keys like the other sections, plus `enabled` and [.mastodon]."""
    known = {o.key: o for o in OPTIONS if o.section == "discussions"}
    for key, value in table.items():
        if key == "mastodon":
            if not isinstance(value, dict) or not all(
                isinstance(prefix, str) and prefix.startswith(("http://", "https://"))
                for prefix in value.values()
            ):
                raise ConfigError(
                    f"{path}: [discussions.mastodon] maps feed URLs to status-URL prefixes: "
                    '"https://blog.example/feed/" = "https://mastodon.example/@you/"'
                )
            target.mastodon = {str(feed): prefix for feed, prefix in value.items()}
            continue
        option = known.get(key)
        if option is None:
            raise ConfigError(f"{where('discussions', key)}: unknown key discussions.{key}")
        if key == "enabled":
            unknown = (
                [v for v in value if v not in DISCUSSION_SERVICES]
                if isinstance(value, list)
                else None
            )
            if unknown is None or unknown:
                raise ConfigError(
                    f"{where('discussions', key)}: discussions.enabled must be a list of "
                    f"{', '.join(DISCUSSION_SERVICES)}"
                    + (f" (unknown: {', '.join(map(str, unknown))})" if unknown else "")
                )
            target.enabled = list(value)
            continue
        if key == "private_sites":
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.startswith(("http://", "https://")) for v in value
            ):
                raise ConfigError(
                    f"{where('discussions', key)}: discussions.private_sites must be a list "
                    'of http(s) origins: ["http://127.0.0.1:8080"]'
                )
            target.private_sites = [v.rstrip("/") for v in value]
            continue
        expected = option.kind
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(
                f"{where('discussions', key)}: discussions.{key} must be "
                f"{_kind_name(expected)}, got {value!r}"
            )
        floor = 0 if key == "refresh_after" else 1e-9  # refresh_after = 0 turns it off
        if isinstance(value, int | float) and not isinstance(value, bool) and value < floor:
            word = "must not be negative" if floor == 0 else "must be positive"
            raise ConfigError(f"{where('discussions', key)}: discussions.{key} {word}")
        if (
            key in _URL_KEYS
            and isinstance(value, str)
            and value
            and not value.startswith(("http://", "https://"))
        ):
            raise ConfigError(
                f"{where('discussions', key)}: discussions.{key} must be an http(s) URL"
            )
        setattr(target, key, value)
    if any(getattr(target, key) for key in _SECRET_KEYS):
        try:
            shared = path.stat().st_mode & 0o077
        except OSError:
            shared = 0
        if shared:
            raise ConfigError(
                f"{path}: holds a token or app password but others may read it; "
                f"run: chmod 600 {path}"
            )


def _kind_name(kind: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}[kind]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)


def default_config_text() -> str:
    """A commented config file with every key at its default."""
    lines = ["# termnews settings. Every key is optional; shown here with its default.", ""]
    section = ""
    for option in OPTIONS:
        if option.section != section:
            if section:
                lines.append("")
            section = option.section
            lines.append(f"[{section}]")
        lines.append(f"# {option.doc}")
        lines.append(f"{option.key} = {_toml_value(option.default)}")
    lines += [
        "",
        '# Remap keys by binding id (see `?` in the app or the README): id = "key,key"',
        "[keys]",
        '# next_article = "n,J"',
        "",
        "# WordPress application passwords, per site host, for REST comment posting.",
        '# [wordpress."example.org"]',
        '# user = "ada"',
        '# app_password = "abcd efgh ijkl mnop"',
        "",
        "# Per-feed refresh interval in minutes, by feed URL.",
        "[intervals]",
        '# "https://example.org/feed/" = 120',
        "",
        "# Per-feed Mastodon threads: links in that feed's posts starting with this prefix.",
        "# [discussions.mastodon]",
        '# "https://example.org/feed/" = "https://mastodon.example/@ada/"',
        "",
    ]
    return "\n".join(lines)
