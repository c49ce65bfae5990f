"""A post out of termnews: saved as Markdown or plain text, or piped to a command.

The text is the reader's own rendering (every outside string already cleaned by the
renderer) at a fixed width, under a header with the title, feed, author, date and
address. In Markdown the numbered links `[3]` become reference links (`[3]: URL` at the
end), list bullets become `-` and quote bars `>`.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from termnews.config import split_command
from termnews.errors import TermnewsError
from termnews.model import ArticleDetail
from termnews.render import render_html
from termnews.sanitize import clean_line

FORMATS = ("markdown", "text")
TEXT_WIDTH = 80
PIPE_TIMEOUT = 30.0
_BULLET = re.compile(r"^(\s*)[•◦▪] ")
_QUOTE = re.compile(r"^((?:│ )+)")


class PostOutError(TermnewsError):
    """Saving or piping a post failed; the message says why, in one line."""


def post_text(article: ArticleDetail, fmt: str, *, body_html: str | None = None) -> str:
    """The post as Markdown ("markdown") or plain text ("text")."""
    html = body_html if body_html is not None else article.body_html
    document = render_html(html, TEXT_WIDTH, base_url=article.link)
    title = clean_line(article.title, 300) or "(untitled)"
    meta = [clean_line(article.feed_title, 80)]
    if article.author:
        meta.append(clean_line(article.author, 80))
    if article.published:
        meta.append(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(article.published)))
    link = clean_line(article.link, 2000) if article.link else ""
    body = [line.plain.rstrip() for line in document.lines]
    markdown = fmt == "markdown"
    if markdown and document.links and "Links:" in body:
        # The reader's link list (a rule, "Links:", "[n] URL") becomes reference links.
        cut = len(body) - 1 - body[::-1].index("Links:")
        body = body[: max(0, cut - 1)]
    if markdown:
        body = [
            _QUOTE.sub(lambda m: "> " * (len(m.group(1)) // 2), _BULLET.sub(r"\1- ", line))
            for line in body
        ]
        head = [f"# {title}", "", " · ".join(meta)]
        if link:
            head += ["", f"<{link}>"]
        links = [f"[{n.number}]: {clean_line(n.url, 2000)}" for n in document.links]
    else:
        head = [title, "=" * min(len(title), TEXT_WIDTH), " · ".join(meta)]
        if link:
            head.append(link)
        links = []
    parts = [*head, "", *body]
    if links:
        parts += ["", *links]
    return "\n".join(parts).rstrip() + "\n"


def file_name(article: ArticleDetail, fmt: str) -> str:
    """ "2026-11-20-should-the-fish-market-move.md": date and title, safe on any disk."""
    slug = re.sub(r"[^a-z0-9]+", "-", (article.title or "post").lower()).strip("-")[:60] or "post"
    day = time.strftime("%Y-%m-%d-", time.gmtime(article.published)) if article.published else ""
    return f"{day}{slug}.{'md' if fmt == 'markdown' else 'txt'}"


def save(text: str, directory: Path, name: str) -> Path:
    """Write `text` to a new file in `directory` (never over an existing one)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stem, dot, suffix = name.rpartition(".")
        for n in range(1, 1000):
            target = directory / (name if n == 1 else f"{stem}-{n}{dot}{suffix}")
            try:
                with target.open("x", encoding="utf-8") as handle:
                    handle.write(text)
                return target
            except FileExistsError:
                continue
    except OSError as exc:
        raise PostOutError(f"cannot save to {directory}: {exc.strerror or exc}") from None
    raise PostOutError(f"cannot save to {directory}: too many files named {name}")


def pipe(command: str, text: str) -> None:
    """Run `command` with `text` on its standard input (its output is not shown)."""
    argv = split_command(command)
    if not argv:
        raise PostOutError('No pipe command: set general.pipe_command (e.g. "wl-copy")')
    try:
        done = subprocess.run(
            argv,
            input=text.encode("utf-8"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=PIPE_TIMEOUT,
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PostOutError(f"{argv[0]} did not finish within {PIPE_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise PostOutError(f"could not run {argv[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = f": {clean_line(said[-1], 200)}" if said else ""
        raise PostOutError(f"{argv[0]} failed (exit {done.returncode}){why}")
