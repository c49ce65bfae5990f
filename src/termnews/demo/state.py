"""The sample site's comments: seeded ones plus those posted while it runs.

Posted comments live in memory and, when a state file is given, in that JSON file (written
atomically after every change). They never touch termnews' own database.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from termnews.demo.content import COMMENTS, FIRST_NEW_COMMENT_ID

APPROVED = "approved"
HOLD = "hold"
STATE_VERSION = 1


class DemoStateError(ValueError):
    """The state file cannot be read or written; the message says why."""


@dataclass(slots=True)
class StoredComment:
    id: int
    post_id: int
    parent: int
    author: str
    email: str
    url: str
    text: str  # as the commenter sent it (used for duplicate detection)
    content_html: str  # escaped and wrapped in <p>, as the site shows it
    date: float  # POSIX seconds, UTC
    status: str = APPROVED
    ip: str = ""
    user_id: int = 0  # the REST user for application-password comments
    via: str = "seed"  # seed, form, rest, commentapi


def autop(text: str) -> str:
    """Escape plain text and wrap it in paragraphs, roughly as WordPress' wpautop does."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for paragraph in paragraphs:
        lines = [html.escape(line.strip(), quote=False) for line in paragraph.split("\n")]
        out.append("<p>" + "<br />\n".join(lines) + "</p>\n")
    return "".join(out)


def _seeded() -> list[StoredComment]:
    return [
        StoredComment(
            id=seed.id,
            post_id=seed.post_id,
            parent=seed.parent,
            author=seed.author,
            email=seed.email,
            url=seed.url,
            text=seed.text,
            content_html=autop(seed.text),
            date=seed.date,
            ip=f"192.0.2.{seed.id}",
        )
        for seed in COMMENTS
    ]


class CommentStore:
    """Thread-safe comment storage. Callers hold `lock` across check-then-add sequences."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self._comments: dict[int, StoredComment] = {c.id: c for c in _seeded()}
        self._next_id = FIRST_NEW_COMMENT_ID
        # Bumped whenever the set of visible (approved) comments changes: comment feeds'
        # validators include it, so two comments within one second still change the ETag.
        self.generation = 0
        if state_file is not None and state_file.exists():
            self._load(state_file)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DemoStateError(f"cannot read the demo state file {path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise DemoStateError(
                f"{path} is not a termnews demo state file (expected version {STATE_VERSION})"
            )
        try:
            for raw in data.get("comments", []):
                comment = StoredComment(**raw)
                self._comments[comment.id] = comment
                self._next_id = max(self._next_id, comment.id + 1)
        except TypeError as exc:
            raise DemoStateError(f"{path} has a malformed comment entry: {exc}") from exc

    def _save(self) -> None:
        if self.state_file is None:
            return
        posted = [asdict(c) for c in self._comments.values() if c.via != "seed"]
        payload = json.dumps({"version": STATE_VERSION, "comments": posted}, indent=1)
        directory = self.state_file.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".demo-state-", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, self.state_file)
        except OSError as exc:
            raise DemoStateError(f"cannot write the demo state file: {exc}") from exc

    # --- queries --------------------------------------------------------------------------

    def get(self, comment_id: int) -> StoredComment | None:
        with self.lock:
            return self._comments.get(comment_id)

    def for_post(self, post_id: int, include_held: bool = False) -> list[StoredComment]:
        """Oldest first, as a discussion reads."""
        with self.lock:
            found = [
                c
                for c in self._comments.values()
                if c.post_id == post_id and (include_held or c.status == APPROVED)
            ]
        return sorted(found, key=lambda c: (c.date, c.id))

    def approved(self, post_ids: set[int] | None = None) -> list[StoredComment]:
        """Approved comments (optionally only on `post_ids`), newest first."""
        with self.lock:
            found = [
                c
                for c in self._comments.values()
                if c.status == APPROVED and (post_ids is None or c.post_id in post_ids)
            ]
        return sorted(found, key=lambda c: (c.date, c.id), reverse=True)

    def count(self, post_id: int) -> int:
        return len(self.for_post(post_id))

    def newest_date(self) -> float:
        with self.lock:
            dates = [c.date for c in self._comments.values() if c.status == APPROVED]
        return max(dates, default=0.0)

    def is_duplicate(self, post_id: int, parent: int, author: str, email: str, text: str) -> bool:
        wanted = text.strip()
        with self.lock:
            return any(
                c.post_id == post_id
                and c.parent == parent
                and (c.author == author or (email and c.email == email))
                and c.text.strip() == wanted
                for c in self._comments.values()
            )

    def last_time_from(self, ip: str, email: str) -> float | None:
        with self.lock:
            times = [
                c.date
                for c in self._comments.values()
                if c.via != "seed" and (c.ip == ip or (email and c.email == email))
            ]
        return max(times, default=None)

    def has_approved_from(self, author: str, email: str) -> bool:
        with self.lock:
            return any(
                c.status == APPROVED and c.author == author and c.email == email
                for c in self._comments.values()
            )

    # --- changes --------------------------------------------------------------------------

    def add(self, comment: StoredComment) -> StoredComment:
        """Store a new comment; its id is assigned here."""
        with self.lock:
            comment.id = self._next_id
            self._next_id += 1
            self._comments[comment.id] = comment
            if comment.status == APPROVED:
                self.generation += 1
            self._save()
        return comment

    def approve(self, comment_id: int) -> bool:
        with self.lock:
            comment = self._comments.get(comment_id)
            if comment is None or comment.status == APPROVED:
                return False
            comment.status = APPROVED
            self.generation += 1
            self._save()
            return True
