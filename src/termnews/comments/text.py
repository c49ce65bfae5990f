"""Small text helpers the comment backends share: bodies, ids, error pages, matching."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import time
from html.parser import HTMLParser

from termnews.comments.backend import MAX_REASON_CELLS, Outgoing
from termnews.model import Comment, CommentSource, CommentStatus
from termnews.sanitize import clean_line, clean_url, strip_tags

_COMMENT_NUMBER = re.compile(r"#comment-(\d+)\b")
_SPACE = re.compile(r"\s+")


def text_to_html(text: str) -> str:
    """A plain-text comment as simple HTML: paragraphs at blank lines, escaped."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def plain_words(markup: str, limit: int = 20_000) -> str:
    """Comment HTML as comparable text: tags gone, entities undone, spaces collapsed."""
    text = html.unescape(strip_tags(markup[:limit]))
    # WordPress turns quotes and dashes typographic; compare what a person typed.
    text = text.translate(_TYPOGRAPHIC)
    return _SPACE.sub(" ", text).strip().casefold()


_TYPOGRAPHIC = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)


def is_ours(comment: Comment, outgoing: Outgoing, *, check_author: bool = True) -> bool:
    """Whether a comment the site lists is the one `outgoing` sent (same words, same name)."""
    body = plain_words(text_to_html(outgoing.body))
    if not body or body not in plain_words(comment.content_html):
        return False
    if not check_author or not outgoing.author:
        return True
    return comment.author.casefold().strip() == clean_line(outgoing.author, 100).casefold()


def comment_number(*texts: str | None) -> str | None:
    """WordPress' comment id from a `…#comment-N` link or guid."""
    for text in texts:
        if text:
            match = _COMMENT_NUMBER.search(text)
            if match:
                return match.group(1)
    return None


def local_id(*parts: str) -> str:
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8", "replace"), digest_size=8)
    return "local-" + digest.hexdigest()


def timestamp(parsed: object) -> float | None:
    """feedparser's UTC struct_time -> POSIX seconds."""
    if not isinstance(parsed, tuple):
        return None
    try:
        return float(calendar.timegm(parsed))
    except (TypeError, ValueError, OverflowError):
        return None


class _TextCollector(HTMLParser):
    """Text of the <title> and of each <p> in an HTML page (for WordPress' error pages)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.paragraphs: list[str] = []
        self._in_title = False
        self._paragraph: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in ("script", "style"):
            self._skip += 1
        elif tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph))
            self._paragraph = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._paragraph is not None and len(self._paragraph) < 200:
            self._paragraph.append(data)


def page_reason(page: str) -> str | None:
    """The message of an error page ("Error: Please fill the required fields."), cleaned."""
    collector = _TextCollector()
    try:
        collector.feed(page[:200_000])
        collector.close()
    except Exception:  # html.parser rarely raises, but a hostile page must not crash us
        pass
    texts = [clean_line(p) for p in collector.paragraphs]
    # The "« Back" link paragraph of wp_die pages is navigation, not the reason.
    texts = [t for t in texts if t and not t.lstrip("«‹< ").lower().startswith("back")]
    if texts:
        reason = clean_line(" ".join(texts), MAX_REASON_CELLS)
        # "refused the comment: Error: …" says "error" twice; WordPress' prefix goes.
        return re.sub(r"^error:\s*", "", reason, flags=re.IGNORECASE) or reason
    title = clean_line(collector.title, MAX_REASON_CELLS)
    return title or None


def plain_reason(text: str) -> str:
    """A site's error text (JSON message, plain body) as one clean line: entities undone."""
    return clean_line(html.unescape(strip_tags(text)), MAX_REASON_CELLS)


def sent_comment(
    outgoing: Outgoing, remote_id: str | None, link: str | None, status: CommentStatus
) -> Comment:
    """Your comment as the cache keeps it until a listing from the site shows it."""
    return Comment(
        source=CommentSource.SENT,
        remote_id=remote_id or local_id(outgoing.author, outgoing.body),
        parent_id=outgoing.parent_id,
        author=clean_line(outgoing.author, 100) or "anonymous",
        author_url=clean_url(outgoing.url) if outgoing.url else None,
        published=time.time(),
        content_html=text_to_html(outgoing.body),
        link=clean_url(link) if link else None,
        status=status,
    )
