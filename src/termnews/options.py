"""Every setting termnews reads: its section, key, default and what it does.

The README's configuration table and `termnews config --defaults` are generated from
`OPTIONS`; `config.py` reads and checks the settings file against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["OPTIONS", "Option"]


@dataclass(frozen=True, slots=True)
class Option:
    section: str
    key: str
    default: Any
    doc: str

    @property
    def kind(self) -> type:
        return type(self.default)


# Every setting, its default and what it does. The README's table and
# `termnews config --defaults` are generated from this list.
OPTIONS: tuple[Option, ...] = (
    Option("general", "refresh_on_start", True, "Refresh feeds that are due when termnews starts."),
    Option(
        "general",
        "refresh_interval",
        30,
        "Minutes between automatic refreshes while termnews is open; 0 turns them off.",
    ),
    Option("general", "mark_read_on_open", True, "Opening a post marks it read."),
    Option(
        "general",
        "reader_width",
        100,
        "Widest line of text in the reader and comments, in columns; 0 uses the whole width.",
    ),
    Option("general", "mouse", True, "Enable mouse support (false sends no mouse modes)."),
    Option(
        "general",
        "hyperlinks",
        "auto",
        'Clickable links (OSC 8) in the reader: "auto" (where the terminal shows them; see '
        'Hyperlinks), "on" or "off".',
    ),
    Option(
        "general",
        "images",
        "auto",
        'Images inline in the reader: "auto" (where the terminal has a graphics protocol, '
        'or with image_halfblocks; not over SSH), "on" (over SSH too) or "off" (i still '
        "shows one).",
    ),
    Option(
        "general",
        "image_halfblocks",
        False,
        "Where the terminal has no graphics protocol, draw inline images with coloured "
        "half blocks.",
    ),
    Option("general", "image_cache_mb", 64, "Disk space for downloaded images, in MB."),
    Option("general", "theme", "textual-dark", "Textual theme; changed from the command palette."),
    Option(
        "general",
        "keymap",
        "default",
        'Key preset: "default", or "newsboat" (n/p next/previous unread, J/K next/previous, '
        "N toggle read, o open in browser, u links, A mark feed read, Q quit); [keys] "
        "entries go on top.",
    ),
    Option(
        "general",
        "browser",
        "",
        "Command to open links (URL appended); empty uses the system browser, "
        "or OSC 52 copy over SSH.",
    ),
    Option(
        "general",
        "player",
        "",
        "Command that plays a post's attachments (E in the reader; URLs appended); empty "
        "uses mpv when it is installed.",
    ),
    Option(
        "general",
        "save_dir",
        "",
        "Directory S in the reader saves posts to; empty uses your Downloads directory.",
    ),
    Option("general", "save_format", "markdown", 'How posts are saved: "markdown" or "text".'),
    Option(
        "general",
        "download_dir",
        "",
        "Directory D in the reader downloads attachments to; empty uses your Downloads directory.",
    ),
    Option(
        "general",
        "max_download_mb",
        2048,
        "Largest attachment D downloads, in MB.",
    ),
    Option(
        "general",
        "pipe_command",
        "",
        "Command | in the reader pipes the post to (U: its address), on standard input.",
    ),
    Option(
        "general",
        "ansi_colors",
        False,
        "Use the terminal's own colours and background (an ANSI theme): fewer bytes per key.",
    ),
    Option(
        "general",
        "diff_output",
        True,
        "Send the terminal only the cells that changed; false uses Textual's whole-line output.",
    ),
    Option("fetch", "timeout", 20.0, "Seconds before a feed request gives up."),
    Option("fetch", "max_concurrency", 10, "Feeds fetched at once."),
    Option("fetch", "per_host", 2, "Feeds fetched at once from one host."),
    Option("fetch", "max_feed_mb", 20, "Largest feed body accepted, in MB."),
    Option("profile", "name", "", "Your name on comments posted to sites."),
    Option("profile", "email", "", "Your e-mail for comments (WordPress requires one)."),
    Option("profile", "url", "", "Your website, shown with your comments where sites allow."),
    Option(
        "replies",
        "max_threads",
        20,
        "Threads of your comments checked for replies in one refresh (the longest unchecked "
        "first); 0 stops checking.",
    ),
    Option(
        "replies",
        "watch_days",
        14,
        "Days after you post a comment that its thread is still checked for replies.",
    ),
    Option(
        "replies",
        "check_minutes",
        15,
        "Least minutes between two checks of one thread (the host refreshes every minute).",
    ),
    Option(
        "discussions",
        "enabled",
        ["hackernews", "lobsters", "reddit", "mastodon", "bluesky"],
        "Outside discussions termnews may read when you open a post's comments: "
        "hackernews and lobsters are searched for the post's URL; reddit, mastodon and "
        "bluesky are read when the post links a thread there.",
    ),
    Option(
        "discussions",
        "reddit_search",
        False,
        "Also search Reddit for the post's URL (sends the URL to Reddit).",
    ),
    Option("discussions", "hackernews", "https://hn.algolia.com", "Hacker News search API."),
    Option(
        "discussions",
        "hackernews_site",
        "https://news.ycombinator.com",
        "Where Hacker News shows its threads (the links of stories, comments and users).",
    ),
    Option("discussions", "lobsters", "https://lobste.rs", "Lobsters site (its JSON API)."),
    Option("discussions", "reddit", "https://www.reddit.com", "Reddit site (its RSS feeds)."),
    Option("discussions", "bluesky", "https://public.api.bsky.app", "Bluesky public AppView."),
    Option(
        "discussions",
        "private_sites",
        [],
        "Sites on loopback or a private network (origins: http://127.0.0.1:8080) whose posts "
        "may still be looked up on these services; `termnews demo` names its sample site.",
    ),
    Option(
        "discussions",
        "refresh_after",
        60,
        "Minutes after which an outside discussion is read again when you open it; 0: never.",
    ),
    Option("discussions", "prefetch", False, "Read a post's outside discussions when it opens."),
    Option("discussions", "timeout", 10.0, "Seconds before a discussion request gives up."),
    Option("discussions", "max_comments", 10000, "Most comments read from one discussion."),
    Option(
        "discussions",
        "mastodon_instance",
        "",
        "Your Mastodon instance (https://mastodon.example), for replying to Mastodon threads.",
    ),
    Option(
        "discussions",
        "mastodon_token",
        "",
        "An access token of that instance (Preferences > Development), scopes read and "
        "write:statuses; the settings file must then be readable by you only (chmod 600).",
    ),
    Option("discussions", "bluesky_handle", "", "Your Bluesky handle, for replying on Bluesky."),
    Option(
        "discussions",
        "bluesky_app_password",
        "",
        "A Bluesky app password (Settings > App passwords), never your main password; "
        "the settings file must then be readable by you only (chmod 600).",
    ),
    Option(
        "discussions",
        "bluesky_pds",
        "https://bsky.social",
        "Where your Bluesky account lives (the server that signs you in).",
    ),
)
