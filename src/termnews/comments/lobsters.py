"""Lobsters, read through its JSON pages (no account).

Finding: `GET /stories/url/all.json?url=URL`, a list of stories (short_id, title, url,
score, comment_count, comments_url). Reading: `GET /s/SHORT_ID.json`, the story with a flat
`comments` list in thread order: short_id, comment (HTML), commenting_user, score,
created_at, is_deleted / is_moderated, url, and `parent_comment` (a short_id) with `depth`.
Older Lobsters versions send only `indent_level`: the parent is then the nearest earlier
comment one level up.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

from termnews.comments.outside import (
    Discussion,
    DiscussionError,
    Post,
    Service,
    body_html,
    count_line,
    get_json,
    iso_time,
    may_look_up,
    number,
    plain_html,
    text,
    url_of,
)
from termnews.config import DiscussionSettings
from termnews.model import Comment

SERVICE = Service.LOBSTERS
_SHORT_ID = re.compile(r"[A-Za-z0-9]{1,12}")


def wanted(post: Post, settings: DiscussionSettings) -> bool:
    return settings.on(SERVICE) and may_look_up(post.url, settings)


async def read(
    client: httpx.AsyncClient, post: Post, settings: DiscussionSettings
) -> list[Discussion]:
    base = settings.lobsters.rstrip("/")
    found = await get_json(
        client, SERVICE, f"{base}/stories/url/all.json", params={"url": post.url or ""}
    )
    if found is None:
        return []
    if not isinstance(found, list):
        raise DiscussionError(SERVICE, "the URL lookup did not answer a list of stories")
    stories = [
        story
        for story in found
        if isinstance(story, dict)
        and isinstance(story.get("short_id"), str)
        and _SHORT_ID.fullmatch(story["short_id"])
    ]  # Lobsters matches the URL itself (normalized), so every story listed is about it
    stories.sort(key=lambda story: number(story.get("comment_count")) or 0, reverse=True)
    discussions = []
    for listed in stories[:1]:
        story = await get_json(client, SERVICE, f"{base}/s/{quote(listed['short_id'])}.json")
        if story is None:
            continue
        if not isinstance(story, dict):
            raise DiscussionError(SERVICE, "the story answer is not a JSON object")
        discussions.append(_discussion(story, listed, base, settings))
    return discussions


def _discussion(
    story: dict[str, Any], listed: dict[str, Any], base: str, settings: DiscussionSettings
) -> Discussion:
    raw = story.get("comments")
    entries = raw if isinstance(raw, list) else []
    comments: list[Comment] = []
    truncated = False
    open_levels: list[str] = []  # remote ids by indent level, for the indent_level fallback
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("short_id"), str):
            continue
        if len(comments) >= settings.max_comments:
            truncated = True
            break
        short_id = text(entry["short_id"], 40)
        parent: str | None = None
        if "parent_comment" in entry:
            parent_id = entry.get("parent_comment")
            parent = f"lobsters:{text(parent_id, 40)}" if isinstance(parent_id, str) else None
        else:
            level = number(entry.get("depth"))
            level = number(entry.get("indent_level")) if level is None else level + 1
            level = max(1, level or 1)
            del open_levels[level - 1 :]
            parent = open_levels[-1] if open_levels else None
            open_levels.append(f"lobsters:{short_id}")
        comments.append(_comment(entry, short_id, parent, base))
    count = number(story.get("comment_count"))
    return Discussion(
        service=SERVICE,
        url=url_of(story.get("comments_url"))
        or url_of(story.get("short_id_url"))
        or url_of(listed.get("comments_url")),
        title=text(story.get("title")) or "Lobsters story",
        stats=[
            count_line(number(story.get("score")), "point", "points"),
            count_line(count if count is not None else len(comments), "comment", "comments"),
        ],
        comments=comments,
        truncated=truncated,
    )


def _comment(entry: dict[str, Any], short_id: str, parent: str | None, base: str) -> Comment:
    user = entry.get("commenting_user")
    if isinstance(user, dict):  # very old versions sent the user object
        user = user.get("username")
    author = text(user, 100)
    content = body_html(entry.get("comment")) or plain_html(entry.get("comment_plain"))
    return Comment(
        source=SERVICE,
        remote_id=f"lobsters:{short_id}",
        parent_id=parent,
        author=author or "[deleted]",
        author_url=f"{base}/~{quote(author)}" if author else None,
        published=iso_time(entry.get("created_at")),
        content_html=content,
        link=url_of(entry.get("url")) or url_of(entry.get("short_id_url")),
        score=number(entry.get("score")),
    )
