"""A post out of termnews: saved as Markdown or plain text, or piped to a command.

Markdown is written from the post's HTML by markdown_out (headings, emphasis, inline
links and images, lists, quotes, fenced code, under a front matter with the title,
author, feed, date and address). Plain text is the reader's own rendering (every outside
string already cleaned by the renderer) at a fixed width, under a header with the same.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from termnews.config import split_command
from termnews.errors import TermnewsError
from termnews.model import ArticleDetail
from termnews.sanitize import clean_line

FORMATS = ("markdown", "text")
TEXT_WIDTH = 80
PIPE_TIMEOUT = 30.0


class PostOutError(TermnewsError):
    """Saving or piping a post failed; the message says why, in one line."""


def post_text(article: ArticleDetail, fmt: str, *, body_html: str | None = None) -> str:
    """The post as Markdown ("markdown") or plain text ("text")."""
    if fmt == "markdown":
        from termnews.markdown_out import post_markdown  # BeautifulSoup: only when saving

        return post_markdown(article, body_html)
    html = body_html if body_html is not None else article.body_html
    from termnews.render import render_html  # the renderer loads when a post is written out

    document = render_html(html, TEXT_WIDTH, base_url=article.link)
    title = clean_line(article.title, 300) or "(untitled)"
    meta = [clean_line(article.feed_title, 80)]
    if article.author:
        meta.append(clean_line(article.author, 80))
    if article.published:
        meta.append(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(article.published)))
    head = [title, "=" * min(len(title), TEXT_WIDTH), " · ".join(meta)]
    if article.link:
        head.append(clean_line(article.link, 2000))
    body = [line.plain.rstrip() for line in document.lines]
    return "\n".join([*head, "", *body]).rstrip() + "\n"


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
